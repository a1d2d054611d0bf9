"""Pseudonymous trading (issue #24): members and clients trade from stealth addresses the register
admits on its signed attestation, through the gate, the CCP and settlement as any account; an
outsider with public chain data names nobody; the CCP's and the regulator's keys reconstruct
every trade, and nobody else's key does; a default opens the pseudonym on chain. Every refusal is
named and changes nothing.

Cast: members A and B, client C of A (the suite's client_a). A trades from two pseudonyms (two
desks), B from one, C from one. The gas station that pays the pseudonyms' gas is nobody's member.
"""

from __future__ import annotations

import os

import ape
import pytest

from smartccp.chain.system import admit, approve_settlement, deploy_system, list_security
from smartccp.chain.system import fund as fund_holders
from smartccp.clearing.ccp import check_ccp_empty, run_cycle, warp_past
from smartccp.privacy import pseudonyms
from smartccp.privacy.linkage import ADDRESS_HEURISTICS, TRADE_HEURISTICS, link
from smartccp.privacy.records import Identity, RecipientKey, RecordNotForKey, SealedRecord, seal
from smartccp.privacy.regulator import identities, reconstruct
from smartccp.privacy.stealth import StealthKeys
from smartccp.risk.chain import deploy_risk, publish_prices, publish_scenarios
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY, MemberStatus, Side
from smartccp.units import cash

CCP_KEY, REGULATOR_KEY, OTHER_KEY = (RecipientKey.from_seed(s) for s in ("ccp", "regulator", "someone else"))
PRICE = cash(100)


@pytest.fixture(scope="module")
def market(operator, bank, issuer, member_a, member_b, member_c, client_a):
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    admit(system, operator, (member_a, member_b, member_c), [(client_a, member_a)])
    risk = deploy_risk(system, operator, resync=[member_a, member_b, member_c, client_a])
    system.securities.listSecurity("PSN", b"PSEUDO000001", 0, cash("0.01"), 1, 0, sender=issuer)
    sid = int(system.securities.securityCount())
    list_security(system, operator, sid, lag_days=1)
    publish_scenarios(risk.margin, {sid: [-1_500, -500, 500, 1_500] * 4}, operator)  # 16 scenarios
    publish_prices(risk.margin, {sid: PRICE}, operator)
    pseudonyms.set_record_keys(system, operator, CCP_KEY, REGULATOR_KEY)
    return system, risk, sid


def expiry() -> int:
    return ape.chain.pending_timestamp + 30 * DAY


def make(market, operator, gas_station, owner, clearing_member, label, *, salt=None):
    """A pseudonym of ``owner`` for ``label``, attested by the register (the operator)."""
    system = market[0]
    return pseudonyms.new_pseudonym(system, operator, keys=StealthKeys.from_seed(f"{owner.address}"), label=label,
                                 owner=owner.address, clearing_member=clearing_member.address,
                                 ccp=CCP_KEY.public, regulator=REGULATOR_KEY.public, expires_at=expiry(),
                                 gas_station=gas_station, salt=salt)


def fund(market, p, bank, issuer, *, units=0):
    """100,000.00 cash from the settlement bank, 50,000.00 of it as margin, ``units`` from the
    issuer; settlement approvals given with its own gas."""
    system, risk, sid = market
    fund_holders(system, [p.account], bank=bank, issuer=issuer, cash=cash(100_000),
                 units={sid: units} if units else None)
    approve_settlement(system, [p.account], risk.margin)
    risk.margin.depositCash(cash(50_000), sender=p.account)


def order(owner, sid, side, qty, price):
    return Order(owner=str(owner.address), securityId=sid, side=side, quantity=qty, price=price)


def test_pseudonyms__trades_through_gate_and_ccp__outsider_names_nobody__keys_reconstruct_every_trade(
        market, operator, bank, issuer, member_a, member_b, member_c, client_a, outsider):
    system, risk, sid = market
    venue = VenueClient(system.venue)
    start = ape.chain.blocks.head.number + 1
    a1 = make(market, operator, outsider, member_a, member_a, "desk-1")
    a2 = make(market, operator, outsider, member_a, member_a, "desk-2")
    b1 = make(market, operator, outsider, member_b, member_b, "day-1")
    c1 = make(market, operator, outsider, client_a, member_a, "day-1")
    for p, units in ((a1, 200), (a2, 0), (b1, 100), (c1, 0)):
        fund(market, p, bank, issuer, units=units)
    entry = system.membership.memberOf(a1.address)
    assert (int(entry.kind), int(entry.segregation), str(entry.clearingMember)) == \
        (2, 1, str(system.membership.pseudonymSponsor()))  # a participant, own account, under the sponsor
    # Margin: its own account, answering for itself (its failures are its own case, not the sponsor's).
    assert (str(risk.margin.accountOf(a1.address)[0]), str(risk.margin.accountOf(a1.address)[1])) == \
        (a1.address, a1.address)

    truth = []  # (buyer owner, buyer member, seller owner, seller member, quantity, price)
    for buyer, seller, qty, price in ((b1, a1, 100, cash(100)), (c1, b1, 30, cash("100.50")),
                                      (a2, a1, 50, cash(99))):
        venue.place(order(seller.account, sid, Side.SELL, qty, price), seller.account)
        venue.place(order(buyer.account, sid, Side.BUY, qty, price), buyer.account)
        truth.append((buyer.identity.owner, buyer.identity.clearing_member, seller.identity.owner,
                      seller.identity.clearing_member, qty, price))

    report = link(system, start)
    assert len(report.trades) == 3
    assert report.trade_share() == 0.0  # nobody named on either side of any trade
    assert {h: report.trade_share(h) for h in TRADE_HEURISTICS} == dict.fromkeys(TRADE_HEURISTICS, 0.0)
    assert report.addresses == {p.address for p in (a1, a2, b1, c1)}  # the outsider sees pseudonyms only
    assert {h: report.address_share(h) for h in ADDRESS_HEURISTICS} == dict.fromkeys(ADDRESS_HEURISTICS, 0.0)
    # The pseudonyms of one owner do not even share a tag: nothing on chain groups a1 with a2.
    assert system.membership.ownerTagOf(a1.address) != system.membership.ownerTagOf(a2.address)

    for key in (REGULATOR_KEY, CCP_KEY):
        seen = reconstruct(system, key, start)
        assert [(t.buyer.owner, t.buyer.clearing_member, t.seller.owner, t.seller.clearing_member, t.quantity,
                 t.price) for t in seen] == truth
        assert all(t.buyer.pseudonymous and t.seller.pseudonymous for t in seen)
    with pytest.raises(RecordNotForKey):
        identities(system, OTHER_KEY, start)

    # Settlement: the pseudonyms' own accounts pay and deliver; the CCP ends flat.
    cycles = sorted({int(log.cycleId) for log in system.ccp.TradeNovated.range(start, ape.chain.blocks.head.number + 1)})
    assert len(cycles) == 1
    cycle = cycles[0]
    units0 = {p.address: int(system.securities.balanceOf(p.account, sid)) for p in (a1, a2, b1, c1)}
    warp_past(system.ccp, cycle)
    assert run_cycle(system.ccp, cycle, member_c).failures == 0
    moved = {p.address: int(system.securities.balanceOf(p.account, sid)) - units0[p.address] for p in (a1, a2, b1, c1)}
    assert moved == {a1.address: -150, a2.address: 50, b1.address: 70, c1.address: 30}
    check_ccp_empty(system.ccp, system, [sid])


def _attested(market, operator, *, owner, member, attester=None, expires_at=None, keys=(CCP_KEY, REGULATOR_KEY),
              pseudonym=None):
    system = market[0]
    identity = Identity(pseudonym or ape.accounts.test_accounts.generate_test_account().address, str(member.address),
                        str(owner.address), os.urandom(32))
    record = seal(identity, keys[0].public, keys[1].public)
    a, sig = pseudonyms.attest(system, attester or operator, identity, record, expires_at or expiry())
    return identity, record, a, sig


@pytest.mark.parametrize("case", ["unattested", "replayed", "expired", "owner suspended", "wrong key",
                                  "record swapped", "record too short"])
def test_admit_pseudonym__bad_input__named_error_nothing_changed(market, operator, member_a, member_b, outsider, case):
    system = market[0]
    identity, record, a, sig = _attested(market, operator, owner=member_a, member=member_a)
    expected = {"unattested": "BadAttestation", "replayed": "AttestationUsed", "expired": "AttestationExpired",
                "owner suspended": "OwnerSuspended", "wrong key": "RecordKeyMismatch",
                "record swapped": "RecordNotAttested", "record too short": "RecordMalformed"}[case]
    if case == "unattested":
        identity, record, a, sig = _attested(market, operator, owner=member_a, member=member_a, attester=outsider)
    elif case == "replayed":  # the same attestation again, after its pseudonym was admitted and expelled
        pseudonyms.admit(system, a, record, sig, outsider)
        system.membership.expel(identity.pseudonym, sender=operator)
    elif case == "expired":
        identity, record, a, sig = _attested(market, operator, owner=member_a, member=member_a,
                                             expires_at=ape.chain.pending_timestamp - 1)
    elif case == "owner suspended":
        system.membership.suspendOwner(identity.tag, sender=operator)
    elif case == "wrong key":  # sealed to someone else's key instead of the regulator's, and attested so
        identity, record, a, sig = _attested(market, operator, owner=member_a, member=member_a,
                                             keys=(CCP_KEY, OTHER_KEY))
    elif case == "record swapped":  # a valid attestation with another record than the attested one
        record = SealedRecord(record.ccp_key_id, record.regulator_key_id, record.for_ccp, record.for_ccp)
    elif case == "record too short":
        record = SealedRecord(record.ccp_key_id, record.regulator_key_id, record.for_ccp, b"\x04" * 97)
        a, sig = pseudonyms.attest(system, operator, identity, record, a.expiresAt)
    before = (system.membership.memberOf(identity.pseudonym), bytes(system.membership.ownerTagOf(identity.pseudonym)))
    with ape.reverts(getattr(system.membership, expected)):
        pseudonyms.admit(system, a, record, sig, outsider)
    assert (system.membership.memberOf(identity.pseudonym), bytes(system.membership.ownerTagOf(identity.pseudonym))) \
        == before
    if case == "owner suspended":  # reinstated, the same attestation admits
        system.membership.reinstateOwner(identity.tag, sender=operator)
        pseudonyms.admit(system, a, record, sig, outsider)
        assert int(system.membership.memberOf(identity.pseudonym).status) == 1


def test_pseudonym__unattested_address__cannot_trade_or_hold(market, member_a, outsider):
    system, risk, sid = market
    stranger = ape.accounts.test_accounts.generate_test_account()
    with ape.reverts(system.venue.NotAdmitted, account=stranger.address):
        VenueClient(system.venue).place(order(stranger, sid, Side.BUY, 10, PRICE), stranger, sender=outsider)
    with ape.reverts(system.cash.NotAdmitted, account=stranger.address):
        system.cash.transfer(stranger, 1, sender=member_a)


def test_pseudonym__default_opens_it__then_a_client_of_its_member(market, operator, bank, issuer, member_b,
                                                                  outsider):
    system, risk, sid = market
    p = make(market, operator, outsider, member_b, member_b, "to-reveal")
    with ape.reverts(system.membership.PseudonymNotOpened, pseudonym=p.address):  # not portable while unopened
        system.membership.portClient(p.address, member_b, sender=operator)
    wrong = Identity(p.identity.pseudonym, p.identity.clearing_member, p.identity.owner, os.urandom(32))
    with ape.reverts(system.membership.RevealMismatch, pseudonym=p.address):
        pseudonyms.reveal(system, operator, wrong)
    with ape.reverts(system.membership.AccessControlUnauthorizedAccount):
        pseudonyms.reveal(system, outsider, p.identity)
    with ape.reverts(system.membership.NotPseudonym):
        system.membership.revealPseudonym(member_b, member_b, member_b, b"\x00" * 32, sender=operator)
    assert str(system.membership.memberOf(p.address).clearingMember) == str(system.membership.pseudonymSponsor())

    receipt = pseudonyms.reveal(system, operator, p.identity)
    assert [(ev.pseudonym, ev.clearingMember, ev.owner) for ev in receipt.decode_logs(system.membership.PseudonymRevealed)] \
        == [(p.address, member_b.address, member_b.address)]
    assert str(system.membership.memberOf(p.address).clearingMember) == member_b.address
    assert (str(risk.margin.accountOf(p.address)[0]), str(risk.margin.accountOf(p.address)[1])) == \
        (p.address, member_b.address)  # still its own account, now under B
    with ape.reverts(system.membership.NotPseudonym):  # opened once
        pseudonyms.reveal(system, operator, p.identity)


def test_pseudonym__fails_to_pay__its_own_case__the_sponsor_and_other_pseudonyms_unaffected(
        market, operator, bank, issuer, member_a, member_b, member_c, outsider):
    system, risk, sid = market
    venue = VenueClient(system.venue)
    seller = make(market, operator, outsider, member_a, member_a, "fail-seller")
    buyer = make(market, operator, outsider, member_b, member_b, "fail-buyer")
    other = make(market, operator, outsider, member_b, member_b, "fail-other")
    for p, units in ((seller, 200), (buyer, 0), (other, 0)):
        fund(market, p, bank, issuer, units=units)
    start = ape.chain.blocks.head.number + 1
    venue.place(order(seller.account, sid, Side.SELL, 100, PRICE), seller.account)
    venue.place(order(buyer.account, sid, Side.BUY, 100, PRICE), buyer.account)
    system.cash.approve(system.ccp, 0, sender=buyer.account)  # the buyer stops paying
    cycle = max(int(log.cycleId) for log in system.ccp.TradeNovated.range(start, ape.chain.blocks.head.number + 1))
    warp_past(system.ccp, cycle)
    report = run_cycle(system.ccp, cycle, member_c)
    assert report.failures >= 1
    charged = [(str(ev.account), str(ev.clearingMember)) for ev in
               system.ccp.ShortfallCharged.range(start, ape.chain.blocks.head.number + 1)]
    assert charged and set(charged) == {(buyer.address, buyer.address)}  # its own case, not the sponsor's
    assert int(risk.fund.defaultOf(buyer.address)[0]) != 0
    assert int(risk.fund.defaultOf(system.membership.pseudonymSponsor())[0]) == 0
    assert system.membership.isActive(system.membership.pseudonymSponsor())
    assert int(system.membership.memberOf(buyer.address).status) == 2  # the defaulter alone is suspended
    # Every other pseudonym trades on.
    receipts = venue.cross(seller.account, other.account, sid, 10, PRICE)
    assert [int(ev.quantity) for ev in receipts[1].decode_logs(system.venue.Traded)] == [10]


def test_pseudonyms__owner_defaults__register_stops_and_opens_every_one(market, operator, bank, issuer, member_a,
                                                                        member_c, outsider):
    system, risk, sid = market
    live = [make(market, operator, outsider, member_c, member_c, f"stop-{i}") for i in range(2)]
    fund(market, live[0], bank, issuer, units=10)
    in_flight, record, a, sig = _attested(market, operator, owner=member_c, member=member_c)  # signed, not yet used
    risk.fund.declareDefault(member_c, sender=operator)  # the default manager declares member_c
    assert not system.membership.isActive(member_c)

    pseudonyms.stop_owner(system, operator, [p.identity for p in live] + [in_flight])

    for p in live:
        entry = system.membership.memberOf(p.address)
        assert (int(entry.status), str(entry.clearingMember)) == (MemberStatus.SUSPENDED, member_c.address)
        assert str(risk.margin.accountOf(p.address)[1]) == member_c.address  # its account now under member_c
    with ape.reverts(system.membership.OwnerSuspended):  # the attestation in flight admits nobody
        pseudonyms.admit(system, a, record, sig, outsider)
    with ape.reverts(system.venue.MemberSuspended, account=live[0].address):
        VenueClient(system.venue).place(order(live[0].account, sid, Side.SELL, 10, PRICE), live[0].account)
    assert pseudonyms.stop_owner(system, operator, [p.identity for p in live] + [in_flight]) == []  # done once


def test_linkage__owner_pays_out_an_amount_its_pseudonym_then_receives__amount_match_guesses_the_owner(
        market, operator, bank, issuer, member_a, member_b, outsider):
    """The statistical channel no contract closes: the same odd amount leaves member_a (to its
    bank) and, two blocks later, reaches its new pseudonym from the bank."""
    system, risk, sid = market
    start = ape.chain.blocks.head.number + 1
    odd = cash("73219.17")
    system.cash.issue(member_a, odd, sender=bank)
    system.cash.transfer(bank, odd, sender=member_a)  # member_a pays its bank...
    p = make(market, operator, outsider, member_a, member_a, "amount-1")
    system.cash.issue(p.account, odd, sender=bank)  # ...which funds the pseudonym with the same amount
    q = make(market, operator, outsider, member_b, member_b, "amount-2")
    fund(market, q, bank, issuer)
    system.securities.issue(sid, p.account, 10, sender=issuer)
    approve_settlement(system, [p.account], risk.margin)
    risk.margin.depositCash(cash(20_000), sender=p.account)
    VenueClient(system.venue).cross(p.account, q.account, sid, 10, PRICE)

    report = link(system, start)
    assert report.owners[p.address] == {"amount match": member_a.address}
    assert not report.owners[q.address]  # a round amount nobody paid out: no guess
    assert report.trade_share() == 0.0 and report.address_share() == 0.5


def test_record_keys__rotated__old_records_open_with_the_old_key__the_tool_takes_both(market, operator, member_a,
                                                                                      outsider):
    system = market[0]
    start = ape.chain.blocks.head.number + 1
    before = make(market, operator, outsider, member_a, member_a, "rotate-1")
    new_regulator = RecipientKey.from_seed("regulator, next year")
    pseudonyms.set_record_keys(system, operator, CCP_KEY, new_regulator)
    with ape.reverts(system.membership.RecordKeyMismatch):  # sealed to the old key: refused now
        make(market, operator, outsider, member_a, member_a, "rotate-2")
    after = pseudonyms.new_pseudonym(system, operator, keys=StealthKeys.from_seed("rotate"), label="rotate-3",
                                     owner=member_a.address, clearing_member=member_a.address, ccp=CCP_KEY.public,
                                     regulator=new_regulator.public, expires_at=expiry(), gas_station=outsider)
    with pytest.raises(RecordNotForKey):  # the new key alone cannot open the record sealed before
        identities(system, new_regulator, start)
    opened = identities(system, [new_regulator, REGULATOR_KEY], start)
    assert {a: i.owner for a, i in opened.items()} == {before.address: member_a.address, after.address: member_a.address}
