"""End to end on the real contracts: signed orders on a venue, novation and netting in the CCP,
DVP settlement after the cycle's deadline; and gross DVP for direct trades."""

from __future__ import annotations

import pytest

from smartccp.chain.system import deploy_system, issue_equity, list_security, onboard
from smartccp.clearing.ccp import (
    check_ccp_empty,
    check_flat,
    obligations,
    run_cycle,
    supplies,
    warp_past,
)
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Route, Side
from smartccp.units import cash


@pytest.fixture(scope="module")
def full(operator, bank, issuer, member_a, member_b, member_c, client_a):
    """A complete system (register, ledgers, CCP, one venue), ACME listed T+1 and trading, four
    funded traders who approved the CCP on both ledgers."""
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    sid = issue_equity(system, issuer)
    traders = tuple(onboard(system, operator, (member_a, member_b, member_c), [(client_a, member_a)],
                            bank=bank, issuer=issuer, cash=cash(100_000), units={sid: 1_000}))
    list_security(system, operator, sid, lag_days=1)
    return system, sid, traders


def order(owner, sid, side, qty, price, **kw):
    return Order(owner=str(owner.address), securityId=sid, side=side, quantity=qty, price=price, **kw)


def balances(system, sid, accounts):
    return {str(a.address): (system.cash.balanceOf(a), system.securities.balanceOf(a, sid)) for a in accounts}


def test_trades_net_and_settle_dvp(full, operator, member_a, member_b, member_c, client_a):
    system, sid, traders = full
    client = VenueClient(system.venue)
    before = balances(system, sid, traders)
    supply_before = supplies(system, [sid])
    # A sells 100 @ 10.00 to B; B sells 60 @ 10.10 to C; client buys 50 from A @ 10.05.
    client.place(order(member_a, sid, Side.SELL, 100, cash("10.00")), member_a)
    client.place(order(member_b, sid, Side.BUY, 100, cash("10.00")), member_b)
    client.place(order(member_b, sid, Side.SELL, 60, cash("10.10")), member_b)
    client.place(order(member_c, sid, Side.BUY, 60, cash("10.10")), member_c)
    client.place(order(client_a, sid, Side.BUY, 50, cash("10.05")), client_a)
    client.place(order(member_a, sid, Side.SELL, 50, cash("10.05")), member_a)

    cycle_id, _ = system.ccp.settlementCycle(sid)
    net = {o.account: (o.quantity, o.cash) for o in obligations(system.ccp, cycle_id)}
    assert net == {
        str(member_a.address): (-150, cash("1000.00") + cash("502.50")),
        str(member_b.address): (40, -cash("1000.00") + cash("606.00")),
        str(member_c.address): (60, -cash("606.00")),
        str(client_a.address): (50, -cash("502.50")),
    }
    check_flat(system.ccp, cycle_id, [sid])

    warp_past(system.ccp, cycle_id)
    report = run_cycle(system.ccp, cycle_id, operator)
    assert report.phase.name == "SETTLED"
    after = balances(system, sid, traders)
    # Units move in each account's own wallet; a client's cash leg in its clearing member's.
    payer = {str(client_a.address): str(member_a.address)}
    cash_moved = {account: 0 for account in net}
    for account, (_, dc) in net.items():
        cash_moved[payer.get(account, account)] += dc
    for account, (dq, _) in net.items():
        assert after[account] == (before[account][0] + cash_moved[account], before[account][1] + dq)
    check_ccp_empty(system.ccp, system, [sid])
    assert supplies(system, [sid]) == supply_before
    # Re-running a settled cycle does nothing.
    assert run_cycle(system.ccp, cycle_id, operator).transactions == 0
    assert balances(system, sid, traders) == after


def test_direct_route__gross_dvp_at_match(full, member_b, member_c):
    system, sid, _ = full
    client = VenueClient(system.venue)
    before = balances(system, sid, (member_b, member_c))
    client.place(order(member_b, sid, Side.SELL, 20, cash("9.50"), route=Route.DIRECT), member_b)
    client.place(order(member_c, sid, Side.BUY, 20, cash("9.50"), route=Route.DIRECT), member_c)
    after = balances(system, sid, (member_b, member_c))
    b, c = str(member_b.address), str(member_c.address)
    assert after[b] == (before[b][0] + cash("190.00"), before[b][1] - 20)
    assert after[c] == (before[c][0] - cash("190.00"), before[c][1] + 20)
