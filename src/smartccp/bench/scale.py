"""Benchmark of costs against the market's size (#18): an order, a fill and a member's end-of-day
margin must cost the same whether the member holds 5 positions or 500 and whether the CCP has 20
clearing members or 200. On the complete system as :mod:`.risk` builds it (register, ledgers,
venue, CCP, Margin as every venue's gate and DefaultFund, 16 calibrated scenarios per security,
T+1), members funded and margined by :func:`.risk.margined_members`.

``scale.positions``: 500 securities listed on one venue, settlement prices published; a wide member buys one unit of each of the 500 from a dealer, a mid member of the
first 100, a narrow member of the first 5 (signed orders, 32 trades to an ``OrderRelay``
transaction), so their accounts hold CCP obligations (open positions) in 500, 100 and 5
securities of the open cycle.

- ``scale.gate_gas_500_vs_5_positions_ratio``: the pre-trade gate's share of an order placement,
  measured as ``risk.check_order_gas`` is (the same resting limit order placed with Margin as the
  venue's gate, minus without, in steady state: the member known to the gate, the price level
  there), of the wide member over the narrow one; ``scale.gate_500_positions_gas`` and
  ``scale.gate_5_positions_gas`` the two shares.
- ``scale.fill_gas_500_vs_5_positions_ratio``: a taker buy fully filling one resting offer of the
  dealer, novated by the CCP, gate on (the whole transaction), the wide member's over the narrow
  member's, in a security both already traded in the cycle; ``scale.fill_500_positions_gas`` and
  ``scale.fill_5_positions_gas`` the two fills.
- ``scale.eod_margin_gas_per_position``: end-of-day revaluation, ``refreshMargin`` in one call
  after new settlement prices for every security, per open position:
  ``(500 positions - 5 positions) / 495``, in steady state (each member revalued once after its
  fills, as ``risk.refresh_margin_gas`` is). ``scale.eod_margin_{5,100,500}_positions_gas`` are
  the one-call figures; ``scale.eod_margin_500_positions_after_fills_gas`` the wide member's first
  revaluation after its fills (every position's slot written too);
  ``scale.eod_margin_500_positions_paged_gas`` the steady-state revaluation in pages of
  ``smartccp.risk.chain.REVALUE_PAGE`` items (``Margin.revalue``, as the keeper runs it), of which
  ``scale.eod_margin_pages`` transactions, the largest ``scale.eod_margin_max_page_gas``.

``scale.members``: a CCP with one security, 20 clearing members, each funded (cash, securities,
the CCP's settlement approvals), margined (cash deposited in Margin) and a paying default-fund
member; every member has traded once in the open cycle. Then 180 more join the same way and trade.

- ``scale.fill_gas_200_vs_20_members_ratio``: the same one-maker fill between the same two
  members (gate on, novated) in the CCP of 200 members over the CCP of 20;
  ``scale.fill_20_members_gas`` and ``scale.fill_200_members_gas`` the fills,
  ``scale.fund_members`` how many of the 200 pay into the default fund (trading needs no fund
  membership, and neither the gate nor a fill reads the fund).

``scale.positions_wall_s`` and ``scale.members_wall_s`` are each measurement's wall time, set-up
included (about 90 s and 50 s on the 2-core reference machine). Gas is ``receipt.gas_used`` of the
whole transaction, medians over ``ctx.repeats``.

Both run only on an anvil started without step traces (``SMARTCCP_ANVIL_STEPS_TRACING=0``, see
``tools/bin/anvil``; ``make bench`` runs them so): with ape-foundry's ``--steps-tracing`` anvil
keeps every opcode step of every transaction in memory, past 20 GB for this market. Elsewhere they
print a note and measure nothing. :func:`positions_scale` and :func:`members_scale` take the sizes
(the tests run them small).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

from smartccp.bench.core import BenchContext, Figures, goal, measurement
from smartccp.bench.risk import (
    RiskMarket,
    fill_gas,
    gate_placements,
    limit_order,
    margined_members,
    risk_market,
)
from smartccp.bench.trade import TICK
from smartccp.risk.chain import margin_status, publish_contributions, revalue
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash

goal("scale.gate_gas_500_vs_5_positions_ratio", "<=", 1.05)
goal("scale.fill_gas_500_vs_5_positions_ratio", "<=", 1.05)
goal("scale.eod_margin_gas_per_position", "<=", 15_000)
goal("scale.fill_gas_200_vs_20_members_ratio", "<=", 1.05)

WIDE, MID, NARROW = 500, 100, 5  # positions of the three members of scale.positions
FEW_MEMBERS, MANY_MEMBERS = 20, 200
FILL_QTY = 10
CONTRIBUTION = cash(10_000)


#: ``0`` in the environment of ``ape run`` starts the local anvil without step traces
#: (``tools/bin/anvil``); the measurements here run only then.
STEPS_TRACING_ENV = "SMARTCCP_ANVIL_STEPS_TRACING"


def _lean_node(name: str) -> bool:
    """True if the local node keeps no step traces; else a note says why ``name`` is skipped."""
    if os.environ.get(STEPS_TRACING_ENV) == "0":
        return True
    tqdm.write(f"{name}: skipped: anvil keeps every opcode step of every transaction in memory "
               f"(ape-foundry's --steps-tracing), many GB at this size (past 20 GB for scale.positions); "
               f"run it as `{STEPS_TRACING_ENV}=0 ape run bench --only scale` (make bench does)")
    return False


def _bar(total: int, desc: str, unit: str) -> tqdm:
    """A progress bar on stderr for a long set-up step."""
    return tqdm(total=total, desc=f"scale: {desc}", unit=f" {unit}", mininterval=1.0)


# ─── Building a large market ─────────────────────────────────────────────────────────────────


class ScaleMarket:
    """A :class:`.risk.RiskMarket` whose securities may be spread over several venues: a client
    per venue, and trades sent as signed orders through the ``OrderRelay`` in full batches."""

    def __init__(self, m: RiskMarket):
        self.m = m
        self.clients = [VenueClient(v) for v in m.system.venues]
        self.venue_of: dict[int, int] = {}
        self.pairs_per_batch = int(m.system.relay.MAX_BATCH()) // 2

    def client(self, sid: int) -> VenueClient:
        return self.clients[self.venue_of[sid]]

    def list_securities(self, ctx: BenchContext, n: int) -> None:
        """List ``n`` securities (prices 10.00 to 59.99), each on one venue: the first ``n /
        venues`` on the first venue, and so on; then publish their prices."""
        venues = self.m.system.venues
        with _bar(n, "listing securities", "securities") as bar:
            for i in range(n):
                k = i * len(venues) // n
                sid = self.m.add_security(ctx, cash(10) + (i * 7_919 % 5_000) * TICK, venues=[venues[k]])
                self.venue_of[sid] = k
                bar.update()
        self.m.publish_prices(ctx.roles.operator)

    def trade(self, pairs: Sequence[tuple[Any, Any, int]], sender: Any, desc: str) -> None:
        """Each (buyer, seller, security) of ``pairs`` trades ``FILL_QTY`` units at the security's
        price: the seller's offer rests, the buyer's bid fills it. Pairs go to the relay
        ``pairs_per_batch`` at a time, grouped by venue; atomic batches, every trade checked."""
        by_venue: dict[int, list[tuple[Any, Any, int]]] = {}
        for pair in pairs:
            by_venue.setdefault(self.venue_of[pair[2]], []).append(pair)
        with _bar(len(pairs), desc, "trades") as bar:
            for k, todo in by_venue.items():
                for i in range(0, len(todo), self.pairs_per_batch):
                    batch = todo[i:i + self.pairs_per_batch]
                    signed = []
                    for buyer, seller, sid in batch:
                        price = self.m.prices[sid]
                        signed.append((limit_order(seller, sid, Side.SELL, FILL_QTY, price), seller))
                        signed.append((limit_order(buyer, sid, Side.BUY, FILL_QTY, price), buyer))
                    receipt = self.clients[k].place_batch(self.m.system.relay, signed, sender=sender, atomic=True)
                    made = len(self.clients[k].trades(receipt))
                    if made != len(batch):
                        raise RuntimeError(f"a relayed batch of {len(batch)} pairs made {made} trades")
                    bar.update(len(batch))

    def fill_gas(self, maker: Any, taker: Any, sid: int, repeats: int) -> int:
        """Median gas of ``taker``'s buy filling one resting offer of ``maker`` at the price."""
        return fill_gas(self.client(sid), maker, taker, sid, self.m.prices[sid], FILL_QTY, repeats)


def _ratio(big: int, small: int) -> float:
    return round(big / small, 3)


# ─── Positions: gate, fill, end-of-day margin ────────────────────────────────────────────────


def _gate_shares(s: ScaleMarket, members: Sequence[Any], sid: int, operator: Any, repeats: int) -> list[int]:
    """Per member: median placement of a resting buy with the gate minus without (as
    ``risk.check_order_gas``); one placement each first, so the price level exists."""
    price = s.m.prices[sid] // 2 // TICK * TICK
    placements = gate_placements(s.client(sid), s.m.risk.margin, list(members), sid, price, operator, repeats)
    return [g - w for g, w in placements]


def _move_prices(m: RiskMarket, operator: Any, bps: int) -> None:
    """New settlement prices for every security: each listed price moved by ``bps`` (1/10,000)."""
    m.publish_prices(operator, {sid: p * (10_000 + bps) // 10_000 for sid, p in m.prices.items()})


def _eod_margin(s: ScaleMarket, members: Sequence[Any], operator: Any,
                repeats: int) -> tuple[list[int], list[int], int]:
    """(median ``refreshMargin`` gas per member, the pages of the last member's paged
    revaluation in the last repeat, the last member's first revaluation), each revaluation
    after new settlement prices. The first revaluation of each member after its fills also
    writes every position's slot (fills released); the measured ones find the positions as
    they left them (steady state, as ``risk.refresh_margin_gas``)."""
    m, margin = s.m, s.m.risk.margin
    _move_prices(m, operator, 40)
    first = [int(margin.refreshMargin(member, sender=operator).gas_used) for member in members]
    one_call: list[list[int]] = [[] for _ in members]
    pages: list[int] = []
    with _bar(repeats * (len(members) + 1), "end-of-day margin", "revaluations") as bar:
        for i in range(repeats):
            _move_prices(m, operator, (-1) ** i * (50 + i))
            for k, member in enumerate(members):
                one_call[k].append(int(margin.refreshMargin(member, sender=operator).gas_used))
                bar.update()
            _move_prices(m, operator, (-1) ** (i + 1) * (60 + i))
            pages = [int(r.gas_used) for r in revalue(margin, members[-1], operator)]
            bar.update()
    return [int(statistics.median(g)) for g in one_call], pages, first[-1]


@measurement("scale.positions")
def positions(ctx: BenchContext) -> Figures:
    """:func:`positions_scale` at 500, 100 and 5 positions, on a node without step traces."""
    return positions_scale(ctx) if _lean_node("scale.positions") else {}


def positions_scale(ctx: BenchContext, wide: int = WIDE, mid: int = MID, narrow: int = NARROW) -> Figures:
    """Gate, fill and end-of-day margin of members holding ``narrow``, ``mid`` and ``wide``
    positions (see the module docstring)."""
    start = time.perf_counter()
    op = ctx.roles.operator
    s = ScaleMarket(risk_market(ctx, 0))
    s.list_securities(ctx, wide)
    sids = s.m.sids
    dealer, w, md, nw = margined_members(s.m, ctx, 4, securities=[])
    s.trade([(w, dealer, sid) for sid in sids] + [(md, dealer, sid) for sid in sids[:mid]]
            + [(nw, dealer, sid) for sid in sids[:narrow]], op, "building positions")
    held = {member: len(s.m.risk.margin.positionsOf(member)[0]) for member in (w, md, nw)}
    if list(held.values()) != [wide, mid, narrow]:
        raise RuntimeError(f"positions listed by Margin {list(held.values())}, not {[wide, mid, narrow]}")
    gate_wide, gate_narrow = _gate_shares(s, [w, nw], sids[1], op, ctx.repeats)
    fill_wide = s.fill_gas(dealer, w, sids[0], ctx.repeats)
    fill_narrow = s.fill_gas(dealer, nw, sids[0], ctx.repeats)
    (eod_narrow, eod_mid, eod_wide), pages, eod_first = _eod_margin(s, [nw, md, w], op, ctx.repeats)
    if margin_status(s.m.risk.margin, w).initial_margin == 0:
        raise RuntimeError("the revalued member has no initial margin: positions not seen")
    wall = time.perf_counter() - start
    tqdm.write(f"scale.positions: {wide} securities on {len(s.clients)} venue(s), {wall:.0f} s")
    return {
        f"scale.gate_{wide}_positions_gas": gate_wide,
        f"scale.gate_{narrow}_positions_gas": gate_narrow,
        f"scale.gate_gas_{wide}_vs_{narrow}_positions_ratio": _ratio(gate_wide, gate_narrow),
        f"scale.fill_{wide}_positions_gas": fill_wide,
        f"scale.fill_{narrow}_positions_gas": fill_narrow,
        f"scale.fill_gas_{wide}_vs_{narrow}_positions_ratio": _ratio(fill_wide, fill_narrow),
        f"scale.eod_margin_{narrow}_positions_gas": eod_narrow,
        f"scale.eod_margin_{mid}_positions_gas": eod_mid,
        f"scale.eod_margin_{wide}_positions_gas": eod_wide,
        "scale.eod_margin_gas_per_position": (eod_wide - eod_narrow) // (wide - narrow),
        f"scale.eod_margin_{wide}_positions_paged_gas": sum(pages),
        f"scale.eod_margin_{wide}_positions_after_fills_gas": eod_first,
        "scale.eod_margin_pages": len(pages),
        "scale.eod_margin_max_page_gas": max(pages),
        "scale.positions_wall_s": round(wall, 1),
    }


# ─── Members: a fill in a CCP of 20 and of 200 ───────────────────────────────────────────────


def _join_fund(m: RiskMarket, members: Sequence[Any], operator: Any, joined: int) -> int:
    """Make ``members`` paying default-fund members (published in the fund's batches); returns
    the fund's member count after."""
    publish_contributions(m.risk.fund, dict.fromkeys(members, CONTRIBUTION), operator)
    for member in members:
        m.risk.fund.contribute(CONTRIBUTION, sender=member)
    return joined + len(members)


@measurement("scale.members")
def members(ctx: BenchContext) -> Figures:
    """:func:`members_scale` at 20 and 200 members, on a node without step traces."""
    return members_scale(ctx) if _lean_node("scale.members") else {}


def members_scale(ctx: BenchContext, few: int = FEW_MEMBERS, many: int = MANY_MEMBERS) -> Figures:
    """One fill between the same two members in a CCP of ``few`` and then ``many`` clearing
    members (see the module docstring)."""
    start = time.perf_counter()
    op = ctx.roles.operator
    s = ScaleMarket(risk_market(ctx, 1))
    (sid,) = s.m.sids
    s.venue_of[sid] = 0
    members: list[Any] = []
    joined = 0
    fills = {}
    for size in (few, many):
        with _bar(size - len(members), f"admitting members up to {size}", "members") as bar:
            new = []
            for _ in range(size - len(members)):
                new += margined_members(s.m, ctx, 1)
                bar.update()
        joined = _join_fund(s.m, new, op, joined)
        members += new
        n = len(members)
        # Every new member trades once in the open cycle (as a buyer, from its neighbour).
        s.trade([(members[i], members[(i + 1) % n], sid) for i in range(n - len(new), n)], op,
                f"{len(new)} new members trading")
        fills[size] = s.fill_gas(members[0], members[1], sid, ctx.repeats)
    wall = time.perf_counter() - start
    tqdm.write(f"scale.members: {many} members, {joined} in the default fund, {wall:.0f} s")
    return {
        f"scale.fill_{few}_members_gas": fills[few],
        f"scale.fill_{many}_members_gas": fills[many],
        f"scale.fill_gas_{many}_vs_{few}_members_ratio": _ratio(fills[many], fills[few]),
        "scale.fund_members": joined,
        "scale.members_wall_s": round(wall, 1),
    }
