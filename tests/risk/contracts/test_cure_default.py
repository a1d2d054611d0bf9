"""Curing a default (``DefaultFund.cureDefault``): a member charged a settlement shortfall that its
own margin (layer 1) covered in full is reinstated once it has made good — no open call and
posted >= IM + VM after a refresh, its contribution paid. Every refusal is a named error and
changes nothing; after the cure the case is gone (``defaultOf`` reads None), Margin's flag is
cleared, the register has the member active and it trades through the gate again.

The CCP is played by an account (``risk_unit.ccp``) that charges shortfalls directly."""

from __future__ import annotations

import ape
import pytest

from smartccp.risk.chain import cure_default, layer_totals, margin_status
from smartccp.types import Side
from smartccp.units import cash

MARGIN = cash(1_000)
CONTRIB = cash(500)
LOSS = cash(300)  # below MARGIN: layer 1 covers it
SETTLEMENT_SHORTFALL, DECLARED = 3, 4
ACTIVE, SUSPENDED, EXPELLED = 1, 2, 3


@pytest.fixture(scope="module")
def cure(risk_unit, members, member_c, operator):
    """a, b, c fund members (500 each, paid); a posts 1,000 margin, b 1,000, c nothing."""
    u = risk_unit
    a, b, _ = members
    trio = (a, b, member_c)
    u.fund.setRequiredContributions(list(trio), [CONTRIB] * 3, sender=operator)
    for m in trio:
        u.fund.contribute(CONTRIB, sender=m)
    u.margin.depositCash(MARGIN, sender=a)
    u.margin.depositCash(MARGIN, sender=b)
    return u, trio


def _state(u, system, m):
    """Everything a refused cure must leave as it was."""
    return (tuple(u.fund.defaultOf(m)), margin_status(u.margin, m), int(system.membership.memberOf(m).status),
            tuple(u.fund.contributionOf(m)), tuple(layer_totals(u.fund).values()))


def test_cure__own_margin_covered_the_loss__case_ended_flag_cleared_reinstated_trades_again(
        cure, system, operator, order):
    u, (a, b, _) = cure
    u.fund.coverShortfall(a, a, LOSS, sender=u.ccp)
    assert int(system.membership.memberOf(a).status) == SUSPENDED and margin_status(u.margin, a).defaulted
    assert layer_totals(u.fund)["defaulter_margin"] == LOSS
    sid = u.sids[0]
    lot_order = order(a, sid, Side.BUY, 10, u.prices[sid] // 2)
    with ape.reverts():  # suspended: the venue refuses it
        u.client.place(lot_order, a)
    u.margin.depositCash(LOSS, sender=a)  # the member makes good what layer 1 took (allowed while suspended)

    receipt = u.fund.cureDefault(a, sender=operator)

    [cured] = receipt.decode_logs(u.fund.DefaultCured)
    assert (cured.member, int(cured.reason), int(cured.loss)) == (a.address, SETTLEMENT_SHORTFALL, LOSS)
    assert [log.member for log in receipt.decode_logs(u.margin.MemberDefaultCleared)] == [a.address]
    assert [(log.account, int(log.to)) for log in receipt.decode_logs(system.membership.MemberStatusChanged)] == [
        (a.address, ACTIVE)]
    assert tuple(u.fund.defaultOf(a)) == (0, 0, False)  # the case is deleted
    st = margin_status(u.margin, a)
    assert not st.defaulted and st.call_amount == 0 and st.posted == MARGIN
    assert int(system.membership.memberOf(a).status) == ACTIVE
    assert layer_totals(u.fund)["defaulter_margin"] == LOSS  # history stays in the layer totals
    # It trades again through the gate, and may withdraw its excess margin again.
    placed = u.client.place(lot_order, a)
    assert [log.account for log in placed.decode_logs(u.margin.OrderMargined)] == [a.address]
    u.margin.withdrawCash(cash(1), sender=a)
    # Cured, it is a survivor again: a later default of b charges it in layer 4.
    u.fund.declareDefault(b, sender=operator)
    paid_before = u.fund.contributionOf(a)[1]
    r = u.fund.coverShortfall(b, b, MARGIN + CONTRIB + cash(10), sender=u.ccp)
    assert r.decode_logs(u.fund.SurvivorsCharged)
    assert u.fund.contributionOf(a)[1] < paid_before


def test_cure__a_new_default_after_a_cure_opens_a_new_case(cure, operator):
    u, (a, _, _) = cure
    u.fund.coverShortfall(a, a, LOSS, sender=u.ccp)
    u.margin.depositCash(LOSS, sender=a)
    u.fund.cureDefault(a, sender=operator)

    u.fund.coverShortfall(a, a, cash(100), sender=u.ccp)

    assert tuple(u.fund.defaultOf(a)) == (SETTLEMENT_SHORTFALL, cash(100), False)
    assert margin_status(u.margin, a).defaulted


def test_cure__helper_tops_up_and_cures(cure, system, operator):
    u, (a, _, _) = cure
    u.fund.coverShortfall(a, a, LOSS, sender=u.ccp)

    result = cure_default(u.risk, a, operator, deposit=LOSS)

    assert result.cured and result.loss == LOSS and result.margin_deposited == LOSS and result.gas > 0
    assert int(system.membership.memberOf(a).status) == ACTIVE


def test_cure__declared_by_the_manager_without_a_loss__can_be_cured(cure, system, operator):
    u, (a, _, _) = cure
    u.fund.declareDefault(a, sender=operator)
    receipt = u.fund.cureDefault(a, sender=operator)
    [cured] = receipt.decode_logs(u.fund.DefaultCured)
    assert (int(cured.reason), int(cured.loss)) == (DECLARED, 0)
    assert int(system.membership.memberOf(a).status) == ACTIVE


# ─── Refusals: a named error each, nothing changed ───────────────────────────────────────────


def test_cure__not_in_default__refused(cure, system, operator):
    u, (a, _, _) = cure
    before = _state(u, system, a)
    with ape.reverts(u.fund.NotInDefault, member=a.address):
        u.fund.cureDefault(a, sender=operator)
    assert _state(u, system, a) == before


def test_cure__default_already_closed__refused(cure, system, operator):
    u, (a, _, _) = cure
    u.fund.coverShortfall(a, a, LOSS, sender=u.ccp)
    u.fund.closeDefault(a, sender=operator)
    before = _state(u, system, a)
    assert before[2] == EXPELLED
    with ape.reverts(u.fund.DefaultAlreadyClosed, member=a.address):
        u.fund.cureDefault(a, sender=operator)
    assert _state(u, system, a) == before


def test_cure__others_resources_used__refused(cure, system, operator):
    u, (a, _, _) = cure
    u.fund.coverShortfall(a, a, MARGIN + cash(50), sender=u.ccp)  # 50 from its own contribution (layer 2)
    u.fund.contribute(cash(50), sender=a)
    u.margin.depositCash(MARGIN, sender=a)
    before = _state(u, system, a)
    with ape.reverts(u.fund.OthersResourcesUsed, member=a.address, beyondMargin=cash(50)):
        u.fund.cureDefault(a, sender=operator)
    assert _state(u, system, a) == before


def test_cure__still_under_collateralised_after_the_refresh__refused(cure, system, operator, order):
    u, (a, _, _) = cure
    sid = u.sids[0]
    u.client.place(order(a, sid, Side.BUY, 10, u.prices[sid] // 2), a)  # the gate lists the security
    cycle = int(u.source.currentCycle()) + 1
    u.source.setObligation(cycle, sid, a, 1_000, -1_000 * u.prices[sid], sender=u.ccp)  # IM far above 1,000
    u.fund.coverShortfall(a, a, LOSS, sender=u.ccp)
    before = _state(u, system, a)
    im = int(u.margin.previewInitialMargin(a))  # >= the refresh's IM (resting buys still counted)
    assert im > MARGIN - LOSS
    with ape.reverts(u.fund.StillUnderCollateralised, member=a.address, posted=MARGIN - LOSS):
        u.fund.cureDefault(a, sender=operator)
    assert _state(u, system, a) == before  # the refresh inside the cure is rolled back too
    # Once it posts enough, the cure goes through.
    u.margin.depositCash(im, sender=a)
    u.fund.cureDefault(a, sender=operator)
    assert not margin_status(u.margin, a).defaulted


def test_cure__contribution_unpaid__refused(cure, system, operator):
    u, trio = cure
    a = trio[0]
    u.fund.coverShortfall(a, a, LOSS, sender=u.ccp)
    u.margin.depositCash(LOSS, sender=a)
    u.fund.setRequiredContributions([a], [CONTRIB + cash(200)], sender=operator)  # raised: top-up called
    before = _state(u, system, a)
    with ape.reverts(u.fund.ContributionUnpaid, member=a.address, required=CONTRIB + cash(200), paid=CONTRIB):
        u.fund.cureDefault(a, sender=operator)
    assert _state(u, system, a) == before
    u.fund.contribute(cash(200), sender=a)
    u.fund.cureDefault(a, sender=operator)
    assert margin_status(u.margin, a).contribution_paid and not margin_status(u.margin, a).defaulted


def test_cure__only_the_default_manager(cure, system, operator):
    u, (a, b, _) = cure
    u.fund.coverShortfall(a, a, LOSS, sender=u.ccp)
    u.margin.depositCash(LOSS, sender=a)
    before = _state(u, system, a)
    for caller in (a, b):
        with ape.reverts(u.fund.AccessControlUnauthorizedAccount, account=caller.address):
            u.fund.cureDefault(a, sender=caller)
    assert _state(u, system, a) == before


def test_clear_default__only_the_fund(cure):
    u, (a, _, _) = cure
    with ape.reverts(u.margin.AccessControlUnauthorizedAccount, account=a.address):
        u.margin.clearDefault(a, sender=a)


def test_gas__cure(cure, operator):
    """Gas of a cure (refresh of a member with no positions + flag + reinstatement: 4 register
    subscribers); the bench's ``risk.cure_default_gas`` measures it on the full system."""
    u, (a, _, _) = cure
    u.fund.coverShortfall(a, a, LOSS, sender=u.ccp)
    u.margin.depositCash(LOSS, sender=a)
    gas = int(u.fund.cureDefault(a, sender=operator).gas_used)
    print(f"\ncureDefault gas: {gas:,}")
    assert gas < 250_000
