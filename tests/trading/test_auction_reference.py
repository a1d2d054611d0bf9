"""Property: random call-auction books (limit, hidden and iceberg orders of three traders, with or
without a reference price from an earlier trade) uncrossed by the venue in random chunks and by
the pure-Python reference (``ReferenceBook.uncross``) give the same clearing price and volume, the
same fills in order (buyer, seller, price, quantity) and the same displayed books afterwards."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smartccp.trading.matching import ReferenceBook
from smartccp.types import OrderType, Side, TradingPhase
from smartccp.units import cash

TICK = cash("0.01")
BASE_TICK = 1_000  # 10.00
EXAMPLES = int(os.environ.get("SMARTCCP_PROPERTY_EXAMPLES", "12"))

auction_order = st.tuples(
    st.integers(0, 2),  # trader
    st.sampled_from(["buy", "sell"]),
    st.integers(-4, 4),  # tick offset around 10.00
    st.integers(1, 6),  # lots of 10
    st.sampled_from(["limit", "limit", "limit", "hidden", "iceberg"]),
)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
# Full tie (volume, imbalance, distance to 10.00): the lower tick, 9.98.
@example(orders=[(0, "buy", 2, 1, "limit"), (1, "sell", -2, 1, "limit")], reference=0, chunk=2)
# member_a's own offer is withdrawn at the uncross; its bid then meets member_b's offer.
@example(orders=[(0, "buy", 1, 2, "limit"), (0, "sell", -1, 1, "limit"), (1, "sell", 0, 2, "hidden")], reference=0,
         chunk=1)
# An iceberg's refill joins the back of the queue behind a later displayed order.
@example(orders=[(0, "sell", 0, 3, "iceberg"), (1, "sell", 0, 1, "limit"), (2, "buy", 1, 5, "limit")], reference=None,
         chunk=3)
@given(orders=st.lists(auction_order, min_size=2, max_size=12), reference=st.one_of(st.none(), st.integers(-4, 4)),
       chunk=st.integers(1, 4))
def test_uncross_matches_reference(orders, reference, chunk, rollback, venue, client, make_order, operator, member_a,
                                   member_b, member_c, market):
    traders = [member_a, member_b, member_c]
    with rollback():
        if reference is not None:  # a continuous trade sets the reference price, then the close auction
            price = (BASE_TICK + reference) * TICK
            client.place(make_order(member_a, Side.SELL, 10, price), member_a)
            client.place(make_order(member_b, Side.BUY, 10, price), member_b)
            venue.setPhase(market, TradingPhase.PRE_CLOSE, sender=operator)
        else:
            venue.setPhase(market, TradingPhase.CLOSED, sender=operator)
            venue.setPhase(market, TradingPhase.PRE_OPEN, sender=operator)
        ref_tick = int(venue.lastPrice(market)) // TICK
        book = ReferenceBook()
        for who, side, offset, lots, kind in orders:
            trader, qty, tick = traders[who], lots * 10, BASE_TICK + offset
            fields = {}
            if kind == "hidden":
                fields["orderType"] = OrderType.HIDDEN
            elif kind == "iceberg" and lots > 1:
                fields.update(orderType=OrderType.ICEBERG, displayQuantity=10)
            order = client.with_nonce(make_order(trader, Side.BUY if side == "buy" else Side.SELL, qty, tick * TICK, **fields))
            receipt = client.place(order, trader)
            assert not client.trades(receipt), "an order traded while the auction collects"
            book.rest(str(trader.address), side, tick, qty, hidden=kind == "hidden", peak=fields.get("displayQuantity", 0))
        expected_tick, expected_volume, expected = book.uncross(ref_tick)

        # Whether a chunk finishes the uncross, from an eth_call just before it (not from the
        # receipt's trace: see test_triggers_and_auctions.released).
        receipts, done = [], False
        while not done:
            done = venue.uncross.call(market, chunk, sender=operator)
            receipts.append(venue.uncross(market, chunk, sender=operator))
        priced = receipts[0].decode_logs(venue.AuctionUncrossed)[0]
        assert (priced.price // TICK, priced.volume) == (expected_tick, expected_volume)
        got = [(t.buyer, t.seller, t.price // TICK, t.quantity) for r in receipts for t in client.trades(r)]
        assert got == [(f.buyer, f.seller, f.tick, f.quantity) for f in expected]
        after = client.book(market, 20)
        assert [(p // TICK, s) for p, s in after.bids] == book.depth("buy")
        assert [(p // TICK, s) for p, s in after.asks] == book.depth("sell")
        assert venue.phaseOf(market) == (TradingPhase.CLOSED if reference is not None else TradingPhase.CONTINUOUS)
