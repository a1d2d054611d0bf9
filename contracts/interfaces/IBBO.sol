// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IQuoteSink} from "./IQuoteSink.sol";
import {Side} from "../types/Order.sol";
import {RoutedOrder} from "../types/RoutedOrder.sol";

/// @title IBBOEvents — the events, errors and return types of the BBO contract
interface IBBOEvents {
    /// @notice The consolidated best bid and offer of one security across the registered venues.
    /// @param bidPrice Highest displayed bid (0: no bid anywhere); cash base units per unit.
    /// @param bidSize Displayed units at `bidPrice`, summed over `bidVenues`.
    /// @param askPrice Lowest displayed offer (0: no offer anywhere).
    /// @param askSize Displayed units at `askPrice`, summed over `askVenues`.
    /// @param updatedAt The latest of: the last time a registered venue's recorded top of book
    /// for this security changed, and the last venue added or removed. It moves whenever the
    /// consolidated quote changes, and also when a venue's top changes behind the best (quotes are
    /// consolidated on read, not on each push, so a push cannot tell whether it moved the best).
    struct ConsolidatedQuote {
        uint256 securityId;
        uint256 bidPrice;
        uint256 bidSize;
        address[] bidVenues;
        uint256 askPrice;
        uint256 askSize;
        address[] askVenues;
        uint64 updatedAt;
    }

    /// @notice One child order of a routed order: sent to `venue` as an immediate-or-cancel limit
    /// at `price` (that venue's best displayed opposite price then), `filled` units executed there
    /// (at `price` or better). The resting rest of a RestOnBestVenue order is not a ChildFill.
    struct ChildFill {
        address venue;
        uint256 childNonce;
        uint256 price;
        uint256 filled;
    }

    /// @notice What `route` did: units filled over all children, the fills in sweep order, and
    /// where the rest rests (zero address and id 0 if it was cancelled or nothing was left).
    struct RouteResult {
        bytes32 orderHash;
        uint256 filled;
        ChildFill[] fills;
        address restVenue;
        uint256 restingOrderId;
    }

    // ─── Events ──────────────────────────────────────────────────────────────────────────────
    /// @notice `venue` was registered in `slot` (slots give the tie-break order).
    event VenueAdded(address indexed venue, uint8 slot);
    /// @notice `venue` was removed from `slot`: its quotes no longer count and it is not routed to.
    event VenueRemoved(address indexed venue, uint8 slot);
    /// @notice `venue`'s recorded best displayed bid and offer for `securityId` changed (pushed by
    /// the venue, or pulled by `syncQuote`). `top` is packed, low bits first: bidPrice (64) |
    /// bidSize (48) | askPrice (64) | askSize (48) | changedAt (32) (`smartccp.trading.bbo.unpack_top`).
    /// Emitted for any caller; only registered venues' tops count in the consolidated quote.
    /// Nothing indexed: one topic fewer is cheaper on every push (filter on the BBO's address).
    event VenueQuoteUpdated(uint256 securityId, address venue, uint256 top);
    /// @notice Child `childIndex` of routed order `orderHash` executed `filled` units on `venue`
    /// with limit `price`.
    event ChildRouted(bytes32 indexed orderHash, address indexed venue, uint256 childIndex, uint256 childNonce, uint256 price, uint256 filled);
    /// @notice Routed order `orderHash` (nonce now used) is done: `filled` of `quantity` executed;
    /// the rest rests on `restVenue` under `restingOrderId`, or was cancelled (zero, 0).
    event OrderRouted(bytes32 indexed orderHash, address indexed owner, uint256 indexed securityId, Side side, uint256 quantity, uint256 filled, address restVenue, uint256 restingOrderId);
    /// @notice `owner` invalidated BBO nonce `nonce` before using it.
    event NonceInvalidated(address indexed owner, uint256 nonce);

    // ─── Errors ──────────────────────────────────────────────────────────────────────────────
    /// @notice `venue` is not a registered venue.
    error VenueNotRegistered(address venue);
    /// @notice `venue` is already registered.
    error VenueAlreadyRegistered(address venue);
    /// @notice All `max` venue slots are taken.
    error TooManyVenues(uint256 max);
    /// @notice The zero address where a venue is required.
    error ZeroAddress();
    /// @notice The signature recovers to `signer`, not the order's owner.
    error SignerNotOwner(address signer, address owner);
    /// @notice `owner` already used or invalidated BBO nonce `nonce`.
    error NonceUsed(address owner, uint256 nonce);
    /// @notice The routed order expired at `expiry`.
    error OrderExpired(uint64 expiry);
    /// @notice A quantity of zero.
    error ZeroQuantity();
    /// @notice A limit price of zero.
    error ZeroPrice();
    /// @notice `price` is not a multiple of the security's tick size.
    error OffTick(uint256 price, uint256 tickSize);
    /// @notice `quantity` is not a multiple of the security's lot size.
    error OffLot(uint256 quantity, uint256 lotSize);
    /// @notice `maxChildren` must be between 1 and `max`.
    error TooManyChildren(uint256 maxChildren, uint256 max);
    /// @notice `levels` must be between 1 and `max`.
    error TooManyLevels(uint256 levels, uint256 max);
    /// @notice No registered venue trades `securityId` continuously right now.
    error NoTradingVenue(uint256 securityId);
    /// @notice `securityId` is halted on DLT-CSD (same selector as ISecurityToken's).
    error SecurityHalted(uint256 securityId);
}

/// @title IBBO — consolidated best bid and offer across venues, and best-price routing (F5)
/// @notice Quotes: every registered venue pushes its best displayed bid and offer (IQuoteSink)
/// after each operation on its book. The BBO keeps one storage word per (security, venue): the
/// venue's last top, keyed by the pushing address itself, written only when it changed. A push
/// reads nothing else and does no consolidation; `quoteOf` consolidates on read over the
/// registered venues' words (at most 2 * MAX_VENUES + 1 storage reads, no external call). Only
/// quotes that can be traded against now count (#23): a venue trading the security continuously,
/// the security not halted. When the security leaves continuous trading on a venue (closed, a
/// PreOpen or PreClose call auction) or is halted on DLT-CSD, the venue pushes an empty top, so
/// its orders leave the consolidated quote at once; it pushes its top again when trading resumes
/// there (the end of the opening auction, `setPhase` to Continuous, the halt lifted). Routing
/// checks the same live (`phaseOf`, the halt) and never sends a child to such a venue.
/// Routing: a client signs a RoutedOrder to this contract; it checks the signature and nonce
/// once, then sweeps the venues that trade the security continuously, best price first, sending
/// each an immediate-or-cancel child at that venue's best price (placeTrusted, ROUTER_ROLE), until
/// the order is filled, its limit is reached or `maxChildren` children were sent. Prices come from
/// the venues' live `topOfBook`, so no child executes at a price worse than one displayed on
/// another routable venue at that moment (no trade-through).
///
/// Tie-break between venues at the same price: larger displayed size first, then the lower venue
/// slot (slots are given in registration order; a removed venue's slot is reused by the next).
///
/// Trusted: the operator (registers venues, and must grant this contract each venue's
/// ROUTER_ROLE and make it the venue's quote sink); registered venues (their pushes are taken as
/// they come; `syncQuote` re-reads them). Assumes venues report prices below 2^64 and sizes below
/// 2^48 (larger values are recorded as 2^64 - 1 and 2^48 - 1). A child a venue refuses (self-trade, risk gate,
/// membership) reverts the whole route, so a route is all or nothing.
interface IBBO is IBBOEvents, IQuoteSink {
    // ─── Routing ─────────────────────────────────────────────────────────────────────────────
    /// @notice Route a signed order to the best prices across the venues.
    /// @param order The client's order; `owner` must have signed it with this contract's domain.
    /// @param signature The owner's EIP-712 signature of `order`.
    /// @param maxChildren At most this many child orders (1..MAX_CHILDREN), the resting one
    /// included; if the cap stops the sweep while a venue still crosses the limit, the rest is
    /// cancelled whatever the time in force (it must not rest crossing another venue's price).
    /// @return result The fills per venue in sweep order and where the rest rests.
    function route(RoutedOrder calldata order, bytes calldata signature, uint256 maxChildren)
        external
        returns (RouteResult memory result);
    /// @notice Invalidate one of the caller's BBO nonces before its routed order is used.
    function invalidateNonce(uint256 nonce) external;

    // ─── Venues and quotes ───────────────────────────────────────────────────────────────────
    /// @notice Register a venue in the lowest free slot. Operator only. Only tops the venue pushes
    /// from its registration on count (older ones may be stale), so a venue with books already
    /// open is not known to the BBO until its top next changes or `syncQuote` runs.
    function addVenue(address venue) external;
    /// @notice Remove a venue: from now its quotes do not count and it is not routed to; its
    /// pushes are still taken (they never revert, so its own trading goes on) but not read.
    /// Operator only.
    function removeVenue(address venue) external;
    /// @notice Re-read every registered venue's `topOfBook(securityId)` and record it; a venue not
    /// in continuous trading in it (`phaseOf`), or the security halted, is recorded with an empty
    /// top, as the venue itself would push. Anyone. Reverts UnknownSecurity for an unknown id.
    function syncQuote(uint256 securityId) external;

    // ─── Views ───────────────────────────────────────────────────────────────────────────────
    /// @notice The consolidated best bid and offer of `securityId` and which venues hold them,
    /// over the registered venues trading it continuously (the others' recorded tops are empty).
    function quoteOf(uint256 securityId) external view returns (ConsolidatedQuote memory quote);
    /// @notice Consolidated displayed depth: up to `levels` (1..MAX_DEPTH_LEVELS) price levels per
    /// side, best first, sizes summed over the registered venues in continuous trading in the
    /// security (read live from their `phaseOf` and `depth`); empty while it is halted. Reverts
    /// UnknownSecurity for an unknown id.
    function consolidatedDepth(uint256 securityId, uint256 levels)
        external
        view
        returns (uint256[] memory bidPrices, uint256[] memory bidSizes, uint256[] memory askPrices, uint256[] memory askSizes);
    /// @notice The last top of book recorded for `venue` since its registration (zeros if not
    /// registered or nothing recorded since) and when it last changed.
    function venueQuote(address venue, uint256 securityId)
        external
        view
        returns (uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize, uint64 changedAt);
    /// @notice The registered venues in slot order (removed venues and free slots left out).
    function venues() external view returns (address[] memory);
    /// @notice The slot of a registered venue; reverts VenueNotRegistered otherwise.
    function slotOf(address venue) external view returns (uint8);
    /// @notice EIP-712 digest of `order` under this contract's domain (what the owner signs).
    function hashRoutedOrder(RoutedOrder calldata order) external view returns (bytes32);
    /// @notice Nonce of child `childIndex` of routed order `orderHash` (child hashes are unique).
    function childNonce(bytes32 orderHash, uint256 childIndex) external pure returns (uint256);
    /// @notice True if `owner` used or invalidated BBO nonce `nonce`.
    function nonceUsed(address owner, uint256 nonce) external view returns (bool);
}
