"""Benchmark of trading and clearing on the real contracts (venue + CCP), gas with the optimizer
on, on the connected dev chain. Registered with ``smartccp.bench.core``; run by ``ape run bench``.

Method (as the proof issue states it): gas is the receipt's ``gasUsed`` of the whole transaction,
the median over repeated operations, in a book that already holds 100 resting orders (50 offers
on 10 levels, 50 bids on 10 levels). A "fill of one maker" is a taker that fully fills one
resting order at the best price (and empties that level); ``trade.fill_extra_maker_gas`` is
(fill of 10 makers - fill of 1 maker) / 9. ``ccp.novation_gas`` is what the CCP route adds to
the same fill over a bare recorded instruction (``MockSettlementSink``).
``all_in_gas_per_trade`` is the taker's fill transaction plus the trade's share of its cycle's
settlement gas, at 1,000 trades among 20 members in one security (makers' placements excluded);
``all_in.own_order_gas_per_trade`` the same for takers sending their own orders unsigned, and
``all_in.relayed_gas_per_trade`` for signed orders submitted ten to a transaction (OrderRelay).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from ape import chain, project

from smartccp.bench.clearing import fund_members, measure_clearing_gas
from smartccp.bench.core import BenchContext, Figures, goal, measurement
from smartccp.chain import gas_trace
from smartccp.chain.system import System, deploy_system, issue_equity, list_security
from smartccp.clearing.ccp import run_cycle, warp_past
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash

goal("trade.place_resting_gas", "<=", 100_000)
goal("trade.fill_one_maker_gas", "<=", 120_000)
goal("trade.fill_extra_maker_gas", "<=", 35_000)
goal("trade.cancel_gas", "<=", 30_000)
goal("trade.place_depth_1000_ratio", "<=", 1.3)
goal("ccp.novation_gas", "<=", 25_000)
goal("ccp.settle_per_obligation_gas", "<=", 60_000)
goal("ccp.cycle_1000_vs_100_ratio", "<=", 1.1)
goal("ccp.cash_legs_per_account_cycle", "<=", 1)
goal("all_in_gas_per_trade", "<=", 90_000)
goal("all_in.relayed_gas_per_trade", "<=", 90_000)
goal("e2e.ratio", ">=", 0.5)

QTY = 100
TICK = cash("0.01")


@dataclass
class Market:
    """A deployed system with one listed security and funded members who approved the CCP."""

    system: System
    security_id: int
    members: list[Any]
    client: VenueClient

    def order(self, who: int, side: Side, price: int, qty: int = QTY) -> Order:
        return Order(owner=str(self.members[who].address), securityId=self.security_id, side=side,
                     quantity=qty, price=price)

    def place(self, who: int, side: Side, price: int, qty: int = QTY) -> Any:
        return self.client.place(self.order(who, side, price, qty), self.members[who])


def open_market(ctx: BenchContext, *, n_members: int = 20, sink: bool = False, symbol: str = "BENCH") -> Market:
    """Deploy a system (with the CCP, or with a bare recorder if ``sink``), list a T+1 equity
    (tick 0.01, lot 1) and fund ``n_members`` members."""
    r = ctx.roles
    settlement = project.MockSettlementSink.deploy(sender=r.operator) if sink else None
    system = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer, settlement=settlement)
    system.securities.listSecurity(symbol, b"XS0000000001", 0, TICK, 1, 0, sender=r.issuer)
    sid = int(system.securities.securityCount())
    list_security(system, r.operator, sid, lag_days=1)
    approve_to = system.ccp if system.ccp is not None else settlement
    members = fund_members(system, r.operator, r.bank, r.issuer, approve_to, [sid], n_members)
    return Market(system, sid, members, VenueClient(system.venue))


def seed_book(m: Market) -> None:
    """A trading day under way: every member has traded once in the open cycle (so fills net
    into existing obligations), then 100 resting orders: 50 offers on 20.00..20.09, 50 bids on
    10.00..9.91."""
    n = len(m.members)
    for i in range(n):
        m.place(i, Side.SELL, cash("15.00"), 1)
        m.place((i + 1) % n, Side.BUY, cash("15.00"), 1)
    for i in range(50):
        m.place(i % 10, Side.SELL, cash("20.00") + (i % 10) * TICK)
        m.place(10 + i % 10, Side.BUY, cash("10.00") - (i % 10) * TICK)


def fill_gas(m: Market, makers: int, repeats: int, price: int = cash("15.00"), *, relayed: bool = False) -> int:
    """Median gas of a taker buy that fully fills ``makers`` resting offers at ``price`` (sent
    alone, or as a batch of one through the OrderRelay if ``relayed``)."""
    gas = []
    for rep in range(repeats):
        for k in range(makers):
            m.place(k % 10, Side.SELL, price)
        who = 10 + rep % 10
        order = m.order(who, Side.BUY, price, QTY * makers)
        if relayed:
            receipt = m.client.place_batch(m.system.relay, [(order, m.members[who])], sender=m.members[who])
        else:
            receipt = m.client.place(order, m.members[who])
        gas.append(receipt.gas_used)
    return int(statistics.median(gas))


def breakdown_figures(prefix: str, receipt: Any) -> Figures:
    """``<prefix>.<category>_gas`` for each category of ``smartccp.chain.gas_trace`` (none if the node
    cannot trace)."""
    parts = gas_trace.breakdown(chain.provider, receipt.txn_hash)
    return {f"{prefix}.{k}_gas": v for k, v in (parts or {}).items()}


@measurement("trade")
def trade_gas(ctx: BenchContext) -> Figures:
    """Placement, fills, cancel, and the depth ratio, on the venue with the CCP behind it."""
    n = ctx.repeats
    m = open_market(ctx)
    first_touch = m.place(0, Side.SELL, cash("15.00"), 1), m.place(1, Side.BUY, cash("15.00"), 1)
    seed_book(m)
    resting = [m.place(i % 10, Side.SELL, cash("20.05")).gas_used for i in range(n)]
    new_level = [m.place(i % 10, Side.SELL, cash("21.00") + i * TICK).gas_used for i in range(n)]
    one = fill_gas(m, 1, n)
    one_relayed = fill_gas(m, 1, n, relayed=True)
    ten = fill_gas(m, 10, max(3, n // 2))
    ids = [m.client.resting_id(m.place(i % 10, Side.SELL, cash("20.05"))) for i in range(n)]
    cancel = [m.client.cancel(oid, m.members[i % 10]).gas_used for i, oid in enumerate(ids)]
    # Where the gas goes, for one more of each operation in the same book (smartccp.chain.gas_trace).
    place_r = m.place(0, Side.SELL, cash("20.05"))
    m.place(1, Side.SELL, cash("15.00"))
    fill_r = m.place(10, Side.BUY, cash("15.00"))
    cancel_r = m.client.cancel(m.client.resting_id(m.place(2, Side.SELL, cash("20.05"))), m.members[2])
    breakdowns = {}
    for name, receipt in (("place_resting", place_r), ("fill_one_maker", fill_r), ("cancel", cancel_r)):
        breakdowns |= breakdown_figures(f"trade.{name}", receipt)
    return breakdowns | {
        "trade.place_resting_gas": int(statistics.median(resting)),
        "trade.place_new_level_gas": int(statistics.median(new_level)),
        "trade.fill_one_maker_gas": one,
        "trade.fill_first_in_cycle_gas": first_touch[1].gas_used,
        "trade.fill_ten_makers_gas": ten,
        "trade.relay_overhead_gas": one_relayed - one,
        "trade.fill_extra_maker_gas": (ten - one) // 9,
        "trade.cancel_gas": int(statistics.median(cancel)),
    }


@measurement("trade.depth")
def depth_ratio(ctx: BenchContext) -> Figures:
    """Placement at a new price level with 1,000 levels resting, over placement into an empty
    book (each the median over ``repeats`` placements; an empty book per placement)."""
    m = open_market(ctx, n_members=2)
    r, s = ctx.roles, m.system
    empty = []
    for i in range(ctx.repeats):
        s.securities.listSecurity(f"E{i}", b"XS0000000002", 0, TICK, 1, 0, sender=r.issuer)
        sid = int(s.securities.securityCount())
        list_security(s, r.operator, sid, lag_days=1)
        s.securities.issue(sid, m.members[0], QTY, sender=r.issuer)
        o = Order(owner=str(m.members[0].address), securityId=sid, side=Side.SELL, quantity=QTY, price=cash("50.00"))
        empty.append(m.client.place(o, m.members[0]).gas_used)
    for lvl in range(1_000):
        m.place(lvl % 2, Side.SELL, cash("50.00") + (lvl + 1) * TICK, 1)
    deep = [m.place(i % 2, Side.SELL, cash("50.00") - i * TICK, 1).gas_used for i in range(ctx.repeats)]
    return {
        "trade.place_empty_book_gas": int(statistics.median(empty)),
        "trade.place_depth_1000_gas": int(statistics.median(deep)),
        "trade.place_depth_1000_ratio": round(statistics.median(deep) / statistics.median(empty), 3),
    }


@measurement("ccp.novation")
def novation_gas(ctx: BenchContext) -> Figures:
    """The same one-maker fill settled through the CCP and recorded by a bare sink."""
    with_ccp, with_sink = open_market(ctx, n_members=20), open_market(ctx, n_members=20, sink=True)
    for m in (with_ccp, with_sink):
        seed_book(m)
    ccp_fill, sink_fill = fill_gas(with_ccp, 1, ctx.repeats), fill_gas(with_sink, 1, ctx.repeats)
    return {"trade.fill_one_maker_sink_gas": sink_fill, "ccp.novation_gas": ccp_fill - sink_fill}


@measurement("ccp.cycle")
def clearing_gas(ctx: BenchContext) -> Figures:
    """Settlement per obligation, the 1,000-vs-100-trade cycle ratio, gross DVP per trade."""
    r = ctx.roles
    m = open_market(ctx, n_members=0)
    g = measure_clearing_gas(m.system, r.operator, bank=r.bank, issuer=r.issuer, security_ids=[m.security_id])
    # The same members trading 4 securities: one cash leg per account however many it settles.
    sids = [m.security_id] + [issue_equity(m.system, r.issuer, f"B{k}", b"XS00000000B" + bytes([48 + k]))
                              for k in range(3)]
    g4 = measure_clearing_gas(m.system, r.operator, bank=r.bank, issuer=r.issuer, security_ids=sids,
                              small=100, large=400)
    return {
        "ccp.settle_per_obligation_gas": g.settle_per_obligation_large,
        "ccp.cycle_1000_vs_100_ratio": round(g.large_vs_small_ratio, 3),
        "gross.dvp_per_trade_gas": g.direct_dvp_per_trade,
        "ccp.settle_per_obligation_gas_4_securities": g4.settle_per_obligation_large,
        "ccp.securities_per_account_4_securities": g4.securities_per_account_max,
        "ccp.cash_legs_per_account_cycle": g4.cash_legs_per_account_max,
        "ccp.cash_legs_per_account_cycle_per_security_netting": g4.cash_legs_per_security_max,
    }


@measurement("all_in")
def all_in_gas(ctx: BenchContext, trades: int = 1_000, n_members: int = 20, batch: int = 10) -> Figures:
    """1,000 fills among 20 members in one security, then the cycle's settlement: the taker's
    fill plus its share of the settlement, per trade. The takers come three ways, in rounds of
    2 x ``batch`` trades: the first half one transaction per order, alternating an EIP-712 signed
    order (``placeOrder``: ``all_in_gas_per_trade``) and the owner's own transaction
    (``placeTrusted``, no signature: ``all_in.own_order_gas_per_trade``); the second half signed
    orders ``batch`` to a transaction through the OrderRelay (``all_in.relayed_gas_per_trade``:
    the batch's gas divided by its orders)."""
    m = open_market(ctx, n_members=n_members)
    signed, own, relayed = [], [], []
    pending: list[tuple[Order, Any]] = []
    for t in range(trades):
        maker, taker = t % n_members, (t * 7 + 3) % n_members
        if maker == taker:
            taker = (taker + 1) % n_members
        # Prices rise through each half-round, so a batch's takers each meet their own maker.
        price = cash("10.00") + (t % (2 * batch)) * TICK
        m.place(maker, Side.SELL, price, 10)
        order = m.order(taker, Side.BUY, price, 10)
        if t % (2 * batch) >= batch:
            pending.append((order, m.members[taker]))
            if len(pending) == batch:
                receipt = m.client.place_batch(m.system.relay, pending, sender=ctx.roles.operator)
                if len(m.client.trades(receipt)) != batch:
                    raise RuntimeError(f"a relayed batch of {batch} made {len(m.client.trades(receipt))} trades")
                relayed.append(receipt.gas_used / batch)
                pending = []
        elif t % 2:
            own.append(m.client.place_own(order, m.members[taker]).gas_used)
        else:
            signed.append(m.client.place(order, m.members[taker]).gas_used)
    cycle_id, _ = m.system.ccp.settlementCycle(m.security_id)
    warp_past(m.system.ccp, int(cycle_id))
    report = run_cycle(m.system.ccp, int(cycle_id), ctx.roles.operator, chunk=200)
    share = report.total_gas / trades
    return {
        "all_in.fill_gas_mean": int(statistics.mean(signed)),
        "all_in.own_order_fill_gas_mean": int(statistics.mean(own)),
        "all_in.relayed_fill_gas_mean": int(statistics.mean(relayed)),
        "all_in.relay_batch": batch,
        "all_in.settlement_share_gas": int(share),
        "all_in_gas_per_trade": int(statistics.mean(signed) + share),
        "all_in.own_order_gas_per_trade": int(statistics.mean(own) + share),
        "all_in.relayed_gas_per_trade": int(statistics.mean(relayed) + share),
    }


@measurement("e2e")
def throughput(ctx: BenchContext) -> Figures:
    """Orders signed and submitted from the Python client (resting, no fills) against plain
    ERC-20 transfers from the same client in the same run, each waiting for its receipt. The two
    alternate, one of each per round, so both see the same client and node state (ape's
    per-process bookkeeping grows with every transaction it sends, so timing one batch after the
    other would favour whichever runs first)."""
    m = open_market(ctx, n_members=2)
    n = ctx.e2e_transfers
    token = project.MockPlainERC20.deploy(sender=ctx.roles.operator)
    token.mint(m.members[0], cash(1_000_000), sender=ctx.roles.operator)
    token.transfer(m.members[1], 1, sender=m.members[0])  # warm-up, both paths
    m.place(0, Side.SELL, cash("30.00"))
    order_s = transfer_s = 0.0
    for i in range(n):
        start = time.perf_counter()
        m.place(i % 2, Side.SELL, cash("30.00") + (i % 50) * TICK)
        order_s += time.perf_counter() - start
        start = time.perf_counter()
        token.transfer(m.members[1], 1, sender=m.members[0])
        transfer_s += time.perf_counter() - start
    orders_per_s, transfers_per_s = n / order_s, n / transfer_s
    return {
        "e2e.orders_per_s": round(orders_per_s, 1),
        "e2e.raw_transfers_per_s": round(transfers_per_s, 1),
        "e2e.ratio": round(orders_per_s / transfers_per_s, 3),
    }
