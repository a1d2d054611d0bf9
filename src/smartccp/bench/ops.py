"""Benchmark: what running the system costs — the whole deployment from a deployment file, and
each daily operation of one trading day (docs/operations.md) as the keeper performs it.

The deployment is ``deployments/local.yaml`` (three venues, two securities, every part). Two
clearing members trade one security in continuous trading and in the closing auction; then the
keeper's operations run one by one, each when due (the local chain's clock moved forward, as the
demo does). Each figure is the gas of every transaction the operation sent.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ape import chain

from smartccp.bench.core import BenchContext, Figures, measurement
from smartccp.chain.system import admit, approve_settlement, fund
from smartccp.ops.clock import Clock
from smartccp.ops.daily import Operations, Outcome
from smartccp.ops.deploy import deploy
from smartccp.ops.spec import load_spec
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash


def _gas(fn: Callable[[], Any]) -> tuple[Any, int]:
    """``fn()`` and the gas of every block it mined (one transaction per block on anvil)."""
    start = chain.blocks.head.number + 1
    result = fn()
    gas = sum(int(b.gas_used) for b in chain.blocks.range(start, chain.blocks.head.number + 1))
    return result, gas


@measurement("ops")
def ops_day(ctx: BenchContext) -> Figures:
    r = ctx.roles
    dep, deploy_gas = _gas(lambda: deploy(load_spec(), fresh=True, path=_tmp_registry(), say=lambda _line: None))
    s, rk, sid = dep.system, dep.risk, dep.security_ids["ACME"]
    members = [r.member_a, r.member_b]
    admit(s, r.operator, members)
    fund(s, members, bank=r.bank, issuer=r.issuer, cash=cash(1_000_000), units={sid: 10_000})
    approve_settlement(s, members, rk.margin, rk.fund)
    rk.fund.setRequiredContributions([m.address for m in members], [cash(100)] * 2, sender=r.operator)
    for m in members:
        rk.margin.depositCash(cash(100_000), sender=m)
        rk.fund.contribute(cash(100), sender=m)
    ops = Operations(dep, Clock(warp=True))
    spec, clock = dep.spec, ops.clock
    k = ops.today() + 1
    clock.wait_until(k * spec.cycle_length)
    figures: Figures = {}

    def run(name: str, op: Callable[[], Outcome]) -> None:
        out, gas = _gas(op)
        if not out.did:
            raise RuntimeError(f"ops.{name} did nothing: {out.message}")
        figures[f"ops.{name}_gas"] = gas
        figures[f"ops.{name}_txs"] = out.txs

    run("open", ops.open)
    venue = VenueClient(s.venues[0])
    a, b = members
    for side, who, price in ((Side.SELL, b, "12.50"), (Side.BUY, a, "12.50")):
        venue.place(Order(owner=str(who.address), securityId=sid, side=side, quantity=100, price=cash(price)), who)
    clock.wait_until(spec.close_time(k))
    run("close", ops.close)
    for side, who, price in ((Side.BUY, a, "12.60"), (Side.SELL, b, "12.40")):
        venue.place(Order(owner=str(who.address), securityId=sid, side=side, quantity=50, price=cash(price)), who)
    clock.wait_until(spec.auction_end(k))
    run("uncross", ops.uncross)
    run("prices", ops.prices)
    run("margin", ops.margin)
    [(_, settles_from)] = ops.open_cycles()
    clock.wait_until(settles_from)
    run("settle", ops.settle)
    figures["ops.deploy_gas"] = deploy_gas
    figures["ops.margin_gas_per_member"] = figures["ops.margin_gas"] // len(members)
    figures["ops.books"] = len(s.venues) * len(dep.security_ids)
    return figures


def _tmp_registry() -> Path:
    """A registry file of its own: the bench's deployments are throw-away."""
    return Path(tempfile.mkdtemp(prefix="smartccp-bench-")) / "registry.json"
