"""DLT-PS cash: issuance, redemption, and transfers restricted to admitted, active holders."""

from __future__ import annotations

import ape

from smartccp.chain.roles import SETTLEMENT_BANK_ROLE
from smartccp.units import cash


def balances(token, *holders):
    return [token.balanceOf(h) for h in holders]


def test_decimals__six(cash_token):
    assert cash_token.decimals() == 6


def test_issue__credits_holder_and_supply(cash_token, members, member_a, bank):
    supply = cash_token.totalSupply()
    tx = cash_token.issue(member_a, cash(5), sender=bank)
    assert cash_token.balanceOf(member_a) == cash(1_000_005)
    assert cash_token.totalSupply() == supply + cash(5)
    assert tx.decode_logs(cash_token.Issued)[0].amount == cash(5)


def test_issue__to_non_member__reverts(cash_token, bank, outsider):
    with ape.reverts(cash_token.NotAdmitted, account=outsider):
        cash_token.issue(outsider, cash(1), sender=bank)
    assert cash_token.balanceOf(outsider) == 0


def test_issue__zero__reverts(cash_token, members, member_a, bank):
    with ape.reverts(cash_token.ZeroAmount):
        cash_token.issue(member_a, 0, sender=bank)


def test_issue__by_non_bank__reverts(cash_token, members, member_a):
    supply = cash_token.totalSupply()
    with ape.reverts(cash_token.AccessControlUnauthorizedAccount, account=member_a, neededRole=SETTLEMENT_BANK_ROLE):
        cash_token.issue(member_a, cash(1), sender=member_a)
    assert cash_token.totalSupply() == supply


def test_transfer__between_active_members__moves_cash(cash_token, members, member_a, member_b):
    cash_token.transfer(member_b, cash(10), sender=member_a)
    assert balances(cash_token, member_a, member_b) == [cash(999_990), cash(1_000_010)]


def test_transfer__to_non_member__reverts_and_changes_nothing(cash_token, members, member_a, outsider):
    before = balances(cash_token, member_a, outsider)
    with ape.reverts(cash_token.NotAdmitted, account=outsider):
        cash_token.transfer(outsider, cash(1), sender=member_a)
    assert balances(cash_token, member_a, outsider) == before


def test_transfer__from_suspended_member__reverts(cash_token, membership, operator, members, member_a, member_b):
    membership.suspend(member_a, sender=operator)
    before = balances(cash_token, member_a, member_b)
    with ape.reverts(cash_token.MemberSuspended, account=member_a):
        cash_token.transfer(member_b, cash(1), sender=member_a)
    assert balances(cash_token, member_a, member_b) == before


def test_transfer__to_suspended_member__reverts(cash_token, membership, operator, members, member_a, member_b):
    membership.suspend(member_b, sender=operator)
    with ape.reverts(cash_token.MemberSuspended, account=member_b):
        cash_token.transfer(member_b, cash(1), sender=member_a)


def test_transfer__to_expelled_member__reverts(cash_token, membership, operator, members, member_a, member_b):
    membership.expel(member_b, sender=operator)
    before = balances(cash_token, member_a, member_b)
    with ape.reverts(cash_token.MemberExpelled, account=member_b):
        cash_token.transfer(member_b, cash(1), sender=member_a)
    assert balances(cash_token, member_a, member_b) == before


def test_transfer__kyc_expired__reverts(cash_token, membership, members, member_a, member_b, chain):
    expiry = membership.memberOf(member_b).kycExpiry
    chain.pending_timestamp = expiry + 1
    before = balances(cash_token, member_a, member_b)
    with ape.reverts(cash_token.KycExpired, account=member_b, expiredAt=expiry):
        cash_token.transfer(member_b, cash(1), sender=member_a)
    assert balances(cash_token, member_a, member_b) == before


def test_transfer_from__by_ordinary_spender_of_suspended_owner__reverts(
    cash_token, membership, operator, members, member_a, member_b
):
    cash_token.approve(member_b, cash(5), sender=member_a)
    membership.suspend(member_a, sender=operator)
    with ape.reverts(cash_token.MemberSuspended, account=member_a):
        cash_token.transferFrom(member_a, member_b, cash(5), sender=member_b)


def test_transfer_from__by_system_contract_of_suspended_owner__succeeds(
    cash_token, membership, operator, members, member_a, member_b, accounts
):
    custodian = accounts[7]  # stands in for a SmartCCP contract (the CCP closing out a defaulter)
    membership.registerSystem(custodian, sender=operator)
    cash_token.approve(custodian, cash(5), sender=member_a)
    membership.suspend(member_a, sender=operator)
    cash_token.transferFrom(member_a, custodian, cash(5), sender=custodian)
    assert cash_token.balanceOf(custodian) == cash(5)


def test_redeem__with_allowance__burns(cash_token, members, member_a, bank):
    supply = cash_token.totalSupply()
    cash_token.approve(bank, cash(100), sender=member_a)
    tx = cash_token.redeem(member_a, cash(100), sender=bank)
    assert cash_token.balanceOf(member_a) == cash(999_900)
    assert cash_token.totalSupply() == supply - cash(100)
    assert tx.decode_logs(cash_token.Redeemed)[0].amount == cash(100)


def test_redeem__without_allowance__reverts(cash_token, members, member_a, bank):
    before = balances(cash_token, member_a)
    with ape.reverts(cash_token.ERC20InsufficientAllowance):
        cash_token.redeem(member_a, cash(1), sender=bank)
    assert balances(cash_token, member_a) == before


def test_redeem__zero__reverts(cash_token, members, member_a, bank):
    with ape.reverts(cash_token.ZeroAmount):
        cash_token.redeem(member_a, 0, sender=bank)
