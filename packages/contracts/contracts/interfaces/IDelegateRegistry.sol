// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IDelegateRegistry
/// @notice A patient appoints guardians (delegates) who may act on their behalf, within a scope and until an
/// expiry.
/// @dev Permissions are a bit mask: `1` = records (register records and add versions for the patient),
/// `2` = grant (create grants, including break-glass authorisations, whose grantor is the patient),
/// `4` = revoke (revoke the patient's grants and end emergency accesses). A delegation is valid while
/// `block.timestamp < expiry`. A delegate cannot appoint further delegates.
interface IDelegateRegistry {
    /// @notice A delegation as stored (one slot).
    /// @param permissions Bit mask of `1` records, `2` grant, `4` revoke.
    /// @param expiry Unix time (seconds) from which the delegation no longer holds.
    struct Delegation {
        uint8 permissions;
        uint32 expiry;
    }

    /// @notice A patient appointed (or re-appointed with new terms) a delegate.
    /// @param patient The patient.
    /// @param delegate The delegate.
    /// @param permissions Permission bit mask (1 records, 2 grant, 4 revoke).
    /// @param expiry Unix time from which it no longer holds.
    event DelegateAppointed(address indexed patient, address indexed delegate, uint8 permissions, uint32 expiry);

    /// @notice A patient removed a delegate before its expiry.
    /// @param patient The patient.
    /// @param delegate The delegate.
    event DelegateRemoved(address indexed patient, address indexed delegate);

    /// @notice The caller may not act for `owner`: it is neither `owner` nor a live delegate holding `permission`.
    /// @param caller The account that called (or signed).
    /// @param owner The account it tried to act for.
    /// @param permission The permission bit that was needed.
    error Unauthorized(address caller, address owner, uint8 permission);

    /// @notice An address parameter was the zero address.
    /// @param parameter The parameter's name.
    error ZeroAddress(string parameter);

    /// @notice A patient tried to appoint themself.
    /// @param patient The patient.
    error SelfDelegation(address patient);

    /// @notice The permission mask is 0 or has bits outside `1 | 2 | 4`.
    /// @param permissions Permission bit mask (1 records, 2 grant, 4 revoke).
    error InvalidPermissions(uint8 permissions);

    /// @notice A time that must lie in the future does not.
    /// @param timestamp The time given.
    /// @param currentTime The block timestamp.
    error ExpiryNotInFuture(uint64 timestamp, uint64 currentTime);

    /// @notice The patient has no delegation to this delegate.
    /// @param patient The patient.
    /// @param delegate The delegate.
    error DelegationNotFound(address patient, address delegate);

    /// @notice A delegate tried to grant access lasting beyond its own delegation: what a guardian confers
    /// ends with its term (the patient, granting directly, has no such cap).
    /// @param delegate The delegate.
    /// @param expiry The grant's expiry.
    /// @param delegationExpiry When the delegation ends.
    error GrantOutlivesDelegation(address delegate, uint32 expiry, uint32 delegationExpiry);

    /// @notice Appoints `delegate` for the caller, replacing any earlier terms.
    /// @param delegate The guardian.
    /// @param permissions Bit mask of `1` records, `2` grant, `4` revoke (non-zero).
    /// @param expiry Unix time after which the delegation lapses (must be in the future).
    function appointDelegate(address delegate, uint8 permissions, uint32 expiry) external;

    /// @notice Removes the caller's delegation to `delegate`.
    /// @param delegate The delegate.
    function removeDelegate(address delegate) external;

    /// @notice The stored delegation (zeroes when none).
    /// @param patient The patient.
    /// @param delegate The delegate.
    function getDelegation(address patient, address delegate) external view returns (Delegation memory);

    /// @notice Whether `delegate` may act for `patient` with every bit of `permissions` right now.
    /// @param patient The patient.
    /// @param delegate The delegate.
    /// @param permissions Permission bit mask (1 records, 2 grant, 4 revoke).
    function isDelegate(address patient, address delegate, uint8 permissions) external view returns (bool);
}
