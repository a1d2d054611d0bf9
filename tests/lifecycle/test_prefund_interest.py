"""Interest on cash pre-funded in the CCP (CCPSettlement.claimPrefundInterest, issue #21): the
rate published for cash collateral (Margin's one index, the CCP's interest source), accrued only
when the account itself touches its pre-funded cash (pre-funding, withdrawal, claim), on the
smaller of its balance as booked then and its balance now, so settlement costs nothing more and
a pay-in between two touches earns nothing for the whole period (against the member). Paid by
the CCP's interest account.

Hand-computed (5.00 % a year from t0; a year is 365 days, so 73 days = 1.00 %):
    before t0    a pre-funds 10,000.00                                  index 1.00
    t0 + 73 d    a claims 10,000.00 x 1 % = 100.00; then buys 40 at 100.00 (T+1)   index 1.01
    t0 + 74 d    the cycle takes the 4,000.00 from a's pre-funded cash: 6,000.00 left
    t0 + 146 d   a withdraws 6,000.00: min(10,000.00 booked, 6,000.00 now) x (1.02 - 1.01) / 1.01
                 = 59.405940 (rounded down), owed until claimed           index 1.02
"""

from __future__ import annotations

import ape
import pytest
from life_clock import at

from smartccp.chain.system import admit, approve_settlement, deploy_system, list_security
from smartccp.clearing.ccp import check_ccp_empty, run_cycle, warp_past
from smartccp.risk.chain import deploy_risk
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY, MAX_UINT
from smartccp.units import cash


@pytest.fixture(scope="module")
def market(operator, bank, issuer, member_a, member_b, member_c):
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    a, b, keeper = member_a, member_b, member_c
    admit(system, operator, (a, b, keeper))
    risk = deploy_risk(system, operator, resync=[a, b, keeper], gate_venues=False)
    system.securities.listSecurity("PFI", b"PFINT0000001", 0, cash("0.01"), 1, 0, sender=issuer)
    sid = int(system.securities.securityCount())
    list_security(system, operator, sid, lag_days=1)
    system.securities.issue(sid, b, 1_000, sender=issuer)
    approve_settlement(system, (a, b))
    for m in (a, b):
        system.cash.issue(m, cash(100_000), sender=bank)
    # The CCP's interest account: the settlement bank, approving the CCP to draw on it.
    system.cash.issue(bank, cash(1_000), sender=bank)
    system.cash.approve(system.ccp, MAX_UINT, sender=bank)
    risk.margin.setInterestPayer(bank, sender=operator)
    return system, risk, sid, a, b, keeper


def test_prefund_interest__hand_computed__accrued_at_touches_paid_by_the_interest_account(market, operator, bank):
    system, risk, sid, a, b, keeper = market
    ccp, margin = system.ccp, risk.margin
    assert ccp.interestSource() == margin.address  # wired by deploy_risk
    ccp.prefundCash(cash(10_000), sender=a)
    t0 = (ape.chain.pending_timestamp // DAY + 1) * DAY
    at(t0, mine=False)
    margin.setInterestRate(500, sender=operator)

    at(t0 + 73 * DAY, mine=False)
    bank0, a0 = int(system.cash.balanceOf(bank)), int(system.cash.balanceOf(a))
    receipt = ccp.claimPrefundInterest(sender=a)
    assert [(ev.account, int(ev.amount)) for ev in receipt.decode_logs(ccp.PrefundInterestPaid)] == [(a.address, cash(100))]
    assert (int(system.cash.balanceOf(a)) - a0, bank0 - int(system.cash.balanceOf(bank))) == (cash(100), cash(100))

    VenueClient(system.venue).cross(b, a, sid, 40, cash(100))
    cycle = t0 // DAY + 74
    warp_past(ccp, cycle)
    report = run_cycle(ccp, cycle, keeper)
    assert report.failures == 0
    assert int(ccp.prefunded(a)[0]) == cash(6_000)  # the pay-in took the pre-funded cash first
    assert int(system.cash.balanceOf(a)) - a0 == cash(100)  # a's wallet paid nothing of it

    at(t0 + 146 * DAY, mine=False)
    ccp.withdrawCash(cash(6_000), sender=a)
    owed = cash(6_000) * (10**12 * 102 // 100 - 10**12 * 101 // 100) // (10**12 * 101 // 100)
    assert owed == cash("59.405940")
    assert int(ccp.prefundInterestOf(a)) == owed
    receipt = ccp.claimPrefundInterest(sender=a)
    assert [int(ev.amount) for ev in receipt.decode_logs(ccp.PrefundInterestPaid)] == [owed]
    assert int(ccp.prefundInterestOf(a)) == 0
    assert bank0 - int(system.cash.balanceOf(bank)) == cash(100) + owed  # the interest account paid it all
    check_ccp_empty(ccp, system, [sid])  # interest never passes through the CCP


def test_prefund_interest__payer_cannot_pay__stays_owed__nothing_to_claim_refused(market, operator, bank, outsider):
    system, risk, sid, a, b, keeper = market
    ccp, margin = system.ccp, risk.margin
    ccp.prefundCash(cash(10_000), sender=a)
    t0 = (ape.chain.pending_timestamp // DAY + 1) * DAY
    at(t0, mine=False)
    margin.setInterestRate(500, sender=operator)
    system.cash.approve(ccp, 0, sender=bank)  # the interest account stops paying
    at(t0 + 73 * DAY, mine=False)
    receipt = ccp.claimPrefundInterest(sender=a)
    assert [int(ev.amount) for ev in receipt.decode_logs(ccp.PrefundInterestUnpaid)] == [cash(100)]
    assert int(ccp.prefundInterestOf(a)) == cash(100)
    with ape.reverts(ccp.NoInterestAccrued, account=b.address):
        ccp.claimPrefundInterest(sender=b)
    with ape.reverts(ccp.AccessControlUnauthorizedAccount, account=outsider.address):
        ccp.setInterestSource(outsider, sender=outsider)
    assert ccp.interestSource() == margin.address
