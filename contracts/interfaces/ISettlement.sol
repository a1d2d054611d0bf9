// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Settle} from "../types/Settle.sol";

/// @title ISettlement — where Trade venues hand their settlement instructions
/// @notice Implemented by the CCP settlement contract. A venue calls `settle` once per match,
/// inside the matching transaction. For `Route.Direct` the implementation moves cash and
/// securities between the parties at once (gross DVP) or reverts the whole match; for
/// `Route.Ccp` it novates the trade into two legs against the CCP and nets them into the cycle.
interface ISettlement {
    /// @notice Accept a settlement instruction from a registered venue.
    function settle(Settle calldata instruction) external;
}
