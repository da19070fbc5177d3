// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IKeyRegistry} from "./interfaces/IKeyRegistry.sol";

/// @title KeyRegistry
/// @notice See {IKeyRegistry}.
contract KeyRegistry is IKeyRegistry {
    mapping(address account => PublicKeys keys) private _keys;

    /// @inheritdoc IKeyRegistry
    function publishKeys(bytes calldata receivingKey, bytes calldata verifyingKey) external returns (uint32 version) {
        _checkKey("receivingKey", receivingKey);
        _checkKey("verifyingKey", verifyingKey);
        PublicKeys storage keys = _keys[msg.sender];
        version = keys.version + 1;
        keys.receivingKeyX = bytes32(receivingKey[1:33]);
        keys.verifyingKeyX = bytes32(verifyingKey[1:33]);
        keys.receivingKeyPrefix = receivingKey[0];
        keys.verifyingKeyPrefix = verifyingKey[0];
        keys.version = version;
        keys.updatedAt = uint40(block.timestamp);
        emit KeysPublished(msg.sender, version, receivingKey, verifyingKey);
    }

    /// @inheritdoc IKeyRegistry
    function keysOf(address account)
        external
        view
        returns (bytes memory receivingKey, bytes memory verifyingKey, uint32 version, uint40 updatedAt)
    {
        PublicKeys storage keys = _keys[account];
        version = keys.version;
        if (version == 0) revert KeyNotPublished(account);
        return (
            abi.encodePacked(keys.receivingKeyPrefix, keys.receivingKeyX),
            abi.encodePacked(keys.verifyingKeyPrefix, keys.verifyingKeyX),
            version,
            keys.updatedAt
        );
    }

    /// @inheritdoc IKeyRegistry
    function hasKeys(address account) external view returns (bool) {
        return _keys[account].version != 0;
    }

    function _checkKey(string memory parameter, bytes calldata key) private pure {
        if (key.length != 33 || (key[0] != 0x02 && key[0] != 0x03)) {
            revert InvalidPublishedKey(parameter, key.length, key.length == 0 ? bytes1(0) : key[0]);
        }
    }
}
