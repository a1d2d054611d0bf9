"""Benchmark on simulated order flow: a burst of seeded, realistic flow (limit, market, IOC,
hidden, iceberg orders and cancels; :mod:`smartccp.sim.simulator`) from many members across three
securities and three venues, every order through the Margin gate; then the cycle it produced is
netted and settled.

Figures (``sim.*``): actions sent (``orders``), orders accepted, fills, refusals, mean gas per
transaction of the flow (placements and cancels, whole tx), gas per fill, the flow's rate in
actions per wall-clock second (signing, the dry run by ``eth_call`` and the transaction each),
the cycle's gross and net cash (base units) and the netting saving (1 - net / gross, cash and
units), settlement gas per non-zero obligation, and all-in gas per fill (the flow's gas plus the
settlement's, over the fills).
"""

from __future__ import annotations

from smartccp.bench.core import BenchContext, Figures, goal, measurement
from smartccp.chain.system import deploy_system
from smartccp.clearing.ccp import liquidity, run_cycle, warp_past
from smartccp.risk.chain import deploy_risk
from smartccp.sim.market import SimMarket

SIM_SEED = 424242
#: Simulated actions per repeat of ``ctx.repeats`` (the default 11 repeats: 220 actions).
ORDERS_PER_REPEAT = 20
CLEARING, CLIENTS = 8, 4

goal("sim.netting_saving", ">=", 0.25)


@measurement("sim")
def simulated_flow(ctx: BenchContext) -> Figures:
    r = ctx.roles
    system = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer, n_venues=3)
    risk = deploy_risk(system, r.operator)  # before anyone is admitted; Margin gates every venue
    sim = SimMarket(system, r, risk=risk, seed=SIM_SEED, clearing=CLEARING, clients=CLIENTS)
    sim.setup()
    orders = max(40, ORDERS_PER_REPEAT * ctx.repeats)
    res = sim.burst(orders)
    st = res.stats
    cycle = int(system.ccp.settlementCycle(sim.sids[0])[0])
    liq = liquidity(system.ccp, cycle, start_block=res.start_block)
    warp_past(system.ccp, cycle)
    settled = run_cycle(system.ccp, cycle, r.operator)
    n_obligations = max(settled.obligations, 1)
    return {
        "sim.orders": res.orders,
        "sim.placed": st.placed,
        "sim.fills": st.trades,
        "sim.refused": sum(st.rejected.values()),
        "sim.cancelled": st.cancelled,
        "sim.members": CLEARING + CLIENTS,
        "sim.gas_per_order": st.gas // max(st.txs, 1),
        "sim.gas_per_fill": st.gas // max(st.trades, 1),
        "sim.orders_per_s": round(res.orders / st.wall_s, 2) if st.wall_s else None,
        "sim.gross_cash": liq.gross_cash,
        "sim.net_cash": liq.net_cash,
        "sim.netting_saving": round(liq.cash_saving, 4),
        "sim.units_saving": round(liq.units_saving, 4),
        "sim.settle_per_obligation_gas": settled.total_gas // n_obligations,
        "sim.all_in_gas_per_fill": (st.gas + settled.total_gas) // max(st.trades, 1),
    }
