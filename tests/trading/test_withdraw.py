"""An owner's cancel (OrderWithdrawn), level epochs and the recycled order-hash slot, and the
quote-sink rule that lets a cancel skip the market word (see OrderBook and ITradeVenue)."""

from __future__ import annotations

import ape
import pytest

from smartccp.trading.venue import OrderId
from smartccp.types import ZERO_ADDRESS, OrderType, Side
from smartccp.units import cash

MAX_LEVEL_SIZE = 2**52 - 1


def withdrawn(venue, receipt):
    return [(e.orderId, e.quantity) for e in receipt.decode_logs(venue.OrderWithdrawn)]


def rested(venue, receipt):
    e = receipt.decode_logs(venue.OrderRested)[0]
    return e.orderId, bytes(e.orderHash)


def test_cancel__inside_a_level__withdrawn_by_id_and_the_rest_keeps_its_place(venue, client, place, member_a, member_b, member_c, market):
    first, _ = rested(venue, place(member_a, Side.SELL, 10, cash("10.00")))
    second, _ = rested(venue, place(member_a, Side.SELL, 20, cash("10.00")))
    place(member_b, Side.SELL, 30, cash("10.00"))
    r = client.cancel(second, member_a)
    assert withdrawn(venue, r) == [(second, 20)] and not r.decode_logs(venue.OrderCancelled)
    assert client.book(market).asks == [(cash("10.00"), 40)]
    assert venue.orderOf(second).owner == ZERO_ADDRESS and venue.orderOf(first).remaining == 10
    fills = client.trades(place(member_c, Side.BUY, 40, cash("10.00")))
    assert [(t.seller, t.quantity) for t in fills] == [(member_a, 10), (member_b, 30)]


def test_cancel__iceberg__withdraws_peak_and_reserve(venue, client, place, member_a, market):
    oid, _ = rested(venue, place(member_a, Side.SELL, 300, cash("10.00"), orderType=OrderType.ICEBERG, displayQuantity=100))
    place(member_a, Side.SELL, 10, cash("10.00"))
    assert withdrawn(venue, client.cancel(oid, member_a)) == [(oid, 300)]
    assert client.book(market).asks == [(cash("10.00"), 10)]


def test_cancel__parked_stop__withdrawn_by_its_parked_id(venue, place, member_c, market):
    r = place(member_c, Side.BUY, 50, cash("10.50"), orderType=OrderType.STOP, triggerPrice=cash("10.10"))
    parked_id = r.decode_logs(venue.OrderParked)[0].parkedId
    assert OrderId.parse(parked_id).parked
    assert withdrawn(venue, venue.cancelOrder(parked_id, sender=member_c)) == [(parked_id, 50)]


def test_emptied_level__new_epoch_from_sequence_0__old_id_unknown(venue, client, place, member_a, market):
    old, _ = rested(venue, place(member_a, Side.SELL, 10, cash("10.00")))
    client.cancel(old, member_a)  # the level empties
    new, _ = rested(venue, place(member_a, Side.SELL, 10, cash("10.00")))
    o, n = OrderId.parse(old), OrderId.parse(new)
    assert (o.tick, o.sequence, o.epoch) == (n.tick, 0, 0) and (n.sequence, n.epoch) == (0, 1)
    assert new != old
    # The old id names the same place, where the same owner's new order rests: still unknown.
    with ape.reverts(venue.UnknownOrder, orderId=old):
        client.cancel(old, member_a)
    assert venue.orderOf(old).owner == ZERO_ADDRESS and venue.orderOf(new).remaining == 10
    assert client.book(market).asks == [(cash("10.00"), 10)]


def test_recycled_hash_slot__the_new_order_trades_under_its_own_hash(venue, client, place, member_a, member_b, member_c, market):
    """A cancel leaves the entry's order-hash slot behind; after the level empties, the order that
    takes the same place overwrites it, and its trade names its own hash."""
    place(member_a, Side.SELL, 10, cash("10.00"))
    cancelled, cancelled_hash = rested(venue, place(member_a, Side.SELL, 10, cash("10.00")))
    client.cancel(cancelled, member_a)  # sequence 1: its hash slot is left
    place(member_c, Side.BUY, 10, cash("10.00"))  # fills sequence 0: the level empties
    _, first_hash = rested(venue, place(member_b, Side.SELL, 10, cash("10.00")))
    again, again_hash = rested(venue, place(member_b, Side.SELL, 10, cash("10.00")))
    assert OrderId.parse(again).sequence == OrderId.parse(cancelled).sequence == 1
    assert bytes(venue.orderOf(again).orderHash) == again_hash != cancelled_hash
    assert venue.orderOf(cancelled).orderHash == b"\x00" * 32  # an old id shows nothing
    r = place(member_c, Side.BUY, 20, cash("10.00"))
    assert [bytes(e.offerOrderHash) for e in r.decode_logs(venue.Traded)] == [first_hash, again_hash]


def test_level_size__above_the_bound__level_full(project, operator):
    book = project.MockOrderBook.deploy(sender=operator)
    book.append(7, False, MAX_LEVEL_SIZE, sender=operator)
    with ape.reverts(book.LevelFull, tick=7):
        book.append(7, False, 1, sender=operator)
    with ape.reverts(book.LevelFull, tick=7):
        book.push(7, 1, sender=operator)
    book.append(7, True, MAX_LEVEL_SIZE, sender=operator)  # hidden size is its own field
    level = book.level(7)
    assert (level.displayed, level.hidden, level.tail, level.hiddenTail, level.epoch) == (MAX_LEVEL_SIZE, MAX_LEVEL_SIZE, 1, 1, 0)


@pytest.fixture
def recorder(project, operator):
    return project.MockQuoteSink.deploy(sender=operator)


def test_set_quote_sink__while_a_book_holds_orders__refused(venue, client, place, operator, recorder, member_a, market):
    oid, _ = rested(venue, place(member_a, Side.BUY, 10, cash("9.00")))
    with ape.reverts(venue.BooksNotEmpty, securityId=market):
        venue.setQuoteSink(recorder, sender=operator)
    assert venue.quoteSink() == ZERO_ADDRESS
    client.cancel(oid, member_a)
    venue.setQuoteSink(recorder, sender=operator)
    assert venue.quoteSink() == recorder.address


def test_cancel__order_rested_with_a_sink__publishes_the_smaller_top(venue, client, place, operator, recorder, member_a, member_b, market):
    venue.setQuoteSink(recorder, sender=operator)
    oid, _ = rested(venue, place(member_a, Side.SELL, 30, cash("10.00")))
    place(member_b, Side.SELL, 70, cash("10.00"))
    other, _ = rested(venue, place(member_b, Side.SELL, 10, cash("10.00")))
    assert tuple(recorder.tops(venue, market)) == (0, 0, cash("10.00"), 110)
    client.cancel(oid, member_a)  # the level stays: the short path, which still publishes
    assert tuple(recorder.tops(venue, market)) == (0, 0, cash("10.00"), 80)
    venue.setQuoteSink(ZERO_ADDRESS, sender=operator)  # unsetting is always allowed
    pushes = recorder.pushes()
    client.cancel(other, member_b)  # rested with a sink: reads the market word, which says no sink
    assert recorder.pushes() == pushes and client.book(market).asks == [(cash("10.00"), 70)]
