"""Benchmark of the BBO on the real contracts (three venues, the CCP), registered with
``smartccp.bench.core``; ``tests/bbo/test_bbo_gas.py`` runs the same functions on its fixture.

Method: gas is the receipt's ``gasUsed`` of the whole transaction, median over repetitions.
``bbo.route_3_venues_gas``: a routed buy that fills one maker on each of three venues (three
children, three trades novated into the CCP's cycle, the venues' pushes to the BBO included).
``bbo.publish_overhead_gas``: the same signed placement on a venue (a new best bid that changes
the consolidated quote, every venue already quoting) with the BBO as the venue's quote sink minus
without a sink; ``bbo.publish_overhead_venue_only_gas`` is the same for a placement that changes
the venue's top but not the consolidated quote; ``bbo.publish_overhead_unchanged_top_gas`` for a
placement behind the venue's own best bid (its top does not change: the venue still pushes, the
BBO drops the repeat); ``bbo.publish_overhead_venue_share_gas`` is the venue's own share (the
same placement as the first, pushing to ``MockNullQuoteSink``, which does nothing).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from ape import chain, project

from smartccp.bench.core import BenchContext, Figures, goal, measurement
from smartccp.chain.system import System, deploy_system, list_security
from smartccp.trading.bbo import BboClient, RoutedOrder, deploy_bbo
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import ZERO_ADDRESS, Side
from smartccp.units import cash

goal("bbo.publish_overhead_gas", "<=", 15_000)

LOT_QTY = 10  # units of each resting offer (one lot)


@dataclass
class BboMarket:
    """A system with three venues listing one security, the BBO wired, funded traders."""

    system: System
    sid: int
    bbo: Any
    client: BboClient
    vclients: list[VenueClient]

    def order(self, owner: Any, side: Side, price: int, qty: int = LOT_QTY) -> Order:
        return Order(owner=str(owner.address), securityId=self.sid, side=side, quantity=qty, price=price)


def open_bbo_market(ctx: BenchContext, n_members: int = 4) -> tuple[BboMarket, list[Any]]:
    """Deploy the system (CCP, three venues), list a T+1 equity (tick 0.01, lot 1), fund
    ``n_members`` members and deploy the BBO."""
    from smartccp.bench.clearing import fund_members

    r = ctx.roles
    system = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer, n_venues=3)
    system.securities.listSecurity("BBOB", b"XS0000000002", 0, cash("0.01"), 1, 0, sender=r.issuer)
    sid = int(system.securities.securityCount())
    list_security(system, r.operator, sid, lag_days=1)
    members = fund_members(system, r.operator, r.bank, r.issuer, system.ccp, [sid], n_members)
    bbo = deploy_bbo(system, r.operator)
    return BboMarket(system, sid, bbo, BboClient(bbo), [VenueClient(v) for v in system.venues]), members


def route_3_venues_gas(m: BboMarket, makers: list[Any], taker: Any, repeats: int) -> int:
    """Median gas of a routed buy of 3 * LOT_QTY filling one maker per venue (offers at 10.00,
    10.01, 10.02 on venues 0, 1, 2, and a resting bid on each venue so sides stay quoted)."""
    gas = []
    for i in range(repeats):
        if i == 0:
            for v, maker in enumerate(makers[:3]):
                m.vclients[v].place(m.order(maker, Side.BUY, cash("9.00")), maker)
        for v, maker in enumerate(makers[:3]):
            m.vclients[v].place(m.order(maker, Side.SELL, cash("10.00") + v * cash("0.01")), maker)
        order = m.client.with_nonce(RoutedOrder(owner=str(taker.address), securityId=m.sid, side=Side.BUY,
                                                quantity=3 * LOT_QTY, limitPrice=cash("10.05")))
        receipt = m.client.route(order, taker, max_children=3)
        if len(m.client.fills(receipt)) != 3 or m.client.outcome(receipt).filled != 3 * LOT_QTY:
            raise RuntimeError("route did not fill three makers on three venues")
        gas.append(int(receipt.gas_used))
    return int(statistics.median(gas))


def publish_overhead_gas(m: BboMarket, makers: list[Any], operator: Any, repeats: int, *,
                         changes_quote: bool = True, price: int | None = None) -> tuple[int, int]:
    """(gas with the BBO as sink, gas without a sink) of the same signed placement on venue 0,
    median over ``repeats`` placements; each pair runs from the same chain snapshot.

    Every venue quotes both sides first (bids 9.00..9.02, offers 11.00..11.02). The placement is
    a bid on venue 0 at 9.50 (new consolidated best bid) or at 9.01 (``changes_quote`` False:
    venue 0's best bid moves, the consolidated best bid stays 9.02 on venue 2), or at ``price``
    if given (e.g. 8.99: behind venue 0's best bid, its top does not change)."""
    vc = m.vclients[0]
    for v in range(3):
        m.vclients[v].place(m.order(makers[v], Side.BUY, cash("9.00") + v * cash("0.01")), makers[v])
        m.vclients[v].place(m.order(makers[v], Side.SELL, cash("11.00") + v * cash("0.01")), makers[v])
    if price is None:
        price = cash("9.50") if changes_quote else cash("9.01")
    with_sink, without = [], []
    for i in range(repeats):
        who = makers[3 + i % max(1, len(makers) - 3)] if len(makers) > 3 else makers[1]
        order = vc.with_nonce(m.order(who, Side.BUY, price))
        args = vc.place_args(order, who)
        snap = chain.snapshot()
        with_sink.append(int(vc.venue.placeOrder(*args, sender=who).gas_used))
        chain.restore(snap)
        snap = chain.snapshot()
        vc.venue.setQuoteSink(ZERO_ADDRESS, sender=operator)
        without.append(int(vc.venue.placeOrder(*args, sender=who).gas_used))
        chain.restore(snap)
    return int(statistics.median(with_sink)), int(statistics.median(without))


@measurement("bbo")
def bbo_gas(ctx: BenchContext) -> Figures:
    m, members = open_bbo_market(ctx, n_members=5)
    snap = chain.snapshot()
    route = route_3_venues_gas(m, members[:3], members[3], ctx.repeats)
    chain.restore(snap)
    snap = chain.snapshot()
    on, off = publish_overhead_gas(m, members, ctx.roles.operator, ctx.repeats)
    chain.restore(snap)
    snap = chain.snapshot()
    on_v, off_v = publish_overhead_gas(m, members, ctx.roles.operator, ctx.repeats, changes_quote=False)
    chain.restore(snap)
    snap = chain.snapshot()
    on_u, off_u = publish_overhead_gas(m, members, ctx.roles.operator, ctx.repeats, price=cash("8.99"))
    chain.restore(snap)
    m.system.venues[0].setQuoteSink(project.MockNullQuoteSink.deploy(sender=ctx.roles.operator), sender=ctx.roles.operator)
    on_n, off_n = publish_overhead_gas(m, members, ctx.roles.operator, ctx.repeats)
    return {
        "bbo.route_3_venues_gas": route,
        "bbo.publish_overhead_gas": on - off,
        "bbo.publish_overhead_venue_only_gas": on_v - off_v,
        "bbo.publish_overhead_venue_share_gas": on_n - off_n,
        "bbo.publish_overhead_unchanged_top_gas": on_u - off_u,
    }
