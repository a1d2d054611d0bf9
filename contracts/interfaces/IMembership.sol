// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Member, MemberKind, MemberStatus, Segregation} from "../types/Member.sol";

/// @title IMembership — the register of admitted, KYC'd participants (F1)
/// @notice One register serves both ledgers (DLT-PS cash, DLT-CSD securities) and every venue.
/// Every change to an entry is pushed to the subscribers (both ledgers and every venue), which keep
/// a read-only copy so a restricted transfer or an order check costs storage reads, no external call.
/// Roles: `OPERATOR_ROLE` admits, renews KYC, reinstates and ports clients; `DEFAULT_MANAGER_ROLE`
/// (the operator and, later, the risk contracts) suspends and expels.
interface IMembership {
    // ─── Events ──────────────────────────────────────────────────────────────────────────────
    /// @notice An account was admitted (`segregation`: a client's account, else None).
    event MemberAdmitted(
        address indexed account,
        MemberKind kind,
        address indexed clearingMember,
        uint64 kycExpiry,
        Segregation segregation
    );
    /// @notice An account's KYC was renewed until `kycExpiry` (unix seconds).
    event KycRenewed(address indexed account, uint64 kycExpiry);
    /// @notice An account's status changed.
    event MemberStatusChanged(address indexed account, MemberStatus from, MemberStatus to);
    /// @notice A client was moved (ported) from one clearing member to another.
    event ClientPorted(address indexed client, address indexed fromClearingMember, address indexed toClearingMember);
    /// @notice `clearingMember` consents (or withdraws its consent) to take `client` by porting.
    event PortConsent(address indexed clearingMember, address indexed client, bool accepted);
    /// @notice `clearingMember` consents (or withdraws its consent) to take any client of
    /// `fromClearingMember` (a backup arrangement for that member's default).
    event PortConsentFrom(address indexed clearingMember, address indexed fromClearingMember, bool accepted);
    /// @notice A contract was registered to receive register updates.
    event SubscriberAdded(address indexed subscriber);

    // ─── Errors ──────────────────────────────────────────────────────────────────────────────
    /// @notice `account` is not in the register.
    error NotAdmitted(address account);
    /// @notice `account` is already in the register.
    error AlreadyAdmitted(address account);
    /// @notice `account`'s KYC expired at `expiredAt` (unix seconds).
    error KycExpired(address account, uint64 expiredAt);
    /// @notice `account` is suspended.
    error MemberSuspended(address account);
    /// @notice `account` has been expelled.
    error MemberExpelled(address account);
    /// @notice `account` is of kind `actual` where `expected` is required.
    error WrongMemberKind(address account, MemberKind expected, MemberKind actual);
    /// @notice A status change from `from` to `to` is not allowed.
    error InvalidStatusTransition(address account, MemberStatus from, MemberStatus to);
    /// @notice A KYC expiry at or before now.
    error KycExpiryInPast(uint64 kycExpiry);
    /// @notice The zero address was given.
    error ZeroAddress();
    /// @notice No more than `max` subscribers may be registered.
    error TooManySubscribers(uint256 max);
    /// @notice `toClearingMember` has not accepted to take `client` (neither that client nor every
    /// client of its current clearing member): nothing was ported.
    error PortNotAccepted(address client, address toClearingMember);
    /// @notice A batch of `length` exceeds the bound `max`.
    error BatchTooLarge(uint256 length, uint256 max);
    /// @notice A participant must be admitted with its account: individual, omnibus or house (a desk).
    error NoSegregation(address account);
    /// @notice `desk` trades for its member's house account: it is not a client, it is not ported.
    error DeskNotPortable(address desk);

    // ─── Admission and status ────────────────────────────────────────────────────────────────
    /// @notice Admit a clearing member, KYC-valid until `kycExpiry`.
    function admitClearingMember(address account, uint64 kycExpiry) external;
    /// @notice Admit a non-clearing participant as a client of `clearingMember`, its positions and
    /// collateral kept in its own account (`Individual`) or in the member's omnibus client account
    /// (`Omnibus`), kept when the client is ported; or a desk of `clearingMember` (`House`): a
    /// trading wallet of the member for its house account, never ported.
    function admitParticipant(address account, address clearingMember, uint64 kycExpiry, Segregation segregation)
        external;
    /// @notice Admit an institution (issuer, settlement bank): may hold assets, does not trade.
    function admitInstitution(address account, uint64 kycExpiry) external;
    /// @notice Register one of SmartCCP's own contracts as a system account (no KYC expiry).
    /// Admin only (the timelock, after its delay): a system account may move a suspended
    /// member's assets as an approved spender and trade without a signature or the risk gate.
    function registerSystem(address account) external;
    /// @notice Renew `account`'s KYC until `kycExpiry`.
    function renewKyc(address account, uint64 kycExpiry) external;
    /// @notice Suspend an active account: it may no longer trade, send or receive on its own.
    function suspend(address account) external;
    /// @notice Reinstate a suspended account.
    function reinstate(address account) external;
    /// @notice Expel an account (after a default). Final.
    function expel(address account) external;
    /// @notice Move a client to another active clearing member, which must have accepted it
    /// (`acceptPort`, consumed) or every client of the client's current member
    /// (`acceptPortsFrom`); else `PortNotAccepted`. The operator (and the default fund, on a
    /// default), or the client itself when it asks to change clearing member. The client's
    /// margin account goes with it (Margin: an individual account whole; an omnibus client to
    /// the new member's omnibus account).
    function portClient(address client, address toClearingMember) external;
    /// @notice The caller, an active clearing member, accepts (or no longer accepts) to take
    /// `client` if it is ported; the consent is used up by the port.
    function acceptPort(address client, bool accepted) external;
    /// @notice The caller, an active clearing member, accepts (or no longer accepts) to take any
    /// client of `fromClearingMember`: how a backup member agrees to take a defaulter's clients.
    function acceptPortsFrom(address fromClearingMember, bool accepted) external;
    /// @notice True if `toClearingMember` has accepted to take `client` now.
    function portAccepted(address client, address toClearingMember) external view returns (bool);

    // ─── Subscribers ─────────────────────────────────────────────────────────────────────────────
    /// @notice Register a contract (a ledger or a venue) that mirrors the register.
    function addSubscriber(address subscriber) external;
    /// @notice Push the current entries of `accounts` to every subscriber again (bounded batch).
    function resync(address[] calldata accounts) external;

    // ─── Views ───────────────────────────────────────────────────────────────────────────────
    /// @notice The register entry of `account` (all zero if not admitted).
    function memberOf(address account) external view returns (Member memory);
    /// @notice True if `account` is active and its KYC is valid now.
    function isActive(address account) external view returns (bool);
    /// @notice Revert with the precise reason unless `account` is active and KYC-valid.
    function checkActive(address account) external view;
    /// @notice The clearing member that clears for `account` (itself for a clearing member).
    function clearingMemberOf(address account) external view returns (address);
    /// @notice The registered subscribers.
    function subscribers() external view returns (address[] memory);
}
