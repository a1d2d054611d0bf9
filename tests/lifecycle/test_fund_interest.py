"""Interest on default fund contributions (DefaultFund.claimContributionInterest): the rate
published for cash collateral (Margin's one index), accrued at every touch of a member's balance
in O(1), on the smaller of its balance as booked and as read through the survivors' index, nothing
while in default, paid by the CCP's interest account.

Hand-computed (5.00 % a year from t0; a year is 365 days, so 73 days = 1.00 %):
    before t0   a and b contribute 5,000.00 each, c 2,000.00 (no rate yet: index 1.00)
    t0 + 73 d   c is declared in default (its interest to then: 2,000 x 1 % = 20.00) and its
                loss of 4,000.00 is covered: c's 2,000.00, then 2,000.00 from a and b (1,000.00
                each): their balances 4,000.00                            index 1.01
    t0 + 146 d  a claims min(5,000.00 booked, 4,000.00 now) x 2 % = 80.00 (the loss counts for
                the whole period: against the member); b the same        index 1.02
                c claims its 20.00: suspended, the cash ledger refuses it: it stays owed
"""

from __future__ import annotations

import ape
import pytest
from life_clock import at

from smartccp.chain.system import admit, deploy_system
from smartccp.risk.chain import deploy_risk, publish_contributions
from smartccp.types import DAY, MAX_UINT
from smartccp.units import cash


def _time(receipt) -> int:  # noqa: ANN001
    return int(ape.chain.blocks[receipt.block_number].timestamp)


def _index(seconds: int) -> int:
    """Margin's index ``seconds`` after a 5 % rate was published on the index 1e12."""
    return 10**12 + 10**12 * 500 * seconds // (10_000 * 365 * DAY)


@pytest.fixture(scope="module")
def fund(operator, bank, issuer, member_a, member_b, member_c):
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    a, b, c = member_a, member_b, member_c
    admit(system, operator, (a, b, c))
    risk = deploy_risk(system, operator, resync=[a, b, c])
    for m in (a, b, c):
        system.cash.issue(m, cash(100_000), sender=bank)
        system.cash.approve(risk.fund, MAX_UINT, sender=m)
    publish_contributions(risk.fund, {a: cash(5_000), b: cash(5_000), c: cash(2_000)}, operator)
    for m, amount in ((a, 5_000), (b, 5_000), (c, 2_000)):
        risk.fund.contribute(cash(amount), sender=m)
    # The CCP's interest account: the settlement bank, approving the fund (and Margin) to draw on it.
    system.cash.issue(bank, cash(1_000), sender=bank)
    system.cash.approve(risk.fund, MAX_UINT, sender=bank)
    risk.margin.setInterestPayer(bank, sender=operator)
    # A registered account stands in for the default-management contract (it receives the cash).
    manager = ape.accounts.test_accounts[8]
    system.membership.registerSystem(manager, sender=operator)
    risk.fund.grantRole(risk.fund.DEFAULT_MANAGEMENT_ROLE(), manager, sender=operator)
    return system, risk, a, b, c, manager


def test_fund_interest__hand_computed__loss_and_default__paid_by_the_interest_account(fund, operator, bank, outsider):
    system, risk, a, b, c, manager = fund
    f, margin = risk.fund, risk.margin
    t0 = (ape.chain.pending_timestamp // DAY + 1) * DAY
    at(t0, mine=False)
    t_rate = _time(margin.setInterestRate(500, sender=operator))
    assert t_rate == t0
    assert [int(f.contributionInterestOf(m)) for m in (a, b, c)] == [0, 0, 0]
    at(t0 + 73 * DAY, mine=False)
    f.declareDefault(c, sender=operator)
    f.coverShortfall(c, c, cash(4_000), sender=manager)
    assert int(f.contributionInterestOf(c)) == cash(20)
    assert [int(f.contributionOf(m)[1]) for m in (a, b)] == [cash(4_000), cash(4_000)]

    at(t0 + 146 * DAY, mine=False)
    bank0, a0 = int(system.cash.balanceOf(bank)), int(system.cash.balanceOf(a))
    receipt = f.claimContributionInterest(sender=a)
    assert [(ev.member, int(ev.amount)) for ev in receipt.decode_logs(f.ContributionInterestPaid)] == [(a.address, cash(80))]
    # Read in a's claim's block: nothing left. (Read after b's claim, which may land a second
    # later, a's balance has earned that second's interest, about 6 base units.)
    assert int(f.contributionInterestOf(a)) == 0
    # b's claim lands in a later block (a second or so): 4,000.00 times the index's growth to
    # then, rounded down, which the model computes from the block's time.
    t_b = _time(f.claimContributionInterest(sender=b))
    b_paid = cash(4_000) * (_index(t_b - t0) - 10**12) // 10**12
    assert cash(80) <= b_paid <= cash(80) + 10 * (t_b - (t0 + 146 * DAY))
    assert int(system.cash.balanceOf(a)) - a0 == cash(80)
    assert bank0 - int(system.cash.balanceOf(bank)) == cash(80) + b_paid  # conservation: the payer paid it all
    with ape.reverts(f.NoInterestAccrued, member=outsider.address):
        f.claimContributionInterest(sender=outsider)
    # c is in default (suspended): nothing accrued since its declaration, and the cash ledger
    # refuses to pay it, so it stays owed.
    assert int(f.contributionInterestOf(c)) == cash(20)
    receipt = f.claimContributionInterest(sender=c)
    assert [int(ev.amount) for ev in receipt.decode_logs(f.ContributionInterestUnpaid)] == [cash(20)]
    assert int(f.contributionInterestOf(c)) == cash(20)
