// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Side} from "../types/Order.sol";

/// @title IOrderGate — the pre-trade risk gate a venue consults before an order reaches its book
/// @notice F10: `Order_CCP = signed_by_Risk{Order}`. On chain the approval is synchronous: the venue
/// calls `checkOrder` with the order's worst case inside the placing transaction, and the order
/// proceeds only if the call returns. The gate refuses by reverting with a named error (e.g.
/// `InsufficientMargin(member, required, posted)`); the venue lets that error through unchanged,
/// so a refused order changes nothing. The gate may record the order's exposure. A SmartCCP
/// system contract's own Direct order (the CCP's close-out) is not sent to the gate.
interface IOrderGate {
    /// @notice Approve an order of `owner` for `quantity` units of `securityId` at worst `price`
    /// (cash base units per unit: the limit price, or the protection price of a market-type
    /// order), or revert. Called by registered venues only.
    function checkOrder(address owner, uint256 securityId, Side side, uint256 quantity, uint256 price) external;
}
