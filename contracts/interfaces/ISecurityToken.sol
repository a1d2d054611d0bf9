// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Security, SecurityKind} from "../types/Security.sol";

/// @title ISecurityToken — DLT-CSD, the securities depository (F2)
/// @notice ERC-1155, one id per security, ids counted from 1. Listing by an issuer, issuance and
/// redemption by that security's issuer, a per-security trading halt by the operator. Every
/// movement is restricted to admitted holders. A halt is a trading halt: every subscribed venue
/// refuses orders in the security and no new units are issued, while the depository keeps
/// working (trades made before the halt settle, holders may transfer and redeem).
interface ISecurityToken {
    /// @notice A security was listed under `id`.
    event SecurityListed(uint256 indexed id, address indexed issuer, string symbol, bytes12 isin, SecurityKind kind);
    /// @notice `amount` units of `id` were issued to `to`.
    event SecuritiesIssued(uint256 indexed id, address indexed to, uint256 amount);
    /// @notice `amount` units of `id` held by `from` were redeemed.
    event SecuritiesRedeemed(uint256 indexed id, address indexed from, uint256 amount);
    /// @notice Trading in `id` was halted (`halted` true) or resumed.
    event TradingHaltChanged(uint256 indexed id, bool halted);
    /// @notice A venue was registered to receive halts.
    event SubscriberAdded(address indexed subscriber);

    /// @notice No security is listed under `id`.
    error UnknownSecurity(uint256 id);
    /// @notice Security `id` is halted.
    error SecurityHalted(uint256 id);
    /// @notice Only the issuer `issuer` of `id` may do this; `caller` is not it.
    error NotIssuer(uint256 id, address caller, address issuer);
    /// @notice Tick size and lot size must be positive.
    error InvalidTerms(uint64 tickSize, uint32 lotSize);
    /// @notice `caller` may not redeem the holdings of `holder`.
    error NotApprovedToRedeem(address holder, address caller);
    /// @notice No more than `max` subscribers may be registered.
    error TooManySubscribers(uint256 max);
    /// @notice Only SmartCCP's own contracts (system accounts in the register) take units into custody.
    error NotCustodian(address caller);
    /// @notice `id` has no maturity, or it is `maturity` and has not come yet.
    error NotMatured(uint256 id, uint64 maturity);
    /// @notice Units of `id` may not be issued or redeemed until its record date `date` passed.
    error RecordDatePending(uint256 id, uint48 date);

    /// @notice List a new security issued by the caller. Issuer role only.
    /// @return id The new security id.
    function listSecurity(
        string calldata symbol,
        bytes12 isin,
        SecurityKind kind,
        uint64 tickSize,
        uint32 lotSize,
        uint64 maturity
    ) external returns (uint256 id);
    /// @notice Issue `amount` units of `id` to `to`. The security's issuer only.
    function issue(uint256 id, address to, uint256 amount) external;
    /// @notice Redeem `amount` units of `id` held by `holder`: the holder itself, or its issuer
    /// when the holder approved it for all.
    function redeem(uint256 id, address holder, uint256 amount) external;
    /// @notice Halt or resume trading in `id` on this ledger and every subscribed venue. The operator;
    /// the guardian may halt only (emergency path).
    function setHalted(uint256 id, bool halted) external;
    /// @notice Move `amount` units of `id` from `from` into the caller's custody: what
    /// `safeTransferFrom(from, caller, id, amount, "")` does (the caller approved for all by
    /// `from`, the holder rules, `TransferSingle`), without the ERC-1155 acceptance call back to
    /// the caller, which is taking the units itself. SmartCCP's own contracts only (the CCP's pay-in).
    function pullToCustody(address from, uint256 id, uint256 amount) external;
    /// @notice Burn all of `holder`'s units of `id` once `id` has matured (its final redemption,
    /// paid by the caller against them); returns how many. Record role (`Distributions`).
    function burnMatured(uint256 id, address holder) external returns (uint256 units);
    /// @notice Add record date `date` (in the future, after the latest) to `id`; returns its
    /// ordinal. Balances at it are kept lazily (see RecordDates). Record role only.
    function addRecordDate(uint256 id, uint48 date) external returns (uint48 ordinal);
    /// @notice Register a venue that mirrors halts (at most MAX_SUBSCRIBERS). Operator only.
    function addSubscriber(address venue) external;
    /// @notice Reference data of `id`.
    function security(uint256 id) external view returns (Security memory);
    /// @notice Tick size, lot size and halt flag of `id`, for venues; reverts if unknown.
    function tradingTerms(uint256 id) external view returns (uint64 tickSize, uint32 lotSize, bool halted);
    /// @notice Units of `id` in existence.
    function totalSupply(uint256 id) external view returns (uint256);
    /// @notice Number of listed securities (ids are 1..count).
    function securityCount() external view returns (uint256);
}
