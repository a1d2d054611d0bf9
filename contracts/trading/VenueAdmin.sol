// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOrderGate} from "../interfaces/IOrderGate.sol";
import {IQuoteSink} from "../interfaces/IQuoteSink.sol";
import {Order, OrderType, Phase, Side} from "../types/Order.sol";
import {OrderBook} from "../libraries/OrderBook.sol";
import {VenueModule} from "./VenueModule.sol";

/// @title VenueAdmin — listing, phases, halts, the hook settings with their sweep, market-maker quotes and purge of a TradeVenue
/// @notice Runs only by delegatecall from a TradeVenue, on the venue's storage (same layout, both
/// derive from VenueCore alone). Called directly it refuses (OnlyDelegateCall). The venue moved
/// this code out to keep its own (and VenueAuctions') under the 24 KiB limit: none of it is on a
/// signed or relayed order's path except a market maker's two-sided `quote`, whose signatures
/// the venue verifies before it delegates.
///
/// The hook settings (risk gate, quote sink) are mirrored into every listed market's word (`gated`,
/// `publishing`), so an order reads no hook slot on a venue without hooks. A venue lists any number
/// of securities, so a change of setting rewrites the markets by a sweep in pages: the setter
/// sweeps the first SETTER_SYNC_PAGE markets itself, `syncHooks` (anyone) the rest. When a change
/// takes effect (see ITradeVenue.setOrderGate, setQuoteSink):
/// - a gate or sink removed: at once (a gated market with no gate in effect asks no one, a
///   publishing market with no sink pushes to no one); the sweep only clears the flags;
/// - a gate or sink replacing one in effect: at once (every market's flag is already set);
/// - a gate or sink set where none was in effect: only once the sweep has set the flag of every
///   listed market, all markets at the same moment, so no market trades without a new gate
///   while another asks it. Meanwhile swept markets ask no gate (none in effect) and publish to
///   no one, and a new sink needs every listed book empty as the sweep reaches it.
contract VenueAdmin is VenueModule {
    constructor(address membership_, address securities_, address settlement_)
        VenueModule(membership_, securities_, settlement_)
    {}

    // ─── Market-maker quotes (delegatecall only) ────────────────────────────────────────────────

    /// @notice See ITradeVenue.quote. The venue has verified both signatures and used their
    /// nonces; `hashes` are the two order hashes.
    function placeQuote(Order[2] calldata orders, bytes32[2] calldata hashes)
        external
        onlyDelegated
        returns (uint256 bidOrderId, uint256 askOrderId)
    {
        (Order calldata bid, Order calldata ask) = (orders[0], orders[1]);
        address maker = bid.owner;
        uint256 securityId = bid.securityId;
        if (
            ask.owner != maker || ask.securityId != securityId || bid.side != Side.Buy || ask.side != Side.Sell
                || bid.orderType != OrderType.Limit || ask.orderType != OrderType.Limit
                || _isImmediate(bid.orderType, bid.timeInForce) || _isImmediate(ask.orderType, ask.timeInForce)
        ) revert InvalidQuote();
        MakerObligation memory ob = _obligations[securityId][maker];
        if (ob.maxSpread == 0) revert NotMarketMaker(maker, securityId);
        uint256 spread = ask.price > bid.price ? ask.price - bid.price : 0;
        if (spread > ob.maxSpread) revert SpreadTooWide(spread, ob.maxSpread);
        if (bid.quantity < ob.minSize) revert QuoteTooSmall(bid.quantity, ob.minSize);
        if (ask.quantity < ob.minSize) revert QuoteTooSmall(ask.quantity, ob.minSize);
        Quote memory previous = _quotes[securityId][maker];
        _withdrawQuote(previous.bidId, maker);
        _withdrawQuote(previous.askId, maker);
        uint256[2] memory ids;
        for (uint256 i; i < 2; ++i) {
            (ids[i],) = _place(orders[i], hashes[i], MAX_MAKERS);
        }
        (bidOrderId, askOrderId) = (ids[0], ids[1]);
        _quotes[securityId][maker] = Quote(bidOrderId, askOrderId);
        emit QuoteRefreshed(maker, securityId, bidOrderId, askOrderId);
    }

    // ─── Purge (delegatecall only) ──────────────────────────────────────────────────────────────

    /// @notice See ITradeVenue.purge (dead resting orders, removed by anyone).
    function purge(uint256[] calldata orderIds) external onlyDelegated {
        if (orderIds.length > MAX_BATCH) revert BatchTooLarge(orderIds.length, MAX_BATCH);
        for (uint256 i; i < orderIds.length; ++i) {
            (uint256 securityId, Side side,) = _decode(orderIds[i]);
            (uint64 k, uint256 w,) = _liveEntry(_books[securityId][uint8(side)], orderIds[i]);
            OrderBook.Node memory node = OrderBook.unpackNode(w);
            if (node.owner == address(0)) revert UnknownOrder(orderIds[i]);
            uint8 reason = _deadReason(node);
            if (reason == REASON_OWNER) revert OrderStillValid(orderIds[i]);
            _remove(securityId, side, k, node, reason);
            _publishById(securityId);
        }
    }

    // ─── Listing, phases, halts (delegatecall only) ─────────────────────────────────────────────

    /// @notice See ITradeVenue.listSecurity. The new market's flags follow the hook settings (a
    /// waiting gate or sink included): listed during a sweep, it is already in step.
    function listSecurity(uint256 securityId, uint24 settlementLag) external onlyDelegated onlyRole(OPERATOR_ROLE) {
        if (_loadMarket(securityId).listed) revert AlreadyListed(securityId);
        (uint64 tickSize, uint32 lotSize, bool halted) = _securities.tradingTerms(securityId);
        bool gated = _gateSetting() != address(0);
        // Listed Closed: not publishing (see `_live`) until trading opens.
        _storeMarket(
            securityId, Market(tickSize, lotSize, 0, 0, 0, 0, Phase.Closed, true, halted, gated, false, settlementLag)
        );
        _listedIds.push(securityId);
        emit SecurityListed(securityId, tickSize, lotSize, settlementLag);
    }

    /// @notice See ITradeVenue.setPhase.
    function setPhase(uint256 securityId, Phase phase) external onlyDelegated onlyRole(OPERATOR_ROLE) {
        Market memory m = _listed(securityId);
        Phase from = m.phase;
        if (from == Phase.PreOpen || from == Phase.PreClose) revert WrongPhase(securityId, from);
        m.phase = phase;
        m.publishing = _live(m);
        _storeMarket(securityId, m);
        emit PhaseChanged(securityId, from, phase);
        _requote(securityId, m);
    }

    /// @notice See ISecuritySubscriber.syncHalt: tells the quote sink at once, an empty top while
    /// halted, the top of book when the halt is lifted in continuous trading (see IQuoteSink).
    function syncHalt(uint256 securityId, bool halted) external onlyDelegated {
        if (msg.sender != address(_securities)) revert OnlySecurityToken(msg.sender);
        Market memory m = _loadMarket(securityId);
        if (!m.listed) return; // listing reads the current halt
        m.halted = halted;
        m.publishing = _live(m);
        _storeMarket(securityId, m);
        emit HaltSynced(securityId, halted);
        _requote(securityId, m);
    }

    // ─── Hook settings and their sweep (delegatecall only) ──────────────────────────────────────

    /// @notice See ITradeVenue.setOrderGate. Records the setting and sweeps a first page; a gate
    /// set where none is in effect waits for the sweep (`_hookSync.pendingGate`).
    function setOrderGate(address gate) external onlyDelegated onlyRole(DEFAULT_ADMIN_ROLE) {
        HookSync memory h = _hookSync;
        address old = h.gatePending ? h.pendingGate : address(_orderGate);
        if (gate == address(0)) {
            // In effect at once: a gated market with no gate in effect asks no one.
            (_orderGate, h.gatePending, h.pendingGate) = (IOrderGate(address(0)), false, address(0));
        } else if (old != address(0) && !h.gatePending) {
            _orderGate = IOrderGate(gate); // every market is gated already: in effect at once
        } else {
            (h.gatePending, h.pendingGate) = (true, gate); // in effect once every market is gated
        }
        if ((gate == address(0)) != (old == address(0))) (h.sweeping, h.cursor) = (true, 0);
        _hookSync = h;
        emit OrderGateSet(gate);
        _sweep(SETTER_SYNC_PAGE);
    }

    /// @notice See ITradeVenue.setQuoteSink. Records the setting and sweeps a first page; a sink
    /// set where none is in effect waits for the sweep (`_pendingSink`), which needs every listed
    /// book empty as it reaches it: refused (BooksNotEmpty) if one in this first page is not.
    function setQuoteSink(address sink) external onlyDelegated onlyRole(DEFAULT_ADMIN_ROLE) {
        HookSync memory h = _hookSync;
        bool pending = _sinkPending;
        address old = pending ? _pendingSink : address(_quoteSink);
        if (sink == address(0)) {
            // In effect at once: a publishing market with no sink in effect pushes to no one.
            (_quoteSink, _sinkPending, _pendingSink) = (IQuoteSink(address(0)), false, address(0));
        } else if (old != address(0) && !pending) {
            _quoteSink = IQuoteSink(sink); // every live market publishes already: in effect at once
        } else {
            (_sinkPending, _pendingSink) = (true, sink); // in effect once every market is swept
        }
        if ((sink == address(0)) != (old == address(0))) (h.sweeping, h.cursor) = (true, 0);
        _hookSync = h;
        emit QuoteSinkSet(sink);
        (,, uint256 blocked) = _sweep(SETTER_SYNC_PAGE);
        if (blocked != 0) revert BooksNotEmpty(blocked);
    }

    /// @notice See ITradeVenue.syncHooks.
    function syncHooks(uint256 maxMarkets) external onlyDelegated returns (bool done) {
        if (maxMarkets == 0) revert ZeroPage();
        uint256 swept;
        uint256 blocked;
        (done, swept, blocked) = _sweep(maxMarkets);
        if (swept == 0 && blocked != 0) revert BooksNotEmpty(blocked);
    }

    // ─── Internals ──────────────────────────────────────────────────────────────────────────────

    /// @dev Rewrite the flags of at most `maxMarkets` listed markets from the cursor on; at the
    /// end put a waiting gate and sink in effect. While a sink waits, a market whose book holds
    /// orders stops the sweep before it (its orders rested unpublished, so their cancels would
    /// not reach the sink): `blocked` is its id, 0 if none. Returns whether the sweep is done
    /// (also when none runs) and how many markets this call rewrote. Emits HooksSynced.
    function _sweep(uint256 maxMarkets) private returns (bool done, uint256 swept, uint256 blocked) {
        HookSync memory h = _hookSync;
        if (!h.sweeping) return (true, 0, 0);
        bool gated = _gateSetting() != address(0);
        bool sinkPending = _sinkPending;
        uint256 n = _listedIds.length;
        uint256 i = h.cursor;
        // Bounded by the caller's page.
        for (; i < n && swept < maxMarkets; ++i) {
            uint256 securityId = _listedIds[i];
            Market memory m = _loadMarket(securityId);
            if (sinkPending && (m.bestBid != 0 || m.bestAsk != 0)) {
                blocked = securityId;
                break;
            }
            (m.gated, m.publishing) = (gated, _live(m));
            _storeMarket(securityId, m);
            ++swept;
        }
        done = i == n;
        if (done) {
            (h.sweeping, h.cursor) = (false, 0);
            if (h.gatePending) (_orderGate, h.gatePending, h.pendingGate) = (IOrderGate(h.pendingGate), false, address(0));
            if (sinkPending) (_quoteSink, _sinkPending, _pendingSink) = (IQuoteSink(_pendingSink), false, address(0));
        } else {
            h.cursor = uint64(i); // i < n, a list length
        }
        _hookSync = h;
        emit HooksSynced(i, n, address(_orderGate), address(_quoteSink));
    }

    /// @dev The gate setting: waiting for its sweep, or in effect.
    function _gateSetting() private view returns (address) {
        HookSync memory h = _hookSync;
        return h.gatePending ? h.pendingGate : address(_orderGate);
    }

    /// @dev After a change of phase or halt (stored, announced): push the top of book if the
    /// quote is live, else an empty top (zeros) so the sink stops counting this venue's orders.
    function _requote(uint256 securityId, Market memory m) private {
        if (m.publishing) return _publish(securityId, m);
        if (address(_quoteSink) == address(0)) return;
        Market memory empty; // no best prices: `_publish` finds no level and pushes zeros
        empty.publishing = true;
        _publish(securityId, empty);
    }
}
