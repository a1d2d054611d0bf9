"""The venue's hooks for the rest of the system: top-of-book publishing (for the BBO) and
trusted placement (the BBO router for its clients; SmartCCP's own contracts in their own name)."""

from __future__ import annotations

import ape
import pytest

from smartccp.orders import OrderType, Side
from smartccp.roles import role
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


def test_publish__unchanged_top__no_call(quotes, venue, place, member_a, member_b, market):
    place(member_a, Side.SELL, 100, cash("10.00"))
    calls = quotes.calls()
    place(member_a, Side.SELL, 100, cash("10.50"))  # behind the best offer
    place(member_a, Side.SELL, 100, cash("9.50"), orderType=OrderType.HIDDEN)  # hidden: not shown
    assert quotes.calls() == calls


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
    with ape.reverts(venue.NotTrusted, caller=member_b, owner=member_b):  # members must sign
        venue.placeTrusted(order.as_tuple(), 10, sender=member_b)


def test_place_trusted__system_contract_trades_in_its_own_name(venue, client, make_order, membership, operator, accounts, member_a, market):
    agent = accounts[7]  # stands in for a SmartCCP contract (e.g. the CCP's close-out)
    membership.registerSystem(agent, sender=operator)
    client.place(make_order(member_a, Side.SELL, 100, cash("10.00")), member_a)
    order = client.with_nonce(make_order(agent, Side.BUY, 20, cash("10.00")))
    r = venue.placeTrusted(order.as_tuple(), 10, sender=agent)
    assert client.trades(r)[0].buyer == agent
