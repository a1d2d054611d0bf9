// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";
import {IDefaultHandler} from "../interfaces/IDefaultHandler.sol";
import {CloseOutLib} from "../libraries/CloseOutLib.sol";
import {Entry, NettingLib, Position, Shortfall} from "../libraries/NettingLib.sol";
import {PSEUDONYM_SPONSOR} from "../types/Member.sol";
import {CCPBase} from "./CCPBase.sol";

/// @title CCPCloseOut — pass 2 of cycle settlement: sell-out, buy-in, shortfall to the risk layer (F7)
/// @notice Runs once per obligation that failed its pay-in, before anyone is paid out, so the
/// pool holds what every performing member is owed when pass 3 starts. Members who performed
/// are made whole from the failing account's withheld receivables, the close-out market and,
/// for the rest, the default handler charged to the failing account's clearing member.
abstract contract CCPCloseOut is CCPBase {
    using NettingLib for Position;
    using SafeERC20 for IERC20;

    /// @dev Working figures of one close-out (memory only).
    struct CloseOut {
        uint256 securitiesDue;
        uint256 cashDue;
        uint256 securitiesRelease;
        uint256 cashRelease;
        uint256 inflow;
        uint256 outflow;
        uint256 bridge;
        uint16 band;
        bool complete;
    }

    /// @dev Pass 2, one failed obligation. A buyer that did not pay (its account's cash leg short,
    /// the shortfall charged to this obligation in pass 1b) gets securities in proportion to the
    /// cash it paid; the withheld rest is sold (sell-out). A seller that did
    /// not deliver gets cash in proportion to what it delivered; the missing units are bought
    /// with the withheld cash (buy-in). A remaining cash shortfall is charged to the clearing
    /// member via the default handler; a surplus goes back to the account if its close-out
    /// completed, else to the handler that answers for the missing units.
    function _closeOut(uint64 cycleId, uint256 index) internal {
        Entry memory e = _obligations[cycleId][index];
        Position memory p = _positions[cycleId][e.securityId][e.account];
        Shortfall memory s = _shortfalls[cycleId][index];
        CloseOut memory c;
        (c.securitiesDue, c.cashDue) = p.payables();
        (c.securitiesRelease, c.cashRelease) = p.receivables();
        c.band = _rules[e.securityId].closeOutBandBps;
        c.complete = true;
        // Buy-in before sell-out: units bought in may be what a closed-out buyer was owed.
        if (s.securities != 0) _closeOutSeller(cycleId, e, s.securities, c);
        if (s.cash != 0) _closeOutBuyer(cycleId, e, s.cash, c);
        (uint256 shortfall, uint256 surplus) = CloseOutLib.net(c.inflow, c.outflow);
        if (shortfall != 0) _chargeShortfall(cycleId, e.account, shortfall);
        // A surplus repays the handler's bridge first; the rest goes back to the account if its
        // close-out completed, else to the handler, which answers for the missing units.
        uint256 refund = surplus < c.bridge ? surplus : c.bridge;
        surplus -= refund;
        if (!c.complete && address(_handler) != address(0)) (refund, surplus) = (refund + surplus, 0);
        if (refund != 0) _credit(address(_handler), e.securityId, 0, refund);
        // The cash released for the units delivered (`c.cashRelease`) is in the account's cash
        // leg already (pass 1a), paid with it in pass 3: only the surplus is paid here.
        _deliver(cycleId, e.account, surplus == 0 ? e.account : _payerOf(e.account), e.securityId,
            c.securitiesRelease, surplus);
    }

    /// @dev Sell-out: release units in proportion to the cash paid; sell the withheld rest.
    function _closeOutBuyer(uint64 cycleId, Entry memory e, uint256 cashShort, CloseOut memory c) internal {
        uint256 receivable = c.securitiesRelease;
        c.securitiesRelease = CloseOutLib.releasedDown(receivable, c.cashDue - cashShort, c.cashDue);
        uint256 withheld = receivable - c.securitiesRelease;
        uint256 minPrice =
            c.band == 0 ? 0 : CloseOutLib.averagePrice(c.cashDue, receivable, false) * (BPS - c.band) / BPS;
        (uint256 sold, uint256 proceeds) = _sellOut(cycleId, e.account, e.securityId, withheld, minPrice);
        c.complete = c.complete && sold == withheld;
        c.inflow += proceeds;
        c.outflow += cashShort;
    }

    /// @dev Buy-in: release cash in proportion to the units delivered; buy the missing units
    /// with the withheld cash, after charging the handler what the market's quote says the
    /// withheld cash will not cover (the bridge; any of it left over goes back to the handler).
    function _closeOutSeller(uint64 cycleId, Entry memory e, uint256 unitsShort, CloseOut memory c) internal {
        uint256 receivable = c.cashRelease;
        c.cashRelease = CloseOutLib.releasedDown(receivable, c.securitiesDue - unitsShort, c.securitiesDue);
        uint256 withheld = receivable - c.cashRelease;
        uint256 maxPrice = c.band == 0 || receivable == 0
            ? type(uint256).max
            : CloseOutLib.averagePrice(receivable, c.securitiesDue, true) * (BPS + c.band) / BPS;
        uint256 quote;
        if (address(_market) != address(0)) {
            try _market.quoteBuy(e.securityId, unitsShort) returns (uint256 q) {
                quote = q;
            } catch {}
        }
        if (quote > withheld) c.bridge = _chargeShortfall(cycleId, e.account, quote - withheld);
        _borrowLiquidity(cycleId, quote > withheld ? quote : withheld);
        (uint256 bought, uint256 cost) = _buyIn(cycleId, e.account, e.securityId, unitsShort, maxPrice);
        c.complete = c.complete && bought == unitsShort;
        c.inflow += withheld + c.bridge;
        c.outflow += cost;
    }

    /// @dev Sell up to `quantity` withheld units in the close-out market; what moved is measured
    /// on the CCP's balances. Units left unsold go to the handler, which covers their cash.
    function _sellOut(uint64 cycleId, address account, uint256 securityId, uint256 quantity, uint256 minPrice)
        internal
        returns (uint256 sold, uint256 proceeds)
    {
        if (quantity == 0) return (0, 0);
        uint256 pool = _poolSecurities(securityId);
        uint256 offered = quantity < pool ? quantity : pool;
        ICloseOutMarket market = _market;
        if (offered != 0 && address(market) != address(0)) {
            uint256 cashBefore = _cash.balanceOf(address(this));
            uint256 unitsBefore = _securities.balanceOf(address(this), securityId);
            _awaitingMarket = true;
            try market.sell(securityId, offered, minPrice) {} catch {}
            _awaitingMarket = false;
            proceeds = _increase(cashBefore, _cash.balanceOf(address(this)));
            sold = _increase(_securities.balanceOf(address(this), securityId), unitsBefore);
        }
        emit SoldOut(cycleId, account, securityId, quantity, sold, proceeds);
        uint256 unsold = offered - (sold < offered ? sold : offered);
        if (unsold != 0) _credit(_handlerOr(account), securityId, unsold, 0);
    }

    /// @dev Buy up to `quantity` units for the receivers. The market may draw on all the cash
    /// the CCP holds (the cycle's pool, and custody as bridge liquidity) until the shortfall is
    /// charged to the handler right after; the allowance is reset at once. What moved is
    /// measured on the CCP's balances.
    function _buyIn(uint64 cycleId, address account, uint256 securityId, uint256 quantity, uint256 maxPrice)
        internal
        returns (uint256 bought, uint256 cost)
    {
        ICloseOutMarket market = _market;
        if (address(market) != address(0)) {
            uint256 cashBefore = _cash.balanceOf(address(this));
            uint256 unitsBefore = _securities.balanceOf(address(this), securityId);
            _cash.forceApprove(address(market), cashBefore);
            _awaitingMarket = true;
            try market.buy(securityId, quantity, maxPrice) {} catch {}
            _awaitingMarket = false;
            _cash.forceApprove(address(market), 0);
            cost = _increase(_cash.balanceOf(address(this)), cashBefore);
            bought = _increase(unitsBefore, _securities.balanceOf(address(this), securityId));
        }
        emit BoughtIn(cycleId, account, securityId, quantity, bought, cost);
    }

    /// @dev Charge `amount` to the account's clearing member; book what actually arrived, and
    /// what the handler set off against liquidity the cycle borrowed (the CCP holds that cash).
    /// An unopened pseudonym (#24) answers for itself: charging the sponsor would put every
    /// pseudonym in default for one's failure.
    function _chargeShortfall(uint64 cycleId, address account, uint256 amount) internal returns (uint256 covered) {
        address member = _membership.clearingMemberOf(account);
        if (member == PSEUDONYM_SPONSOR) member = account;
        IDefaultHandler handler = _handler;
        if (address(handler) != address(0)) {
            uint256 borrowed = _liquidityBorrowed[cycleId];
            uint256 lentBefore = borrowed == 0 ? 0 : _handlerLent(handler, borrowed);
            uint256 before = _cash.balanceOf(address(this));
            _awaitingMarket = true; // layer 1 may sell collateral on a venue (`_liquidationMarket`)
            try handler.coverShortfall(member, account, amount) {} catch {}
            _awaitingMarket = false;
            covered = _increase(before, _cash.balanceOf(address(this)));
            if (borrowed != 0) {
                uint256 setOff = _increase(_handlerLent(handler, lentBefore), lentBefore);
                if (setOff > borrowed) setOff = borrowed;
                if (setOff != 0) {
                    covered += setOff;
                    _liquidityBorrowed[cycleId] = borrowed - setOff;
                    emit LiquidityRepaid(cycleId, setOff, borrowed - setOff);
                }
            }
        }
        emit ShortfallCharged(cycleId, account, member, amount, covered);
    }

    /// @dev Before a buy-in that may spend `need`: the pool (the CCP's cash beyond custody) holds
    /// the failing seller's withheld cash only if every buyer paid; a failing buyer of the same
    /// cycle is charged at its own sell-out, after every buy-in. Borrow what the pool lacks from
    /// the handler, so performing buyers get their units; repaid when the cycle ends.
    function _borrowLiquidity(uint64 cycleId, uint256 need) internal {
        uint256 held = _cash.balanceOf(address(this));
        uint256 pool = _increase(_custodyCash, held);
        IDefaultHandler handler = _handler;
        if (need <= pool || address(handler) == address(0)) return;
        try handler.lendLiquidity(need - pool) {} catch {}
        uint256 arrived = _increase(held, _cash.balanceOf(address(this)));
        if (arrived == 0) return;
        _liquidityBorrowed[cycleId] += arrived;
        emit LiquidityBorrowed(cycleId, arrived);
    }

    /// @dev At the cycle's end, repay what it borrowed from the cash beyond custody (all of it
    /// when every shortfall was covered); the handler pulls it on an allowance reset at once.
    function _repayLiquidity(uint64 cycleId) internal {
        uint256 borrowed = _liquidityBorrowed[cycleId];
        if (borrowed == 0) return;
        IDefaultHandler handler = _handler;
        uint256 held = _cash.balanceOf(address(this));
        // Owed: what the cycle borrowed, unless the handler counts less as lent (it set the
        // rest off against another cycle's shortfall).
        uint256 lent = _handlerLent(handler, borrowed);
        uint256 owed = borrowed < lent ? borrowed : lent;
        uint256 amount = _increase(_custodyCash, held);
        if (amount > owed) amount = owed;
        if (amount != 0) {
            _cash.forceApprove(address(handler), amount);
            try handler.repayLiquidity(amount) {} catch {}
            _cash.forceApprove(address(handler), 0);
            amount = _increase(_cash.balanceOf(address(this)), held);
        }
        _liquidityBorrowed[cycleId] = owed - amount;
        emit LiquidityRepaid(cycleId, amount, owed - amount);
    }

    /// @dev The handler's count of cash lent to the CCP; `fallback_` if it cannot say.
    function _handlerLent(IDefaultHandler handler, uint256 fallback_) internal view returns (uint256) {
        if (address(handler) == address(0)) return 0;
        try handler.liquidityLent() returns (uint256 lent) {
            return lent;
        } catch {
            return fallback_;
        }
    }
}
