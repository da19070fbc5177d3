// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAuditAnchors} from "./interfaces/IAuditAnchors.sol";
import {IProxyRegistry} from "./interfaces/IProxyRegistry.sol";

/// @title AuditAnchors
/// @notice See {IAuditAnchors}.
contract AuditAnchors is IAuditAnchors {
    IProxyRegistry private immutable _proxyRegistry;

    /// @dev Keyed by proxy first: another proxy's anchor of the same root is another entry (see {IAuditAnchors}).
    mapping(address proxy => mapping(bytes32 root => Anchor anchor)) private _anchors;

    /// @param proxyRegistry_ The ProxyRegistry whose active proxies may anchor.
    constructor(IProxyRegistry proxyRegistry_) {
        if (address(proxyRegistry_) == address(0)) revert ZeroAddress("proxyRegistry");
        _proxyRegistry = proxyRegistry_;
    }

    /// @inheritdoc IAuditAnchors
    function anchor(bytes32 root, uint32 count, uint32 fromTime, uint32 toTime) external {
        if (!_proxyRegistry.isActiveProxy(msg.sender)) revert NotActiveProxy(msg.sender);
        if (root == bytes32(0)) revert InvalidRoot(root);
        if (count == 0) revert InvalidReceiptCount(count);
        if (fromTime > toTime || toTime > block.timestamp) {
            revert InvalidTimeRange(fromTime, toTime, uint64(block.timestamp));
        }
        Anchor storage slot = _anchors[msg.sender][root];
        if (slot.count != 0) revert RootAlreadyAnchored(root, msg.sender);
        _anchors[msg.sender][root] = Anchor(count, fromTime, toTime, uint40(block.timestamp));
        emit ReceiptsAnchored(root, msg.sender, count, fromTime, toTime);
    }

    /// @inheritdoc IAuditAnchors
    function getAnchor(address proxy, bytes32 root) external view returns (Anchor memory a) {
        a = _anchors[proxy][root];
        if (a.count == 0) revert AnchorNotFound(proxy, root);
    }

    /// @inheritdoc IAuditAnchors
    function verifyReceipt(address proxy, bytes32 root, bytes32 receiptHash, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        return _anchors[proxy][root].count != 0 && processProof(leafOf(receiptHash), proof) == root;
    }

    /// @inheritdoc IAuditAnchors
    function leafOf(bytes32 receiptHash) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(receiptHash));
    }

    /// @inheritdoc IAuditAnchors
    function processProof(bytes32 leaf, bytes32[] calldata proof) public pure returns (bytes32 node) {
        node = leaf;
        for (uint256 i = 0; i < proof.length; ++i) {
            bytes32 sibling = proof[i];
            node = node < sibling
                ? keccak256(abi.encodePacked(node, sibling))
                : keccak256(abi.encodePacked(sibling, node));
        }
    }

    /// @inheritdoc IAuditAnchors
    function proxyRegistry() external view returns (address) {
        return address(_proxyRegistry);
    }
}
