"""The BBO shows and routes only quotes that can be traded against now (#23): a venue closed or in
a call auction, or a halted security, drops out of the consolidated quote and depth at once and
is never routed to; its quote comes back when trading resumes there."""

from __future__ import annotations

import ape

from smartccp.trading.bbo import unpack_top
from smartccp.types import OrderType, Side, TradingPhase
from smartccp.units import cash

D = cash  # prices read as decimals: D("10.00")
EMPTY = (0, 0, 0, 0)


def venue_top(mkt, i: int) -> tuple[int, ...]:
    """The top the BBO has recorded for venue ``i`` (without its time)."""
    return tuple(int(x) for x in mkt.bbo.venueQuote(mkt.venues[i], mkt.sid))[:4]


def set_phase(mkt, operator, i: int, phase: TradingPhase):
    return mkt.venues[i].setPhase(mkt.sid, phase, sender=operator)


def halt(mkt, operator, halted: bool):
    return mkt.system.securities.setHalted(mkt.sid, halted, sender=operator)


def routed(mkt, receipt) -> list[tuple[int, int]]:
    """(venue index, price) of every child a route sent, in sweep order."""
    names = [str(v.address) for v in mkt.venues]
    return [(names.index(v), p) for v, p, _ in mkt.client.fills(receipt)]


def quote_venues(mkt) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Indexes of the venues at the consolidated best bid and at the best offer."""
    q, names = mkt.client.quote(mkt.sid), [str(v.address) for v in mkt.venues]
    return tuple(names.index(v) for v in q.bid_venues), tuple(names.index(v) for v in q.ask_venues)


def seed(mkt, member_a, member_c) -> list[int]:
    """Venue 0 holds the best bid and offer (9.99 x 30 / 10.00 x 30, and 9.97 x 10 behind), venue 1
    the next (9.98 x 20 / 10.01 x 20); returns venue 0's resting ids (bid 9.99, offer, bid 9.97)."""
    ids = [mkt.rest(0, member_a, Side.BUY, 30, D("9.99")), mkt.rest(0, member_a, Side.SELL, 30, D("10.00")),
           mkt.rest(0, member_a, Side.BUY, 10, D("9.97"))]
    mkt.rest(1, member_c, Side.BUY, 20, D("9.98"))
    mkt.rest(1, member_c, Side.SELL, 20, D("10.01"))
    return ids


VENUE_1_ONLY = ([(D("9.98"), 20)], [(D("10.01"), 20)])  # the consolidated depth without venue 0


def test_closed_venue__leaves_quote_and_depth__not_routed__back_on_reopen(mkt, operator, member_a, member_b, member_c,
                                                                          chain):
    bid, _, _ = seed(mkt, member_a, member_c)
    assert quote_venues(mkt) == ((0,), (0,))
    r = set_phase(mkt, operator, 0, TradingPhase.CLOSED)
    [pushed] = r.decode_logs(mkt.bbo.VenueQuoteUpdated)
    assert (pushed.venue, unpack_top(pushed.top)[:4]) == (mkt.venues[0].address, EMPTY)
    q = mkt.client.quote(mkt.sid)
    assert (q.bid_price, q.bid_size, q.ask_price, q.ask_size) == (D("9.98"), 20, D("10.01"), 20)
    assert quote_venues(mkt) == ((1,), (1,)) and q.updated_at == chain.blocks.head.timestamp
    assert venue_top(mkt, 0) == EMPTY and mkt.client.depth(mkt.sid, 5) == VENUE_1_ONLY
    # Nothing done on the closed venue brings it back: a cancel there pushes nothing, nor does a sync.
    r = mkt.venues[0].cancelOrder(bid, sender=member_a)
    assert r.decode_logs(mkt.bbo.VenueQuoteUpdated) == []
    mkt.bbo.syncQuote(mkt.sid, sender=member_b)
    assert venue_top(mkt, 0) == EMPTY and quote_venues(mkt) == ((1,), (1,))
    # Routed past it: venue 0's 10.00 offer is better, but only venue 1 trades.
    r = mkt.client.route(mkt.order(member_b, Side.BUY, 10, D("10.05")), member_b)
    assert routed(mkt, r) == [(1, D("10.01"))]
    # Reopened, it quotes its book as it is now (the 9.99 bid cancelled meanwhile).
    set_phase(mkt, operator, 0, TradingPhase.CONTINUOUS)
    q = mkt.client.quote(mkt.sid)
    assert venue_top(mkt, 0) == (D("9.97"), 10, D("10.00"), 30)
    assert (q.bid_price, q.ask_price, q.ask_size) == (D("9.98"), D("10.00"), 30) and quote_venues(mkt) == ((1,), (0,))
    assert q.updated_at == chain.blocks.head.timestamp
    assert q.core() == mkt.client.quote_from_venues(mkt.sid).core()
    assert mkt.client.depth(mkt.sid, 5) == ([(D("9.98"), 20), (D("9.97"), 10)], [(D("10.00"), 30), (D("10.01"), 10)])


def test_opening_auction__collected_orders_not_quoted_nor_routed_to__quote_back_after_uncross(
        mkt, operator, member_a, member_b, member_c):
    seed(mkt, member_a, member_c)
    set_phase(mkt, operator, 0, TradingPhase.CLOSED)
    set_phase(mkt, operator, 0, TradingPhase.PRE_OPEN)
    # The auction collects a bid crossing venue 0's offer and one joining its best bid: no push.
    r = mkt.place(0, member_c, Side.BUY, 10, D("10.00"))
    assert r.decode_logs(mkt.bbo.VenueQuoteUpdated) == []
    joined = mkt.rest(0, member_b, Side.BUY, 10, D("9.99"))
    mkt.bbo.syncQuote(mkt.sid, sender=member_b)
    assert venue_top(mkt, 0) == EMPTY and quote_venues(mkt) == ((1,), (1,))
    assert mkt.client.depth(mkt.sid, 5) == VENUE_1_ONLY
    r = mkt.client.route(mkt.order(member_b, Side.BUY, 10, D("10.05")), member_b)
    assert routed(mkt, r) == [(1, D("10.01"))]
    # The uncross (10 at 10.00) ends the auction: continuous again, venue 0 quotes its book.
    assert mkt.venues[0].uncross(mkt.sid, 10, sender=operator).return_value
    assert mkt.venues[0].phaseOf(mkt.sid) == TradingPhase.CONTINUOUS
    assert venue_top(mkt, 0) == (D("9.99"), 40, D("10.00"), 20) and quote_venues(mkt) == ((0,), (0,))
    # An order that rested during the auction is published when cancelled, like any other.
    mkt.venues[0].cancelOrder(joined, sender=member_b)
    assert venue_top(mkt, 0) == (D("9.99"), 30, D("10.00"), 20)
    assert mkt.client.quote(mkt.sid).core() == mkt.client.quote_from_venues(mkt.sid).core()


def test_closing_auction__venue_leaves_the_quote_and_stays_out_once_closed(mkt, operator, member_a, member_b, member_c):
    seed(mkt, member_a, member_c)
    set_phase(mkt, operator, 0, TradingPhase.PRE_CLOSE)
    assert venue_top(mkt, 0) == EMPTY and quote_venues(mkt) == ((1,), (1,))
    mkt.place(0, member_c, Side.BUY, 10, D("10.00"))  # crosses: traded at the uncross
    mkt.rest(0, member_b, Side.SELL, 10, D("10.02"))
    assert venue_top(mkt, 0) == EMPTY
    r = mkt.client.route(mkt.order(member_b, Side.BUY, 10, D("10.05")), member_b)
    assert routed(mkt, r) == [(1, D("10.01"))]
    r = mkt.venues[0].uncross(mkt.sid, 10, sender=operator)
    assert r.return_value and mkt.venues[0].phaseOf(mkt.sid) == TradingPhase.CLOSED
    assert r.decode_logs(mkt.bbo.VenueQuoteUpdated) == [] and venue_top(mkt, 0) == EMPTY
    assert mkt.client.depth(mkt.sid, 5) == ([(D("9.98"), 20)], [(D("10.01"), 10)])


def test_halted_security__every_venue_leaves_the_quote__back_when_the_halt_is_lifted(mkt, operator, member_a, member_b,
                                                                                    member_c):
    bid, _, _ = seed(mkt, member_a, member_c)
    halt(mkt, operator, True)
    assert [venue_top(mkt, i) for i in range(3)] == [EMPTY] * 3
    assert mkt.client.quote(mkt.sid).core() == (0, 0, (), 0, 0, ())
    assert mkt.client.depth(mkt.sid, 5) == ([], [])
    with ape.reverts(mkt.bbo.SecurityHalted, securityId=mkt.sid):
        mkt.client.route(mkt.order(member_b, Side.BUY, 10, D("10.05")), member_b)
    # A cancel, a phase change or a sync while halted does not bring a quote back.
    mkt.venues[0].cancelOrder(bid, sender=member_a)
    set_phase(mkt, operator, 1, TradingPhase.CLOSED)
    set_phase(mkt, operator, 1, TradingPhase.CONTINUOUS)
    mkt.bbo.syncQuote(mkt.sid, sender=member_b)
    assert [venue_top(mkt, i) for i in range(3)] == [EMPTY] * 3
    halt(mkt, operator, False)
    assert venue_top(mkt, 0) == (D("9.97"), 10, D("10.00"), 30)
    assert venue_top(mkt, 1) == (D("9.98"), 20, D("10.01"), 20)
    assert quote_venues(mkt) == ((1,), (0,))
    r = mkt.client.route(mkt.order(member_b, Side.BUY, 10, D("10.05")), member_b)
    assert routed(mkt, r) == [(0, D("10.00"))]


def test_halted_security__stop_released_during_the_halt__quoted_after_it__and_its_cancel_published(
        mkt, operator, member_a, member_b, member_c):
    def trade(price: str) -> None:
        mkt.rest(0, member_a, Side.SELL, 10, D(price))
        mkt.place(0, member_b, Side.BUY, 10, D(price))

    trade("10.00")
    mkt.place(0, member_c, Side.BUY, 10, D("9.95"), orderType=OrderType.STOP_LIMIT, triggerPrice=D("10.02"))
    trade("10.02")  # the last price reaches the stop's trigger
    halt(mkt, operator, True)
    r = mkt.venues[0].triggerOrders(mkt.sid, 8, 64, sender=member_b)
    [released] = r.decode_logs(mkt.venues[0].OrderRested)
    assert r.decode_logs(mkt.bbo.VenueQuoteUpdated) == [] and venue_top(mkt, 0) == EMPTY
    halt(mkt, operator, False)
    assert venue_top(mkt, 0) == (D("9.95"), 10, 0, 0)
    mkt.venues[0].cancelOrder(released.orderId, sender=member_c)
    assert venue_top(mkt, 0) == EMPTY
