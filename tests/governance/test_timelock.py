"""The handover and the timelocked changes (issue #25): no single role can create an obligation
or move members' assets; a grant takes effect only after the public delay, then it works."""

from __future__ import annotations

import ape
import pytest
from gov_support import HOLDERS, PRICE, balances, fabricated

from smartccp.chain.governance import (
    call_proposal,
    execute,
    propose,
    propose_grant,
    ready_at,
    wait_delay,
)
from smartccp.chain.roles import DEFAULT_ADMIN_ROLE, GUARDIAN_ROLE, OPERATOR_ROLE, VENUE_ROLE
from smartccp.ops.deploy import _access_controlled


def test_handover__timelock_admin_of_every_contract__no_holder_admin(governed):
    s, timelock = governed.dep.system, governed.dep.timelock
    governed_contracts = {n: c for n, c in s.contracts().items() if n != "SmartCCPTimelock" and _access_controlled(c)}
    assert {"Membership", "CashToken", "SecurityToken", "CCPSettlement", "TradeVenue0", "Margin", "DefaultFund",
            "BBO"} <= set(governed_contracts)
    for name, c in governed_contracts.items():
        assert c.hasRole(DEFAULT_ADMIN_ROLE, timelock), name
        for holder in HOLDERS:
            assert not c.hasRole(DEFAULT_ADMIN_ROLE, governed.holder(holder)), f"{holder} is admin of {name}"
    assert int(timelock.getMinDelay()) == 3600
    # Separation: the deployer (operator) gave up the roles the file names others for.
    r = governed.dep.risk
    assert not r.margin.hasRole(r.margin.RISK_ROLE(), governed.holder("operator"))
    assert not r.fund.hasRole(r.fund.DEFAULT_MANAGER_ROLE(), governed.holder("operator"))
    assert r.margin.hasRole(GUARDIAN_ROLE, governed.holder("guardian"))


@pytest.mark.parametrize("holder", HOLDERS)
def test_fabricated_settle__any_single_role__refused__nothing_moves(governed, holder):
    """The issue's attack, by every role holder: it cannot make itself a venue of the CCP, and
    its own `settle` is refused; no balance moves."""
    ccp, who = governed.dep.system.ccp, governed.holder(holder)
    before = balances(governed)
    with ape.reverts(ccp.AccessControlUnauthorizedAccount, account=who.address, neededRole=DEFAULT_ADMIN_ROLE):
        ccp.grantRole(VENUE_ROLE, who, sender=who)
    with ape.reverts(ccp.UnauthorisedVenue, caller=who.address):
        ccp.settle(fabricated(governed), sender=who)
    assert balances(governed) == before


def test_new_venue__refused_before_the_delay__settles_after(governed, chain):
    """A venue proposed to the CCP (here an account standing in for it): the proposal is public
    at once (CallScheduled), executing it early is refused, the 'venue' cannot settle; after the
    delay anyone executes it and the grant works (the delay is the only barrier)."""
    dep, ccp = governed.dep, governed.dep.system.ccp
    timelock, governor, rogue = dep.timelock, governed.holder("operator"), governed.holder("keeper")
    proposal = call_proposal(ccp, "grantRole", VENUE_ROLE, rogue)
    receipt = propose(timelock, proposal, governor)
    assert len(receipt.decode_logs(timelock.CallScheduled)) == 1
    before = balances(governed)
    with ape.reverts(timelock.TimelockUnexpectedOperationState):
        execute(timelock, proposal, rogue)
    with ape.reverts(ccp.UnauthorisedVenue):
        ccp.settle(fabricated(governed), sender=rogue)
    chain.pending_timestamp = ready_at(timelock, proposal) - 2
    chain.mine()
    with ape.reverts(timelock.TimelockUnexpectedOperationState):
        execute(timelock, proposal, rogue)
    assert balances(governed) == before
    wait_delay(timelock, proposal)
    execute(timelock, proposal, rogue)  # anyone may execute once ready
    assert ccp.hasRole(VENUE_ROLE, rogue)
    ccp.settle(fabricated(governed), sender=rogue)
    after = balances(governed)
    assert after[0] == before[0] - 10 * PRICE and after[1] == before[1] + 10 * PRICE


def test_proposals__only_the_governor_proposes(governed):
    dep = governed.dep
    for holder in ("risk", "keeper", "guardian", "default_manager"):
        who = governed.holder(holder)
        with ape.reverts(dep.timelock.AccessControlUnauthorizedAccount):
            propose_grant(dep.timelock, dep.system.ccp, VENUE_ROLE, who, who)


def test_register_system__operator_refused__timelock_after_delay(governed, chain):
    """A system account may move a suspended member's assets: registering one is the admin's."""
    dep, membership = governed.dep, governed.dep.system.membership
    op, candidate = governed.holder("operator"), governed.holder("keeper")
    with ape.reverts(membership.AccessControlUnauthorizedAccount, account=op.address, neededRole=DEFAULT_ADMIN_ROLE):
        membership.registerSystem(candidate, sender=op)
    proposal = call_proposal(membership, "registerSystem", candidate)
    propose(dep.timelock, proposal, op)
    with ape.reverts(dep.timelock.TimelockUnexpectedOperationState):
        execute(dep.timelock, proposal, op)
    wait_delay(dep.timelock, proposal)
    execute(dep.timelock, proposal, op)
    assert int(membership.memberOf(candidate).kind) == 4  # MemberKind.System


@pytest.mark.parametrize("method", ["setCloseOutMarket", "setDefaultHandler", "setLiquidationMarket"])
def test_ccp_markets_and_handler__operator_refused(governed, method):
    """The close-out market is approved for the CCP's units and the handler receives surpluses:
    setting either is the admin's (the timelock's), not the operator's."""
    ccp, op = governed.dep.system.ccp, governed.holder("operator")
    setup = ccp.closeOutSetup()
    with ape.reverts(ccp.AccessControlUnauthorizedAccount, account=op.address, neededRole=DEFAULT_ADMIN_ROLE):
        getattr(ccp, method)(op, sender=op)
    assert ccp.closeOutSetup() == setup


def test_set_estate__default_manager_refused(governed):
    """A closed default's leftovers go to the estate: naming it is the admin's."""
    fund, dm = governed.dep.risk.fund, governed.holder("default_manager")
    with ape.reverts(fund.AccessControlUnauthorizedAccount, account=dm.address, neededRole=DEFAULT_ADMIN_ROLE):
        fund.setEstate(governed.members[0], dm, sender=dm)


def test_role_grants__no_holder_can_grant__timelock_can(governed):
    """ISSUER_ROLE and SETTLEMENT_BANK_ROLE (and any other) only through the timelock."""
    s = governed.dep.system
    for contract, role_name in ((s.securities, "ISSUER_ROLE"), (s.cash, "SETTLEMENT_BANK_ROLE"),
                                (s.venue, "OPERATOR_ROLE"), (s.membership, "OPERATOR_ROLE")):
        role_id = getattr(contract, role_name)()
        for holder in HOLDERS:
            who = governed.holder(holder)
            with ape.reverts(contract.AccessControlUnauthorizedAccount):
                contract.grantRole(role_id, who, sender=who)
    assert OPERATOR_ROLE == s.venue.OPERATOR_ROLE()
