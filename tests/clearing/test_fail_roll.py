"""Failed deliveries rolling into the next cycle's net (CNS, issue #21): with a security's
``failRolls`` above zero, a seller's short delivery is not bought in at once: the missing units
and the cash they withheld move to today's open cycle, the receivers the pool cannot pay are
owed the units there (already paid for), and the fail settles the next day or is bought in once
it has rolled enough. Amounts are computed by hand in each test."""

from __future__ import annotations

from cycle_helpers import deltas, settle

from smartccp.clearing.ccp import Rules, check_ccp_empty, set_rules, supplies
from smartccp.types import CyclePhase
from smartccp.units import cash


def _short_seller(system, ccp, operator, security_id, parties, trade, *, rolls=1):
    """A (60) and C (40) buy 100 at 100.00 from B, which then keeps only 70 units."""
    a, b, x, c = parties
    set_rules(ccp, security_id, operator, Rules(settlement_lag=1, fail_rolls=rolls))
    trade(a, b, 60, cash(100))
    trade(c, b, 40, cash(100))
    held = int(system.securities.balanceOf(b, security_id))
    system.securities.safeTransferFrom(b, x, security_id, held - 70, b"", sender=b)
    return a, b, x, c


def test_fail_roll__short_delivery__rolls_to_today_and_settles_next_day(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, cycle, operator
):
    _, handler = close_out
    a, b, x, c = _short_seller(system, ccp, operator, security_id, parties, trade)
    supply = supplies(system, [security_id])
    before = balances(a, b, c)

    report = settle(ccp, cycle, keeper)

    # B delivered 70 of 100: paid 7,000.00 of 10,000.00; the 3,000.00 withheld stays in custody.
    # The pool pays receivers in list order (A, then C): A gets its 60, C 10 and is owed 30 more.
    today = cycle + 1
    assert report.phase == CyclePhase.SETTLED and report.failures == 1
    assert report.events["BoughtIn"] == 0 and report.events["ShortfallCharged"] == 0
    assert deltas(balances, before, a, b, c) == [(-cash(6_000), 60, 0), (cash(7_000), -70, 0), (-cash(4_000), 10, 0)]
    rolled = report.logs(ccp.DeliveryRolled)[0]
    assert (rolled.toCycle, rolled.account, rolled.units, rolled.cashAmount, rolled.age) == (
        today, b, 30, cash(3_000), 1)
    receipt = report.logs(ccp.ReceiptRolled)[0]
    assert (receipt.toCycle, receipt.account, receipt.units, receipt.cashAmount) == (today, c, 30, 0)
    assert ccp.obligation(today, security_id, b) == (-30, cash(3_000))
    assert ccp.obligation(today, security_id, c) == (30, 0)
    assert ccp.rolledFails(today, security_id, b) == (1, 0, cash(3_000))
    assert ccp.rolledFails(cycle, security_id, b) == (0, 0, 0)  # every receipt rolled or paid
    assert ccp.custody(security_id) == (cash(3_000), 0)
    check_ccp_empty(ccp, system, [security_id])
    assert handler.charged(b) == 0

    # The next day B has the units: today's cycle settles the fail like any obligation.
    system.securities.safeTransferFrom(x, b, security_id, 30, b"", sender=x)
    report = settle(ccp, today, keeper)

    assert report.failures == 0
    assert deltas(balances, before, a, b, c) == [
        (-cash(6_000), 60, 0), (cash(10_000), -70 - 30 + 30, 0), (-cash(4_000), 40, 0)]
    assert ccp.custody(security_id) == (0, 0)
    check_ccp_empty(ccp, system, [security_id])
    assert supplies(system, [security_id]) == supply


def test_fail_roll__still_short_after_its_rolls__bought_in(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, cycle, operator
):
    market, handler = close_out
    a, b, x, c = _short_seller(system, ccp, operator, security_id, parties, trade, rolls=1)
    before = balances(b, c)
    settle(ccp, cycle, keeper)

    # Still 30 short the next day: its one roll is used, so it is bought in at 100.00 with the
    # 3,000.00 it withheld; C gets its last 30 units, nobody is charged.
    report = settle(ccp, cycle + 1, keeper)

    assert report.logs(ccp.DeliveryRolled) == []
    bought = report.logs(ccp.BoughtIn)[0]
    assert (bought.account, bought.wanted, bought.bought, bought.cost) == (b, 30, 30, cash(3_000))
    assert deltas(balances, before, b, c) == [(cash(7_000), -70, 0), (-cash(4_000), 40, 0)]
    assert handler.charged(b) == 0
    assert ccp.custody(security_id) == (0, 0)
    check_ccp_empty(ccp, system, [security_id])


def test_fail_roll__two_rolls_allowed__rolls_again_with_its_age(
    ccp, system, close_out, trade, parties, keeper, security_id, cycle, operator
):
    a, b, x, c = _short_seller(system, ccp, operator, security_id, parties, trade, rolls=2)
    settle(ccp, cycle, keeper)
    report = settle(ccp, cycle + 1, keeper)

    # The second day's short delivery is the same fail: it rolls again (age 2) with the same
    # withheld cash, and C's receipt rolls with it; the CCP holds that cash in custody again.
    rolled = report.logs(ccp.DeliveryRolled)[0]
    assert (rolled.toCycle, rolled.units, rolled.cashAmount, rolled.age) == (cycle + 2, 30, cash(3_000), 2)
    assert ccp.obligation(cycle + 2, security_id, c) == (30, 0)
    assert ccp.custody(security_id) == (cash(3_000), 0)
    check_ccp_empty(ccp, system, [security_id])


def test_fail_roll__a_buyer_fails_to_pay_in_the_same_cycle__every_failure_closed_out(
    ccp, system, close_out, trade, parties, keeper, security_id, cycle, operator
):
    market, handler = close_out
    a, b, x, c = _short_seller(system, ccp, operator, security_id, parties, trade)
    system.cash.approve(ccp, 0, sender=a)  # A does not pay: its sell-out needs the pool whole

    report = settle(ccp, cycle, keeper)

    assert report.logs(ccp.DeliveryRolled) == [] and report.logs(ccp.ReceiptRolled) == []
    assert [log.account for log in report.logs(ccp.BoughtIn)] == [b]
    assert [log.account for log in report.logs(ccp.SoldOut)] == [a]
    assert ccp.obligation(cycle + 1, security_id, b) == (0, 0)
    assert ccp.custody(security_id)[0] == 0
    check_ccp_empty(ccp, system, [security_id])


def test_fail_roll__no_rolls__bought_in_at_once(
    ccp, system, close_out, trade, parties, keeper, security_id, cycle, operator
):
    a, b, x, c = _short_seller(system, ccp, operator, security_id, parties, trade, rolls=0)

    report = settle(ccp, cycle, keeper)

    assert report.logs(ccp.DeliveryRolled) == []
    assert [(log.account, log.bought) for log in report.logs(ccp.BoughtIn)] == [(b, 30)]
    assert ccp.obligation(cycle + 1, security_id, c) == (0, 0)


def test_fail_roll__seller_suspended__bought_in_not_rolled(
    ccp, system, close_out, trade, parties, keeper, security_id, cycle, operator
):
    a, b, x, c = _short_seller(system, ccp, operator, security_id, parties, trade)
    system.membership.suspend(b, sender=operator)  # its obligations are the default manager's now

    report = settle(ccp, cycle, keeper)

    assert report.logs(ccp.DeliveryRolled) == []
    assert [(log.account, log.bought) for log in report.logs(ccp.BoughtIn)] == [(b, 30)]
    assert ccp.obligation(cycle + 1, security_id, b) == (0, 0)
