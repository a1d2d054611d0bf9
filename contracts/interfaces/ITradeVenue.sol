// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Order, OrderType, Phase, Side} from "../types/Order.sol";

/// @title ITradeVenueEvents — the events and errors of a Trade venue
interface ITradeVenueEvents {
    // ─── Events ──────────────────────────────────────────────────────────────────────────────
    /// @notice An order (or an iceberg's refill) joined the book under `orderId`. Every accepted
    /// order ends in OrderRested, OrderParked, Traded and/or OrderCancelled, all naming its hash.
    /// Whether it rests hidden is bit 32 of `orderId` (see "Order ids" below), so it is not
    /// repeated here.
    event OrderRested(uint256 indexed orderId, bytes32 indexed orderHash, address indexed owner, uint256 price, uint256 quantity);
    /// @notice A stop-type order was parked until its trigger price trades.
    event OrderParked(uint256 indexed parkedId, bytes32 indexed orderHash, uint256 triggerPrice);
    /// @notice A parked order was triggered by the last trade price and entered the market.
    event OrderTriggered(uint256 indexed parkedId, bytes32 indexed orderHash, uint256 lastPrice);
    /// @notice A match: `quantity` at `price`, trade `tradeId`; the Settle instruction was handed on.
    /// A trade id is `securityId << 40 | n`, where n counts the security's trades on this venue
    /// from 1: unique per venue, and in trade order within a security.
    event Traded(uint256 indexed tradeId, uint256 indexed securityId, bytes32 bidOrderHash, bytes32 offerOrderHash, address buyer, address seller, uint256 price, uint256 quantity);
    /// @notice Its owner took a resting or parked order off the book (`cancelOrder`, or a new
    /// two-sided quote replacing the old): `quantity` left unfilled (an iceberg's with its
    /// reserve). The order's hash is in the OrderRested or OrderParked event of this id.
    event OrderWithdrawn(uint256 indexed orderId, uint256 quantity);
    /// @notice `quantity` of an order left the market unfilled for `reason`, a `CancelReason`
    /// (types/Order.sol) as its uint8 code (0 is not used: an owner's own cancel is
    /// OrderWithdrawn): 1 unfilled rest of an immediate order, 2 expired, 3 counter bumped,
    /// 4 owner not active, 5 self-trade prevention, 6 a Direct order whose owner could not pay or
    /// deliver gross in an uncross.
    event OrderCancelled(bytes32 indexed orderHash, uint256 indexed orderId, uint256 quantity, uint8 reason);
    /// @notice `owner` bumped its counter: all its earlier orders are void.
    event CounterIncremented(address indexed owner, uint16 counter);
    /// @notice `owner` invalidated `nonce` before using it.
    event NonceInvalidated(address indexed owner, uint256 nonce);
    /// @notice A security was listed on this venue.
    event SecurityListed(uint256 indexed securityId, uint64 tickSize, uint32 lotSize, uint24 settlementLag);
    /// @notice The DLT-CSD halt of a listed security changed.
    event HaltSynced(uint256 indexed securityId, bool halted);
    /// @notice The trading phase of a security changed.
    event PhaseChanged(uint256 indexed securityId, Phase from, Phase to);
    /// @notice A call auction uncrossed at `price` for `volume` units.
    event AuctionUncrossed(uint256 indexed securityId, uint256 price, uint256 volume);
    /// @notice The session end used for day orders changed.
    event SessionEndSet(uint64 sessionEnd);
    /// @notice The pre-trade risk gate setting changed (zero: none). When it takes effect: see
    /// `setOrderGate` (at once, or with the HooksSynced that completes the sweep).
    event OrderGateSet(address gate);
    /// @notice The quote sink setting changed (zero: none). When it takes effect: see
    /// `setQuoteSink` (at once, or with the HooksSynced that completes the sweep).
    event QuoteSinkSet(address sink);
    /// @notice A page of the hook sweep: the flags of the listed markets before index `swept` (of
    /// `listed`) follow the hook settings; `swept == listed` completes the sweep. `gate` and
    /// `sink` are the hooks in effect after this page (a waiting one takes effect at completion).
    event HooksSynced(uint256 swept, uint256 listed, address gate, address sink);
    /// @notice `maker` was registered (or its obligation changed) as a market maker in `securityId`:
    /// it must keep a two-sided quote no wider than `maxSpread` with at least `minSize` each side.
    event MarketMakerRegistered(address indexed maker, uint256 indexed securityId, uint64 maxSpread, uint64 minSize);
    /// @notice `maker` replaced its two-sided quote in `securityId`.
    event QuoteRefreshed(address indexed maker, uint256 indexed securityId, uint256 bidOrderId, uint256 askOrderId);

    // ─── Errors ──────────────────────────────────────────────────────────────────────────────
    /// @notice The signature recovers to `signer`, not the order's owner.
    error SignerNotOwner(address signer, address owner);
    /// @notice `owner` already used or invalidated `nonce`.
    error NonceUsed(address owner, uint256 nonce);
    /// @notice The order's counter is not the owner's current counter.
    error StaleCounter(address owner, uint16 counter, uint16 current);
    /// @notice The order expired at `expiry`.
    error OrderExpired(uint64 expiry);
    /// @notice The order may not execute before `validFrom`.
    error OrderNotYetValid(uint64 validFrom);
    /// @notice A quantity of zero.
    error ZeroQuantity();
    /// @notice A price (or trigger price) of zero where one is required.
    error ZeroPrice();
    /// @notice `price` is not a multiple of the tick size.
    error OffTick(uint256 price, uint256 tickSize);
    /// @notice `quantity` is not a multiple of the lot size.
    error OffLot(uint256 quantity, uint256 lotSize);
    /// @notice `price` is above the highest tick the book can hold.
    error PriceOutOfRange(uint256 price, uint256 maxPrice);
    /// @notice `quantity` is above what a resting order can hold.
    error QuantityTooLarge(uint256 quantity, uint256 max);
    /// @notice An iceberg's display quantity must be positive, on lot, and below its quantity.
    error InvalidDisplayQuantity(uint256 displayQuantity, uint256 quantity);
    /// @notice A good-till-date order needs an expiry.
    error MissingExpiry();
    /// @notice A wallet named in the order is not the owner's own account.
    error WalletNotOwner(address wallet, address owner);
    /// @notice The security is not listed on this venue.
    error NotListed(uint256 securityId);
    /// @notice The security is already listed on this venue.
    error AlreadyListed(uint256 securityId);
    /// @notice The security is in `phase`, which does not allow this.
    error WrongPhase(uint256 securityId, Phase phase);
    /// @notice Immediate orders (IOC, FOK, market-type) cannot join a call auction.
    error ImmediateOrderInAuction();
    /// @notice A participant's clearing member is not active.
    error ClearingMemberNotActive(address participant, address clearingMember);
    /// @notice The incoming order would match a resting order of the same owner.
    error SelfTrade(address owner);
    /// @notice A fill-or-kill order could fill only `filled` of `quantity`.
    error FillOrKillNotFilled(uint256 quantity, uint256 filled);
    /// @notice `maxMakers` is above the venue's bound.
    error TooManyMakers(uint256 maxMakers, uint256 max);
    /// @notice No live order under `orderId` (none there, or the id is of an earlier epoch of
    /// its price level).
    error UnknownOrder(uint256 orderId);
    /// @notice A quote sink can be set where none was only while every listed book is empty;
    /// `securityId`'s is not (the hook sweep waits before it; see `setQuoteSink`).
    error BooksNotEmpty(uint256 securityId);
    /// @notice `caller` does not own order `orderId`.
    error NotOrderOwner(uint256 orderId, address caller);
    /// @notice Only the membership register may call this.
    error OnlyMembership(address caller);
    /// @notice Only the security token may call this.
    error OnlySecurityToken(address caller);
    /// @notice A batch of `length` exceeds the bound `max`.
    error BatchTooLarge(uint256 length, uint256 max);
    /// @notice A page of zero markets (`syncHooks`).
    error ZeroPage();
    /// @notice The order can still match: it is live, unexpired and its owner is active.
    error OrderStillValid(uint256 orderId);
    /// @notice The auction's crossing region has more than `max` price levels on a side.
    error AuctionTooDeep(uint256 max);
    /// @notice `caller` may not place unsigned orders for `owner`.
    error NotTrusted(address caller, address owner);
    /// @notice `maker` is not a registered market maker in `securityId`.
    error NotMarketMaker(address maker, uint256 securityId);
    /// @notice A quote must be one resting limit bid and one resting limit offer of one owner
    /// in one security.
    error InvalidQuote();
    /// @notice The quote's spread `spread` exceeds the obligation's `maxSpread`.
    error SpreadTooWide(uint256 spread, uint256 maxSpread);
    /// @notice A quote side of `quantity` is below the obligation's `minSize`.
    error QuoteTooSmall(uint256 quantity, uint256 minSize);
}

/// @title ITradeVenue — one exchange venue: an on-chain order book for EIP-712 signed orders (F3, F4)
/// @notice Price-time priority per security; limit, market, stop, stop-limit, market-if-touched,
/// market-to-limit, hidden and iceberg orders; IOC, FOK, day, good-till-date, good-till-cancel and
/// timed orders; continuous trading and call auctions. Every match creates a Settle instruction
/// handed to the settlement contract in the same transaction.
///
/// Order ids: `orderId = securityId << 89 | epoch << 65 | side << 64 | key` with key = tick
/// (24 bits) | hidden (1 bit) | sequence (32 bits), so an id says where the order rests; `epoch`
/// (24 bits) counts how often that price level had emptied when the order rested. An emptied level
/// starts again at sequence 0, so the epoch keeps ids unique: an id of an earlier epoch is
/// UnknownOrder, never the order resting at that place now. A parked order's id has bit 255 set.
///
/// Self-trade prevention: an incoming order that would match a resting order of the same owner is
/// refused whole (SelfTrade) and nothing changes; the owner cancels the resting order first.
///
/// Routes: a trade settles gross at once (Route.Direct) when both orders chose Direct, or when one
/// of them is a SmartCCP system contract's own Direct order (the CCP's close-out, which must be
/// paid or delivered now); every other trade is novated to the CCP.
///
/// Trusted: the membership register (pushes trader entries), the security token (tick, lot, halt),
/// the settlement contract (accepts or reverts each instruction), the operator (lists securities,
/// runs sessions and auctions).
interface ITradeVenue is ITradeVenueEvents {
    // ─── Orders ──────────────────────────────────────────────────────────────────────────────
    /// @notice Submit a signed order. Anyone may submit it (the signature authorises it). The
    /// owner's signature is 65 bytes (r, s, v) or its 64-byte EIP-2098 form (r, vs: the top bit
    /// of `vs` is v - 27), 32 bytes less calldata; smartccp sends the short one. It matches
    /// against at most `maxMakers` resting entries; what is left follows its time in force
    /// (rests, or is cancelled), a FillOrKill that cannot fill reverts.
    /// @return orderId The resting or parked order's id (0 if nothing rests).
    /// @return filled Units executed in this call.
    function placeOrder(Order calldata order, bytes calldata signature, uint256 maxMakers)
        external
        returns (uint256 orderId, uint256 filled);
    /// @notice Place an order without a signature. Allowed for the order's owner itself (owner
    /// == caller: its transaction authenticates the order; the nonce is used as for a signed
    /// order, except by SmartCCP's system contracts, e.g. the CCP's close-out, which trade
    /// without nonces), and for the router (ROUTER_ROLE: the BBO contract, which verified the
    /// owner's signature on the parent order it splits; no nonce is used). The order hash is
    /// the one the owner would have signed; every other check, the risk gate included, applies.
    function placeTrusted(Order calldata order, uint256 maxMakers) external returns (uint256 orderId, uint256 filled);
    /// @notice A registered market maker's two-sided quote: both signed limit orders are placed
    /// at once (each may trade on arrival like any order), after its previous quote orders still
    /// resting are cancelled. Refused unless the spread and sizes meet the maker's obligation.
    /// `orders` is [bid, offer], `signatures` their owner's signatures (65 bytes r, s, v, or
    /// 64 bytes EIP-2098 r, vs).
    function quote(Order[2] calldata orders, bytes[2] calldata signatures)
        external
        returns (uint256 bidOrderId, uint256 askOrderId);
    /// @notice Cancel a resting or parked order of the caller (OrderWithdrawn). An id of an
    /// earlier epoch of its level is UnknownOrder.
    function cancelOrder(uint256 orderId) external;
    /// @notice Bump the caller's counter: every order signed with an older counter, resting or not,
    /// is void at once (resting ones are skipped and removed when met, or by `purge`).
    function cancelAll() external;
    /// @notice Invalidate one of the caller's nonces before its order is used.
    function invalidateNonce(uint256 nonce) external;
    /// @notice Remove resting orders that can no longer match (expired, voided by counter, owner
    /// not active). Anyone may call; bounded batch; storage refunds pay for most of it.
    function purge(uint256[] calldata orderIds) external;
    /// @notice Release parked stop-type orders whose trigger the last trade price has reached,
    /// at most `maxOrders`, each matching at most `maxMakers`. Anyone may call (keepers).
    /// @return triggered How many were released.
    function triggerOrders(uint256 securityId, uint256 maxOrders, uint256 maxMakers) external returns (uint256 triggered);

    // ─── Operator ────────────────────────────────────────────────────────────────────────────
    /// @notice List a security on this venue (tick and lot come from its DLT-CSD reference data).
    /// @param settlementLag Seconds from match to settlement deadline (0 = T+0, 86400 = T+1, ...,
    /// at most 194 days). A venue lists any number of securities; the new market's hook flags
    /// follow the hook settings, a waiting gate or sink included.
    function listSecurity(uint256 securityId, uint24 settlementLag) external;
    /// @notice Move a security to another trading phase. Leaving a call auction needs `uncross`.
    /// Tells the quote sink at once: the top of book on entering Continuous (unless halted), an
    /// empty top on entering any other phase (see IQuoteSink).
    function setPhase(uint256 securityId, Phase phase) external;
    /// @notice Uncross the call auction at the price that maximises volume, then minimises the
    /// imbalance, then is nearest the last price; executes at most `maxFills` fills per call.
    /// Done, the security moves on (PreOpen to Continuous, PreClose to Closed) and the quote sink
    /// hears its top of book once it trades continuously (before, the venue quotes nothing).
    /// @return done True when the auction is fully uncrossed.
    function uncross(uint256 securityId, uint256 maxFills) external returns (bool done);
    /// @notice Set the session end (unix seconds) that day orders expire at.
    function setSessionEnd(uint64 sessionEnd) external;
    /// @notice Set the pre-trade risk gate every order must pass (IOrderGate; zero for none).
    /// Each listed market mirrors "a gate is set" in its own word; a change of that flag
    /// rewrites every listed market by a sweep: this call sweeps the first 100 markets, and
    /// `syncHooks` (anyone) the rest. When the setting takes effect:
    /// - zero (removal): at once, in every market;
    /// - a gate replacing one in effect: at once, in every market (all are gated already);
    /// - a gate where none is in effect: when the sweep completes (HooksSynced with
    ///   swept == listed), in every market at the same moment; until then no market asks it
    ///   (`orderGate()` stays zero), so no market can trade unchecked while another is checked,
    ///   and none is left unchecked once it is in effect (a market listed meanwhile is gated
    ///   from its listing). On a venue of at most 100 markets that is this call.
    function setOrderGate(address gate) external;
    /// @notice Set the contract told of every top-of-book change (IQuoteSink; zero for none).
    /// Swept like the gate (see `setOrderGate`): zero, or a sink replacing one in effect, takes
    /// effect at once; a sink where none is in effect when the sweep completes, before which
    /// the markets push to no one. Such a sink needs every listed book empty as the sweep reaches
    /// it: each resting order records whether its cancel may change a published top (it rested
    /// while a sink was set or waiting, or in a call auction), so that the cancel of an order
    /// that never will reads no market word. A book holding orders stops the sweep before it
    /// (BooksNotEmpty, at once if it is in this call's first page; a pending gate waits with it:
    /// set the sink back to zero to withdraw it). The sink hears only quotes that can be traded
    /// against now: a security closed, in a call auction or halted has an empty top (see
    /// IQuoteSink); it hears a market at its next change (or from the BBO's syncQuote).
    function setQuoteSink(address sink) external;
    /// @notice Advance the hook sweep by at most `maxMarkets` listed markets (see
    /// `setOrderGate`); anyone may call (keepers). Emits HooksSynced; the call that completes it
    /// puts a waiting gate or sink in effect. A page of zero is ZeroPage; a page of one always
    /// rewrites a market, unless a waiting sink meets a book holding orders first
    /// (BooksNotEmpty). Nothing to do: returns true.
    /// @return done True when no sweep is left (the hook settings are in effect everywhere).
    function syncHooks(uint256 maxMarkets) external returns (bool done);
    /// @notice Register `maker` as a market maker in `securityId` with its obligation (prices in
    /// cash base units, sizes in units); `maxSpread` 0 removes it.
    function registerMarketMaker(address maker, uint256 securityId, uint64 maxSpread, uint64 minSize) external;

    // ─── Views ───────────────────────────────────────────────────────────────────────────────
    /// @notice EIP-712 hash of `order` under this venue's domain (what the owner signs).
    function hashOrder(Order calldata order) external view returns (bytes32);
    /// @notice Best bid and offer prices and displayed sizes (0 when a side is empty), of the book
    /// whatever the phase (the quote sink hears only a continuously traded one, see IQuoteSink).
    function topOfBook(uint256 securityId)
        external
        view
        returns (uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize);
    /// @notice Displayed depth: up to `levels` price levels per side, best first.
    function depth(uint256 securityId, uint256 levels)
        external
        view
        returns (uint256[] memory bidPrices, uint256[] memory bidSizes, uint256[] memory askPrices, uint256[] memory askSizes);
    /// @notice A resting order, or a parked one by its parked id: owner, remaining (current peak
    /// for icebergs), expiry, flags, counter, order hash. All zero when there is none.
    function orderOf(uint256 orderId)
        external
        view
        returns (address owner, uint256 remaining, uint64 expiry, uint8 flags, uint16 counter, bytes32 orderHash);
    /// @notice Whether `maker` meets its obligation in `securityId` now: both quote orders resting
    /// with at least the minimum size, within the maximum spread. Also the sizes and spread.
    function quoteStatus(address maker, uint256 securityId)
        external
        view
        returns (bool compliant, uint256 bidSize, uint256 askSize, uint256 spread);
    /// @notice Last trade price of a security (0 before its first trade).
    function lastPrice(uint256 securityId) external view returns (uint256);
    /// @notice Current trading phase of a security.
    function phaseOf(uint256 securityId) external view returns (Phase);
    /// @notice The owner's current counter.
    function counterOf(address owner) external view returns (uint16);
    /// @notice The hook settings and their sweep: the gate and sink set (in effect, or waiting for
    /// the sweep), the next market index the sweep rewrites, how many securities are listed, and
    /// whether a sweep is running.
    function hookSync() external view returns (address gate, address sink, uint256 cursor, uint256 listed, bool sweeping);
    /// @notice True if `owner` used or invalidated `nonce`.
    function nonceUsed(address owner, uint256 nonce) external view returns (bool);
}
