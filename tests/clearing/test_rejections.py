"""Every rejected path: the named error with its arguments, and nothing changed."""

from __future__ import annotations

import ape

from smartccp.chain.roles import DEFAULT_ADMIN_ROLE, OPERATOR_ROLE
from smartccp.clearing.ccp import VENUE_ROLE, Rules, set_rules, settle_instruction, warp_past
from smartccp.units import cash


def snapshot(ccp, venue, cycle, security_id, *accounts):
    return (
        ccp.cycleInfo(cycle),
        tuple(ccp.obligation(cycle, security_id, a) for a in accounts),
        tuple(ccp.prefunded(a) for a in accounts),
    )


def test_settle__unregistered_venue__reverts(ccp, trade, parties, outsider, venue, cycle, security_id):
    a, b, _, _ = parties
    before = snapshot(ccp, venue, cycle, security_id, a, b)
    with ape.reverts(ccp.UnauthorisedVenue, caller=outsider):
        trade(a, b, 10, cash(100), sender=outsider)
    assert snapshot(ccp, venue, cycle, security_id, a, b) == before


def test_settle__zero_quantity__reverts(ccp, trade, parties, venue, cycle, security_id):
    a, b, _, _ = parties
    before = snapshot(ccp, venue, cycle, security_id, a, b)
    with ape.reverts(ccp.ZeroQuantity, tradeId=1):
        trade(a, b, 0, cash(100))
    assert snapshot(ccp, venue, cycle, security_id, a, b) == before


def test_settle__zero_price__reverts(ccp, trade, parties, venue, cycle, security_id):
    a, b, _, _ = parties
    with ape.reverts(ccp.ZeroPrice, tradeId=1):
        trade(a, b, 10, 0)
    assert ccp.cycleInfo(cycle)[2] == 0  # no obligation booked


def test_settle__cash_not_quantity_times_price__reverts(ccp, trade, parties, venue, cycle, security_id):
    a, b, _, _ = parties
    before = snapshot(ccp, venue, cycle, security_id, a, b)
    with ape.reverts(ccp.CashAmountMismatch, tradeId=1, cashAmount=cash(999), expected=cash(1_000)):
        trade(a, b, 10, cash(100), cash_amount=cash(999))
    assert snapshot(ccp, venue, cycle, security_id, a, b) == before


def test_settle__self_trade__reverts(ccp, trade, parties, venue, cycle, security_id):
    a = parties[0]
    with ape.reverts(ccp.SelfTrade, tradeId=1, account=a):
        trade(a, a, 10, cash(100))
    assert ccp.cycleInfo(cycle)[2] == 0


def test_settle__zero_address__reverts(ccp, trade, parties, venue, cycle):
    with ape.reverts(ccp.ZeroAddress):
        trade(parties[0], "0x" + "00" * 20, 10, cash(100))
    assert ccp.cycleInfo(cycle)[2] == 0  # no obligation booked


def test_settle__security_not_cleared__reverts(ccp, trade, parties, venue, system, issuer, chain, cycle):
    a, b, _, _ = parties
    system.securities.listSecurity("NEW", b"XX0000000001", 0, 1, 1, 0, sender=issuer)
    sid = system.securities.securityCount()
    with ape.reverts(ccp.SecurityNotCleared, securityId=sid):
        trade(a, b, 10, cash(100), sid=sid, deadline=chain.pending_timestamp + 86_400)
    assert ccp.cycleInfo(cycle)[2] == 0  # no obligation booked


def test_settle__deadline_before_t_plus_lag__reverts(ccp, trade, parties, venue, chain, security_id, cycle):
    a, b, _, _ = parties
    today = chain.pending_timestamp // 86_400
    with ape.reverts(ccp.SettlementCycleOutOfRange, securityId=security_id, cycleId=today, earliest=today + 1,
                     latest=today + 30):
        trade(a, b, 10, cash(100), deadline=chain.pending_timestamp)  # T+0 for a T+1 security
    with ape.reverts(ccp.SettlementCycleOutOfRange, securityId=security_id, cycleId=today + 31,
                     earliest=today + 1, latest=today + 30):
        trade(a, b, 10, cash(100), deadline=(today + 31) * 86_400)
    assert ccp.cycleInfo(cycle)[2] == 0  # no obligation booked


def test_settle__quantity_beyond_packed_range__reverts(ccp, trade, parties, venue, cycle):
    a, b, _, _ = parties
    with ape.reverts(ccp.AmountTooLarge, quantity=2**111, cashAmount=2**111):
        trade(a, b, 2**111, 1)
    assert ccp.cycleInfo(cycle)[2] == 0  # no obligation booked


def test_settle_cycle__before_its_date_ended__reverts(ccp, trade, parties, keeper, cycle):
    a, b, _, _ = parties
    trade(a, b, 10, cash(100))
    settles_from = ccp.cycleInfo(cycle)[4]
    with ape.reverts(ccp.CycleNotDue, cycleId=cycle, settlesFrom=settles_from):
        ccp.settleCycle(cycle, 10, sender=keeper)
    assert ccp.cycleInfo(cycle)[:2] == (1, 0)


def test_settle_cycle__unknown_cycle__reverts(ccp, keeper):
    with ape.reverts(ccp.UnknownCycle, cycleId=12345):
        ccp.settleCycle(12345, 10, sender=keeper)


def test_settle_cycle__zero_batch__reverts(ccp, trade, parties, keeper, cycle):
    a, b, _, _ = parties
    trade(a, b, 10, cash(100))
    warp_past(ccp, cycle)
    with ape.reverts(ccp.ZeroBatch):
        ccp.settleCycle(cycle, 0, sender=keeper)
    assert ccp.cycleInfo(cycle)[:2] == (1, 0)


def test_prefund__zero_and_overdrawn_and_locked__revert(ccp, trade, parties, security_id):
    a, b, _, _ = parties
    with ape.reverts(ccp.ZeroAmount):
        ccp.prefundCash(0, sender=a)
    with ape.reverts(ccp.ZeroAmount):
        ccp.withdrawSecurities(security_id, 0, sender=a)
    ccp.prefundCash(cash(10), sender=a)
    with ape.reverts(ccp.InsufficientPrefund, account=a, available=cash(10), requested=cash(11)):
        ccp.withdrawCash(cash(11), sender=a)
    with ape.reverts(ccp.InsufficientPrefund, account=a, available=0, requested=1):
        ccp.withdrawSecurities(security_id, 1, sender=a)
    trade(a, b, 1, cash(1))
    with ape.reverts(ccp.PrefundLocked, account=a, openObligations=1):
        ccp.withdrawCash(cash(10), sender=a)
    assert ccp.prefunded(a) == (cash(10), 0, 1)


def test_unexpected_erc1155_transfer_to_ccp__refused(ccp, system, parties, security_id):
    a = parties[0]
    with ape.reverts(ccp.UnexpectedTransfer, operator=a):
        system.securities.safeTransferFrom(a, ccp, security_id, 1, b"", sender=a)
    assert system.securities.balanceOf(ccp, security_id) == 0


def test_operator_functions__by_non_operator__revert(ccp, outsider, security_id, venue, operator):
    setup, rules = ccp.closeOutSetup(), ccp.securityRules(security_id)
    with ape.reverts(ccp.AccessControlUnauthorizedAccount, account=outsider, neededRole=OPERATOR_ROLE):
        ccp.setSecurityRules(security_id, Rules().as_tuple(), sender=outsider)
    with ape.reverts(ccp.AccessControlUnauthorizedAccount, account=outsider, neededRole=DEFAULT_ADMIN_ROLE):
        ccp.setCloseOutMarket(outsider, sender=outsider)
    with ape.reverts(ccp.AccessControlUnauthorizedAccount, account=outsider, neededRole=DEFAULT_ADMIN_ROLE):
        ccp.setDefaultHandler(outsider, sender=outsider)
    with ape.reverts(ccp.InvalidRules, securityId=security_id, settlementLag=31, closeOutBandBps=0):
        set_rules(ccp, security_id, operator, Rules(settlement_lag=31))
    with ape.reverts(ccp.InvalidRules, securityId=security_id, settlementLag=1, closeOutBandBps=0):
        set_rules(ccp, security_id, operator, Rules(fail_rolls=31))
    assert (ccp.closeOutSetup(), ccp.securityRules(security_id)) == (setup, rules)
    assert not ccp.hasRole(VENUE_ROLE, outsider) and ccp.hasRole(VENUE_ROLE, venue)


def test_instruction_helper__matches_struct_order(security_id):
    s = settle_instruction(7, "0x" + "11" * 20, "0x" + "22" * 20, security_id, 3, 5, 99)
    assert s[0] == 7 and s[6:10] == (3, 5, 15, 99) and s[10] == 0
