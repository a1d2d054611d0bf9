"""The state machine's model of the venue's books (``test_state_machine``): ``ModelBook``, the
reference matcher with dead makers dropped when matching meets them; what the model remembers of
each order it placed (``Placed``) or parked (``Parked``); and the tables of order kinds the
machine draws from."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from smartccp.trading.matching import Entry, Fill, Level, ReferenceBook, Refused
from smartccp.types import OrderType, Side, TimeInForce

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

    def __init__(self, is_dead, cross_failure=None, fill_failure=None) -> None:  # noqa: ANN001
        super().__init__()
        self.is_dead = is_dead
        if cross_failure is not None:
            self.cross_failure = cross_failure
        self._fill_failure = fill_failure
        self.taker: bytes = b""
        self.taker_side = "buy"
        self.fills: list[ModelFill] = []
        self.dropped: list[tuple[bytes, int]] = []

    def begin(self) -> None:
        self.fills, self.dropped = [], []

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

    def fill_failure(self, fill: Fill, maker: Entry) -> tuple[str, str] | None:
        if self._fill_failure is None:
            return None
        bid, offer = (self.taker, maker.ref) if self.taker_side == "buy" else (maker.ref, self.taker)
        return self._fill_failure(fill, bid, offer)

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
