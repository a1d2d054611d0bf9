// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IDistributions, Distribution} from "../interfaces/IDistributions.sol";
import {IRecordDates} from "../interfaces/IRecordDates.sol";
import {ICCPSettlement, CyclePhase} from "../interfaces/ICCPSettlement.sol";
import {ISecurityToken} from "../interfaces/ISecurityToken.sol";
import {Security} from "../types/Security.sol";

/// @title Distributions — coupons and dividends paid pull-based from record-date balances
/// @notice See IDistributions. Holds the escrowed cash of every declared distribution until its
/// holders claim it. Needs the depository's RECORD_ROLE and a system account in the register
/// (to hold cash).
contract Distributions is IDistributions, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using Checkpoints for Checkpoints.Trace208;

    ISecurityToken private immutable _securities;
    IERC20 private immutable _cash;
    /// @dev The CCP whose settlement lag sets the last trading day and whose last cycles must
    /// settle before redemption (zero: none).
    ICCPSettlement private immutable _ccp;

    mapping(uint256 id => Distribution[]) private _distributions;
    mapping(uint256 id => mapping(address holder => uint256)) private _claimed;
    /// @dev Per security, the cumulative amount per unit by record date (for market claims).
    mapping(uint256 id => Checkpoints.Trace208) private _cumulative;
    /// @dev Per security, the final redemption amount per unit (0: not declared).
    mapping(uint256 id => uint256) private _redemption;

    /// @param securities The depository (DLT-CSD).
    /// @param cash The cash ledger (DLT-PS) distributions are paid in.
    /// @param ccp The CCP clearing the securities (zero: none).
    constructor(address securities, address cash, address ccp) {
        (_securities, _cash, _ccp) = (ISecurityToken(securities), IERC20(cash), ICCPSettlement(ccp));
    }

    /// @inheritdoc IDistributions
    /// @dev O(1) in the number of holders: one record date on the depository, one slot here,
    /// one transfer of the escrow.
    function declare(uint256 id, uint48 recordDate, uint48 paymentDate, uint96 amountPerUnit)
        external
        nonReentrant
        returns (uint256 index)
    {
        Security memory s = _securities.security(id); // UnknownSecurity
        if (msg.sender != s.issuer) revert NotIssuer(id, msg.sender, s.issuer);
        if (s.halted) revert SecurityHalted(id);
        if (s.maturity != 0 && recordDate >= s.maturity) revert SecurityMatured(id, s.maturity);
        if (amountPerUnit == 0) revert ZeroAmount();
        Distribution[] storage all = _distributions[id];
        uint48 previous = all.length == 0 ? 0 : all[all.length - 1].paymentDate;
        if (paymentDate <= recordDate || paymentDate < previous) {
            revert BadPaymentDate(recordDate, paymentDate, previous);
        }
        uint256 escrowed = uint256(amountPerUnit) * _securities.totalSupply(id);
        uint48 ordinal = _securities.addRecordDate(id, recordDate); // BadRecordDate
        index = all.length;
        all.push(Distribution(amountPerUnit, ordinal, recordDate, paymentDate));
        _cumulative[id].push(recordDate, _cumulative[id].latest() + amountPerUnit);
        emit DistributionDeclared(id, index, recordDate, paymentDate, amountPerUnit, escrowed);
        _cash.safeTransferFrom(msg.sender, address(this), escrowed);
    }

    /// @inheritdoc IDistributions
    function claim(uint256 id, address holder, uint256 maxEvents) external nonReentrant returns (uint256 amount) {
        if (maxEvents == 0) revert BadParameter();
        if (holder == address(_ccp) && holder != address(0)) revert HolderIsCcp(holder);
        uint256 from = _claimed[id][holder];
        uint256 to;
        (amount, to) = _claimable(id, holder, from, maxEvents);
        if (to == from) revert NothingToClaim(id, holder);
        _claimed[id][holder] = to;
        emit DistributionClaimed(id, holder, from, to, amount);
        if (amount != 0) _cash.safeTransfer(holder, amount);
    }

    // ─── Maturity ────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDistributions
    /// @dev Needs the depository's GUARDIAN_ROLE (which may only halt).
    function stopTrading(uint256 id) external {
        uint256 last = _lastTradingTime(id);
        if (block.timestamp < last) revert TradingNotOver(id, last);
        _stopTrading(id, last);
    }

    /// @inheritdoc IDistributions
    function declareRedemption(uint256 id, uint96 amountPerUnit) external nonReentrant {
        address issuer = _securities.security(id).issuer;
        if (msg.sender != issuer) revert NotIssuer(id, msg.sender, issuer);
        if (amountPerUnit == 0) revert ZeroAmount();
        if (_redemption[id] != 0) revert RedemptionDeclaredAlready(id);
        uint256 last = _lastTradingTime(id);
        if (block.timestamp < last) revert TradingNotOver(id, last);
        uint256 escrowed = uint256(amountPerUnit) * _securities.totalSupply(id);
        _redemption[id] = amountPerUnit;
        emit RedemptionDeclared(id, amountPerUnit, escrowed);
        _stopTrading(id, last); // halts it on every venue if nobody did yet
        _cash.safeTransferFrom(msg.sender, address(this), escrowed);
    }

    /// @inheritdoc IDistributions
    function redeem(uint256 id, address holder) external nonReentrant returns (uint256 amount) {
        uint256 perUnit = _redemption[id];
        if (perUnit == 0) revert RedemptionNotDeclared(id);
        if (holder == address(_ccp) && holder != address(0)) revert HolderIsCcp(holder);
        uint256 units = _securities.burnMatured(id, holder); // NotMatured before maturity
        _requireSettled(id); // a revert here undoes the burn
        if (units == 0) revert NothingToRedeem(id, holder);
        amount = units * perUnit;
        emit Redeemed(id, holder, units, amount);
        _cash.safeTransfer(holder, amount);
    }

    /// @dev Halt `id` on every venue (its last trading time `last` has passed), unless halted.
    function _stopTrading(uint256 id, uint256 last) private {
        (,, bool halted) = _securities.tradingTerms(id);
        if (halted) return;
        emit TradingStopped(id, last);
        _securities.setHalted(id, true);
    }

    /// @dev Every cycle in which a trade of `id` made before its last trading time can settle
    /// (the cycles of the lag's days before maturity) has settled, or holds nothing.
    function _requireSettled(uint256 id) private view {
        if (address(_ccp) == address(0)) return;
        uint64 length = _ccp.cycleLength();
        uint64 maturityCycle = _securities.security(id).maturity / length;
        uint16 lag = _ccp.securityRules(id).settlementLag;
        for (uint64 c = maturityCycle > lag ? maturityCycle - lag - 1 : 0; c < maturityCycle; ++c) {
            (CyclePhase phase,, uint256 obligations,,) = _ccp.cycleInfo(c);
            if (obligations != 0 && phase != CyclePhase.Settled) revert SettlementPending(id, c);
        }
    }

    function _lastTradingTime(uint256 id) private view returns (uint256) {
        uint64 maturity = _securities.security(id).maturity;
        if (maturity == 0) revert NoMaturity(id);
        if (address(_ccp) == address(0)) return maturity;
        uint256 lagTime = uint256(_ccp.securityRules(id).settlementLag) * _ccp.cycleLength();
        return maturity > lagTime ? maturity - lagTime : 0;
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDistributions
    function lastTradingTime(uint256 id) external view returns (uint256) {
        return _lastTradingTime(id);
    }

    /// @inheritdoc IDistributions
    function redemptionOf(uint256 id) external view returns (uint256) {
        return _redemption[id];
    }

    /// @inheritdoc IDistributions
    function distributionCount(uint256 id) external view returns (uint256) {
        return _distributions[id].length;
    }

    /// @inheritdoc IDistributions
    function distribution(uint256 id, uint256 index) external view returns (Distribution memory) {
        return _distributions[id][index];
    }

    /// @inheritdoc IDistributions
    function amountPerUnitBetween(uint256 id, uint256 from, uint256 to) external view returns (uint256) {
        Checkpoints.Trace208 storage cum = _cumulative[id];
        if (to <= from || cum.length() == 0) return 0;
        return _cumulativeBefore(cum, to) - _cumulativeBefore(cum, from);
    }

    /// @inheritdoc IDistributions
    function claimed(uint256 id, address holder) external view returns (uint256) {
        return _claimed[id][holder];
    }

    /// @inheritdoc IDistributions
    function claimable(uint256 id, address holder, uint256 maxEvents) external view returns (uint256, uint256) {
        return _claimable(id, holder, _claimed[id][holder], maxEvents);
    }

    /// @dev The cumulative amount per unit of the record dates before `t`.
    function _cumulativeBefore(Checkpoints.Trace208 storage cum, uint256 t) private view returns (uint256) {
        return t == 0 ? 0 : cum.upperLookupRecent(SafeCast.toUint48(t - 1));
    }

    /// @dev Entitlements from distribution `from`, at most `maxEvents`, up to the first not yet
    /// payable (payment dates never decrease).
    function _claimable(uint256 id, address holder, uint256 from, uint256 maxEvents)
        internal
        view
        returns (uint256 amount, uint256 to)
    {
        Distribution[] storage all = _distributions[id];
        uint256 end = all.length - from < maxEvents ? all.length : from + maxEvents;
        IRecordDates records = IRecordDates(address(_securities));
        for (to = from; to < end; ++to) {
            Distribution memory d = all[to];
            if (d.paymentDate > block.timestamp) break;
            amount += uint256(d.amountPerUnit) * records.balanceAtRecord(id, holder, d.ordinal);
        }
    }
}
