// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IKeyRegistry
/// @notice Where every medvault account publishes its public keys, so that anyone can find them by Ethereum address
/// alone: the Umbral **receiving key** (what a grantor generates kfrags for, so a grantee is addressed by address)
/// and the kfrag-signing **verifying key** (what proxies and grantees check a grantor's kfrags against, from the
/// chain rather than only from inside a kfrag bundle).
/// @dev Both keys are compressed secp256k1 points (33 bytes: a 0x02/0x03 prefix and the 32-byte x coordinate),
/// published together in one call under one version, so a reader never sees one key of a rotation without the
/// other. The registry checks the encoding only; whether a point is on the curve is checked by the clients that
/// use it.
interface IKeyRegistry {
    /// @notice An account's keys as stored (three slots).
    /// @param receivingKeyX The x coordinate of the receiving key.
    /// @param verifyingKeyX The x coordinate of the verifying key.
    /// @param receivingKeyPrefix The receiving key's compression prefix, 0x02 or 0x03.
    /// @param verifyingKeyPrefix The verifying key's compression prefix, 0x02 or 0x03.
    /// @param version 1 for the first publication, incremented on every rotation.
    /// @param updatedAt Block timestamp of the last publication.
    struct PublicKeys {
        bytes32 receivingKeyX;
        bytes32 verifyingKeyX;
        bytes1 receivingKeyPrefix;
        bytes1 verifyingKeyPrefix;
        uint32 version;
        uint40 updatedAt;
    }

    /// @notice An account published (version 1) or rotated (version > 1) its keys.
    /// @param account The account the keys belong to.
    /// @param version The keys' version.
    /// @param receivingKey The 33-byte compressed Umbral receiving public key.
    /// @param verifyingKey The 33-byte compressed kfrag-signing verifying public key.
    event KeysPublished(address indexed account, uint32 indexed version, bytes receivingKey, bytes verifyingKey);

    /// @notice A published key is not a 33-byte compressed point.
    /// @param parameter Which key: "receivingKey" or "verifyingKey".
    /// @param length The length given, in bytes.
    /// @param prefix The first byte given (0x00 when empty).
    error InvalidPublishedKey(string parameter, uint256 length, bytes1 prefix);

    /// @notice The account has never published its keys.
    /// @param account The account looked up.
    error KeyNotPublished(address account);

    /// @notice Publishes the caller's keys, or rotates them when already published; both keys in one version.
    /// @param receivingKey The 33-byte compressed Umbral receiving public key.
    /// @param verifyingKey The 33-byte compressed kfrag-signing verifying public key.
    /// @return version The new version.
    function publishKeys(bytes calldata receivingKey, bytes calldata verifyingKey) external returns (uint32 version);

    /// @notice The current keys of `account`.
    /// @dev Reverts with {KeyNotPublished} when the account never published any.
    /// @param account The account to look up.
    /// @return receivingKey The 33-byte compressed Umbral receiving public key.
    /// @return verifyingKey The 33-byte compressed kfrag-signing verifying public key.
    /// @return version Their version.
    /// @return updatedAt Block timestamp of their publication.
    function keysOf(address account)
        external
        view
        returns (bytes memory receivingKey, bytes memory verifyingKey, uint32 version, uint40 updatedAt);

    /// @notice Whether `account` has published its keys.
    /// @param account The account to look up.
    /// @return True when keys are published.
    function hasKeys(address account) external view returns (bool);
}
