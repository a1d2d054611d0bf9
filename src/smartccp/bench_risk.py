"""Benchmark of the pre-trade risk gate: its share of an order placement (``risk.check_order_gas``).

The same resting limit order placed with and without Margin as the venue's gate, for a member
holding positions in five securities with 16 calibrated scenarios each (historical simulation
on the S&P 500), in steady state (the member is known to the gate, the price level exists).
"""

from __future__ import annotations

import statistics

from ape import project

from smartccp.bench import BenchContext, Figures, goal, measurement
from smartccp.clearing_bench import fund_members
from smartccp.orders import Order, Side
from smartccp.risk.scenarios import calibrate_shocks
from smartccp.risk_chain import deploy_risk, publish_prices, publish_scenarios
from smartccp.simulator import sp500_history
from smartccp.system import ZERO_ADDRESS, deploy_system, list_security
from smartccp.trading import VenueClient
from smartccp.units import cash

goal("risk.check_order_gas", "<=", 30_000)

SECURITIES = 5
SCENARIOS = 16


@measurement("risk")
def gate_share(ctx: BenchContext) -> Figures:
    r = ctx.roles
    system = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer)
    risk = deploy_risk(system, r.operator, n_scenarios=SCENARIOS)
    _, closes = sp500_history()
    shocks = [int(s) for s in calibrate_shocks(closes, n_scenarios=SCENARIOS)]
    sids, prices = [], {}
    for i in range(SECURITIES):
        system.securities.listSecurity(f"R{i}", b"XS0000000009", 0, cash("0.01"), 1, 0, sender=r.issuer)
        sid = int(system.securities.securityCount())
        list_security(system, r.operator, sid, lag_days=1)
        sids.append(sid)
        prices[sid] = cash(20 * (i + 1))
    publish_scenarios(risk.margin, dict.fromkeys(sids, shocks), r.operator)
    publish_prices(risk.margin, prices, r.operator)
    (member,) = fund_members(system, r.operator, r.bank, r.issuer, system.ccp, sids, 1)
    system.cash.approve(risk.margin, 2**256 - 1, sender=member)
    risk.margin.depositCash(cash(1_000_000), sender=member)
    client = VenueClient(system.venue)

    def place(sid: int) -> int:
        order = Order(owner=str(member.address), securityId=sid, side=Side.BUY, quantity=5, price=prices[sid] // 2)
        return int(client.place(order, member).gas_used)

    for sid in sids:  # five securities known to the gate
        place(sid)
    with_gate = [place(sids[1]) for _ in range(ctx.repeats)]
    system.venue.setOrderGate(ZERO_ADDRESS, sender=r.operator)
    without = [place(sids[1]) for _ in range(ctx.repeats)]
    return {
        "risk.placement_with_gate_gas": int(statistics.median(with_gate)),
        "risk.check_order_gas": int(statistics.median(with_gate) - statistics.median(without)),
    }
