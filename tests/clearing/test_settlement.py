"""Cycle settlement: DVP through the CCP in resumable chunks, idempotence, direct gross DVP,
pre-funding, the configurable rules, and a re-entrant receiver."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak

from smartccp.clearing.ccp import Rules, check_ccp_empty, run_cycle, set_rules, supplies, warp_past
from smartccp.types import CyclePhase, MemberKind, Route
from smartccp.units import cash


def test_settle_cycle__worked_example__members_move_only_net_amounts_and_ccp_ends_empty(
    ccp, system, worked_example, parties, balances, keeper, security_id, bond_id, cycle
):
    a, b, x, c = parties
    before = balances(a, b, x, c)
    supply = supplies(system, [security_id, bond_id])
    worked_example()
    warp_past(ccp, cycle)

    report = run_cycle(ccp, cycle, keeper, chunk=50)

    assert report.phase == CyclePhase.SETTLED and report.failures == 0 and report.transactions == 1
    after = balances(a, b, x, c)
    delta = {k: tuple(n - o for n, o in zip(after[k], before[k])) for k in after}
    # Client X's cash leg is its clearing member A's to pay: A's wallet pays its own leg (-95)
    # and X's (-5,025); X receives its 50 units in its own wallet and moves no cash.
    assert delta == {
        str(a): (-cash(100) + cash(5) - cash(5_025), 0, 0),
        str(b): (cash(8_965) - cash(589), -90, 600),
        str(c): (-cash(3_840) + cash(584), 40, -600),
        str(x): (0, 50, 0),
    }
    check_ccp_empty(ccp, system, [security_id, bond_id])
    assert system.cash.balanceOf(ccp) == 0
    assert supplies(system, [security_id, bond_id]) == supply
    # The two obligations with units to deliver (B's EQ, C's BOND) are paid in, and the three
    # net payers (A, C, X) pay one cash leg each across both securities (A: -100 on EQ and +5
    # on BOND, one debit of 95).
    assert report.events["ObligationPaidIn"] == 2 + 3 and report.events["CycleSettled"] == 1
    assert report.cash_legs(system.cash, ccp) == {str(a): 2, str(b): 1, str(c): 1}  # A: its leg and X's
    assert [int(log.cashAmount) for log in report.logs(ccp.ObligationPaidIn) if log.securityId == 0] == [
        cash(100) - cash(5), cash(3_840) - cash(584), cash(5_025)]


def test_settle_cycle__chunked__interrupted_and_resumed_same_result(
    ccp, system, worked_example, parties, balances, keeper, cycle, security_id, bond_id
):
    worked_example()
    warp_past(ccp, cycle)
    assert ccp.settleCycle(cycle, 3, sender=keeper).return_value is False or True
    phase, cursor, n, _, _ = ccp.cycleInfo(cycle)
    assert (phase, cursor, n) == (CyclePhase.PAYING_IN, 3, 7)
    ccp.settleCycle(cycle, 5, sender=keeper)  # 4 more pay-ins (units), 1 cash-leg step
    assert ccp.cycleInfo(cycle)[:2] == (CyclePhase.PAYING_IN_CASH, 1)

    report = run_cycle(ccp, cycle, keeper, chunk=1)  # resume, one obligation per transaction

    # 6 more cash-leg steps, close-out (nothing), 7 pay-outs.
    assert report.phase == CyclePhase.SETTLED and report.transactions == 6 + 7
    check_ccp_empty(ccp, system, [security_id, bond_id])
    assert balances(parties[3])[str(parties[3])] == (cash(1_000_000) - cash(3_256), 10_040, 9_400)


def test_settle_cycle__already_settled__reverts_and_changes_nothing(
    ccp, system, worked_example, parties, balances, keeper, cycle
):
    worked_example()
    warp_past(ccp, cycle)
    run_cycle(ccp, cycle, keeper)
    state = (ccp.cycleInfo(cycle), balances(*parties))

    with ape.reverts(ccp.CycleAlreadySettled, cycleId=cycle):
        ccp.settleCycle(cycle, 10, sender=keeper)

    assert (ccp.cycleInfo(cycle), balances(*parties)) == state
    assert run_cycle(ccp, cycle, keeper).transactions == 0  # the Python runner is a no-op too


def test_settle_direct__gross_dvp_at_once__nothing_netted(ccp, trade, parties, balances, security_id, cycle):
    a, b, _, _ = parties
    before = balances(a, b)
    tx = trade(a, b, 10, cash(100), route=Route.DIRECT)
    after = balances(a, b)
    assert after[str(a)] == (before[str(a)][0] - cash(1_000), before[str(a)][1] + 10, before[str(a)][2])
    assert after[str(b)] == (before[str(b)][0] + cash(1_000), before[str(b)][1] - 10, before[str(b)][2])
    assert tx.decode_logs(ccp.TradeSettledDirect)[0].cashAmount == cash(1_000)
    assert ccp.cycleInfo(cycle)[0] == CyclePhase.UNKNOWN


def test_settle_direct__seller_cannot_deliver__whole_match_reverts(
    ccp, trade, parties, balances, system, venue
):
    a, b, _, _ = parties
    system.securities.setApprovalForAll(ccp, False, sender=b)
    before = balances(a, b)
    with ape.reverts(system.securities.ERC1155MissingApprovalForAll, operator=ccp, owner=b):
        trade(a, b, 10, cash(100), route=Route.DIRECT)
    assert balances(a, b) == before


def test_settle_direct__suspended_seller__reverts(ccp, trade, parties, membership, operator, balances):
    a, b, _, _ = parties
    membership.suspend(b, sender=operator)
    before = balances(a, b)
    with ape.reverts(membership.MemberSuspended, account=b):
        trade(a, b, 10, cash(100), route=Route.DIRECT)
    assert balances(a, b) == before


def test_prefund__pay_in_uses_prefunded_balance_first__locked_until_paid_in(
    ccp, system, trade, parties, balances, keeper, security_id, cycle
):
    a, b, _, _ = parties
    ccp.prefundCash(cash(600), sender=a)
    ccp.prefundSecurities(security_id, 4, sender=b)
    trade(a, b, 10, cash(100))  # A owes 1,000 cash, B owes 10 units
    with ape.reverts(ccp.PrefundLocked, account=a, openObligations=1):
        ccp.withdrawCash(cash(1), sender=a)
    before = balances(a, b)
    warp_past(ccp, cycle)

    run_cycle(ccp, cycle, keeper)

    after = balances(a, b)
    assert after[str(a)][0] - before[str(a)][0] == -cash(400)  # 600 came from the pre-funded balance
    assert after[str(b)][1] - before[str(b)][1] == -6  # 4 units came from the pre-funded balance
    assert ccp.prefunded(a) == (0, 0, 0) and ccp.prefundedSecurities(b, security_id) == 0
    check_ccp_empty(ccp, system, [security_id])


def test_prefund__withdraw_when_nothing_open__returns_balance(ccp, system, parties, security_id):
    a = parties[0]
    ccp.prefundCash(cash(50), sender=a)
    ccp.prefundSecurities(security_id, 7, sender=a)
    assert ccp.custody(security_id) == (cash(50), 7)
    ccp.withdrawCash(cash(50), sender=a)
    ccp.withdrawSecurities(security_id, 7, sender=a)
    assert ccp.prefunded(a) == (0, 0, 0) and ccp.custody(security_id) == (0, 0)
    assert system.cash.balanceOf(ccp) == 0 and system.securities.balanceOf(ccp, security_id) == 0


def test_full_cash_prefund_class__participant_buys_without_prefund__rejected(
    ccp, trade, parties, operator, security_id, cycle, keeper
):
    a, b, x, _ = parties
    set_rules(ccp, security_id, operator, Rules(prefund_classes=(MemberKind.PARTICIPANT,)))
    with ape.reverts(ccp.CashNotPrefunded, buyer=x, required=cash(1_000), available=0):
        trade(x, b, 10, cash(100))
    assert ccp.obligation(cycle, security_id, x) == (0, 0)

    ccp.prefundCash(cash(1_500), sender=x)
    trade(x, b, 10, cash(100))  # reserves 1,000 of 1,500
    with ape.reverts(ccp.CashNotPrefunded, buyer=x, required=cash(2_000), available=cash(1_500)):
        trade(x, b, 10, cash(100))
    trade(a, b, 10, cash(100))  # a clearing member is not in the class
    assert ccp.prefunded(x) == (cash(1_500), cash(1_000), 1)

    # Settled: X's cash leg (-1,000) is paid from its pre-funded cash, the reservation released
    # with its last obligation, and the rest is free to withdraw.
    warp_past(ccp, cycle)
    run_cycle(ccp, cycle, keeper)
    assert ccp.prefunded(x) == (cash(500), 0, 0)
    ccp.withdrawCash(cash(500), sender=x)


def test_no_naked_short__seller_without_holdings__rejected_and_view_tells_venue(
    ccp, trade, parties, operator, system, security_id, cycle
):
    a, b, _, c = parties
    set_rules(ccp, security_id, operator, Rules(no_naked_short=True))
    ccp.checkShortSale(b, security_id, 10_000)  # holds 10,000
    with ape.reverts(ccp.NakedShortSale, seller=b, securityId=security_id, required=10_001, available=10_000):
        ccp.checkShortSale(b, security_id, 10_001)
    trade(a, b, 9_000, cash(1))
    with ape.reverts(ccp.NakedShortSale, seller=b, securityId=security_id, required=11_000, available=10_000):
        ccp.checkShortSale(b, security_id, 2_000)  # already delivers 9,000 this cycle
    with ape.reverts(ccp.NakedShortSale, seller=b, securityId=security_id, required=11_000, available=10_000):
        trade(c, b, 2_000, cash(1))
    assert ccp.obligation(cycle, security_id, b) == (-9_000, cash(9_000))
    ccp.prefundSecurities(security_id, 1, sender=c)  # pre-funded units count with the wallet
    ccp.checkShortSale(c, security_id, 10_000)
    trade(a, c, 10_000, cash(1))


@pytest.mark.parametrize("bubble", [False, True], ids=["swallowed", "bubbled"])
def test_reentrant_receiver__callback_into_ccp__refused(
    ccp, system, trade, parties, operator, bank, keeper, security_id, cycle, bubble
):
    a, b, _, _ = parties
    evil = operator.deploy(ape.project.MockReentrantReceiver, ccp)
    system.membership.admitParticipant(evil, a, ape.chain.pending_timestamp + 10**7, 1, sender=operator)
    system.cash.issue(evil, cash(10_000), sender=bank)
    evil.approveAll(system.cash, system.securities, sender=operator)
    evil.arm(cycle, True, bubble, sender=operator)
    trade(evil, b, 10, cash(100))
    warp_past(ccp, cycle)

    run_cycle(ccp, cycle, keeper)

    assert ccp.cycleInfo(cycle)[0] == CyclePhase.SETTLED
    if not bubble:  # the receiver saw its call-back refused and accepted the units
        assert evil.attempts() == 1 and not evil.reentered()
        assert evil.lastError() == keccak(text="ReentrancyGuardReentrantCall()")[:4]
    else:  # the refused transfer is credited to its balance in the CCP, withdrawable later
        assert system.securities.balanceOf(evil, security_id) == 0
        assert ccp.prefundedSecurities(evil, security_id) == 10
        evil.arm(cycle, False, False, sender=operator)
        evil.withdrawSecurities(security_id, 10, sender=operator)
    assert system.securities.balanceOf(evil, security_id) == 10
    check_ccp_empty(ccp, system, [security_id])
