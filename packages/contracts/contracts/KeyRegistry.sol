// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeyRegistry} from "./interfaces/IKeyRegistry.sol";

/// @title KeyRegistry
/// @notice See {IKeyRegistry}.
contract KeyRegistry is IKeyRegistry {
    mapping(address account => EncryptionKey key) private _keys;

    /// @inheritdoc IKeyRegistry
    function publishKey(bytes calldata publicKey) external returns (uint32 version) {
        if (publicKey.length != 33 || (publicKey[0] != 0x02 && publicKey[0] != 0x03)) {
            revert InvalidPublicKey(publicKey.length, publicKey.length == 0 ? bytes1(0) : publicKey[0]);
        }
        EncryptionKey storage key = _keys[msg.sender];
        version = key.version + 1;
        key.x = bytes32(publicKey[1:33]);
        key.prefix = publicKey[0];
        key.version = version;
        key.updatedAt = uint40(block.timestamp);
        emit EncryptionKeyPublished(msg.sender, version, publicKey);
    }

    /// @inheritdoc IKeyRegistry
    function keyOf(address account) external view returns (bytes memory publicKey, uint32 version) {
        EncryptionKey storage key = _keys[account];
        if (key.version == 0) revert KeyNotPublished(account);
        return (abi.encodePacked(key.prefix, key.x), key.version);
    }

    /// @inheritdoc IKeyRegistry
    function hasKey(address account) external view returns (bool) {
        return _keys[account].version != 0;
    }
}
