// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IAuditAnchors
/// @notice Registered proxies anchor Merkle roots of their signed access receipts; anyone holding a receipt can
/// prove that the proxy that signed it anchored it.
/// @dev Anchors are keyed by (proxy, root): each proxy's anchor of a root is its own, with its own count and time
/// range. Registering a proxy is open to anyone, so a root keyed alone could be taken by whoever sends it first
/// (copied from the mempool, with a forged count and time range) and the honest proxy's anchor would then fail;
/// keyed by proxy, another account's anchor of the same root neither blocks nor alters it. A verifier asks about
/// the proxy that signed the receipt ({getAnchor}, {verifyReceipt} take it), never "whoever anchored this root".
///
/// The tree (compatible with OpenZeppelin's MerkleProof and StandardMerkleTree layout):
/// - `receiptHash = keccak256(receipt)`, over the receipt's canonical bytes (defined by the proxy software);
/// - leaf = `keccak256(abi.encodePacked(receiptHash))`, i.e. the receipt bytes hashed twice: a leaf preimage is
///   32 bytes and an inner-node preimage 64 bytes, so no inner node can pose as a leaf (second-preimage safety);
/// - inner node = `keccak256(abi.encodePacked(a, b))` with `a <= b` (the pair is sorted as uint256 before
///   hashing), so a proof is just the sibling hashes from the leaf up, without left/right bits;
/// - a tree of one leaf has that leaf as its root (empty proof).
/// Any binary tree shape verifies; builders should use StandardMerkleTree's (leaves sorted, complete tree in an
/// array). Storage: one slot per (proxy, root): count, time range, anchoring time.
interface IAuditAnchors {
    /// @notice A proxy's anchored batch of receipts (one slot).
    /// @param count Receipts in the tree (never 0 for an anchor that exists).
    /// @param fromTime Unix time of the earliest receipt.
    /// @param toTime Unix time of the latest receipt.
    /// @param anchoredAt Block timestamp of the anchoring transaction.
    struct Anchor {
        uint32 count;
        uint32 fromTime;
        uint32 toTime;
        uint40 anchoredAt;
    }

    /// @notice A proxy anchored a receipt root.
    /// @param root The Merkle root.
    /// @param proxy The proxy operator that anchored it.
    /// @param count Receipts in the tree.
    /// @param fromTime Unix time of the earliest receipt.
    /// @param toTime Unix time of the latest receipt.
    event ReceiptsAnchored(
        bytes32 indexed root, address indexed proxy, uint32 count, uint32 fromTime, uint32 toTime
    );

    /// @notice The caller is not an active proxy in the ProxyRegistry.
    /// @param caller The calling account.
    error NotActiveProxy(address caller);

    /// @notice The root is zero.
    /// @param root The Merkle root.
    error InvalidRoot(bytes32 root);

    /// @notice This proxy already anchored this root.
    /// @param root The Merkle root.
    /// @param proxy The proxy operator (the caller).
    error RootAlreadyAnchored(bytes32 root, address proxy);

    /// @notice The receipt count is zero.
    /// @param count Receipts in the tree.
    error InvalidReceiptCount(uint32 count);

    /// @notice The time range is reversed or ends in the future.
    /// @param fromTime Unix time of the earliest receipt.
    /// @param toTime Unix time of the latest receipt.
    /// @param currentTime The block timestamp.
    error InvalidTimeRange(uint32 fromTime, uint32 toTime, uint64 currentTime);

    /// @notice This proxy never anchored this root.
    /// @param proxy The proxy operator.
    /// @param root The Merkle root.
    error AnchorNotFound(address proxy, bytes32 root);

    /// @notice An address parameter was the zero address.
    /// @param parameter The parameter's name.
    error ZeroAddress(string parameter);

    /// @notice Anchors a receipt root as the caller's; only an active proxy operator, once per root.
    /// @param root The Merkle root (non-zero, not anchored by the caller yet; other proxies' anchors of the same
    /// root do not matter).
    /// @param count Number of receipts (non-zero).
    /// @param fromTime Earliest receipt time; `fromTime <= toTime <= block.timestamp`.
    /// @param toTime Latest receipt time.
    function anchor(bytes32 root, uint32 count, uint32 fromTime, uint32 toTime) external;

    /// @notice The anchor of `root` by `proxy` (reverts with {AnchorNotFound}).
    /// @param proxy The proxy operator whose anchor to read (the one that signed the receipts).
    /// @param root The Merkle root.
    function getAnchor(address proxy, bytes32 root) external view returns (Anchor memory);

    /// @notice Whether the receipt with `receiptHash = keccak256(receipt)` is in the tree `root` that `proxy`
    /// anchored.
    /// @return False when `proxy` did not anchor `root` or the proof does not lead to it.
    /// @param proxy The proxy operator that signed the receipt.
    /// @param root The Merkle root.
    /// @param receiptHash keccak256 of the receipt bytes.
    /// @param proof Sibling hashes from the leaf up.
    function verifyReceipt(address proxy, bytes32 root, bytes32 receiptHash, bytes32[] calldata proof)
        external
        view
        returns (bool);

    /// @notice The leaf of a receipt: `keccak256(abi.encodePacked(receiptHash))`.
    /// @param receiptHash keccak256 of the receipt bytes.
    function leafOf(bytes32 receiptHash) external pure returns (bytes32);

    /// @notice The root that `proof` leads to from `leaf` (sorted-pair keccak256).
    /// @param leaf The leaf.
    /// @param proof Sibling hashes from the leaf up.
    function processProof(bytes32 leaf, bytes32[] calldata proof) external pure returns (bytes32);

    /// @notice The proxy registry whose active proxies may anchor.
    function proxyRegistry() external view returns (address);
}
