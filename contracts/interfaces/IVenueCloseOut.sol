// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ICloseOutMarket} from "./ICloseOutMarket.sol";

/// @title IVenueCloseOut — the CCP's sell-out and buy-in as immediate orders on a Trade venue (F7)
/// @notice An `ICloseOutMarket` that trades on one venue's book in its own name. It is a
/// registered SYSTEM account, so the venue accepts its unsigned orders through `placeTrusted`
/// (owner == caller) and settles each fill gross at once (Route.Direct) against any maker: the
/// CCP's direct DVP moves cash and units between the maker and this contract inside the venue
/// call. Each `sell` / `buy` is one Limit ImmediateOrCancel order; nothing rests and nothing is
/// left in this contract after a call: the proceeds, units bought, unsold units and unused cash
/// go back to the caller (the CCP).
///
/// Rounding, always against the close-out's counterparty book, never beyond the caller's limit:
/// - quantities are rounded DOWN to the security's lot (a sub-lot rest is not taken at all);
/// - a sell's limit is `minPrice` rounded UP to the tick; `minPrice == 0` becomes one tick, so a
///   sell-out "at any price" is bounded only by the bids resting on the book;
/// - a buy's limit is `maxPrice` rounded DOWN to the tick, capped at the book's highest tick.
///
/// Assumptions: the venue lists the security in continuous trading (otherwise it refuses the
/// order and the call reverts, which the CCP treats as nothing traded); makers approved the CCP
/// on both ledgers (members do: the CCP pays them in and out); an order gate on the venue lets a
/// system account's orders through; `quoteBuy` sees displayed size only (hidden orders and
/// iceberg reserves are not counted) and at most `QUOTE_LEVELS` price levels, and a level's size
/// may include orders that can no longer match, so it is an estimate, not a promise.
interface IVenueCloseOut is ICloseOutMarket {
    // ─── Events ──────────────────────────────────────────────────────────────────────────────
    /// @notice A sell-out order ran: `offered` units (after lot rounding) at limit `limitPrice`;
    /// `sold` units went to bidders for `proceeds` cash, both forwarded to the CCP with the rest.
    event SoldOnVenue(
        uint256 indexed securityId, uint256 nonce, uint256 offered, uint256 limitPrice, uint256 sold, uint256 proceeds
    );
    /// @notice A buy-in order ran: `wanted` units (after lot rounding and the cash available) at
    /// limit `limitPrice`; `bought` units for `cost` cash, forwarded to the CCP with unused cash.
    event BoughtOnVenue(
        uint256 indexed securityId, uint256 nonce, uint256 wanted, uint256 limitPrice, uint256 bought, uint256 cost
    );

    // ─── Errors ──────────────────────────────────────────────────────────────────────────────
    /// @notice Only the configured client (the CCP, or Margin) may sell or buy through this
    /// contract.
    error OnlyClient(address caller);
    /// @notice A constructor address was zero.
    error ZeroAddress();
    /// @notice `maxMakers` is zero or above the venue's bound `max`.
    error InvalidMaxMakers(uint256 maxMakers, uint256 max);
    /// @notice Units arrived from a transfer this contract did not expect (`operator` started it).
    error UnexpectedTransfer(address operator);

    // ─── Views ───────────────────────────────────────────────────────────────────────────────
    /// @notice The venue whose book the close-out trades on.
    function venue() external view returns (address);
    /// @notice The CCP, spender of this contract's assets in every direct DVP.
    function ccp() external view returns (address);
    /// @notice The contract allowed to call `sell` and `buy` (the CCP, or Margin).
    function client() external view returns (address);
    /// @notice Resting orders one close-out order may match (the venue's `maxMakers`).
    function maxMakers() external view returns (uint256);
    /// @notice Close-out orders placed so far (the nonce of the last one).
    function orderCount() external view returns (uint256);
}
