"""Demo step: the market goes on, with simulated order flow (see :mod:`smartccp.demo.core`).

After the default drill: three more securities are listed on the three venues and the CCP,
eight seeded participants (six clearing members, two clients) are admitted, funded and post
margin (one of them only a thin margin), and a burst of :data:`DEMO_SIM_ORDERS` simulated
actions (:mod:`smartccp.sim.simulator`: limit, market, IOC, hidden and iceberg orders and cancels,
fair prices on a seeded path) goes to the venues through the pre-trade gate. The step reports
what traded (fills per venue and security, volume), what rested, was cancelled, and what was
refused, by custom error name; then the cycle is netted (gross against net) and settled DVP,
and the CCP is checked flat and empty with supplies unchanged.

Amounts: cash in base units (shown as cash), quantities in units.
"""

from __future__ import annotations

import os

from ape import chain

from smartccp.chain.report import StepLog, render_table
from smartccp.clearing.ccp import (
    check_ccp_empty,
    check_flat,
    liquidity,
    run_cycle,
    supplies,
    traded_cycles,
)
from smartccp.demo.core import DEMO_STEPS, DemoContext
from smartccp.ops.daily import settle_when_due
from smartccp.sim.market import SimMarket
from smartccp.units import cash, fmt_cash

#: Simulated actions in the demo's burst (``SMARTCCP_DEMO_SIM_ORDERS`` overrides).
DEMO_SIM_ORDERS = int(os.environ.get("SMARTCCP_DEMO_SIM_ORDERS", "150"))
DEMO_SIM_SEED = 20261203
THIN_MARGIN = cash(1_500)  # sim06's margin: the gate refuses what it cannot cover


@DEMO_STEPS.step("market", "The market goes on: a burst of simulated order flow from eight members, "
                 "three securities, three venues", after="default_drill")
def market(ctx: DemoContext, log: StepLog) -> None:
    s, r = ctx.system, ctx.roles
    sim = SimMarket(s, r, risk=ctx.data.get("risk"), seed=DEMO_SIM_SEED, thin_margin=THIN_MARGIN)
    keys = {str(k.address): k for k in (r.operator, r.bank, r.issuer, r.keeper, r.risk, r.price)}  # one key, one entry
    with log.capture(*keys.values(), *sim.holders().values(), label="list / admit / fund / margin"):
        setup = sim.setup()
    clients = ", ".join(f"{c} (of {cm})" for c, cm in setup["clients_of"].items())
    members = [m.name for m in sim.members if not m.clearing_member]
    log.line(f"listed {', '.join(f'{k} (id {v})' for k, v in setup['security_ids'].items())} on "
             f"{len(s.venues)} venues, T+1 (operator; opened by the keeper); admitted {len(members)} clearing members ({', '.join(members)}) "
             f"and {len(setup['clients_of'])} clients ({clients})")
    if setup["shocks_bps"]:
        log.line("scenarios published by the risk key (16, calibrated on each security's simulated history): " + ", ".join(
            f"{k} {lo / 100:+.1f}%..{hi / 100:+.1f}%" for k, (lo, hi) in setup["shocks_bps"].items()))
        posted = setup["margin_posted"]
        log.line(f"margin posted: {fmt_cash(sim.margin)} each, sim{sim.clearing:02d} only "
                 f"{fmt_cash(posted[f'sim{sim.clearing:02d}'])}")
    supplies0 = supplies(s, [ctx.security_id, *sim.sids])
    burst_start = chain.blocks.head.number + 1
    with log.capture(*sim.holders().values(), label="simulated order / cancel"):
        res = sim.burst(DEMO_SIM_ORDERS)
    st = res.stats
    log.line(f"{res.orders} simulated actions (seed {DEMO_SIM_SEED}) in {st.wall_s:.1f} s: {st.placed} orders accepted "
             f"({', '.join(f'{k} {v}' for k, v in sorted(st.by_type.items()))}), {st.trades} fills, {st.rested} rested, "
             f"{st.cancelled} cancelled ({st.self_trade_cancels} to avoid a self-trade)")
    rows = [[sym, f"{u:,}", fmt_cash(c)] for sym, (u, c) in res.volume.items()]
    rows.append(["total", f"{st.traded_units:,}", fmt_cash(st.traded_cash)])
    log.lines.extend(render_table(["security", "units traded", "volume (cash)"], rows).splitlines())
    log.line("fills per venue: " + ", ".join(f"V{v} {st.trades_by_venue.get(v, 0)}" for v in range(len(s.venues))))
    refusals = res.refusals
    log.line("refused: " + (", ".join(f"{name} x{n}" for name, n in refusals.items()) or "none")
             + f"; gas {st.gas:,} in {st.txs} txs ({st.gas // max(st.txs, 1):,} per tx)")
    if st.trades == 0:
        raise AssertionError("the simulated flow did not trade")
    # Net and settle the cycles these trades landed in (one, unless the cycle is a few seconds long).
    cycles = traded_cycles(s.ccp, burst_start)
    liq = liquidity(s.ccp, cycles)
    for c in cycles:
        check_flat(s.ccp, c, [ctx.security_id, *sim.sids])
    earlier = liq.trades - st.trades
    log.line(f"cycle {', '.join(map(str, cycles))} netted"
             + (f" ({earlier} earlier trade(s) of the cycle included)" if earlier else "") + f": {liq.summary()}")
    reports = settle_when_due(s.ccp, cycles, r.keeper, ctx.clock)
    for report in reports:
        for receipt in report.receipts:
            log.tx(receipt, f"keeper: settleCycle({report.cycle_id})")
        log.line(f"keeper: {report.summary()}")
    check_ccp_empty(s.ccp, s, [ctx.security_id, *sim.sids])
    same = supplies(s, [ctx.security_id, *sim.sids]) == supplies0
    again = sum(run_cycle(s.ccp, c, r.keeper).transactions for c in cycles)
    log.line(f"CCP flat and holds nothing after the cycle: yes; supplies unchanged: {'yes' if same else 'NO'}; "
             f"re-run sends {again} transactions")
    if not same or again:
        raise AssertionError("the simulated cycle changed a supply or was not idempotent")
    log.data.update(seed=DEMO_SIM_SEED, flow=res.as_dict(), refusals=refusals, cycles=cycles,
                    gross_cash=liq.gross_cash, net_cash=liq.net_cash, cash_saving=round(liq.cash_saving, 4),
                    net_cash_per_security=liq.net_cash_per_security, cash_transfers=liq.cash_legs,
                    settlement=[rep.phase.name for rep in reports])
    ctx.data["sim"] = {"orders": res.orders, "fills": st.trades, "volume_cash": st.traded_cash, "refusals": refusals}

