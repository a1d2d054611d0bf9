"""The default fund at a size the old ceiling (16 members) refused: 24 fund members, defaults
that reach the survivors' contributions and assessments, every balance, assessment, top-up
deadline and settlement event exactly as the index model (``smartccp.risk.fund_ledger``), a
default costing the same gas with 24 or 64 members, the gate's window before a charged member is
settled, and bad pages refused."""

from __future__ import annotations

import copy

import ape
import pytest

from smartccp.chain.system import kyc_expiry
from smartccp.risk.chain import layer_totals, margin_status
from smartccp.risk.fund_ledger import FundLedger
from smartccp.units import cash

N_MEMBERS = 24  # > the old MAX_MEMBERS = 16
CAP_BPS, WINDOW = 5_000, 86_400


def _admit(u, system, operator, bank, n):
    out = []
    for _ in range(n):
        m = ape.accounts.test_accounts.generate_test_account()
        operator.transfer(m, 10**18)
        system.membership.admitClearingMember(m, kyc_expiry(), sender=operator)
        system.cash.issue(m, cash(1_000_000), sender=bank)
        system.cash.approve(u.fund, 2**256 - 1, sender=m)
        out.append(m)
    return out


def _publish(u, model, members, required, operator, chain):
    for start in range(0, len(members), 50):
        batch = members[start:start + 50]
        u.fund.setRequiredContributions(batch, [required[str(m)] for m in batch], sender=operator)
        for m in batch:
            model.set_required(str(m), required[str(m)], int(chain.blocks.head.timestamp))


@pytest.fixture(scope="module")
def big_fund(risk_unit, system, operator, bank, chain):
    u = risk_unit
    u.fund.setFundParameters(CAP_BPS, WINDOW, sender=operator)
    members = _admit(u, system, operator, bank, N_MEMBERS)
    model = FundLedger(cap_bps=CAP_BPS, window=WINDOW)
    required = {str(m): cash(1_000 + 137 * i) for i, m in enumerate(members)}
    _publish(u, model, members, required, operator, chain)
    for i, m in enumerate(members):
        amount = required[str(m)] + cash(11 * (i % 3))  # a third pay more than required
        u.fund.contribute(amount, sender=m)
        model.contribute(str(m), amount)
    return u, members, model


@pytest.fixture
def big(big_fund):
    """The module's fund, with a fresh copy of its model (the chain is reverted per test)."""
    u, members, model = big_fund
    return u, members, copy.deepcopy(model)


def _views_match(u, members, model):
    for m in members:
        k = str(m)
        assert tuple(u.fund.contributionOf(m)) == (model.members[k].required, model.balance(k)), k
        assert int(u.fund.assessmentDue(m)) == model.assessment_due(k), k
        assert int(u.fund.topUpDeadline(m)) == model.deadline(k), k
    pool, required_total, index, scale, _rate = u.fund.survivorPool()
    assert (pool, required_total, index, scale) == (model.pool, model.required_pool, model.index, model.scale)


def _default(u, model, defaulter, loss, operator, chain):
    """Declare ``defaulter`` and charge ``loss`` (no margin, no skin in the game); the model
    takes the same layers 2, 4 and 5. Returns the receipt."""
    u.fund.declareDefault(defaulter, sender=operator)
    model.declare(str(defaulter))
    receipt = u.fund.coverShortfall(defaulter, defaulter, loss, sender=u.ccp)
    left = loss - model.take_own(str(defaulter), loss)
    left -= model.charge_survivors(left, int(chain.blocks.head.timestamp))
    model.assess(left)
    return receipt


def _settle_all(u, members, model, caller):
    """The keeper's pages of 10; returns the settlement events, in order, as the model's."""
    model.events.clear()
    got, start = [], 0
    while start < N_MEMBERS:
        r = u.fund.settleMembers(start, 10, sender=caller)
        for log in r.decode_logs():
            if log.event_name == "SurvivorCharged":
                got.append(("SurvivorCharged", log.member, log.amount))
            elif log.event_name == "TopUpCalled":
                got.append(("TopUpCalled", log.member, log.amount, log.deadline))
            elif log.event_name == "AssessmentCalled":
                got.append(("AssessmentCalled", log.member, log.amount))
        start = min(start + 10, int(u.fund.memberCount()))
    for m in members[:]:
        model.settle(str(m))
    return got


def test_fund__24_members__defaults_into_layers_4_and_5__exactly_the_index_model(big, operator, outsider, chain):
    u, members, model = big
    assert int(u.fund.memberCount()) == N_MEMBERS
    assert list(u.fund.membersPage(20, 10)) == [m.address for m in members[20:]]
    _views_match(u, members, model)
    # 1st default: its own contribution, then a part of the survivors' pool.
    r = _default(u, model, members[0], cash(9_000), operator, chain)
    assert [log.amount for log in r.decode_logs(u.fund.SurvivorsCharged)] == [cash(9_000) - cash(1_000)]
    _views_match(u, members, model)  # current before anyone is settled
    assert _settle_all(u, members, model, outsider) == model.events
    _views_match(u, members, model)
    # Some top up; a 2nd default empties the pool and reaches the assessments.
    for m in members[1:8]:
        short = model.members[str(m)].required - model.balance(str(m))
        if short:
            u.fund.contribute(short, sender=m)
            model.contribute(str(m), short)
    r = _default(u, model, members[5], cash(200_000), operator, chain)
    assert model.pool == 0 and model.scale >= 2
    _views_match(u, members, model)
    assert _settle_all(u, members, model, outsider) == model.events
    _views_match(u, members, model)
    # The layer totals are the sum of what each layer gave.
    totals = layer_totals(u.fund)
    assert totals["survivor_default_fund"] == sum(log.amount for log in r.decode_logs(u.fund.SurvivorsCharged)) + (
        cash(9_000) - cash(1_000))
    # After the pool was emptied, new contributions read exactly.
    m = members[9]
    u.fund.contribute(cash(123), sender=m)
    model.contribute(str(m), cash(123))
    assert u.fund.contributionOf(m)[1] == cash(123)
    _views_match(u, members, model)


def test_fund__charged_member__gate_window_until_settled__top_up_deadline_runs_from_the_charge(
        big, operator, outsider, chain):
    u, members, model = big
    _default(u, model, members[0], cash(5_000), operator, chain)
    charged_at = int(chain.blocks.head.timestamp)
    m = members[3]
    assert u.fund.contributionOf(m)[1] < u.fund.contributionOf(m)[0]
    # Not settled yet: the gate still sees it paid (the documented window); its deadline is set.
    assert margin_status(u.margin, m).contribution_paid
    assert int(u.fund.topUpDeadline(m)) == charged_at + WINDOW
    # Past the deadline anyone may declare it, settled or not.
    chain.pending_timestamp = charged_at + WINDOW + 1
    chain.mine()
    u.fund.declareDefault(m, sender=outsider)
    assert int(u.fund.defaultOf(m)[0]) == 2  # MissedTopUp
    # Settling another charged member flags it unpaid to the gate.
    u.fund.settleMember(members[4], sender=outsider)
    assert not margin_status(u.margin, members[4]).contribution_paid


def test_fund__a_default_costs_the_same_with_24_or_64_members(big, system, operator, bank, chain):
    u, members, model = big

    def default_gas(defaulter):
        u.fund.declareDefault(defaulter, sender=operator)
        return u.fund.coverShortfall(defaulter, defaulter, cash(3_000), sender=u.ccp).gas_used

    small = default_gas(members[0])
    more = _admit(u, system, operator, bank, 40)
    required = {str(m): cash(1_000) for m in more}
    _publish(u, FundLedger(), more, required, operator, chain)
    for m in more:
        u.fund.contribute(cash(1_000), sender=m)
    large = default_gas(members[1])
    assert int(u.fund.memberCount()) == N_MEMBERS + 40
    assert large <= small * 1.02, (small, large)


def test_fund__bad_pages_and_batches__named_errors_nothing_changes(big, operator, outsider):
    u, members, _ = big
    with ape.reverts(u.fund.BadInput):
        u.fund.settleMembers(0, 0, sender=outsider)
    with ape.reverts(u.fund.BadInput):
        u.fund.settleMembers(N_MEMBERS, 1, sender=outsider)
    with ape.reverts(u.fund.NotFundMember, member=outsider.address):
        u.fund.settleMember(outsider, sender=outsider)
    too_many = [m.address for m in members] * 3  # 72 > MAX_BATCH
    with ape.reverts(u.fund.BadBatch, length=72, max=50):
        u.fund.setRequiredContributions(too_many, [1] * 72, sender=operator)
    assert int(u.fund.memberCount()) == N_MEMBERS
    assert list(u.fund.membersPage(N_MEMBERS, 5)) == []
