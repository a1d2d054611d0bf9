"""The simulated market on a chain (smartccp.sim.market), and the bench measurement built on it."""

from __future__ import annotations

from smartccp.bench import core as bench
from smartccp.chain.accounts import local_roles
from smartccp.chain.system import deploy_system
from smartccp.clearing.ccp import check_flat, liquidity
from smartccp.risk.chain import deploy_risk
from smartccp.sim.market import SimMarket
from smartccp.units import cash


def _market(seed: int = 5, **kw) -> tuple[SimMarket, object]:
    r = local_roles()
    system = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer, n_venues=3)
    risk = deploy_risk(system, r.operator)
    sim = SimMarket(system, r, risk=risk, seed=seed, **kw)
    sim.setup()
    return sim, system


def test_sim_market__burst__trades_on_every_venue_refuses_the_thin_member_by_error_name__same_through_a_gateway():
    sim, system = _market(clearing=4, clients=2, thin_margin=cash(500))

    res = sim.burst(80)
    st = res.stats

    assert res.orders == 80 and st.placed > 0 and st.trades > 0
    assert set(st.trades_by_venue) == {0, 1, 2}
    assert sum(u for u, _ in res.volume.values()) == st.traded_units
    assert sum(c for _, c in res.volume.values()) == st.traded_cash > 0
    assert "InsufficientMargin" in res.refusals  # sim04 (and nobody else) posted a thin margin
    assert all(name.isidentifier() for name in res.refusals)
    assert st.txs == st.placed + st.cancelled  # refusals are dry runs (eth_call): no transaction sent
    cycle = int(system.ccp.settlementCycle(sim.sids[0])[0])
    check_flat(system.ccp, cycle, sim.sids)
    assert liquidity(system.ccp, cycle).trades == st.trades

    # The same burst through a gateway on a second market of the same seed: placements batched
    # through the OrderRelay meet the same books in the same order per venue, so the same fills
    # and refusals (skipped by the relay, named from OrderSkipped), in fewer transactions.
    relayed, system_b = _market(clearing=4, clients=2, thin_margin=cash(500))
    b = relayed.burst(80, relay=(system_b.relay, relayed.roles.key("keeper"), 16)).stats
    assert (b.trades, b.traded_units, b.traded_cash) == (st.trades, st.traded_units, st.traded_cash)
    assert b.placed + sum(b.rejected.values()) == st.placed + sum(st.rejected.values())
    assert b.self_trade_cancels == st.self_trade_cancels and b.rested > 0
    # The gate is shared by the venues, so which of the thin member's orders it refuses may move
    # by an order or two when the venues' batches go in turn; the refusals are named all the same.
    assert set(b.rejected) == set(st.rejected), (dict(b.rejected), dict(st.rejected))
    assert b.txs < st.txs and b.gas < st.gas
    check_flat(system_b.ccp, int(system_b.ccp.settlementCycle(relayed.sids[0])[0]), relayed.sids)


def test_sim_market__same_seed__same_intents__next_burst_differs():
    r = local_roles()
    system = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer, n_venues=3)
    a = SimMarket(system, r, seed=9)
    b = SimMarket(system, r, seed=9)

    assert a.intents(50, 0) == b.intents(50, 0)
    assert a.intents(50, 0) != a.intents(50, 1)
    assert [m.account.address for m in a.members] == [m.account.address for m in b.members]


def test_bench_sim__figures__flow_fills_and_the_cycle_nets():
    ctx = bench.BenchContext(roles=local_roles(), repeats=2)
    figures = bench.run_bench(ctx, only=["sim"])

    assert not ctx.errors, ctx.errors
    assert figures["sim.orders"] == 40 and figures["sim.fills"] > 0
    assert 50_000 < figures["sim.gas_per_order"] < 1_000_000
    assert figures["sim.orders_per_s"] > 0
    assert 0 < figures["sim.net_cash"] < figures["sim.gross_cash"]
    assert 0 < figures["sim.netting_saving"] < 1
    assert figures["sim.relayed.fills"] == figures["sim.fills"]
    assert figures["sim.relayed.txs"] < figures["sim.placed"] + figures["sim.cancelled"]
    assert figures["sim.relayed_all_in_gas_per_fill"] < figures["sim.all_in_gas_per_fill"]
    bench.check_figures_flat(figures)
