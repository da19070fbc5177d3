// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IDatasetRegistry
/// @notice Research datasets registered by approved data stewards, with their provenance: which consents
/// (a snapshot block of the consent registry) and which de-identification rules produced them.
/// @dev Datasets are rare and their fields are read by research platforms, so everything is stored (not only
/// evented). `datasetId = keccak256(cid)`: one registration per dataset content. The admin (set at deployment,
/// transferable) approves and removes stewards; it cannot change or remove a registered dataset.
interface IDatasetRegistry {
    /// @notice A registered dataset.
    /// @param steward Who registered it.
    /// @param consentSnapshotBlock The block whose consent state the export used.
    /// @param registeredAt Block timestamp of the registration.
    /// @param manifestHash SHA-256 (or keccak256) of the dataset manifest.
    /// @param ruleSetHash Hash of the de-identification rule set.
    /// @param cid The dataset's root CID (binary).
    /// @param licence The licence (SPDX id or URL), at most {MAX_LICENCE_LENGTH} bytes.
    struct Dataset {
        address steward;
        uint64 consentSnapshotBlock;
        uint32 registeredAt;
        bytes32 manifestHash;
        bytes32 ruleSetHash;
        bytes cid;
        string licence;
    }

    /// @notice The admin approved a steward.
    /// @param steward The steward.
    event StewardApproved(address indexed steward);

    /// @notice The admin removed a steward.
    /// @param steward The steward.
    event StewardRemoved(address indexed steward);

    /// @notice The admin role moved.
    /// @param previousAdmin The former admin.
    /// @param newAdmin The new admin.
    event AdminTransferred(address indexed previousAdmin, address indexed newAdmin);

    /// @notice A dataset was registered.
    /// @param datasetId The dataset id, keccak256(cid).
    /// @param steward The steward.
    /// @param cid The CID, binary.
    /// @param manifestHash Hash of the dataset manifest.
    /// @param ruleSetHash Hash of the de-identification rule set.
    /// @param consentSnapshotBlock The block whose consent state the export used.
    /// @param licence The licence (SPDX id or URL).
    event DatasetRegistered(
        bytes32 indexed datasetId,
        address indexed steward,
        bytes cid,
        bytes32 manifestHash,
        bytes32 ruleSetHash,
        uint64 consentSnapshotBlock,
        string licence
    );

    /// @notice Only the admin may do this.
    /// @param caller The calling account.
    error NotAdmin(address caller);

    /// @notice Only an approved steward may register datasets.
    /// @param caller The calling account.
    error NotSteward(address caller);

    /// @notice An address parameter was the zero address.
    /// @param parameter The parameter's name.
    error ZeroAddress(string parameter);

    /// @notice This CID is already registered.
    /// @param datasetId The dataset id, keccak256(cid).
    error DatasetAlreadyRegistered(bytes32 datasetId);

    /// @notice No dataset has this id.
    /// @param datasetId The dataset id, keccak256(cid).
    error DatasetNotFound(bytes32 datasetId);

    /// @notice The CID is empty or longer than {MAX_CID_LENGTH}.
    /// @param length The length given, in bytes.
    /// @param maxLength The maximum length, in bytes.
    error InvalidCidLength(uint256 length, uint256 maxLength);

    /// @notice The licence is empty or longer than {MAX_LICENCE_LENGTH}.
    /// @param length The length given, in bytes.
    /// @param maxLength The maximum length, in bytes.
    error InvalidLicenceLength(uint256 length, uint256 maxLength);

    /// @notice A hash parameter was zero.
    /// @param parameter The parameter's name.
    error ZeroHash(string parameter);

    /// @notice The consent snapshot block is not in the past.
    /// @param snapshotBlock The snapshot block given.
    /// @param currentBlock The current block number.
    error SnapshotBlockNotInPast(uint64 snapshotBlock, uint256 currentBlock);

    /// @notice Approves (`approved`) or removes a steward; only the admin.
    /// @param steward The steward.
    /// @param approved True to approve, false to remove.
    function setSteward(address steward, bool approved) external;

    /// @notice Moves the admin role; only the admin.
    /// @param newAdmin The new admin.
    function transferAdmin(address newAdmin) external;

    /// @notice Registers a dataset; only an approved steward.
    /// @return datasetId `keccak256(cid)`.
    /// @param cid The CID, binary.
    /// @param manifestHash Hash of the dataset manifest.
    /// @param ruleSetHash Hash of the de-identification rule set.
    /// @param consentSnapshotBlock The block whose consent state the export used.
    /// @param licence The licence (SPDX id or URL).
    function registerDataset(
        bytes calldata cid,
        bytes32 manifestHash,
        bytes32 ruleSetHash,
        uint64 consentSnapshotBlock,
        string calldata licence
    ) external returns (bytes32 datasetId);

    /// @notice The dataset (reverts with {DatasetNotFound}).
    /// @param datasetId The dataset id, keccak256(cid).
    function getDataset(bytes32 datasetId) external view returns (Dataset memory);

    /// @notice Whether `account` is an approved steward.
    /// @param account The account.
    function isSteward(address account) external view returns (bool);

    /// @notice The admin.
    function admin() external view returns (address);

    /// @notice Maximum CID length in bytes (128).
    function MAX_CID_LENGTH() external view returns (uint256);

    /// @notice Maximum licence length in bytes (256).
    function MAX_LICENCE_LENGTH() external view returns (uint256);
}
