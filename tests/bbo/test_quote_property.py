"""Property: after every step of random orders, cancels, fills and routed orders on three venues,
the BBO's consolidated quote equals the one computed in Python from the venues' own books; its
time moves to now when the quote changed and stays put when no venue's top changed."""

from __future__ import annotations

from ape.exceptions import ContractLogicError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartccp.types import OrderType, Side, TimeInForce
from smartccp.units import cash

BASE = cash("10.00")
TICK = cash("0.01")

prices = st.integers(-4, 4).map(lambda k: BASE + k * TICK)
lots = st.integers(1, 5).map(lambda n: 10 * n)
place = st.tuples(st.just("place"), st.integers(0, 2), st.integers(0, 3), st.sampled_from(Side), lots, prices,
                  st.sampled_from(["limit", "limit", "ioc", "iceberg", "hidden"]))
cancel = st.tuples(st.just("cancel"), st.integers(0, 30))
route = st.tuples(st.just("route"), st.integers(0, 3), st.sampled_from(Side), lots, prices)
steps = st.lists(st.one_of(place, place, cancel, route), min_size=3, max_size=8)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=steps)
def test_consolidated_quote__equals_python_from_venue_books(mkt, traders, chain, steps):
    snapshot = chain.snapshot()
    resting: list[tuple[int, int, object]] = []  # (venue, order id, owner)
    last = mkt.client.quote(mkt.sid)
    last_tops = mkt.tops()
    try:
        for step in steps:
            try:
                if step[0] == "place":
                    _, venue, who, side, qty, price, kind = step
                    fields = {
                        "limit": {},
                        "ioc": {"timeInForce": TimeInForce.IOC},
                        "iceberg": {"orderType": OrderType.ICEBERG, "displayQuantity": 10} if qty > 10 else {},
                        "hidden": {"orderType": OrderType.HIDDEN},
                    }[kind]
                    oid = mkt.vclients[venue].resting_id(mkt.place(venue, traders[who], side, qty, price, **fields))
                    if oid:
                        resting.append((venue, oid, traders[who]))
                elif step[0] == "cancel" and resting:
                    venue, oid, owner = resting.pop(step[1] % len(resting))
                    mkt.venues[venue].cancelOrder(oid, sender=owner)
                elif step[0] == "route":
                    _, who, side, qty, limit = step
                    mkt.client.route(mkt.order(traders[who], side, qty, limit), traders[who])
            except ContractLogicError:
                pass  # self-trade, an order already filled: refused, nothing changed
            q = mkt.client.quote(mkt.sid)
            assert q.core() == mkt.client.quote_from_venues(mkt.sid).core(), step
            now_tops = mkt.tops()
            if q.core() != last.core():
                assert q.updated_at == chain.blocks.head.timestamp
            if now_tops == last_tops:
                assert q.updated_at == last.updated_at  # no venue's top changed: no new stamp
            assert q.updated_at >= last.updated_at
            last, last_tops = q, now_tops
    finally:
        chain.restore(snapshot)
