// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ICCPSettlement, CyclePhase, MovedObligation, OpenObligation, SecurityRules} from "../interfaces/ICCPSettlement.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";
import {IDefaultHandler} from "../interfaces/IDefaultHandler.sol";
import {IDistributions} from "../interfaces/IDistributions.sol";
import {IInterestSource} from "../interfaces/IInterestSource.sol";
import {ISettlement} from "../interfaces/ISettlement.sol";
import {Entry, NettingLib, Position, Shortfall} from "../libraries/NettingLib.sol";
import {InterestMath} from "../libraries/InterestMath.sol";
import {MemberKind} from "../types/Member.sol";
import {Route, Settle} from "../types/Settle.sol";
import {CCPBase} from "./CCPBase.sol";
import {CCPCycleSettlement} from "./CCPCycleSettlement.sol";

/// @title CCPSettlement — novation, multilateral netting per cycle, DVP, sell-out and buy-in (F6, F7)
/// @notice See ICCPSettlement for the routes, the cycle rule, the three settlement passes and
/// what the chain still reveals about counterparties. This contract is a registered system
/// account of the membership register, so it may hold cash and securities and move a suspended
/// member's assets as an approved spender.
/// Layout: CCPBase (storage, pay-out) <- this contract (venues, novation, pre-funding, views);
/// the settlement passes run in CCPCycleSettlement (CCPBase <- CCPCloseOut <- it), by delegatecall.
/// @dev After every settled cycle the pool (token balances minus custody) is zero unless a
/// close-out left an uncovered shortfall (see `ShortfallCharged`).
contract CCPSettlement is CCPBase, ICCPSettlement {
    using NettingLib for Position;
    using SafeERC20 for IERC20;

    /// @notice Lists securities for clearing and makes their rules stricter (looser rules, the
    /// close-out market, the liquidation market and the default handler are the admin's).
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Trade venues allowed to hand instructions to `settle`.
    bytes32 public constant VENUE_ROLE = keccak256("VENUE_ROLE");
    /// @notice The default-management contract: moves a defaulter's open obligations to its
    /// case and from there to an auction's winners.
    bytes32 public constant DEFAULT_MANAGEMENT_ROLE = keccak256("DEFAULT_MANAGEMENT_ROLE");

    /// @dev The cycle settlement module this contract created (see `settleCycle`).
    address private immutable _cycleSettlement;

    /// @param membership_ The membership register (this contract must be registered as system).
    /// @param cash_ DLT-PS cash token.
    /// @param securities_ DLT-CSD security token.
    /// @param operator Receives the admin and operator roles.
    /// @param cycleLength_ Seconds per settlement cycle (86,400 = one settlement date per day).
    constructor(address membership_, address cash_, address securities_, address operator, uint64 cycleLength_)
        CCPBase(membership_, cash_, securities_, cycleLength_)
    {
        if (operator == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
        _cycleSettlement = address(new CCPCycleSettlement(membership_, cash_, securities_, cycleLength_));
    }

    // ─── Operator and admin ──────────────────────────────────────────────────────────────────

    /// @inheritdoc ICCPSettlement
    /// @dev The admin (the timelock) may set any rules; the operator a security's first rules
    /// (a listing) or stricter ones only. Not on a hot path: `settle` reads the rules as before.
    function setSecurityRules(uint256 securityId, SecurityRules calldata rules) external {
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            _checkRole(OPERATOR_ROLE);
            if (!_stricterOrFirst(_rules[securityId], rules)) revert RulesChangeNeedsAdmin(securityId);
        }
        if (
            securityId == 0 || securityId > type(uint88).max || rules.settlementLag > MAX_SETTLEMENT_LAG
                || rules.closeOutBandBps > BPS || rules.failRolls > MAX_SETTLEMENT_LAG
        ) revert InvalidRules(securityId, rules.settlementLag, rules.closeOutBandBps);
        _rules[securityId] = rules;
        // The lag again in the packed word the margin revaluation reads (byte securityId % 32).
        uint256 shift = (securityId & 31) << 3;
        uint256 others = _lags[securityId >> 5] & ~(uint256(0xff) << shift);
        _lags[securityId >> 5] = others | uint256(rules.settlementLag) << shift;
        emit SecurityRulesSet(securityId, rules);
    }

    /// @dev True for a security never given rules (all fields zero), or for `next` at least as
    /// strict as `cur`: clearing may stop, not start; naked shorts may be barred, not allowed;
    /// pre-funded classes may be added, not removed; failed deliveries may roll fewer times (be
    /// bought in sooner), not more; lag and close-out band unchanged.
    function _stricterOrFirst(SecurityRules memory cur, SecurityRules calldata next) private pure returns (bool) {
        if (!cur.cleared && !cur.noNakedShort && cur.prefundClasses == 0 && cur.settlementLag == 0
                && cur.closeOutBandBps == 0 && cur.failRolls == 0) return true;
        return (cur.cleared || !next.cleared) && (!cur.noNakedShort || next.noNakedShort)
            && cur.prefundClasses & ~next.prefundClasses == 0 && next.settlementLag == cur.settlementLag
            && next.closeOutBandBps == cur.closeOutBandBps && next.failRolls <= cur.failRolls;
    }

    /// @inheritdoc ICCPSettlement
    function setLiquidationMarket(address market) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _liquidationMarket = market;
        emit LiquidationMarketSet(market);
    }

    /// @inheritdoc ICCPSettlement
    function setCloseOutMarket(address market) external onlyRole(DEFAULT_ADMIN_ROLE) {
        address old = address(_market);
        _market = ICloseOutMarket(market);
        emit CloseOutMarketSet(market);
        if (old != address(0)) _securities.setApprovalForAll(old, false);
        if (market != address(0)) _securities.setApprovalForAll(market, true);
    }

    /// @inheritdoc ICCPSettlement
    function setDefaultHandler(address handler) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _handler = IDefaultHandler(handler);
        emit DefaultHandlerSet(handler);
    }

    /// @inheritdoc ICCPSettlement
    function setDistributions(address distributions) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _distributions = IDistributions(distributions);
        emit DistributionsSet(distributions);
    }

    // ─── Venues: direct settlement and novation ──────────────────────────────────────────────

    /// @inheritdoc ISettlement
    /// @dev Guarded against re-entry, with one exception: while pass 2 waits on the close-out
    /// market or on the default handler (`_awaitingMarket`, inside `settleCycle`), a venue may
    /// hand back a Direct trade the close-out market or the liquidation market is party to: its
    /// sell-out, buy-in or collateral sale filling on the book. That trade only moves assets
    /// between the market and the maker; it touches no cycle state.
    function settle(Settle calldata s) external {
        if (!_reentrancyGuardEntered()) return _settleGuarded(s);
        if (!_awaitingMarket || s.route != Route.Direct || !(_isMarket(s.buyer) || _isMarket(s.seller))) {
            revert ReentrancyGuardReentrantCall();
        }
        _settle(s);
    }

    /// @dev The close-out market or the risk layer's liquidation market (never the zero address).
    function _isMarket(address party) private view returns (bool) {
        return party != address(0) && (party == address(_market) || party == _liquidationMarket);
    }

    function _settleGuarded(Settle calldata s) private nonReentrant {
        _settle(s);
    }

    /// @dev A venue's instruction is taken as the venue numbered it: trade ids are unique per
    /// venue by the venue's construction (see ITradeVenue.Traded), and the CCP keeps no copy of
    /// the last one, which would cost a storage write per trade. The instruction is copied to
    /// memory once (each calldata field read would be decoded and checked again).
    function _settle(Settle calldata sc) private {
        if (!hasRole(VENUE_ROLE, msg.sender)) revert UnauthorisedVenue(msg.sender);
        Settle memory s = sc;
        if (s.quantity == 0) revert ZeroQuantity(s.tradeId);
        if (s.price == 0) revert ZeroPrice(s.tradeId);
        if (s.buyer == address(0) || s.seller == address(0)) revert ZeroAddress();
        if (s.buyer == s.seller) revert SelfTrade(s.tradeId, s.buyer);
        (bool ok, uint256 expected) = _tryMul(s.quantity, s.price);
        if (!ok || s.cashAmount != expected) revert CashAmountMismatch(s.tradeId, s.cashAmount, expected);
        if (s.route == Route.Direct) _settleDirect(s);
        else _novate(s);
    }

    /// @dev Gross DVP at once; any failing leg reverts the whole match. Both parties must be
    /// active: as a system account the CCP could otherwise move a suspended member's assets.
    function _settleDirect(Settle memory s) private {
        _membership.checkActive(s.buyer);
        _membership.checkActive(s.seller);
        emit TradeSettledDirect(msg.sender, s.tradeId, s.buyer, s.seller, s.securityId, s.quantity, s.cashAmount);
        _cash.safeTransferFrom(s.buyer, s.seller, s.cashAmount);
        _securities.safeTransferFrom(s.seller, s.buyer, s.securityId, s.quantity, "");
    }

    /// @dev Novation: two legs against the CCP, netted at once into the packed positions.
    function _novate(Settle memory s) private {
        SecurityRules memory r = _rules[s.securityId];
        if (!r.cleared) revert SecurityNotCleared(s.securityId);
        uint64 cycleId = s.deadline / _cycleLength;
        uint64 today = uint64(block.timestamp / _cycleLength);
        if (cycleId < today + r.settlementLag || cycleId > today + MAX_SETTLEMENT_LAG) {
            revert SettlementCycleOutOfRange(
                s.securityId, cycleId, today + r.settlementLag, today + MAX_SETTLEMENT_LAG
            );
        }
        NettingLib.checkSize(s.quantity, s.cashAmount);
        if (r.prefundClasses != 0) _reserveCash(s.buyer, r.prefundClasses, s.cashAmount);

        // Casts are safe: checkSize bounded both below 2^127.
        int256 q = int256(s.quantity);
        int256 c = int256(s.cashAmount);
        mapping(address => Position) storage book = _positions[cycleId][s.securityId];
        if (book[s.buyer].book(q, -c)) _list(cycleId, s.buyer, s.securityId);
        Position storage sellerPosition = book[s.seller];
        if (sellerPosition.book(-q, c)) _list(cycleId, s.seller, s.securityId);
        if (r.noNakedShort) _requireCovered(s.seller, s.securityId, sellerPosition.quantity, 0);

        emit TradeNovated(_legId(s.tradeId, 0), s.buyer, s.securityId, q, -c, cycleId);
        emit TradeNovated(_legId(s.tradeId, 1), s.seller, s.securityId, -q, c, cycleId);
    }

    /// @dev Full cash pre-funding for buyers of the classes in `classes`: the gross cash of
    /// their buys is reserved against their pre-funded cash until their obligations are paid in.
    function _reserveCash(address buyer, uint8 classes, uint256 amount) private {
        MemberKind kind = _membership.memberOf(buyer).kind;
        if (classes & (1 << uint8(kind)) == 0) return;
        Funds storage f = _funds[buyer];
        uint256 required = f.reserved + amount;
        if (required > f.cash) revert CashNotPrefunded(buyer, required, f.cash);
        f.reserved = SafeCast.toUint96(required);
        CashLeg storage leg = _cashLegs[buyer];
        if (leg.flags & RESERVING == 0) leg.flags |= RESERVING; // pass 1b releases it with the last obligation
    }

    /// @dev No naked short sale: a net delivery of `-netQuantity + extra` must be covered by
    /// the seller's wallet and pre-funded balance.
    function _requireCovered(address seller, uint256 securityId, int256 netQuantity, uint256 extra) private view {
        int256 after_ = netQuantity - SafeCast.toInt256(extra);
        if (after_ >= 0) return;
        uint256 required = uint256(-after_);
        uint256 available = _prefundSecurities[seller][securityId] + _securities.balanceOf(seller, securityId);
        if (required > available) revert NakedShortSale(seller, securityId, required, available);
    }

    /// @dev Leg ids: opaque per leg, unique because a venue's trade ids are.
    function _legId(uint256 tradeId, uint256 side) private view returns (bytes32) {
        return keccak256(abi.encode(msg.sender, tradeId, side));
    }

    // ─── Default management ──────────────────────────────────────────────────────────────────

    /// @inheritdoc ICCPSettlement
    function moveObligation(
        uint64 cycleId,
        uint256 securityId,
        address from,
        address to,
        int256 quantity,
        int256 cashAmount
    ) external onlyRole(DEFAULT_MANAGEMENT_ROLE) nonReentrant {
        CyclePhase phase = _cycles[cycleId].phase;
        if (phase != CyclePhase.Open) revert CycleNotOpen(cycleId, phase);
        if (!_positions[cycleId][securityId][from].listed) revert NoObligation(cycleId, securityId, from);
        _move(cycleId, securityId, from, to, quantity, cashAmount);
    }

    /// @inheritdoc ICCPSettlement
    function takeOverObligations(address from, address to, uint256 securityId)
        external
        onlyRole(DEFAULT_MANAGEMENT_ROLE)
        nonReentrant
        returns (MovedObligation[] memory moved)
    {
        uint256 today = block.timestamp / _cycleLength;
        uint256 first = today == 0 ? 0 : today - 1;
        uint256 last = today + _lagOf(securityId);
        moved = new MovedObligation[](last + 1 - first);
        uint256 n;
        for (uint256 c = first; c <= last; ++c) {
            uint64 cycleId = uint64(c);
            if (_cycles[cycleId].phase != CyclePhase.Open) continue;
            Position memory p = _positions[cycleId][securityId][from];
            if (p.quantity == 0 && p.cash == 0) continue;
            _move(cycleId, securityId, from, to, p.quantity, p.cash);
            moved[n++] = MovedObligation(cycleId, p.quantity, p.cash);
        }
        assembly ("memory-safe") {
            mstore(moved, n)
        }
    }

    // ─── Compression ─────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ICCPSettlement
    /// @dev O(1): the receipt's position is flagged (`kept`, in its own slot: settlement reads
    /// `_kept` only for a flagged position) and two counters move.
    function compress(address account, uint256 securityId, uint64 receiveCycle, uint64 deliverCycle)
        external
        nonReentrant
        returns (uint256 quantity)
    {
        if (msg.sender != account && msg.sender != _payerOf(account) && !hasRole(OPERATOR_ROLE, msg.sender)) {
            revert NotCompressor(msg.sender, account);
        }
        if (receiveCycle >= deliverCycle) revert NothingToCompress(account, securityId, receiveCycle, deliverCycle);
        for (uint256 i; i < 2; ++i) {
            uint64 cycleId = i == 0 ? receiveCycle : deliverCycle;
            CyclePhase phase = _cycles[cycleId].phase;
            if (phase != CyclePhase.Open) revert CycleNotOpen(cycleId, phase);
        }
        // A declared record date still to come could find the kept units in the CCP's custody
        // (entitled in its name, not the account's): compression waits until it has passed.
        if (
            address(_distributions) != address(0)
                && _distributions.amountPerUnitBetween(securityId, block.timestamp, type(uint48).max) != 0
        ) revert RecordDateAhead(securityId);
        Position storage receipt = _positions[receiveCycle][securityId][account];
        int256 receives = int256(receipt.quantity) - int256(_kept[receiveCycle][securityId][account]);
        int256 delivers =
            -int256(_positions[deliverCycle][securityId][account].quantity) - int256(_keptFor[deliverCycle][securityId][account]);
        if (receives <= 0 || delivers <= 0) revert NothingToCompress(account, securityId, receiveCycle, deliverCycle);
        quantity = uint256(receives < delivers ? receives : delivers);
        _kept[receiveCycle][securityId][account] += quantity;
        _keptFor[deliverCycle][securityId][account] += quantity;
        if (!receipt.kept) receipt.kept = true;
        emit ObligationsCompressed(account, securityId, receiveCycle, deliverCycle, quantity);
    }

    /// @inheritdoc ICCPSettlement
    function compressed(uint64 cycleId, uint256 securityId, address account)
        external
        view
        returns (uint256 keptFromReceipt, uint256 keptForDelivery)
    {
        return (_kept[cycleId][securityId][account], _keptFor[cycleId][securityId][account]);
    }

    /// @dev Book `-(quantity, cash)` on `from` (listed) and `+(quantity, cash)` on `to`
    /// (listed if new): the cycle's sums do not change.
    function _move(uint64 cycleId, uint256 securityId, address from, address to, int256 quantity, int256 cashAmount)
        private
    {
        if (to == address(0) || to == from) revert ZeroAddress();
        mapping(address => Position) storage book = _positions[cycleId][securityId];
        book[from].book(-quantity, -cashAmount);
        if (book[to].book(quantity, cashAmount)) _list(cycleId, to, securityId);
        emit ObligationMoved(cycleId, securityId, from, to, quantity, cashAmount);
    }

    // ─── Settlement of a cycle ───────────────────────────────────────────────────────────────

    /// @inheritdoc ICCPSettlement
    /// @dev Runs in the cycle settlement module (CCPCycleSettlement) by delegatecall, on this
    /// contract's storage; the re-entrancy guard is this contract's, so a venue's close-out fill
    /// coming back to `settle` sees it.
    function settleCycle(uint64 cycleId, uint256 maxSteps) external nonReentrant returns (bool done) {
        (bool ok, bytes memory ret) =
            _cycleSettlement.delegatecall(abi.encodeCall(CCPCycleSettlement.settleCycle, (cycleId, maxSteps)));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return abi.decode(ret, (bool));
    }

    // ─── Pre-funding ─────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ICCPSettlement
    function prefundCash(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        _accrue(msg.sender, uint256(_funds[msg.sender].cash) + amount);
        _funds[msg.sender].cash += SafeCast.toUint128(amount);
        _custodyCash += amount;
        emit CashPrefunded(msg.sender, SafeCast.toInt256(amount));
        _cash.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc ICCPSettlement
    function claimPrefundInterest() external nonReentrant returns (uint256 amount) {
        IInterestSource source = _interestSource;
        Earning memory e = _prefundEarnings[msg.sender];
        if (address(source) != address(0)) e = _accrued(msg.sender, source.interestIndex());
        amount = e.accrued;
        if (amount == 0) revert NoInterestAccrued(msg.sender);
        (e.accrued, e.base) = (0, SafeCast.toUint96(_funds[msg.sender].cash));
        _prefundEarnings[msg.sender] = e; // paid, unless the transfer below fails
        address payer = address(source) == address(0) ? address(0) : source.interestPayer();
        if (payer != address(0) && SafeERC20.trySafeTransferFrom(_cash, payer, msg.sender, amount)) {
            emit PrefundInterestPaid(msg.sender, amount);
            return amount;
        }
        _prefundEarnings[msg.sender].accrued = uint96(amount); // back on the books
        emit PrefundInterestUnpaid(msg.sender, amount);
        return 0;
    }

    /// @inheritdoc ICCPSettlement
    function setInterestSource(address source) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _interestSource = IInterestSource(source);
        emit InterestSourceSet(source);
    }

    /// @dev A touch of `account`'s pre-funded cash (leaving it at `cashAfter`): interest to now
    /// booked, and the new balance booked as the next period's base.
    function _accrue(address account, uint256 cashAfter) private {
        IInterestSource source = _interestSource;
        if (address(source) == address(0)) return;
        Earning memory e = _accrued(account, source.interestIndex());
        e.base = SafeCast.toUint96(cashAfter);
        _prefundEarnings[account] = e;
    }

    /// @dev `account`'s earning accrued to the source's `index` (not stored): the smaller of the
    /// pre-funded cash booked at the last touch and now, times the index's growth since, over
    /// the index then, rounded down (against the member).
    function _accrued(address account, uint256 index) private view returns (Earning memory e) {
        e = _prefundEarnings[account];
        if (e.index != 0 && index > e.index) {
            uint256 base = _funds[account].cash;
            if (e.base < base) base = e.base;
            e.accrued = InterestMath.accrue(e.accrued, base, e.index, index);
        }
        e.index = SafeCast.toUint64(index);
    }

    /// @inheritdoc ICCPSettlement
    function prefundSecurities(uint256 securityId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        _prefundSecurities[msg.sender][securityId] += amount;
        _custodySecurities[securityId] += amount;
        emit SecuritiesPrefunded(msg.sender, securityId, SafeCast.toInt256(amount));
        _securities.safeTransferFrom(msg.sender, address(this), securityId, amount, "");
    }

    /// @inheritdoc ICCPSettlement
    function withdrawCash(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 open = _cashLegs[msg.sender].openObligations;
        if (open != 0) revert PrefundLocked(msg.sender, open);
        Funds memory f = _funds[msg.sender];
        if (f.cash < amount) revert InsufficientPrefund(msg.sender, f.cash, amount);
        _accrue(msg.sender, f.cash - amount);
        // Cast is safe: amount <= f.cash (uint128).
        _funds[msg.sender].cash = f.cash - uint128(amount);
        _custodyCash -= amount;
        emit CashPrefunded(msg.sender, -SafeCast.toInt256(amount));
        _cash.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc ICCPSettlement
    function withdrawSecurities(uint256 securityId, uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 open = _cashLegs[msg.sender].openObligations;
        if (open != 0) revert PrefundLocked(msg.sender, open);
        uint256 held = _prefundSecurities[msg.sender][securityId];
        if (held < amount) revert InsufficientPrefund(msg.sender, held, amount);
        _prefundSecurities[msg.sender][securityId] = held - amount;
        _custodySecurities[securityId] -= amount;
        emit SecuritiesPrefunded(msg.sender, securityId, -SafeCast.toInt256(amount));
        _securities.safeTransferFrom(address(this), msg.sender, securityId, amount, "");
    }

    /// @notice Accept ERC-1155 units only from transfers the CCP made itself (pay-in,
    /// pre-funding) or from its close-out market (buy-in); anything else would be untracked.
    function onERC1155Received(address operator, address, uint256, uint256, bytes memory)
        public
        view
        override
        returns (bytes4)
    {
        if (operator != address(this) && operator != address(_market)) revert UnexpectedTransfer(operator);
        return this.onERC1155Received.selector;
    }

    /// @notice Batch transfers follow the same rule as single ones.
    function onERC1155BatchReceived(address operator, address, uint256[] memory, uint256[] memory, bytes memory)
        public
        view
        override
        returns (bytes4)
    {
        if (operator != address(this) && operator != address(_market)) revert UnexpectedTransfer(operator);
        return this.onERC1155BatchReceived.selector;
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ICCPSettlement
    function cycleLength() external view returns (uint64) {
        return _cycleLength;
    }

    /// @inheritdoc ICCPSettlement
    function rolledFails(uint64 cycleId, uint256 securityId, address account)
        external
        view
        returns (uint8 age, uint256 undeliveredUnits, uint256 rolledInCash)
    {
        return (_failAges[cycleId][securityId][account], _undelivered[cycleId][securityId].units,
            _cycles[cycleId].rolledInCash);
    }

    /// @inheritdoc ICCPSettlement
    function interestSource() external view returns (address) {
        return address(_interestSource);
    }

    /// @inheritdoc ICCPSettlement
    function prefundInterestOf(address account) external view returns (uint256) {
        IInterestSource source = _interestSource;
        if (address(source) == address(0)) return _prefundEarnings[account].accrued;
        return _accrued(account, source.interestIndex()).accrued;
    }

    /// @inheritdoc ICCPSettlement
    function cycleOf(uint64 deadline) external view returns (uint64) {
        return deadline / _cycleLength;
    }

    /// @inheritdoc ICCPSettlement
    function settlementCycle(uint256 securityId) external view returns (uint64 cycleId, uint64 deadline) {
        cycleId = uint64(block.timestamp / _cycleLength) + _rules[securityId].settlementLag;
        deadline = _settlesFrom(cycleId) - 1;
    }

    /// @inheritdoc ICCPSettlement
    function cycleInfo(uint64 cycleId)
        external
        view
        returns (CyclePhase phase, uint256 cursor, uint256 obligations, uint256 failures, uint64 settlesFrom)
    {
        Cycle memory c = _cycles[cycleId];
        return (c.phase, c.cursor, _obligations[cycleId].length, _failures[cycleId].length, _settlesFrom(cycleId));
    }

    /// @inheritdoc ICCPSettlement
    function obligation(uint64 cycleId, uint256 securityId, address account)
        external
        view
        returns (int256 quantity, int256 cashAmount)
    {
        Position memory p = _positions[cycleId][securityId][account];
        return (p.quantity, p.cash);
    }

    /// @inheritdoc ICCPSettlement
    /// @dev Bounded by the length of `securityIds` (the caller's page) times each security's
    /// lag + 2 cycles. Per security: its lag (one slot per 32 consecutive ids) and its position
    /// slot in each open cycle;
    /// the phases of the cycles `[today - 1, today + lag]` are read once per call (two bitmaps:
    /// bit `k` for cycle `today - 1 + k`, read and open).
    function unsettledObligationsOf(address account, uint256[] calldata securityIds)
        external
        view
        returns (OpenObligation[] memory open)
    {
        uint256 today = block.timestamp / _cycleLength;
        uint256 first = today == 0 ? 0 : today - 1;
        uint256 read;
        uint256 live;
        open = new OpenObligation[](securityIds.length);
        for (uint256 i; i < securityIds.length; ++i) {
            uint256 securityId = securityIds[i];
            uint256 trading = today + _lagOf(securityId);
            OpenObligation memory o = open[i];
            o.tradingCycle = uint64(trading);
            // At most MAX_SETTLEMENT_LAG + 2 terms, each below 2^127: the sums cannot overflow,
            // and k <= MAX_SETTLEMENT_LAG + 1 < 256 bits.
            unchecked {
                for (uint256 k; first + k <= trading; ++k) {
                    uint256 bit = 1 << k;
                    if (read & bit == 0) {
                        CyclePhase phase = _cycles[uint64(first + k)].phase;
                        read |= bit;
                        if (phase != CyclePhase.Unknown && phase != CyclePhase.Settled) live |= bit;
                    }
                    if (live & bit == 0) continue;
                    Position memory p = _positions[uint64(first + k)][securityId][account];
                    (o.quantity, o.cashAmount) = (o.quantity + p.quantity, o.cashAmount + p.cash);
                    if (first + k == trading) o.traded = p.quantity;
                }
            }
        }
    }

    /// @dev `securityId`'s settlement lag, from the packed copy `_lags`.
    function _lagOf(uint256 securityId) private view returns (uint256) {
        return uint8(_lags[securityId >> 5] >> ((securityId & 31) << 3));
    }

    /// @inheritdoc ICCPSettlement
    function cycleSettlementModule() external view returns (address) {
        return _cycleSettlement;
    }

    /// @inheritdoc ICCPSettlement
    function cashLegOf(address account) external view returns (uint64 cycleId, int256 cash, uint8 stage) {
        CashLeg memory leg = _cashLegs[account];
        return (leg.cycleId, leg.cash, uint8(leg.stage));
    }

    /// @inheritdoc ICCPSettlement
    function obligationAt(uint64 cycleId, uint256 index)
        external
        view
        returns (address account, uint256 securityId, int256 quantity, int256 cashAmount, bool failed)
    {
        Entry memory e = _obligations[cycleId][index];
        Position memory p = _positions[cycleId][e.securityId][e.account];
        return (e.account, e.securityId, p.quantity, p.cash, e.failed);
    }

    /// @inheritdoc ICCPSettlement
    function shortfallAt(uint64 cycleId, uint256 index) external view returns (uint256 securities, uint256 cashAmount) {
        Shortfall memory s = _shortfalls[cycleId][index];
        return (s.securities, s.cash);
    }

    /// @inheritdoc ICCPSettlement
    function netSums(uint64 cycleId, uint256 securityId, uint256 start, uint256 count)
        external
        view
        returns (int256 quantity, int256 cashAmount)
    {
        Entry[] storage list = _obligations[cycleId];
        uint256 end = start + count < list.length ? start + count : list.length;
        // Bounded by `count`, the caller's page size.
        for (uint256 i = start; i < end; ++i) {
            Entry memory e = list[i];
            if (e.securityId != securityId) continue;
            Position memory p = _positions[cycleId][securityId][e.account];
            quantity += p.quantity;
            cashAmount += p.cash;
        }
    }

    /// @inheritdoc ICCPSettlement
    function checkShortSale(address seller, uint256 securityId, uint256 quantity) external view {
        SecurityRules memory r = _rules[securityId];
        if (!r.noNakedShort) return;
        uint64 cycleId = uint64(block.timestamp / _cycleLength) + r.settlementLag;
        _requireCovered(seller, securityId, _positions[cycleId][securityId][seller].quantity, quantity);
    }

    /// @inheritdoc ICCPSettlement
    function prefunded(address account) external view returns (uint256 cashAmount, uint256 reserved, uint256 openObligations) {
        Funds memory f = _funds[account];
        return (f.cash, f.reserved, _cashLegs[account].openObligations);
    }

    /// @inheritdoc ICCPSettlement
    function prefundedSecurities(address account, uint256 securityId) external view returns (uint256) {
        return _prefundSecurities[account][securityId];
    }

    /// @inheritdoc ICCPSettlement
    function custody(uint256 securityId) external view returns (uint256 cashAmount, uint256 securities) {
        return (_custodyCash, _custodySecurities[securityId]);
    }

    /// @inheritdoc ICCPSettlement
    function liquidationMarket() external view returns (address) {
        return _liquidationMarket;
    }

    /// @inheritdoc ICCPSettlement
    function liquidityBorrowed(uint64 cycleId) external view returns (uint256) {
        return _liquidityBorrowed[cycleId];
    }

    /// @inheritdoc ICCPSettlement
    function securityRules(uint256 securityId) external view returns (SecurityRules memory) {
        return _rules[securityId];
    }

    /// @inheritdoc ICCPSettlement
    function closeOutSetup() external view returns (address market, address handler) {
        return (address(_market), address(_handler));
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────────

    function _tryMul(uint256 a, uint256 b) private pure returns (bool, uint256) {
        // Unchecked: overflow is detected by the division test.
        unchecked {
            uint256 c = a * b;
            if (a != 0 && c / a != b) return (false, 0);
            return (true, c);
        }
    }
}
