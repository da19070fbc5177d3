// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDatasetRegistry} from "./interfaces/IDatasetRegistry.sol";

/// @title DatasetRegistry
/// @notice See {IDatasetRegistry}.
contract DatasetRegistry is IDatasetRegistry {
    /// @inheritdoc IDatasetRegistry
    uint256 public constant MAX_CID_LENGTH = 128;
    /// @inheritdoc IDatasetRegistry
    uint256 public constant MAX_LICENCE_LENGTH = 256;

    address private _admin;
    mapping(address account => bool approved) private _stewards;
    mapping(bytes32 datasetId => Dataset dataset) private _datasets;

    /// @param admin_ The account that approves stewards.
    constructor(address admin_) {
        if (admin_ == address(0)) revert ZeroAddress("admin");
        _admin = admin_;
        emit AdminTransferred(address(0), admin_);
    }

    modifier onlyAdmin() {
        if (msg.sender != _admin) revert NotAdmin(msg.sender);
        _;
    }

    /// @inheritdoc IDatasetRegistry
    function setSteward(address steward, bool approved) external onlyAdmin {
        if (steward == address(0)) revert ZeroAddress("steward");
        _stewards[steward] = approved;
        if (approved) emit StewardApproved(steward);
        else emit StewardRemoved(steward);
    }

    /// @inheritdoc IDatasetRegistry
    function transferAdmin(address newAdmin) external onlyAdmin {
        if (newAdmin == address(0)) revert ZeroAddress("newAdmin");
        emit AdminTransferred(_admin, newAdmin);
        _admin = newAdmin;
    }

    /// @inheritdoc IDatasetRegistry
    function registerDataset(
        bytes calldata cid,
        bytes32 manifestHash,
        bytes32 ruleSetHash,
        uint64 consentSnapshotBlock,
        string calldata licence
    ) external returns (bytes32 datasetId) {
        if (!_stewards[msg.sender]) revert NotSteward(msg.sender);
        if (cid.length == 0 || cid.length > MAX_CID_LENGTH) revert InvalidCidLength(cid.length, MAX_CID_LENGTH);
        uint256 licenceLength = bytes(licence).length;
        if (licenceLength == 0 || licenceLength > MAX_LICENCE_LENGTH) {
            revert InvalidLicenceLength(licenceLength, MAX_LICENCE_LENGTH);
        }
        if (manifestHash == bytes32(0)) revert ZeroHash("manifestHash");
        if (ruleSetHash == bytes32(0)) revert ZeroHash("ruleSetHash");
        if (consentSnapshotBlock >= block.number) revert SnapshotBlockNotInPast(consentSnapshotBlock, block.number);
        datasetId = keccak256(cid);
        Dataset storage d = _datasets[datasetId];
        if (d.steward != address(0)) revert DatasetAlreadyRegistered(datasetId);
        d.steward = msg.sender;
        d.consentSnapshotBlock = consentSnapshotBlock;
        d.registeredAt = uint32(block.timestamp);
        d.manifestHash = manifestHash;
        d.ruleSetHash = ruleSetHash;
        d.cid = cid;
        d.licence = licence;
        emit DatasetRegistered(datasetId, msg.sender, cid, manifestHash, ruleSetHash, consentSnapshotBlock, licence);
    }

    /// @inheritdoc IDatasetRegistry
    function getDataset(bytes32 datasetId) external view returns (Dataset memory d) {
        d = _datasets[datasetId];
        if (d.steward == address(0)) revert DatasetNotFound(datasetId);
    }

    /// @inheritdoc IDatasetRegistry
    function isSteward(address account) external view returns (bool) {
        return _stewards[account];
    }

    /// @inheritdoc IDatasetRegistry
    function admin() external view returns (address) {
        return _admin;
    }
}
