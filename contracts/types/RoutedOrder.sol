// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Side} from "./Order.sol";

/// @notice What a routed order does with the part no venue can fill at once.
/// ImmediateOrCancel: it is cancelled. RestOnBestVenue: it rests as a limit order at the limit
/// price on the venue with the best price on the order's own side (good-till-cancel, or
/// good-till-date when the order has an expiry).
enum RouteTimeInForce {
    ImmediateOrCancel,
    RestOnBestVenue
}

/// @notice An order a client signs to the BBO contract (F5), EIP-712 typed data in the BBO's own
/// domain ("SmartCCP BBO", version "1", chain id, BBO address). The BBO splits it into child
/// orders on the venues, best price first. `smartccp.trading.bbo.ROUTED_ORDER_FIELDS` is its Python twin;
/// a test keeps the type hashes equal.
/// @dev Prices are cash base units per unit of the security; quantities whole units. Children
/// clear through the CCP and use the owner's own wallets.
struct RoutedOrder {
    address owner;
    uint256 securityId;
    Side side;
    uint64 quantity;
    uint64 limitPrice; // buy: pay at most this; sell: receive at least this
    RouteTimeInForce timeInForce;
    uint64 expiry; // refused after it (0 = none); a resting rest expires with it
    uint256 nonce; // each nonce of an owner can be used once on the BBO
}
