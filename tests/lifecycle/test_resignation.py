"""A member leaves the fund (DefaultFund.resign, completeResignation): notice, a cooling-off
period in which it still answers for defaults, then — once its last trade has settled and no
margin is required — its contribution back and the gate closed to it.

Hand-computed: a and b contribute 5,000.00 each, c 2,000.00 (no margin, no skin in the game).
a gives notice and sells 10 S at 100.00 to b (T+1). During the notice c defaults with a loss
of 4,000.00: c's contribution 2,000.00, then 2,000.00 from the survivors' 10,000.00, a and b
1,000.00 each. a's notice ends before its trade settles: refused (ExposureOpen); once the cycle
settled it completes and is paid 4,000.00; the pool keeps b's 4,000.00.
"""

from __future__ import annotations

import ape
import pytest

from smartccp.clearing.ccp import run_cycle, warp_past
from smartccp.risk.chain import margin_status, one_security_fund
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash

DAY = 86_400
SHOCKS = [-800 + 100 * i for i in range(16)]


@pytest.fixture(scope="module")
def fund_market(operator, bank, issuer, member_a, member_b, member_c):
    chain = ape.chain
    chain.pending_timestamp = (chain.pending_timestamp // DAY + 1) * DAY + 3_600
    chain.mine()
    a, b, c = member_a, member_b, member_c
    system, risk, sid = one_security_fund(operator, bank, issuer, (a, b, c), (cash(5_000), cash(5_000), cash(2_000)),
                                          symbol="S", isin=b"RESIGN000001", price=cash("100.00"), shocks=SHOCKS)
    system.securities.issue(sid, a, 10, sender=issuer)
    for m in (a, b):
        risk.margin.depositCash(cash(10_000), sender=m)
    return system, risk, sid, a, b, c


def test_resign__answers_for_defaults_in_the_notice__leaves_once_settled__contribution_back(fund_market, operator,
                                                                                             outsider):
    system, risk, sid, a, b, c = fund_market
    fund, margin = risk.fund, risk.margin
    with ape.reverts(fund.NotFundMember, member=outsider):
        fund.resign(sender=outsider)
    receipt = fund.resign(sender=a)
    [ev] = receipt.decode_logs(fund.ResignationStarted)
    completes = int(ev.completesAt)
    with ape.reverts(fund.ResignationPending, member=a, completesAt=completes):
        fund.resign(sender=a)
    client = VenueClient(system.venue)
    cycle = int(system.ccp.settlementCycle(sid)[0])
    client.place(Order(owner=str(a.address), securityId=sid, side=Side.SELL, quantity=10, price=cash("100.00")), a)
    client.place(Order(owner=str(b.address), securityId=sid, side=Side.BUY, quantity=10, price=cash("100.00")), b)
    # c defaults during a's notice: its loss reaches the survivors, a among them. A registered
    # account stands in for the default-management contract (it receives the covered cash).
    keeper = ape.accounts.test_accounts[8]
    system.membership.registerSystem(keeper, sender=operator)
    fund.grantRole(fund.DEFAULT_MANAGEMENT_ROLE(), keeper, sender=operator)
    fund.declareDefault(c, sender=operator)
    fund.coverShortfall(c, c, cash(4_000), sender=keeper)
    with ape.reverts(fund.CoolingOff, member=a, completesAt=completes):
        fund.completeResignation(a, sender=outsider)
    ape.chain.pending_timestamp = completes
    ape.chain.mine()
    # The notice has run (30 days), the trade not yet settled (no keeper ran the cycle).
    assert int(system.ccp.prefunded(a)[2]) == 1
    with ape.reverts(fund.ExposureOpen):
        fund.completeResignation(a, sender=outsider)
    warp_past(system.ccp, cycle)
    run_cycle(system.ccp, cycle, outsider)
    margin.startMarginDay(sender=operator)
    cash_before = int(system.cash.balanceOf(a))
    pool_before = int(fund.survivorPool()[0])
    [done] = fund.completeResignation(a, sender=outsider).decode_logs(fund.Resigned)
    assert int(done.returned) == cash(4_000)
    assert int(system.cash.balanceOf(a)) == cash_before + cash(4_000)
    assert int(fund.survivorPool()[0]) == pool_before - cash(4_000) == cash(4_000)  # b's
    assert tuple(int(x) for x in fund.contributionOf(a)) == (0, 0)
    assert not margin_status(margin, a).contribution_paid
    with ape.reverts(fund.NotResigning, member=a):
        fund.completeResignation(a, sender=outsider)
