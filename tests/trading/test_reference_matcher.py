"""Property: random sequences of limit, IOC, FOK, hidden and iceberg orders and cancels, run
through the venue and through the pure-Python reference matcher, give identical fills (buyer,
seller, price, quantity, in order), identical refusals and identical displayed books."""

from __future__ import annotations

import os

import ape
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartccp.trading.matching import ReferenceBook, Refused
from smartccp.types import OrderType, Side, TimeInForce
from smartccp.units import cash

TICK = cash("0.01")
BASE_TICK = 1_000  # 10.00
EXAMPLES = int(os.environ.get("SMARTCCP_PROPERTY_EXAMPLES", "12"))

order_op = st.tuples(
    st.just("order"),
    st.integers(0, 2),  # trader
    st.sampled_from(["buy", "sell"]),
    st.integers(-3, 3),  # tick offset around 10.00
    st.integers(1, 6),  # lots of 10
    st.sampled_from(["gtc", "gtc", "ioc", "fok", "hidden", "iceberg"]),
)
cancel_op = st.tuples(st.just("cancel"), st.integers(0, 50))
ops = st.lists(st.one_of(order_op, order_op, order_op, cancel_op), min_size=4, max_size=14)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(sequence=ops)
def test_venue_matches_reference(sequence, rollback, client, make_order, member_a, member_b, member_c, market):
    traders = [member_a, member_b, member_c]
    with rollback():
        ref = ReferenceBook()
        resting: dict[bytes, int] = {}  # order hash -> current venue order id
        for op in sequence:
            if op[0] == "cancel":
                live = ref.resting()
                if not live:
                    continue
                h = live[op[1] % len(live)]
                owner = next(t for t in traders if str(t.address) == _owner_of(client, resting[h]))
                client.cancel(resting[h], owner)
                assert ref.cancel(h)
                continue
            _, who, side, offset, lots, kind = op
            trader = traders[who]
            fields = {}
            if kind in ("ioc", "fok"):
                fields["timeInForce"] = TimeInForce.IOC if kind == "ioc" else TimeInForce.FOK
            elif kind == "hidden":
                fields["orderType"] = OrderType.HIDDEN
            elif kind == "iceberg" and lots > 1:
                fields.update(orderType=OrderType.ICEBERG, displayQuantity=10)
            tick = BASE_TICK + offset
            order = client.with_nonce(make_order(trader, Side.BUY if side == "buy" else Side.SELL, lots * 10, tick * TICK, **fields))
            h = client.hash(order)
            try:
                expected = ref.place(str(trader.address), side, tick, lots * 10, tif=kind if kind in ("ioc", "fok") else "gtc",
                                     hidden=kind == "hidden", peak=fields.get("displayQuantity", 0), ref=h)
            except Refused:
                with ape.reverts():
                    client.place(order, trader)
                continue
            receipt = client.place(order, trader)
            got = [(t.buyer, t.seller, t.price // TICK, t.quantity) for t in client.trades(receipt)]
            assert got == [(f.buyer, f.seller, f.tick, f.quantity) for f in expected]
            for ev in receipt.decode_logs(client.venue.OrderRested):
                resting[bytes(ev.orderHash)] = ev.orderId
        book = client.book(market, 20)
        assert [(p // TICK, s) for p, s in book.bids] == ref.depth("buy")
        assert [(p // TICK, s) for p, s in book.asks] == ref.depth("sell")


def _owner_of(client, order_id: int) -> str:
    return str(client.venue.orderOf(order_id).owner)


class _FailingSeller(ReferenceBook):
    """A reference book in which ``seller``'s fills cannot settle (say its units moved away)."""

    def __init__(self, seller: str) -> None:
        super().__init__()
        self.seller = seller

    def fill_failure(self, fill, maker):  # noqa: ANN001, ANN201
        return ("sell", "NakedShortSale") if fill.seller == self.seller else None


def test_reference__maker_that_cannot_settle__withdrawn_and_matching_goes_on() -> None:
    book = _FailingSeller("b")
    book.place("b", "sell", 10, 5, ref="offer-b")
    book.place("c", "sell", 10, 5, ref="offer-c")
    fills = book.place("a", "buy", 10, 5)
    assert [(f.buyer, f.seller, f.quantity) for f in fills] == [("a", "c", 5)]
    assert book.dropped == [("offer-b", 5)]
    assert book.levels == {"buy": {}, "sell": {}}


def test_reference__taker_that_cannot_settle__refused_with_the_error_and_nothing_changes() -> None:
    book = _FailingSeller("b")
    book.place("a", "buy", 10, 5, ref="bid-a")
    before = repr(book.levels)
    with pytest.raises(Refused, match="NakedShortSale"):
        book.place("b", "sell", 10, 5)
    assert repr(book.levels) == before and book.dropped == []
