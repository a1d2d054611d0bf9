"""A reference matcher in pure Python: the venue's continuous-auction rules, without a chain.

Used by the property test that runs random order sequences through the contract and through this
model and expects identical fills and books. Same rules as TradeVenue: best price first; at one
price, displayed orders in arrival order, then hidden ones; an iceberg shows its peak and each
refill joins the back of the displayed queue; an incoming order that would meet a resting order of
its own owner is refused whole (SelfTrade); a fill-or-kill that cannot fill is refused whole.
Call auctions (``rest`` while collecting, then ``uncross``): one clearing tick that maximises the
executable volume, then minimises the imbalance, then is nearest the reference tick, then is the
lower; at it, the front bid meets the front offer in the same priority as above, until the volume
is done or no pair crosses; a pair of one owner withdraws the offer (self-trade prevention), and a
party that cannot settle the fill (``cross_failure``) has its order withdrawn. In continuous
trading a maker that cannot settle its fill (``fill_failure``) is withdrawn and matching goes on;
a taker that cannot is refused whole with settlement's error.
Prices are ticks (integers); quantities whole units.
"""

from __future__ import annotations

import copy
from collections import deque
from dataclasses import dataclass, field


class Refused(Exception):
    """The venue would revert: nothing changes."""


@dataclass
class Entry:
    owner: str
    remaining: int  # current visible size (an iceberg's peak) or full size
    reserve: int = 0  # iceberg reserve
    peak: int = 0
    ref: object = None  # the caller's handle for the order (e.g. its hash)


@dataclass
class Level:
    displayed: deque[Entry] = field(default_factory=deque)
    hidden: deque[Entry] = field(default_factory=deque)

    def empty(self) -> bool:
        return not self.displayed and not self.hidden


@dataclass(frozen=True)
class Fill:
    buyer: str
    seller: str
    tick: int
    quantity: int


class ReferenceBook:
    """One security's book. ``side`` is "buy" or "sell"."""

    def __init__(self) -> None:
        self.levels: dict[str, dict[int, Level]] = {"buy": {}, "sell": {}}
        self.dropped: list[tuple[object, int]] = []  # (ref, units) of dead makers dropped when met

    def is_dead(self, ref: object) -> bool:
        """Whether a resting order can no longer match (expired, voided, owner suspended): the
        venue drops such a maker when a taker meets it. Override to model that; default never."""
        return False

    def on_fill(self, fill: Fill, maker: Entry) -> None:
        """Called for every fill, in order; override to record more (e.g. the maker's handle)."""

    def fill_failure(self, fill: Fill, maker: Entry) -> tuple[str, str] | None:
        """Which side of a continuous fill cannot settle it, and settlement's error: ("buy" or
        "sell", error name), or None. The maker's side: the maker is withdrawn and matching goes
        on; the taker's: the taker is refused with that error. Override to model settlement; by
        default every fill settles."""
        return None

    def cross_failure(self, fill: Fill, bid: Entry, offer: Entry) -> str | None:
        """Which side of an auction fill cannot settle it ("buy" or "sell"; its order is then
        withdrawn and the uncross goes on), or None. Override to model gross settlement; by
        default every fill settles."""
        return None

    def on_cross(self, fill: Fill, bid: Entry, offer: Entry) -> None:
        """Called for every auction fill, in order, with both resting entries; override to record
        more."""

    def place(
        self,
        owner: str,
        side: str,
        tick: int,
        quantity: int,
        *,
        tif: str = "gtc",
        hidden: bool = False,
        peak: int = 0,
        max_makers: int = 64,
        ref: object = None,
    ) -> list[Fill]:
        """Match an incoming limit order; rest what is left unless ``tif`` is "ioc" or "fok".

        Raises :class:`Refused` (and changes nothing) on a self-trade or an unfillable FOK.
        """
        snapshot = copy.deepcopy(self.levels)
        try:
            fills, left = self._match(owner, side, tick, quantity, max_makers)
            if left and tif == "fok":
                raise Refused("FillOrKillNotFilled")
        except Refused:
            self.levels = snapshot
            raise
        if left and tif == "gtc":
            self.rest(owner, side, tick, left, hidden=hidden, peak=peak, ref=ref)
        return fills

    def rest(self, owner: str, side: str, tick: int, quantity: int, *, hidden: bool = False, peak: int = 0,
             ref: object = None) -> None:
        """Put an order on the book without matching (as while a call auction collects orders)."""
        level = self.levels[side].setdefault(tick, Level())
        if peak and peak < quantity:
            level.displayed.append(Entry(owner, peak, quantity - peak, peak, ref))
        elif hidden:
            level.hidden.append(Entry(owner, quantity, ref=ref))
        else:
            level.displayed.append(Entry(owner, quantity, ref=ref))

    def _match(self, owner: str, side: str, limit: int, quantity: int, max_makers: int) -> tuple[list[Fill], int]:
        opposite = "sell" if side == "buy" else "buy"
        book = self.levels[opposite]
        fills: list[Fill] = []
        steps = 0
        while quantity and book and steps < max_makers:
            tick = min(book) if side == "buy" else max(book)
            if (side == "buy" and tick > limit) or (side == "sell" and tick < limit):
                break
            level = book[tick]
            while quantity and not level.empty() and steps < max_makers:
                queue = level.displayed if level.displayed else level.hidden
                maker = queue[0]
                steps += 1
                if self.is_dead(maker.ref):
                    queue.popleft()
                    self.dropped.append((maker.ref, maker.remaining + maker.reserve))
                    continue
                if maker.owner == owner:
                    raise Refused("SelfTrade")
                qty = min(quantity, maker.remaining)
                buyer, seller = (owner, maker.owner) if side == "buy" else (maker.owner, owner)
                fill = Fill(buyer, seller, tick, qty)
                failed = self.fill_failure(fill, maker)
                if failed and failed[0] == opposite:  # the maker cannot settle: withdrawn
                    queue.popleft()
                    self.dropped.append((maker.ref, maker.remaining + maker.reserve))
                    continue
                if failed:
                    raise Refused(failed[1])
                quantity -= qty
                fills.append(fill)
                self.on_fill(fill, maker)
                _consume(level, queue, qty)
            if level.empty():
                del book[tick]
        return fills, quantity

    # ─── Call auction ────────────────────────────────────────────────────────────────────────

    def clearing_tick(self, ref_tick: int = 0) -> tuple[int, int]:
        """(clearing tick, executable volume) of the book as it stands; (0, 0) if it does not
        cross. Sizes count displayed and hidden entries, not an iceberg's reserve."""
        bids, asks = self.levels["buy"], self.levels["sell"]
        if not bids or not asks or max(bids) < min(asks):
            return 0, 0

        def size(level: Level) -> int:
            return sum(e.remaining for q in (level.displayed, level.hidden) for e in q)

        def rank(c: int) -> tuple[int, int, int, int]:
            demand = sum(size(lv) for t, lv in bids.items() if t >= c)
            supply = sum(size(lv) for t, lv in asks.items() if t <= c)
            distance = abs(c - ref_tick) if ref_tick else 0
            return min(demand, supply), -abs(demand - supply), -distance, -c

        best = max(set(bids) | set(asks), key=rank)
        return best, rank(best)[0]

    def uncross(self, ref_tick: int = 0) -> tuple[int, int, list[Fill]]:
        """Run the auction: returns (clearing tick, volume, fills in order)."""
        tick, executable = self.clearing_tick(ref_tick)
        volume = executable
        fills: list[Fill] = []
        while volume:
            bids, asks = self.levels["buy"], self.levels["sell"]
            if not bids or not asks or max(bids) < tick or min(asks) > tick:
                break
            bid_tick, ask_tick = max(bids), min(asks)
            bid_level, ask_level = bids[bid_tick], asks[ask_tick]
            bid_queue, ask_queue = self._live_queue(bid_level), self._live_queue(ask_level)
            if bid_queue is not None and ask_queue is not None:
                bid, ask = bid_queue[0], ask_queue[0]
                fill = Fill(bid.owner, ask.owner, tick, min(bid.remaining, ask.remaining, volume))
                failed = "sell" if bid.owner == ask.owner else self.cross_failure(fill, bid, ask)
                if failed:  # a self-trade or a party that cannot settle: that order is withdrawn
                    queue, entry = (ask_queue, ask) if failed == "sell" else (bid_queue, bid)
                    queue.popleft()
                    self.dropped.append((entry.ref, entry.remaining + entry.reserve))
                else:
                    volume -= fill.quantity
                    fills.append(fill)
                    self.on_cross(fill, bid, ask)
                    _consume(bid_level, bid_queue, fill.quantity)
                    _consume(ask_level, ask_queue, fill.quantity)
            for book, t in ((bids, bid_tick), (asks, ask_tick)):
                if book[t].empty():
                    del book[t]
        return tick, executable, fills

    def _live_queue(self, level: Level) -> deque[Entry] | None:
        """The queue whose front is the level's first live entry (displayed first, then hidden),
        dropping dead entries met on the way; None if nothing live is left."""
        while not level.empty():
            queue = level.displayed if level.displayed else level.hidden
            if not self.is_dead(queue[0].ref):
                return queue
            dead = queue.popleft()
            self.dropped.append((dead.ref, dead.remaining + dead.reserve))
        return None

    def cancel(self, ref: object) -> bool:
        """Cancel the resting order with handle ``ref``; False if it is not resting."""
        for side in ("buy", "sell"):
            for tick, level in list(self.levels[side].items()):
                for queue in (level.displayed, level.hidden):
                    for entry in queue:
                        if entry.ref == ref:
                            queue.remove(entry)
                            if level.empty():
                                del self.levels[side][tick]
                            return True
        return False

    def resting(self) -> list[object]:
        """Handles of all resting orders."""
        return [e.ref for lv in self.levels.values() for level in lv.values()
                for q in (level.displayed, level.hidden) for e in q]

    def depth(self, side: str) -> list[tuple[int, int]]:
        """Displayed size per tick, best first; levels with only hidden orders are not shown."""
        ticks = sorted(self.levels[side], reverse=(side == "buy"))
        out = []
        for t in ticks:
            shown = sum(e.remaining for e in self.levels[side][t].displayed)
            if shown:
                out.append((t, shown))
        return out


def _consume(level: Level, queue: deque[Entry], qty: int) -> None:
    """Take ``qty`` from the front entry of ``queue``; a filled iceberg peak refills from its
    reserve at the back of the displayed queue (losing time priority)."""
    maker = queue[0]
    maker.remaining -= qty
    if maker.remaining == 0:
        queue.popleft()
        if maker.reserve:
            refill = min(maker.peak, maker.reserve)
            level.displayed.append(Entry(maker.owner, refill, maker.reserve - refill, maker.peak, maker.ref))
