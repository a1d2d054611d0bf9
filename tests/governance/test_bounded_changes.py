"""Bounded changes (issue #25): the risk role, the operator and the guardian may make risk
parameters and settlement rules stricter at once; anything looser only through the timelock,
after its delay. The guardian's emergency path halts, never resumes, never moves assets."""

from __future__ import annotations

import ape
from gov_support import balances, fabricated

from smartccp.chain.governance import call_proposal, execute, propose, timelocked
from smartccp.chain.roles import DEFAULT_ADMIN_ROLE, OPERATOR_ROLE, VENUE_ROLE


def test_haircut__risk_and_guardian_raise__lowering_needs_the_timelock(governed):
    margin, sid = governed.dep.risk.margin, governed.sid
    risk, guardian, op = governed.holder("risk"), governed.holder("guardian"), governed.holder("operator")
    assert int(margin.securityRisk(sid)[2]) == 2000  # the file's haircut
    for who in (risk, guardian):
        with ape.reverts(margin.RiskChangeNeedsAdmin, caller=who.address, securityId=sid):
            margin.setHaircut(sid, 1999, sender=who)
    margin.setHaircut(sid, 2500, sender=risk)
    margin.setHaircut(sid, 3000, sender=guardian)
    with ape.reverts(margin.AccessControlUnauthorizedAccount):
        margin.setHaircut(sid, 4000, sender=op)
    proposal = call_proposal(margin, "setHaircut", sid, 1000)
    propose(governed.dep.timelock, proposal, op)
    with ape.reverts(governed.dep.timelock.TimelockUnexpectedOperationState):
        execute(governed.dep.timelock, proposal, op)
    timelocked(governed.dep.timelock, call_proposal(margin, "setHaircut", sid, 1000, salt="again"), op)
    margin.setHaircut(sid, 1000, sender=risk)  # unchanged is not looser


def test_scenarios__wider_at_once__narrower_or_flipped_needs_the_timelock(governed):
    margin, sid, risk = governed.dep.risk.margin, governed.sid, governed.holder("risk")
    base = [-500, 300, -200, 100, -50, 0, 250, -800]
    timelocked(governed.dep.timelock, call_proposal(margin, "publishScenarios", sid, base), governed.holder("operator"))
    wider = [x * 2 for x in base]
    wider[5] = 40  # a zero shock may become anything
    margin.publishScenarios(sid, wider, sender=risk)
    margin.publishScenarios(sid, wider, sender=governed.holder("guardian"))
    narrower = list(wider)
    narrower[0] = wider[0] + 1
    with ape.reverts(margin.RiskChangeNeedsAdmin, caller=risk.address, securityId=sid):
        margin.publishScenarios(sid, narrower, sender=risk)
    flipped = list(wider)
    flipped[1] = -wider[1]
    with ape.reverts(margin.RiskChangeNeedsAdmin):
        margin.publishScenarios(sid, flipped, sender=risk)


def test_margin_model__stricter_at_once__looser_needs_the_timelock(governed):
    margin, risk, guardian = governed.dep.risk.margin, governed.holder("risk"), governed.holder("guardian")
    spec = governed.dep.spec.risk
    conf, horizon, window = spec.confidence_bps, spec.horizon_days, spec.call_window
    for looser in ((conf - 1, horizon, window), (conf, horizon - 1, window), (conf, horizon, window + 1)):
        with ape.reverts(margin.RiskChangeNeedsAdmin, caller=risk.address, securityId=0):
            margin.setMarginModel(*looser, sender=risk)
    margin.setMarginModel(conf + 10, horizon + 1, window - 60, sender=guardian)
    timelocked(governed.dep.timelock, call_proposal(margin, "setMarginModel", conf, horizon, window),
               governed.holder("operator"))


def test_fund_parameters__stricter_at_once__looser_needs_the_timelock(governed):
    fund, risk = governed.dep.risk.fund, governed.holder("risk")
    spec = governed.dep.spec.risk
    cap, window = spec.assessment_cap_bps, spec.top_up_window
    for looser in ((cap - 1, window), (cap, window + 1)):
        with ape.reverts(fund.FundChangeNeedsAdmin, caller=risk.address):
            fund.setFundParameters(*looser, sender=risk)
    fund.setFundParameters(cap + 100, window - 60, sender=risk)
    with ape.reverts(fund.AccessControlUnauthorizedAccount):
        fund.setFundParameters(cap + 200, window - 60, sender=governed.holder("guardian"))
    timelocked(governed.dep.timelock, call_proposal(fund, "setFundParameters", cap, window),
               governed.holder("operator"))


def test_ccp_rules__operator_tightens__loosening_needs_the_timelock(governed):
    ccp, sid, op = governed.dep.system.ccp, governed.sid, governed.holder("operator")
    rules = tuple(ccp.securityRules(sid))
    cleared, naked, prefund, lag, band, rolls = rules
    assert cleared
    looser_rules = ((cleared, naked, prefund, lag + 1, band, rolls), (cleared, naked, prefund, lag, band + 100, rolls),
                    (cleared, naked, prefund, lag, band, rolls + 1))  # more rolls: fails bought in later
    for looser in looser_rules:
        with ape.reverts(ccp.RulesChangeNeedsAdmin, securityId=sid):
            ccp.setSecurityRules(sid, looser, sender=op)
    ccp.setSecurityRules(sid, (cleared, True, prefund | 1, lag, band, rolls), sender=op)
    with ape.reverts(ccp.RulesChangeNeedsAdmin, securityId=sid):
        ccp.setSecurityRules(sid, rules, sender=op)  # allowing naked shorts again is looser
    with ape.reverts(ccp.AccessControlUnauthorizedAccount, neededRole=OPERATOR_ROLE):
        ccp.setSecurityRules(sid, rules, sender=governed.holder("risk"))
    timelocked(governed.dep.timelock, call_proposal(ccp, "setSecurityRules", sid, rules), op)
    assert tuple(ccp.securityRules(sid)) == rules


def test_guardian__halts__never_resumes_grants_or_moves_assets(governed):
    s, sid, guardian = governed.dep.system, governed.sid, governed.holder("guardian")
    s.securities.setHalted(sid, True, sender=guardian)
    assert s.securities.tradingTerms(sid)[2]
    with ape.reverts(s.securities.AccessControlUnauthorizedAccount, account=guardian.address,
                     neededRole=OPERATOR_ROLE):
        s.securities.setHalted(sid, False, sender=guardian)
    before = balances(governed)
    with ape.reverts(s.ccp.UnauthorisedVenue):
        s.ccp.settle(fabricated(governed), sender=guardian)
    for contract, role_id in ((s.ccp, VENUE_ROLE), (s.membership, OPERATOR_ROLE), (s.securities, OPERATOR_ROLE)):
        with ape.reverts(contract.AccessControlUnauthorizedAccount, neededRole=DEFAULT_ADMIN_ROLE):
            contract.grantRole(role_id, guardian, sender=guardian)
    with ape.reverts(s.membership.AccessControlUnauthorizedAccount):
        s.membership.registerSystem(guardian, sender=guardian)
    with ape.reverts(governed.dep.risk.margin.AccessControlUnauthorizedAccount):
        governed.dep.risk.margin.setLiquidationMarket(guardian, sender=guardian)
    assert balances(governed) == before
    s.securities.setHalted(sid, False, sender=governed.holder("operator"))


def test_recalibration__ops__proposed_through_the_timelock__published_after_its_delay__then_nothing(
        governed, monkeypatch):
    # The keeper's recalibration (#22) changes the scenarios, which only the timelock may narrow:
    # ops proposes it (the governor), refuses to publish before the delay, publishes after it.
    import numpy as np
    from ape import chain

    from smartccp.ops import recalibrate as module
    from smartccp.ops.clock import Clock
    from smartccp.ops.daily import Operations
    from smartccp.ops.deploy import security_history
    from smartccp.ops.recalibrate import recalibrate

    def volatile(spec):  # a calibration that differs from the published one: every move doubled
        h = security_history(spec)
        log_ret = np.diff(np.log(h), axis=0)
        return h[0] * np.exp(np.vstack([np.zeros((1, h.shape[1])), np.cumsum(2 * log_ret, axis=0)]))

    margin, sid = governed.dep.risk.margin, governed.sid
    original = [int(x) for x in margin.scenariosOf(sid)]
    monkeypatch.setattr(module, "security_history", volatile)
    ops = Operations(governed.dep, Clock(warp=False))
    k = ops.today()
    ops.journal.cycle(k)["margin"] = {}  # the day's margin run (not what this test is about)
    try:
        out = recalibrate(ops)
        assert out.did and "proposed" in out.message
        assert [int(x) for x in margin.scenariosOf(sid)] == original
        early = recalibrate(ops)
        assert not early.did and "too early" in early.message
        ready = ops.journal.cycle(k)["recalibration"]["ready_at"]
        chain.pending_timestamp = max(chain.pending_timestamp, ready)
        chain.mine()
        out = recalibrate(ops)
        assert out.did and "published" in out.message
        published = [int(x) for x in margin.scenariosOf(sid)]
        assert published != original and min(published) < min(original)
        assert not recalibrate(ops).did
    finally:
        timelocked(governed.dep.timelock, call_proposal(margin, "publishScenarios", sid, original, salt="restore"),
                   governed.holder("operator"))
        ops.journal.path.unlink(missing_ok=True)
