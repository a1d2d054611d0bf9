// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Route} from "./Settle.sol";

/// @notice Buy (bid) or sell (offer).
enum Side {
    Buy,
    Sell
}

/// @notice Order types (F4).
/// Limit: rests at `price`. Market: executes at once up to the protection `price`, never rests.
/// Stop / StopLimit: parked until the last trade price reaches `triggerPrice` (buy: at or above,
/// sell: at or below), then a Market / Limit order. MarketIfTouched: the opposite trigger
/// direction (buy: at or below, sell: at or above), then Market. MarketToLimit: executes as Market,
/// the unfilled rest becomes a Limit at the first fill price. Hidden: a Limit not shown in depth,
/// queued behind displayed orders at its price. Iceberg: a Limit showing `displayQuantity` at a
/// time; each refill from the reserve joins the back of the queue.
enum OrderType {
    Limit,
    Market,
    Stop,
    StopLimit,
    MarketIfTouched,
    MarketToLimit,
    Hidden,
    Iceberg
}

/// @notice How long an order may stay: GoodTillCancel rests until cancelled or filled;
/// ImmediateOrCancel fills what it can and cancels the rest; FillOrKill fills completely at once
/// or not at all; Day expires at the end of the venue's session; GoodTillDate at `expiry`.
/// Any order is "timed" when `validFrom` is in the future: it is refused until then.
enum TimeInForce {
    GoodTillCancel,
    ImmediateOrCancel,
    FillOrKill,
    Day,
    GoodTillDate
}

/// @notice A signed order (F3): `Order = sign_owner{security, side, price (range), quantity,
/// execution time, validity, owner's DLT-PS wallet, owner's DLT-CSD wallet}`, EIP-712 typed data
/// bound to the chain id and the venue's address. The Python signer (smartccp.trading.orders)
/// follows this very definition; tests/trading/test_orders.py checks the order hash (OrderHashing).
/// @dev Prices are cash base units (6 decimals) per one unit of the security; quantities whole
/// units. Wallets must be the owner's own accounts in this version (see WalletNotOwner); zero
/// means exactly that, "the owner's own", and is what smartccp signs by default (a zero address
/// costs 12 bytes less calldata per wallet than the owner's written out: 240 gas an order).
/// `counter` (Seaport's idea): `cancelAll` bumps the owner's counter on the venue, which kills
/// every signed order not yet placed and every resting one at once.
struct Order {
    address owner;
    uint256 securityId;
    Side side;
    OrderType orderType;
    TimeInForce timeInForce;
    Route route;
    uint64 price; // limit price; for Market, Stop, MarketIfTouched, MarketToLimit the protection price
    uint64 triggerPrice; // Stop, StopLimit, MarketIfTouched
    uint64 quantity;
    uint64 displayQuantity; // Iceberg: the visible peak
    uint64 validFrom; // execution time: refused before it (0 = at once)
    uint64 expiry; // GoodTillDate: refused and stops matching after it
    address cashWallet; // DLT-PS (zero: the owner's own)
    address securitiesWallet; // DLT-CSD (zero: the owner's own)
    uint256 nonce; // each nonce of an owner can be used once
    uint16 counter; // must equal the owner's counter on the venue: bumping it cancels all orders
}

/// @notice Why (part of) an order left a venue's market unfilled: OrderCancelled's `reason`.
/// Owner is its owner's own withdrawal (`cancelOrder`, a quote replaced), reported as
/// OrderWithdrawn and never in OrderCancelled; inside the venue it also means "a resting entry
/// that can still match". The venue carries these as `uint8(CancelReason.X)` constants: under
/// via-IR an enum-typed value is range-checked where it is compared or emitted (VenueAuctions
/// would grow by 50 bytes and pay for seven checks), so the event's ABI type stays uint8.
enum CancelReason {
    Owner, // 0: withdrawn by its owner (OrderWithdrawn), or still live
    Unfilled, // 1: the unfilled rest of an immediate order (or a rest that would cross the book)
    Expired, // 2: past its expiry
    CounterBumped, // 3: its owner bumped its counter (`cancelAll`)
    OwnerInactive, // 4: its owner (or the owner's KYC) is no longer active
    SelfTrade, // 5: self-trade prevention
    NotSettled // 6: its owner could not settle a fill (gross DVP, naked short, pre-funding; `VenueCore._trySettle`)
}

/// @notice Trading phase of a security on a venue.
/// Closed: no order entry. PreOpen / PreClose: call auction, orders are collected and uncrossed at
/// one price. Continuous: continuous auction (immediate matching by price-time priority).
enum Phase {
    Closed,
    PreOpen,
    Continuous,
    PreClose
}
