// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IProxyRegistry} from "./interfaces/IProxyRegistry.sol";
import {RecordRegistry} from "./RecordRegistry.sol";
import {Signatures} from "./libraries/Signatures.sol";

/// @title ConsentRegistry
/// @notice Records, delegates, proxy sets, consent grants and break-glass access in one contract.
/// See {IConsentRegistry}.
contract ConsentRegistry is IConsentRegistry, RecordRegistry {
    /// @inheritdoc IConsentRegistry
    uint8 public constant MAX_PURPOSE = 32;
    /// @inheritdoc IConsentRegistry
    uint256 public constant MAX_RECORD_SET_SIZE = 64;
    /// @inheritdoc IConsentRegistry
    uint32 public constant MAX_BREAK_GLASS_DURATION = 7 days;
    /// @inheritdoc IConsentRegistry
    uint256 public constant MAX_PROXY_SET_SIZE = 32;
    /// @inheritdoc IConsentRegistry
    uint16 public constant MAX_BREAK_GLASS_WINDOWS = 64;

    uint8 private constant FLAG_REVOKED = 1;
    uint8 private constant FLAG_BREAK_GLASS = 2;
    /// @dev A tombstone left by {cancelGrantSalt}: always written together with FLAG_REVOKED, so every path that
    /// only checks for revocation refuses it too.
    uint8 private constant FLAG_CANCELLED = 4;

    bytes32 private constant GRANT_TYPEHASH = keccak256(
        "Grant(address grantor,address signer,address grantee,uint8 scopeKind,bytes32 scopeTarget,bytes32[] records,uint8 purpose,uint32 notBefore,uint32 expiry,uint8 threshold,uint32 proxySetId,bytes32 salt,bytes kfragsCid,uint256 deadline)"
    );
    bytes32 private constant REVOKE_TYPEHASH =
        keccak256("Revoke(address signer,bytes32 grantId,uint256 nonce,uint256 deadline)");
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant NAME_HASH = keccak256("MedVault");
    bytes32 private constant VERSION_HASH = keccak256("1");

    /// @dev A break-glass grant's time box and how many windows it has opened (one slot, read and rewritten by
    /// every {breakGlass}).
    struct BreakGlass {
        uint32 maxDuration;
        uint16 windowsOpened;
    }

    IProxyRegistry private immutable _proxyRegistry;
    uint256 private immutable _deployChainId;
    bytes32 private immutable _deployDomainSeparator;

    mapping(bytes32 grantId => Grant grant) private _grants;
    mapping(bytes32 grantId => mapping(bytes32 recordId => bool inScope)) private _grantRecords;
    mapping(bytes32 grantId => BreakGlass terms) private _breakGlass;
    mapping(bytes32 grantId => mapping(bytes32 recordId => EmergencyAccess access)) private _emergencyAccesses;
    /// @dev Revocation nonces only: a signed grant's nonce is its salt (see {grantBySig}).
    mapping(address signer => uint256 nonce) private _nonces;
    /// @dev Immutable once created; `_grant` reads a set's length (one cold SLOAD) where a call into the
    /// ProxyRegistry cost a cold account access, the call and the same SLOAD over there (~5,100 gas).
    mapping(uint32 setId => address[] members) private _proxySets;
    uint32 private _proxySetCount;

    /// @param proxyRegistry_ The ProxyRegistry whose active proxies may join a proxy set.
    constructor(IProxyRegistry proxyRegistry_) {
        if (address(proxyRegistry_) == address(0)) revert ZeroAddress("proxyRegistry");
        _proxyRegistry = proxyRegistry_;
        _deployChainId = block.chainid;
        _deployDomainSeparator = _buildDomainSeparator();
    }

    // ---------------------------------------------------------------- proxy sets

    /// @inheritdoc IConsentRegistry
    function createProxySet(address[] calldata members) external returns (uint32 setId) {
        uint256 size = members.length;
        if (size == 0 || size > MAX_PROXY_SET_SIZE) revert InvalidProxySetSize(size, MAX_PROXY_SET_SIZE);
        for (uint256 i = 0; i < size; ++i) {
            address member = members[i];
            if (!_proxyRegistry.isActiveProxy(member)) revert ProxyNotActive(member);
            // Sets are small (<= 32): a quadratic duplicate check is cheaper than a scratch mapping.
            for (uint256 j = 0; j < i; ++j) {
                if (members[j] == member) revert DuplicateProxy(member);
            }
        }
        setId = ++_proxySetCount;
        _proxySets[setId] = members;
        emit ProxySetCreated(setId, msg.sender, members);
    }

    // ---------------------------------------------------------------- grants

    /// @inheritdoc IConsentRegistry
    function grant(GrantParams calldata params) external returns (bytes32 grantId) {
        return _grant(msg.sender, params, 0);
    }

    /// @inheritdoc IConsentRegistry
    function grantFor(address grantor, GrantParams calldata params) external returns (bytes32 grantId) {
        if (grantor == address(0)) revert ZeroAddress("grantor");
        _authorizeGrant(msg.sender, grantor, params.expiry);
        return _grant(grantor, params, 0);
    }

    /// @inheritdoc IConsentRegistry
    function grantBySig(
        address grantor,
        GrantParams calldata params,
        address signer,
        uint256 deadline,
        bytes calldata signature
    ) external returns (bytes32 grantId) {
        if (grantor == address(0)) revert ZeroAddress("grantor");
        // No nonce slot: the signed salt is the nonce. The grant id keccak256(grantor, salt) can be created
        // only once and is never freed (revoked grants and cancelled salts keep their record), so `_grant`
        // refuses a replay with GrantAlreadyExists / GrantIdCancelled. That saves a per-signer nonce's
        // 5,000 gas (22,100 on a first signature) and lets a signer hold any number of outstanding signatures.
        _checkSignature(signer, deadline, _hashGrant(grantor, signer, params, deadline), signature);
        _authorizeGrant(signer, grantor, params.expiry);
        return _grant(grantor, params, 0);
    }

    /// @inheritdoc IConsentRegistry
    function cancelGrantSalt(address grantor, bytes32 salt) external returns (bytes32 grantId) {
        if (grantor == address(0)) revert ZeroAddress("grantor");
        _authorize(msg.sender, grantor, PERMISSION_GRANT);
        grantId = keccak256(abi.encode(grantor, salt));
        Grant storage g = _grants[grantId];
        if (g.grantor != address(0)) {
            if (g.flags & FLAG_CANCELLED != 0) revert GrantIdCancelled(grantId);
            revert GrantAlreadyExists(grantId);
        }
        // A tombstone: the id now exists, so no signature over this salt can ever create it.
        g.grantor = grantor;
        g.flags = FLAG_REVOKED | FLAG_CANCELLED;
        emit GrantSaltCancelled(grantId, grantor, salt, msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function revoke(bytes32 grantId) external {
        _revoke(grantId, msg.sender);
    }

    /// @inheritdoc IConsentRegistry
    function revokeBySig(bytes32 grantId, address signer, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
    {
        // Revocations keep a sequential per-signer nonce: revoking twice reverts anyway (GrantRevoked), but
        // the nonce also lets a signer void an unsent revocation and keeps the signed message single-use.
        uint256 expected = _nonces[signer];
        if (nonce != expected) revert InvalidNonce(signer, expected, nonce);
        // The signer is part of the signed message: two ERC-1271 wallets that accept the same owner's signature
        // (a common wallet design) cannot replay each other's revocations, nor spend each other's nonces.
        _checkSignature(
            signer, deadline, keccak256(abi.encode(REVOKE_TYPEHASH, signer, grantId, nonce, deadline)), signature
        );
        _nonces[signer] = expected + 1;
        _revoke(grantId, signer);
    }

    // ---------------------------------------------------------------- break-glass

    /// @inheritdoc IConsentRegistry
    function authorizeBreakGlass(address grantor, GrantParams calldata params, uint32 maxDuration)
        external
        returns (bytes32 grantId)
    {
        if (grantor == address(0)) revert ZeroAddress("grantor");
        _authorizeGrant(msg.sender, grantor, params.expiry);
        if (maxDuration == 0 || maxDuration > MAX_BREAK_GLASS_DURATION) {
            revert InvalidBreakGlassDuration(maxDuration, MAX_BREAK_GLASS_DURATION);
        }
        grantId = _grant(grantor, params, FLAG_BREAK_GLASS);
        _breakGlass[grantId] = BreakGlass(maxDuration, 0);
        emit BreakGlassAuthorized(grantId, grantor, params.grantee, maxDuration);
    }

    /// @inheritdoc IConsentRegistry
    function breakGlass(bytes32 grantId, bytes32 recordId, uint8 reasonCode, bytes32 reasonRef)
        external
        returns (uint32 endsAt)
    {
        Grant memory g = _grants[grantId];
        if (g.grantor == address(0)) revert GrantNotFound(grantId);
        if (g.flags & FLAG_BREAK_GLASS == 0) revert NotBreakGlassGrant(grantId);
        if (msg.sender != g.grantee) revert NotGrantee(grantId, msg.sender);
        if (reasonCode == 0 || reasonCode > MAX_PURPOSE) revert InvalidPurpose(reasonCode);
        _checkValid(grantId, g, true);
        _checkScope(grantId, g, recordId, true);
        EmergencyAccess storage access = _emergencyAccesses[grantId][recordId];
        // A halt holds until the grantor authorises again: without it, the grantee could reopen the record in the
        // block after the patient ended it, and keep doing so until the grant expired.
        if (access.halted) revert EmergencyAccessHalted(grantId, recordId);
        // One window at a time per record, so each window is a distinct, evented interval and re-breaking cannot
        // push a running window's end out unseen.
        uint32 running = access.endsAt;
        if (running > block.timestamp) revert EmergencyAccessAlreadyActive(grantId, recordId, running);
        BreakGlass storage terms = _breakGlass[grantId];
        uint16 window = terms.windowsOpened + 1;
        if (window > MAX_BREAK_GLASS_WINDOWS) revert BreakGlassWindowsExhausted(grantId, MAX_BREAK_GLASS_WINDOWS);
        terms.windowsOpened = window;
        uint256 end = block.timestamp + terms.maxDuration;
        endsAt = uint32(end < g.expiry ? end : g.expiry);
        access.endsAt = endsAt;
        emit EmergencyAccessStarted(grantId, recordId, g.grantor, msg.sender, endsAt, window, reasonCode, reasonRef);
    }

    /// @inheritdoc IConsentRegistry
    function endEmergencyAccess(bytes32 grantId, bytes32 recordId) external {
        Grant storage g = _grants[grantId];
        address grantor = g.grantor;
        if (grantor == address(0)) revert GrantNotFound(grantId);
        if (g.flags & FLAG_BREAK_GLASS == 0) revert NotBreakGlassGrant(grantId);
        EmergencyAccess storage access = _emergencyAccesses[grantId][recordId];
        bool running = access.endsAt > block.timestamp;
        if (msg.sender == grantor || _holds(grantor, msg.sender, PERMISSION_REVOKE)) {
            if (access.halted) revert EmergencyAccessHalted(grantId, recordId);
            access.halted = true;
            // Keeps a non-zero "ended at" time so the view still tells that an access happened.
            if (running) {
                access.endsAt = uint32(block.timestamp);
                emit EmergencyAccessEnded(grantId, recordId, grantor, msg.sender);
            }
            emit BreakGlassHalted(grantId, recordId, grantor, msg.sender);
        } else {
            if (msg.sender != g.grantee) revert Unauthorized(msg.sender, grantor, PERMISSION_REVOKE);
            if (!running) revert EmergencyAccessNotActive(grantId, recordId);
            // The grantee closing its own window is no halt: it may open another, which counts as one more.
            access.endsAt = uint32(block.timestamp);
            emit EmergencyAccessEnded(grantId, recordId, grantor, msg.sender);
        }
    }

    /// @inheritdoc IConsentRegistry
    function reauthorizeBreakGlass(bytes32 grantId, bytes32 recordId) external {
        Grant storage g = _grants[grantId];
        address grantor = g.grantor;
        if (grantor == address(0)) revert GrantNotFound(grantId);
        if (g.flags & FLAG_BREAK_GLASS == 0) revert NotBreakGlassGrant(grantId);
        // Re-opening break-glass confers access as a grant does, so a delegate's term must cover the grant's.
        _authorizeGrant(msg.sender, grantor, g.expiry);
        EmergencyAccess storage access = _emergencyAccesses[grantId][recordId];
        if (!access.halted) revert EmergencyAccessNotHalted(grantId, recordId);
        access.halted = false;
        emit BreakGlassReauthorized(grantId, recordId, grantor, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IConsentRegistry
    function isAccessAllowed(bytes32 grantId, bytes32 recordId, address grantee, uint8 purpose)
        external
        view
        returns (bool)
    {
        return _access(grantId, recordId, grantee, purpose, false);
    }

    /// @inheritdoc IConsentRegistry
    function checkAccess(bytes32 grantId, bytes32 recordId, address grantee, uint8 purpose) external view {
        _access(grantId, recordId, grantee, purpose, true);
    }

    /// @inheritdoc IConsentRegistry
    function getGrant(bytes32 grantId) external view returns (Grant memory g) {
        g = _grants[grantId];
        if (g.grantor == address(0)) revert GrantNotFound(grantId);
        if (g.flags & FLAG_CANCELLED != 0) revert GrantIdCancelled(grantId);
    }

    /// @inheritdoc IConsentRegistry
    function grantIdOf(address grantor, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(grantor, salt));
    }

    /// @inheritdoc IConsentRegistry
    function nonces(address signer) external view returns (uint256) {
        return _nonces[signer];
    }

    /// @inheritdoc IConsentRegistry
    function breakGlassDuration(bytes32 grantId) external view returns (uint32) {
        return _breakGlass[grantId].maxDuration;
    }

    /// @inheritdoc IConsentRegistry
    function breakGlassWindowsOpened(bytes32 grantId) external view returns (uint16) {
        return _breakGlass[grantId].windowsOpened;
    }

    /// @inheritdoc IConsentRegistry
    function emergencyAccessEndsAt(bytes32 grantId, bytes32 recordId) external view returns (uint32) {
        return _emergencyAccesses[grantId][recordId].endsAt;
    }

    /// @inheritdoc IConsentRegistry
    function getEmergencyAccess(bytes32 grantId, bytes32 recordId) external view returns (EmergencyAccess memory) {
        return _emergencyAccesses[grantId][recordId];
    }

    /// @inheritdoc IConsentRegistry
    function proxyRegistry() external view returns (address) {
        return address(_proxyRegistry);
    }

    /// @inheritdoc IConsentRegistry
    function proxySetMembers(uint32 setId) external view returns (address[] memory) {
        address[] storage members = _proxySets[setId];
        if (members.length == 0) revert ProxySetNotFound(setId);
        return members;
    }

    /// @inheritdoc IConsentRegistry
    function proxySetSize(uint32 setId) external view returns (uint256) {
        return _proxySets[setId].length;
    }

    /// @inheritdoc IConsentRegistry
    function proxySetCount() external view returns (uint32) {
        return _proxySetCount;
    }

    /// @inheritdoc IConsentRegistry
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        // Recomputed after a chain fork so signatures for one chain never validate on the other.
        return block.chainid == _deployChainId ? _deployDomainSeparator : _buildDomainSeparator();
    }

    /// @notice EIP-5267 description of the EIP-712 domain, so wallets and viem can discover it.
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        )
    {
        return (hex"0f", "MedVault", "1", block.chainid, address(this), bytes32(0), new uint256[](0));
    }

    // ---------------------------------------------------------------- internals

    function _grant(address grantor, GrantParams calldata p, uint8 flags) private returns (bytes32 grantId) {
        if (p.grantee == address(0)) revert ZeroAddress("grantee");
        if (p.purpose == 0 || p.purpose > MAX_PURPOSE) revert InvalidPurpose(p.purpose);
        if (p.expiry <= block.timestamp) revert ExpiryNotInFuture(p.expiry, uint64(block.timestamp));
        if (p.expiry <= p.notBefore) revert InvalidValidity(p.notBefore, p.expiry);
        _checkCid(p.kfragsCid);
        uint256 proxies = _proxySets[p.proxySetId].length;
        if (proxies == 0) revert UnknownProxySet(p.proxySetId);
        if (p.threshold == 0 || p.threshold > proxies) revert InvalidThreshold(p.threshold, proxies);

        grantId = keccak256(abi.encode(grantor, p.salt));
        // One read of the record's first slot serves both checks; the flag is read only when the id is taken.
        if (_grants[grantId].grantor != address(0)) {
            if (_grants[grantId].flags & FLAG_CANCELLED != 0) revert GrantIdCancelled(grantId);
            revert GrantAlreadyExists(grantId);
        }

        ScopeKind kind = p.scopeKind;
        bytes32 target = p.scopeTarget;
        uint256 listed = p.records.length;
        if (kind == ScopeKind.Record) {
            if (listed != 0) revert InvalidScope(kind, target);
            _requireOwned(target, grantor);
        } else if (kind == ScopeKind.Tag) {
            if (target == bytes32(0) || target != bytes32(bytes8(target)) || listed != 0) {
                revert InvalidScope(kind, target);
            }
        } else if (kind == ScopeKind.Records) {
            if (target != bytes32(0)) revert InvalidScope(kind, target);
            if (listed == 0 || listed > MAX_RECORD_SET_SIZE) revert InvalidRecordSetSize(listed, MAX_RECORD_SET_SIZE);
            mapping(bytes32 => bool) storage members = _grantRecords[grantId];
            for (uint256 i = 0; i < listed; ++i) {
                bytes32 recordId = p.records[i];
                _requireOwned(recordId, grantor);
                members[recordId] = true;
            }
        } else if (kind == ScopeKind.All) {
            if (target != bytes32(0) || listed != 0) revert InvalidScope(kind, target);
        } else {
            revert InvalidScope(kind, target);
        }

        _storeGrant(
            _grants[grantId],
            Grant({
                grantor: grantor,
                notBefore: p.notBefore,
                expiry: p.expiry,
                threshold: p.threshold,
                scopeKind: kind,
                purpose: p.purpose,
                flags: flags,
                grantee: p.grantee,
                scopeKey: kind == ScopeKind.Record ? _recordKey(grantId, target) : bytes12(target)
            })
        );
        emit AccessGranted(
            grantId,
            grantor,
            p.grantee,
            kind,
            target,
            p.purpose,
            p.notBefore,
            p.expiry,
            p.threshold,
            p.proxySetId,
            p.kfragsCid
        );
        if (kind == ScopeKind.Records) emit GrantRecordsScoped(grantId, p.records);
    }

    /// @dev Writes the two slots of a new grant with one SSTORE each, laid out as the compiler lays out `Grant`
    /// (first slot: grantor, notBefore, expiry, threshold, scopeKind, purpose, flags from the low-order end;
    /// second: grantee, then scopeKey). A plain struct assignment stores the first slot field by field, a
    /// read-modify-write per field (~700 gas more). The layout is checked by the tests through {getGrant}.
    function _storeGrant(Grant storage slot, Grant memory g) private {
        uint256 first = uint256(uint160(g.grantor)) | (uint256(g.notBefore) << 160) | (uint256(g.expiry) << 192)
            | (uint256(g.threshold) << 224) | (uint256(uint8(g.scopeKind)) << 232) | (uint256(g.purpose) << 240)
            | (uint256(g.flags) << 248);
        uint256 second = uint256(uint160(g.grantee)) | (uint256(uint96(g.scopeKey)) << 160);
        assembly ("memory-safe") {
            sstore(slot.slot, first)
            sstore(add(slot.slot, 1), second)
        }
    }

    function _revoke(bytes32 grantId, address actor) private {
        Grant storage g = _grants[grantId];
        address grantor = g.grantor;
        if (grantor == address(0)) revert GrantNotFound(grantId);
        _authorize(actor, grantor, PERMISSION_REVOKE);
        uint8 flags = g.flags;
        if (flags & FLAG_CANCELLED != 0) revert GrantIdCancelled(grantId);
        if (flags & FLAG_REVOKED != 0) revert GrantRevoked(grantId);
        g.flags = flags | FLAG_REVOKED;
        emit AccessRevoked(grantId, grantor, g.grantee, actor);
    }

    /// @dev A Record scope's stored key. A bare 12-byte prefix of the id would let a grant cover every record
    /// of the grantor whose id starts the same way (left-padded counters all do); hashing with the grant id,
    /// which nobody knows before the grant exists, leaves only a 2^96 second-preimage search.
    function _recordKey(bytes32 grantId, bytes32 recordId) private pure returns (bytes12 key) {
        assembly ("memory-safe") {
            mstore(0x00, grantId)
            mstore(0x20, recordId)
            key := and(keccak256(0x00, 0x40), 0xffffffffffffffffffffffff0000000000000000000000000000000000000000)
        }
    }

    function _requireOwned(bytes32 recordId, address grantor) private view {
        address owner = _records[recordId].owner;
        if (owner == address(0)) revert RecordNotFound(recordId);
        if (owner != grantor) revert NotRecordOwner(recordId, owner, grantor);
    }

    /// @dev Checks the signer, the deadline and the signature; replay protection is the caller's (grant id or nonce).
    function _checkSignature(address signer, uint256 deadline, bytes32 structHash, bytes calldata sig) private view {
        if (signer == address(0)) revert ZeroAddress("signer");
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        bytes32 separator = DOMAIN_SEPARATOR();
        bytes32 digest;
        assembly ("memory-safe") {
            // keccak256("\x19\x01" ‖ separator ‖ structHash) in scratch space, no allocation.
            let m := mload(0x40)
            mstore(m, 0x1901000000000000000000000000000000000000000000000000000000000000)
            mstore(add(m, 0x02), separator)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
        if (!Signatures.isValid(signer, digest, sig)) revert InvalidSignature(signer);
    }

    /// @dev The signer is hashed in for the same reason as in `Revoke`: a grant signed for one contract wallet of
    /// an owner must not pass as signed by another wallet of that owner (say, one that is still a delegate).
    function _hashGrant(address grantor, address signer, GrantParams calldata p, uint256 deadline)
        private
        pure
        returns (bytes32 structHash)
    {
        // The EIP-712 struct hash written straight into scratch memory: two abi.encode halves joined by
        // bytes.concat cost ~1,000 gas more in copies and allocations. Every field is read through the ABI
        // decoder first (so dirty calldata reverts as it would anywhere else), then laid out as abi.encode would.
        bytes32 typehash = GRANT_TYPEHASH;
        // The records array and the CID are hashed from a copy past the free memory pointer, not from
        // abi.encodePacked / bytes memory copies that allocate (and later grow memory for the struct hash).
        // Reading `p.records` and `p.kfragsCid` checks that both lie within the calldata.
        bytes32[] calldata records = p.records;
        bytes calldata cid = p.kfragsCid;
        bytes32 recordsHash;
        bytes32 cidHash;
        assembly ("memory-safe") {
            let m := mload(0x40)
            let size := shl(5, records.length)
            calldatacopy(m, records.offset, size)
            recordsHash := keccak256(m, size)
            calldatacopy(m, cid.offset, cid.length)
            cidHash := keccak256(m, cid.length)
        }
        address grantee = p.grantee;
        uint8 kind = uint8(p.scopeKind);
        bytes32 target = p.scopeTarget;
        uint8 purpose = p.purpose;
        uint32 notBefore = p.notBefore;
        uint32 expiry = p.expiry;
        uint8 threshold = p.threshold;
        uint32 proxySetId = p.proxySetId;
        bytes32 salt = p.salt;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typehash)
            mstore(add(m, 0x20), grantor)
            mstore(add(m, 0x40), signer)
            mstore(add(m, 0x60), grantee)
            mstore(add(m, 0x80), kind)
            mstore(add(m, 0xa0), target)
            mstore(add(m, 0xc0), recordsHash)
            mstore(add(m, 0xe0), purpose)
            mstore(add(m, 0x100), notBefore)
            mstore(add(m, 0x120), expiry)
            mstore(add(m, 0x140), threshold)
            mstore(add(m, 0x160), proxySetId)
            mstore(add(m, 0x180), salt)
            mstore(add(m, 0x1a0), cidHash)
            mstore(add(m, 0x1c0), deadline)
            structHash := keccak256(m, 0x1e0)
        }
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    function _access(bytes32 grantId, bytes32 recordId, address grantee, uint8 purpose, bool strict)
        private
        view
        returns (bool)
    {
        Grant memory g = _grants[grantId];
        if (g.grantor == address(0)) {
            if (strict) revert GrantNotFound(grantId);
            return false;
        }
        if (g.flags & FLAG_CANCELLED != 0) {
            if (strict) revert GrantIdCancelled(grantId);
            return false;
        }
        if (grantee != g.grantee) {
            if (strict) revert GranteeMismatch(grantId, grantee);
            return false;
        }
        if (purpose != g.purpose) {
            if (strict) revert PurposeMismatch(grantId, purpose);
            return false;
        }
        if (!_checkValid(grantId, g, strict)) return false;
        if (!_checkScope(grantId, g, recordId, strict)) return false;
        if (g.flags & FLAG_BREAK_GLASS != 0 && _emergencyAccesses[grantId][recordId].endsAt <= block.timestamp) {
            if (strict) revert EmergencyAccessNotActive(grantId, recordId);
            return false;
        }
        return true;
    }

    function _checkValid(bytes32 grantId, Grant memory g, bool strict) private view returns (bool) {
        if (g.flags & FLAG_REVOKED != 0) {
            if (strict) revert GrantRevoked(grantId);
            return false;
        }
        if (block.timestamp < g.notBefore) {
            if (strict) revert GrantNotYetValid(grantId, g.notBefore);
            return false;
        }
        if (block.timestamp >= g.expiry) {
            if (strict) revert GrantExpired(grantId, g.expiry);
            return false;
        }
        return true;
    }

    function _checkScope(bytes32 grantId, Grant memory g, bytes32 recordId, bool strict) private view returns (bool) {
        Record memory record = _records[recordId];
        if (record.owner == address(0)) {
            if (strict) revert RecordNotFound(recordId);
            return false;
        }
        bool covered;
        if (record.owner == g.grantor) {
            ScopeKind kind = g.scopeKind;
            if (kind == ScopeKind.Record) covered = _recordKey(grantId, recordId) == g.scopeKey;
            else if (kind == ScopeKind.Tag) covered = record.tag != bytes8(0) && record.tag == bytes8(g.scopeKey);
            else if (kind == ScopeKind.Records) covered = _grantRecords[grantId][recordId];
            else covered = kind == ScopeKind.All;
        }
        if (!covered && strict) revert RecordOutOfScope(grantId, recordId);
        return covered;
    }
}
