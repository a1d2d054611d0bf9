"""Property: random steps on three venues (orders, cancels, routed orders, phase changes with call
auctions, halts), run on the chain and through a model that never reads it (``bbo_model``: the
reference matcher's books, each venue's phase, the halt). After every step the BBO's consolidated
quote, each venue's recorded top and the consolidated depth equal the model's (only venues in
continuous trading count, none while halted: #23); a step is refused exactly when the model says
so, with the error it names; the quote's time moves to now when the quote changed and stays put
when no venue's shown top changed."""

from __future__ import annotations

import os

from bbo_model import MarketModel
from eth_utils import to_checksum_address
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from smartccp.chain.errors import refusal
from smartccp.chain.multicall import Multicall
from smartccp.trading.bbo import Quote
from smartccp.trading.orders import Order
from smartccp.types import OrderType, Side, TimeInForce, TradingPhase
from smartccp.units import cash

TICK = cash("0.01")
BASE_TICK = 1_000  # 10.00
MAX_CHILDREN = 8
DEPTH_LEVELS = 10
EXAMPLES = int(os.environ.get("SMARTCCP_PROPERTY_EXAMPLES", "25"))

ticks = st.integers(-4, 4).map(lambda k: BASE_TICK + k)
lots = st.integers(1, 5).map(lambda n: 10 * n)
sides = st.sampled_from(["buy", "sell"])
place = st.tuples(st.just("place"), st.integers(0, 2), st.integers(0, 3), sides, lots, ticks,
                  st.sampled_from(["limit", "limit", "ioc", "iceberg", "hidden"]))
cancel = st.tuples(st.just("cancel"), st.integers(0, 30))
route = st.tuples(st.just("route"), st.integers(0, 3), sides, lots, ticks)
# Continuous: close (0) or a closing auction (1); Closed: reopen (0) or an opening auction (1);
# in an auction: uncross to its end.
phase = st.tuples(st.just("phase"), st.integers(0, 2), st.integers(0, 1))
halt = st.tuples(st.just("halt"))
WEIGHTS = {place: 6, cancel: 2, route: 2, phase: 2, halt: 1}  # how often each kind of step is drawn
any_step = st.sampled_from([s for s, w in WEIGHTS.items() for _ in range(w)]).flatmap(lambda s: s)
steps = st.lists(any_step, min_size=4, max_size=12)
NEXT_PHASE = {TradingPhase.CONTINUOUS: (TradingPhase.CLOSED, TradingPhase.PRE_CLOSE),
              TradingPhase.CLOSED: (TradingPhase.CONTINUOUS, TradingPhase.PRE_OPEN)}
KINDS = {"limit": {}, "ioc": {"timeInForce": TimeInForce.IOC}, "hidden": {"orderType": OrderType.HIDDEN},
         "iceberg": {"orderType": OrderType.ICEBERG, "displayQuantity": 10}}


class Run:
    """One example: the chain and the model side by side, and the orders placed so far."""

    def __init__(self, mkt, traders, operator) -> None:  # noqa: ANN001
        self.mkt, self.traders, self.operator = mkt, traders, operator
        self.model = MarketModel([str(v.address) for v in mkt.venues], TICK)
        self.placed: list[tuple[int, bytes, object]] = []  # (venue, order hash, owner) of orders that rested
        self.ids: dict[bytes, int] = {}  # order hash -> its current resting id (an iceberg's changes)

    def step(self, step: tuple) -> None:
        getattr(self, step[0])(*step[1:])

    def expect(self, why: str | None, contract, method: str, *args, sender) -> bool:  # noqa: ANN001
        """True if the model lets the call through (the caller sends it: a revert fails the test);
        else the call must be refused with ``why`` (checked by eth_call, nothing sent)."""
        if why is None:
            return True
        assert refusal(contract, method, *args, sender=sender) == why, (method, args)
        return False

    def sent(self, receipt) -> None:  # noqa: ANN001
        for venue in self.mkt.venues:
            for e in receipt.decode_logs(venue.OrderRested):
                self.ids[bytes(e.orderHash)] = int(e.orderId)

    def place(self, venue: int, who: int, side: str, qty: int, tick: int, kind: str) -> None:
        vc, trader = self.mkt.vclients[venue], self.traders[who]
        fields = KINDS[kind] if kind != "iceberg" or qty > 10 else {}
        order = vc.with_nonce(Order(owner=str(trader.address), securityId=self.mkt.sid,
                                    side=Side.BUY if side == "buy" else Side.SELL, quantity=qty, price=tick * TICK,
                                    **fields))
        h = vc.hash(order)
        why = self.model.place(venue, str(trader.address), side, tick, qty, kind if fields else "limit", h)
        if self.expect(why, vc.venue, "placeOrder", *vc.place_args(order, trader), sender=trader):
            self.sent(vc.place(order, trader))
            if h in self.ids:
                self.placed.append((venue, h, trader))

    def cancel(self, pick: int) -> None:
        if not self.placed:
            return
        venue, h, owner = self.placed[pick % len(self.placed)]
        why = self.model.cancel(venue, h)
        if self.expect(why, self.mkt.venues[venue], "cancelOrder", self.ids[h], sender=owner):
            self.mkt.venues[venue].cancelOrder(self.ids[h], sender=owner)

    def route(self, who: int, side: str, qty: int, limit: int) -> None:
        trader = self.traders[who]
        order = self.mkt.order(trader, Side.BUY if side == "buy" else Side.SELL, qty, limit * TICK)
        why = self.model.route(str(trader.address), side, qty, limit, MAX_CHILDREN)
        args = (order.as_tuple(), self.mkt.client.sign(order, trader), MAX_CHILDREN)
        if self.expect(why, self.mkt.bbo, "route", *args, sender=trader):
            self.sent(self.mkt.client.route(order, trader, max_children=MAX_CHILDREN))

    def phase(self, venue: int, choice: int) -> None:
        v, sid = self.mkt.venues[venue], self.mkt.sid
        now = self.model.venues[venue].phase
        if now in NEXT_PHASE:
            to = NEXT_PHASE[now][choice]
            assert self.model.set_phase(venue, to) is None
            v.setPhase(sid, to, sender=self.operator)
            return
        assert self.model.uncross(venue) is None
        receipts = [v.uncross(sid, 64, sender=self.operator)]
        while not receipts[-1].return_value:
            receipts.append(v.uncross(sid, 64, sender=self.operator))
        for r in receipts:
            self.sent(r)

    def halt(self) -> None:
        self.model.halted = not self.model.halted
        self.mkt.system.securities.setHalted(self.mkt.sid, self.model.halted, sender=self.operator)

    def check(self) -> Quote:
        """The BBO's quote, recorded tops and depth, and the venues' phases, read in one call,
        against the model's; returns the quote."""
        mkt, model, reads = self.mkt, self.model, Multicall()
        reads.add(mkt.bbo, "quoteOf", mkt.sid)
        reads.add(mkt.bbo, "consolidatedDepth", mkt.sid, DEPTH_LEVELS)
        for v in mkt.venues:
            reads.add(mkt.bbo, "venueQuote", str(v.address), mkt.sid)
            reads.add(v, "phaseOf", mkt.sid)
        (_, bp, bs, bv, ap, as_, av, updated_at), (dbp, dbs, dap, das), *venues = reads.run()
        q = Quote(bp, bs, tuple(map(to_checksum_address, bv)), ap, as_, tuple(map(to_checksum_address, av)),
                  updated_at)
        assert q.core() == model.quote().core()
        assert (list(zip(dbp, dbs)), list(zip(dap, das))) == model.depth(DEPTH_LEVELS)
        for i in range(len(mkt.venues)):
            assert tuple(venues[2 * i])[:4] == model.shown(i), i
            assert venues[2 * i + 1] == model.venues[i].phase, i
        return q


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
# Venue 0 holds the best bid, closes (it leaves the quote), reopens through an opening auction
# that trades; venue 1's offer is routed to while venue 0 is out; a halt empties every quote.
@example(steps=[("place", 0, 0, "buy", 20, 1001, "limit"), ("place", 1, 1, "sell", 20, 1003, "limit"),
                ("phase", 0, 0), ("route", 2, "buy", 10, 1004), ("phase", 0, 1),
                ("place", 0, 1, "sell", 10, 1000, "limit"), ("place", 0, 2, "buy", 10, 1000, "ioc"),
                ("phase", 0, 0), ("halt",), ("place", 1, 2, "buy", 10, 1000, "limit"), ("halt",)])
# A closing auction collects a crossing pair and closes; a route finds no other venue trading.
@example(steps=[("place", 0, 0, "sell", 10, 1000, "limit"), ("phase", 1, 0), ("phase", 2, 0), ("phase", 0, 1),
                ("place", 0, 1, "buy", 20, 1001, "iceberg"), ("route", 3, "buy", 10, 1004), ("phase", 0, 0),
                ("cancel", 0), ("cancel", 1)])
@given(steps=steps)
def test_consolidated_quote__equals_the_models_over_random_steps(mkt, traders, operator, chain, steps):
    snapshot = chain.snapshot()
    run = Run(mkt, traders, operator)
    last, last_shown = run.check(), [run.model.shown(i) for i in range(len(mkt.venues))]
    try:
        for step in steps:
            run.step(step)
            q, shown = run.check(), [run.model.shown(i) for i in range(len(mkt.venues))]
            if q.core() != last.core():
                assert q.updated_at == chain.blocks.head.timestamp, step
            if shown == last_shown:
                assert q.updated_at == last.updated_at, step  # no venue's shown top changed: no new stamp
            assert q.updated_at >= last.updated_at
            last, last_shown = q, shown
    finally:
        chain.restore(snapshot)
