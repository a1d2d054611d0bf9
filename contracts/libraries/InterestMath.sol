// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title InterestMath — interest on cash collateral by one index (Margin's), accrued lazily
/// @notice One rule for every balance that earns (margin cash, default fund contributions, cash
/// pre-funded in the CCP): a balance booked at index `then` has earned, at index `now`,
/// `balance * (now - then) / then` more, rounded down (against the member). An index of 0 means
/// never booked (nothing earned yet).
library InterestMath {
    /// @notice `accrued` plus what `balance` earned from index `then` to `now` (nothing if `then`
    /// is 0 or the index did not grow); reverts if the result leaves 96 bits.
    function accrue(uint256 accrued, uint256 balance, uint256 then, uint256 now_) internal pure returns (uint96) {
        if (then != 0 && now_ > then) accrued += (balance * (now_ - then)) / then;
        return SafeCast.toUint96(accrued);
    }
}
