// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDelegateRegistry} from "./interfaces/IDelegateRegistry.sol";

/// @title DelegateRegistry
/// @notice See {IDelegateRegistry}. Abstract: deployed as part of `ConsentRegistry`.
abstract contract DelegateRegistry is IDelegateRegistry {
    uint8 internal constant PERMISSION_RECORDS = 1;
    uint8 internal constant PERMISSION_GRANT = 2;
    uint8 internal constant PERMISSION_REVOKE = 4;
    uint8 private constant ALL_PERMISSIONS = 7;

    mapping(address patient => mapping(address delegate => Delegation delegation)) private _delegations;

    /// @inheritdoc IDelegateRegistry
    function appointDelegate(address delegate, uint8 permissions, uint32 expiry) external {
        if (delegate == address(0)) revert ZeroAddress("delegate");
        if (delegate == msg.sender) revert SelfDelegation(msg.sender);
        if (permissions == 0 || permissions & ~ALL_PERMISSIONS != 0) revert InvalidPermissions(permissions);
        if (expiry <= block.timestamp) revert ExpiryNotInFuture(expiry, uint64(block.timestamp));
        _delegations[msg.sender][delegate] = Delegation(permissions, expiry);
        emit DelegateAppointed(msg.sender, delegate, permissions, expiry);
    }

    /// @inheritdoc IDelegateRegistry
    function removeDelegate(address delegate) external {
        if (_delegations[msg.sender][delegate].permissions == 0) revert DelegationNotFound(msg.sender, delegate);
        delete _delegations[msg.sender][delegate];
        emit DelegateRemoved(msg.sender, delegate);
    }

    /// @inheritdoc IDelegateRegistry
    function getDelegation(address patient, address delegate) external view returns (Delegation memory) {
        return _delegations[patient][delegate];
    }

    /// @inheritdoc IDelegateRegistry
    function isDelegate(address patient, address delegate, uint8 permissions) external view returns (bool) {
        return _holds(patient, delegate, permissions);
    }

    /// @dev Reverts with {Unauthorized} unless `actor` is `owner` or a live delegate of `owner` with `permission`.
    function _authorize(address actor, address owner, uint8 permission) internal view {
        if (actor != owner && !_holds(owner, actor, permission)) revert Unauthorized(actor, owner, permission);
    }

    /// @dev {_authorize} for a grant lasting until `grantExpiry`: a delegate's grants may not outlast the
    /// delegation, so an expired guardian leaves no access of its own making behind.
    function _authorizeGrant(address actor, address owner, uint32 grantExpiry) internal view {
        if (actor == owner) return;
        Delegation memory d = _delegations[owner][actor];
        if (d.permissions & PERMISSION_GRANT == 0 || block.timestamp >= d.expiry) {
            revert Unauthorized(actor, owner, PERMISSION_GRANT);
        }
        if (grantExpiry > d.expiry) revert GrantOutlivesDelegation(actor, grantExpiry, d.expiry);
    }

    /// @dev Whether `delegate` is a live delegate of `patient` with every bit of `permissions`.
    function _holds(address patient, address delegate, uint8 permissions) internal view returns (bool) {
        Delegation memory d = _delegations[patient][delegate];
        return permissions != 0 && d.permissions & permissions == permissions && block.timestamp < d.expiry;
    }
}
