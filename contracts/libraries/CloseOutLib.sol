// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title CloseOutLib — how much of a failing account's receivables is released, and how much
/// the CCP withholds to sell out or buy in (F7)
/// @notice Rule: a failing account's receivables are released in proportion to what it did pay
/// in, rounded down (against the failing account); the rest is withheld.
library CloseOutLib {
    /// @notice Of `receivable` (securities or cash), the part released when `paid` of `due` was
    /// paid in. Rounds down. Zero `due` means nothing was owed: everything is released.
    function releasedDown(uint256 receivable, uint256 paid, uint256 due) internal pure returns (uint256) {
        if (due == 0) return receivable;
        return Math.mulDiv(receivable, paid, due);
    }

    /// @notice Average price (cash base units per unit) of a position, rounded up or down.
    /// Zero if the quantity is zero.
    function averagePrice(uint256 cashAmount, uint256 quantity, bool roundUp) internal pure returns (uint256) {
        if (quantity == 0) return 0;
        return roundUp ? Math.ceilDiv(cashAmount, quantity) : cashAmount / quantity;
    }

    /// @notice Net result for the CCP of closing out one obligation: `inflow` (paid in, sale
    /// proceeds, withheld cash) against `outflow` (cash owed for it, buy-in cost).
    /// @return shortfall Cash the CCP is missing (to charge to the member), or zero.
    /// @return surplus Cash left over (returned to the failing account), or zero.
    function net(uint256 inflow, uint256 outflow) internal pure returns (uint256 shortfall, uint256 surplus) {
        // Unchecked: each subtraction is guarded by the comparison.
        unchecked {
            if (inflow >= outflow) return (0, inflow - outflow);
            return (outflow - inflow, 0);
        }
    }
}
