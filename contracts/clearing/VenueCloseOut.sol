// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";
import {ISecurityToken} from "../interfaces/ISecurityToken.sol";
import {ITradeVenue} from "../interfaces/ITradeVenue.sol";
import {IVenueCloseOut} from "../interfaces/IVenueCloseOut.sol";
import {Order, OrderType, Side, TimeInForce} from "../types/Order.sol";
import {Route} from "../types/Settle.sol";

/// @title VenueCloseOut — a close-out market on a Trade venue: the CCP's sell-out and buy-in (F7),
/// or Margin's sale of a defaulter's securities collateral (F9 layer 1)
/// @notice See IVenueCloseOut. One call = pull from the client (the CCP or Margin), one Limit
/// ImmediateOrCancel order in this contract's own name (Route.Direct, so each fill settles gross
/// at once through the CCP's direct DVP), then forward everything it received or did not use
/// back to the client. One deployment serves one client.
/// @dev Holds nothing between calls. Approvals: this contract lets the CCP move its cash and
/// units (the CCP is the spender in direct DVP); the CCP lets it move its units (set by
/// `CCPSettlement.setCloseOutMarket`) and approves the cash of each buy-in.
contract VenueCloseOut is IVenueCloseOut, ERC1155Holder, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Price levels of the offer side `quoteBuy` and `buy` read from the venue's depth.
    uint256 public constant QUOTE_LEVELS = 16;
    /// @dev The venue's bounds (VenueCore.MAX_TICK, MAX_QUANTITY, MAX_MAKERS), mirrored to save
    /// three calls per close-out; a venue with other bounds refuses the order, nothing is lost.
    uint256 private constant MAX_TICK = type(uint24).max;
    uint256 private constant MAX_QUANTITY = type(uint40).max;
    uint256 private constant VENUE_MAX_MAKERS = 64;

    ITradeVenue private immutable _venue;
    address private immutable _ccp;
    address private immutable _client;
    IERC20 private immutable _cash;
    IERC1155 private immutable _securities;
    ISecurityToken private immutable _terms; // the same DLT-CSD contract: tick and lot sizes
    uint256 private immutable _maxMakers;
    /// @dev Nonce of the last close-out order: makes every order hash unique.
    uint256 private _orderCount;

    /// @param venue_ The Trade venue to close out on (this contract must then be registered as a
    /// system account in the membership register the venue and ledgers follow).
    /// @param ccp_ The CCP (spender of this contract's assets in every direct DVP).
    /// @param client_ The sole caller of `sell` and `buy`: the CCP, or the Margin contract that
    /// liquidates collateral (the CCP must then admit this contract, `setLiquidationMarket`).
    /// @param maxMakers_ Resting orders one close-out order may match (1..64): bounds the gas of
    /// one close-out step, each fill costs a direct DVP (about 60k gas).
    constructor(address venue_, address ccp_, address client_, address cash_, address securities_, uint256 maxMakers_) {
        if (
            venue_ == address(0) || ccp_ == address(0) || client_ == address(0) || cash_ == address(0)
                || securities_ == address(0)
        ) revert ZeroAddress();
        if (maxMakers_ == 0 || maxMakers_ > VENUE_MAX_MAKERS) revert InvalidMaxMakers(maxMakers_, VENUE_MAX_MAKERS);
        _venue = ITradeVenue(venue_);
        _ccp = ccp_;
        _client = client_;
        _cash = IERC20(cash_);
        _securities = IERC1155(securities_);
        _terms = ISecurityToken(securities_);
        _maxMakers = maxMakers_;
        // The CCP is the spender of both legs of every direct DVP this contract is party to.
        IERC20(cash_).forceApprove(ccp_, type(uint256).max);
        IERC1155(securities_).setApprovalForAll(ccp_, true);
    }

    modifier onlyClient() {
        if (msg.sender != _client) revert OnlyClient(msg.sender);
        _;
    }

    // ─── Close-out ───────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ICloseOutMarket
    /// @dev Limit = `minPrice` rounded up to the tick (one tick if zero); quantity rounded down
    /// to the lot. Proceeds may exceed `offered * limit`: fills are at the bidders' prices.
    function sell(uint256 securityId, uint256 quantity, uint256 minPrice)
        external
        onlyClient
        nonReentrant
        returns (uint256 sold, uint256 proceeds)
    {
        (uint64 tickSize, uint32 lotSize,) = _terms.tradingTerms(securityId);
        uint256 offered = _lotDown(quantity, lotSize);
        uint256 ticks = minPrice == 0 ? 1 : (minPrice - 1) / tickSize + 1; // ceil, no overflow
        uint256 limit = ticks * tickSize; // <= minPrice + tickSize - 1: fits, tickSize is uint64
        if (ticks > MAX_TICK || limit > type(uint64).max) offered = 0; // no bid can be that high
        uint256 nonce;
        if (offered != 0) {
            nonce = ++_orderCount;
            uint256 cashBefore = _cash.balanceOf(address(this));
            uint256 unitsBefore = _securities.balanceOf(address(this), securityId);
            _securities.safeTransferFrom(msg.sender, address(this), securityId, offered, "");
            _venue.placeTrusted(_order(securityId, Side.Sell, limit, offered, nonce), _maxMakers);
            // Checked: the venue can only take units this contract sold and pay it cash.
            sold = offered - (_securities.balanceOf(address(this), securityId) - unitsBefore);
            proceeds = _cash.balanceOf(address(this)) - cashBefore;
        }
        emit SoldOnVenue(securityId, nonce, offered, limit, sold, proceeds);
        if (proceeds != 0) _cash.safeTransfer(msg.sender, proceeds);
        if (offered != sold) _securities.safeTransferFrom(address(this), msg.sender, securityId, offered - sold, "");
    }

    /// @inheritdoc ICloseOutMarket
    /// @dev Sized on the displayed offers: as many units (up to `quantity`, lot-rounded) as the
    /// cash the caller allows and holds pays for, walking the levels up to `maxPrice` rounded
    /// down to the tick; the order's limit is the deepest level needed. It pulls at most
    /// (units x that limit), so no fill can overspend, unless it holds less; then, if stale
    /// displayed entries push a fill past the cash, the venue call reverts and the order is
    /// placed again sized on the worst case (cash / limit). Unused cash goes back.
    function buy(uint256 securityId, uint256 quantity, uint256 maxPrice)
        external
        onlyClient
        nonReentrant
        returns (uint256 bought, uint256 cost)
    {
        (uint64 tickSize, uint32 lotSize,) = _terms.tradingTerms(securityId);
        uint256 ticks = maxPrice / tickSize;
        if (ticks > MAX_TICK) ticks = MAX_TICK;
        if (ticks > type(uint64).max / tickSize) ticks = type(uint64).max / tickSize;
        uint256 available = _cash.allowance(msg.sender, address(this));
        uint256 held = _cash.balanceOf(msg.sender);
        if (held < available) available = held;
        (uint256 wanted, uint256 limit,) =
            _walkOffers(securityId, _lotDown(quantity, lotSize), ticks * tickSize, available, lotSize);
        uint256 nonce;
        uint256 budget;
        if (wanted != 0) {
            budget = wanted * limit; // < 2^104: wanted <= 2^40, limit <= 2^64
            if (budget > available) budget = available;
            uint256 cashBefore = _cash.balanceOf(address(this));
            uint256 unitsBefore = _securities.balanceOf(address(this), securityId);
            _cash.safeTransferFrom(msg.sender, address(this), budget);
            nonce = ++_orderCount;
            try _venue.placeTrusted(_order(securityId, Side.Buy, limit, wanted, nonce), _maxMakers) {}
            catch (bytes memory reason) {
                // Retry only what cannot overspend; any other refusal (phase, halt) bubbles up.
                uint256 safe = _lotDown(budget / limit, lotSize);
                if (safe == 0 || safe >= wanted) _bubble(reason);
                (wanted, nonce) = (safe, ++_orderCount);
                _venue.placeTrusted(_order(securityId, Side.Buy, limit, wanted, nonce), _maxMakers);
            }
            bought = _securities.balanceOf(address(this), securityId) - unitsBefore;
            cost = budget - (_cash.balanceOf(address(this)) - cashBefore);
        }
        emit BoughtOnVenue(securityId, nonce, wanted, limit, bought, cost);
        if (bought != 0) _securities.safeTransferFrom(address(this), msg.sender, securityId, bought, "");
        if (budget != cost) _cash.safeTransfer(msg.sender, budget - cost);
    }

    /// @inheritdoc ICloseOutMarket
    /// @dev `quantity` rounded down to the lot, priced level by level against the displayed
    /// offers (at most QUOTE_LEVELS levels); zero if they do not hold that many units.
    function quoteBuy(uint256 securityId, uint256 quantity) external view returns (uint256 cost) {
        (, uint32 lotSize,) = _terms.tradingTerms(securityId);
        uint256 wanted = _lotDown(quantity, lotSize);
        if (wanted == 0) return 0;
        (uint256 units,, uint256 total) = _walkOffers(securityId, wanted, type(uint256).max, type(uint256).max, 1);
        return units == wanted ? total : 0;
    }

    // ─── ERC-1155 receipt ────────────────────────────────────────────────────────────────────

    /// @notice Accept units only from this contract's own pull (operator: itself) or from a
    /// direct DVP the CCP runs (operator: the CCP); anything else would be left behind.
    function onERC1155Received(address operator, address, uint256, uint256, bytes memory)
        public
        view
        override
        returns (bytes4)
    {
        if (operator != address(this) && operator != _ccp) revert UnexpectedTransfer(operator);
        return this.onERC1155Received.selector;
    }

    /// @notice Batch transfers are never expected.
    function onERC1155BatchReceived(address operator, address, uint256[] memory, uint256[] memory, bytes memory)
        public
        pure
        override
        returns (bytes4)
    {
        revert UnexpectedTransfer(operator);
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IVenueCloseOut
    function venue() external view returns (address) {
        return address(_venue);
    }

    /// @inheritdoc IVenueCloseOut
    function ccp() external view returns (address) {
        return _ccp;
    }

    /// @inheritdoc IVenueCloseOut
    function client() external view returns (address) {
        return _client;
    }

    /// @inheritdoc IVenueCloseOut
    function maxMakers() external view returns (uint256) {
        return _maxMakers;
    }

    /// @inheritdoc IVenueCloseOut
    function orderCount() external view returns (uint256) {
        return _orderCount;
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────────

    /// @dev Walk the displayed offers priced at most `maxPrice`, best first, taking up to
    /// `wanted` units for at most `budget` cash (whole lots). Returns the units taken, the price
    /// of the deepest level taken from (0 if none) and their cost.
    function _walkOffers(uint256 securityId, uint256 wanted, uint256 maxPrice, uint256 budget, uint256 lotSize)
        private
        view
        returns (uint256 units, uint256 deepest, uint256 cost)
    {
        if (wanted == 0 || maxPrice == 0) return (0, 0, 0);
        (,, uint256[] memory prices, uint256[] memory sizes) = _venue.depth(securityId, QUOTE_LEVELS);
        for (uint256 i; i < prices.length && prices[i] <= maxPrice && units < wanted; ++i) {
            uint256 take = wanted - units;
            if (sizes[i] < take) take = sizes[i];
            uint256 afford = _lotDown((budget - cost) / prices[i], lotSize);
            if (afford < take) take = afford;
            if (take == 0) break;
            units += take;
            cost += take * prices[i];
            deepest = prices[i];
        }
    }

    /// @dev A Limit ImmediateOrCancel Direct order of this contract in its own name.
    function _order(uint256 securityId, Side side, uint256 price, uint256 quantity, uint256 nonce)
        private
        view
        returns (Order memory)
    {
        return Order({
            owner: address(this),
            securityId: securityId,
            side: side,
            orderType: OrderType.Limit,
            timeInForce: TimeInForce.ImmediateOrCancel,
            route: Route.Direct,
            price: uint64(price), // callers bound it to uint64
            triggerPrice: 0,
            quantity: uint64(quantity), // callers bound it below MAX_QUANTITY
            displayQuantity: 0,
            validFrom: 0,
            expiry: 0,
            cashWallet: address(this),
            securitiesWallet: address(this),
            nonce: nonce,
            counter: _venue.counterOf(address(this))
        });
    }

    /// @dev Revert with `reason` unchanged (custom errors included).
    function _bubble(bytes memory reason) private pure {
        assembly ("memory-safe") {
            revert(add(reason, 32), mload(reason))
        }
    }

    /// @dev `quantity` capped at the venue's largest order, rounded down to the lot.
    function _lotDown(uint256 quantity, uint256 lotSize) private pure returns (uint256) {
        if (quantity > MAX_QUANTITY) quantity = MAX_QUANTITY;
        return quantity - quantity % lotSize;
    }
}
