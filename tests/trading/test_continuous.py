"""Continuous trading: price-time priority, order types, time in force, cancellation, expiry."""

from __future__ import annotations

import ape

from smartccp.trading.venue import OrderId, SettleInstruction
from smartccp.types import CancelReason, OrderType, Route, Side, TimeInForce
from smartccp.units import cash

UNFILLED, EXPIRED, COUNTER, INACTIVE = (CancelReason.UNFILLED, CancelReason.EXPIRED, CancelReason.COUNTER_BUMPED,
                                         CancelReason.OWNER_INACTIVE)


def fills(client, receipt):
    return [(t.seller, t.buyer, t.price, t.quantity) for t in client.trades(receipt)]


def cancelled(venue, receipt):
    return [(e.quantity, e.reason) for e in receipt.decode_logs(venue.OrderCancelled)]


def test_limit__rests_and_shows_in_depth(client, place, member_a, market):
    r = place(member_a, Side.SELL, 100, cash("10.00"))
    assert client.resting_id(r) != 0
    place(member_a, Side.BUY, 50, cash("9.90"))
    book = client.book(market)
    assert book.asks == [(cash("10.00"), 100)] and book.bids == [(cash("9.90"), 50)]


def test_fill__better_price_first_then_older_first(client, place, member_a, member_b, member_c, client_a, market):
    place(member_a, Side.SELL, 100, cash("10.00"))
    place(client_a, Side.SELL, 100, cash("10.00"))
    place(member_c, Side.SELL, 100, cash("9.99"))
    r = place(member_b, Side.BUY, 250, cash("10.00"))
    assert fills(client, r) == [
        (member_c, member_b, cash("9.99"), 100),
        (member_a, member_b, cash("10.00"), 100),
        (client_a, member_b, cash("10.00"), 50),
    ]
    assert client.book(market).asks == [(cash("10.00"), 50)]


def test_fill__partial_maker_keeps_place_and_rest(client, venue, place, member_a, member_b, market):
    oid = client.resting_id(place(member_a, Side.SELL, 100, cash("10.00")))
    place(member_b, Side.BUY, 30, cash("10.00"))
    assert venue.orderOf(oid).remaining == 70
    assert venue.lastPrice(market) == cash("10.00")


def test_trade_ids__per_security_sequence_even_when_the_market_word_is_otherwise_unchanged(
    venue, client, place, member_a, member_b, market
):
    """Trade ids are ``securityId << 40 | n``, n counting the security's trades from 1. The count
    lives in the market word: fills that leave the best prices and the last price as they were
    (the second and third here) must still write it, or two trades would share an id."""
    place(member_a, Side.SELL, 100, cash("10.00"))
    ids = [t.tradeId for _ in range(3) for t in client.trades(place(member_b, Side.BUY, 10, cash("10.00")))]
    assert ids == [(market << 40) | n for n in (1, 2, 3)]
    assert venue.lastPrice(market) == cash("10.00")


def test_settle_instruction__carries_both_signed_orders(client, place, make_order, member_a, member_b, sink, chain):
    maker = make_order(member_a, Side.SELL, 100, cash("10.00"), nonce=1)
    client.place(maker, member_a)
    taker = make_order(member_b, Side.BUY, 40, cash("10.05"), nonce=2)
    r = client.place(taker, member_b)
    ins = SettleInstruction.from_abi(r.decode_logs(sink.InstructionRecorded)[0].instruction)
    assert (ins.bidOrderHash, ins.offerOrderHash) == (client.hash(taker), client.hash(maker))
    assert (ins.buyer, ins.seller, ins.quantity, ins.price) == (member_b, member_a, 40, cash("10.00"))
    assert ins.cashAmount == 40 * cash("10.00")
    assert ins.deadline == chain.blocks.head.timestamp + 86_400
    assert ins.route == Route.CCP


def test_route__direct_only_when_both_orders_direct(client, place, member_a, member_b, sink):
    place(member_a, Side.SELL, 100, cash("10.00"), route=Route.DIRECT)
    r1 = place(member_b, Side.BUY, 10, cash("10.00"), route=Route.DIRECT)
    r2 = place(member_b, Side.BUY, 10, cash("10.00"))
    assert SettleInstruction.from_abi(r1.decode_logs(sink.InstructionRecorded)[0].instruction).route == Route.DIRECT
    assert SettleInstruction.from_abi(r2.decode_logs(sink.InstructionRecorded)[0].instruction).route == Route.CCP


def test_market__sweeps_to_protection_price_and_cancels_rest(venue, client, place, member_a, member_b, market):
    for p in ("10.00", "10.05", "10.10"):
        place(member_a, Side.SELL, 100, cash(p))
    r = place(member_b, Side.BUY, 300, cash("10.05"), orderType=OrderType.MARKET)
    assert [f[2] for f in fills(client, r)] == [cash("10.00"), cash("10.05")]
    assert cancelled(venue, r) == [(100, UNFILLED)]
    assert client.book(market).bids == [] and client.book(market).asks == [(cash("10.10"), 100)]


def test_ioc__fills_what_it_can_cancels_rest(venue, client, place, member_a, member_b, market):
    place(member_a, Side.SELL, 100, cash("10.00"))
    r = place(member_b, Side.BUY, 150, cash("10.00"), timeInForce=TimeInForce.IOC)
    assert sum(f[3] for f in fills(client, r)) == 100
    assert cancelled(venue, r) == [(50, UNFILLED)]
    assert client.book(market).bids == []


def test_fok__fills_completely(client, place, member_a, member_b):
    place(member_a, Side.SELL, 100, cash("10.00"))
    place(member_a, Side.SELL, 100, cash("10.01"))
    r = place(member_b, Side.BUY, 200, cash("10.01"), timeInForce=TimeInForce.FOK)
    assert sum(f[3] for f in fills(client, r)) == 200


def test_market_to_limit__takes_best_price_then_rests_there(venue, client, place, member_a, member_b, market):
    place(member_a, Side.SELL, 100, cash("10.00"))
    place(member_a, Side.SELL, 100, cash("10.05"))
    r = place(member_b, Side.BUY, 300, cash("11.00"), orderType=OrderType.MARKET_TO_LIMIT)
    assert fills(client, r) == [(member_a, member_b, cash("10.00"), 100)]
    assert client.book(market).bids == [(cash("10.00"), 200)]


def test_market_to_limit__empty_book__cancelled(venue, place, member_b):
    r = place(member_b, Side.BUY, 100, cash("11.00"), orderType=OrderType.MARKET_TO_LIMIT)
    assert cancelled(venue, r) == [(100, UNFILLED)]


def test_hidden__not_displayed_and_fills_after_displayed(client, place, member_a, member_b, member_c, market):
    place(member_a, Side.SELL, 100, cash("10.00"), orderType=OrderType.HIDDEN)
    place(member_c, Side.SELL, 50, cash("10.00"))
    assert client.book(market).asks == [(cash("10.00"), 50)]
    r = place(member_b, Side.BUY, 120, cash("10.00"))
    assert [(f[0], f[3]) for f in fills(client, r)] == [(member_c, 50), (member_a, 70)]


def test_hidden__told_by_the_order_id(client, place, member_a, market):
    hidden = OrderId.parse(client.resting_id(place(member_a, Side.SELL, 100, cash("9.50"), orderType=OrderType.HIDDEN)))
    shown = OrderId.parse(client.resting_id(place(member_a, Side.SELL, 100, cash("9.50"))))
    assert (hidden.hidden, shown.hidden) == (True, False)
    assert (hidden.security_id, hidden.side, hidden.tick) == (market, int(Side.SELL), cash("9.50") // cash("0.01"))


def test_hidden_only_level__not_shown_in_depth(client, place, member_a, market):
    place(member_a, Side.SELL, 100, cash("9.00"), orderType=OrderType.HIDDEN)
    place(member_a, Side.SELL, 100, cash("10.00"))
    assert client.book(market).asks == [(cash("10.00"), 100)]


def test_iceberg__shows_peak_and_each_refill_loses_priority(client, place, member_a, member_b, member_c, market):
    place(member_a, Side.SELL, 300, cash("10.00"), orderType=OrderType.ICEBERG, displayQuantity=100)
    place(member_c, Side.SELL, 100, cash("10.00"))
    assert client.book(market).asks == [(cash("10.00"), 200)]
    r = place(member_b, Side.BUY, 150, cash("10.00"))
    assert [(f[0], f[3]) for f in fills(client, r)] == [(member_a, 100), (member_c, 50)]
    assert client.book(market).asks == [(cash("10.00"), 150)]  # member_c 50, then member_a's refill 100
    r = place(member_b, Side.BUY, 400, cash("10.00"), timeInForce=TimeInForce.IOC)
    assert [(f[0], f[3]) for f in fills(client, r)] == [(member_c, 50), (member_a, 100), (member_a, 100)]


def test_cancel__removes_order_and_level(venue, client, place, member_a, market):
    oid = client.resting_id(place(member_a, Side.SELL, 100, cash("10.00")))
    r = client.cancel(oid, member_a)
    assert [(e.orderId, e.quantity) for e in r.decode_logs(venue.OrderWithdrawn)] == [(oid, 100)]
    assert cancelled(venue, r) == []
    assert client.book(market).asks == [] and venue.orderOf(oid).owner == "0x" + "00" * 20


def test_cancel__by_other_account__reverts(venue, client, place, member_a, member_b, market):
    oid = client.resting_id(place(member_a, Side.SELL, 100, cash("10.00")))
    with ape.reverts(venue.NotOrderOwner, orderId=oid, caller=member_b):
        client.cancel(oid, member_b)
    assert client.book(market).asks == [(cash("10.00"), 100)]


def test_cancel__unknown__reverts(venue, client, member_a):
    with ape.reverts(venue.UnknownOrder, orderId=12345):
        client.cancel(12345, member_a)


def test_cancel__middle_of_queue_leaves_priority_of_others(client, place, member_a, member_b, member_c, client_a):
    place(member_a, Side.SELL, 10, cash("10.00"))
    oid = client.resting_id(place(member_c, Side.SELL, 10, cash("10.00")))
    place(client_a, Side.SELL, 10, cash("10.00"))
    client.cancel(oid, member_c)
    r = place(member_b, Side.BUY, 20, cash("10.00"))
    assert [f[0] for f in fills(client, r)] == [member_a, client_a]


def test_cancel_all__voids_resting_and_unsigned_orders(venue, client, place, make_order, member_a, member_b, market):
    place(member_a, Side.SELL, 100, cash("10.00"))
    venue.cancelAll(sender=member_a)
    r = place(member_b, Side.BUY, 100, cash("10.00"))
    assert fills(client, r) == [] and (100, COUNTER) in cancelled(venue, r)
    with ape.reverts(venue.StaleCounter):
        place(member_a, Side.SELL, 100, cash("10.00"))
    place(member_a, Side.SELL, 100, cash("10.00"), counter=1)


def test_gtd__expired_maker_stops_matching_and_is_removed(venue, client, place, member_a, member_b, chain, market):
    place(member_a, Side.SELL, 100, cash("10.00"), timeInForce=TimeInForce.GTD, expiry=chain.pending_timestamp + 100)
    chain.pending_timestamp += 200
    r = place(member_b, Side.BUY, 100, cash("10.00"))
    assert fills(client, r) == [] and (100, EXPIRED) in cancelled(venue, r)
    assert client.book(market).asks == []


def test_day__expires_at_session_end(venue, client, place, member_a, member_b, chain, operator):
    # A session end of its own: earlier tests on the same worker may have moved the clock past
    # the one the session fixture set.
    venue.setSessionEnd(chain.pending_timestamp + 3_600, sender=operator)
    place(member_a, Side.SELL, 100, cash("10.00"), timeInForce=TimeInForce.DAY)
    chain.pending_timestamp = venue.sessionEnd() + 1
    r = place(member_b, Side.BUY, 100, cash("10.00"))
    assert fills(client, r) == [] and (100, EXPIRED) in cancelled(venue, r)


def test_timed__refused_before_valid_from_accepted_after(venue, client, make_order, member_a, chain):
    start = chain.pending_timestamp + 3_600
    order = make_order(member_a, Side.SELL, 100, cash("10.00"), validFrom=start, nonce=5)
    with ape.reverts(venue.OrderNotYetValid, validFrom=start):
        client.place(order, member_a)
    chain.pending_timestamp = start
    assert client.resting_id(client.place(order, member_a)) != 0


def test_purge__removes_only_dead_orders(venue, client, place, member_a, chain, market):
    live = client.resting_id(place(member_a, Side.SELL, 100, cash("10.00")))
    dead = client.resting_id(place(member_a, Side.SELL, 100, cash("10.01"), timeInForce=TimeInForce.GTD,
                                   expiry=chain.pending_timestamp + 10))
    chain.pending_timestamp += 20
    with ape.reverts(venue.OrderStillValid, orderId=live):
        venue.purge([live], sender=member_a)
    r = venue.purge([dead], sender=member_a)
    assert cancelled(venue, r) == [(100, EXPIRED)]
    assert client.book(market).asks == [(cash("10.00"), 100)]


def test_suspended_maker__stops_matching(venue, client, place, membership, operator, member_a, member_b):
    place(member_a, Side.SELL, 100, cash("10.00"))
    membership.suspend(member_a, sender=operator)
    r = place(member_b, Side.BUY, 100, cash("10.00"))
    assert fills(client, r) == [] and (100, INACTIVE) in cancelled(venue, r)


def test_max_makers__bounds_work_and_never_leaves_a_crossed_book(venue, client, place, member_a, member_b, market):
    for _ in range(5):
        place(member_a, Side.SELL, 10, cash("10.00"))
    r = place(member_b, Side.BUY, 50, cash("10.00"), max_makers=3)
    assert sum(f[3] for f in fills(client, r)) == 30
    assert cancelled(venue, r) == [(20, UNFILLED)]
    assert client.book(market).asks == [(cash("10.00"), 20)] and client.book(market).bids == []


def test_top_of_book__best_prices_and_sizes(venue, place, member_a, member_b, market):
    place(member_a, Side.SELL, 100, cash("10.02"))
    place(member_a, Side.SELL, 30, cash("10.01"))
    place(member_b, Side.BUY, 70, cash("9.98"))
    assert venue.topOfBook(market) == (cash("9.98"), 70, cash("10.01"), 30)
