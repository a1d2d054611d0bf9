// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title RiskMath — integer formulas of the risk contracts, mirrored by `smartccp.risk` (F8, F9)
/// @notice Money in cash base units (6 decimals), prices in base units per unit, shocks and
/// haircuts in basis points. Rounding always favours the CCP: margins round UP, collateral
/// values and pay-outs round DOWN. Scenario vectors are packed: scenario `s` is the int16 in
/// bits `[16 s, 16 s + 16)` of one uint256 (at most 16 scenarios per slot).
library RiskMath {
    /// @notice Basis points in 100 %.
    uint256 internal constant BPS = 10_000;
    /// @notice Scenarios that fit one packed slot.
    uint256 internal constant MAX_SCENARIOS = 16;

    /// @notice A position worth 2^128 base units or more (quantity x price): beyond any market.
    error PositionTooLarge();

    /// @notice Shock of scenario `s` (bps) in a packed vector.
    function shockAt(uint256 packed, uint256 s) internal pure returns (int256) {
        return int256(int16(uint16(packed >> (16 * s))));
    }

    /// @notice Pack `shocks` (bps, each in [-10 000, 32 767]) into one slot; also the most
    /// negative shock (or 0) and the most positive shock (or 0).
    /// @dev Callers check the length (at most MAX_SCENARIOS) and the bounds.
    function pack(int16[] calldata shocks) internal pure returns (uint256 packed, int16 worstDown, int16 worstUp) {
        for (uint256 s; s < shocks.length; ++s) {
            int16 x = shocks[s];
            packed |= uint256(uint16(x)) << (16 * s);
            if (x < worstDown) worstDown = x;
            if (x > worstUp) worstUp = x;
        }
    }

    /// @notice Add one position's scenario P&L to `pnl` (one entry per scenario, in cash base
    /// units x BPS; entries past the model's scenario count stay zero, their shocks being zero):
    /// `pnl_s += q p shock_s`, where `q` is `longQty` (the quantity if every resting buy fills)
    /// when the shock is negative and `shortQty` (if every resting sell fills) otherwise: resting
    /// orders fill in the direction that hurts. Sign: q > 0 long. Exact integers: the sum over
    /// positions in any order is the portfolio's vector.
    /// @dev The two values `q p` are checked; the per-scenario products and sums are not: with
    /// `|q p| < 2^128` (checked here) and `|shock| < 2^15`, each term is below 2^143 and no
    /// portfolio of fewer than 2^100 positions can overflow an int256. The 16 terms are written
    /// out (no loop): this runs once per position revalued.
    function addScenarioPnl(int256[16] memory pnl, int256 longQty, int256 shortQty, uint256 price, uint256 shocks)
        internal
        pure
    {
        int256 longValue = longQty * int256(price);
        int256 shortValue = shortQty * int256(price);
        if (longValue >= 2 ** 128 || longValue <= -(2 ** 128) || shortValue >= 2 ** 128 || shortValue <= -(2 ** 128)) {
            revert PositionTooLarge();
        }
        unchecked {
            if (longValue != shortValue) {
                // Resting orders: the long value where the shock is negative, else the short one.
                pnl[0] += _hurt(longValue, shortValue, shockAt(shocks, 0));
                pnl[1] += _hurt(longValue, shortValue, shockAt(shocks, 1));
                pnl[2] += _hurt(longValue, shortValue, shockAt(shocks, 2));
                pnl[3] += _hurt(longValue, shortValue, shockAt(shocks, 3));
                pnl[4] += _hurt(longValue, shortValue, shockAt(shocks, 4));
                pnl[5] += _hurt(longValue, shortValue, shockAt(shocks, 5));
                pnl[6] += _hurt(longValue, shortValue, shockAt(shocks, 6));
                pnl[7] += _hurt(longValue, shortValue, shockAt(shocks, 7));
                pnl[8] += _hurt(longValue, shortValue, shockAt(shocks, 8));
                pnl[9] += _hurt(longValue, shortValue, shockAt(shocks, 9));
                pnl[10] += _hurt(longValue, shortValue, shockAt(shocks, 10));
                pnl[11] += _hurt(longValue, shortValue, shockAt(shocks, 11));
                pnl[12] += _hurt(longValue, shortValue, shockAt(shocks, 12));
                pnl[13] += _hurt(longValue, shortValue, shockAt(shocks, 13));
                pnl[14] += _hurt(longValue, shortValue, shockAt(shocks, 14));
                pnl[15] += _hurt(longValue, shortValue, shockAt(shocks, 15));
                return;
            }
            int256 v = longValue;
            pnl[0] += v * shockAt(shocks, 0);
            pnl[1] += v * shockAt(shocks, 1);
            pnl[2] += v * shockAt(shocks, 2);
            pnl[3] += v * shockAt(shocks, 3);
            pnl[4] += v * shockAt(shocks, 4);
            pnl[5] += v * shockAt(shocks, 5);
            pnl[6] += v * shockAt(shocks, 6);
            pnl[7] += v * shockAt(shocks, 7);
            pnl[8] += v * shockAt(shocks, 8);
            pnl[9] += v * shockAt(shocks, 9);
            pnl[10] += v * shockAt(shocks, 10);
            pnl[11] += v * shockAt(shocks, 11);
            pnl[12] += v * shockAt(shocks, 12);
            pnl[13] += v * shockAt(shocks, 13);
            pnl[14] += v * shockAt(shocks, 14);
            pnl[15] += v * shockAt(shocks, 15);
        }
    }

    /// @dev One scenario's term of a position with resting orders: its value if the resting buys
    /// fill where the shock is negative, if the resting sells fill otherwise. Unchecked: see
    /// addScenarioPnl.
    function _hurt(int256 longValue, int256 shortValue, int256 shock) private pure returns (int256) {
        unchecked {
            return (shock < 0 ? longValue : shortValue) * shock;
        }
    }

    /// @notice Scenario initial margin of a portfolio's P&L vector, exactly
    /// `smartccp.risk.margin.initial_margin`: `IM = ceil(max(0, max_s(-pnl_s)) / 10 000)`.
    /// Rounded up (the CCP's favour).
    function marginOf(int256[16] memory pnl) internal pure returns (uint256) {
        int256 worst;
        for (uint256 s; s < MAX_SCENARIOS; ++s) {
            if (-pnl[s] > worst) worst = -pnl[s];
        }
        return Math.ceilDiv(uint256(worst), BPS);
    }

    /// @notice Stand-alone worst case of one new order, rounded up: `q * p * |worst shock| / BPS`
    /// for the shock that hurts its side (down for a buy, up for a sell), plus what the order
    /// loses at once against the settlement price if it executes at its limit (`q * (limit -
    /// p)` for a buy above `p`, `q * (p - limit)` for a sell below). By sub-additivity of the
    /// scenario maximum, margin + this bound is never below the margin with the order in it.
    function orderMargin(uint256 quantity, uint256 limitPrice, uint256 settlementPrice, int16 worstShock, bool buy)
        internal
        pure
        returns (uint256 margin)
    {
        uint256 magnitude = worstShock < 0 ? uint256(-int256(worstShock)) : uint256(int256(worstShock));
        margin = Math.ceilDiv(quantity * settlementPrice * magnitude, BPS);
        if (buy && limitPrice > settlementPrice) margin += quantity * (limitPrice - settlementPrice);
        if (!buy && limitPrice < settlementPrice) margin += quantity * (settlementPrice - limitPrice);
    }

    /// @notice Collateral value of `units` at `price` less `haircutBps`, rounded DOWN.
    function haircutValue(uint256 units, uint256 price, uint256 haircutBps) internal pure returns (uint256) {
        return Math.mulDiv(units * price, BPS - haircutBps, BPS);
    }

}
