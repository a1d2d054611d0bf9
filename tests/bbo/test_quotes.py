"""The consolidated quote (pushed by the venues) and the consolidated depth (read from them)."""

from __future__ import annotations

import ape

from smartccp.trading.bbo import consolidate, unpack_top
from smartccp.types import OrderType, Side
from smartccp.units import cash

D = cash


def test_quote__best_across_venues__sizes_summed_and_venues_named(mkt, member_a, member_b, member_c, chain):
    v = [str(x.address) for x in mkt.venues]
    mkt.rest(0, member_a, Side.BUY, 30, D("9.99"))
    mkt.rest(1, member_c, Side.BUY, 20, D("9.98"))
    mkt.rest(2, member_b, Side.BUY, 40, D("9.99"))
    mkt.rest(1, member_a, Side.SELL, 10, D("10.01"))
    mkt.rest(2, member_c, Side.SELL, 50, D("10.02"))
    q = mkt.client.quote(mkt.sid)
    assert (q.bid_price, q.bid_size, q.bid_venues) == (D("9.99"), 70, (v[0], v[2]))
    assert (q.ask_price, q.ask_size, q.ask_venues) == (D("10.01"), 10, (v[1],))
    assert q.core() == mkt.client.quote_from_venues(mkt.sid).core()
    assert 0 < q.updated_at <= chain.blocks.head.timestamp
    assert tuple(mkt.bbo.venueQuote(mkt.venues[2], mkt.sid))[:4] == (D("9.99"), 40, D("10.02"), 50)


def test_quote__updated_at__moves_when_a_venue_top_changes__not_on_repeats(mkt, member_a, member_c, chain):
    mkt.rest(0, member_a, Side.BUY, 30, D("9.99"))
    t0 = mkt.client.quote(mkt.sid).updated_at
    assert t0 == chain.blocks.head.timestamp
    chain.mine(1, timestamp=chain.pending_timestamp + 100)
    mkt.rest(0, member_a, Side.BUY, 30, D("9.90"))  # behind venue 0's best bid: its top repeats
    assert mkt.client.quote(mkt.sid).updated_at == t0
    # Venue 1's top moves behind the best: the consolidated quote does not change, but updatedAt
    # does (quotes are consolidated on read; a push cannot tell whether it moved the best).
    mkt.rest(1, member_c, Side.BUY, 30, D("9.90"))
    t1 = mkt.client.quote(mkt.sid).updated_at
    assert t1 == chain.blocks.head.timestamp > t0
    chain.mine(1, timestamp=chain.pending_timestamp + 100)
    mkt.rest(2, member_c, Side.BUY, 30, D("9.99"))  # joins the best bid: size changes
    assert mkt.client.quote(mkt.sid).updated_at == chain.blocks.head.timestamp > t1


def test_quote__hidden_and_iceberg__only_displayed_size_counts(mkt, member_a, member_c):
    mkt.rest(0, member_a, Side.SELL, 100, D("10.00"), orderType=OrderType.HIDDEN)
    mkt.rest(1, member_c, Side.SELL, 100, D("10.01"), orderType=OrderType.ICEBERG, displayQuantity=20)
    q = mkt.client.quote(mkt.sid)
    assert (q.ask_price, q.ask_size) == (D("10.01"), 20)
    assert q.core() == mkt.client.quote_from_venues(mkt.sid).core()


def test_push__unregistered_caller__recorded_under_its_own_address_and_never_counted(mkt, member_a, outsider):
    mkt.rest(0, member_a, Side.BUY, 30, D("9.99"))
    before = mkt.client.quote(mkt.sid)
    r = mkt.bbo.pushTopOfBook(mkt.sid, D("50.00"), 1, D("50.01"), 1, sender=outsider)
    [e] = r.decode_logs(mkt.bbo.VenueQuoteUpdated)
    assert (e.securityId, e.venue) == (mkt.sid, outsider.address)
    assert unpack_top(e.top)[:4] == (D("50.00"), 1, D("50.01"), 1)
    assert mkt.client.quote(mkt.sid) == before  # only registered venues' words are read
    assert tuple(mkt.bbo.venueQuote(outsider, mkt.sid)) == (0, 0, 0, 0, 0)


def test_push__repeat_of_the_recorded_top__no_write_no_event(mkt, member_a):
    r = mkt.place(0, member_a, Side.BUY, 30, D("9.99"))
    assert len(r.decode_logs(mkt.bbo.VenueQuoteUpdated)) == 1
    r = mkt.place(0, member_a, Side.BUY, 30, D("9.98"))  # behind the venue's own best bid
    assert r.decode_logs(mkt.bbo.VenueQuoteUpdated) == []


def test_venue_admin__operator_only_and_checked(mkt, operator, outsider):
    venue = mkt.venues[0]
    with ape.reverts(mkt.bbo.AccessControlUnauthorizedAccount):
        mkt.bbo.addVenue(outsider, sender=outsider)
    with ape.reverts(mkt.bbo.VenueAlreadyRegistered, venue=venue):
        mkt.bbo.addVenue(venue, sender=operator)
    with ape.reverts(mkt.bbo.VenueNotRegistered, venue=outsider):
        mkt.bbo.removeVenue(outsider, sender=operator)
    with ape.reverts(mkt.bbo.ZeroAddress):
        mkt.bbo.addVenue("0x" + "00" * 20, sender=operator)
    fillers = [f"0x{i:040x}" for i in range(1, 6)]  # slots 3..7
    for a in fillers:
        mkt.bbo.addVenue(a, sender=operator)
    with ape.reverts(mkt.bbo.TooManyVenues, max=8):
        mkt.bbo.addVenue(f"0x{99:040x}", sender=operator)
    assert len(mkt.bbo.venues()) == 8


def test_depth__merges_venues_levels_summing_equal_prices(mkt, member_a, member_b, member_c):
    for venue, who, side, qty, price in [
        (0, member_a, Side.BUY, 10, "9.99"), (0, member_a, Side.BUY, 20, "9.97"),
        (1, member_c, Side.BUY, 30, "9.99"), (1, member_c, Side.BUY, 40, "9.98"),
        (2, member_b, Side.SELL, 50, "10.01"), (0, member_a, Side.SELL, 60, "10.03"),
        (1, member_c, Side.SELL, 70, "10.01"),
    ]:
        mkt.rest(venue, who, side, qty, D(price))
    bids, asks = mkt.client.depth(mkt.sid, 5)
    assert bids == [(D("9.99"), 40), (D("9.98"), 40), (D("9.97"), 20)]
    assert asks == [(D("10.01"), 120), (D("10.03"), 60)]
    assert mkt.client.depth(mkt.sid, 1) == ([(D("9.99"), 40)], [(D("10.01"), 120)])
    with ape.reverts(mkt.bbo.TooManyLevels, levels=33, max=32):
        mkt.bbo.consolidatedDepth(mkt.sid, 33)
    table = mkt.client.format_book(mkt.sid, 3)
    print("\n" + table)
    assert "9.990000" in table and "120" in table and "[V1]" not in table.splitlines()[0].split("ask")[0]


def test_consolidate__reference_python():
    tops = [("A", (99, 10, 101, 5)), ("B", (99, 7, 102, 1)), ("C", (0, 0, 101, 2))]
    q = consolidate(tops)
    assert q.core() == (99, 17, ("A", "B"), 101, 7, ("A", "C"))
    assert consolidate([]).core() == (0, 0, (), 0, 0, ())


def test_venue__exposes_its_quote_sink(mkt):
    assert mkt.venues[0].quoteSink() == mkt.bbo.address
