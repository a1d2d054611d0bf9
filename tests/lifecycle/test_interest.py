"""Interest on cash collateral (Margin.setInterestRate, claimInterest): one index, no loop over
accounts, rounded down, paid by the CCP's interest account, conservation kept.

Hand-computed (5.00 % a year from day 0, 2.00 % from day 146; a year is 365 days):
    day 0     a deposits 100,000.00                       index 1.00
    day 73    a deposits 50,000.00: accrued 100,000 x 0.01 = 1,000.00          index 1.01
              b deposits 10,000.00
    day 146   a withdraws 30,000.00 and is paid 1,000.00 + 150,000 x 0.01 / 1.01
              = 1,000.00 + 1,485.148514 (rounded down) = 2,485.148514          index 1.02
              the rate becomes 2.00 %
    day 328.5 (half a year on)                                                  index 1.0302
              a claims 120,000 x 0.0102 / 1.02 = 1,200.00
              b claims  10,000 x 0.0202 / 1.01 =   200.00
"""

from __future__ import annotations

import ape
import pytest

from smartccp.chain.system import admit, deploy_system
from smartccp.lifecycle.interest import InterestBook
from smartccp.risk.chain import deploy_risk, margin_status
from smartccp.types import MAX_UINT
from smartccp.units import cash

DAY = 86_400


@pytest.fixture(scope="module")
def book(operator, bank, issuer, member_a, member_b, member_c):
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    a, b, payer = member_a, member_b, member_c
    admit(system, operator, (a, b, payer))
    risk = deploy_risk(system, operator, resync=[a, b])
    for m in (a, b, payer):
        system.cash.issue(m, cash(1_000_000), sender=bank)
        system.cash.approve(risk.margin, MAX_UINT, sender=m)
    risk.margin.setInterestPayer(payer, sender=operator)
    return system, risk.margin, a, b, payer


def _at(t: int) -> None:
    ape.chain.pending_timestamp = t


def _second(amount: int, rate_bps: int) -> int:
    """One second's interest on ``amount`` at ``rate_bps``, rounded up."""
    return -(-amount * rate_bps // (10_000 * 365 * DAY))


def test_interest__uneven_deposits_and_withdrawals__hand_computed__paid_by_the_interest_account(book, operator):
    system, margin, a, b, payer = book
    t0 = (ape.chain.pending_timestamp // DAY + 1) * DAY
    model = InterestBook()
    _at(t0)
    margin.setInterestRate(500, sender=operator)
    model.set_rate(500, t0)
    _at(t0 + 1)  # the same index a second later is 1e12 + 1e12 x 500 / (1e4 x 31,536,000): under 1 base unit a second on 1e12
    margin.depositCash(cash(100_000), sender=a)
    model.deposit("a", cash(100_000), t0 + 1)
    _at(t0 + 73 * DAY)
    margin.depositCash(cash(50_000), sender=a)
    model.deposit("a", cash(50_000), t0 + 73 * DAY)
    _at(t0 + 73 * DAY + 1)
    margin.depositCash(cash(10_000), sender=b)
    model.deposit("b", cash(10_000), t0 + 73 * DAY + 1)
    payer_before = int(system.cash.balanceOf(payer))
    a_before = int(system.cash.balanceOf(a))
    _at(t0 + 146 * DAY)
    receipt = margin.withdrawCash(cash(30_000), sender=a)
    [paid] = receipt.decode_logs(margin.InterestPaid)
    want = model.withdraw("a", cash(30_000), t0 + 146 * DAY)
    assert int(paid.amount) == want
    # The hand figures take every step at a whole day; on chain the steps are one block, a
    # second, apart (a's first deposit booked the index a second after the rate started): within
    # one second's interest on 150,000.00 at 5 % (238 base units).
    assert abs(want - (cash(1_000) + cash("1485.148514"))) <= _second(cash(150_000), 500)
    assert int(system.cash.balanceOf(a)) == a_before + cash(30_000) + want
    assert int(system.cash.balanceOf(payer)) == payer_before - want
    _at(t0 + 146 * DAY + 1)
    margin.setInterestRate(200, sender=operator)
    model.set_rate(200, t0 + 146 * DAY + 1)
    t_end = t0 + 146 * DAY + 1 + 182 * DAY + DAY // 2
    _at(t_end)
    claim_a = margin.claimInterest(a, sender=a)
    _at(t_end + 1)
    claim_b = margin.claimInterest(b, sender=b)
    got = {m: int(r.decode_logs(margin.InterestPaid)[0].amount) for m, r in (("a", claim_a), ("b", claim_b))}
    assert got == {"a": model.claim("a", t_end), "b": model.claim("b", t_end + 1)}
    assert abs(got["a"] - cash(1_200)) <= _second(cash(120_000), 500)  # the rate changed a second late
    assert abs(got["b"] - cash(200)) <= 2 * _second(cash(10_000), 500)
    # Margin holds exactly the cash collateral; the interest came from the interest account.
    held = sum(margin_status(margin, m).cash for m in (a, b))
    assert int(system.cash.balanceOf(margin)) == held == cash(130_000)
    assert int(system.cash.balanceOf(payer)) == payer_before - want - got["a"] - got["b"]
    assert int(margin.interestOf(a)) == model.touch("a", t_end + 1)[1]  # the second since its claim


def test_interest__bad_input_and_an_interest_account_that_cannot_pay(book, operator, outsider):
    system, margin, a, b, payer = book
    with ape.reverts(margin.AccessControlUnauthorizedAccount):
        margin.setInterestRate(500, sender=a)
    with ape.reverts(margin.AccessControlUnauthorizedAccount):
        margin.setInterestPayer(a, sender=a)
    t0 = ape.chain.pending_timestamp
    margin.setInterestRate(1_000, sender=operator)
    margin.depositCash(cash(100_000), sender=a)
    with ape.reverts(margin.NotAccountController, caller=b, account=a):
        margin.claimInterest(a, sender=b)
    system.cash.approve(margin, 0, sender=payer)  # the interest account stops paying
    _at(t0 + 30 * DAY)
    ape.chain.mine()
    owed = int(margin.interestOf(a))
    assert owed > 0
    receipt = margin.withdrawCash(cash(10_000), sender=a)  # the withdrawal is not held up
    [unpaid] = receipt.decode_logs(margin.InterestUnpaid)
    assert int(unpaid.amount) >= owed and int(margin.interestOf(a)) == int(unpaid.amount)
    system.cash.approve(margin, MAX_UINT, sender=payer)
    paid = margin.claimInterest(a, sender=a).decode_logs(margin.InterestPaid)[0]
    assert int(paid.amount) >= int(unpaid.amount) and int(margin.interestOf(a)) == 0
