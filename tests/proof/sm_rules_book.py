"""The state machine's rules around the book: call auctions, cancels and purges, and what moves
under the traders (prices, time, sessions, members' standing)."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule
from proof_world import HOUR
from sm_model_state import TALLY, expect_refusal
from sm_strategies import AUCTION_ORDER, TIME, UNCROSS

from smartccp.types import TradingPhase


class AuctionRules:
    """Call auctions: opened by the operator, orders collected without matching, uncrossed
    (part of ``MarketMachine``)."""

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
        TALLY.stats["call auctions opened"] += 1
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
        TALLY.stats["call auctions uncrossed"] += 1
        TALLY.stats["auction fills"] += len(fills)


class CancelRules:
    """Cancels by the owner (and refused to anyone else), ``cancelAll``, purges of dead orders
    (part of ``MarketMachine``)."""

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
            TALLY.stats["parked orders cancelled"] += 1
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


class PriceTimeStandingRules:
    """The market's price, the clock, the trading session and members' standing move (part of
    ``MarketMachine``)."""

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
