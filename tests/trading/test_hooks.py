"""The venue's hooks for the rest of the system: top-of-book publishing (for the BBO) and
trusted placement (the BBO router for its clients; SmartCCP's own contracts in their own name)."""

from __future__ import annotations

import ape
import pytest

from smartccp.chain.roles import role
from smartccp.trading.venue import SettleInstruction
from smartccp.types import OrderType, Route, Side, TradingPhase
from smartccp.units import cash

ROUTER_ROLE = role("ROUTER_ROLE")


@pytest.fixture
def quotes(project, venue, operator, market):
    sink = project.MockQuoteSink.deploy(sender=operator)
    venue.setQuoteSink(sink, sender=operator)
    return sink


def top(sink, venue, sid):
    return tuple(sink.tops(venue, sid))


def test_publish__every_top_change_reaches_the_sink(quotes, venue, client, place, member_a, member_b, market):
    place(member_a, Side.SELL, 100, cash("10.00"))
    assert top(quotes, venue, market) == (0, 0, cash("10.00"), 100)
    place(member_b, Side.BUY, 50, cash("9.90"))
    assert top(quotes, venue, market) == (cash("9.90"), 50, cash("10.00"), 100)
    place(member_b, Side.BUY, 30, cash("10.00"))  # fills 30: offer size drops
    assert top(quotes, venue, market) == (cash("9.90"), 50, cash("10.00"), 70)
    oid = client.resting_id(place(member_b, Side.BUY, 10, cash("9.95")))
    client.cancel(oid, member_b)
    assert top(quotes, venue, market) == (cash("9.90"), 50, cash("10.00"), 70)


def test_publish__unchanged_top__pushed_again_but_nothing_recorded(quotes, venue, place, member_a, member_b, market):
    """The venue keeps no copy of its last push: it pushes after every book operation and the
    sink drops a repeat (``calls`` counts pushes that changed the recorded top)."""
    place(member_a, Side.SELL, 100, cash("10.00"))
    calls, pushes = quotes.calls(), quotes.pushes()
    place(member_a, Side.SELL, 100, cash("10.50"))  # behind the best offer
    place(member_a, Side.SELL, 100, cash("9.50"), orderType=OrderType.HIDDEN)  # hidden: not shown
    assert quotes.calls() == calls and quotes.pushes() == pushes + 2
    assert top(quotes, venue, market) == (0, 0, cash("10.00"), 100)


def test_publish__out_of_continuous_trading__empty_top_and_silence__the_top_again_on_resuming(
        quotes, venue, securities, place, operator, member_a, member_b, market):
    """Only a quote that can be traded against now reaches the sink (#23): closed, in a call
    auction or halted, the venue pushes an empty top once and nothing more until it resumes."""
    place(member_a, Side.SELL, 100, cash("10.00"))
    place(member_b, Side.BUY, 50, cash("9.90"))
    assert top(quotes, venue, market) == (cash("9.90"), 50, cash("10.00"), 100)
    empty = (0, 0, 0, 0)
    venue.setPhase(market, TradingPhase.CLOSED, sender=operator)
    assert top(quotes, venue, market) == empty
    venue.setPhase(market, TradingPhase.CONTINUOUS, sender=operator)
    assert top(quotes, venue, market) == (cash("9.90"), 50, cash("10.00"), 100)
    venue.setPhase(market, TradingPhase.PRE_CLOSE, sender=operator)
    assert top(quotes, venue, market) == empty
    pushes = quotes.pushes()
    place(member_b, Side.BUY, 50, cash("9.95"))  # collected by the auction: not pushed
    venue.uncross(market, 10, sender=operator)  # nothing crosses: Closed, still silent
    venue.setPhase(market, TradingPhase.PRE_OPEN, sender=operator)
    assert quotes.pushes() == pushes + 1 and top(quotes, venue, market) == empty  # PreOpen: empty again
    venue.uncross(market, 10, sender=operator)  # Continuous: the book as it is now
    assert top(quotes, venue, market) == (cash("9.95"), 50, cash("10.00"), 100)
    securities.setHalted(market, True, sender=operator)
    assert top(quotes, venue, market) == empty
    securities.setHalted(market, False, sender=operator)
    assert top(quotes, venue, market) == (cash("9.95"), 50, cash("10.00"), 100)


def test_place_trusted__router_places_for_a_client_without_signature(venue, client, make_order, operator, accounts, member_a, member_b, market):
    router = accounts[7]
    venue.grantRole(ROUTER_ROLE, router, sender=operator)
    client.place(make_order(member_a, Side.SELL, 100, cash("10.00")), member_a)
    order = client.with_nonce(make_order(member_b, Side.BUY, 40, cash("10.00")))
    r = venue.placeTrusted(order.as_tuple(), 10, sender=router)
    t = client.trades(r)[0]
    assert (t.buyer, t.seller, t.quantity, t.bidOrderHash) == (member_b, member_a, 40, client.hash(order))


def test_place_trusted__anyone_else__reverts(venue, client, make_order, member_a, member_b, market):
    order = client.with_nonce(make_order(member_b, Side.BUY, 40, cash("10.00")))
    with ape.reverts(venue.NotTrusted, caller=member_a, owner=member_b):
        venue.placeTrusted(order.as_tuple(), 10, sender=member_a)


def test_place_trusted__owner_places_its_own_order_and_uses_its_nonce(venue, client, make_order, member_a, member_b, market):
    """A member's own transaction authenticates its order (no signature, no ecrecover); the
    order hash is the one it would have signed, and the nonce is used, so a signed copy of the
    same order cannot be placed a second time (nor the own submission repeated)."""
    client.place(make_order(member_a, Side.SELL, 100, cash("10.00")), member_a)
    order = client.with_nonce(make_order(member_b, Side.BUY, 40, cash("10.00")))
    r = client.place_own(order, member_b)
    t = client.trades(r)[0]
    assert (t.buyer, t.seller, t.quantity, t.bidOrderHash) == (member_b, member_a, 40, client.hash(order))
    assert venue.nonceUsed(member_b, order.nonce)
    with ape.reverts(venue.NonceUsed, owner=member_b, nonce=order.nonce):
        venue.placeOrder(*client.place_args(order, member_b), sender=member_a)  # the signed copy, relayed
    with ape.reverts(venue.NonceUsed, owner=member_b, nonce=order.nonce):
        client.place_own(order, member_b)
    d = venue.depth(market, 1)
    assert (list(d[2]), list(d[3])) == ([cash("10.00")], [60])


def test_place_trusted__system_contract_trades_in_its_own_name(venue, client, make_order, membership, operator, accounts, member_a, market):
    agent = accounts[7]  # stands in for a SmartCCP contract (e.g. the CCP's close-out)
    membership.registerSystem(agent, sender=operator)
    client.place(make_order(member_a, Side.SELL, 100, cash("10.00")), member_a)
    order = client.with_nonce(make_order(agent, Side.BUY, 20, cash("10.00")))
    r = venue.placeTrusted(order.as_tuple(), 10, sender=agent)
    assert client.trades(r)[0].buyer == agent


# ─── Market makers ───────────────────────────────────────────────────────────────────────────

def quote(venue, client, make_order, maker, bid_price, ask_price, bid_qty=100, ask_qty=100):
    bid = client.with_nonce(make_order(maker, Side.BUY, bid_qty, bid_price))
    ask = client.with_nonce(make_order(maker, Side.SELL, ask_qty, ask_price))
    return venue.quote([bid.as_tuple(), ask.as_tuple()], [client.sign(bid, maker), client.sign(ask, maker)], sender=maker)


@pytest.fixture
def maker(venue, operator, member_c, market):
    """member_c quotes ACME within 0.10 with at least 100 units a side."""
    venue.registerMarketMaker(member_c, market, cash("0.10"), 100, sender=operator)
    return member_c


def test_quote__places_both_sides_and_is_compliant(venue, client, make_order, maker, market):
    r = quote(venue, client, make_order, maker, cash("9.95"), cash("10.05"))
    assert r.decode_logs(venue.QuoteRefreshed)
    assert client.book(market).bids == [(cash("9.95"), 100)] and client.book(market).asks == [(cash("10.05"), 100)]
    assert venue.quoteStatus(maker, market) == (True, 100, 100, cash("0.10"))


def test_quote__refresh_replaces_the_previous_quote(venue, client, make_order, maker, market):
    quote(venue, client, make_order, maker, cash("9.95"), cash("10.05"))
    quote(venue, client, make_order, maker, cash("9.97"), cash("10.03"), 200, 150)
    assert client.book(market).bids == [(cash("9.97"), 200)] and client.book(market).asks == [(cash("10.03"), 150)]


def test_quote__filled_below_min_size__not_compliant_until_refreshed(venue, client, make_order, place, maker, member_b, market):
    quote(venue, client, make_order, maker, cash("9.95"), cash("10.05"))
    place(member_b, Side.BUY, 50, cash("10.05"))
    compliant, bid_size, ask_size, _ = venue.quoteStatus(maker, market)
    assert (compliant, bid_size, ask_size) == (False, 100, 50)
    quote(venue, client, make_order, maker, cash("9.95"), cash("10.05"))
    assert venue.quoteStatus(maker, market)[0]


def test_quote__too_wide__reverts(venue, client, make_order, maker, market):
    with ape.reverts(venue.SpreadTooWide, spread=cash("0.20"), maxSpread=cash("0.10")):
        quote(venue, client, make_order, maker, cash("9.90"), cash("10.10"))
    assert client.book(market).bids == []


def test_quote__too_small__reverts(venue, client, make_order, maker, market):
    with ape.reverts(venue.QuoteTooSmall, quantity=50, minSize=100):
        quote(venue, client, make_order, maker, cash("9.95"), cash("10.05"), bid_qty=50)


def test_quote__not_registered__reverts(venue, client, make_order, member_b, market):
    with ape.reverts(venue.NotMarketMaker, maker=member_b, securityId=market):
        quote(venue, client, make_order, member_b, cash("9.95"), cash("10.05"))


def test_quote__one_sided__reverts(venue, client, make_order, maker, market):
    bids = [client.with_nonce(make_order(maker, Side.BUY, 100, cash(p))) for p in ("9.95", "9.96")]
    with ape.reverts(venue.InvalidQuote):
        venue.quote([b.as_tuple() for b in bids], [client.sign(b, maker) for b in bids], sender=maker)


def test_register_market_maker__by_non_operator__reverts(venue, member_c, market):
    with ape.reverts(venue.AccessControlUnauthorizedAccount):
        venue.registerMarketMaker(member_c, market, 1, 1, sender=member_c)


def test_place_trusted__system_direct_order__settles_gross_against_a_ccp_maker(venue, client, make_order, membership, operator, accounts, member_a, sink, market):
    """The CCP's close-out must be paid or delivered now: a system contract's own Direct order
    makes the trade Direct even against a CCP-route maker."""
    agent = accounts[7]
    membership.registerSystem(agent, sender=operator)
    client.place(make_order(member_a, Side.SELL, 100, cash("10.00")), member_a)  # CCP route
    order = client.with_nonce(make_order(agent, Side.BUY, 20, cash("10.00"), route=Route.DIRECT))
    r = venue.placeTrusted(order.as_tuple(), 10, sender=agent)
    assert SettleInstruction.from_abi(r.decode_logs(sink.InstructionRecorded)[0].instruction).route == Route.DIRECT


# ─── Hook flags: set once on the venue, mirrored into every listed market ───────────────────


def _list_second_security(system, venue, issuer, operator):
    system.securities.listSecurity("BETA", b"US0000000002", 0, cash("0.01"), 10, 0, sender=issuer)
    sid = int(system.securities.securityCount())
    venue.listSecurity(sid, 86_400, sender=operator)
    venue.setPhase(sid, TradingPhase.CONTINUOUS, sender=operator)
    return sid


def test_hooks__set_before_listing__apply_to_the_new_market(project, system, venue, client, make_order, operator, issuer, members, member_b, market):
    gate = project.MockOrderGate.deploy(sender=operator)  # limit 0: refuses every order
    sink = project.MockQuoteSink.deploy(sender=operator)
    venue.setOrderGate(gate, sender=operator)
    venue.setQuoteSink(sink, sender=operator)
    sid = _list_second_security(system, venue, issuer, operator)
    order = make_order(member_b, Side.BUY, 10, cash("5.00")).but(securityId=sid)
    with ape.reverts(gate.InsufficientMargin, member=member_b, required=cash("50.00"), posted=0):
        client.place(order, member_b)
    gate.setLimit(member_b, cash("50.00"), sender=operator)
    client.place(order.but(nonce=None), member_b)
    assert gate.approvals() == 1
    assert tuple(sink.tops(venue, sid)) == (cash("5.00"), 10, 0, 0)


def test_hooks__unset__every_listed_market_stops_asking(project, system, venue, client, make_order, operator, issuer, members, member_b, market):
    sid = _list_second_security(system, venue, issuer, operator)
    gate = project.MockOrderGate.deploy(sender=operator)
    venue.setOrderGate(gate, sender=operator)
    for security in (market, sid):
        with ape.reverts(gate.InsufficientMargin):
            client.place(make_order(member_b, Side.BUY, 10, cash("5.00")).but(securityId=security), member_b)
    venue.setOrderGate("0x" + "00" * 20, sender=operator)
    for security in (market, sid):
        client.place(make_order(member_b, Side.BUY, 10, cash("5.00")).but(securityId=security), member_b)
    assert venue.orderGate() == "0x" + "00" * 20 and gate.approvals() == 0
