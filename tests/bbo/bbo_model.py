"""The BBO property test's model of the market (``test_quote_property``), kept without reading the
chain: each venue's book as the reference matcher (``smartccp.trading.matching.ReferenceBook``),
its phase and last trade tick, and the security's halt. From it, the consolidated quote and depth
the BBO must show (only venues in continuous trading count, none while halted: #23), the sweep a
routed order makes, and the error (by name) each refused step must revert with.

Prices are ticks here, as in the reference matcher; sizes whole units.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from smartccp.trading.bbo import Quote, consolidate
from smartccp.trading.matching import Fill, ReferenceBook, Refused
from smartccp.types import TradingPhase

AUCTIONS = (TradingPhase.PRE_OPEN, TradingPhase.PRE_CLOSE)
MAKERS_PER_CHILD = 32  # BBO.MAKERS_PER_CHILD: resting entries one child may match on its venue
Top = tuple[int, int, int, int]  # (bid tick, bid size, ask tick, ask size); 0 = side empty


@dataclass
class VenueModel:
    """One venue's side of the security: its book, phase and last trade tick (0 before any)."""

    book: ReferenceBook = field(default_factory=ReferenceBook)
    phase: TradingPhase = TradingPhase.CONTINUOUS
    last_tick: int = 0

    def top(self) -> Top:
        """Best displayed bid and offer of the book, whatever the phase (the venue's ``topOfBook``)."""
        bids, asks = self.book.depth("buy"), self.book.depth("sell")
        return (*(bids[0] if bids else (0, 0)), *(asks[0] if asks else (0, 0)))

    def traded(self, fills: list[Fill]) -> None:
        if fills:
            self.last_tick = fills[-1].tick


class MarketModel:
    """Venues (in BBO slot order, ``addresses``) listing one security with tick ``tick_size``."""

    def __init__(self, addresses: list[str], tick_size: int) -> None:
        self.addresses = addresses
        self.tick_size = tick_size
        self.venues = [VenueModel() for _ in addresses]
        self.halted = False

    # ─── What the BBO must show ──────────────────────────────────────────────────────────────

    def live(self, i: int) -> bool:
        """Whether venue ``i``'s quote counts: the security trades continuously there, unhalted."""
        return not self.halted and self.venues[i].phase == TradingPhase.CONTINUOUS

    def shown(self, i: int) -> tuple[int, int, int, int]:
        """The top the BBO must hold for venue ``i``, in cash base units (empty while not live)."""
        if not self.live(i):
            return 0, 0, 0, 0
        bt, bs, at, as_ = self.venues[i].top()
        return bt * self.tick_size, bs, at * self.tick_size, as_

    def quote(self) -> Quote:
        return consolidate([(a, self.shown(i)) for i, a in enumerate(self.addresses)])

    def depth(self, levels: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Consolidated displayed depth over the live venues: (price, size) per level, best first."""
        sides = []
        for side in ("buy", "sell"):
            sizes: dict[int, int] = {}
            for i, v in enumerate(self.venues):
                for tick, size in v.book.depth(side) if self.live(i) else ():
                    sizes[tick] = sizes.get(tick, 0) + size
            ticks = sorted(sizes, reverse=side == "buy")[:levels]
            sides.append([(t * self.tick_size, sizes[t]) for t in ticks])
        return sides[0], sides[1]

    # ─── Steps: each returns the error the chain must refuse it with, or None (then applied) ──

    def place(self, i: int, owner: str, side: str, tick: int, qty: int, kind: str, ref: object) -> str | None:
        """A signed order on venue ``i``: ``kind`` "limit", "ioc", "hidden" or "iceberg" (peak 10)."""
        v = self.venues[i]
        if v.phase == TradingPhase.CLOSED:
            return "WrongPhase"
        auction = v.phase in AUCTIONS
        if auction and kind == "ioc":
            return "ImmediateOrderInAuction"
        if self.halted:
            return "SecurityHalted"
        terms = {"hidden": kind == "hidden", "peak": 10 if kind == "iceberg" else 0, "ref": ref}
        if auction:  # collected, not matched
            v.book.rest(owner, side, tick, qty, **terms)
            return None
        try:
            v.traded(v.book.place(owner, side, tick, qty, tif="ioc" if kind == "ioc" else "gtc", **terms))
        except Refused as refused:
            return str(refused)
        return None

    def cancel(self, i: int, ref: object) -> str | None:
        return None if self.venues[i].book.cancel(ref) else "UnknownOrder"

    def set_phase(self, i: int, phase: TradingPhase) -> str | None:
        v = self.venues[i]
        if v.phase in AUCTIONS:
            return "WrongPhase"
        v.phase = phase
        return None

    def uncross(self, i: int) -> str | None:
        """Run venue ``i``'s call auction to the end: PreOpen opens trading, PreClose closes it."""
        v = self.venues[i]
        if v.phase not in AUCTIONS:
            return "WrongPhase"
        _, _, fills = v.book.uncross(v.last_tick)
        v.traded(fills)
        v.phase = TradingPhase.CONTINUOUS if v.phase == TradingPhase.PRE_OPEN else TradingPhase.CLOSED
        return None

    def route(self, owner: str, side: str, qty: int, limit: int, max_children: int) -> str | None:
        """A routed immediate-or-cancel order: children to the routable venue with the best
        displayed opposite price within ``limit`` (then the larger size, then the lower slot), each
        at that price, until filled, past the limit or ``max_children`` sent. All or nothing."""
        if self.halted:
            return "SecurityHalted"
        routable = [i for i in range(len(self.venues)) if self.live(i)]
        if not routable:
            return "NoTradingVenue"
        saved = copy.deepcopy(self.venues)
        tops = {i: self.venues[i].top() for i in routable}
        buy, remaining, sent = side == "buy", qty, 0
        while remaining and sent < max_children:
            best, best_price, best_size = None, 0, 0
            for i in routable:
                price, size = (tops[i][2], tops[i][3]) if buy else (tops[i][0], tops[i][1])
                if price == 0 or (price > limit if buy else price < limit):
                    continue
                if best is None or (price < best_price if buy else price > best_price) or (
                        price == best_price and size > best_size):
                    best, best_price, best_size = i, price, size
            if best is None:
                break
            v = self.venues[best]
            try:
                fills = v.book.place(owner, side, best_price, remaining, tif="ioc", max_makers=MAKERS_PER_CHILD)
            except Refused as refused:  # a child refused: the whole route reverts
                self.venues = saved
                return str(refused)
            v.traded(fills)
            remaining -= sum(f.quantity for f in fills)
            sent += 1
            tops[best] = v.top()
        return None
