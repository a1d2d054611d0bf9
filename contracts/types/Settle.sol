// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice How a matched trade settles.
/// Ccp: novated to the CCP, netted per cycle, settled DVP after the cycle's deadline.
/// Direct: gross delivery versus payment between the two parties at once (T+0).
enum Route {
    Ccp,
    Direct
}

/// @notice The settlement instruction a Trade venue creates for every match (F4):
/// `Settle = signed_by_Trade{Order_Bid, Order_Offer, amount, security, quantity, deadline}`.
/// Only a registered venue can hand one to settlement, and a venue creates one only from two
/// orders whose EIP-712 signatures it verified; the order hashes make the link to both signatures.
/// @dev Amounts: `price` is cash base units (6 decimals) per one unit of the security;
/// `cashAmount` = `quantity` * `price` exactly (no rounding). `deadline` is unix seconds.
struct Settle {
    uint256 tradeId; // unique per venue (see ITradeVenue.Traded)
    bytes32 bidOrderHash;
    bytes32 offerOrderHash;
    address buyer; // owner of the bid: pays cash, receives securities
    address seller; // owner of the offer: delivers securities, receives cash
    uint256 securityId;
    uint256 quantity;
    uint256 price;
    uint256 cashAmount;
    uint64 deadline;
    Route route;
}
