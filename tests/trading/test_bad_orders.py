"""Every refused order: a named custom error, and nothing changes (book, nonce, instructions)."""

from __future__ import annotations

import ape
import pytest

from smartccp.trading.orders import Domain, sign_order
from smartccp.trading.venue import OrderId
from smartccp.types import ZERO_ADDRESS, OrderType, Route, Side, TimeInForce, TradingPhase
from smartccp.units import cash

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


@pytest.fixture
def unchanged(venue, client, sink, market):
    """Call with an order after the refusal: asserts book, instructions and its nonce unchanged."""
    before = (client.book(market), sink.count())

    def check(order=None):
        assert (client.book(market), sink.count()) == before
        if order is not None and order.nonce is not None:
            assert not venue.nonceUsed(order.owner, order.nonce)

    return check


@pytest.fixture
def resting(place, member_a, market):
    """An offer of 100 at 10.00 by member_a, so refusals have something to leave alone."""
    return place(member_a, Side.SELL, 100, cash("10.00"))


def submit(venue, order, signature, sender, max_makers=64):
    return venue.placeOrder(order.as_tuple(), signature, max_makers, sender=sender)


def test_signature__garbage__reverts(venue, client, make_order, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.ECDSAInvalidSignature):
        submit(venue, order, b"\x01" * 65, member_b)
    unchanged(order)


@pytest.mark.parametrize("length", [0, 63, 66])
def test_signature__wrong_length__reverts(venue, make_order, member_b, resting, unchanged, length):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.ECDSAInvalidSignatureLength, length=length):
        submit(venue, order, b"\x01" * length, member_b)
    unchanged(order)


@pytest.mark.parametrize("form", ["full", "compact"])
def test_signature__both_forms__accepted(venue, client, make_order, member_b, resting, form):
    """65 bytes (r, s, v) and the 64-byte EIP-2098 form (r, vs) of one signature both place."""
    order = make_order(member_b, Side.BUY, 10, cash("9.00"), nonce=1)
    sig = client.sign(order, member_b) if form == "full" else client.signature(order, member_b)
    assert len(sig) == (65 if form == "full" else 64)
    r = submit(venue, order, sig, member_b)
    assert client.resting_id(r) != 0
    assert venue.nonceUsed(order.owner, 1)


def test_signature__compact_other_parity__reverts(venue, client, make_order, member_b, resting, unchanged):
    """Flipping the parity bit of vs recovers another key: refused as not the owner's."""
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    sig = client.signature(order, member_b)
    flipped = sig[:32] + bytes([sig[32] ^ 0x80]) + sig[33:]
    with ape.reverts(venue.SignerNotOwner):
        submit(venue, order, flipped, member_b)
    unchanged(order)


def test_signature__compact_high_s__reverts(venue, client, make_order, member_b, resting, unchanged):
    """A compact signature whose s (vs without its top bit) is in the upper half is refused."""
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    sig = client.signature(order, member_b)
    high_s = (SECP256K1_N // 2 + 1).to_bytes(32, "big")  # below 2^255: the parity bit stays 0
    with ape.reverts(venue.ECDSAInvalidSignatureS):
        submit(venue, order, sig[:32] + high_s, member_b)
    unchanged(order)


@pytest.mark.parametrize("wallets", ["zero", "owner"])
def test_wallets__zero_or_the_owner__accepted(venue, client, make_order, member_b, resting, wallets):
    """Zero means the owner's own account; the owner's address written out is the same."""
    who = str(member_b.address) if wallets == "owner" else ZERO_ADDRESS
    order = make_order(member_b, Side.BUY, 10, cash("9.00"), nonce=1, cashWallet=who, securitiesWallet=who)
    assert client.resting_id(submit(venue, order, client.signature(order, member_b), member_b)) != 0


def test_signature__malleated_high_s__reverts(venue, client, make_order, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    sig = client.sign(order, member_b)
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    malleated = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])  # 27 <-> 28
    with ape.reverts(venue.ECDSAInvalidSignatureS):
        submit(venue, order, malleated, member_b)
    unchanged(order)


def test_signer_not_owner__reverts(venue, client, make_order, member_a, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.SignerNotOwner, signer=member_a, owner=member_b):
        submit(venue, order, client.sign(order, member_a), member_a)
    unchanged(order)


def test_signed_for_another_venue__reverts(venue, client, make_order, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    other = Domain(client.domain.name, client.domain.chain_id, "0x" + "22" * 20)
    with ape.reverts(venue.SignerNotOwner):
        submit(venue, order, sign_order(order, other, member_b), member_b)
    unchanged(order)


def test_signed_for_another_chain__reverts(venue, client, make_order, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    other = Domain(client.domain.name, 1, client.domain.verifying_contract)
    with ape.reverts(venue.SignerNotOwner):
        submit(venue, order, sign_order(order, other, member_b), member_b)
    unchanged(order)


def test_replay__same_order_twice__reverts(venue, client, make_order, member_a, member_b, resting):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    sig = client.sign(order, member_b)
    submit(venue, order, sig, member_b)
    book = client.book(order.securityId)
    with ape.reverts(venue.NonceUsed, owner=member_b, nonce=1):
        submit(venue, order, sig, member_a)  # anyone may relay: still refused
    assert client.book(order.securityId) == book


def test_invalidated_nonce__reverts(venue, client, make_order, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=9)
    venue.invalidateNonce(9, sender=member_b)
    with ape.reverts(venue.NonceUsed, owner=member_b, nonce=9):
        client.place(order, member_b)
    unchanged()


def test_stale_counter__reverts(venue, client, make_order, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    venue.cancelAll(sender=member_b)
    with ape.reverts(venue.StaleCounter, owner=member_b, counter=0, current=1):
        client.place(order, member_b)
    unchanged(order)


def test_expired__reverts(venue, client, make_order, member_b, chain, resting, unchanged):
    expiry = chain.pending_timestamp - 1
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1, timeInForce=TimeInForce.GTD, expiry=expiry)
    with ape.reverts(venue.OrderExpired, expiry=expiry):
        client.place(order, member_b)
    unchanged(order)


def test_gtd_without_expiry__reverts(venue, client, make_order, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1, timeInForce=TimeInForce.GTD)
    with ape.reverts(venue.MissingExpiry):
        client.place(order, member_b)
    unchanged(order)


@pytest.mark.parametrize(
    "fields, error, args",
    [
        ({"quantity": 0}, "ZeroQuantity", {}),
        ({"price": 0}, "ZeroPrice", {}),
        ({"price": cash("10.005")}, "OffTick", {"price": cash("10.005"), "tickSize": cash("0.01")}),
        ({"quantity": 15}, "OffLot", {"quantity": 15, "lotSize": 10}),
        ({"price": cash("0.01") * 2**24}, "PriceOutOfRange", {}),
        ({"quantity": 2**40 + 10 - (2**40 % 10)}, "QuantityTooLarge", {}),
        ({"orderType": OrderType.STOP, "triggerPrice": 0}, "ZeroPrice", {}),
        ({"orderType": OrderType.ICEBERG, "displayQuantity": 0}, "InvalidDisplayQuantity", {}),
        ({"orderType": OrderType.ICEBERG, "displayQuantity": 15}, "InvalidDisplayQuantity", {}),
        ({"cashWallet": "0x" + "33" * 20}, "WalletNotOwner", {}),
        ({"securitiesWallet": "0x" + "33" * 20}, "WalletNotOwner", {}),
    ],
)
def test_bad_fields__revert(venue, make_order, member_b, resting, unchanged, fields, error, args):
    base = {"quantity": 20, "price": cash("10.00"), **fields}
    order = make_order(member_b, Side.BUY, base.pop("quantity"), base.pop("price"), nonce=1, **base)
    sig = sign_order(order, venue_domain(venue), member_b)
    with ape.reverts(getattr(venue, error), **args):
        submit(venue, order, sig, member_b)
    unchanged(order)


def venue_domain(venue):
    from smartccp.trading.venue import VenueClient

    return VenueClient(venue).domain


def test_too_many_makers__reverts(venue, client, make_order, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.TooManyMakers, maxMakers=65, max=64):
        submit(venue, order, client.sign(order, member_b), member_b, max_makers=65)
    unchanged(order)


def test_halted_security__reverts(venue, client, make_order, securities, operator, member_b, resting, unchanged):
    securities.setHalted(OrderId.parse(resting.decode_logs(venue.OrderRested)[0].orderId).security_id, True, sender=operator)
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.SecurityHalted, id=order.securityId):
        client.place(order, member_b)
    unchanged(order)


def test_unlisted_security__reverts(venue, client, make_order, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1).but(securityId=99)
    with ape.reverts(venue.NotListed, securityId=99):
        client.place(order, member_b)
    unchanged(order)


def test_closed_market__reverts(venue, client, make_order, operator, member_b, market, resting, unchanged):
    venue.setPhase(market, TradingPhase.CLOSED, sender=operator)
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.WrongPhase):
        client.place(order, member_b)
    unchanged(order)


def test_non_member__reverts(venue, client, make_order, outsider, resting, unchanged):
    order = make_order(outsider, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.NotAdmitted, account=outsider):
        client.place(order, outsider)
    unchanged(order)


def test_suspended_owner__reverts(venue, client, make_order, membership, operator, member_b, resting, unchanged):
    membership.suspend(member_b, sender=operator)
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.MemberSuspended, account=member_b):
        client.place(order, member_b)
    unchanged(order)


def test_kyc_expired_owner__reverts(venue, client, make_order, membership, member_b, chain, resting, unchanged):
    expiry = membership.memberOf(member_b).kycExpiry
    chain.pending_timestamp = expiry + 1
    order = make_order(member_b, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.KycExpired, account=member_b, expiredAt=expiry):
        client.place(order, member_b)


def test_client_of_suspended_clearing_member__reverts(venue, client, make_order, membership, operator, member_a, client_a, resting, unchanged):
    membership.suspend(member_a, sender=operator)
    order = make_order(client_a, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.ClearingMemberNotActive, participant=client_a, clearingMember=member_a):
        client.place(order, client_a)
    unchanged(order)


def test_institution_cannot_trade__reverts(venue, client, make_order, issuer, resting, unchanged):
    order = make_order(issuer, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.WrongMemberKind):
        client.place(order, issuer)
    unchanged(order)


def test_self_trade__refused_whole(venue, client, make_order, member_a, resting, unchanged):
    """Policy: an incoming order that would meet its owner's resting order is refused whole."""
    order = make_order(member_a, Side.BUY, 10, cash("10.00"), nonce=1)
    with ape.reverts(venue.SelfTrade, owner=member_a):
        client.place(order, member_a)
    unchanged(order)


def test_fill_or_kill__unfillable__reverts(venue, client, make_order, member_b, resting, unchanged):
    order = make_order(member_b, Side.BUY, 150, cash("10.00"), nonce=1, timeInForce=TimeInForce.FOK)
    with ape.reverts(venue.FillOrKillNotFilled, quantity=150, filled=100):
        client.place(order, member_b)
    unchanged(order)


def test_operator_functions__wrong_caller__revert(venue, member_a, market):
    for call in (lambda: venue.listSecurity(5, 0, sender=member_a),
                 lambda: venue.setPhase(market, TradingPhase.CLOSED, sender=member_a),
                 lambda: venue.setSessionEnd(1, sender=member_a),
                 lambda: venue.setOrderGate(member_a, sender=member_a)):
        with ape.reverts(venue.AccessControlUnauthorizedAccount):
            call()


def test_sync_callbacks__only_from_register_and_ledger(venue, member_a, market):
    with ape.reverts(venue.OnlyMembership, caller=member_a):
        venue.syncHolder(member_a, (1, 1, 2**40, member_a, 0), sender=member_a)
    with ape.reverts(venue.OnlySecurityToken, caller=member_a):
        venue.syncHalt(market, True, sender=member_a)


def test_risk_gate__refusal_passes_through_and_changes_nothing(project, venue, client, make_order, operator, member_b, resting, unchanged):
    gate = project.MockOrderGate.deploy(sender=operator)
    venue.setOrderGate(gate, sender=operator)
    gate.setLimit(member_b, cash("100.00"), sender=operator)
    order = make_order(member_b, Side.BUY, 20, cash("10.00"), nonce=1)
    with ape.reverts(gate.InsufficientMargin, member=member_b, required=cash("200.00"), posted=cash("100.00")):
        client.place(order, member_b)
    unchanged(order)
    assert gate.approvals() == 0


def test_risk_gate__approved_order_proceeds(project, venue, client, make_order, operator, member_b, resting):
    gate = project.MockOrderGate.deploy(sender=operator)
    venue.setOrderGate(gate, sender=operator)
    gate.setLimit(member_b, cash("1000.00"), sender=operator)
    r = client.place(make_order(member_b, Side.BUY, 20, cash("10.00")), member_b)
    assert len(client.trades(r)) == 1 and gate.approvals() == 1


def test_risk_gate__system_close_out_order__not_gated(project, venue, client, make_order, membership, operator, accounts, resting):
    """The CCP's close-out trades in its own name with Route.Direct; it has no clearing member to
    margin against, so the gate is not asked."""
    gate = project.MockOrderGate.deploy(sender=operator)  # limit 0: would refuse everything
    venue.setOrderGate(gate, sender=operator)
    agent = accounts[7]
    membership.registerSystem(agent, sender=operator)
    order = client.with_nonce(make_order(agent, Side.BUY, 10, cash("10.00"), route=Route.DIRECT))
    r = venue.placeTrusted(order.as_tuple(), 10, sender=agent)
    assert client.trades(r)[0].buyer == agent and gate.approvals() == 0
