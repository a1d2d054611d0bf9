"""DLT-CSD securities: listing with reference data, issuance, redemption, halt, holder rules."""

from __future__ import annotations

import ape

from smartccp.chain.roles import ISSUER_ROLE, OPERATOR_ROLE
from smartccp.units import cash

BOND = 1


def test_list_security__stores_reference_data(securities, issuer):
    tx = securities.listSecurity("GOV30", b"XS0000000030", BOND, cash("0.001"), 1, 2_000_000_000, sender=issuer)
    sid = securities.securityCount()
    s = securities.security(sid)
    assert (s.issuer, s.tickSize, s.lotSize, s.kind, s.halted, s.maturity) == (
        issuer, cash("0.001"), 1, BOND, False, 2_000_000_000)
    assert s.symbol == "GOV30" and s.isin == b"XS0000000030"
    assert securities.tradingTerms(sid) == (cash("0.001"), 1, False)
    assert tx.decode_logs(securities.SecurityListed)[0].id == sid


def test_list_security__by_non_issuer__reverts(securities, member_a):
    count = securities.securityCount()
    with ape.reverts(securities.AccessControlUnauthorizedAccount, account=member_a, neededRole=ISSUER_ROLE):
        securities.listSecurity("X", b"\x00" * 12, 0, 1, 1, 0, sender=member_a)
    assert securities.securityCount() == count


def test_list_security__zero_tick__reverts(securities, issuer):
    with ape.reverts(securities.InvalidTerms, tickSize=0, lotSize=1):
        securities.listSecurity("X", b"\x00" * 12, 0, 0, 1, 0, sender=issuer)


def test_unknown_security__reverts(securities):
    with ape.reverts(securities.UnknownSecurity, id=999):
        securities.tradingTerms(999)


def test_issue__credits_and_counts_supply(securities, members, security_id, member_a, issuer):
    securities.issue(security_id, member_a, 50, sender=issuer)
    assert securities.balanceOf(member_a, security_id) == 10_050
    assert securities.totalSupply(security_id) == 40_050


def test_issue__by_other_account__reverts(securities, members, security_id, member_a, member_b):
    with ape.reverts(securities.NotIssuer, id=security_id, caller=member_b):
        securities.issue(security_id, member_a, 50, sender=member_b)


def test_issue__zero__reverts(securities, members, security_id, member_a, issuer):
    with ape.reverts(securities.ZeroAmount):
        securities.issue(security_id, member_a, 0, sender=issuer)


def test_issue__to_non_member__reverts(securities, members, security_id, outsider, issuer):
    with ape.reverts(securities.NotAdmitted, account=outsider):
        securities.issue(security_id, outsider, 1, sender=issuer)
    assert securities.balanceOf(outsider, security_id) == 0


def test_transfer__between_members__moves_units(securities, members, security_id, member_a, member_b):
    securities.safeTransferFrom(member_a, member_b, security_id, 100, b"", sender=member_a)
    assert securities.balanceOf(member_b, security_id) == 10_100


def test_transfer__to_non_member__reverts(securities, members, security_id, member_a, outsider):
    with ape.reverts(securities.NotAdmitted, account=outsider):
        securities.safeTransferFrom(member_a, outsider, security_id, 1, b"", sender=member_a)
    assert securities.balanceOf(member_a, security_id) == 10_000


def test_transfer__from_suspended__reverts(securities, membership, operator, members, security_id, member_a, member_b):
    membership.suspend(member_a, sender=operator)
    with ape.reverts(securities.MemberSuspended, account=member_a):
        securities.safeTransferFrom(member_a, member_b, security_id, 1, b"", sender=member_a)
    assert securities.balanceOf(member_a, security_id) == 10_000


def test_halt__stops_issuance_not_the_depository(securities, operator, members, security_id, member_a, member_b, issuer):
    tx = securities.setHalted(security_id, True, sender=operator)
    assert tx.decode_logs(securities.TradingHaltChanged)[0].halted
    supply = securities.totalSupply(security_id)
    with ape.reverts(securities.SecurityHalted, id=security_id):
        securities.issue(security_id, member_a, 1, sender=issuer)
    assert securities.totalSupply(security_id) == supply
    securities.safeTransferFrom(member_a, member_b, security_id, 1, b"", sender=member_a)  # settlement goes on
    securities.setHalted(security_id, False, sender=operator)
    securities.issue(security_id, member_a, 1, sender=issuer)


def test_halt__by_non_operator__reverts(securities, members, security_id, member_a):
    with ape.reverts(securities.AccessControlUnauthorizedAccount, account=member_a, neededRole=OPERATOR_ROLE):
        securities.setHalted(security_id, True, sender=member_a)


def test_halt__system_settlement_goes_on(securities, membership, operator, members, security_id, member_a, accounts):
    custodian = accounts[7]
    membership.registerSystem(custodian, sender=operator)
    securities.setApprovalForAll(custodian, True, sender=member_a)
    securities.setHalted(security_id, True, sender=operator)
    securities.safeTransferFrom(member_a, custodian, security_id, 10, b"", sender=custodian)
    assert securities.balanceOf(custodian, security_id) == 10


def test_redeem__by_issuer_with_approval__burns(securities, members, security_id, member_a, issuer):
    securities.setApprovalForAll(issuer, True, sender=member_a)
    securities.redeem(security_id, member_a, 100, sender=issuer)
    assert securities.balanceOf(member_a, security_id) == 9_900
    assert securities.totalSupply(security_id) == 39_900


def test_redeem__without_approval__reverts(securities, members, security_id, member_a, issuer):
    with ape.reverts(securities.NotApprovedToRedeem, holder=member_a, caller=issuer):
        securities.redeem(security_id, member_a, 100, sender=issuer)
    assert securities.balanceOf(member_a, security_id) == 10_000
