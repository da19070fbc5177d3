// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDelegateRegistry} from "./IDelegateRegistry.sol";
import {IRecordRegistry} from "./IRecordRegistry.sol";

/// @title IConsentRegistry
/// @notice Consent grants over a patient's records: who may read what, for which purpose of use, from when until
/// when, through which proxies, plus signed (gasless) grants and revocations and break-glass emergency access.
/// It also holds the proxy sets that grants reference: an immutable, ordered list of 1 to {MAX_PROXY_SET_SIZE}
/// proxies active in the ProxyRegistry when the set is created; kfrag `i` of a grant's bundle is encrypted to
/// member `i` of the grant's set. Retiring a proxy does not change existing sets: a grant whose set lost members
/// keeps working while at least `threshold` members still serve. (Keeping the sets here makes a grant's
/// threshold check one storage read instead of a cold call into the ProxyRegistry, ~3,000 gas less.)
/// This is the interface of the deployable `ConsentRegistry`, which also holds the records and the delegates
/// (consent checks read record owners and tags in the same contract, which keeps a grant cheap).
/// @dev Encodings.
///
/// Purpose of use (`uint8`, HL7 v3 PurposeOfUse codes; 0 and values above {MAX_PURPOSE} are invalid):
/// 1 TREAT, 2 ETREAT, 3 BTG, 4 HRESCH, 5 CLINTRL, 6 PUBHLTH, 7 HPAYMT, 8 HOPERAT, 9 PATRQT, 10 FAMRQT,
/// 11 PWATRNY, 12 CAREMGT, 13 COC, 14 HDIRECT, 15 HLEGAL, 16 HMARKT, 17 HQUALIMP, 18 HSYSADMIN, 19 TRAIN,
/// 20 POPHLTH, 21 HACCRED, 22 HCOMPL, 23 HDECD, 24 HOUTCOMS, 25 HPRGRP, 26 COVAUTH, 27 DONAT, 28 FRAUD, 29 GOV,
/// 30 RECORDMGT, 31 SYSDEV, 32 HTEST. Purposes match exactly (a TREAT grant does not allow ETREAT).
///
/// Scope (`ScopeKind` and `scopeTarget`):
/// - `Record` (1): `scopeTarget` is the record id; the record must exist and be owned by the grantor.
/// - `Records` (2): `scopeTarget` is 0 and `records` lists 1 to {MAX_RECORD_SET_SIZE} records of the grantor.
/// - `Tag` (3): `scopeTarget` is the 8-byte tag left-aligned in 32 bytes (`bytes32(bytes8 tag)`), non-zero;
///   covers every record of the grantor carrying that tag, including ones registered later.
/// - `All` (4): `scopeTarget` is 0; covers every record of the grantor, including ones registered later.
/// Every scope also requires the record's owner to be the grantor at access time.
///
/// Validity: a grant allows access while `notBefore <= block.timestamp < expiry` and it is not revoked.
///
/// Storage vs events (a grant is two storage slots):
/// - stored: grantor, grantee, notBefore, expiry, threshold, scope kind, purpose, flags (revoked, break-glass) and
///   a 12-byte scope key: the first 12 bytes of `scopeTarget`. Comparing 96 bits of a record id is safe: only the
///   grantor (or their records delegate, who can add versions to any of the grantor's records anyway) can
///   register records owned by the grantor, and the owner is checked too; a chance collision among one owner's
///   random ids is about n²/2⁹⁷. For `Records`, membership is stored per record.
/// - evented only: the full `scopeTarget`, the proxy set id and the kfrag bundle CID ({AccessGranted}); proxies
///   take them from the log. Listing grants by grantor or grantee is a log query on the indexed topics of
///   {AccessGranted} / {AccessRevoked}; {getGrant} and {isAccessAllowed} give each grant's live state.
///
/// Grant ids: `grantId = keccak256(abi.encode(grantor, salt))` with a salt chosen by the grantor, so nobody else
/// can squat an id and a relayer cannot change which id a signed grant gets.
///
/// EIP-712 (domain: name "MedVault", version "1", chainId, verifyingContract = this contract):
/// `Grant(address grantor,address signer,address grantee,uint8 scopeKind,bytes32 scopeTarget,bytes32[] records,uint8 purpose,uint32 notBefore,uint32 expiry,uint8 threshold,uint32 proxySetId,bytes32 salt,bytes kfragsCid,uint256 deadline)`
/// `Revoke(address signer,bytes32 grantId,uint256 nonce,uint256 deadline)`
/// The signer is the grantor or a live delegate of the grantor (grant permission for Grant, revoke permission for
/// Revoke); a signature is valid while `block.timestamp <= deadline`. Both messages name the signer, because a
/// contract signer's ERC-1271 check may accept a signature that is not bound to its own address (many wallets
/// accept their owner's plain ECDSA signature of the digest): two wallets of one owner would otherwise accept
/// each other's grants and revocations.
/// Replay protection: a signed Grant's nonce is its `salt`, an unordered single-use nonce (like Permit2's
/// unordered nonces) that costs no storage of its own: the grant id `keccak256(abi.encode(grantor, salt))` can be
/// created once and is never freed, so a replay fails with {GrantAlreadyExists}. An unused signature is voided
/// with {cancelGrantSalt} (a later submission fails with {GrantIdCancelled}) or lapses at its deadline. Grants
/// signed by different delegates of one grantor share the grantor's salt space. Revocations keep a sequential
/// per-signer nonce ({nonces}).
/// Contract signers are checked with ERC-1271 `isValidSignature`.
interface IConsentRegistry is IRecordRegistry, IDelegateRegistry {
    /// @notice What a grant covers; see the encoding notes above.
    enum ScopeKind {
        None,
        Record,
        Records,
        Tag,
        All
    }

    /// @notice The terms of a new grant.
    /// @param grantee Who may read.
    /// @param scopeKind What it covers.
    /// @param scopeTarget Record id (Record), left-aligned tag (Tag), or 0.
    /// @param records The record ids of a Records scope, otherwise empty.
    /// @param purpose The purpose-of-use code.
    /// @param notBefore Unix time from which it holds (0: at once).
    /// @param expiry Unix time from which it no longer holds; in the future and after `notBefore`.
    /// @param threshold M: how many proxies must re-encrypt (1 to the proxy set's size).
    /// @param proxySetId The proxy set (see {createProxySet}) holding the kfrags.
    /// @param salt Makes the grant id: `keccak256(abi.encode(grantor, salt))`.
    /// @param kfragsCid CID of the encrypted kfrag bundle, 1 to {MAX_CID_LENGTH} bytes.
    struct GrantParams {
        address grantee;
        ScopeKind scopeKind;
        bytes32 scopeTarget;
        bytes32[] records;
        uint8 purpose;
        uint32 notBefore;
        uint32 expiry;
        uint8 threshold;
        uint32 proxySetId;
        bytes32 salt;
        bytes kfragsCid;
    }

    /// @notice A grant as stored (two slots). `flags`: bit 0 revoked, bit 1 break-glass, bit 2 cancelled salt
    /// (a tombstone from {cancelGrantSalt}, always with bit 0). `scopeKey`: for a
    /// Record scope the first 12 bytes of `keccak256(abi.encode(grantId, recordId))` (not the id's own prefix,
    /// which ids such as counters share; the grant id is unknown until the grant, so no record can be made to
    /// collide with it short of a 2^96 search), for a Tag scope the tag, otherwise 0. The full target is in
    /// the {AccessGranted} event.
    struct Grant {
        address grantor;
        uint32 notBefore;
        uint32 expiry;
        uint8 threshold;
        ScopeKind scopeKind;
        uint8 purpose;
        uint8 flags;
        address grantee;
        bytes12 scopeKey;
    }

    /// @notice A grant id was reserved without a grant, voiding every signature over its salt.
    /// @param grantId The cancelled grant id.
    /// @param grantor The patient whose salt it was.
    /// @param salt The cancelled salt.
    /// @param cancelledBy The grantor or its grant delegate.
    event GrantSaltCancelled(
        bytes32 indexed grantId, address indexed grantor, bytes32 salt, address indexed cancelledBy
    );

    /// @notice A proxy set was created.
    /// @param setId The new set's id (sequential, starting at 1).
    /// @param creator Who created it.
    /// @param members The member operators, in kfrag order.
    event ProxySetCreated(uint32 indexed setId, address indexed creator, address[] members);

    /// @notice Emergency access of one grant to one record (one slot).
    /// @param endsAt When its last window ends or ended (Unix seconds); 0 if none ever opened.
    /// @param halted Whether the grantor (or its revoke delegate) halted it: no window opens until
    /// {reauthorizeBreakGlass}.
    struct EmergencyAccess {
        uint32 endsAt;
        bool halted;
    }

    /// @notice A grant was created.
    /// @param grantId The grant id.
    /// @param grantor The patient who granted.
    /// @param grantee The grantee.
    /// @param scopeKind The scope kind.
    /// @param scopeTarget The scope target.
    /// @param purpose The purpose-of-use code.
    /// @param notBefore Unix time from which the grant holds.
    /// @param expiry Unix time from which it no longer holds.
    /// @param threshold The threshold given.
    /// @param proxySetId The proxy set id.
    /// @param kfragsCid CID of the encrypted kfrag bundle.
    event AccessGranted(
        bytes32 indexed grantId,
        address indexed grantor,
        address indexed grantee,
        ScopeKind scopeKind,
        bytes32 scopeTarget,
        uint8 purpose,
        uint32 notBefore,
        uint32 expiry,
        uint8 threshold,
        uint32 proxySetId,
        bytes kfragsCid
    );

    /// @notice The record list of a Records-scoped grant (emitted right after its {AccessGranted}).
    /// @param grantId The grant id.
    /// @param records The record ids.
    event GrantRecordsScoped(bytes32 indexed grantId, bytes32[] records);

    /// @notice A grant was revoked.
    /// @param revokedBy The grantor, or the delegate or signer who revoked it.
    /// @param grantId The grant id.
    /// @param grantor The patient who granted.
    /// @param grantee The grantee.
    event AccessRevoked(bytes32 indexed grantId, address indexed grantor, address indexed grantee, address revokedBy);

    /// @notice A break-glass grant was authorised (emitted right after its {AccessGranted}); it is dormant until
    /// the grantee starts an emergency access.
    /// @param grantId The grant id.
    /// @param grantor The patient who granted.
    /// @param grantee The grantee.
    /// @param maxDuration The longest time box, in seconds.
    event BreakGlassAuthorized(
        bytes32 indexed grantId, address indexed grantor, address indexed grantee, uint32 maxDuration
    );

    /// @notice A grantee broke the glass: which grant and record, whose, who, why (as a code), until when, and
    /// which window of the grant this is. The event is public and sits next to the patient's address and record
    /// id, so it carries no free text: the why is a purpose-of-use code and an optional opaque reference to a
    /// note kept off chain. Grant, record and grantor are topics, so a client lists the windows of any of them
    /// with one log query.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    /// @param grantor The patient who granted.
    /// @param grantee The grantee, who broke the glass.
    /// @param endsAt When the window ends at the latest (Unix seconds); {EmergencyAccessEnded} reports an earlier end.
    /// @param window The window's number within its grant, 1 to {MAX_BREAK_GLASS_WINDOWS}.
    /// @param reasonCode Why, as an HL7 v3 purpose-of-use code (usually ETREAT or BTG; 1 to {MAX_PURPOSE}).
    /// @param reasonRef An opaque 32-byte reference chosen by the grantee (0 if none), e.g. a salted commitment to
    /// or the digest of an encrypted note stored off chain; it reveals nothing by itself.
    event EmergencyAccessStarted(
        bytes32 indexed grantId,
        bytes32 indexed recordId,
        address indexed grantor,
        address grantee,
        uint32 endsAt,
        uint16 window,
        uint8 reasonCode,
        bytes32 reasonRef
    );

    /// @notice A running emergency access was ended before its time box ran out (its window closed at this
    /// block's time).
    /// @param grantId The grant id.
    /// @param recordId The record id.
    /// @param grantor The patient who granted.
    /// @param endedBy Who ended it: the grantee, the grantor or the grantor's revoke delegate.
    event EmergencyAccessEnded(
        bytes32 indexed grantId, bytes32 indexed recordId, address indexed grantor, address endedBy
    );

    /// @notice The grantor (or its revoke delegate) halted break-glass for one record of a grant: no window can
    /// open on it until {BreakGlassReauthorized}.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    /// @param grantor The patient who granted.
    /// @param haltedBy The grantor or its revoke delegate.
    event BreakGlassHalted(
        bytes32 indexed grantId, bytes32 indexed recordId, address indexed grantor, address haltedBy
    );

    /// @notice The grantor (or its grant delegate) lifted a halt: the grantee may open windows on the record again.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    /// @param grantor The patient who granted.
    /// @param authorizedBy The grantor or its grant delegate.
    event BreakGlassReauthorized(
        bytes32 indexed grantId, bytes32 indexed recordId, address indexed grantor, address authorizedBy
    );

    /// @notice No grant has this id.
    /// @param grantId The grant id.
    error GrantNotFound(bytes32 grantId);

    /// @notice The grant id (grantor, salt) is taken.
    /// @param grantId The grant id.
    error GrantAlreadyExists(bytes32 grantId);

    /// @notice The grant is revoked.
    /// @param grantId The grant id.
    error GrantRevoked(bytes32 grantId);

    /// @notice The grant has expired.
    /// @param grantId The grant id.
    /// @param expiredAt The grant's expiry (Unix seconds).
    error GrantExpired(bytes32 grantId, uint32 expiredAt);

    /// @notice The grant is not valid yet.
    /// @param grantId The grant id.
    /// @param notBefore Unix time from which the grant holds.
    error GrantNotYetValid(bytes32 grantId, uint32 notBefore);

    /// @notice The grant names another grantee.
    /// @param grantId The grant id.
    /// @param grantee The grantee.
    error GranteeMismatch(bytes32 grantId, address grantee);

    /// @notice The grant is for another purpose.
    /// @param grantId The grant id.
    /// @param purpose The purpose-of-use code.
    error PurposeMismatch(bytes32 grantId, uint8 purpose);

    /// @notice The record is not covered by the grant (or not owned by its grantor).
    /// @param grantId The grant id.
    /// @param recordId The record id.
    error RecordOutOfScope(bytes32 grantId, bytes32 recordId);

    /// @notice The purpose code is 0 or above {MAX_PURPOSE}.
    /// @param purpose The purpose-of-use code.
    error InvalidPurpose(uint8 purpose);

    /// @notice `expiry` is not after `notBefore`.
    /// @param notBefore Unix time from which the grant holds.
    /// @param expiry Unix time from which it no longer holds.
    error InvalidValidity(uint32 notBefore, uint32 expiry);

    /// @notice The threshold is 0 or larger than the proxy set.
    /// @param threshold The threshold given.
    /// @param proxies The proxy set's size.
    error InvalidThreshold(uint8 threshold, uint256 proxies);

    /// @notice The proxy set does not exist.
    /// @param proxySetId The proxy set id.
    error UnknownProxySet(uint32 proxySetId);

    /// @notice The scope kind and target (or record list) do not fit together.
    /// @param scopeKind The scope kind.
    /// @param scopeTarget The scope target.
    error InvalidScope(ScopeKind scopeKind, bytes32 scopeTarget);

    /// @notice A Records scope is empty or longer than {MAX_RECORD_SET_SIZE}.
    /// @param size The number of items given.
    /// @param maxSize The maximum number of items.
    error InvalidRecordSetSize(uint256 size, uint256 maxSize);

    /// @notice A record in the scope belongs to someone other than the grantor.
    /// @param recordId The record id.
    /// @param owner The record's owner.
    /// @param grantor The patient who granted.
    error NotRecordOwner(bytes32 recordId, address owner, address grantor);

    /// @notice The signature's deadline has passed.
    /// @param deadline The signature's last valid Unix time.
    /// @param currentTime The block timestamp.
    error SignatureExpired(uint256 deadline, uint256 currentTime);

    /// @notice The grant id's salt was cancelled with {cancelGrantSalt}: no grant can ever have this id.
    /// @param grantId The grant id.
    error GrantIdCancelled(bytes32 grantId);

    /// @notice The nonce is not the signer's next nonce (a replayed or out-of-order signature).
    /// @param signer The account named as signer.
    /// @param expected The signer's next nonce.
    /// @param provided The nonce given.
    error InvalidNonce(address signer, uint256 expected, uint256 provided);

    /// @notice The signature is not `signer`'s signature of this message.
    /// @param signer The account named as signer.
    error InvalidSignature(address signer);

    /// @notice The grant is not a break-glass grant.
    /// @param grantId The grant id.
    error NotBreakGlassGrant(bytes32 grantId);

    /// @notice Only the grantee may break the glass.
    /// @param grantId The grant id.
    /// @param caller The calling account.
    error NotGrantee(bytes32 grantId, address caller);

    /// @notice No emergency access is running for this grant and record.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    error EmergencyAccessNotActive(bytes32 grantId, bytes32 recordId);

    /// @notice The grantor (or its revoke delegate) halted break-glass on this record of the grant: no window
    /// opens on it until the grantor or its grant delegate calls {reauthorizeBreakGlass}. Also what ending an
    /// already halted record reverts with.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    error EmergencyAccessHalted(bytes32 grantId, bytes32 recordId);

    /// @notice {reauthorizeBreakGlass} on a record that is not halted.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    error EmergencyAccessNotHalted(bytes32 grantId, bytes32 recordId);

    /// @notice A window is already running for this grant and record; it must end or lapse before another opens.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    /// @param endsAt When the running window ends (Unix seconds).
    error EmergencyAccessAlreadyActive(bytes32 grantId, bytes32 recordId, uint32 endsAt);

    /// @notice The grant has opened all the emergency-access windows it may ({MAX_BREAK_GLASS_WINDOWS}); the
    /// patient must authorise a new break-glass grant.
    /// @param grantId The grant id.
    /// @param maxWindows The most windows one grant may open.
    error BreakGlassWindowsExhausted(bytes32 grantId, uint16 maxWindows);

    /// @notice The break-glass time box is 0 or longer than {MAX_BREAK_GLASS_DURATION}.
    /// @param duration The time box given, in seconds.
    /// @param maxDuration The longest time box, in seconds.
    error InvalidBreakGlassDuration(uint32 duration, uint32 maxDuration);

    /// @notice The proxy set is empty or larger than {MAX_PROXY_SET_SIZE}.
    /// @param size The number of items given.
    /// @param maxSize The maximum number of items.
    error InvalidProxySetSize(uint256 size, uint256 maxSize);

    /// @notice The same operator appears twice in a proxy set.
    /// @param operator The proxy operator.
    error DuplicateProxy(address operator);

    /// @notice No proxy set has this id.
    /// @param setId The proxy set id.
    error ProxySetNotFound(uint32 setId);

    /// @notice The address has no active proxy in the ProxyRegistry.
    /// @param operator The proxy operator.
    error ProxyNotActive(address operator);

    /// @notice Creates an immutable proxy set from proxies active in the ProxyRegistry.
    /// @param members 1 to {MAX_PROXY_SET_SIZE} distinct active proxy operators, in kfrag order.
    /// @return setId The new set's id.
    function createProxySet(address[] calldata members) external returns (uint32 setId);

    /// @notice Creates a grant whose grantor is the caller.
    /// @return grantId `keccak256(abi.encode(msg.sender, params.salt))`.
    /// @param params The grant terms.
    function grant(GrantParams calldata params) external returns (bytes32 grantId);

    /// @notice Creates a grant whose grantor is `grantor`; the caller is `grantor` or its grant delegate, whose
    /// grants may not expire after its delegation does ({GrantOutlivesDelegation}).
    /// @param grantor The patient who granted.
    /// @param params The grant terms.
    function grantFor(address grantor, GrantParams calldata params) external returns (bytes32 grantId);

    /// @notice Creates a grant from the grantor's (or grant delegate's) EIP-712 `Grant` signature; anyone may
    /// submit it and pay the gas. The signed salt is the signature's single-use nonce: a second submission
    /// reverts with {GrantAlreadyExists}, one after {cancelGrantSalt} with {GrantIdCancelled}.
    /// @param grantor The patient whose records are shared.
    /// @param params The grant terms, as signed.
    /// @param signer The account that signed (the grantor or its grant delegate).
    /// @param deadline Last valid Unix time of the signature, as signed.
    /// @param signature ECDSA signature, 65 bytes (r, s, v) or 64 bytes (r, vs; EIP-2098), with a low `s`; or an
    /// ERC-1271 signature of a contract signer.
    function grantBySig(
        address grantor,
        GrantParams calldata params,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 grantId);

    /// @notice Voids every unused `Grant` signature over `salt` for `grantor` by reserving its grant id without a
    /// grant (a tombstone: {getGrant} and {checkAccess} revert with {GrantIdCancelled}, {isAccessAllowed} is
    /// false). The caller is `grantor` or its grant delegate. Reverts with {GrantAlreadyExists} if the grant
    /// exists (revoke it instead) and with {GrantIdCancelled} if the salt is already cancelled.
    /// @param grantor The patient whose salt it is.
    /// @param salt The salt to cancel.
    /// @return grantId The cancelled grant id.
    function cancelGrantSalt(address grantor, bytes32 salt) external returns (bytes32 grantId);

    /// @notice Revokes a grant; the caller is its grantor or the grantor's revoke delegate.
    /// @param grantId The grant id.
    function revoke(bytes32 grantId) external;

    /// @notice Revokes a grant from an EIP-712 `Revoke` signature of the grantor or its revoke delegate.
    /// @param grantId The grant id.
    /// @param signer The account named as signer.
    /// @param nonce The signer's nonce, as signed.
    /// @param deadline The signature's last valid Unix time.
    /// @param signature The signature.
    function revokeBySig(bytes32 grantId, address signer, uint256 nonce, uint256 deadline, bytes calldata signature)
        external;

    /// @notice Pre-authorises break-glass access: a grant (usually purpose ETREAT or BTG) that stays dormant until
    /// the grantee calls {breakGlass}. The caller is `grantor` or its grant delegate.
    /// @param maxDuration The time box of each emergency access, 1 s to {MAX_BREAK_GLASS_DURATION}.
    /// @param grantor The patient who granted.
    /// @param params The grant terms.
    function authorizeBreakGlass(address grantor, GrantParams calldata params, uint32 maxDuration)
        external
        returns (bytes32 grantId);

    /// @notice The grantee of a live break-glass grant opens emergency access to one record for the grant's time
    /// box (never past the grant's expiry), saying why as a code. There is no free-text reason: everything here
    /// is public forever, next to the patient's address, so clinical text must never reach the chain.
    /// Refused while a window on the record is running ({EmergencyAccessAlreadyActive}), while the grantor has
    /// the record halted ({EmergencyAccessHalted}), and once the grant opened {MAX_BREAK_GLASS_WINDOWS} windows
    /// ({BreakGlassWindowsExhausted}).
    /// @param grantId The grant id.
    /// @param recordId The record id.
    /// @param reasonCode Why, as a purpose-of-use code, 1 to {MAX_PURPOSE} (else {InvalidPurpose}); usually ETREAT
    /// (2) or BTG (3).
    /// @param reasonRef Optional opaque reference (0 for none): a salted hash or the digest of an encrypted note
    /// kept off chain, so an auditor given the note can check it; never a plain hash of guessable text.
    /// @return endsAt When the access ends.
    function breakGlass(bytes32 grantId, bytes32 recordId, uint8 reasonCode, bytes32 reasonRef)
        external
        returns (uint32 endsAt);

    /// @notice Ends emergency access to a record of a break-glass grant.
    /// - The grantor or its revoke delegate: ends the running window, if any, and halts the record for this
    ///   grant, so the grantee cannot open another window on it until {reauthorizeBreakGlass}. Works with no
    ///   window running too (to halt ahead); reverts with {EmergencyAccessHalted} if the record is already halted.
    /// - The grantee: ends its own running window early (else {EmergencyAccessNotActive}); no halt.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    function endEmergencyAccess(bytes32 grantId, bytes32 recordId) external;

    /// @notice Lifts the halt that {endEmergencyAccess} by the grantor (or its revoke delegate) put on a record,
    /// so the grantee may break the glass on it again. The caller is the grantor or its grant delegate (whose
    /// delegation must last as long as the grant: {GrantOutlivesDelegation}). Windows already opened still count
    /// towards {MAX_BREAK_GLASS_WINDOWS}.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    function reauthorizeBreakGlass(bytes32 grantId, bytes32 recordId) external;

    /// @notice Whether `grantee` may read `recordId` for `purpose` under `grantId` right now.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    /// @param grantee The grantee.
    /// @param purpose The purpose-of-use code.
    function isAccessAllowed(bytes32 grantId, bytes32 recordId, address grantee, uint8 purpose)
        external
        view
        returns (bool);

    /// @notice Like {isAccessAllowed} but reverts with the reason (e.g. {GrantRevoked}, {GrantExpired},
    /// {RecordOutOfScope}) when access is not allowed.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    /// @param grantee The grantee.
    /// @param purpose The purpose-of-use code.
    function checkAccess(bytes32 grantId, bytes32 recordId, address grantee, uint8 purpose) external view;

    /// @notice The stored grant (reverts with {GrantNotFound}, or {GrantIdCancelled} for a cancelled salt).
    /// @param grantId The grant id.
    function getGrant(bytes32 grantId) external view returns (Grant memory);

    /// @notice The id a grant of `grantor` with `salt` gets.
    /// @param grantor The patient who granted.
    /// @param salt The salt.
    function grantIdOf(address grantor, bytes32 salt) external pure returns (bytes32);

    /// @notice The next EIP-712 `Revoke` nonce of `signer` (signed grants use their salt instead).
    /// @param signer The account named as signer.
    function nonces(address signer) external view returns (uint256);

    /// @notice The time box of a break-glass grant (0 for other grants).
    /// @param grantId The grant id.
    function breakGlassDuration(bytes32 grantId) external view returns (uint32);

    /// @notice When the emergency access of `grantId` to `recordId` ends (or ended); 0 if it never started.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    function emergencyAccessEndsAt(bytes32 grantId, bytes32 recordId) external view returns (uint32);

    /// @notice The emergency-access state of `grantId` on `recordId`: when its last window ends (or ended; 0 if
    /// none ever opened) and whether the grantor halted it.
    /// @param grantId The grant id.
    /// @param recordId The record id.
    function getEmergencyAccess(bytes32 grantId, bytes32 recordId) external view returns (EmergencyAccess memory);

    /// @notice How many emergency-access windows `grantId` has opened, over all its records (at most
    /// {MAX_BREAK_GLASS_WINDOWS}).
    /// @param grantId The grant id.
    function breakGlassWindowsOpened(bytes32 grantId) external view returns (uint16);

    /// @notice The EIP-712 domain separator.
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    /// @notice The proxy registry whose active proxies a new proxy set may include.
    function proxyRegistry() external view returns (address);

    /// @notice The members of set `setId` (reverts with {ProxySetNotFound}).
    /// @param setId The proxy set id.
    function proxySetMembers(uint32 setId) external view returns (address[] memory);

    /// @notice The number of members of set `setId`, 0 when the set does not exist.
    /// @param setId The proxy set id.
    function proxySetSize(uint32 setId) external view returns (uint256);

    /// @notice The number of sets created so far (the last set id).
    function proxySetCount() external view returns (uint32);

    /// @notice Maximum members of a proxy set (32).
    function MAX_PROXY_SET_SIZE() external view returns (uint256);

    /// @notice Highest assigned purpose code (32).
    function MAX_PURPOSE() external view returns (uint8);

    /// @notice Maximum records in a Records scope (64).
    function MAX_RECORD_SET_SIZE() external view returns (uint256);

    /// @notice Longest break-glass time box (7 days).
    function MAX_BREAK_GLASS_DURATION() external view returns (uint32);

    /// @notice Most emergency-access windows one break-glass grant may open, over all its records (64: one for
    /// every record a Records scope can list). Bounds what a grant can ever expose to
    /// `MAX_BREAK_GLASS_WINDOWS * maxDuration`, even if the patient never looks.
    function MAX_BREAK_GLASS_WINDOWS() external view returns (uint16);
}
