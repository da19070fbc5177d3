// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IKeyRegistry
/// @notice Where every medvault account publishes its Umbral encryption public key, so a grantor can address a
/// grantee by Ethereum address alone.
/// @dev The key is a compressed secp256k1 point (33 bytes: a 0x02/0x03 prefix and the 32-byte x coordinate).
/// The registry checks the encoding only; whether the point is on the curve is checked by the clients that use it.
interface IKeyRegistry {
    /// @notice The key an account published, as stored (two slots).
    /// @param x The x coordinate of the compressed point.
    /// @param prefix The compression prefix, 0x02 or 0x03.
    /// @param version 1 for the first key, incremented on every rotation.
    /// @param updatedAt Block timestamp of the last publication.
    struct EncryptionKey {
        bytes32 x;
        bytes1 prefix;
        uint32 version;
        uint40 updatedAt;
    }

    /// @notice An account published (version 1) or rotated (version > 1) its encryption key.
    /// @param account The account the key belongs to.
    /// @param version The key's version.
    /// @param publicKey The 33-byte compressed public key.
    event EncryptionKeyPublished(address indexed account, uint32 indexed version, bytes publicKey);

    /// @notice The public key is not a 33-byte compressed point.
    /// @param length The length given.
    /// @param prefix The first byte given (0x00 when empty).
    error InvalidPublicKey(uint256 length, bytes1 prefix);

    /// @notice The account has never published a key.
    /// @param account The account looked up.
    error KeyNotPublished(address account);

    /// @notice Publishes the caller's encryption key, or rotates it when one is already published.
    /// @param publicKey The 33-byte compressed Umbral public key.
    /// @return version The new key version.
    function publishKey(bytes calldata publicKey) external returns (uint32 version);

    /// @notice The current encryption key of `account`.
    /// @dev Reverts with {KeyNotPublished} when the account never published one.
    /// @param account The account to look up.
    /// @return publicKey The 33-byte compressed public key.
    /// @return version Its version.
    function keyOf(address account) external view returns (bytes memory publicKey, uint32 version);

    /// @notice Whether `account` has published a key.
    /// @param account The account to look up.
    /// @return True when a key is published.
    function hasKey(address account) external view returns (bool);
}
