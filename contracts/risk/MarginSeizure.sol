// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";
import {OmnibusAccount} from "../libraries/OmnibusAccount.sol";
import {RiskMath} from "../libraries/RiskMath.sol";
import {MarginBase} from "./MarginBase.sol";

/// @title MarginSeizure — waterfall layer 1 for Margin: seize, release and port a defaulter's collateral
/// @notice Runs only by delegatecall from the Margin contract that created it, on Margin's
/// storage (both derive from MarginBase alone, so their layouts are one); Margin checks the
/// caller's role and re-entrancy first. Called directly it refuses (OnlyDelegateCall).
/// @dev Segregation lives here: a loss is taken from the margin account whose obligations caused
/// it (a client's), then from the clearing member's house account, and from no other account.
contract MarginSeizure is MarginBase {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    constructor(address ccp, address membership, address cash, address securities, uint8 nScenarios, address operator)
        MarginBase(ccp, membership, cash, securities, nScenarios, operator)
    {}

    /// @notice Waterfall layer 1 (see IMargin.seizeMargin). Only by delegatecall from Margin,
    /// which checks the caller's role and re-entrancy.
    /// @dev Segregation: a loss of a client account of `member` is taken from that account
    /// first, then from the house; a house loss only from the house. No other account is read.
    function seizeMargin(address member, address wallet, uint256 amount, address to)
        external
        returns (uint256 taken)
    {
        _requireDelegated();
        address account = _members[wallet].account;
        if (account != member && account != address(0) && _owners[account].member == member) {
            taken = _seize(account, amount, to);
        }
        if (taken < amount) taken += _seize(member, amount - taken, to);
    }

    /// @dev Up to `amount` of `account`'s collateral in cash to `to`. Cash first; if it does not
    /// cover `amount`, the securities collateral is sold on the liquidation market, line by line
    /// until the rest is raised (lines without units are skipped), each at no less than its
    /// haircut value per unit `floor(price * (1 - haircut))`, only as many units as the rest
    /// needs at that floor. The proceeds join the account's cash, then the cash is taken. What
    /// the market paid and took is measured on this contract's balances; a failed or refused
    /// sale leaves the units in place.
    function _seize(address account, uint256 amount, address to) private returns (uint256 taken) {
        _restartRun(account);
        uint256 held = _cashHeld[account].cash;
        uint256 proceeds;
        if (held < amount) proceeds = _liquidate(account, amount - held);
        held += proceeds;
        taken = amount < held ? amount : held;
        CashHeld memory h = _touchCash(account); // after the sale: its proceeds joined the cash
        h.cash = uint96(held - taken); // cast: at most the cash held plus the sale's proceeds, a uint96
        _cashHeld[account] = h;
        Account storage a = _accounts[account];
        a.posted = (uint256(a.posted) + proceeds - taken).toUint80();
        if (taken == 0) return 0;
        // What is left must still cover the account's requirement (its other positions): if it
        // does not, the account is called, as a revaluation would have (a defaulter is not).
        if (a.flags & DEFAULTED == 0) _callOrRelease(account, a.posted, a.required);
        emit MarginSeized(account, taken, to);
        _cash.safeTransfer(to, taken);
    }

    /// @notice A closed default's leftover house collateral to its estate (see
    /// IMargin.releaseCollateral), and its omnibus account's unless that is to follow its
    /// clients (all ported to one member: `portOmnibusCollateral`). Only by delegatecall from
    /// Margin (role and re-entrancy there).
    /// @dev The omnibus collateral is its clients', net of their own losses (layer 1 took those
    /// from it first): it goes to the estate for the account of the clients, whom the CCP does
    /// not know one by one (EMIR Art. 48(7)), securities included.
    function releaseCollateral(address member, address to, bool withSecurities)
        external
        returns (uint256 cashReturned)
    {
        _requireDelegated();
        if (_accounts[member].flags & DEFAULTED == 0 || to == address(0)) revert ZeroInput();
        cashReturned = _release(member, to, withSecurities);
        address omnibus = OmnibusAccount.omnibusOf(member);
        OmnibusPort memory p = _omnibusPorts[omnibus];
        bool follows = _wallets[omnibus].length == 0 && p.to != address(0) && !p.split;
        if (_owners[omnibus].member == member && !follows) _release(omnibus, to, true);
    }

    /// @dev Send `account`'s cash collateral (and its unpaid interest, from the interest account)
    /// to `to`, and, if `withSecurities`, its first `MAX_BATCH` securities lines (the rest by
    /// `releaseRemainingCollateral(account, ...)`); returns the cash sent.
    function _release(address account, address to, bool withSecurities) private returns (uint256 cashReturned) {
        _restartRun(account);
        CashHeld memory h = _touchCash(account);
        cashReturned = h.cash;
        uint256 interest = h.interest;
        h.cash = 0;
        h.interest = 0;
        _cashHeld[account] = h;
        Account storage a = _accounts[account];
        a.posted = (uint256(a.posted) - cashReturned).toUint80();
        emit CollateralReleased(account, to, cashReturned);
        if (cashReturned != 0) _cash.safeTransfer(to, cashReturned);
        _payInterest(account, to, interest);
        if (withSecurities) {
            (_releaseTo[account], _releaseCursor[account]) = (to, 0);
            _releaseLines(account, to, MAX_BATCH);
        }
    }

    /// @notice More lines of a released default (see IMargin.releaseRemainingCollateral): its
    /// house's (`member`) or its omnibus account's. Only by delegatecall from Margin (re-entrancy
    /// there).
    function releaseRemainingCollateral(address member, uint256 maxLines) external returns (bool done) {
        _requireDelegated();
        address to = _releaseTo[member];
        if (to == address(0) || maxLines == 0) revert ZeroInput();
        return _releaseLines(member, to, maxLines);
    }

    /// @dev Send up to `maxLines` of a closed default's securities collateral lines to `to`,
    /// from where the last call stopped; true once every line is sent.
    function _releaseLines(address member, address to, uint256 maxLines) private returns (bool done) {
        uint64[] storage ids = _collateralIds[member];
        uint256 i = _releaseCursor[member];
        uint256 end = _pageEnd(i, ids.length, maxLines);
        for (; i < end; ++i) {
            uint256 sid = ids[i];
            uint256 units = _emptyLine(member, sid);
            if (units != 0) _securities.safeTransferFrom(address(this), to, sid, units, "");
        }
        _releaseCursor[member] = i;
        done = i == ids.length;
        if (done) delete _releaseTo[member];
    }

    /// @notice Collective porting of a defaulter's omnibus collateral (see
    /// IMargin.portOmnibusCollateral). Only by delegatecall from Margin (re-entrancy there).
    /// @dev Where the clients went, and the cursor over the lines, are `_omnibusPorts[from]`
    /// (Margin notes the destination as each client leaves). Nothing leaves this contract: the
    /// units and cash change account only.
    function portOmnibusCollateral(address member, uint256 maxLines) external returns (bool done) {
        _requireDelegated();
        if (maxLines == 0) revert ZeroInput();
        if (_accounts[member].flags & DEFAULTED == 0) revert NotFlaggedInDefault(member);
        address from = OmnibusAccount.omnibusOf(member);
        uint256 left = _wallets[from].length;
        if (left != 0) revert OmnibusClientsLeft(from, left);
        OmnibusPort memory p = _omnibusPorts[from];
        address to = p.to;
        if (to == address(0) || p.split) revert OmnibusNotPorted(member);
        _restartRun(from);
        _restartRun(to);
        // The cash and its unpaid interest, both accrued to now on each side first.
        CashHeld memory h = _touchCash(from);
        CashHeld memory g = _touchCash(to);
        uint256 moved = h.cash;
        g.cash = (uint256(g.cash) + moved).toUint96();
        g.interest = (uint256(g.interest) + h.interest).toUint96();
        h.cash = 0;
        h.interest = 0;
        _cashHeld[from] = h;
        _cashHeld[to] = g;
        _accounts[from].posted = (uint256(_accounts[from].posted) - moved).toUint80();
        _accounts[to].posted = (uint256(_accounts[to].posted) + moved).toUint80();
        // The securities lines, resumably.
        uint64[] storage ids = _collateralIds[from];
        uint256 i = p.cursor;
        uint256 end = _pageEnd(i, ids.length, maxLines);
        for (; i < end; ++i) {
            uint256 sid = ids[i];
            uint256 units = _emptyLine(from, sid);
            if (units == 0) continue;
            CollateralLine storage m = _lines[to][sid];
            if (!m.listed) {
                _collateralIds[to].push(uint64(sid));
                m.listed = true;
            }
            _revalueLine(to, sid, uint256(m.units) + units);
            emit SecuritiesCollateralMoved(to, sid, units.toInt256());
        }
        done = i == ids.length;
        if (done) i = 0; // a later call walks the lines again from the first
        _omnibusPorts[from].cursor = uint64(i);
        emit OmnibusCollateralPorted(member, from, to, moved, done);
        Account memory t = _accounts[to];
        if (t.posted >= t.required && _calls[to].deadline != 0) _callOrRelease(to, t.posted, t.required);
    }

    /// @dev Empty `account`'s collateral line of `sid`, its value taken off `posted`; returns
    /// the units it held (0: nothing to move).
    function _emptyLine(address account, uint256 sid) private returns (uint256 units) {
        CollateralLine storage l = _lines[account][sid];
        units = l.units;
        if (units == 0) return 0;
        _accounts[account].posted -= uint80(l.value);
        (l.units, l.value) = (0, 0);
        emit SecuritiesCollateralMoved(account, sid, -units.toInt256());
    }

    /// @dev The end of a page of at most `maxItems` from `i` in a list of `length`.
    function _pageEnd(uint256 i, uint256 length, uint256 maxItems) private pure returns (uint256) {
        return length - i > maxItems ? i + maxItems : length;
    }

    /// @dev Layer 1's securities part: sell `account`'s collateral until `short` cash is raised
    /// (or no line is left); returns the proceeds, not yet credited to the account's cash. Each
    /// line sold is revalued with its remaining units (its change of value booked in `posted`).
    function _liquidate(address account, uint256 short) private returns (uint256 proceeds) {
        ICloseOutMarket market = _liquidationMarket;
        if (address(market) == address(0)) return 0;
        uint64[] storage ids = _collateralIds[account];
        for (uint256 i; i < ids.length && proceeds < short; ++i) {
            uint256 sid = ids[i];
            uint256 held = _lines[account][sid].units;
            SecurityRisk memory r = _risk[sid];
            uint256 floorPrice = RiskMath.haircutValue(1, r.price, r.haircutBps);
            if (held == 0 || floorPrice == 0) continue;
            uint256 offered = _min(held, Math.ceilDiv(short - proceeds, floorPrice));
            uint256 cashBefore = _cash.balanceOf(address(this));
            uint256 unitsBefore = _securities.balanceOf(address(this), sid);
            try market.sell(sid, offered, floorPrice) {} catch {}
            uint256 cashAfter = _cash.balanceOf(address(this));
            uint256 unitsAfter = _securities.balanceOf(address(this), sid);
            uint256 got = cashAfter > cashBefore ? cashAfter - cashBefore : 0;
            uint256 sold = unitsBefore > unitsAfter ? unitsBefore - unitsAfter : 0;
            if (sold > offered || cashAfter < cashBefore) revert MarketOverdrew(sid, sold, offered);
            if (sold == 0 && got == 0) continue;
            _revalueLine(account, sid, held - sold);
            proceeds += got;
            emit CollateralLiquidated(account, sid, sold, got);
        }
    }
}
