"""The end of the scale day's session: the closing call auction of every security and the
end-of-day margin of every clearing member (:class:`smartccp.scale.day.ScaleDay` runs them).

Gas is the receipts' ``gasUsed``; wall seconds as the client saw them.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from smartccp.ops.daily import UNCROSS_FILLS
from smartccp.risk.chain import REVALUE_PAGE
from smartccp.scale.flow import SCALE_FLOW
from smartccp.scale.market import publish_prices_txs
from smartccp.scale.raw import Abi
from smartccp.sim.simulator import MarketSimulator
from smartccp.types import TradingPhase

if TYPE_CHECKING:
    from smartccp.scale.day import ScaleDay


def closing_auction(day: ScaleDay) -> None:
    """Every security PreClose, the simulator's closing orders relayed to its venue, then
    ``uncross`` of every book until none is left in the call; refuses a book that reverts."""
    spec, m, flow = day.spec, day.m, day.flow
    start = time.perf_counter()
    s = m.system
    books = [(s.venues[m.venue_of(sid)], sid) for sid in m.sids]
    ph = m.phase("auction.pre_close", [m.tx(m.operator, v, "setPhase", sid, int(TradingPhase.PRE_CLOSE))
                                       for v, sid in books])
    sim = MarketSimulator(["any"], m.securities, replace(SCALE_FLOW, auction_orders=spec.auction_orders),
                          spec.seed)
    raw = sim.auction(0, [int(x) for x in m.path[1]], 1)
    holders, rng = m.holders(), np.random.default_rng([spec.seed, 4])
    intents = []
    for it, u in zip(raw, rng.random(len(raw))):
        sid = m.sids[it.security]
        if holders[sid]:
            intents.append(replace(it, member=holders[sid][int(u * len(holders[sid]))].name, venue=m.venue_of(sid)))
    owners = {a.name: a.address for a in m.accounts}
    before = flow.tally.orders
    orders_ph = day.new_phase("auction.orders")
    for i in range(0, len(intents), spec.wave):
        receipts = m.raw.wave(flow.transactions(intents[i:i + spec.wave], owners, m.sids))
        flow.record(receipts)
        orders_ph.add(receipts)
    orders_ph.finish()
    day.progress("auction orders", flow.tally.orders - before, len(intents))
    fills_before = flow.tally.fills
    unc = day.new_phase("auction.uncross")
    pending = books
    uncrossed = 0
    while pending:
        txs = [m.tx(m.operator, v, "uncross", sid, UNCROSS_FILLS, gas=15_000_000, tag=("uncross", i))
               for i, (v, sid) in enumerate(pending)]
        receipts = m.raw.wave(txs)
        failed = [r for r in receipts if not r.status]
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(receipts)} uncross transactions reverted, first "
                               f"{failed[0].tx_hash}: {day.revert_reason(failed[0])}")
        flow.record(receipts)
        unc.add(receipts)
        phases = day.calls([(v, "phaseOf", (sid,)) for v, sid in pending])
        left = [b for b, p in zip(pending, phases) if int.from_bytes(p, "big") == int(TradingPhase.PRE_CLOSE)]
        uncrossed += len(pending) - len(left)
        pending = left
        day.progress("uncross", uncrossed, len(books))
    unc.finish()
    ph.extra["books"] = len(books)
    day.figures.update({"scale.auction_orders": flow.tally.orders - before,
                         "scale.auction_books": len(books),
                         "scale.auction_fills": flow.tally.fills - fills_before,
                         "scale.auction_wall_s": round(time.perf_counter() - start, 1)})


def end_of_day_margin(day: ScaleDay) -> None:
    """Publish the settlement prices, then revalue every margin account (each member's house
    account, each client's own) in pages of ``REVALUE_PAGE`` items until each has its
    ``MarginRefreshed``."""
    m = day.m
    start = time.perf_counter()
    last = day.calls([(m.system.venue, "lastPrice", (sid,)) for sid in m.sids])
    prices = {sid: (int.from_bytes(p, "big") or int(m.path[1][i])) for i, (sid, p) in enumerate(zip(m.sids, last))}
    day.closing = prices
    m.phase("eod.prices", publish_prices_txs(m, prices))
    ph = day.new_phase("eod.revalue")
    pending = list(m.accounts)
    per_account: dict[str, list[int]] = {a.address: [] for a in pending}
    finished: set[str] = set()
    topic = Abi.of(m.risk.margin).events["MarginRefreshed"]
    done = 0
    while pending:
        txs = [m.tx(a.address, m.risk.margin, "revalue", a.address, REVALUE_PAGE, gas=12_000_000, tag=a)
               for a in pending]
        receipts = m.raw.wave(txs)
        ph.add(receipts)
        left = []
        for r in receipts:
            if not r.status:
                raise RuntimeError(f"revalue of {r.tag.name} reverted ({r.tx_hash})")
            per_account[r.tag.address].append(r.gas_used)
            if r.logs_of(topic):
                done += 1
                finished.add(r.tag.address)
            else:
                left.append(r.tag)
        pending = left
        day.progress("end-of-day margin", done, len(m.accounts))
    ph.finish()
    items = day.positions_per_account()
    gas = {a: sum(g) for a, g in per_account.items()}
    members_done = sum(all(a.address in finished for a in m.accounts if a.member == cm.address) for cm in m.members)
    total_items = sum(items.values())
    day.revalue_points = sorted((items[a], gas[a]) for a in gas)
    xs, ys = zip(*day.revalue_points)
    slope = float(np.polyfit(xs, ys, 1)[0]) if len(set(xs)) > 1 else 0.0
    day.figures.update({
        "scale.eod_accounts_revalued": done,
        "scale.eod_members_revalued": members_done,  # members all of whose accounts were revalued
        "scale.eod_revalue_txs": ph.txs,
        "scale.eod_positions": total_items,
        "scale.eod_margin_gas_per_position": int(ph.gas / max(total_items, 1)),
        # the slope of a member's revaluation gas over its positions (least squares): what one
        # more position costs, without the per-member and per-transaction part
        "scale.eod_margin_marginal_gas_per_position": int(slope),
        "scale.eod_wall_s": round(time.perf_counter() - start, 1),
    })
