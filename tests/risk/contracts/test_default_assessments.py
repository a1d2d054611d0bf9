"""A managed default whose loss reaches the survivors' assessments (waterfall layer 5), followed
through settlement until the assessments are paid in and the deferred pay-outs drawn.

The assessments are called, not prefunded: the survivors pay them to the CCP after the auction,
so when the defaulter's cycle settles the case account holds only layers 1-4 and cannot pay its
whole cash leg. The CCP defers the pay-out it cannot make, charging the shortfall to nobody (the
case account has no member: ``NoMemberToCharge``, no layer used twice); the assessments, once
paid, are the cash that pay-out is drawn from, and the CCP ends holding nothing.

Cast (a fresh system, one T+1 security S1 at 100.00): a, the defaulter, buys 100 S1 from c; the
day's settlement price is 80.00; a is declared in default, its position taken over as one lot
and auctioned: b wins at 70.00. Hand-computed:

    loss        100 x (100.00 - 70.00)                          = 3,000.00
    layer 1     a's margin                                      = 1,000.00
    layer 2     a's contribution                                =   100.00
    layer 3     the CCP's skin in the game                      =   100.00
    layer 4     the survivors' contributions (b 500, c 500)     = 1,000.00
    layer 5     assessments, pro rata (b 400, c 400)            =   800.00

At settlement c delivers 100 S1 and is owed 10,000.00: b pays 7,000.00 and the case account the
2,200.00 of layers 1-4, so 9,200.00 is paid to c and 800.00 deferred; b's and c's assessments
(400.00 each) bring the CCP the 800.00 c then withdraws.
"""

from __future__ import annotations

import ape
import pytest

from smartccp.chain.system import admit, approve_settlement, deploy_system, list_security
from smartccp.clearing.ccp import check_ccp_empty, run_cycle, supplies, warp_past
from smartccp.risk import management as mg
from smartccp.risk.chain import (
    deploy_risk,
    layer_events,
    layer_totals,
    publish_contributions,
    publish_prices,
    publish_scenarios,
)
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash

P0, MARK, BID = cash("100.00"), cash("80.00"), cash("70.00")
SHOCKS = [-800 + 100 * i for i in range(16)]
A_MARGIN, SITG = cash(1_000), cash(100)
CONTRIBUTIONS = {"a": cash(100), "b": cash(500), "c": cash(500)}
WINDOW, BAND = 3_600, 3_000
LOSS = 100 * (P0 - BID)
ASSESSED = LOSS - A_MARGIN - CONTRIBUTIONS["a"] - SITG - CONTRIBUTIONS["b"] - CONTRIBUTIONS["c"]


@pytest.fixture(scope="module")
def case_(operator, bank, issuer, member_a, member_b, member_c, accounts):
    chain = ape.chain
    chain.pending_timestamp = (chain.pending_timestamp // 86_400 + 1) * 86_400 + 600  # early in a day
    chain.mine()
    a, b, c, keeper = member_a, member_b, member_c, accounts[8]
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    system.securities.listSecurity("S1", b"S10000000000", 0, cash("0.01"), 1, 0, sender=issuer)
    s1 = int(system.securities.securityCount())
    admit(system, operator, (a, b, c), [])
    list_security(system, operator, s1, lag_days=1)
    risk = deploy_risk(system, operator, resync=[a, b, c])
    approve_settlement(system, (a, b, c), risk.margin, risk.fund)
    for m in (a, b, c):
        system.cash.issue(m, cash(100_000), sender=bank)
    system.securities.issue(s1, c, 100, sender=issuer)
    publish_scenarios(risk.margin, {s1: SHOCKS}, operator)
    publish_prices(risk.margin, {s1: P0}, operator)
    members = {"a": a, "b": b, "c": c}
    publish_contributions(risk.fund, {members[n]: v for n, v in CONTRIBUTIONS.items()}, operator)
    for name, amount in CONTRIBUTIONS.items():
        risk.fund.contribute(amount, sender=members[name])
    for m, amount in ((a, A_MARGIN), (b, cash(50_000)), (c, cash(50_000))):
        risk.margin.depositCash(amount, sender=m)
    system.cash.issue(bank, SITG, sender=bank)
    system.cash.approve(risk.fund, SITG, sender=bank)
    risk.fund.fundSkinInTheGame(SITG, sender=bank)
    client = VenueClient(system.venue)
    cycle = int(system.ccp.settlementCycle(s1)[0])
    client.place(Order(owner=str(c.address), securityId=s1, side=Side.SELL, quantity=100, price=P0), c)
    client.place(Order(owner=str(a.address), securityId=s1, side=Side.BUY, quantity=100, price=P0), a)
    publish_prices(risk.margin, {s1: MARK}, operator)
    before = supplies(system, [s1])

    risk.fund.declareDefault(a, sender=operator)
    dm = risk.management
    dm.openCase(a, sender=keeper)
    dm.takeOver(a, a, [s1], sender=keeper)
    [lot] = [int(i) for i in dm.lotsOf(a)]
    dm.startAuction(a, WINDOW, WINDOW, BAND, sender=operator)
    bids = [mg.sign_bid(dm, b, lot, BID)]
    mg.commit(dm, bids, {str(b.address): b})
    chain.pending_timestamp = int(dm.caseOf(a)[1]) + 1
    chain.mine()
    mg.reveal(dm, bids, keeper)
    chain.pending_timestamp = int(dm.caseOf(a)[2]) + 1
    chain.mine()
    mg.dispose_all(dm, a, keeper)
    charged = mg.charge(dm, a, keeper)
    return system, risk, s1, cycle, members, keeper, charged, before


def test_loss_beyond_the_prefunded_layers__assessed__settled__assessments_pay_the_deferred_pay_out(case_):
    system, risk, s1, cycle, m, keeper, charged, before = case_
    fund, ccp, dm = risk.fund, system.ccp, risk.management
    a, b, c = m["a"], m["b"], m["c"]
    assert ASSESSED == cash(800)
    # The waterfall, layer by layer, the assessments pro rata to the survivors' contributions.
    assert layer_events(fund, charged) == [(a.address, "defaulter_margin", A_MARGIN),
                                           (a.address, "defaulter_default_fund", CONTRIBUTIONS["a"]),
                                           (a.address, "ccp_skin_in_the_game", SITG),
                                           (a.address, "survivor_default_fund", cash(1_000)),
                                           (a.address, "survivor_assessments", ASSESSED)]
    assert [int(fund.assessmentDue(x)) for x in (b, c)] == [cash(400), cash(400)]
    # The case account holds layers 1-4; the assessments are still to come.
    assert int(system.cash.balanceOf(dm)) == LOSS - ASSESSED
    totals = layer_totals(fund)

    warp_past(ccp, cycle)
    settled = run_cycle(ccp, cycle, keeper)
    assert settled.phase.name == "SETTLED"
    # The case account paid what it held; the rest was charged to nobody, no layer used again.
    assert [(str(e.account), str(e.clearingMember), int(e.shortfall), int(e.covered))
            for e in settled.logs(ccp.ShortfallCharged)] == [(str(dm.address), ape.utils.ZERO_ADDRESS, ASSESSED, 0)]
    assert not [e for r in settled.receipts for e in r.decode_logs(fund.LayerUsed)] and layer_totals(fund) == totals
    assert int(system.cash.balanceOf(dm)) == 0
    # c was paid all but the assessed part, which is deferred to its balance in the CCP.
    deferred = [(str(e.account), int(e.cashAmount)) for e in settled.logs(ccp.PayOutDeferred)]
    assert deferred == [(c.address, ASSESSED)]
    assert int(ccp.prefunded(c)[0]) == ASSESSED
    assert int(system.cash.balanceOf(ccp)) == 0  # nothing to draw it from yet
    with ape.reverts():
        ccp.withdrawCash(ASSESSED, sender=c)

    # The survivors pay their assessments to the CCP: c's deferred pay-out is now there to draw.
    for x in (b, c):
        fund.payAssessment(cash(400), sender=x)
    assert int(system.cash.balanceOf(ccp)) == ASSESSED
    c_cash = int(system.cash.balanceOf(c))
    ccp.withdrawCash(ASSESSED, sender=c)
    assert int(system.cash.balanceOf(c)) == c_cash + ASSESSED
    check_ccp_empty(ccp, system, [s1])
    assert supplies(system, [s1]) == before
    assert int(system.securities.balanceOf(b, s1)) == 100  # the winner holds the lot
