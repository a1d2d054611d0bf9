"""Stateful property tests of the whole market: random order flow of every order type (timed ones
too), cancels, stop triggering, call auctions, time, prices, settlement cycles, failing payers and
deliverers, suspensions, and
(``RiskMachine``) margin calls and defaults, on a full deployed system, with every invariant of
``smartccp.proof.invariants`` checked after every step.

The model: one reference book per security (``smartccp.trading.matching``, extended below so that
resting orders that can no longer match — expired, voided by ``cancelAll``, owner suspended — are
dropped when matching meets them, as the venue does), the orders the model signed, each trader's
counter and status, and the netting of every fill into its cycle's obligations. The venue must
produce exactly the model's fills (same buyer, seller, price, quantity and order hashes) and refuse
exactly what the model refuses, with the named error.

Order types: limit, hidden, iceberg, market (at most its protection price, never rests),
market-to-limit (the best opposite price only, the rest a limit there), and the stop types — stop,
stop-limit, market-if-touched — parked until the venue's last trade price reaches the trigger,
released by ``triggerOrders`` in the venue's order (rising triggers lowest first, then falling
ones highest first, the last price moving as each released order trades); times in force GTC,
IOC, FOK, day, good-till-date. Routes: both orders Direct settle gross (DVP) inside the match —
a leg that cannot move reverts the whole placement with the token's error, which the model
predicts from the wallets — and any other pair goes to the CCP.

Timing: the world starts at 00:30 and time moves in whole hours, so "now" is always HH:30 plus the
wall-clock drift of the run (minutes); every expiry, session end and cycle boundary is on the hour.
Whether an order is expired when a transaction lands is therefore never within minutes of a
boundary, and the model can decide it from ``chain.pending_timestamp``.

Budget: ``SMARTCCP_FUZZ=long`` runs a longer profile; the default (CI) profile runs at least
``MIN_STEPS`` market steps and ``MIN_RISK_STEPS`` risk steps (1,500 in total) and fails if it did
not (Hypothesis may stop an example early). ``SMARTCCP_FUZZ_EXAMPLES`` and
``SMARTCCP_FUZZ_RISK_EXAMPLES`` override the number of examples.

Risk rules: ``RiskMachine`` subclasses ``MarketMachine`` (see ``RISK_EXTENSION``); it adds the
pre-trade gate to the model and its own checks to the suite (``InvariantSuite.add``).

A released order that cannot run (it meets its owner's own order, or it is an unfillable
fill-or-kill) is cancelled alone by the venue, and the model expects exactly that.

Failing traders: up to three at a time (``SMARTCCP_FUZZ_MAX_FAILING``), so a cycle may hold a
failing seller and failing buyers of one security; that case once left the CCP with unbacked
custody (fixed, ``test_known_bugs.py``: the buy-in borrows the cash the pool lacks).
"""

from __future__ import annotations

import copy
import functools
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

import ape
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from proof_world import HOUR, INITIAL_MARGIN_CASH, FastSender, RiskWorld, World

from smartccp.chain.errors import refusal
from smartccp.chain.multicall import Multicall
from smartccp.chain.rpc import Rpc
from smartccp.clearing.ccp import run_cycle
from smartccp.proof.invariants import Expectation, InvariantSuite, InvariantViolation, SignedOrder
from smartccp.risk.chain import initial_margin_with_orders, order_margin, sign_fund_transfer
from smartccp.trading.matching import Entry, Fill, Level, ReferenceBook, Refused
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY, CyclePhase, OrderType, Route, Side, TimeInForce, TradingPhase

LONG = os.environ.get("SMARTCCP_FUZZ", "") == "long"
MAX_EXAMPLES = int(os.environ.get("SMARTCCP_FUZZ_EXAMPLES", 300 if LONG else 32))
STEPS_PER_EXAMPLE = 60 if LONG else 50
#: The CI profile runs at least MIN_STEPS + MIN_RISK_STEPS = 1,500 steps in total (issue #8).
MIN_STEPS = 1_000
RISK_EXAMPLES = int(os.environ.get("SMARTCCP_FUZZ_RISK_EXAMPLES", 150 if LONG else 16))
MIN_RISK_STEPS = 500

#: Where risk rules plug in (margin, default fund): a subclass adds @rule methods that move
#: margin and declare defaults, and registers its invariants with ``self.suite.add(...)``.
RISK_EXTENSION = "subclass MarketMachine; add rules; self.suite.add(name, check)"


# ─── The model's book: the reference matcher, with dead makers dropped when met ─────────────


@dataclass(frozen=True)
class ModelFill:
    fill: Fill
    taker: bytes
    maker: bytes
    bid: bytes
    offer: bytes


class ModelBook(ReferenceBook):
    """``ReferenceBook`` whose matching drops makers that can no longer match (the venue's
    ``_deadReason``) instead of trading with them, and records which orders traded. ``fills`` and
    ``dropped`` accumulate over one transaction (a trigger call runs several takers): ``begin``
    resets them, ``save``/``restore`` undo a transaction the venue would revert."""

    def __init__(self, is_dead, cross_failure=None) -> None:  # noqa: ANN001
        super().__init__()
        self.is_dead = is_dead
        if cross_failure is not None:
            self.cross_failure = cross_failure
        self.taker: bytes = b""
        self.taker_side = "buy"
        self.fills: list[ModelFill] = []
        self.dropped: list[tuple[bytes, int]] = []
        self.partial: list[ModelFill] = []  # fills of a refused taker, up to its refusal

    def begin(self) -> None:
        self.fills, self.dropped, self.partial = [], [], []

    def save(self):  # noqa: ANN201
        return copy.deepcopy(self.levels), list(self.fills), list(self.dropped)

    def restore(self, saved) -> None:  # noqa: ANN001
        levels, fills, dropped = saved
        self.levels, self.fills, self.dropped = copy.deepcopy(levels), list(fills), list(dropped)

    def place(self, owner, side, tick, quantity, *, ref=None, **kw):  # noqa: ANN001
        self.taker, self.taker_side = ref, side
        n_fills, n_dropped = len(self.fills), len(self.dropped)
        try:
            return super().place(owner, side, tick, quantity, ref=ref, **kw)
        except Refused:
            # The fills before the refusal settled (direct ones gross) before the venue reverted:
            # a failing direct DVP among them is the error the venue reports.
            self.partial = self.fills[n_fills:]
            del self.fills[n_fills:], self.dropped[n_dropped:]
            raise

    def run(self, owner, side, tick, quantity, *, otype, tif, peak=0, ref=None) -> int:  # noqa: ANN001
        """The venue's ``_run`` for one taker of order type ``otype`` ("limit", "market", "mtl",
        "hidden", "iceberg") and time in force ``tif`` ("gtc", "ioc", "fok"; day and good-till-date
        orders rest like "gtc" with an expiry): match, then rest or cancel what is left. Returns
        the units left unfilled and not resting (cancelled by the venue)."""
        opposite = "sell" if side == "buy" else "buy"
        if otype == "mtl":  # takes the best opposite price only; the rest becomes a limit there
            lv = self.levels[opposite]
            if lv:
                best = min(lv) if side == "buy" else max(lv)
                if (best <= tick) if side == "buy" else (best >= tick):
                    tick = best
        immediate = tif in ("ioc", "fok") or otype in ("market", "mtl")
        n_fills = len(self.fills)
        fills = self.place(owner, side, tick, quantity, tif="fok" if tif == "fok" else "ioc" if immediate else "gtc",
                           hidden=otype == "hidden", peak=peak if otype == "iceberg" else 0, ref=ref)
        left = quantity - sum(f.quantity for f in fills)
        assert len(self.fills) - n_fills == len(fills)
        if not left:
            return 0
        if otype == "mtl" and fills and tif not in ("ioc", "fok"):
            self.levels[side].setdefault(tick, Level()).displayed.append(Entry(owner, left, ref=ref))
            return 0
        if not immediate:
            # A remainder never rests crossing the book (the maker bound stopped matching early).
            lv = self.levels[opposite]
            if lv and ((min(lv) <= tick) if side == "buy" else (max(lv) >= tick)):
                self.remove(ref)
                return left
            return 0
        return left

    def on_fill(self, fill: Fill, maker: Entry) -> None:
        bid, offer = (self.taker, maker.ref) if self.taker_side == "buy" else (maker.ref, self.taker)
        self.fills.append(ModelFill(fill, self.taker, maker.ref, bid, offer))

    def on_cross(self, fill: Fill, bid: Entry, offer: Entry) -> None:
        # An auction fill has no taker: both orders rested.
        self.fills.append(ModelFill(fill, bid.ref, offer.ref, bid.ref, offer.ref))

    def entries(self) -> list[tuple[str, int, Entry]]:
        return [(side, tick, e) for side, lv in self.levels.items() for tick, level in lv.items()
                for q in (level.displayed, level.hidden) for e in q]

    def remove(self, ref: bytes) -> int:
        """Take an order off the book (cancel, purge); returns the units it still had."""
        for side in ("buy", "sell"):
            for tick, level in list(self.levels[side].items()):
                for q in (level.displayed, level.hidden):
                    for e in list(q):
                        if e.ref == ref:
                            q.remove(e)
                            if level.empty():
                                del self.levels[side][tick]
                            return e.remaining + e.reserve
        raise KeyError(ref)


@dataclass(frozen=True)
class Parked:
    """A stop-type order waiting for its trigger: what it becomes when released."""

    owner: str
    side: str  # "buy" / "sell"
    otype: str  # "market" (stop, market-if-touched) or "limit" (stop-limit)
    tif: str
    tick: int  # limit (protection) tick
    quantity: int
    direction: str  # "rising" / "falling"
    trigger: int  # tick


@dataclass(frozen=True)
class Placed:
    owner: str
    sid: int
    side: Side
    quantity: int
    expiry: int  # 0 = none
    counter: int


KINDS = ("limit", "limit", "limit", "limit", "ioc", "fok", "hidden", "iceberg", "day", "gtd", "market", "mtl", "stop",
         "stop_limit", "mit")
#: Order types whose time in force is drawn separately (``tif``).
TYPED = {"market": OrderType.MARKET, "mtl": OrderType.MARKET_TO_LIMIT, "stop": OrderType.STOP,
         "stop_limit": OrderType.STOP_LIMIT, "mit": OrderType.MARKET_IF_TOUCHED}
STOPS = ("stop", "stop_limit", "mit")
TIFS = {"gtc": TimeInForce.GTC, "day": TimeInForce.DAY, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}
ORDER = dict(who=st.integers(0, 4), sid_i=st.integers(0, 1), buy=st.booleans(), offset=st.integers(-2, 2),
             lots=st.integers(1, 6), kind=st.sampled_from(KINDS), hours=st.integers(1, 12),
             trigger=st.integers(-3, 3), tif=st.sampled_from(["gtc", "gtc", "gtc", "day", "ioc", "fok"]),
             direct=st.booleans(), timed=st.sampled_from([0, 0, 0, 0, -1, 1]))
#: Parked orders one triggerOrders call may release.
MAX_TRIGGERS = 8
TIME = dict(hours=st.sampled_from([1, 3, 9, 24, 30, 48]))
REVOKE = dict(who=st.integers(0, 4), what=st.sampled_from(["cash", "units", "both"]))
MOVE = dict(who=st.integers(0, 4), sid_i=st.integers(-1, 1))
UNCROSS = dict(pick=st.integers(0, 1), chunk=st.sampled_from([2, 8, 64]))
AUCTION_ORDER = dict(who=st.integers(0, 4), buy=st.booleans(), offset=st.integers(-2, 2), lots=st.integers(1, 6),
                     kind=st.sampled_from(["limit", "limit", "hidden", "iceberg", "day", "gtd", "ioc"]),
                     direct=st.booleans())


def expect_refusal(error: str, contract, method: str, *args, sender) -> None:  # noqa: ANN001
    """``contract.method(*args)`` from ``sender`` must revert with the custom error ``error``.
    Simulated (``eth_call``): a refusal changes nothing by definition, and sending it through ape
    would cost a call trace per refusal; the bad-input catalogue sends real reverting
    transactions instead and checks that nothing changed."""
    got = refusal(contract, method, *args, sender=sender)
    assert got == error, f"{method}: expected refusal {error}, got {got}"


#: Extra copies of a rule (Hypothesis picks among enabled rules uniformly and disables a random
#: subset per example): order flow dominates, and time, settlement and failures must be common
#: enough that most examples settle a cycle with a failing member in it.
EXTRA_WEIGHT = {"place_order": 20, "trigger_orders": 2, "time_moves": 4, "settle_due_cycles": 4, "revoke_ccp_allowance": 5,
                "move_assets_away": 3, "uncross": 1, "auction_order": 6}


def _alias(name: str, i: int, strategies: dict):  # noqa: ANN202
    def alias(self, **kw):  # noqa: ANN001, ANN003
        getattr(self, name)(**kw)

    alias.__name__ = f"{name}_{i}"
    return rule(**strategies)(alias)


# ─── The state machine ──────────────────────────────────────────────────────────────────────


class MarketMachine(RuleBasedStateMachine):
    """One example = one trading history from the snapshot of the freshly funded world."""

    world: World  # set by the test before running
    steps = 0
    examples = 0
    stats: Counter = Counter()  # what the run covered: trades, settled cycles, failures, refusals

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.snapshot = ape.chain.snapshot()
        MarketMachine.examples += 1
        self.sys = w.system
        self.venue = w.system.venue
        self.ccp = w.system.ccp
        self.client = VenueClient(self.venue)
        self.sec = {s.sid: s for s in w.securities}
        self.addr = [str(t.address) for t in w.traders]
        self.rpc = Rpc.connected()
        self.suite = InvariantSuite(w.system, w.sids, start_block=0, provider=self.rpc)
        self.tx = FastSender(self.rpc)
        self.suite.poll()  # holders and issuance of the setup
        self.books = {sid: ModelBook(self._dead, functools.partial(self._cross_failure, sid)) for sid in w.sids}
        self.wallets: dict[str, list[int]] = {}  # cash, units of the security being uncrossed
        self.placed: dict[bytes, Placed] = {}
        self.signed: dict[bytes, SignedOrder] = {}
        self.route: dict[bytes, bool] = {}  # order hash -> Direct route
        self.parked: dict[int, dict[str, dict[int, list[bytes]]]] = {sid: {"rising": {}, "falling": {}} for sid in w.sids}
        self.parked_info: dict[bytes, Parked] = {}
        self.last = dict.fromkeys(w.sids, 0)  # last trade tick per security (what triggers stops)
        self.counter = dict.fromkeys(self.addr, 0)
        self.active = dict.fromkeys(self.addr, True)
        self.mid = {s.sid: s.base_tick for s in w.securities}
        self.obligations: dict[int, dict[tuple[int, str], list[int]]] = defaultdict(dict)
        self.settled: set[int] = set()
        self.cash_approved = dict.fromkeys(self.addr, True)
        self.units_approved = dict.fromkeys(self.addr, True)
        self.in_vault: dict[str, dict[str, int]] = {a: defaultdict(int) for a in self.addr}
        self.session_end = int(self.venue.sessionEnd())
        self.auction = dict.fromkeys(w.sids, False)  # in a call auction (PreOpen) collecting orders

    def teardown(self) -> None:
        ape.chain.restore(self.snapshot)

    # ── model helpers ──

    def now(self) -> int:
        """The time the next transaction lands at (to the hour: see the timing note)."""
        return int(self.rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16) + 1

    def _dead(self, ref: bytes) -> bool:
        p = self.placed[ref]
        return ((p.expiry != 0 and p.expiry < self.t) or p.counter != self.counter[p.owner]
                or not self.active[p.owner])

    def _cycle(self, sid: int) -> int:
        return self.t // DAY + self.sec[sid].lag_days

    def _book_fill(self, sid: int, f: Fill) -> None:
        cycle = self._cycle(sid)
        amount = f.quantity * f.tick * self.sec[sid].tick
        for account, q, c in ((f.buyer, f.quantity, -amount), (f.seller, -f.quantity, amount)):
            pos = self.obligations[cycle].setdefault((sid, account), [0, 0])
            pos[0] += q
            pos[1] += c

    def expectation(self) -> Expectation:
        resting = {}
        depth = {}
        for sid, book in self.books.items():
            for _side, _tick, e in book.entries():
                resting[e.ref] = (self.suite.ledger.rested[e.ref], e.owner, e.remaining, e.remaining + e.reserve)
            depth[sid] = ([(t * self.sec[sid].tick, s) for t, s in book.depth("buy")],
                          [(t * self.sec[sid].tick, s) for t, s in book.depth("sell")])
        open_obs: dict[str, int] = defaultdict(int)
        for cycle, keys in self.obligations.items():
            if cycle not in self.settled:
                for _sid, account in keys:
                    open_obs[account] += 1
        return Expectation(
            security_ids=self.world.sids,
            orders=self.signed,
            depth=depth,
            resting=resting,
            obligations={c: {k: tuple(v) for k, v in obs.items()} for c, obs in self.obligations.items()},
            open_obligations=dict(open_obs),
            parked={ref: p.quantity for ref, p in self.parked_info.items()},
        )

    # ── trading ──

    @rule(**ORDER)
    def place_order(self, who, sid_i, buy, offset, lots, kind, hours, trigger=0, tif="gtc", direct=False, timed=0):
        """Sign an order and submit it; the venue must fill, rest, park or refuse exactly as the
        model. ``timed``: valid from half an hour ago (-1, accepted as any order) or from half an
        hour ahead (1, refused until then)."""
        self.t = self.now()
        trader = self.world.traders[who]
        owner = str(trader.address)
        s = self.world.securities[sid_i]
        auction = self.auction[s.sid]
        if auction and kind in STOPS:
            return  # not generated while an auction collects orders
        tick = max(1, self.mid[s.sid] + offset)
        qty = lots * s.lot
        fields: dict = {"counter": self.counter[owner], "route": Route.DIRECT if direct else Route.CCP}
        if timed:
            fields["validFrom"] = self.t + timed * (HOUR // 2)
        otype, mtif = "limit", "gtc"  # the model's order type and time in force
        if kind == "ioc":
            fields["timeInForce"], mtif = TimeInForce.IOC, "ioc"
        elif kind == "fok":
            fields["timeInForce"], mtif = TimeInForce.FOK, "fok"
        elif kind == "hidden":
            fields["orderType"], otype = OrderType.HIDDEN, "hidden"
        elif kind == "iceberg" and lots > 1:
            fields.update(orderType=OrderType.ICEBERG, displayQuantity=s.lot)
            otype = "iceberg"
        elif kind == "day":
            fields["timeInForce"] = TimeInForce.DAY
        elif kind == "gtd":
            fields.update(timeInForce=TimeInForce.GTD, expiry=self.t + hours * HOUR - HOUR // 2)
        elif kind in TYPED:
            fields.update(orderType=TYPED[kind], timeInForce=TIFS[tif])
            mtif = tif if tif in ("ioc", "fok") else "gtc"
            otype = {"market": "market", "mtl": "mtl", "stop_limit": "limit"}.get(kind, "market")
        trigger_tick = 0
        if kind in STOPS:
            trigger_tick = max(1, (self.last[s.sid] or self.mid[s.sid]) + trigger)
            fields["triggerPrice"] = trigger_tick * s.tick
        day = fields.get("timeInForce") == TimeInForce.DAY
        side = Side.BUY if buy else Side.SELL
        mside = "buy" if buy else "sell"
        order = self.client.with_nonce(Order(owner=owner, securityId=s.sid, side=side, quantity=qty,
                                             price=tick * s.tick, **fields))
        h = self.client.hash(order)
        expiry = self.session_end if day else fields.get("expiry", 0)
        # Refusals before the book: validity, then the session end, then the owner's standing.
        # (The venue's order: not yet valid, expiry, then the owner, then its clearing member.)
        cm = self.world.clearing_member_of[owner]
        why = None
        if fields.get("validFrom", 0) > self.t:
            why = "OrderNotYetValid"
        elif day and self.session_end < self.t:
            why = "OrderExpired"
        elif auction and (mtif in ("ioc", "fok") or otype in ("market", "mtl")):
            why = "ImmediateOrderInAuction"
        elif not self.active[owner]:
            why = "MemberSuspended"
        elif not self.active[cm]:
            why = "ClearingMemberNotActive"
        book = self.books[s.sid]
        book.begin()
        saved = book.save()
        self.placed[h] = Placed(owner, s.sid, side, qty, expiry, self.counter[owner])
        self.route[h] = direct
        if why is None:
            why = self._gate(owner, s.sid, buy, qty, tick * s.tick)
        parked = None
        if why is None and kind in STOPS:
            direction = ("rising" if buy else "falling") if kind != "mit" else ("falling" if buy else "rising")
            last = self.last[s.sid]
            touched = last != 0 and (last >= trigger_tick if direction == "rising" else last <= trigger_tick)
            if not touched:
                parked = Parked(owner, mside, otype, mtif, tick, qty, direction, trigger_tick)
        if why is None and parked is None and auction:
            book.rest(owner, mside, tick, qty, hidden=otype == "hidden", peak=fields.get("displayQuantity", 0), ref=h)
        elif why is None and parked is None:
            try:
                book.run(owner, mside, tick, qty, otype=otype, tif=mtif, peak=fields.get("displayQuantity", 0), ref=h)
                self._check_dvp(s.sid, book.fills)
            except Refused as refused:
                # SelfTrade, FillOrKillNotFilled, a failing direct DVP: the venue's errors
                why = self._dvp_error(s.sid, book.fills + book.partial) or str(refused)
                book.restore(saved)
        if why is not None:
            del self.placed[h]
            signature = self.client.sign(order, trader)
            expect_refusal(why, self.venue, "placeOrder", order.as_tuple(), signature, 64, sender=trader)
            MarketMachine.stats[f"refused {why}"] += 1
            return
        self.tx(self.venue, "placeOrder", order.as_tuple(), self.client.sign(order, trader), 64, sender=trader)
        self._gate_passed()
        self.signed[h] = SignedOrder(owner, s.sid, int(side), qty, tick * s.tick, int(direct))
        MarketMachine.stats[f"accepted {kind}{' direct' if direct else ''}"] += 1
        MarketMachine.stats["accepted while an auction collects"] += auction
        MarketMachine.stats["accepted timed (valid from the past)"] += timed == -1
        ledger = self.suite.poll()
        if parked is not None:
            self.parked[s.sid][parked.direction].setdefault(trigger_tick, []).append(h)
            self.parked_info[h] = parked
            assert h in ledger.parked, "a stop-type order the model parks was not parked on chain"
            MarketMachine.stats["parked"] += 1
        elif kind in STOPS:
            MarketMachine.stats["stop-type triggered at entry"] += 1
        self._compare_fills(s.sid, ledger)

    def _gate(self, owner: str, sid: int, buy: bool, quantity: int, price: int) -> str | None:
        """The pre-trade risk gate's refusal of an order, if any (none in this world)."""
        return None

    def _gate_passed(self) -> None:
        """After an accepted placement: what the gate must have recorded (nothing here)."""

    def _compare_fills(self, sid: int, ledger) -> None:  # noqa: ANN001
        """The venue's new trades equal the model's fills of this transaction; book them."""
        s, book = self.sec[sid], self.books[sid]
        got = [(str(t["buyer"]).lower(), str(t["seller"]).lower(), t["price"], t["quantity"],
                bytes(t["bidOrderHash"]), bytes(t["offerOrderHash"])) for t in ledger.new_trades]
        want = []
        for mf in book.fills:
            f = mf.fill
            want.append((f.buyer.lower(), f.seller.lower(), f.tick * s.tick, f.quantity, mf.bid, mf.offer))
            if self.route[mf.bid] and self.route[mf.offer]:
                MarketMachine.stats["trades settled direct (gross DVP)"] += 1
            else:
                self._book_fill(sid, f)
                if self.route[mf.bid] or self.route[mf.offer]:
                    MarketMachine.stats["trades mixed route (CCP)"] += 1
        assert got == want, f"venue fills {got} != model fills {want}"
        if book.fills:
            self.last[sid] = book.fills[-1].fill.tick
        MarketMachine.stats["trades"] += len(got)
        MarketMachine.stats["dead makers dropped by matching"] += len(book.dropped)
        for ref, _units in book.dropped:
            assert ledger.cancelled[ref] > 0, "a dead maker the model dropped was not cancelled on chain"

    def _check_dvp(self, sid: int, fills: list[ModelFill]) -> None:
        """Direct trades settle gross inside the match, one after the other: the first whose cash
        or units cannot move reverts the whole transaction with the token's error."""
        direct = [mf for mf in fills if self.route[mf.bid] and self.route[mf.offer]]
        if not direct:
            return
        wallet = self._read_wallets(sid)
        for mf in direct:
            why = self._gross_refusal(wallet, sid, mf.fill)
            if why:
                raise Refused(why)

    def _read_wallets(self, sid: int) -> dict[str, list[int]]:
        m = Multicall(self.rpc)
        for a in self.addr:
            m.add(self.sys.cash, "balanceOf", a)
            m.add(self.sys.securities, "balanceOf", a, sid)
        out = iter(m.run())
        return {a: [next(out), next(out)] for a in self.addr}

    def _gross_refusal(self, wallet: dict[str, list[int]], sid: int, f: Fill) -> str | None:
        """The token error a gross DVP of ``f`` meets (cash leg first), or None: then ``wallet``
        is moved by it."""
        amount = f.quantity * f.tick * self.sec[sid].tick
        if not self.cash_approved[f.buyer]:
            return "ERC20InsufficientAllowance"
        if wallet[f.buyer][0] < amount:
            return "ERC20InsufficientBalance"
        if not self.units_approved[f.seller]:
            return "ERC1155MissingApprovalForAll"
        if wallet[f.seller][1] < f.quantity:
            return "ERC1155InsufficientBalance"
        wallet[f.buyer][0] -= amount
        wallet[f.seller][0] += amount
        wallet[f.seller][1] -= f.quantity
        wallet[f.buyer][1] += f.quantity
        return None

    def _cross_failure(self, sid: int, fill: Fill, bid: Entry, offer: Entry) -> str | None:
        """In an uncross a Direct pair settles gross; the party whose token refuses has its order
        withdrawn (VenueAuctions._settleGross)."""
        if not (self.route[bid.ref] and self.route[offer.ref]):
            return None
        why = self._gross_refusal(self.wallets, sid, fill)
        if why is None:
            return None
        MarketMachine.stats[f"auction orders withdrawn ({why})"] += 1
        return "buy" if why.startswith("ERC20") else "sell"

    def _dvp_error(self, sid: int, fills: list[ModelFill]) -> str | None:
        try:
            self._check_dvp(sid, fills)
        except Refused as refused:
            return str(refused)
        return None

    def _pop_triggered(self, sid: int) -> bytes | None:
        """The venue's next parked order to release: rising triggers lowest first while at or
        below the last price, then falling ones highest first while at or above it."""
        last = self.last[sid]
        if not last:
            return None
        pk = self.parked[sid]
        if pk["rising"] and min(pk["rising"]) <= last:
            d, tick = "rising", min(pk["rising"])
        elif pk["falling"] and max(pk["falling"]) >= last:
            d, tick = "falling", max(pk["falling"])
        else:
            return None
        queue = pk[d][tick]
        ref = queue.pop(0)
        if not queue:
            del pk[d][tick]
        return ref

    @rule(sid_i=st.integers(0, 1))
    def trigger_orders(self, sid_i):
        """A keeper releases parked orders whose trigger the last trade price reached; each runs
        as a market (stop, market-if-touched) or limit (stop-limit) order."""
        self.t = self.now()
        sid = self.world.sids[sid_i]
        if self.auction[sid]:
            expect_refusal("WrongPhase", self.venue, "triggerOrders", sid, MAX_TRIGGERS, 64, sender=self.world.keeper)
            return
        book = self.books[sid]
        book.begin()
        saved = (book.save(), copy.deepcopy(self.parked[sid]), self.last[sid])
        released, dead, alone, why = [], [], [], None
        MarketMachine.stats["trigger calls"] += 1
        try:
            while len(released) + len(dead) + len(alone) < MAX_TRIGGERS:
                ref = self._pop_triggered(sid)
                if ref is None:
                    break
                p = self.parked_info[ref]
                if self._dead(ref):
                    dead.append(ref)
                    continue
                before = len(book.fills)
                try:
                    book.run(p.owner, p.side, p.tick, p.quantity, otype=p.otype, tif=p.tif, ref=ref)
                except Refused as refused:
                    # Runs in its own frame: a self-trade or an unfillable fill-or-kill cancels this
                    # order alone; a failing direct DVP before that reverts the whole call.
                    dvp = self._dvp_error(sid, book.fills + book.partial)
                    if dvp:
                        raise Refused(dvp) from refused
                    alone.append((ref, str(refused)))
                    continue
                released.append(ref)
                if len(book.fills) > before:
                    self.last[sid] = book.fills[-1].fill.tick
            self._check_dvp(sid, book.fills)
        except Refused as refused:
            why = str(refused)
        if why is not None:
            book.restore(saved[0])
            self.parked[sid], self.last[sid] = saved[1], saved[2]
            expect_refusal(why, self.venue, "triggerOrders", sid, MAX_TRIGGERS, 64, sender=self.world.keeper)
            MarketMachine.stats[f"trigger call refused {why}"] += 1
            return
        self.last[sid] = saved[2]  # _compare_fills sets it from the fills again
        self.tx(self.venue, "triggerOrders", sid, MAX_TRIGGERS, 64, sender=self.world.keeper)
        ledger = self.suite.poll()
        for ref in released:
            assert ref in ledger.triggered, "an order the model releases was not triggered on chain"
            del self.parked_info[ref]
        for ref in dead:
            assert ledger.cancelled[ref] == self.parked_info.pop(ref).quantity, "a dead parked order was not dropped"
        for ref, reason in alone:
            assert ref in ledger.triggered and ledger.cancelled[ref] == self.parked_info.pop(ref).quantity, \
                f"a released order that cannot run ({reason}) was not cancelled alone"
            MarketMachine.stats[f"released orders cancelled alone ({reason})"] += 1
        MarketMachine.stats["parked orders triggered"] += len(released)
        MarketMachine.stats["dead parked orders dropped"] += len(dead)
        self._compare_fills(sid, ledger)

    @precondition(lambda self: self.parked_info)
    @rule(pick=st.integers(0, 10_000), a=st.integers(0, 4), b=st.integers(0, 4))
    def trade_through_a_trigger(self, pick, a, b):
        """Two traders trade at a parked order's trigger (the resting side first, then the other
        side's IOC, so every fill is on the trigger's side of it), then a keeper triggers."""
        ref = sorted(self.parked_info)[pick % len(self.parked_info)]
        p, sid = self.parked_info[ref], self.placed[ref].sid
        if a == b:
            return
        sid_i = self.world.sids.index(sid)
        offset = p.trigger - self.mid[sid]
        rest_buys = p.direction == "rising"  # a bid rests at the trigger, a sell takes it: fills >= trigger
        self.place_order(a, sid_i, rest_buys, offset, 1, "limit", 1)
        self.place_order(b, sid_i, not rest_buys, offset, 1, "ioc", 1)
        self.trigger_orders(sid_i)
        MarketMachine.stats["trades through a trigger"] += 1

    # ── call auction ──

    @rule(sid_i=st.integers(0, 1), bidder=st.integers(0, 4), seller=st.integers(0, 4), lots=st.integers(1, 4),
          direct=st.sampled_from([(False, False), (True, True), (True, False)]))
    def open_call_auction(self, sid_i, bidder, seller, lots, direct):
        """The operator stops continuous trading for a call auction: orders rest without
        matching (crossed books allowed) until the uncross. Two orders that cross (a bid a tick
        above the mid, an offer a tick below) arrive first, so that most auctions trade."""
        sid = self.world.sids[sid_i]
        if self.auction[sid]:
            expect_refusal("WrongPhase", self.venue, "setPhase", sid, TradingPhase.CONTINUOUS, sender=self.world.operator)
            return
        self.tx(self.venue, "setPhase", sid, TradingPhase.PRE_OPEN, sender=self.world.operator)
        self.auction[sid] = True
        MarketMachine.stats["call auctions opened"] += 1
        self.place_order(bidder, sid_i, True, 1, lots, "limit", 4, direct=direct[0])
        self.place_order(seller, sid_i, False, -1, lots, "limit", 4, direct=direct[1])

    @rule(**AUCTION_ORDER)
    def auction_order(self, who, buy, offset, lots, kind, direct):
        """An order for a security whose call auction is collecting (none open: nothing), priced
        at or through the mid (bids at or above it, offers at or below), so that auction books
        cross."""
        open_ = [sid for sid in self.world.sids if self.auction[sid]]
        if open_:
            sid_i = self.world.sids.index(open_[(who + lots) % len(open_)])
            self.place_order(who, sid_i, buy, abs(offset) if buy else -abs(offset), lots, kind, 4, direct=direct)

    @rule(**UNCROSS)
    def uncross(self, pick, chunk):
        """The operator uncrosses (in chunks of ``chunk`` fills): one price, the model's
        (``ReferenceBook.uncross``) fills in order, then continuous trading. A Direct order whose
        owner cannot pay or deliver gross is withdrawn and the uncross goes on."""
        open_ = [sid for sid in self.world.sids if self.auction[sid]]
        if not open_:
            expect_refusal("WrongPhase", self.venue, "uncross", self.world.sids[pick], chunk, sender=self.world.operator)
            return
        sid = open_[pick % len(open_)]
        self.t = self.now()
        book = self.books[sid]
        book.begin()
        self.wallets = self._read_wallets(sid)
        _tick, volume, fills = book.uncross(self.last[sid])
        while int(self.venue.phaseOf(sid)) != int(TradingPhase.CONTINUOUS):
            self.tx(self.venue, "uncross", sid, chunk, sender=self.world.operator)
        self.auction[sid] = False
        assert sum(f.quantity for f in fills) <= volume
        self._compare_fills(sid, self.suite.poll())
        MarketMachine.stats["call auctions uncrossed"] += 1
        MarketMachine.stats["auction fills"] += len(fills)

    def _cancellable(self) -> list[tuple[int, bytes, str, bool]]:
        """(security, order hash, owner, parked) of every resting and parked order."""
        out = [(sid, e.ref, e.owner, False) for sid, b in self.books.items() for _s, _t, e in b.entries()]
        out += [(self.placed[ref].sid, ref, p.owner, True) for ref, p in self.parked_info.items()]
        return out

    @precondition(lambda self: any(b.entries() for b in self.books.values()) or self.parked_info)
    @rule(pick=st.integers(0, 10_000))
    def cancel_order(self, pick):
        entries = self._cancellable()
        sid, ref, owner, parked = entries[pick % len(entries)]
        ledger = self.suite.ledger
        self.tx(self.venue, "cancelOrder", ledger.parked[ref] if parked else ledger.rested[ref], sender=owner)
        if parked:
            p = self.parked_info.pop(ref)
            level = self.parked[sid][p.direction][p.trigger]
            level.remove(ref)
            if not level:
                del self.parked[sid][p.direction][p.trigger]
            MarketMachine.stats["parked orders cancelled"] += 1
        else:
            self.books[sid].remove(ref)

    @precondition(lambda self: any(b.entries() for b in self.books.values()) or self.parked_info)
    @rule(pick=st.integers(0, 10_000), who=st.integers(0, 4))
    def cancel_someone_elses_order__refused(self, pick, who):
        entries = self._cancellable()
        _sid, ref, owner, parked = entries[pick % len(entries)]
        intruder = self.world.traders[who]
        if str(intruder.address) == owner:
            return
        ledger = self.suite.ledger
        expect_refusal("NotOrderOwner", self.venue, "cancelOrder", ledger.parked[ref] if parked else ledger.rested[ref],
                       sender=intruder)

    @rule(who=st.integers(0, 4))
    def cancel_all(self, who):
        trader = self.world.traders[who]
        self.tx(self.venue, "cancelAll", sender=trader)
        self.counter[str(trader.address)] += 1

    @rule()
    def purge_dead_orders(self):
        self.t = self.now()
        dead = [(sid, e.ref) for sid, b in self.books.items() for _s, _t, e in b.entries() if self._dead(e.ref)]
        if not dead:
            live = [e.ref for b in self.books.values() for _s, _t, e in b.entries()]
            if live:
                expect_refusal("OrderStillValid", self.venue, "purge", [self.suite.ledger.rested[live[0]]],
                               sender=self.world.keeper)
            return
        self.tx(self.venue, "purge", [self.suite.ledger.rested[ref] for _sid, ref in dead[:100]], sender=self.world.keeper)
        for sid, ref in dead[:100]:
            self.books[sid].remove(ref)

    @rule(sid_i=st.integers(0, 1), move=st.integers(-3, 3))
    def price_moves(self, sid_i, move):
        s = self.world.securities[sid_i]
        self.mid[s.sid] = max(4, self.mid[s.sid] + move)
        self.tx(self.world.market, "setPrice", s.sid, self.mid[s.sid] * s.tick, sender=self.world.operator)

    @rule(**TIME)
    def time_moves(self, hours):
        self.tx.warp(self.now() + hours * HOUR)

    @rule()
    def new_session(self):
        self.session_end = self.now() + 8 * HOUR - HOUR // 2
        self.tx(self.venue, "setSessionEnd", self.session_end, sender=self.world.operator)

    # ── standing ──

    @rule(who=st.integers(0, 4))
    def suspend_or_reinstate(self, who):
        account = self.addr[who]
        if self.active[account]:
            self.tx(self.sys.membership, "suspend", account, sender=self.world.operator)
        else:
            self.tx(self.sys.membership, "reinstate", account, sender=self.world.operator)
        self.active[account] = not self.active[account]

    # ── failing to pay or deliver ──

    #: How many traders may be failing (allowance withdrawn or assets moved away) at once. Three:
    #: a failing seller with failing buyers in one security and cycle is the case the long
    #: profile once found unbacked custody in (fixed, test_known_bugs.py).
    MAX_FAILING = int(os.environ.get("SMARTCCP_FUZZ_MAX_FAILING", 3))

    def _may_fail(self, who: int) -> bool:
        failing = {a for a in self.addr if not (self.cash_approved[a] and self.units_approved[a])
                   or any(self.in_vault[a].values())}
        return len(failing - {self.addr[who]}) < self.MAX_FAILING

    @rule(**REVOKE)
    def revoke_ccp_allowance(self, who, what):
        if not self._may_fail(who):
            return
        t = self.world.traders[who]
        if what in ("cash", "both"):
            self.tx(self.sys.cash, "approve", str(self.ccp.address), 0, sender=t)
            self.cash_approved[str(t.address)] = False
        if what in ("units", "both"):
            self.tx(self.sys.securities, "setApprovalForAll", str(self.ccp.address), False, sender=t)
            self.units_approved[str(t.address)] = False

    @rule(**MOVE)
    def move_assets_away(self, who, sid_i):
        """Cash (sid_i -1) or all units of a security to the vault; a suspended owner cannot."""
        if not self._may_fail(who):
            return
        t = self.world.traders[who]
        owner = str(t.address)
        vault = self.world.vault
        if sid_i < 0:
            amount = int(self.sys.cash.balanceOf(t))
            if amount == 0:
                return
            if not self.active[owner]:
                return expect_refusal("MemberSuspended", self.sys.cash, "transfer", str(vault.address), amount, sender=t)
            self.tx(self.sys.cash, "transfer", str(vault.address), amount, sender=t)
            self.in_vault[owner]["cash"] += amount
        else:
            sid = self.world.sids[sid_i]
            amount = int(self.sys.securities.balanceOf(t, sid))
            if amount == 0:
                return
            if not self.active[owner]:
                return expect_refusal("MemberSuspended", self.sys.securities, "safeTransferFrom", owner,
                                      str(vault.address), sid, amount, b"", sender=t)
            self.tx(self.sys.securities, "safeTransferFrom", owner, str(vault.address), sid, amount, b"", sender=t)
            self.in_vault[owner][f"security:{sid}"] += amount

    @rule(who=st.integers(0, 4))
    def make_good(self, who):
        """Approve the CCP again and bring back what was moved to the vault (only once active)."""
        t = self.world.traders[who]
        owner = str(t.address)
        if not self.active[owner]:
            return
        self.tx(self.sys.cash, "approve", str(self.ccp.address), 2**256 - 1, sender=t)
        self.tx(self.sys.securities, "setApprovalForAll", str(self.ccp.address), True, sender=t)
        self.cash_approved[owner] = self.units_approved[owner] = True
        for key, amount in list(self.in_vault[owner].items()):
            if amount == 0:
                continue
            if key == "cash":
                self.tx(self.sys.cash, "transfer", owner, amount, sender=self.world.vault)
            else:
                sid = int(key.split(":")[1])
                self.tx(self.sys.securities, "safeTransferFrom", str(self.world.vault.address), owner, sid, amount, b"",
                        sender=self.world.vault)
            self.in_vault[owner][key] = 0

    @rule(who=st.integers(0, 4), what=st.sampled_from(["cash", "units"]), sid_i=st.integers(0, 1))
    def member_fails_to_settle(self, who, what, sid_i):
        """A whole default scenario in one step (so that most runs close out a failure): the trader
        withdraws its CCP allowance, trades against the best opposite order, and the cycle is
        settled two days later."""
        if not self._may_fail(who):
            return
        self.revoke_ccp_allowance(who, what)
        s = self.world.securities[sid_i]
        buy = what == "cash"  # a buyer that will not pay, or a seller that will not deliver
        opposite = self.books[s.sid].levels["sell" if buy else "buy"]
        if opposite:
            best = min(opposite) if buy else max(opposite)
            self.place_order(who, sid_i, buy, best - self.mid[s.sid], 1, "ioc", 1)
        self.time_moves(48)
        self.settle_due_cycles()

    # ── pre-funding ──

    @rule(who=st.integers(0, 4), amount=st.integers(1, 5_000))
    def prefund_cash(self, who, amount):
        t = self.world.traders[who]
        owner = str(t.address)
        amount *= 1_000_000
        if not self.cash_approved[owner]:
            return expect_refusal("ERC20InsufficientAllowance", self.ccp, "prefundCash", amount, sender=t)
        if int(self.sys.cash.balanceOf(t)) < amount:
            return
        # A suspended member may still lock cash in the CCP: the CCP (a system account) moves it.
        self.tx(self.ccp, "prefundCash", amount, sender=t)

    @rule(who=st.integers(0, 4))
    def withdraw_cash(self, who):
        t = self.world.traders[who]
        owner = str(t.address)
        held, _reserved, open_obs = self.ccp.prefunded(t)
        if held == 0:
            return expect_refusal("ZeroAmount", self.ccp, "withdrawCash", 0, sender=t)
        if open_obs:
            return expect_refusal("PrefundLocked", self.ccp, "withdrawCash", held, sender=t)
        if not self.active[owner]:
            return expect_refusal("MemberSuspended", self.ccp, "withdrawCash", held, sender=t)
        self.tx(self.ccp, "withdrawCash", held, sender=t)

    # ── settlement ──

    @rule()
    def settle_due_cycles(self):
        now = self.now()
        due = sorted(c for c in self.obligations if c not in self.settled and (c + 1) * DAY <= now)
        if not due:
            pending = [c for c in self.obligations if c not in self.settled]
            if pending:
                c = min(pending)
                expect_refusal("CycleNotDue", self.ccp, "settleCycle", c, 10, sender=self.world.keeper)
            return
        for cycle in due:
            before = self.suite.read(cycles=[cycle])
            report = run_cycle(self.ccp, cycle, self.world.keeper, chunk=40)
            self.suite.poll()
            after = self.suite.read(cycles=[cycle])
            assert report.phase == CyclePhase.SETTLED
            self.settled.add(cycle)
            self._check_settlement(cycle, before, after)
            MarketMachine.stats["cycles settled"] += 1
            MarketMachine.stats["obligations settled"] += report.obligations
            MarketMachine.stats["obligations failed (closed out)"] += report.failures
            MarketMachine.stats["pay-outs deferred"] += report.events.get("PayOutDeferred", 0)
            MarketMachine.stats["cycles with 2+ failures"] += report.failures >= 2
            MarketMachine.stats["buy-ins on borrowed liquidity"] += report.events.get("LiquidityBorrowed", 0)
            assert self.ccp.liquidityBorrowed(cycle) == 0, f"cycle {cycle} settled owing the handler"
            # Re-running a settled cycle is a no-op; calling settleCycle again is refused.
            assert run_cycle(self.ccp, cycle, self.world.keeper).transactions == 0
            expect_refusal("CycleAlreadySettled", self.ccp, "settleCycle", cycle, 10, sender=self.world.keeper)

    def _check_settlement(self, cycle, before, after) -> None:
        """Each account that paid in full moved (wallet + CCP balance) exactly by its net
        obligations; the CCP is left holding custody only."""
        failed = {o.account for o in after.obligations[cycle] if o.failed}
        net: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for o in after.obligations[cycle]:
            net[o.account]["cash"] += o.cash
            net[o.account][f"security:{o.security_id}"] += o.quantity
        for account, deltas in net.items():
            if account in failed:
                continue
            for key in after.supply:
                moved = (after.balances[key][account] - before.balances[key][account]
                         + after.prefunded[key][account] - before.prefunded[key][account])
                assert moved == deltas.get(key, 0), f"cycle {cycle}: {account} {key} moved {moved}, net {deltas.get(key, 0)}"
        ccp = str(self.ccp.address)
        for key, total in after.custody.items():
            assert after.balances[key][ccp] == total, f"cycle {cycle}: CCP holds {key} beyond custody"

    # ── weights (see EXTRA_WEIGHT) ──

    for _name, _strategies in (("place_order", ORDER), ("trigger_orders", {"sid_i": st.integers(0, 1)}), ("time_moves", TIME), ("settle_due_cycles", {}),
                               ("revoke_ccp_allowance", REVOKE), ("move_assets_away", MOVE), ("uncross", UNCROSS),
                               ("auction_order", AUCTION_ORDER)):
        for _i in range(EXTRA_WEIGHT[_name]):
            locals()[f"{_name}_{_i}"] = _alias(_name, _i, _strategies)
    del _name, _strategies, _i

    # ── after every step ──

    @invariant()
    def all_invariants_hold(self):
        MarketMachine.steps += 1
        cycles = [c for c in self.obligations]
        self.suite.check(self.expectation(), cycles=cycles)
        # Parked orders as the chain's events show them: parked, neither released nor cancelled.
        ledger = self.suite.ledger
        for ref in self.parked_info:
            assert ref in ledger.parked and ref not in ledger.triggered and not ledger.cancelled.get(ref), \
                f"parked order {ref.hex()[:10]}: parked {ref in ledger.parked}, released {ref in ledger.triggered}, " \
                f"cancelled {ledger.cancelled.get(ref, 0)}"


# ─── The risk layer: margin calls and defaults on the real Margin and DefaultFund ───────────


LAYER_NAMES = ("defaulter margin", "defaulter fund", "skin in the game", "survivors' fund", "assessments", "uncovered")
MARGIN = dict(who=st.sampled_from([0, 1, 2, 3, 4]), amount=st.integers(20, 300), signed=st.booleans())


class RiskMachine(MarketMachine):
    """The market with its risk layer (``RISK_EXTENSION``): Margin is the venue's pre-trade gate
    and DefaultFund the CCP's default handler. Added rules: settlement prices and margin refresh
    (calls), deposits (plain and signed ``FundTransfer``), withdrawals, a missed call declared a
    default, contribution top-ups. Added checks after every step: every clearing member's
    collateral covers its requirement or a call is open (or it is in default); the waterfall's
    layers are used in order, each only once the ones before it are exhausted, and name every unit
    of each charged loss; Margin holds exactly its members' cash collateral and the fund exactly
    the paid contributions and the skin in the game."""

    risk: RiskWorld  # set by the test

    def __init__(self) -> None:
        super().__init__()
        r = self.risk
        self.margin, self.fund = r.margin, r.fund
        self.members = [str(m.address) for m in r.members]
        self.defaulted: set[str] = set()
        self.worst = {sid: (min(v), max(v)) for sid, v in r.shocks.items()}
        self.settlement_price = {s.sid: s.base_tick * s.tick for s in self.world.securities}
        self.seen_layers = 0
        self.suite.add("risk: collateral, waterfall, custody", self._check_risk)

    # ── reads ──

    def _risk_read(self) -> dict:
        """Margin status, contributions (required, paid) of every clearing member and the skin in
        the game, in one ``eth_call``."""
        m = Multicall(self.rpc)
        for a in self.members:
            m.add(self.margin, "marginStatus", a)
        for a in self.members:
            m.add(self.fund, "contributionOf", a)
        m.add(self.fund, "skinInTheGame")
        out = m.run()
        n = len(self.members)
        return {"status": dict(zip(self.members, out[:n])), "contribution": dict(zip(self.members, out[n:2 * n])),
                "skin": out[2 * n]}

    def _status(self, members: list[str]) -> dict[str, tuple]:
        m = Multicall(self.rpc)
        for a in members:
            m.add(self.margin, "marginStatus", a)
        return {a: st_ for a, st_ in zip(members, m.run())}

    def _absorb_defaults(self) -> None:
        """Defaults the fund declared (a settlement shortfall, a declared default) suspend the
        member in the register: the model's standing follows."""
        for e in self.suite.poll().risk_events:
            if e[0] == "MemberDefaulted":
                who = str(e[1])
                if who not in self.defaulted:
                    self.defaulted.add(who)
                    self.active[who] = False
                    MarketMachine.stats[f"defaults ({e[2]})"] += 1

    # ── the gate ──

    def _gate(self, owner: str, sid: int, buy: bool, quantity: int, price: int) -> str | None:
        member = self.world.clearing_member_of[owner]
        (posted, required, pending, _im, _vm, _cash, _call, _deadline, defaulted, paid) = self._status([member])[member]
        if defaulted:
            return "MemberInDefault"
        if not paid:
            return "ContributionNotPaid"
        down, up = self.worst[sid]
        om = order_margin(quantity, price, self.settlement_price[sid], down if buy else up, buy)
        if required + pending + om > posted:
            return "InsufficientMargin"
        self.expect_pending = (member, pending + om)
        return None

    def _gate_passed(self) -> None:
        member, pending = self.expect_pending
        got = self._status([member])[member][2]
        assert got == pending, f"gate: {member} pending margin {got}, expected {pending}"

    # ── rules ──

    @rule()
    def margin_cycle(self):
        """Settlement prices (the model's mids) published, every clearing member's margin refreshed."""
        sids = self.world.sids
        prices = [self.mid[sid] * self.sec[sid].tick for sid in sids]
        self.tx(self.margin, "publishPrices", sids, prices, sender=self.world.operator)
        self.settlement_price.update(zip(sids, prices))
        for m in self.members:
            self.tx(self.margin, "refreshMargin", m, sender=self.world.keeper)
        status = self._status(self.members)
        reads = Multicall(self.rpc)
        for m in self.members:
            reads.add(self.margin, "positionsOf", m)
        for m, (ids, qty, buys, sells) in zip(self.members, reads.run()):
            # The on-chain IM equals the Python risk model's, on the positions Margin just read.
            if ids:
                want = initial_margin_with_orders(list(qty), list(buys), list(sells),
                                                  [self.settlement_price[i] for i in ids],
                                                  [self.risk.shocks[i] for i in ids])
                assert status[m][3] == want, f"margin: {m} IM {status[m][3]} != model {want}"
                MarketMachine.stats["IM checked against the Python model"] += 1
        calls = sum(1 for s_ in status.values() if s_[6])
        MarketMachine.stats["margin refreshes"] += len(self.members)
        MarketMachine.stats["margin calls open after a refresh"] += calls

    @rule(**MARGIN)
    def deposit_margin(self, who, amount, signed):
        t = self.world.traders[who]
        owner = str(t.address)
        amount *= 1_000_000
        if owner not in self.members:
            return expect_refusal("NotClearingMember", self.margin, "depositCash", amount, sender=t)
        if owner in self.defaulted or not self.active[owner] or int(self.sys.cash.balanceOf(t)) < amount:
            return
        if signed:
            transfer, signature = sign_fund_transfer(self.margin, t, amount, 0, self.now() + HOUR)
            self.tx(self.margin, "depositWithSignature", transfer, signature, sender=self.world.keeper)
        else:
            self.tx(self.margin, "depositCash", amount, sender=t)
        MarketMachine.stats[f"margin deposits{' (signed FundTransfer)' if signed else ''}"] += 1

    @rule(**MARGIN)
    def withdraw_margin(self, who, amount, signed):
        t = self.world.traders[who]
        owner = str(t.address)
        if owner not in self.members:
            return
        amount *= 1_000_000
        posted, required, pending, _im, _vm, held, *_rest, defaulted, _paid = self._status([owner])[owner]
        if defaulted:
            why = "MemberInDefault"
        elif amount > held:
            why = "InsufficientCollateral"
        elif posted < required + pending + amount:
            why = "InsufficientMargin"
        elif not self.active[owner]:
            why = "MemberSuspended"  # the cash token refuses a suspended receiver
        else:
            why = None
        if why is not None:
            MarketMachine.stats[f"margin withdrawal refused {why}"] += 1
            return expect_refusal(why, self.margin, "withdrawCash", amount, sender=t)
        self.tx(self.margin, "withdrawCash", amount, sender=t)
        MarketMachine.stats["margin withdrawals"] += 1

    @rule(who=st.integers(0, 3))
    def missed_margin_call__default(self, who):
        """A member lets its call run past the deadline; anyone may then declare its default."""
        m = self.members[who]
        _p, _r, _pe, _im, _vm, _c, call, deadline, defaulted, _paid = self._status([m])[m]
        if not call or defaulted:
            if not defaulted and not int(self.fund.topUpDeadline(m)):
                expect_refusal("NoDefaultEvent", self.fund, "declareDefault", m, sender=self.world.keeper)
                MarketMachine.stats["declareDefault refused NoDefaultEvent"] += 1
            return
        self.tx.warp(max(self.now(), deadline) + HOUR)
        if not self.margin.callOverdue(m):
            return  # a refresh covered it meanwhile
        self.tx(self.fund, "declareDefault", m, sender=self.world.keeper)
        MarketMachine.stats["missed margin calls declared defaults"] += 1
        self._absorb_defaults()
        assert m in self.defaulted and not self.active[m]

    @rule(sid_i=st.integers(0, 1), pct=st.sampled_from([-30, -20, -10, 10, 20, 30]))
    def price_shock(self, sid_i, pct):
        """A large move (beyond the scenarios' worst 15 %): the close-out market's price moves with
        it, settlement prices are published and margins refreshed, so calls follow."""
        s = self.world.securities[sid_i]
        self.mid[s.sid] = max(4, self.mid[s.sid] * (100 + pct) // 100)
        self.tx(self.world.market, "setPrice", s.sid, self.mid[s.sid] * s.tick, sender=self.world.operator)
        self.margin_cycle()
        MarketMachine.stats["price shocks"] += 1

    @rule(who=st.integers(0, 3), severity=st.sampled_from([2, 4, 6]))
    def member_misses_margin_call(self, who, severity=2):
        """A whole default scenario in one step: the price of the member's largest open position
        (its clients' included) moves against it, a loss of ``severity`` / 2 times its margin;
        margins are refreshed, the member lets the
        call run out, a keeper declares its default, and its cycles settle two days later (its
        pay-in or the CCP's close-out, any loss charged down the waterfall)."""
        m = self.members[who]
        if m in self.defaulted:
            return
        # First it trades (CCP route) against the best order of the fuller side of ACME's book.
        acme = self.world.securities[0]
        book = self.books[acme.sid]
        sides = [sd for sd in ("sell", "buy") if book.levels[sd]]
        if sides:
            opposite = max(sides, key=lambda sd: sum(e.remaining for _s, _t, e in book.entries() if _s == sd))
            best = min(book.levels["sell"]) if opposite == "sell" else max(book.levels["buy"])
            self.place_order(self.addr.index(m), 0, opposite == "sell", best - self.mid[acme.sid], 3, "ioc", 1)
        net: dict[int, int] = defaultdict(int)
        for cycle, obs in self.obligations.items():
            if cycle in self.settled:
                continue
            for (sid, account), (q, _c) in obs.items():
                if self.world.clearing_member_of[account] == m:
                    net[sid] += q
        if not any(net.values()):
            return
        sid = max(net, key=lambda k: abs(net[k]) * self.sec[k].tick * self.mid[k])
        s = self.sec[sid]
        # A loss of severity / 2 times the margin posted (at most the initial margin): layers 1-3
        # and the survivors' fund cover it. Beyond them (assessments paid later, uncovered) the
        # CCP's pool stays short after the cycle by design (ICCPSettlement), which the core
        # checks would report, so such losses are not generated.
        posted = min(self._status([m])[m][0], INITIAL_MARGIN_CASH)
        move = -(-severity * posted // (2 * abs(net[sid]) * s.tick))
        self.mid[sid] = max(4, self.mid[sid] - move) if net[sid] > 0 else self.mid[sid] + move
        self.tx(self.world.market, "setPrice", sid, self.mid[sid] * s.tick, sender=self.world.operator)
        self.margin_cycle()
        MarketMachine.stats["margin-call scenarios"] += 1
        self.missed_margin_call__default(who)
        if m in self.defaulted and self._may_fail(self.addr.index(m)):
            self.revoke_ccp_allowance(self.addr.index(m), "both")  # and it does not settle either
        self.time_moves(48)
        self.settle_due_cycles()

    @rule(who=st.integers(0, 3))
    def top_up_contribution(self, who):
        m = self.members[who]
        required, paid = self.fund.contributionOf(m)
        if paid >= required or m in self.defaulted or not self.active[m]:
            return
        self.tx(self.fund, "contribute", required - paid, sender=m)
        MarketMachine.stats["contribution top-ups"] += 1

    def settle_due_cycles(self):
        super().settle_due_cycles()
        self._absorb_defaults()
        # Assessments (layer 5) are called now and paid to the CCP by the survivors at once.
        for m in self.members:
            due = int(self.fund.assessmentDue(m))
            if due:
                self.tx(self.fund, "payAssessment", due, sender=m)
                MarketMachine.stats["assessments paid"] += 1

    def suspend_or_reinstate(self, who):
        if self.addr[who] in self.defaulted:
            return  # the default manager's, not the operator's
        super().suspend_or_reinstate(who)

    for _name, _n, _strategies in (("margin_cycle", 1, {}), ("price_shock", 1, {"sid_i": st.integers(0, 1),
                                    "pct": st.sampled_from([-30, -20, -10, 10, 20, 30])}),
                                   ("missed_margin_call__default", 1, {"who": st.integers(0, 3)}),
                                   ("member_misses_margin_call", 3, {"who": st.integers(0, 3),
                                                                     "severity": st.sampled_from([2, 4, 6])})):
        for _i in range(_n):
            locals()[f"{_name}_{_i}"] = _alias(_name, _i, _strategies)
    del _name, _n, _strategies, _i

    # ── checks ──

    def _check_risk(self, state, ledger, expect) -> None:  # noqa: ANN001
        r = self._risk_read()
        self._check_collateral(r)
        self._check_waterfall(ledger, r)
        self._check_risk_custody(state, r)

    def _check_collateral(self, r: dict) -> None:
        """Every clearing member's collateral covers its requirement, or a call is open, or it is
        in default; the requirement is IM + VM."""
        for m, (posted, required, _pe, im, vm, _c, call, deadline, defaulted, _paid) in r["status"].items():
            if required != im + vm:
                raise InvariantViolation(f"collateral: {m} requirement {required} != IM {im} + VM {vm}")
            if posted < required and not (call and deadline) and not defaulted:
                raise InvariantViolation(f"collateral: {m} posts {posted} < required {required} and no call is open")

    def _check_waterfall(self, ledger, r: dict) -> None:  # noqa: ANN001
        """Per charged shortfall (its ``LayerUsed`` events up to its ``ShortfallCovered``): layers
        strictly in order, summing to the charge, layers 1-4 to what was covered; a layer is
        used only when every earlier one is exhausted (read now: the step refilled nothing)."""
        events = ledger.risk_events[self.seen_layers:]
        self.seen_layers = len(ledger.risk_events)
        used: list[tuple[str, int, int]] = []
        exhausted_needed: set[tuple[str, int]] = set()
        for e in events:
            if e[0] == "LayerUsed":
                used.append((str(e[1]), int(e[2]), int(e[3])))
            elif e[0] == "ShortfallCovered":
                defaulter, amount, covered = str(e[1]), int(e[2]), int(e[3])
                mine = [u for u in used if u[0] == defaulter]
                layers = [u[1] for u in mine]
                if layers != sorted(set(layers)):
                    raise InvariantViolation(f"waterfall: layers {layers} for {defaulter} not in order")
                if sum(u[2] for u in mine) != amount:
                    raise InvariantViolation(f"waterfall: layers name {sum(u[2] for u in mine)} of a {amount} loss")
                if sum(u[2] for u in mine if u[1] < 4) != covered:
                    raise InvariantViolation(f"waterfall: layers 1-4 paid {sum(u[2] for u in mine if u[1] < 4)} "
                                             f"!= covered {covered}")
                for layer in layers:
                    exhausted_needed.update((defaulter, earlier) for earlier in range(min(layer, 4)))
                    MarketMachine.stats[f"waterfall layer used: {LAYER_NAMES[layer]}"] += 1
                MarketMachine.stats["shortfalls charged to the fund"] += 1
                used = [u for u in used if u[0] != defaulter]
        if used:
            raise InvariantViolation(f"waterfall: layers used outside a covered shortfall: {used}")
        for defaulter, layer in exhausted_needed:
            if layer == 0:
                left = r["status"][defaulter][5]  # cash margin (what layer 1 seizes)
            elif layer == 1:
                left = r["contribution"][defaulter][1]
            elif layer == 2:
                left = r["skin"]
            else:
                left = sum(r["contribution"][m][1] for m in self.members if m not in self.defaulted)
            if left:
                raise InvariantViolation(f"waterfall: a later layer was used while {LAYER_NAMES[layer]} of "
                                         f"{defaulter} still holds {left}")

    def _check_risk_custody(self, state, r: dict) -> None:  # noqa: ANN001
        """Margin holds exactly its members' cash collateral; the fund exactly the paid
        contributions and the skin in the game."""
        held = sum(s_[5] for s_ in r["status"].values())
        margin_cash = state.balances["cash"].get(str(self.margin.address), 0)
        if margin_cash != held:
            raise InvariantViolation(f"risk custody: Margin holds {margin_cash} cash, members' cash collateral {held}")
        fund_cash = state.balances["cash"].get(str(self.fund.address), 0)
        want = sum(c[1] for c in r["contribution"].values()) + r["skin"]
        if fund_cash != want:
            raise InvariantViolation(f"risk custody: DefaultFund holds {fund_cash}, contributions + skin in the game {want}")


def _run(machine, world, examples: int):  # noqa: ANN001, ANN202
    machine.world = world
    MarketMachine.steps = MarketMachine.examples = 0
    MarketMachine.stats = Counter()
    started = time.perf_counter()
    # CI (not LONG) draws the same examples every run (derandomize): the model follows a live
    # chain, so a rare divergence between two examples with one prefix (Hypothesis reports it as
    # FlakyStrategyDefinition) must not make CI pass or fail by luck; the long profile explores.
    profile = settings(max_examples=examples, stateful_step_count=STEPS_PER_EXAMPLE, deadline=None,
                       database=None, suppress_health_check=list(HealthCheck), derandomize=not LONG)
    run_state_machine_as_test(machine, settings=profile)
    elapsed = time.perf_counter() - started
    steps = MarketMachine.steps - MarketMachine.examples  # the first check of each example precedes any step
    print(f"\n{machine.__name__}: {MarketMachine.examples} examples, {steps} steps, {MarketMachine.steps} checked "
          f"states in {elapsed:.1f} s ({'long' if LONG else 'CI'} profile)")
    for what, n in sorted(MarketMachine.stats.items()):
        print(f"  {what}: {n}")
    return steps


def test_market_state_machine(world):
    steps = _run(MarketMachine, world, MAX_EXAMPLES)
    assert steps >= MIN_STEPS, f"only {steps} steps: raise MAX_EXAMPLES"


def test_risk_state_machine(risk_world):
    RiskMachine.risk = risk_world
    steps = _run(RiskMachine, risk_world.world, RISK_EXAMPLES)
    assert steps >= MIN_RISK_STEPS, f"only {steps} steps: raise SMARTCCP_FUZZ_RISK_EXAMPLES"
