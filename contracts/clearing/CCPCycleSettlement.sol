// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {CyclePhase} from "../interfaces/ICCPSettlement.sol";
import {ISecurityToken} from "../interfaces/ISecurityToken.sol";
import {CloseOutLib} from "../libraries/CloseOutLib.sol";
import {Entry, NettingLib, Position, Shortfall} from "../libraries/NettingLib.sol";
import {CCPBase} from "./CCPBase.sol";
import {CCPCloseOut} from "./CCPCloseOut.sol";

/// @title CCPCycleSettlement — the settlement passes of a cycle, for CCPSettlement
/// @notice Runs only by delegatecall from the CCPSettlement that created it, on the CCP's
/// storage (both derive from CCPBase, which holds every base with storage, so their layouts are
/// one). Called directly it refuses (OnlyDelegateCall). Its immutables are the CCP's (same
/// constructor inputs). Kept apart so that the CCP stays under the 24,576-byte code limit.
contract CCPCycleSettlement is CCPCloseOut {
    /// @dev Transient-storage slot of a (cycle, security)'s market claim per unit, plus one: this
    /// tag in the top byte, the cycle id (64 bits) above the security id (88 bits). No other
    /// transient variable lives there (Solidity's own start at slot 0; OpenZeppelin's reentrancy
    /// slot is a hash).
    uint256 private constant MARKET_CLAIM_TAG = uint256(0xC1) << 248;

    using NettingLib for Position;

    address private immutable _self = address(this);

    /// @notice Called directly instead of through the CCP.
    error OnlyDelegateCall();

    constructor(address membership_, address cash_, address securities_, uint64 cycleLength_)
        CCPBase(membership_, cash_, securities_, cycleLength_)
    {}

    // ─── Settlement of a cycle ───────────────────────────────────────────────────────────────

    /// @notice Advance `cycleId`'s settlement by at most `maxSteps` steps (see
    /// ICCPSettlement.settleCycle). Only by delegatecall from the CCP, which holds the guard.
    function settleCycle(uint64 cycleId, uint256 maxSteps) external returns (bool done) {
        if (address(this) == _self) revert OnlyDelegateCall();
        if (maxSteps == 0) revert ZeroBatch();
        Cycle memory c = _cycles[cycleId];
        if (c.phase == CyclePhase.Unknown) revert UnknownCycle(cycleId);
        if (c.phase == CyclePhase.Settled) revert CycleAlreadySettled(cycleId);
        uint64 from = _settlesFrom(cycleId);
        if (block.timestamp < from) revert CycleNotDue(cycleId, from, block.timestamp);
        uint64 settling = _settlingCycle;
        // Unchecked: settling is a cycle id plus one, at least 1 here.
        unchecked {
            if (settling != 0 && settling != cycleId + 1) revert AnotherCycleSettling(settling - 1);
        }

        uint256 steps;
        // Bounded: at most `maxSteps` steps, plus close-out visits that are not steps (at most 2n per
        // cycle in all) and five phase changes; stops early on low gas.
        uint256 n = _phaseLength(cycleId, c.phase);
        while (true) {
            if (c.cursor == n) {
                _advance(cycleId, c);
                if (c.phase == CyclePhase.Settled) break;
                n = _phaseLength(cycleId, c.phase); // fixed within a phase: pass 1b appends failures before pass 2
                continue;
            }
            uint256 floor = c.phase == CyclePhase.ClosingOut ? MIN_CLOSE_OUT_GAS : MIN_STEP_GAS;
            if (steps == maxSteps || gasleft() < floor) break;
            uint256 index = c.cursor;
            // Unchecked: index < n, a list length (or twice one), far below 2^64.
            unchecked {
                c.cursor = uint64(index + 1);
            }
            if (c.phase == CyclePhase.PayingIn) _payIn(cycleId, index);
            else if (c.phase == CyclePhase.PayingInCash) _payInCash(cycleId, index);
            else if (c.phase == CyclePhase.ClosingOut && !_closeOutInOrder(cycleId, index, c)) continue; // a visit
            else if (c.phase == CyclePhase.PayingOut) _payOut(cycleId, index, c.flags);
            ++steps;
        }
        _cycles[cycleId] = c;
        return c.phase == CyclePhase.Settled;
    }

    function _phaseLength(uint64 cycleId, CyclePhase phase) private view returns (uint256) {
        if (phase == CyclePhase.ClosingOut) return 2 * _failures[cycleId].length; // two walks, see below
        if (phase == CyclePhase.Open) return 0; // start at once
        return _obligations[cycleId].length; // PayingIn, PayingInCash, PayingOut
    }

    /// @dev Compression (see `CCPSettlement.compress`): of the `units` an account is paid out,
    /// the part kept for its later delivery stays in its pre-funded custody (the pay-in of that
    /// delivery takes pre-funded units first); returns that part.
    function _keep(uint64 cycleId, Entry memory e, uint256 units) private returns (uint256 kept) {
        kept = _kept[cycleId][e.securityId][e.account];
        if (kept > units) kept = units; // the receipt shrank after the compression
        if (kept != 0) _credit(e.account, e.securityId, kept, 0);
    }

    /// @dev Pass 2 walks the failures twice: first every obligation that failed to deliver (its
    /// buy-in puts the missing units in the pool), then those that failed only to pay (their
    /// sell-out then finds the units the buyer was owed, even when that buyer's seller failed
    /// too). Visit `visit` of 2n looks at failure `visit mod n`; only the visit in the walk it
    /// belongs to closes it out and counts as a step (the others cost one read; the cursor still
    /// moves, so a call stays bounded by 2n visits and the gas floor).
    function _closeOutInOrder(uint64 cycleId, uint256 visit, Cycle memory c) private returns (bool closedOut) {
        uint64[] storage failures = _failures[cycleId];
        uint256 n = failures.length;
        bool deliveryWalk = visit < n;
        uint256 index = failures[deliveryWalk ? visit : visit - n];
        Shortfall memory s = _shortfalls[cycleId][index];
        closedOut = (s.securities != 0) == deliveryWalk;
        if (!closedOut) return false;
        if (deliveryWalk && s.cash == 0 && !_cashFailed[cycleId] && _rollDelivery(cycleId, index, s.securities)) {
            c.flags |= ROLLED_OUT;
        } else {
            _closeOut(cycleId, index);
        }
    }

    /// @dev CNS: instead of a buy-in, the failed delivery rolls into the open cycle of today
    /// (the next to settle: `settleCycle` needs today past the cycle's date), if the security's
    /// `failRolls` allows one more roll of this fail. The seller then delivers the units it
    /// failed to deliver there, and is paid there the cash its short delivery withheld here
    /// (kept in custody in between: the pool's receivers were paid in by their buyers, and are
    /// owed units this cycle lacks, which pass 3 rolls to them in turn). Nothing is charged to
    /// anyone. The later cycle books market claims again on the rolled units from the end of
    /// its own trading day: what of that window lies before now was booked here already, so the
    /// roll carries it back (the seller is given it, the receivers charged it). Returns false
    /// (buy in as before) when the security does not roll fails, this fail rolled enough, or
    /// the seller is not active (suspended or in default: its obligations are for the default
    /// management to take over, not to carry into another cycle).
    function _rollDelivery(uint64 cycleId, uint256 index, uint256 unitsShort) private returns (bool) {
        Entry memory e = _obligations[cycleId][index];
        uint8 limit = _rules[e.securityId].failRolls;
        uint8 age = _failAges[cycleId][e.securityId][e.account];
        if (age >= limit || !_membership.isActive(e.account)) return false;
        ++age;
        uint64 toCycle = uint64(block.timestamp / _cycleLength);
        Position memory p = _positions[cycleId][e.securityId][e.account];
        (uint256 securitiesDue,) = p.payables();
        (, uint256 receivable) = p.receivables();
        // What pass 1a withheld from the account's cash leg for the units it did not deliver.
        uint256 withheld = receivable - CloseOutLib.releasedDown(receivable, securitiesDue - unitsShort, securitiesDue);
        Undelivered memory u = _undelivered[cycleId][e.securityId];
        if (u.units == 0) u.claimPerUnit = SafeCast.toUint128(_claimBookedTwice(toCycle, e.securityId));
        u.units += SafeCast.toUint128(unitsShort);
        _undelivered[cycleId][e.securityId] = u;
        int256 cash = SafeCast.toInt256(withheld + unitsShort * u.claimPerUnit);
        _bookRolled(toCycle, e.account, e.securityId, -SafeCast.toInt256(unitsShort), cash);
        _failAges[toCycle][e.securityId][e.account] = age;
        // The withheld cash leaves the pool for custody until the later cycle's pay-in.
        _cycles[toCycle].rolledInCash += SafeCast.toUint128(withheld);
        _custodyCash += withheld;
        emit DeliveryRolled(cycleId, toCycle, e.account, e.securityId, unitsShort, cash, age);
        return true;
    }

    /// @dev Pass 3, a receipt of a security whose delivery rolled out of this cycle: what the
    /// pool cannot pay of `units` (up to what the rolls left it short) rolls to the receiver
    /// in today's cycle, where it is owed without further payment (paid for here); returns it.
    /// Receivers are paid in list order while the pool lasts: the last ones roll.
    function _rollReceipt(uint64 cycleId, Entry memory e, uint256 units) private returns (uint256 rolled) {
        Undelivered memory u = _undelivered[cycleId][e.securityId];
        if (u.units == 0) return 0;
        uint256 pool = _poolSecurities(e.securityId);
        if (units <= pool) return 0;
        rolled = units - pool < u.units ? units - pool : u.units;
        // Casts are safe: rolled <= u.units (uint128); the claim per unit below 2^128.
        u.units -= uint128(rolled);
        _undelivered[cycleId][e.securityId] = u;
        uint64 toCycle = uint64(block.timestamp / _cycleLength);
        int256 cash = -SafeCast.toInt256(rolled * u.claimPerUnit);
        _bookRolled(toCycle, e.account, e.securityId, int256(rolled), cash);
        emit ReceiptRolled(cycleId, toCycle, e.account, e.securityId, rolled, cash);
    }

    /// @dev Add a rolled quantity and cash to `account`'s position in `toCycle` (listed if new).
    function _bookRolled(uint64 toCycle, address account, uint256 securityId, int256 quantity, int256 cash) private {
        if (_positions[toCycle][securityId][account].book(quantity, cash)) _list(toCycle, account, securityId);
    }

    /// @dev The distribution per unit of `securityId` that `toCycle`'s pay-in will book as
    /// market claims and that has passed already (its record date from the end of `toCycle`'s
    /// trading day to now), so was booked in the cycle the fail rolls out of.
    function _claimBookedTwice(uint64 toCycle, uint256 securityId) private view returns (uint256) {
        if (address(_distributions) == address(0)) return 0;
        uint256 lag = _rules[securityId].settlementLag;
        if (uint256(toCycle) + 1 < lag) return 0;
        uint256 tradedUntil = (uint256(toCycle) + 1 - lag) * _cycleLength;
        return _distributions.amountPerUnitBetween(securityId, tradedUntil, block.timestamp);
    }

    /// @dev Next phase with its cursor at zero (flags and rolled-in cash kept). Entering pay-in,
    /// the cash withheld from deliveries that rolled into this cycle returns from custody to
    /// the pool, which pays it to their sellers. Events name the phase entered.
    function _advance(uint64 cycleId, Cycle memory c) private {
        (c.phase, c.cursor) = (CyclePhase(uint8(c.phase) + 1), 0);
        if (c.phase == CyclePhase.PayingIn) {
            _settlingCycle = cycleId + 1;
            if (c.rolledInCash != 0) _custodyCash -= c.rolledInCash;
        }
        if (c.phase == CyclePhase.Settled) {
            _settlingCycle = 0;
            _repayLiquidity(cycleId);
            emit CycleSettled(cycleId, _obligations[cycleId].length, _failures[cycleId].length);
        }
        emit CyclePhaseChanged(cycleId, c.phase);
    }

    /// @dev Pass 1a, per obligation: collect the units the account owes, pre-funded first, then
    /// its wallet; a partial delivery is kept and the rest recorded as a shortfall for pass 2.
    /// The obligation's cash joins the account's cash leg: all of it, less what a short delivery
    /// withholds (the cash of the units not delivered, which pays their buy-in). No cash moves.
    function _payIn(uint64 cycleId, uint256 index) private {
        Entry memory e = _obligations[cycleId][index];
        Position memory p = _positions[cycleId][e.securityId][e.account];
        if (address(_distributions) != address(0) && p.quantity != 0) _bookMarketClaim(cycleId, e, p);
        (uint256 securitiesDue,) = p.payables();
        uint256 securitiesIn = securitiesDue == 0 ? 0 : _collectSecurities(e.account, e.securityId, securitiesDue);
        int256 cash = p.cash;
        // Unchecked: a shortfall is at most the due; the withheld cash at most the receivable.
        unchecked {
            if (securitiesIn < securitiesDue) {
                _obligations[cycleId][index].failed = true;
                _shortfalls[cycleId][index] = Shortfall(uint128(securitiesDue - securitiesIn), 0);
                _failures[cycleId].push(uint64(index)); // index < list length < 2^64
                // Cast is safe: both terms are at most the position's cash (int128).
                if (cash > 0) cash = int256(CloseOutLib.releasedDown(uint256(cash), securitiesIn, securitiesDue));
            }
            if (securitiesDue != 0) {
                emit ObligationPaidIn(cycleId, e.account, e.securityId, securitiesIn, 0, securitiesDue - securitiesIn, 0);
            }
        }
        // The wallet's own slot is its leg, unless it is pooled into its settlement account's.
        CashLeg memory leg = _cashLegs[e.account];
        address legAccount = e.account;
        if (leg.flags & POOLED != 0) {
            legAccount = _fixLegAccount(cycleId, e.account);
            leg = _cashLegs[legAccount];
        }
        // The account's first obligation of this cycle starts its leg again (the slot is reused).
        if (leg.cycleId != cycleId || leg.stage == LegStage.None) {
            (leg.cash, leg.cycleId, leg.stage) = (0, cycleId, LegStage.Summed);
        }
        leg.cash = SafeCast.toInt128(leg.cash + cash);
        _writeLeg(legAccount, leg);
    }

    /// @dev A market claim (see `setDistributions`): the obligation's cash moves by its net
    /// quantity times the distributions per unit of its security with a record date from the
    /// end of its trading day (cycle minus lag, plus one day) to now, before anything is paid
    /// (every later pass reads the position). Summed over a cycle's accounts the claims cancel
    /// (net quantities sum to zero): the CCP stays flat. The amount per unit is read once per
    /// (cycle, security) and transaction, kept in transient storage.
    function _bookMarketClaim(uint64 cycleId, Entry memory e, Position memory p) private {
        uint256 key = MARKET_CLAIM_TAG | (uint256(cycleId) << 88) | e.securityId;
        uint256 cached;
        assembly ("memory-safe") {
            cached := tload(key)
        }
        if (cached == 0) {
            uint256 tradedUntil = (uint256(cycleId) + 1 - _rules[e.securityId].settlementLag) * _cycleLength;
            cached = _distributions.amountPerUnitBetween(e.securityId, tradedUntil, block.timestamp) + 1;
            assembly ("memory-safe") {
                tstore(key, cached)
            }
        }
        if (cached == 1) return;
        int256 claim = int256(p.quantity) * SafeCast.toInt256(cached - 1);
        p.cash = SafeCast.toInt128(p.cash + claim);
        _positions[cycleId][e.securityId][e.account].cash = p.cash;
        emit MarketClaimBooked(cycleId, e.account, e.securityId, claim);
    }

    /// @dev A pooled wallet's settlement account this cycle (see `LegAccount`): at its first
    /// obligation of the cycle in pass 1a, the one novation read from the register; then kept
    /// for the cycle's passes.
    function _fixLegAccount(uint64 cycleId, address wallet) private returns (address account) {
        LegAccount memory fixed_ = _settlingLegAccounts[wallet];
        if (fixed_.cycleId == cycleId && fixed_.account != address(0)) return fixed_.account;
        account = _legAccounts[wallet].account;
        _settlingLegAccounts[wallet] = LegAccount(account, cycleId);
    }

    /// @dev Pass 1b, per obligation again: at the account's first obligation in the list, collect
    /// its cash leg if it is a debit (DVP model 3: one cash transfer per account and cycle,
    /// whatever the number of securities), pre-funded balance first, then the wallet; the leg
    /// then keeps minus the part not paid. At each of the account's obligations (all at or after
    /// the first one), that shortfall is charged to the obligations that pay cash, in list
    /// order, up to each one's cash due: those fail and their units are sold out in pass 2. Each
    /// obligation visited counts down the account's open obligations (pre-funding stays locked
    /// until the last).
    function _payInCash(uint64 cycleId, uint256 index) private {
        Entry memory e = _obligations[cycleId][index];
        CashLeg memory leg = _cashLegs[e.account];
        if (leg.flags & POOLED == 0) {
            _payInLeg(cycleId, index, e, leg, e.account, leg.flags);
        } else {
            // A pooled wallet: the leg is its settlement account's; its own slot keeps its open
            // obligations and flags.
            address legAccount = _settlingLegAccounts[e.account].account;
            CashLeg memory pool = _cashLegs[legAccount];
            _payInLeg(cycleId, index, e, pool, legAccount, leg.flags);
            _writeLeg(legAccount, pool);
        }
        // Unchecked: every listed obligation counted one at listing. The last one paid in
        // releases what pre-funded buys reserved.
        unchecked {
            if (--leg.openObligations == 0 && leg.flags & RESERVING != 0) {
                _funds[e.account].reserved = 0;
                leg.flags &= ~RESERVING;
            }
        }
        _writeLeg(e.account, leg);
    }

    /// @dev Pass 1b's work on the cash leg `leg` of `legAccount` at one of its obligations `e`
    /// (whose wallet's leg flags are `flags`): the pay-in at the first, the charging of an
    /// unpaid part to this obligation. Updates `leg` in memory only.
    function _payInLeg(uint64 cycleId, uint256 index, Entry memory e, CashLeg memory leg, address legAccount, uint8 flags)
        private
    {
        // A credit (or zero) leg has nothing to pay in and stays Summed; pass 3 pays it.
        if (leg.stage == LegStage.Summed && leg.cash < 0) {
            leg.stage = LegStage.PaidIn;
            // Casts are safe: -leg.cash is below 2^127, and so is what is left unpaid.
            uint256 due = uint256(-int256(leg.cash));
            uint256 cashIn = _collectCash(e.account, _payer(e.account, flags), due);
            leg.cash = -int128(int256(due - cashIn));
            emit ObligationPaidIn(cycleId, legAccount, CASH_LEG, 0, cashIn, 0, due - cashIn);
        }
        if (leg.cash < 0) {
            // A debit leg after its pay-in: what is left unpaid, to charge to obligations.
            (, uint256 cashDue) = _positions[cycleId][e.securityId][e.account].payables();
            uint256 unpaid = uint256(-int256(leg.cash));
            uint256 charged = cashDue < unpaid ? cashDue : unpaid;
            if (charged != 0) {
                // Casts are safe: charged <= unpaid < 2^127.
                leg.cash += int128(int256(charged));
                if (!e.failed) {
                    _obligations[cycleId][index].failed = true;
                    _failures[cycleId].push(uint64(index)); // index < list length < 2^64
                }
                _shortfalls[cycleId][index].cash = uint128(charged);
                if (!_cashFailed[cycleId]) _cashFailed[cycleId] = true; // no delivery of this cycle rolls
            }
        }
    }

    /// @dev Write `leg` as `account`'s cash leg in one store of the packed word (the struct's own
    /// layout: cash | cycle | stage | open obligations | flags, from the low bytes). A struct
    /// copy to storage is compiled field by field, with several stores to the slot; this
    /// writes it once, at every pass's step.
    function _writeLeg(address account, CashLeg memory leg) private {
        uint256 word = uint256(uint128(leg.cash)) | (uint256(leg.cycleId) << 128) | (uint256(uint8(leg.stage)) << 192)
            | (uint256(leg.openObligations) << 200) | (uint256(leg.flags) << 232);
        CashLeg storage slot = _cashLegs[account];
        assembly ("memory-safe") {
            sstore(slot.slot, word)
        }
    }

    /// @dev Take up to `due` units: pre-funded first, then the wallet, as far as approval and
    /// balance allow (a partial delivery is taken). Never reverts on the account's failure. The
    /// whole rest is tried first (one token call when the account performs); only if that fails
    /// are approval and balance read to take what there is.
    function _collectSecurities(address account, uint256 securityId, uint256 due) private returns (uint256 got) {
        uint256 held = _prefundSecurities[account][securityId];
        got = held < due ? held : due;
        if (got != 0) {
            _prefundSecurities[account][securityId] = held - got;
            _custodySecurities[securityId] -= got;
        }
        uint256 rest = due - got;
        if (rest == 0 || _pullSecurities(account, securityId, rest)) return due;
        if (!_securities.isApprovedForAll(account, address(this))) return got;
        uint256 balance = _securities.balanceOf(account, securityId);
        if (balance != 0 && balance < rest && _pullSecurities(account, securityId, balance)) got += balance;
    }

    function _pullSecurities(address account, uint256 securityId, uint256 amount) private returns (bool ok) {
        // Into custody without the ERC-1155 acceptance call back to the CCP (it is the taker).
        try ISecurityToken(address(_securities)).pullToCustody{gas: CALL_GAS}(account, securityId, amount) {
            return true;
        } catch {}
    }

    /// @dev Take up to `due` cash: the account's pre-funded cash first (releasing its
    /// reservation), then the payer's wallet (the account's own, or a client's clearing
    /// member's): the whole rest tried first, then, if that fails, what allowance and balance
    /// allow.
    function _collectCash(address account, address payer, uint256 due) private returns (uint256 got) {
        Funds memory f = _funds[account];
        got = f.cash < due ? f.cash : due;
        if (got != 0) {
            // Casts are safe: `got` <= f.cash (uint128); the reservation shrinks by at most itself.
            f.cash -= uint128(got);
            f.reserved -= f.reserved < got ? f.reserved : uint96(got);
            _funds[account] = f;
            _custodyCash -= got;
        }
        uint256 rest = due - got;
        if (rest == 0 || _pullCash(payer, rest)) return due;
        uint256 allowance = _cash.allowance(payer, address(this));
        uint256 balance = _cash.balanceOf(payer);
        uint256 pull = rest < allowance ? rest : allowance;
        if (balance < pull) pull = balance;
        if (pull != 0 && pull < rest && _pullCash(payer, pull)) got += pull;
    }

    function _pullCash(address account, uint256 amount) private returns (bool ok) {
        try _cash.transferFrom{gas: CALL_GAS}(account, address(this), amount) returns (bool done) {
            return done;
        } catch {}
    }

    /// @dev Pass 3: pay out the units of every obligation paid in full (failed ones were paid
    /// out in pass 2), and at the account's first obligation in the list its cash leg, if a
    /// credit: the net of all its securities, less the cash its short deliveries withheld.
    function _payOut(uint64 cycleId, uint256 index, uint8 cycleFlags) private {
        Entry memory e = _obligations[cycleId][index];
        if (!e.failed) {
            Position memory p = _positions[cycleId][e.securityId][e.account];
            (uint256 securitiesOut,) = p.receivables();
            if (cycleFlags & ROLLED_OUT != 0 && securitiesOut != 0) securitiesOut -= _rollReceipt(cycleId, e, securitiesOut);
            if (p.kept && securitiesOut != 0) securitiesOut -= _keep(cycleId, e, securitiesOut);
            if (securitiesOut != 0) _deliver(cycleId, e.account, e.account, e.securityId, securitiesOut, 0);
        }
        CashLeg memory leg = _cashLegs[e.account];
        uint8 flags = leg.flags;
        address legAccount = e.account;
        if (flags & POOLED != 0) {
            legAccount = _settlingLegAccounts[e.account].account;
            leg = _cashLegs[legAccount];
        }
        if (leg.stage == LegStage.PaidOut) return; // not its first obligation: paid out already
        leg.stage = LegStage.PaidOut; // Summed (a credit or zero) or PaidIn (a debit)
        _writeLeg(legAccount, leg);
        if (leg.cash <= 0) return;
        // Cast is safe: positive and below 2^127.
        _deliver(cycleId, legAccount, _payer(e.account, flags), CASH_LEG, 0, uint256(int256(leg.cash)));
    }
}
