// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IRecordRegistry
/// @notice Who owns which health record and which version is current.
/// @dev Storage vs events, to keep a registration at one storage slot:
/// - stored (one slot per record): owner, current version number, 8-byte tag;
/// - evented only: every version's envelope CID ({RecordRegistered} is version 1, {RecordVersionAdded} the
///   later ones). The chain never needs to read a CID; followers and readers take it from the logs, which are as
///   tamper-evident as storage. The version history is the sequence of these events.
/// A record id is any non-zero bytes32 chosen by the registrant (the SDK uses 32 random bytes). The tag is an
/// opaque 8-byte value (the SDK uses the first 8 bytes of HMAC(owner's tag key, category)); `0x0` means none.
/// Tags only need to be unique among one owner's categories: tag-scoped grants also require the record's owner
/// to be the grantor.
interface IRecordRegistry {
    /// @notice A record as stored (one slot).
    /// @param owner The patient who owns it.
    /// @param version The current version, 1 for a new record.
    /// @param tag The opaque category tag, 0 when none.
    struct Record {
        address owner;
        uint32 version;
        bytes8 tag;
    }

    /// @notice One record of a batch registration.
    /// @param recordId The record id (non-zero, unused).
    /// @param tag The tag, 0 for none.
    /// @param cid The envelope CID in binary form, 1 to {MAX_CID_LENGTH} bytes.
    struct RecordInput {
        bytes32 recordId;
        bytes8 tag;
        bytes cid;
    }

    /// @notice A record was registered; `cid` is its version 1.
    /// @param recordId The record id.
    /// @param owner The record's owner.
    /// @param tag The 8-byte tag (0 for none).
    /// @param cid The CID, binary.
    event RecordRegistered(bytes32 indexed recordId, address indexed owner, bytes8 tag, bytes cid);

    /// @notice A new version superseded the record's previous one.
    /// @param recordId The record.
    /// @param version The new (now current) version number.
    /// @param cid The new version's envelope CID.
    /// @param author The owner or delegate who added it.
    event RecordVersionAdded(bytes32 indexed recordId, uint32 indexed version, bytes cid, address author);

    /// @notice The record id is zero.
    /// @param recordId The record id.
    error InvalidRecordId(bytes32 recordId);

    /// @notice The record id is taken.
    /// @param recordId The record id.
    /// @param owner The record's owner.
    error RecordAlreadyRegistered(bytes32 recordId, address owner);

    /// @notice No record has this id.
    /// @param recordId The record id.
    error RecordNotFound(bytes32 recordId);

    /// @notice The CID is empty or longer than {MAX_CID_LENGTH}.
    /// @param length The length given, in bytes.
    /// @param maxLength The maximum length, in bytes.
    error InvalidCidLength(uint256 length, uint256 maxLength);

    /// @notice A batch is empty.
    error EmptyBatch();

    /// @notice Registers one record owned by the caller.
    /// @param recordId The record id.
    /// @param tag The 8-byte tag (0 for none).
    /// @param cid The CID, binary.
    function registerRecord(bytes32 recordId, bytes8 tag, bytes calldata cid) external;

    /// @notice Registers one record owned by `owner`; the caller is `owner` or its delegate with the records permission.
    /// @param owner The account acted for (the record owner).
    /// @param recordId The record id.
    /// @param tag The 8-byte tag (0 for none).
    /// @param cid The CID, binary.
    function registerRecordFor(address owner, bytes32 recordId, bytes8 tag, bytes calldata cid) external;

    /// @notice Registers many records owned by `owner` in one transaction (all or nothing).
    /// @param owner The owner (the caller, or a patient the caller is a records delegate of).
    /// @param records The records, at least one.
    function registerRecords(address owner, RecordInput[] calldata records) external;

    /// @notice Adds a version superseding the current one; only the owner or a records delegate.
    /// @return version The new version number.
    /// @param recordId The record id.
    /// @param cid The CID, binary.
    function addVersion(bytes32 recordId, bytes calldata cid) external returns (uint32 version);

    /// @notice The stored record (reverts with {RecordNotFound}).
    /// @param recordId The record id.
    function getRecord(bytes32 recordId) external view returns (Record memory);

    /// @notice The owner of a record, the zero address when unknown.
    /// @param recordId The record id.
    function ownerOf(bytes32 recordId) external view returns (address);

    /// @notice Maximum CID length in bytes (128).
    function MAX_CID_LENGTH() external view returns (uint256);
}
