// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITradeVenue} from "../interfaces/ITradeVenue.sol";
import {CallAuction} from "../libraries/CallAuction.sol";
import {OrderBook} from "../libraries/OrderBook.sol";
import {TickBitmap} from "../libraries/TickBitmap.sol";
import {CancelReason, Order, OrderType, Phase, Side, TimeInForce} from "../types/Order.sol";
import {Settle} from "../types/Settle.sol";
import {VenueModule} from "./VenueModule.sol";

/// @title VenueAuctions — call auctions and stop triggering for TradeVenue
/// @notice Runs only by delegatecall from a TradeVenue, on the venue's storage (same layout, both
/// derive from VenueCore alone). Called directly it refuses (OnlyDelegateCall).
contract VenueAuctions is VenueModule {
    using OrderBook for OrderBook.Book;
    using OrderBook for OrderBook.Level;
    using TickBitmap for TickBitmap.Bitmap;

    constructor(address membership_, address securities_, address settlement_)
        VenueModule(membership_, securities_, settlement_)
    {}

    // ─── Entry points (delegatecall only) ───────────────────────────────────────────────────────

    /// @notice See ITradeVenue.uncross.
    function uncross(uint256 securityId, uint256 maxFills) external onlyDelegated onlyRole(OPERATOR_ROLE) returns (bool done) {
        Market memory m = _listed(securityId);
        if (m.phase != Phase.PreOpen && m.phase != Phase.PreClose) revert WrongPhase(securityId, m.phase);
        CallAuction.State storage auction = _auctions[securityId];
        OrderBook.Book[2] storage books = _books[securityId];
        if (!auction.priced) {
            (uint24 tick, uint256 volume) = CallAuction.clearingTick(books[0], books[1], m.bestBid, m.bestAsk, m.lastTick);
            auction.priced = true;
            auction.tick = tick;
            auction.volume = uint64(volume);
            emit AuctionUncrossed(securityId, uint256(tick) * m.tickSize, volume);
        }
        for (uint256 n; n < maxFills && auction.volume != 0; ++n) {
            if (!_auctionFill(securityId, m, auction)) auction.volume = 0; // nothing left to pair
        }
        done = auction.volume == 0;
        if (done) {
            Phase from = m.phase;
            m.phase = from == Phase.PreOpen ? Phase.Continuous : Phase.Closed;
            m.publishing = _live(m); // the venue's `uncross` publishes once this is stored
            delete _auctions[securityId];
            emit PhaseChanged(securityId, from, m.phase);
        }
        _storeMarket(securityId, m);
    }

    /// @notice See ITradeVenue.triggerOrders.
    function triggerOrders(uint256 securityId, uint256 maxOrders, uint256 maxMakers)
        external
        onlyDelegated
        returns (uint256 triggered)
    {
        if (maxMakers > MAX_MAKERS) revert TooManyMakers(maxMakers, MAX_MAKERS);
        Market memory m = _loadMarket(securityId);
        if (m.phase != Phase.Continuous) revert WrongPhase(securityId, m.phase);
        while (triggered < maxOrders) {
            (bool found, Taker memory t) = _popTriggered(securityId, m);
            if (!found) break;
            ++triggered;
            if (t.remaining == 0) continue; // released dead: already reported
            // Released while halted, it may rest unpublished (the quote is not live): its cancel
            // after the halt must publish (FLAG_PUBLISHED, see VenueCore._rest).
            if (m.halted) t.flags |= OrderBook.FLAG_PUBLISHED;
            // Run it in a frame of its own: one that cannot run (it would meet its owner's own
            // order, or it is fill-or-kill and the book cannot fill it) is cancelled alone, so no
            // order can block the release of everyone else's stops behind it.
            _storeMarket(securityId, m);
            try this.runReleased(t, maxMakers) {}
            catch (bytes memory err) {
                emit OrderCancelled(t.orderHash, 0, t.remaining, _unrunnableReason(err));
            }
            m = _loadMarket(securityId);
        }
        _storeMarket(securityId, m);
    }

    /// @notice A released stop-type order, matched and then rested or cancelled by its time in
    /// force. Only the venue itself calls it (triggerOrders, through the venue's fallback), so a
    /// refusal reverts this frame alone.
    function runReleased(Taker calldata released, uint256 maxMakers) external onlyDelegated {
        if (msg.sender != address(this)) revert NotTrusted(msg.sender, released.owner);
        Market memory m = _loadMarket(released.securityId);
        _run(released, m, maxMakers);
        _storeMarket(released.securityId, m);
    }

    /// @dev The cancel reason for a released order whose run reverted with `err`: self-trade
    /// prevention, an unfillable fill-or-kill, or its owner's failure to settle a fill (see
    /// VenueCore._trySettle). Any other failure (out of gas included, which
    /// returns no data) reverts the whole call, so a keeper cannot starve orders into cancellation.
    function _unrunnableReason(bytes memory err) private pure returns (uint8) {
        bytes4 selector = _selector(err);
        if (selector == SelfTrade.selector) return REASON_SELF_TRADE;
        if (selector == FillOrKillNotFilled.selector) return REASON_UNFILLED;
        if (_failedSide(selector) != 0) return REASON_NOT_SETTLED; // its owner cannot settle it
        assembly ("memory-safe") {
            revert(add(err, 32), mload(err))
        }
    }

    // ─── Stop triggering ────────────────────────────────────────────────────────────────────────

    /// @dev Take the next parked order whose trigger the last price has reached (rising triggers
    /// first, lowest first; then falling, highest first). A dead one comes back with nothing to do.
    function _popTriggered(uint256 securityId, Market memory m) private returns (bool found, Taker memory t) {
        uint24 last = m.lastTick;
        if (last == 0) return (false, t);
        uint8 dir = RISING;
        uint24 tick = _parked[securityId][RISING].ticks.nextUp(1);
        if (tick == 0 || tick > last) {
            dir = FALLING;
            tick = _parked[securityId][FALLING].ticks.nextDown(uint24(MAX_TICK));
            if (tick == 0 || tick < last) return (false, t);
        }
        OrderBook.Book storage book = _parked[securityId][dir];
        OrderBook.Level memory level = book.loadLevel(tick);
        (uint64 k, bool ok) = OrderBook.front(level, tick);
        OrderBook.Node memory node;
        // Step over holes left by cancellations, at most MAX_MAKERS per call; progress is kept.
        for (uint256 i; ok && i < MAX_MAKERS; ++i) {
            node = book.loadNode(k);
            if (node.owner != address(0)) break;
            level.advance(k);
            (k, ok) = OrderBook.front(level, tick);
        }
        if (!ok || node.owner == address(0)) {
            book.storeLevel(tick, level);
            return (false, t);
        }
        bytes32 orderHash = book.entries[k].orderHash;
        ParkedTerms memory terms = _parkedTerms[orderHash];
        level.advance(k);
        level.shrink(k, node.remaining);
        book.erase(k);
        delete _parkedTerms[orderHash];
        uint256 parkedId = _encode(securityId, Side(dir), k, level.epoch) | PARKED_BIT; // before a new epoch
        book.settleIfEmpty(level, tick);
        book.storeLevel(tick, level);
        found = true;
        uint8 reason = _deadReason(node);
        if (reason != REASON_OWNER) {
            emit OrderCancelled(orderHash, parkedId, node.remaining, reason);
            return (true, t); // remaining 0: nothing to run
        }
        emit OrderTriggered(parkedId, orderHash, uint256(m.lastTick) * m.tickSize);
        t = Taker({
            orderHash: orderHash,
            owner: node.owner,
            securityId: securityId,
            side: terms.side,
            orderType: terms.orderType,
            timeInForce: terms.timeInForce,
            limitTick: uint24(terms.price / m.tickSize),
            quantity: node.remaining,
            remaining: node.remaining,
            displayQuantity: terms.displayQuantity,
            expiry: node.expiry,
            flags: node.flags,
            counter: node.counter
        });
        _convertTriggered(t, terms.orderType);
    }

    // ─── Call auction ───────────────────────────────────────────────────────────────────────────

    /// @dev One auction fill at the clearing tick between the front bid and the front offer.
    /// Returns false when no crossing pair is left.
    function _auctionFill(uint256 securityId, Market memory m, CallAuction.State storage auction) private returns (bool) {
        uint24 tick = auction.tick;
        OrderBook.Book storage bids = _books[securityId][0];
        OrderBook.Book storage asks = _books[securityId][1];
        if (m.bestBid < tick || m.bestAsk == 0 || m.bestAsk > tick) return false;
        OrderBook.Level memory bidLevel = bids.loadLevel(m.bestBid);
        OrderBook.Level memory askLevel = asks.loadLevel(m.bestAsk);
        (uint64 bk, OrderBook.Node memory bid) = _liveFront(bids, bidLevel, m.bestBid, securityId, Side.Buy);
        (uint64 ak, OrderBook.Node memory ask) = _liveFront(asks, askLevel, m.bestAsk, securityId, Side.Sell);
        if (bid.owner != address(0) && ask.owner != address(0)) {
            if (bid.owner == ask.owner) {
                // Self-trade prevention in auctions: the offer entry is withdrawn.
                askLevel.advance(ak);
                _drop(asks, askLevel, ak, ask, REASON_SELF_TRADE, securityId, Side.Sell);
            } else {
                uint256 qty = bid.remaining < ask.remaining ? bid.remaining : ask.remaining;
                if (qty > auction.volume) qty = auction.volume;
                uint256 price = uint256(tick) * m.tickSize;
                bytes32 bidHash = bids.entries[bk].orderHash;
                bytes32 askHash = asks.entries[ak].orderHash;
                uint8 failed = _trySettle(
                    m,
                    _instruction(securityId, m, bidHash, askHash, bid.owner, ask.owner, price, qty,
                        _routeFlags(bid.flags, ask.flags)),
                    BUYER_FAILED | SELLER_FAILED
                );
                if (failed == BUYER_FAILED) {
                    qty = 0;
                    bidLevel.advance(bk);
                    _drop(bids, bidLevel, bk, bid, REASON_NOT_SETTLED, securityId, Side.Buy);
                } else if (failed == SELLER_FAILED) {
                    qty = 0;
                    askLevel.advance(ak);
                    _drop(asks, askLevel, ak, ask, REASON_NOT_SETTLED, securityId, Side.Sell);
                } else {
                    _consume(bids, bidLevel, m.bestBid, bk, bid, qty, bidHash, securityId, Side.Buy);
                    _consume(asks, askLevel, m.bestAsk, ak, ask, qty, askHash, securityId, Side.Sell);
                }
                auction.volume -= uint64(qty);
                if (qty != 0) m.lastTick = tick;
            }
        }
        _storeLevel(bids, bidLevel, m, Side.Buy);
        _storeLevel(asks, askLevel, m, Side.Sell);
        return true;
    }

    /// @dev The first live entry of a level, removing dead ones met on the way (bounded by the
    /// caller's fill budget: each call removes at most MAX_MAKERS entries).
    function _liveFront(OrderBook.Book storage book, OrderBook.Level memory level, uint24 tick, uint256 securityId, Side side)
        private
        returns (uint64 k, OrderBook.Node memory node)
    {
        for (uint256 i; i < MAX_MAKERS; ++i) {
            bool ok;
            (k, ok) = OrderBook.front(level, tick);
            if (!ok) break;
            node = book.loadNode(k);
            if (node.owner == address(0)) {
                level.advance(k);
                continue;
            }
            uint8 reason = _deadReason(node);
            if (reason == REASON_OWNER) return (k, node);
            level.advance(k);
            _drop(book, level, k, node, reason, securityId, side);
        }
        node = OrderBook.Node(address(0), 0, 0, 0, 0);
    }

    /// @dev Write a level back and move the side's best tick on if it emptied.
    function _storeLevel(OrderBook.Book storage book, OrderBook.Level memory level, Market memory m, Side side) private {
        uint24 tick = side == Side.Buy ? m.bestBid : m.bestAsk;
        bool empty = book.settleIfEmpty(level, tick);
        book.storeLevel(tick, level);
        if (!empty) return;
        if (side == Side.Buy) m.bestBid = book.ticks.nextDown(tick);
        else m.bestAsk = book.ticks.nextUp(tick);
    }
}
