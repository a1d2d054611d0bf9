// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {OpenObligation} from "../interfaces/ICCPSettlement.sol";
import {RiskMath} from "../libraries/RiskMath.sol";
import {MarginBase} from "./MarginBase.sol";

/// @title MarginRevaluation — the margin revaluation, in pages, for Margin
/// @notice Runs only by delegatecall from the Margin contract that created it, on Margin's
/// storage (both derive from MarginBase alone, so their layouts are one). Called directly it
/// refuses (OnlyDelegateCall). Its immutables are Margin's (same constructor inputs).
/// @dev A page of one margin account: at most `maxItems` items, each a wallet without positions,
/// a position (its part of one `unsettledObligationsOf` call to the CCP per wallet and page; the position and
/// shock slots, the price word shared by 4 consecutive ids), or a collateral line (the line and
/// the risk slot). The scenario P&L and mark-to-market are summed in memory and parked in
/// storage only when a revaluation spans transactions.
contract MarginRevaluation is MarginBase {
    using SafeCast for uint256;

    constructor(address ccp, address membership, address cash, address securities, uint8 nScenarios, address operator)
        MarginBase(ccp, membership, cash, securities, nScenarios, operator)
    {}

    /// @notice Advance `account`'s revaluation by at most `maxItems` items (see IMargin.revalue).
    /// Only by delegatecall from Margin, which checks `maxItems` and re-entrancy.
    function revalue(address account, uint256 maxItems) external returns (bool finished) {
        _requireDelegated();
        return _revalue(account, maxItems);
    }

    /// @dev One step of `account`'s revaluation: at most `maxItems` items (a wallet visited, a
    /// position, a collateral line), resumed where the last step stopped. The scenario P&L and
    /// the mark-to-market are summed in memory and kept in storage only between transactions.
    /// Cost per position: its part of the CCP's `unsettledObligationsOf` (one call per wallet
    /// and page: the security's lag word, shared by 32 consecutive ids, and its position in each
    /// open cycle), the position and shock slots and the price word (shared by 4 consecutive
    /// ids); per collateral line: the line and the risk slot.
    function _revalue(address account, uint256 maxItems) private returns (bool finished) {
        _memberOf(account);
        Run memory run = _runs[account];
        int256[16] memory pnl;
        int256 mtm;
        if (run.running) {
            int256[16] storage saved = _runPnl[account];
            for (uint256 s; s < _nScenarios; ++s) {
                pnl[s] = saved[s];
            }
            mtm = _runMtm[account];
        } else {
            uint32 lastDay = _requirements[account].day;
            bool newDay = lastDay < _marginDay;
            run = Run(newDay ? _marginDay : lastDay, 0, 0, 0, true, newDay);
        }
        uint256 budget = maxItems;
        address[] storage wallets = _wallets[account];
        uint256 nWallets = wallets.length + 1;
        while (run.wallet < nWallets && budget != 0) {
            address wallet = run.wallet == 0 ? account : wallets[run.wallet - 1];
            uint64[] storage ids = _positionIds[wallet];
            uint256 n = ids.length;
            if (n == 0) {
                // A wallet without positions is a step of its own (so a page always advances).
                (run.wallet, budget) = (run.wallet + 1, budget - 1);
                continue;
            }
            // This page's part of the wallet's positions, read from the CCP in one call.
            uint256 count = _min(n - run.item, budget);
            uint256[] memory sids = new uint256[](count);
            for (uint256 i; i < count; ++i) {
                sids[i] = ids[run.item + i];
            }
            OpenObligation[] memory open = _ccp.unsettledObligationsOf(wallet, sids);
            for (uint256 i; i < count; ++i) {
                mtm += _revaluePosition(wallet, sids[i], open[i], run.newDay, pnl);
            }
            (run.item, run.done) = (SafeCast.toUint32(run.item + count), SafeCast.toUint32(run.done + count));
            budget -= count;
            if (run.item == n) (run.wallet, run.item) = (run.wallet + 1, 0);
        }
        if (run.wallet == nWallets) {
            uint64[] storage lines = _collateralIds[account];
            uint256 n = lines.length;
            for (; run.item < n && budget != 0; ++run.item) {
                _revalueLine(account, lines[run.item], _lines[account][lines[run.item]].units);
                --budget;
                ++run.done;
            }
            finished = run.item == n;
        }
        if (finished) return _finishRun(account, run, pnl, mtm);
        int256[16] storage keep = _runPnl[account];
        for (uint256 s; s < _nScenarios; ++s) {
            keep[s] = pnl[s];
        }
        _runMtm[account] = mtm;
        _runs[account] = run;
        _accounts[account].flags |= REVALUING;
        emit RevaluationAdvanced(account, run.day, run.done);
    }

    /// @dev The revaluation's result: IM from the summed scenario P&L, VM from the
    /// mark-to-market, the collateral as revalued; call or release margin.
    function _finishRun(address account, Run memory run, int256[16] memory pnl, int256 mtm) private returns (bool) {
        uint256 im = RiskMath.marginOf(pnl);
        uint256 vm = mtm < 0 ? uint256(-mtm) : 0;
        _requirements[account] = Requirement(im.toUint96(), vm.toUint96(), run.day);
        if (_runs[account].running) _runs[account].running = false;
        Account storage a = _accounts[account];
        uint256 posted = a.posted;
        (a.required, a.pending, a.flags) = ((im + vm).toUint80(), 0, a.flags & ~REVALUING);
        emit MarginRefreshed(account, im, vm, posted);

        _callOrRelease(account, posted, im + vm);
        return true;
    }

    /// @dev One position of the run, given its open obligations `o` (read from the CCP for the
    /// page): resting quantities released as far as filled (or dropped on a new day), its
    /// scenario P&L added to `pnl`; returns its mark-to-market `q P + c` at the settlement price.
    /// The position slot is read once and written only if something in it changed; a position
    /// with nothing at risk (no quantity, nothing resting) adds only its cash, without reading
    /// the security's price and shocks.
    function _revaluePosition(
        address account,
        uint256 securityId,
        OpenObligation memory o,
        bool newDay,
        int256[16] memory pnl
    ) private returns (int256) {
        Position memory p = _positions[account][securityId];
        (int256 q, int64 quantity, uint32 cycle, int56 traded) =
            (o.quantity, SafeCast.toInt64(o.quantity), SafeCast.toUint32(o.tradingCycle), SafeCast.toInt56(o.traded));
        (uint48 openBuy, uint48 openSell) = _releaseFilled(p, o.traded, cycle, newDay);
        if (
            quantity != p.quantity || openBuy != p.openBuy || openSell != p.openSell || cycle != p.tradedCycle
                || traded != p.traded
        ) _positions[account][securityId] = Position(quantity, openBuy, openSell, cycle, traded, true);
        if (q == 0 && openBuy == 0 && openSell == 0) return o.cashAmount;
        uint256 price = _priceOf(securityId);
        RiskMath.addScenarioPnl(
            pnl, q + int256(uint256(openBuy)), q - int256(uint256(openSell)), price, _shocks[securityId]
        );
        return q * int256(price) + o.cashAmount;
    }

    /// @dev The resting quantities of `p` once those filled since the last revaluation are
    /// released: the net change of the trading cycle's quantity `d` is at most the buys filled
    /// (d > 0) or the sells filled (d < 0), so releasing `|d|` never releases more than filled
    /// (conservative: a buy and a sell that both filled stay counted until the next margin day).
    /// On a new margin day every resting quantity is dropped instead.
    function _releaseFilled(Position memory p, int256 traded, uint32 cycle, bool newDay)
        private
        pure
        returns (uint48 openBuy, uint48 openSell)
    {
        if (newDay) return (0, 0);
        int256 d = p.tradedCycle == cycle ? traded - p.traded : traded;
        (openBuy, openSell) = (p.openBuy, p.openSell);
        if (d > 0) openBuy -= uint48(_min(uint256(d), openBuy));
        else if (d < 0) openSell -= uint48(_min(uint256(-d), openSell));
    }
}
