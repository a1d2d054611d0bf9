"""A venue without a ceiling on its listings (#18): more than the old 256 securities listed and
traded, and the hook settings (risk gate, quote sink) brought into every listed market by a sweep
in pages that anyone may advance (``syncHooks``), with a new gate or sink in effect only once
every market is swept."""

from __future__ import annotations

import ape
import pytest

from smartccp.chain.roles import ISSUER_ROLE, role
from smartccp.trading.venue import sync_hooks
from smartccp.types import ZERO_ADDRESS, Side
from smartccp.units import cash

LISTED = 300  # listed here on top of the session's market: 301 markets, the old ceiling was 256
BATCH = 100  # listings per transaction (about 20M gas)
SETTER_PAGE = 100  # markets a hook setter sweeps itself (VenueCore.SETTER_SYNC_PAGE)


@pytest.fixture(scope="module")
def scale(project, system, venue, operator, market):
    """300 more equities listed on the venue and trading continuously; returns their ids in
    listing order, the session's market first (index 0)."""
    lister = project.MockBatchLister.deploy(sender=operator)
    system.securities.grantRole(ISSUER_ROLE, lister, sender=operator)
    venue.grantRole(role("OPERATOR_ROLE"), lister, sender=operator)
    ids = [market]
    for _ in range(LISTED // BATCH):
        r = lister.listMany(system.securities, venue, BATCH, cash("0.01"), 10, True, sender=operator)
        first = r.return_value
        ids += range(first, first + BATCH)
    assert venue.hookSync().listed == len(ids) == LISTED + 1
    return ids


def synced(receipt, venue) -> list[tuple]:
    return [(e.swept, e.listed, e.gate, e.sink) for e in receipt.decode_logs(venue.HooksSynced)]


def buy(make_order, owner, sid, price: str = "5.00", quantity: int = 10):
    return make_order(owner, Side.BUY, quantity, cash(price)).but(securityId=sid)


def test_list_security__beyond_the_old_256__lists_and_trades_in_the_257th_and_the_last(
        scale, venue, client, make_order, member_a, member_b):
    for sid in (scale[256], scale[-1]):
        client.place(make_order(member_a, Side.SELL, 20, cash("5.00")).but(securityId=sid), member_a)
        r = client.place(buy(make_order, member_b, sid, quantity=20), member_b)
        assert [(e.securityId, e.quantity, e.price) for e in r.decode_logs(venue.Traded)] == [(sid, 20, cash("5.00"))]
        assert venue.lastPrice(sid) == cash("5.00")


def test_sync_hooks__gate_set_where_none__in_effect_only_when_the_sweep_completes(
        project, scale, system, venue, client, make_order, operator, issuer, outsider, member_b):
    n = len(scale)
    gate = project.MockOrderGate.deploy(sender=operator)  # limit 0: refuses every order it is asked
    r = venue.setOrderGate(gate, sender=operator)
    assert synced(r, venue) == [(SETTER_PAGE, n, ZERO_ADDRESS, ZERO_ADDRESS)]
    assert venue.orderGate() == ZERO_ADDRESS  # waiting: no market asks it yet
    assert tuple(venue.hookSync()) == (gate.address, ZERO_ADDRESS, SETTER_PAGE, n, True)
    # Swept (index 0) and not yet swept (the last): both trade unchecked, as before the change.
    for sid in (scale[0], scale[-1]):
        client.place(buy(make_order, member_b, sid), member_b)
    assert gate.approvals() == 0

    with ape.reverts(venue.ZeroPage):
        venue.syncHooks(0, sender=outsider)
    r = venue.syncHooks(1, sender=outsider)  # a page of one advances by one
    assert synced(r, venue) == [(SETTER_PAGE + 1, n, ZERO_ADDRESS, ZERO_ADDRESS)] and not r.return_value
    # A security listed during the sweep is gated from its listing and swept at the end.
    system.securities.listSecurity("LATE", b"US0000000999", 0, cash("0.01"), 10, 0, sender=issuer)
    late = int(system.securities.securityCount())
    venue.listSecurity(late, 0, sender=operator)
    venue.setPhase(late, 2, sender=operator)
    r = venue.syncHooks(150, sender=outsider)
    assert synced(r, venue) == [(SETTER_PAGE + 151, n + 1, ZERO_ADDRESS, ZERO_ADDRESS)]
    client.place(buy(make_order, member_b, late), member_b)  # still no gate in effect
    r = venue.syncHooks(10_000, sender=outsider)
    assert synced(r, venue) == [(n + 1, n + 1, gate.address, ZERO_ADDRESS)]
    assert venue.orderGate() == gate.address
    assert tuple(venue.hookSync()) == (gate.address, ZERO_ADDRESS, 0, n + 1, False)
    # In effect everywhere at once: the last market refuses, the first, the 257th and the late
    # one ask the gate.
    with ape.reverts(gate.InsufficientMargin):
        client.place(buy(make_order, member_b, scale[-1]), member_b)
    gate.setLimit(member_b, cash("1000.00"), sender=operator)
    for sid in (scale[0], scale[256], late):
        client.place(buy(make_order, member_b, sid, "4.00"), member_b)
    assert gate.approvals() == 3
    r = venue.syncHooks(1, sender=outsider)  # nothing left: done, no page
    assert r.return_value and not synced(r, venue)


def test_sync_hooks__gate_replaced_or_removed__in_effect_at_once_in_every_market(
        project, scale, venue, client, make_order, operator, outsider, member_b):
    n = len(scale)
    first, second = (project.MockOrderGate.deploy(sender=operator) for _ in range(2))
    venue.setOrderGate(first, sender=operator)
    venue.syncHooks(10_000, sender=outsider)
    r = venue.setOrderGate(second, sender=operator)  # every market is gated: a swap, no sweep
    assert venue.orderGate() == second.address and not synced(r, venue) and not venue.hookSync().sweeping
    with ape.reverts(second.InsufficientMargin):
        client.place(buy(make_order, member_b, scale[-1]), member_b)
    r = venue.setOrderGate(ZERO_ADDRESS, sender=operator)  # removed at once, flags cleared by the sweep
    assert venue.orderGate() == ZERO_ADDRESS and synced(r, venue) == [(SETTER_PAGE, n, ZERO_ADDRESS, ZERO_ADDRESS)]
    client.place(buy(make_order, member_b, scale[-1]), member_b)  # its flag still set: asks no gate
    assert first.approvals() == second.approvals() == 0
    venue.syncHooks(10_000, sender=outsider)
    assert not venue.hookSync().sweeping


def test_sync_hooks__sink_set_where_none__waits_for_every_book_empty_and_the_sweep(
        project, scale, venue, client, make_order, operator, outsider, member_a, member_b):
    n = len(scale)
    blocked = scale[200]  # beyond the setter's page
    resting = client.resting_id(client.place(buy(make_order, member_a, blocked), member_a))
    sink = project.MockQuoteSink.deploy(sender=operator)
    venue.setQuoteSink(sink, sender=operator)
    assert venue.quoteSink() == ZERO_ADDRESS and venue.hookSync().sink == sink.address
    swept = client.resting_id(client.place(buy(make_order, member_b, scale[1], "4.00"), member_b))
    assert sink.pushes() == 0  # a swept market publishes to no one while the sink waits
    r = venue.syncHooks(10_000, sender=outsider)  # stops before the book holding an order
    assert synced(r, venue) == [(200, n, ZERO_ADDRESS, ZERO_ADDRESS)] and venue.hookSync().sweeping
    with ape.reverts(venue.BooksNotEmpty, securityId=blocked):
        venue.syncHooks(1, sender=outsider)
    client.cancel(resting, member_a)
    r = venue.syncHooks(10_000, sender=outsider)
    assert synced(r, venue) == [(n, n, ZERO_ADDRESS, sink.address)] and venue.quoteSink() == sink.address
    # The order that rested in a swept market while the sink waited was marked published: its
    # cancel reaches the sink, which hears the market's (now empty) top.
    client.place(make_order(member_a, Side.SELL, 10, cash("6.00")).but(securityId=scale[1]), member_a)
    assert tuple(sink.tops(venue, scale[1])) == (cash("4.00"), 10, cash("6.00"), 10)
    client.cancel(swept, member_b)
    assert tuple(sink.tops(venue, scale[1])) == (0, 0, cash("6.00"), 10)


def test_set_quote_sink__book_holding_orders_in_the_first_page__refused_at_once(
        project, scale, venue, client, make_order, operator, member_a):
    client.place(buy(make_order, member_a, scale[50]), member_a)
    sink = project.MockQuoteSink.deploy(sender=operator)
    with ape.reverts(venue.BooksNotEmpty, securityId=scale[50]):
        venue.setQuoteSink(sink, sender=operator)
    assert tuple(venue.hookSync()) == (ZERO_ADDRESS, ZERO_ADDRESS, 0, len(scale), False)


def test_sync_hooks_helper__pages_until_the_sweep_is_done(project, scale, venue, operator, outsider):
    gate = project.MockOrderGate.deploy(sender=operator)
    venue.setOrderGate(gate, sender=operator)  # sweeps 100 of 301 itself
    assert sync_hooks(venue, outsider, page=90) == 3  # 201 left: 90, 90, 21
    assert venue.orderGate() == gate.address and not venue.hookSync().sweeping
    assert sync_hooks(venue, outsider) == 0
