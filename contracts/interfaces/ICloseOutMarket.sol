// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ICloseOutMarket — where the CCP sells out and buys in after a settlement failure (F7)
/// @notice Implemented later by a Trade venue (a close-out order routed to its book); a mock with
/// inventory stands in for it in tests. Assumptions the CCP makes about an implementation:
/// - it is registered as a system account and set by the CCP operator, so it is trusted not to
///   re-enter and to move no more than the amounts below;
/// - `sell` takes at most `quantity` units from the caller (the caller approved it for all) and
///   pays the proceeds to the caller; `buy` takes at most `quantity * maxPrice` cash from the
///   caller (the caller approved that much) and delivers the units to the caller;
/// - fills may be partial; the CCP measures what actually moved by its own balances and uses the
///   return values for events only.
interface ICloseOutMarket {
    /// @notice Sell up to `quantity` units of `securityId` taken from the caller, at no less than
    /// `minPrice` cash base units per unit; the proceeds are paid to the caller.
    /// @return sold Units sold.
    /// @return proceeds Cash base units paid to the caller.
    function sell(uint256 securityId, uint256 quantity, uint256 minPrice)
        external
        returns (uint256 sold, uint256 proceeds);

    /// @notice Buy up to `quantity` units of `securityId` for the caller, at no more than
    /// `maxPrice` cash base units per unit, paid from the caller's cash allowance.
    /// @return bought Units delivered to the caller.
    /// @return cost Cash base units taken from the caller.
    function buy(uint256 securityId, uint256 quantity, uint256 maxPrice) external returns (uint256 bought, uint256 cost);

    /// @notice What buying `quantity` units of `securityId` would cost now, in cash base units
    /// (zero if it cannot be bought). The CCP asks the default handler for the part of a buy-in
    /// its withheld cash does not cover before it buys.
    function quoteBuy(uint256 securityId, uint256 quantity) external view returns (uint256 cost);
}
