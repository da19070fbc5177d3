// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IProxyRegistry
/// @notice Re-encryption proxies (run by node operators) and the proxy sets that grants reference.
/// @dev A proxy is identified by its operator address: one proxy per operator account. A proxy set is an
/// immutable, ordered list of 1 to {MAX_SET_SIZE} active proxies; kfrag `i` of a grant's bundle is encrypted to
/// member `i` of the grant's set. Retiring a proxy does not change existing sets: a grant whose set lost members
/// keeps working while at least `threshold` members still serve.
interface IProxyRegistry {
    /// @notice A registered proxy.
    /// @param publicKeyX The x coordinate of the proxy's 33-byte compressed Umbral/ECIES public key.
    /// @param publicKeyPrefix Its compression prefix, 0x02 or 0x03.
    /// @param registeredAt Block timestamp of the registration.
    /// @param retired Whether the operator retired it (a retired proxy cannot be re-registered or join sets).
    /// @param endpoint The proxy's HTTP(S) endpoint URL, at most {MAX_ENDPOINT_LENGTH} bytes.
    struct Proxy {
        bytes32 publicKeyX;
        bytes1 publicKeyPrefix;
        uint40 registeredAt;
        bool retired;
        string endpoint;
    }

    /// @notice An operator registered a proxy.
    /// @param operator The proxy operator.
    /// @param publicKey The 33-byte compressed public key.
    /// @param endpoint The proxy's endpoint URL.
    event ProxyRegistered(address indexed operator, bytes publicKey, string endpoint);

    /// @notice An operator changed its proxy's endpoint and/or public key.
    /// @param operator The proxy operator.
    /// @param publicKey The 33-byte compressed public key.
    /// @param endpoint The proxy's endpoint URL.
    event ProxyUpdated(address indexed operator, bytes publicKey, string endpoint);

    /// @notice An operator retired its proxy for good.
    /// @param operator The proxy operator.
    event ProxyRetired(address indexed operator);

    /// @notice A proxy set was created.
    /// @param setId The new set's id (sequential, starting at 1).
    /// @param creator Who created it.
    /// @param members The member operators, in kfrag order.
    event ProxySetCreated(uint32 indexed setId, address indexed creator, address[] members);

    /// @notice The caller already has a proxy (active or retired).
    /// @param operator The proxy operator.
    error ProxyAlreadyRegistered(address operator);

    /// @notice The address has no active proxy.
    /// @param operator The proxy operator.
    error ProxyNotActive(address operator);

    /// @notice The public key is not a 33-byte compressed point.
    /// @param length The length given, in bytes.
    /// @param prefix The first byte given (0x00 when empty).
    error InvalidPublicKey(uint256 length, bytes1 prefix);

    /// @notice The endpoint is empty or longer than {MAX_ENDPOINT_LENGTH}.
    /// @param length The length given, in bytes.
    /// @param maxLength The maximum length, in bytes.
    error InvalidEndpointLength(uint256 length, uint256 maxLength);

    /// @notice The set is empty or larger than {MAX_SET_SIZE}.
    /// @param size The number of items given.
    /// @param maxSize The maximum number of items.
    error InvalidProxySetSize(uint256 size, uint256 maxSize);

    /// @notice The same operator appears twice in a set.
    /// @param operator The proxy operator.
    error DuplicateProxy(address operator);

    /// @notice No set has this id.
    /// @param setId The proxy set id.
    error ProxySetNotFound(uint32 setId);

    /// @notice Registers the caller as a proxy operator.
    /// @param publicKey The proxy's 33-byte compressed public key (kfrags are encrypted to it).
    /// @param endpoint The proxy's endpoint URL (1 to {MAX_ENDPOINT_LENGTH} bytes, no credentials).
    function registerProxy(bytes calldata publicKey, string calldata endpoint) external;

    /// @notice Changes the caller's proxy endpoint and public key.
    /// @param publicKey The 33-byte compressed public key.
    /// @param endpoint The proxy's endpoint URL.
    function updateProxy(bytes calldata publicKey, string calldata endpoint) external;

    /// @notice Retires the caller's proxy for good.
    function retireProxy() external;

    /// @notice Creates an immutable proxy set from active proxies.
    /// @param members 1 to {MAX_SET_SIZE} distinct active proxy operators, in kfrag order.
    /// @return setId The new set's id.
    function createProxySet(address[] calldata members) external returns (uint32 setId);

    /// @notice The proxy of `operator` (all fields zero when never registered).
    /// @param operator The proxy operator.
    function getProxy(address operator) external view returns (Proxy memory);

    /// @notice Whether `operator` has a registered, non-retired proxy.
    /// @param operator The proxy operator.
    function isActiveProxy(address operator) external view returns (bool);

    /// @notice The members of set `setId` (reverts with {ProxySetNotFound}).
    /// @param setId The proxy set id.
    function proxySetMembers(uint32 setId) external view returns (address[] memory);

    /// @notice The number of members of set `setId`, 0 when the set does not exist.
    /// @param setId The proxy set id.
    function proxySetSize(uint32 setId) external view returns (uint256);

    /// @notice The number of sets created so far (the last set id).
    function proxySetCount() external view returns (uint32);

    /// @notice Maximum endpoint length in bytes (256).
    function MAX_ENDPOINT_LENGTH() external view returns (uint256);

    /// @notice Maximum members of a set (32).
    function MAX_SET_SIZE() external view returns (uint256);
}
