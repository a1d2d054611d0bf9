"""A reference matcher in pure Python: the venue's continuous-auction rules, without a chain.

Used by the property test that runs random order sequences through the contract and through this
model and expects identical fills and books. Same rules as TradeVenue: best price first; at one
price, displayed orders in arrival order, then hidden ones; an iceberg shows its peak and each
refill joins the back of the displayed queue; an incoming order that would meet a resting order of
its own owner is refused whole (SelfTrade); a fill-or-kill that cannot fill is refused whole.
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
            level = self.levels[side].setdefault(tick, Level())
            if peak and peak < left:
                level.displayed.append(Entry(owner, peak, left - peak, peak, ref))
            elif hidden:
                level.hidden.append(Entry(owner, left, ref=ref))
            else:
                level.displayed.append(Entry(owner, left, ref=ref))
        return fills

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
                quantity -= qty
                maker.remaining -= qty
                buyer, seller = (owner, maker.owner) if side == "buy" else (maker.owner, owner)
                fill = Fill(buyer, seller, tick, qty)
                fills.append(fill)
                self.on_fill(fill, maker)
                if maker.remaining == 0:
                    queue.popleft()
                    if maker.reserve:
                        refill = min(maker.peak, maker.reserve)
                        level.displayed.append(Entry(maker.owner, refill, maker.reserve - refill, maker.peak, maker.ref))
            if level.empty():
                del book[tick]
        return fills, quantity

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
