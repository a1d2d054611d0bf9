"""OrderRelay: many signed orders in one transaction, each exactly as ``placeOrder`` alone.

A refused order is skipped with its venue error (the rest go on) or, atomic, sinks the batch;
either way it changes nothing. Bad batches are refused before any order is tried.
"""

from __future__ import annotations

import ape
import pytest
from eth_abi import encode
from eth_utils import keccak

from smartccp.trading.venue import MAX_BATCH
from smartccp.types import Side
from smartccp.units import cash


def venue_error(signature: str, types: list[str], values: list) -> bytes:
    """The ABI encoding of a custom error, as the relay reports it."""
    return keccak(text=signature)[:4] + encode(types, values)


@pytest.fixture
def relay(system):
    return system.relay


@pytest.fixture
def offer(place, member_a, market):
    """member_a offers 30 at 10.00."""
    return place(member_a, Side.SELL, 30, cash("10.00"))


def test_batch__each_order_as_if_alone(venue, client, relay, make_order, operator, member_a, member_b, member_c,
                                       sink, offer, market):
    """Two takers fill 10 each from one offer and a third order rests: results, Traded events,
    instructions and nonces are those of three separate submissions; the relayer is nobody."""
    before = sink.count()
    batch = [(client.with_nonce(make_order(who, Side.BUY, 10, price)), who)
             for who, price in ((member_b, cash("10.00")), (member_c, cash("10.00")), (member_b, cash("9.90")))]
    receipt = client.place_batch(relay, batch, sender=operator)

    results = receipt.return_value
    assert [(r.placed, r.filled) for r in results] == [(True, 10), (True, 10), (True, 0)]
    assert results[0].orderId == results[1].orderId == 0
    assert results[2].orderId == client.resting_id(receipt) != 0
    traded = client.trades(receipt)
    assert [(t.buyer, t.seller, t.quantity) for t in traded] == [(member_b, member_a, 10), (member_c, member_a, 10)]
    assert sink.count() == before + 2
    assert client.book(market).asks == [(cash("10.00"), 10)]
    assert client.book(market).bids == [(cash("9.90"), 10)]
    assert all(venue.nonceUsed(order.owner, order.nonce) for order, _ in batch)
    assert not receipt.decode_logs(relay.OrderSkipped)


def test_batch__refused_order__skipped_rest_placed(venue, client, relay, make_order, operator, member_a, member_b,
                                                  member_c, offer, market):
    """A signature by the wrong key in the middle: that order is skipped with SignerNotOwner,
    its nonce stays unused, the orders around it fill."""
    good_b = client.with_nonce(make_order(member_b, Side.BUY, 10, cash("10.00")))
    forged = client.with_nonce(make_order(member_c, Side.BUY, 10, cash("10.00")))
    good_c = client.with_nonce(make_order(member_c, Side.BUY, 10, cash("10.00")))
    receipt = client.place_batch(relay, [(good_b, member_b), (forged, member_a), (good_c, member_c)], sender=operator)

    assert [(r.placed, r.orderId, r.filled) for r in receipt.return_value] == [(True, 0, 10), (False, 0, 0), (True, 0, 10)]
    [skipped] = receipt.decode_logs(relay.OrderSkipped)
    assert (skipped.index, skipped.owner, skipped.nonce) == (1, member_c, forged.nonce)
    assert skipped.reason == venue_error("SignerNotOwner(address,address)", ["address", "address"],
                                         [str(member_a.address), str(member_c.address)])
    assert venue.nonceUsed(good_b.owner, good_b.nonce) and venue.nonceUsed(good_c.owner, good_c.nonce)
    assert not venue.nonceUsed(forged.owner, forged.nonce)
    assert client.book(market).asks == [(cash("10.00"), 10)]


def test_batch__atomic__one_refusal_reverts_all(venue, client, relay, make_order, operator, member_a, member_b,
                                               member_c, sink, offer, market):
    good = client.with_nonce(make_order(member_b, Side.BUY, 10, cash("10.00")))
    forged = client.with_nonce(make_order(member_c, Side.BUY, 10, cash("10.00")))
    before = (client.book(market), sink.count())
    reason = venue_error("SignerNotOwner(address,address)", ["address", "address"],
                         [str(member_a.address), str(member_c.address)])
    with ape.reverts(relay.RelayedOrderFailed, index=1, reason=reason):
        client.place_batch(relay, [(good, member_b), (forged, member_a)], sender=operator, atomic=True)
    assert (client.book(market), sink.count()) == before
    assert not venue.nonceUsed(good.owner, good.nonce)


def test_batch__replayed__every_order_refused_nothing_changes(venue, client, relay, make_order, operator, member_b,
                                                             member_c, sink, offer, market):
    """The same signed batch sent twice: the second time each order is skipped with NonceUsed."""
    orders = [client.with_nonce(make_order(who, Side.BUY, 10, cash("10.00"))) for who in (member_b, member_c)]
    signed = list(zip(orders, (member_b, member_c)))
    client.place_batch(relay, signed, sender=operator)
    assert all(venue.nonceUsed(o.owner, o.nonce) for o in orders)
    before = (client.book(market), sink.count())

    receipt = client.place_batch(relay, signed, sender=member_b)

    assert [r.placed for r in receipt.return_value] == [False, False]
    reasons = [log.reason for log in receipt.decode_logs(relay.OrderSkipped)]
    assert reasons == [venue_error("NonceUsed(address,uint256)", ["address", "uint256"], [o.owner, o.nonce])
                       for o in orders]
    assert (client.book(market), sink.count()) == before


def test_batch__bad_shapes__refused(venue, client, relay, make_order, operator, member_b, offer):
    order = client.with_nonce(make_order(member_b, Side.BUY, 10, cash("10.00")))
    args = client.place_args(order, member_b)
    with ape.reverts(relay.EmptyBatch):
        relay.placeOrders(venue, [], [], 64, False, sender=operator)
    with ape.reverts(relay.LengthMismatch, orders=1, signatures=2):
        relay.placeOrders(venue, [args[0]], [args[1], args[1]], 64, False, sender=operator)
    n = MAX_BATCH + 1
    with ape.reverts(relay.BatchTooLarge, orders=n, max=MAX_BATCH):
        relay.placeOrders(venue, [args[0]] * n, [args[1]] * n, 64, False, sender=operator)
    assert relay.MAX_BATCH() == MAX_BATCH
    assert not venue.nonceUsed(order.owner, order.nonce)


def test_batch__client_checks_before_sending(client, relay, make_order, operator, member_b, market):
    with pytest.raises(ValueError, match="batch"):
        client.place_batch(relay, [], sender=operator)
    with pytest.raises(ValueError, match="batch"):
        client.place_batch(relay, [(make_order(member_b, Side.BUY, 10, cash("10.00")), member_b)] * (MAX_BATCH + 1),
                           sender=operator)


def test_batch__signature_forms_and_lengths__forwarded_exactly(venue, client, relay, make_order, operator, member_b,
                                                               member_c, offer):
    """The relay copies each signature across as it came: a 65-byte (r, s, v) one places, and
    lengths the venue refuses come back as its ECDSAInvalidSignatureLength with that length."""
    full = client.with_nonce(make_order(member_b, Side.BUY, 10, cash("10.00")))
    short = [client.with_nonce(make_order(member_c, Side.BUY, 10, cash("10.00"))) for _ in range(3)]
    signatures = [client.sign(full, member_b), b"", b"\x01" * 63, client.signature(short[2], member_c) + b"\x00\x00"]
    receipt = relay.placeOrders(venue, [o.as_tuple() for o in [full, *short]], signatures, 64, False, sender=operator)

    assert [(r.placed, r.filled) for r in receipt.return_value] == [(True, 10), (False, 0), (False, 0), (False, 0)]
    assert [log.reason for log in receipt.decode_logs(relay.OrderSkipped)] == [
        venue_error("ECDSAInvalidSignatureLength(uint256)", ["uint256"], [n]) for n in (0, 63, 66)]
    assert venue.nonceUsed(full.owner, full.nonce)
