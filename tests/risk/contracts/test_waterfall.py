"""The default waterfall on worked examples: each layer in turn exhausted, in order, with the
same layer totals and per-member charges as ``smartccp.risk.waterfall.run_waterfall``; two
defaulters; replenishment (top-up calls, skin in the game) and assessments paid to the CCP.

The CCP is played by an account (``risk_unit.ccp``) that charges shortfalls directly."""

from __future__ import annotations

import ape
import pytest

from smartccp.risk.chain import layer_events, layer_totals, margin_status
from smartccp.risk.waterfall import LAYERS, run_waterfall
from smartccp.types import ZERO_ADDRESS
from smartccp.units import cash

MARGIN_A, MARGIN_B = cash(1_000), cash(200)
CONTRIB = (cash(500), cash(300), cash(200))  # a, b, c
SITG = cash(400)
CAP_BPS = 10_000


@pytest.fixture(scope="module")
def wf(risk_unit, members, member_c, operator, bank):
    """a, b, c fund members (contributions 500/300/200 paid), a posts 1,000 margin, b 200, the
    CCP's skin in the game is 400, assessments capped at 1x the contribution."""
    u = risk_unit
    a, b, _ = members
    trio = (a, b, member_c)
    u.fund.setRequiredContributions(list(trio), list(CONTRIB), sender=operator)
    u.fund.setFundParameters(CAP_BPS, 86_400, sender=operator)
    for m, c in zip(trio, CONTRIB, strict=True):
        u.fund.contribute(c, sender=m)
    u.margin.depositCash(MARGIN_A, sender=a)
    u.margin.depositCash(MARGIN_B, sender=b)
    return u, trio


def _fund_sitg(u, system, bank):
    system.cash.issue(bank, SITG, sender=bank)
    u.fund.fundSkinInTheGame(SITG, sender=bank)


def _python(losses, margins, trio):
    return run_waterfall(
        losses={str(m.address): v for m, v in losses.items()},
        margins={str(m.address): v for m, v in margins.items()},
        contributions={str(m.address): c for m, c in zip(trio, CONTRIB, strict=True)},
        skin_in_the_game=SITG,
        assessment_cap_bps=CAP_BPS,
    )


# Each loss exhausts one more layer: margin (1,000), own fund (500), skin (400), survivors (500),
# assessments (500), then leaves 100 uncovered.
CASES = {
    "margin_partly": cash(800),
    "margin_exhausted": cash(1_200),
    "own_fund_exhausted": cash(1_700),
    "skin_in_the_game_exhausted": cash(2_100),
    "survivor_fund_exhausted": cash(2_600),
    "assessments_exhausted": cash(3_000),
}


@pytest.mark.parametrize("case", CASES)
def test_waterfall__one_defaulter__layers_in_order_as_python(wf, system, bank, case):
    u, trio = wf
    a, b, c = trio
    _fund_sitg(u, system, bank)
    loss = CASES[case]
    ccp_before = int(system.cash.balanceOf(u.ccp))
    receipt = u.fund.coverShortfall(a, a, loss, sender=u.ccp)
    expected = _python({a: loss}, {a: MARGIN_A}, trio)

    assert layer_totals(u.fund) == dict(expected.layers)
    used = [(layer, amount) for _, layer, amount in layer_events(u.fund, [receipt])]
    assert used == [(layer, amount) for layer, amount in expected.layers if amount]
    assert [LAYERS.index(layer) for layer, _ in used] == sorted(LAYERS.index(layer) for layer, _ in used)
    covered = receipt.decode_logs(u.fund.ShortfallCovered)[0].covered
    paid_now = sum(expected.used(layer) for layer in LAYERS[:4])
    assert covered == paid_now == int(system.cash.balanceOf(u.ccp)) - ccp_before
    for m in (b, c):
        charge = expected.charges[str(m.address)]
        required, paid = u.fund.contributionOf(m)
        assert required - paid == charge.default_fund_used
        assert int(u.fund.assessmentDue(m)) == charge.assessment
    assert int(system.membership.memberOf(a).status) == 2  # suspended
    assert int(u.fund.defaultOf(a)[0]) == 3  # SettlementShortfall
    assert margin_status(u.margin, a).defaulted


def test_waterfall__two_defaulters__same_layer_totals_as_python(wf, system, bank, operator):
    u, trio = wf
    a, b, c = trio
    _fund_sitg(u, system, bank)
    u.fund.declareDefault(a, sender=operator)
    u.fund.declareDefault(b, sender=operator)
    r1 = u.fund.coverShortfall(a, a, cash(2_000), sender=u.ccp)
    r2 = u.fund.coverShortfall(b, b, cash(1_200), sender=u.ccp)
    expected = _python({a: cash(2_000), b: cash(1_200)}, {a: MARGIN_A, b: MARGIN_B}, trio)
    assert layer_totals(u.fund) == dict(expected.layers)
    assert expected.uncovered == cash(400)
    # The defaulters' own resources serve only their own loss; b is not a survivor.
    assert [x for x in layer_events(u.fund, [r1, r2]) if x[1] == "survivor_default_fund"] == [
        (a.address, "survivor_default_fund", cash(100)), (b.address, "survivor_default_fund", cash(100))]
    assert int(u.fund.assessmentDue(b)) == 0
    assert int(u.fund.assessmentDue(c)) == expected.charges[str(c.address)].assessment


def test_waterfall__after_use__survivors_topped_up_and_assessments_paid_to_ccp(wf, system, bank, operator, chain):
    u, trio = wf
    a, b, c = trio
    _fund_sitg(u, system, bank)
    u.fund.coverShortfall(a, a, cash(2_600), sender=u.ccp)
    # Layer 4 emptied b's and c's contributions: top-up deadlines at once; the gate sees them
    # unpaid once they are settled (anyone may settle them: the keeper's job after a default).
    for m in (b, c):
        assert int(u.fund.topUpDeadline(m)) > 0
        assert margin_status(u.margin, m).contribution_paid
    settled = u.fund.settleMembers(0, 3, sender=b)
    assert [(log.member, log.amount) for log in settled.decode_logs(u.fund.SurvivorCharged)] == [
        (b.address, CONTRIB[1]), (c.address, CONTRIB[2])]
    for m in (b, c):
        assert not margin_status(u.margin, m).contribution_paid
    required, paid = u.fund.contributionOf(b)
    u.fund.contribute(required - paid, sender=b)
    assert margin_status(u.margin, b).contribution_paid and int(u.fund.topUpDeadline(b)) == 0
    # c misses its top-up: anyone may declare it in default.
    with ape.reverts(u.fund.NoDefaultEvent):
        u.fund.declareDefault(c, sender=b)
    chain.pending_timestamp = int(u.fund.topUpDeadline(c)) + 1
    chain.mine()
    u.fund.declareDefault(c, sender=b)
    assert int(u.fund.defaultOf(c)[0]) == 2  # MissedTopUp
    # b pays its assessment: the cash goes to the CCP.
    due = int(u.fund.assessmentDue(b))
    before = int(system.cash.balanceOf(u.ccp))
    u.fund.payAssessment(due, sender=b)
    assert int(system.cash.balanceOf(u.ccp)) == before + due and int(u.fund.assessmentDue(b)) == 0
    # Skin in the game replenished.
    _fund_sitg(u, system, bank)
    assert int(u.fund.skinInTheGame()) == SITG


def test_recovery__returned_to_the_layers_in_reverse_order__survivors_first_through_the_index(wf, system, bank):
    """A 2,200 loss takes a's margin 1,000, its contribution 500, the skin 400 and 300 of the
    survivors' 500 (b 180, c 120: the index falls to 0.4). A recovery of 450 returns the 300 to the
    survivors (the index back to 1.0: b and c whole again, read lazily), then 150 to the skin; a
    recovery of 750 the skin's other 250, then a's own 500. Nothing is left to recover."""
    u, trio = wf
    a, b, c = trio
    fund = u.fund
    _fund_sitg(u, system, bank)
    fund_cash = int(system.cash.balanceOf(fund))
    fund.coverShortfall(a, a, cash(2_200), sender=u.ccp)
    assert tuple(fund.unrecovered(a)) == (cash(300), SITG, CONTRIB[0])
    settled = fund.settleMember(b, sender=c)  # b settled after the charge, c not
    assert [(e.member, e.amount) for e in settled.decode_logs(fund.SurvivorCharged)] == [(b.address, cash(180))]
    assert not margin_status(u.margin, b).contribution_paid and int(fund.topUpDeadline(b)) > 0

    before = (tuple(fund.survivorPool()), int(fund.skinInTheGame()), tuple(fund.unrecovered(a)))
    with ape.reverts(fund.NotInDefault, member=b):
        fund.recoverLoss(b, cash(1), sender=u.ccp)
    with ape.reverts(fund.BadInput):
        fund.recoverLoss(a, 0, sender=u.ccp)
    with ape.reverts(fund.RecoveryTooLarge, defaulter=a, amount=cash(1_201), unrecovered=cash(1_200)):
        fund.recoverLoss(a, cash(1_201), sender=u.ccp)
    assert (tuple(fund.survivorPool()), int(fund.skinInTheGame()), tuple(fund.unrecovered(a))) == before

    system.cash.approve(fund, cash(1_200), sender=u.ccp)
    first = fund.recoverLoss(a, cash(450), sender=u.ccp)
    assert [(e.layer, e.amount) for e in first.decode_logs(fund.LayerRecovered)] == [(3, cash(300)), (2, cash(150))]
    pool, _, index, scale, _ = fund.survivorPool()
    assert (pool, index, scale) == (cash(500), 10**36, 0)  # 0.4 x 500 / 200: whole again
    assert tuple(fund.unrecovered(a)) == (0, cash(250), CONTRIB[0])
    settled = fund.settleMembers(0, 3, sender=c)
    assert [(e.member, e.amount) for e in settled.decode_logs(fund.SurvivorRefunded)] == [(b.address, cash(180))]
    assert not settled.decode_logs(fund.SurvivorCharged)  # c's charge and refund met unseen
    for m, want in ((b, CONTRIB[1]), (c, CONTRIB[2])):
        assert int(fund.contributionOf(m)[1]) == want
        assert margin_status(u.margin, m).contribution_paid and int(fund.topUpDeadline(m)) == 0

    second = fund.recoverLoss(a, cash(750), sender=u.ccp)
    assert [(e.layer, e.amount) for e in second.decode_logs(fund.LayerRecovered)] == [(2, cash(250)), (1, CONTRIB[0])]
    assert int(fund.skinInTheGame()) == SITG and int(fund.contributionOf(a)[1]) == CONTRIB[0]
    assert tuple(fund.unrecovered(a)) == (0, 0, 0)
    assert int(system.cash.balanceOf(fund)) == fund_cash  # every layer's cash back in the fund
    with ape.reverts(fund.RecoveryTooLarge, defaulter=a, amount=1, unrecovered=0):
        fund.recoverLoss(a, 1, sender=u.ccp)


def test_waterfall__a_shortfall_no_member_answers_for__named_error__no_layer_used(wf, system, bank, accounts):
    # The CCP charges a system account's shortfall (the default-management account short of the
    # assessments still to come, a close-out market) with no member behind it (the register's
    # clearing member of a system account is zero). Before, the waterfall ran for "member 0":
    # the CCP's skin in the game and the survivors paid for a loss no member caused, again.
    u, trio = wf
    _fund_sitg(u, system, bank)
    account = accounts[9]
    before = (layer_totals(u.fund), tuple(u.fund.survivorPool()), int(u.fund.skinInTheGame()),
              int(system.cash.balanceOf(u.ccp)))
    with ape.reverts(u.fund.NoMemberToCharge, account=account.address):
        u.fund.coverShortfall(ZERO_ADDRESS, account, cash(1_000), sender=u.ccp)
    assert (layer_totals(u.fund), tuple(u.fund.survivorPool()), int(u.fund.skinInTheGame()),
            int(system.cash.balanceOf(u.ccp))) == before
    assert int(u.fund.defaultOf(ZERO_ADDRESS)[0]) == 0  # nobody declared


def test_waterfall__only_the_ccp_charges(wf):
    u, trio = wf
    with ape.reverts(u.fund.OnlyCcp, caller=trio[1].address):
        u.fund.coverShortfall(trio[0], trio[0], cash(1), sender=trio[1])


# ─── Liquidity lent to the CCP for buy-ins (IDefaultHandler.lendLiquidity) ──────────────────


def test_lend_liquidity__waterfall_sets_the_loan_off_first__same_layers_less_cash_moved(wf, system, bank):
    """Lent cash is the fund's asset: a later charge uses the same layers as without the loan,
    and the fund's part of the payment is first set off against the loan (the CCP holds it)."""
    u, trio = wf
    a = trio[0]
    _fund_sitg(u, system, bank)
    loan, loss = cash(300), CASES["own_fund_exhausted"]  # margin 1,000 + own fund 500 + skin 200
    r = u.fund.lendLiquidity(loan, sender=u.ccp)
    assert [(e.amount, e.outstanding) for e in r.decode_logs(u.fund.LiquidityLent)] == [(loan, loan)]
    assert u.fund.liquidityLent() == loan
    ccp_before = int(system.cash.balanceOf(u.ccp))
    receipt = u.fund.coverShortfall(a, a, loss, sender=u.ccp)
    assert layer_totals(u.fund) == dict(_python({a: loss}, {a: MARGIN_A}, trio).layers)
    assert [(e.amount, e.setOff, e.outstanding) for e in receipt.decode_logs(u.fund.LiquidityReturned)] == [
        (loan, True, 0)]
    assert int(system.cash.balanceOf(u.ccp)) - ccp_before == loss - loan
    assert u.fund.liquidityLent() == 0


def test_lend_liquidity__capped_at_cash_held__repaid_on_allowance_up_to_the_loan(wf, system):
    u, _ = wf
    held = int(system.cash.balanceOf(u.fund))
    u.fund.lendLiquidity(held + cash(1), sender=u.ccp)
    assert u.fund.liquidityLent() == held and int(system.cash.balanceOf(u.fund)) == 0
    system.cash.approve(u.fund, held + cash(5), sender=u.ccp)
    r = u.fund.repayLiquidity(held + cash(5), sender=u.ccp)
    assert [(e.amount, e.setOff, e.outstanding) for e in r.decode_logs(u.fund.LiquidityReturned)] == [
        (held, False, 0)]
    assert int(system.cash.balanceOf(u.fund)) == held and u.fund.liquidityLent() == 0


def test_lend_liquidity__only_the_ccp_borrows_or_repays(wf):
    u, trio = wf
    with ape.reverts(u.fund.OnlyCcp, caller=trio[1].address):
        u.fund.lendLiquidity(cash(1), sender=trio[1])
    with ape.reverts(u.fund.OnlyCcp, caller=trio[1].address):
        u.fund.repayLiquidity(cash(1), sender=trio[1])
    assert u.fund.liquidityLent() == 0


def test_withdraw_contribution__while_the_fund_cash_is_lent__named_error_nothing_moves(wf, system):
    u, trio = wf
    c = trio[2]
    u.fund.contribute(cash(50), sender=c)  # 50 above its requirement: withdrawable
    u.fund.lendLiquidity(int(system.cash.balanceOf(u.fund)), sender=u.ccp)
    paid = u.fund.contributionOf(c)[1]
    with ape.reverts(u.fund.FundCashLent, available=0, requested=cash(50)):
        u.fund.withdrawContribution(cash(50), sender=c)
    assert u.fund.contributionOf(c)[1] == paid
