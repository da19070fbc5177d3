// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IRecordRegistry} from "./interfaces/IRecordRegistry.sol";
import {DelegateRegistry} from "./DelegateRegistry.sol";

/// @title RecordRegistry
/// @notice See {IRecordRegistry}. Abstract: deployed as part of `ConsentRegistry`.
abstract contract RecordRegistry is IRecordRegistry, DelegateRegistry {
    /// @inheritdoc IRecordRegistry
    uint256 public constant MAX_CID_LENGTH = 128;

    mapping(bytes32 recordId => Record record) internal _records;

    /// @inheritdoc IRecordRegistry
    function registerRecord(bytes32 recordId, bytes8 tag, bytes calldata cid) external {
        _register(msg.sender, recordId, tag, cid);
    }

    /// @inheritdoc IRecordRegistry
    function registerRecordFor(address owner, bytes32 recordId, bytes8 tag, bytes calldata cid) external {
        if (owner == address(0)) revert ZeroAddress("owner");
        _authorize(msg.sender, owner, PERMISSION_RECORDS);
        _register(owner, recordId, tag, cid);
    }

    /// @inheritdoc IRecordRegistry
    function registerRecords(address owner, RecordInput[] calldata records) external {
        if (owner == address(0)) revert ZeroAddress("owner");
        _authorize(msg.sender, owner, PERMISSION_RECORDS);
        uint256 count = records.length;
        if (count == 0) revert EmptyBatch();
        for (uint256 i = 0; i < count; ++i) {
            RecordInput calldata r = records[i];
            _register(owner, r.recordId, r.tag, r.cid);
        }
    }

    /// @inheritdoc IRecordRegistry
    function addVersion(bytes32 recordId, bytes calldata cid) external returns (uint32 version) {
        Record storage record = _records[recordId];
        address owner = record.owner;
        if (owner == address(0)) revert RecordNotFound(recordId);
        _authorize(msg.sender, owner, PERMISSION_RECORDS);
        _checkCid(cid);
        version = record.version + 1;
        record.version = version;
        emit RecordVersionAdded(recordId, version, cid, msg.sender);
    }

    /// @inheritdoc IRecordRegistry
    function getRecord(bytes32 recordId) external view returns (Record memory record) {
        record = _records[recordId];
        if (record.owner == address(0)) revert RecordNotFound(recordId);
    }

    /// @inheritdoc IRecordRegistry
    function ownerOf(bytes32 recordId) external view returns (address) {
        return _records[recordId].owner;
    }

    /// @dev Writes exactly one storage slot per record; the CID goes to the log only.
    function _register(address owner, bytes32 recordId, bytes8 tag, bytes calldata cid) private {
        if (recordId == bytes32(0)) revert InvalidRecordId(recordId);
        _checkCid(cid);
        address existing = _records[recordId].owner;
        if (existing != address(0)) revert RecordAlreadyRegistered(recordId, existing);
        _records[recordId] = Record(owner, 1, tag);
        emit RecordRegistered(recordId, owner, tag, cid);
    }

    function _checkCid(bytes calldata cid) internal pure {
        if (cid.length == 0 || cid.length > MAX_CID_LENGTH) revert InvalidCidLength(cid.length, MAX_CID_LENGTH);
    }
}
