"""Stop-type orders (parked until the last trade price reaches the trigger) and call auctions
(orders collected, then uncrossed at one price)."""

from __future__ import annotations

import ape

from smartccp.types import CancelReason, OrderType, Side, TimeInForce, TradingPhase
from smartccp.units import cash


def trade_at(place, seller, buyer, price, qty=10):
    place(seller, Side.SELL, qty, price)
    place(buyer, Side.BUY, qty, price)


def released(venue, market, sender):
    """(stops released, receipt) of ``triggerOrders(market, 5, 10)``: the count from an
    ``eth_call`` just before the transaction, not from the receipt's trace (ape reads a
    return value through its contract cache by address, which a run of many modules on one
    node can leave holding another contract's type)."""
    n = venue.triggerOrders.call(market, 5, 10, sender=sender)
    return n, venue.triggerOrders(market, 5, 10, sender=sender)


def fills(client, receipt):
    return [(t.seller, t.buyer, t.price, t.quantity) for t in client.trades(receipt)]


# ─── Stops ───────────────────────────────────────────────────────────────────────────────────

def test_stop_buy__parked_until_price_rises_then_executes_as_market(venue, client, place, member_a, member_b, member_c, market):
    r = place(member_c, Side.BUY, 50, cash("10.50"), orderType=OrderType.STOP, triggerPrice=cash("10.10"))
    assert r.decode_logs(venue.OrderParked) and not client.trades(r)
    place(member_a, Side.SELL, 100, cash("10.20"))
    trade_at(place, member_a, member_b, cash("10.05"))
    assert released(venue, market, member_b)[0] == 0  # 10.05 < 10.10
    trade_at(place, member_a, member_b, cash("10.10"))
    r = venue.triggerOrders(market, 5, 10, sender=member_b)
    assert r.decode_logs(venue.OrderTriggered)
    assert fills(client, r) == [(member_a, member_c, cash("10.20"), 50)]


def test_stop_limit_sell__becomes_limit_at_its_price(venue, client, place, member_a, member_b, member_c, market):
    place(member_c, Side.SELL, 40, cash("9.90"), orderType=OrderType.STOP_LIMIT, triggerPrice=cash("9.95"))
    trade_at(place, member_a, member_b, cash("9.95"))
    venue.triggerOrders(market, 5, 10, sender=member_b)
    assert client.book(market).asks == [(cash("9.90"), 40)]


def test_market_if_touched_buy__fires_when_price_falls_to_trigger(venue, client, place, member_a, member_b, member_c, market):
    place(member_c, Side.BUY, 20, cash("10.00"), orderType=OrderType.MARKET_IF_TOUCHED, triggerPrice=cash("9.80"))
    trade_at(place, member_a, member_b, cash("9.90"))
    assert released(venue, market, member_b)[0] == 0
    place(member_a, Side.SELL, 100, cash("9.85"))
    trade_at(place, member_a, member_b, cash("9.80"))
    r = venue.triggerOrders(market, 5, 10, sender=member_b)
    assert fills(client, r) == [(member_a, member_c, cash("9.85"), 20)]  # best offer left after the 9.80 trade


def test_stop__already_touched_at_entry__executes_at_once(client, place, member_a, member_b, member_c):
    trade_at(place, member_a, member_b, cash("10.10"))
    place(member_a, Side.SELL, 100, cash("10.15"))
    r = place(member_c, Side.BUY, 30, cash("10.20"), orderType=OrderType.STOP, triggerPrice=cash("10.00"))
    assert fills(client, r) == [(member_a, member_c, cash("10.15"), 30)]


def test_stop__owner_cancels_parked_order__it_never_fires(venue, client, place, member_a, member_b, member_c, market):
    r = place(member_c, Side.BUY, 50, cash("10.50"), orderType=OrderType.STOP, triggerPrice=cash("10.10"))
    parked_id = r.decode_logs(venue.OrderParked)[0].parkedId
    with ape.reverts(venue.NotOrderOwner, orderId=parked_id, caller=member_b):
        venue.cancelOrder(parked_id, sender=member_b)
    venue.cancelOrder(parked_id, sender=member_c)
    place(member_a, Side.SELL, 100, cash("10.20"))
    trade_at(place, member_a, member_b, cash("10.10"))
    assert released(venue, market, member_b)[0] == 0
    assert client.book(market).asks == [(cash("10.20"), 100)]


def test_order_of__parked_id_shows_the_parked_order_not_one_resting_at_the_same_place(
    venue, client, place, member_a, member_c, market
):
    r = place(member_c, Side.BUY, 50, cash("10.50"), orderType=OrderType.STOP, triggerPrice=cash("10.10"))
    parked_id = r.decode_logs(venue.OrderParked)[0].parkedId
    resting = client.resting_id(place(member_a, Side.BUY, 20, cash("10.10")))
    assert parked_id & ~(1 << 255) == resting  # the same place, in the parked book and the bids
    assert venue.orderOf(parked_id)[:2] == (member_c, 50)
    assert venue.orderOf(resting)[:2] == (member_a, 20)


REASON_UNFILLED, REASON_SELF_TRADE = CancelReason.UNFILLED, CancelReason.SELF_TRADE


def cancelled(venue, receipt):
    return [(log.quantity, log.reason) for log in receipt.decode_logs(venue.OrderCancelled)]


def test_trigger_orders__unfillable_fill_or_kill_stop__cancelled_alone(venue, client, place, member_a, member_b, member_c, market):
    """A released fill-or-kill the book cannot fill is cancelled; the stop behind it still runs."""
    place(member_c, Side.BUY, 1_000, cash("10.50"), orderType=OrderType.STOP_LIMIT, timeInForce=TimeInForce.FOK,
          triggerPrice=cash("10.10"))
    place(member_b, Side.BUY, 20, cash("10.50"), orderType=OrderType.STOP, triggerPrice=cash("10.10"))
    place(member_a, Side.SELL, 100, cash("10.20"))
    trade_at(place, member_a, member_b, cash("10.10"))
    n, r = released(venue, market, member_c)
    assert n == 2
    assert cancelled(venue, r) == [(1_000, REASON_UNFILLED)]
    assert fills(client, r) == [(member_a, member_b, cash("10.20"), 20)]
    assert client.book(market).asks == [(cash("10.20"), 80)]


def test_trigger_orders__stop_meeting_its_owners_order__cancelled_alone(venue, client, place, member_a, member_b, member_c, market):
    """Self-trade prevention refuses a released order whole (as at entry); the next one runs."""
    place(member_a, Side.BUY, 20, cash("10.50"), orderType=OrderType.STOP, triggerPrice=cash("10.10"))
    place(member_b, Side.BUY, 20, cash("10.50"), orderType=OrderType.STOP, triggerPrice=cash("10.10"))
    place(member_a, Side.SELL, 10, cash("10.15"))
    place(member_c, Side.SELL, 100, cash("10.20"))
    trade_at(place, member_c, member_b, cash("10.10"))
    r = venue.triggerOrders(market, 5, 10, sender=member_c)
    assert cancelled(venue, r) == [(20, REASON_SELF_TRADE)]
    assert fills(client, r) == [(member_a, member_b, cash("10.15"), 10), (member_c, member_b, cash("10.20"), 10)]


def test_run_released__called_by_anyone_but_the_venue__reverts(project, venue, member_a, market):
    """The fallback admits only the venue's own calls, so the module's entry is out of reach."""
    module_view = project.VenueAuctions.at(venue.address)
    released = (b"\x01" * 32, member_a.address, market, 0, 0, 0, 1_000, 10, 10, 0, 0, 0, 0)
    with ape.reverts(venue.NotTrusted, caller=member_a, owner=venue.address):
        module_view.runReleased(released, 10, sender=member_a)
    with ape.reverts(venue.NotTrusted, caller=member_a, owner=venue.address):
        member_a.transfer(venue, 0, data=b"\xde\xad\xbe\xef")


def test_trigger_orders__outside_continuous__reverts(venue, operator, member_b, market):
    venue.setPhase(market, TradingPhase.CLOSED, sender=operator)
    with ape.reverts(venue.WrongPhase):
        venue.triggerOrders(market, 1, 1, sender=member_b)


# ─── Call auctions ───────────────────────────────────────────────────────────────────────────

def open_auction(venue, operator, market):
    venue.setPhase(market, TradingPhase.CLOSED, sender=operator)
    venue.setPhase(market, TradingPhase.PRE_OPEN, sender=operator)


def test_uncross__worked_example(venue, client, place, operator, member_a, member_b, member_c, client_a, market):
    """Bids: A 100 @10.05, B 200 @10.00. Offers: client 150 @9.95, C 100 @10.00, C 100 @10.05.
    Executable volume: at 9.95 min(300, 150) = 150; at 10.00 min(300, 250) = 250; at 10.05
    min(100, 350) = 100. The price is 10.00 for 250 units: A buys 100 and B 50 from the client,
    B buys 100 from C; B keeps 50 bid at 10.00 and C 100 offered at 10.05."""
    open_auction(venue, operator, market)
    place(member_a, Side.BUY, 100, cash("10.05"))
    place(member_b, Side.BUY, 200, cash("10.00"))
    place(client_a, Side.SELL, 150, cash("9.95"))
    place(member_c, Side.SELL, 100, cash("10.00"))
    place(member_c, Side.SELL, 100, cash("10.05"))
    assert client.book(market).bids[0] == (cash("10.05"), 100)  # crossed while collecting: no matching
    r = venue.uncross(market, 50, sender=operator)
    ev = r.decode_logs(venue.AuctionUncrossed)[0]
    assert (ev.price, ev.volume) == (cash("10.00"), 250)
    assert fills(client, r) == [
        (client_a, member_a, cash("10.00"), 100),
        (client_a, member_b, cash("10.00"), 50),
        (member_c, member_b, cash("10.00"), 100),
    ]
    assert venue.phaseOf(market) == TradingPhase.CONTINUOUS and venue.lastPrice(market) == cash("10.00")
    assert client.book(market).bids == [(cash("10.00"), 50)] and client.book(market).asks == [(cash("10.05"), 100)]


def test_uncross__tie_on_volume_and_imbalance__nearest_reference_price(venue, client, place, operator, member_a, member_b, member_c, market):
    trade_at(place, member_a, member_b, cash("10.04"))  # reference price
    venue.setPhase(market, TradingPhase.PRE_CLOSE, sender=operator)
    place(member_a, Side.BUY, 100, cash("10.05"))
    place(member_c, Side.SELL, 100, cash("9.95"))
    r = venue.uncross(market, 10, sender=operator)
    assert r.decode_logs(venue.AuctionUncrossed)[0].price == cash("10.05")
    assert venue.phaseOf(market) == TradingPhase.CLOSED


def test_uncross__in_chunks__resumes_until_done(venue, client, place, operator, member_a, member_b, member_c, market):
    open_auction(venue, operator, market)
    for _ in range(4):
        place(member_a, Side.BUY, 10, cash("10.00"))
        place(member_c, Side.SELL, 10, cash("10.00"))
    assert venue.uncross(market, 2, sender=operator).return_value is False
    assert venue.phaseOf(market) == TradingPhase.PRE_OPEN
    r = venue.uncross(market, 10, sender=operator)
    assert r.return_value is True and len(client.trades(r)) == 2
    assert venue.phaseOf(market) == TradingPhase.CONTINUOUS


def test_uncross__no_cross__just_opens(venue, client, place, operator, member_a, member_c, market):
    open_auction(venue, operator, market)
    place(member_a, Side.BUY, 10, cash("9.00"))
    place(member_c, Side.SELL, 10, cash("10.00"))
    r = venue.uncross(market, 10, sender=operator)
    assert r.return_value is True and not client.trades(r)
    assert venue.phaseOf(market) == TradingPhase.CONTINUOUS


def test_auction__immediate_orders_refused(venue, place, operator, member_a, market):
    open_auction(venue, operator, market)
    with ape.reverts(venue.ImmediateOrderInAuction):
        place(member_a, Side.BUY, 10, cash("10.00"), timeInForce=TimeInForce.IOC)


def test_auction__leaving_without_uncross__reverts(venue, operator, market):
    open_auction(venue, operator, market)
    with ape.reverts(venue.WrongPhase):
        venue.setPhase(market, TradingPhase.CONTINUOUS, sender=operator)


def test_uncross__by_non_operator__reverts(venue, operator, member_a, market):
    open_auction(venue, operator, market)
    with ape.reverts(venue.AccessControlUnauthorizedAccount):
        venue.uncross(market, 10, sender=member_a)


def test_auctions_module__called_directly__refuses(project, venue, operator, market):
    module = project.VenueAuctions.at(venue.auctionsModule())
    with ape.reverts(module.OnlyDelegateCall):
        module.uncross(market, 1, sender=operator)
