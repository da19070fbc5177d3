// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IProxyRegistry
/// @notice Re-encryption proxies, run by node operators.
/// @dev A proxy is identified by its operator address: one proxy per operator account. The proxy sets that
/// grants reference live in the ConsentRegistry (see IConsentRegistry.createProxySet), which checks a grant's
/// threshold against its set's size with an in-contract read instead of a cross-contract call.
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

    /// @notice The proxy of `operator` (all fields zero when never registered).
    /// @param operator The proxy operator.
    function getProxy(address operator) external view returns (Proxy memory);

    /// @notice Whether `operator` has a registered, non-retired proxy.
    /// @param operator The proxy operator.
    function isActiveProxy(address operator) external view returns (bool);

    /// @notice Maximum endpoint length in bytes (256).
    function MAX_ENDPOINT_LENGTH() external view returns (uint256);
}
