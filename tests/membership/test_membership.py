"""Membership register: admission, KYC, suspension, reinstatement, expulsion, porting, roles."""

from __future__ import annotations

import ape

from smartccp.chain.roles import DEFAULT_MANAGER_ROLE, OPERATOR_ROLE
from smartccp.chain.system import kyc_expiry

NONE, CLEARING, PARTICIPANT, INSTITUTION, SYSTEM = range(5)
ACTIVE, SUSPENDED, EXPELLED = 1, 2, 3


def test_admit_clearing_member__records_entry_and_syncs_both_ledgers(system, operator, accounts):
    newcomer = accounts[8]
    expiry = kyc_expiry()
    tx = system.membership.admitClearingMember(newcomer, expiry, sender=operator)
    entry = system.membership.memberOf(newcomer)
    assert (entry.kind, entry.status, entry.kycExpiry, entry.clearingMember) == (CLEARING, ACTIVE, expiry, newcomer)
    assert system.cash.holderOf(newcomer) == entry
    assert system.securities.holderOf(newcomer) == entry
    assert system.membership.clearingMemberOf(newcomer) == newcomer
    events = tx.decode_logs(system.membership.MemberAdmitted)
    assert len(events) == 1 and events[0].account == newcomer


def test_admit_participant__links_to_clearing_member(system, members, client_a, member_a):
    assert system.membership.clearingMemberOf(client_a) == member_a
    assert system.membership.memberOf(client_a).kind == PARTICIPANT


def test_admit_participant__under_non_clearing_member__reverts(system, operator, members, client_a, outsider):
    with ape.reverts(system.membership.WrongMemberKind):
        system.membership.admitParticipant(outsider, client_a, kyc_expiry(), 1, sender=operator)
    assert system.membership.memberOf(outsider).status == NONE


def test_admit_participant__under_unknown_clearing_member__reverts(system, operator, outsider, client_a):
    with ape.reverts(system.membership.NotAdmitted, account=outsider):
        system.membership.admitParticipant(client_a, outsider, kyc_expiry(), 1, sender=operator)


def test_admit__twice__reverts(system, operator, members, member_a):
    before = system.membership.memberOf(member_a)
    with ape.reverts(system.membership.AlreadyAdmitted, account=member_a):
        system.membership.admitClearingMember(member_a, kyc_expiry(), sender=operator)
    assert system.membership.memberOf(member_a) == before


def test_admit__expiry_in_past__reverts(system, operator, outsider, chain):
    with ape.reverts(system.membership.KycExpiryInPast):
        system.membership.admitClearingMember(outsider, chain.pending_timestamp - 1, sender=operator)


def test_admit__zero_address__reverts(system, operator):
    with ape.reverts(system.membership.ZeroAddress):
        system.membership.admitClearingMember("0x" + "00" * 20, kyc_expiry(), sender=operator)


def test_admit__by_non_operator__reverts(system, member_a, outsider):
    with ape.reverts(system.membership.AccessControlUnauthorizedAccount, account=member_a, neededRole=OPERATOR_ROLE):
        system.membership.admitClearingMember(outsider, kyc_expiry(), sender=member_a)
    assert system.membership.memberOf(outsider).status == NONE


def test_suspend_then_reinstate__round_trip(system, operator, members, member_a):
    system.membership.suspend(member_a, sender=operator)
    assert system.membership.memberOf(member_a).status == SUSPENDED
    assert system.cash.holderOf(member_a).status == SUSPENDED
    assert not system.membership.isActive(member_a)
    with ape.reverts(system.membership.MemberSuspended, account=member_a):
        system.membership.checkActive(member_a)
    system.membership.reinstate(member_a, sender=operator)
    assert system.membership.isActive(member_a)


def test_suspend__by_non_default_manager__reverts(system, members, member_a, member_b):
    with ape.reverts(system.membership.AccessControlUnauthorizedAccount, account=member_b, neededRole=DEFAULT_MANAGER_ROLE):
        system.membership.suspend(member_a, sender=member_b)
    assert system.membership.isActive(member_a)


def test_reinstate__active_member__reverts(system, operator, members, member_a):
    with ape.reverts(system.membership.InvalidStatusTransition):
        system.membership.reinstate(member_a, sender=operator)


def test_expel__is_final(system, operator, members, member_a):
    system.membership.expel(member_a, sender=operator)
    assert system.membership.memberOf(member_a).status == EXPELLED
    with ape.reverts(system.membership.InvalidStatusTransition):
        system.membership.reinstate(member_a, sender=operator)
    with ape.reverts(system.membership.MemberExpelled, account=member_a):
        system.membership.renewKyc(member_a, kyc_expiry(), sender=operator)


def test_kyc__expires_with_time_and_renewal_restores(system, operator, members, member_a, chain):
    expiry = system.membership.memberOf(member_a).kycExpiry
    chain.pending_timestamp = expiry + 1
    chain.mine()
    assert not system.membership.isActive(member_a)
    with ape.reverts(system.membership.KycExpired, account=member_a, expiredAt=expiry):
        system.membership.checkActive(member_a)
    system.membership.renewKyc(member_a, kyc_expiry(), sender=operator)
    assert system.membership.isActive(member_a)


def test_port_client__moves_to_new_clearing_member(system, operator, members, client_a, member_a, member_b):
    system.membership.acceptPort(client_a, True, sender=member_b)  # member_b agrees to take client_a
    assert system.membership.portAccepted(client_a, member_b)
    tx = system.membership.portClient(client_a, member_b, sender=operator)
    assert system.membership.clearingMemberOf(client_a) == member_b
    assert system.cash.holderOf(client_a).clearingMember == member_b
    ev = tx.decode_logs(system.membership.ClientPorted)[0]
    assert (ev.client, ev.fromClearingMember, ev.toClearingMember) == (client_a, member_a, member_b)
    assert not system.membership.portAccepted(client_a, member_b)  # the consent was used up


def test_port_client__member_did_not_accept__reverts_and_changes_nothing(
    system, operator, members, client_a, member_a, member_b
):
    with ape.reverts(system.membership.PortNotAccepted, client=client_a, toClearingMember=member_b):
        system.membership.portClient(client_a, member_b, sender=operator)
    system.membership.acceptPort(client_a, True, sender=member_b)
    system.membership.acceptPort(client_a, False, sender=member_b)  # withdrawn
    with ape.reverts(system.membership.PortNotAccepted, client=client_a, toClearingMember=member_b):
        system.membership.portClient(client_a, member_b, sender=operator)
    assert system.membership.clearingMemberOf(client_a) == member_a
    assert system.cash.holderOf(client_a).clearingMember == member_a


def test_port_client__backup_accepts_all_clients_of_a_member__any_of_them_ported(
    system, operator, members, client_a, member_a, member_b
):
    tx = system.membership.acceptPortsFrom(member_a, True, sender=member_b)
    [ev] = tx.decode_logs(system.membership.PortConsentFrom)
    assert (ev.clearingMember, ev.fromClearingMember, ev.accepted) == (member_b, member_a, True)
    assert system.membership.portAccepted(client_a, member_b)
    system.membership.portClient(client_a, member_b, sender=operator)
    assert system.membership.clearingMemberOf(client_a) == member_b


def test_accept_port__not_an_active_clearing_member__reverts(system, operator, members, client_a, member_a, member_b):
    with ape.reverts(system.membership.WrongMemberKind):
        system.membership.acceptPort(member_a, True, sender=client_a)
    system.membership.suspend(member_b, sender=operator)
    with ape.reverts(system.membership.MemberSuspended, account=member_b):
        system.membership.acceptPortsFrom(member_a, True, sender=member_b)


def test_port_client__to_suspended_member__reverts(system, operator, members, client_a, member_a, member_b):
    system.membership.suspend(member_b, sender=operator)
    with ape.reverts(system.membership.MemberSuspended, account=member_b):
        system.membership.portClient(client_a, member_b, sender=operator)
    assert system.membership.clearingMemberOf(client_a) == member_a


def test_port_client__clearing_member__reverts(system, operator, members, member_a, member_b):
    with ape.reverts(system.membership.WrongMemberKind):
        system.membership.portClient(member_a, member_b, sender=operator)


def test_ledger__sync_from_anyone_but_register__reverts(system, member_a, outsider):
    with ape.reverts(system.cash.OnlyMembership, caller=member_a):
        system.cash.syncHolder(outsider, (CLEARING, ACTIVE, 2**63, outsider, 0), sender=member_a)
    assert system.cash.holderOf(outsider).status == NONE


def test_add_subscriber__bounded(system, operator):
    room = system.membership.MAX_SUBSCRIBERS() - len(system.membership.subscribers())
    for i in range(room):
        system.membership.addSubscriber(f"0x{i + 1:040x}", sender=operator)
    with ape.reverts(system.membership.TooManySubscribers, max=8):
        system.membership.addSubscriber(f"0x{99:040x}", sender=operator)
