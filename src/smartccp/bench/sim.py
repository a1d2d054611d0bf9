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

Where the flow's gas goes (``gas_trace.by_contract`` over every transaction of the burst, when
the node traces): per fill, the gas the venues' code spent (``sim.venue_gas_per_fill``, their
auction module included), Margin's (the gate, ``sim.margin_gas_per_fill``), the CCP's
(novation, ``sim.ccp_gas_per_fill``) and the transactions' intrinsic gas
(``sim.intrinsic_gas_per_fill``: 21,000 and the calldata), before refunds; and the storage
slots written from zero per fill (``sim.new_slots_per_fill``, 22,100 gas each when cold).

The same burst sent through a gateway (``sim.relayed.*``, a fresh market of the same seed): the
placements of every 16 actions batched per venue in one ``OrderRelay`` transaction, cancels
their owners' own; the same orders, fills and refusals, fewer transactions
(``sim.relayed_all_in_gas_per_fill``: its gas and its cycle's settlement over its fills).
"""

from __future__ import annotations

from ape import chain

from smartccp.bench.core import BenchContext, Figures, goal, measurement
from smartccp.chain import gas_trace
from smartccp.chain.accounts import seeded_account
from smartccp.chain.system import deploy_system
from smartccp.clearing.ccp import liquidity, run_cycle, warp_past
from smartccp.risk.chain import deploy_risk
from smartccp.sim.market import SimMarket

SIM_SEED = 424242
#: Simulated actions per repeat of ``ctx.repeats`` (the default 11 repeats: 220 actions).
ORDERS_PER_REPEAT = 20
CLEARING, CLIENTS = 8, 4
#: Actions per gateway batch window in the relayed flow (about one block of the burst's flow).
GATEWAY_BLOCK = 16

goal("sim.netting_saving", ">=", 0.25)


def _market(ctx: BenchContext) -> tuple:
    """A fresh gated system of three venues with the simulated members set up."""
    r = ctx.roles
    system = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer, n_venues=3)
    risk = deploy_risk(system, r.operator)  # before anyone is admitted; Margin gates every venue
    sim = SimMarket(system, r, risk=risk, seed=SIM_SEED, clearing=CLEARING, clients=CLIENTS)
    sim.setup()
    return system, risk, sim


def _settle(system, sim: SimMarket, operator, start_block: int) -> tuple:  # noqa: ANN001
    """Net and settle the burst's cycle: (liquidity, cycle report)."""
    cycle = int(system.ccp.settlementCycle(sim.sids[0])[0])
    liq = liquidity(system.ccp, cycle, start_block=start_block)
    warp_past(system.ccp, cycle)
    return liq, run_cycle(system.ccp, cycle, operator)


@measurement("sim.relayed")
def relayed_flow(ctx: BenchContext) -> Figures:
    """The same seeded burst sent the way a gateway would: the placements of every
    ``GATEWAY_BLOCK`` actions batched per venue through the OrderRelay, cancels their owners'
    own transactions (:meth:`smartccp.sim.simulator.FlowDriver.run_relayed`)."""
    system, risk, sim = _market(ctx)
    gateway = seeded_account(f"smartccp-sim:{SIM_SEED}:gateway", ctx.roles.operator)
    res = sim.burst(max(40, ORDERS_PER_REPEAT * ctx.repeats), relay=(system.relay, gateway, GATEWAY_BLOCK))
    st = res.stats
    _, settled = _settle(system, sim, ctx.roles.operator, res.start_block)
    fills = max(st.trades, 1)
    return {
        "sim.relayed.fills": st.trades,
        "sim.relayed.txs": st.txs,
        "sim.relayed.refused": sum(st.rejected.values()),
        "sim.relayed.gas_per_fill": st.gas // fills,
        "sim.relayed_all_in_gas_per_fill": (st.gas + settled.total_gas) // fills,
    }


@measurement("sim")
def simulated_flow(ctx: BenchContext) -> Figures:
    system, risk, sim = _market(ctx)
    orders = max(40, ORDERS_PER_REPEAT * ctx.repeats)
    res = sim.burst(orders)
    st = res.stats
    liq, settled = _settle(system, sim, ctx.roles.operator, res.start_block)
    n_obligations = max(settled.obligations, 1)
    return {**_where_it_goes(system, risk, res.start_block, res.end_block, max(st.trades, 1)),
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
        "sim.netting_saving_per_security": round(liq.cash_saving_per_security, 4),
        "sim.cash_legs": liq.cash_legs,
        "sim.cash_legs_per_security": liq.cash_legs_per_security,
        "sim.cash_legs_gross": liq.gross_cash_legs,
        "sim.units_saving": round(liq.units_saving, 4),
        "sim.settle_per_obligation_gas": settled.total_gas // n_obligations,
        "sim.all_in_gas_per_fill": (st.gas + settled.total_gas) // max(st.trades, 1),
    }


def _where_it_goes(system, risk, start: int, end: int, fills: int) -> Figures:  # noqa: ANN001
    """Per fill, the gas of each contract's code and the slots written from zero over blocks
    ``start + 1`` to ``end`` (empty if the node cannot trace)."""
    names = {str(v.address): "venue" for v in system.venues}
    names.update({str(c.address): k for k, c in system.extra.items()})
    names[str(system.ccp.address)] = "ccp"
    names[str(risk.margin.address)] = "margin"
    names[str(risk.margin.revaluationModule())] = "margin"
    for v in system.venues:
        names[str(v.auctionsModule())] = "venue"
    web3 = chain.provider.web3
    hashes = [h for n in range(start + 1, end + 1) for h in web3.eth.get_block(n)["transactions"]]
    split = gas_trace.by_contract(chain.provider, hashes, names)
    if split is None:
        return {}

    def per_fill(name: str) -> int:
        return gas_trace.spent(split.get(name, {})) // fills

    return {
        "sim.venue_gas_per_fill": per_fill("venue"),
        "sim.margin_gas_per_fill": per_fill("margin"),
        "sim.ccp_gas_per_fill": per_fill("ccp"),
        "sim.intrinsic_gas_per_fill": per_fill("transaction"),
        "sim.new_slots_per_fill": round(sum(c.get("new_slots", 0) for c in split.values()) / fills, 2),
    }
