"""Pre-trade risk gate (IOrderGate on the real venue): refusals with the gate's own errors, a
client's order checked against its clearing member's account, and the gate's gas share of an
order placement."""

from __future__ import annotations

import ape
import pytest

from smartccp.risk.chain import MARGIN_VENUE_ROLE, margin_status, order_margin
from smartccp.types import ZERO_ADDRESS, Side
from smartccp.units import cash


def _worst(u, sid, buy):
    shocks = u.shocks[sid]
    return min(min(shocks), 0) if buy else max(max(shocks), 0)


def test_gate__no_collateral__insufficient_margin_with_amounts(risk_unit, members, order):
    u = risk_unit
    b = members[1]
    sid = u.sids[1]
    price = u.prices[sid]
    need = order_margin(100, price, price, _worst(u, sid, True), True)
    with ape.reverts(u.margin.InsufficientMargin, account=b.address, required=need, posted=0):
        u.client.place(order(b, sid, Side.BUY, 100, price), b)


def test_gate__limit_above_settlement_price__adds_the_immediate_loss(risk_unit, members, order):
    u = risk_unit
    b = members[1]
    sid = u.sids[1]
    price = u.prices[sid]
    u.margin.depositCash(cash(1_000), sender=b)
    need = order_margin(100, price + cash("1.00"), price, _worst(u, sid, True), True)
    assert need == order_margin(100, price, price, _worst(u, sid, True), True) + 100 * cash("1.00")
    with ape.reverts(u.margin.InsufficientMargin, account=b.address, required=need, posted=cash(1_000)):
        u.client.place(order(b, sid, Side.BUY, 100, price + cash("1.00")), b)


def test_gate__contribution_not_paid__refused_until_paid(risk_unit, member_c, operator, order):
    u = risk_unit
    sid = u.sids[2]
    u.fund.setRequiredContributions([member_c], [cash(2_500)], sender=operator)
    u.margin.depositCash(cash(100_000), sender=member_c)
    with ape.reverts(u.margin.ContributionNotPaid, member=member_c.address, required=cash(2_500), paid=0):
        u.client.place(order(member_c, sid, Side.SELL, 10, u.prices[sid]), member_c)
    u.fund.contribute(cash(2_500), sender=member_c)
    u.client.place(order(member_c, sid, Side.SELL, 10, u.prices[sid]), member_c)


def test_gate__client_order__checked_against_its_own_account_never_the_house(risk_unit, members, order):
    u = risk_unit
    a, _, x = members  # x: individually segregated client of a
    sid = u.sids[0]
    price = u.prices[sid]
    need = order_margin(50, price, price, _worst(u, sid, True), True)
    with ape.reverts(u.margin.InsufficientMargin, account=x.address, required=need, posted=0):
        u.client.place(order(x, sid, Side.BUY, 50, price), x)
    u.margin.depositCash(need * 10, sender=a)  # the house's collateral does not margin its client
    with ape.reverts(u.margin.InsufficientMargin, account=x.address, required=need, posted=0):
        u.client.place(order(x, sid, Side.BUY, 50, price), x)
    u.margin.depositCashTo(x, need, sender=a)  # the member funds its client's own account
    receipt = u.client.place(order(x, sid, Side.BUY, 50, price), x)
    log = receipt.decode_logs(u.margin.OrderMargined)[0]
    assert (log.account, log.owner, log.orderMargin) == (x.address, x.address, need)
    assert margin_status(u.margin, x).pending == need
    assert margin_status(u.margin, a).pending == 0
    # The client's next order must fit what is left in its own account, whatever the house holds.
    with ape.reverts(u.margin.InsufficientMargin, account=x.address):
        u.client.place(order(x, sid, Side.BUY, 10, price), x)


def test_gate__member_in_default__it_and_its_clients_refused(risk_unit, members, operator, order):
    u = risk_unit
    a, _, x = members
    u.margin.depositCash(cash(100_000), sender=a)
    u.margin.depositCashTo(x, cash(100_000), sender=a)
    u.fund.declareDefault(a, sender=operator)
    # The venue refuses a suspended member's clients (their own accounts are in good standing);
    # the gate refuses the defaulter's house account itself.
    with ape.reverts(u.client.venue.ClearingMemberNotActive):
        u.client.place(order(x, u.sids[0], Side.BUY, 10, u.prices[u.sids[0]]), x)
    u.margin.grantRole(MARGIN_VENUE_ROLE, u.ccp, sender=operator)
    with ape.reverts(u.margin.MemberInDefault, member=a.address):
        u.margin.checkOrder(a, u.sids[0], 0, 10, u.prices[u.sids[0]], sender=u.ccp)


def test_gate__only_venues_call_it(risk_unit, members):
    u = risk_unit
    with ape.reverts():
        u.margin.checkOrder(members[0], u.sids[0], 0, 10, u.prices[u.sids[0]], sender=members[0])


@pytest.fixture(scope="module")
def gate_gas(risk_unit, members, operator, order):
    """Gas of one resting limit order with and without the gate, member_a holding positions in
    five securities (16 scenarios each), steady state (position slot and price level exist);
    and the same for its client."""
    u = risk_unit
    a, _, x = members
    u.margin.depositCash(cash(1_000_000), sender=a)
    u.margin.depositCashTo(x, cash(1_000_000), sender=a)  # the client's own account
    for sid in u.sids:  # five listed positions
        lot = 10 if sid == u.sids[0] else 1
        u.client.place(order(a, sid, Side.BUY, lot, u.prices[sid] // 2), a)
    sid = u.sids[1]
    low = u.prices[sid] // 2
    out = {}
    for who, label in ((a, "member"), (x, "client")):
        u.client.place(order(who, sid, Side.BUY, 5, low), who)  # warm: client recorded, level exists
        out[f"{label}_with"] = u.client.place(order(who, sid, Side.BUY, 5, low), who).gas_used
    first_new = order(members[1], u.sids[3], Side.BUY, 1, u.prices[u.sids[3]] // 2)
    u.margin.depositCash(cash(10_000), sender=members[1])
    out["new_position_with"] = u.client.place(first_new, members[1]).gas_used
    u.client.venue.setOrderGate(ZERO_ADDRESS, sender=operator)
    for who, label in ((a, "member"), (x, "client")):
        out[f"{label}_without"] = u.client.place(order(who, sid, Side.BUY, 5, low), who).gas_used
    u.client.venue.setOrderGate(u.margin, sender=operator)
    return out


def test_gas__gate_share_of_order_placement__within_30k(gate_gas):
    member = gate_gas["member_with"] - gate_gas["member_without"]
    client = gate_gas["client_with"] - gate_gas["client_without"]
    print(f"\nrisk gate share of placeOrder: member {member:,} gas ({gate_gas['member_with']:,} with, "
          f"{gate_gas['member_without']:,} without); client {client:,} gas; first order of a member in "
          f"a new security: {gate_gas['new_position_with']:,} gas in total")
    assert member <= 30_000
    assert client <= 30_000
