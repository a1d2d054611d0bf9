"""The state machine's order rules: placing every order type (the venue must fill, rest, park or
refuse exactly as the model), the pre-trade gate hooks the risk machine fills in, and stop-type
orders released by ``triggerOrders``."""

from __future__ import annotations

import copy

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule
from proof_world import HOUR
from sm_model_book import STOPS, TIFS, TYPED, Parked, Placed
from sm_model_state import TALLY, expect_refusal
from sm_strategies import MAX_TRIGGERS, ORDER

from smartccp.proof.invariants import SignedOrder
from smartccp.trading.matching import Refused
from smartccp.trading.orders import Order
from smartccp.types import OrderType, Route, Side, TimeInForce


class OrderRules:
    """Rules that place orders and release parked ones (part of ``MarketMachine``)."""

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
        self.wallets_read = False
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
            except Refused as refused:
                # SelfTrade, FillOrKillNotFilled, the taker's own failing direct DVP: the venue's errors
                why = str(refused)
                book.restore(saved)
        if why is not None:
            del self.placed[h]
            signature = self.client.sign(order, trader)
            expect_refusal(why, self.venue, "placeOrder", order.as_tuple(), signature, 64, sender=trader)
            TALLY.stats[f"refused {why}"] += 1
            return
        self.tx(self.venue, "placeOrder", order.as_tuple(), self.client.sign(order, trader), 64, sender=trader)
        self._gate_passed()
        self.signed[h] = SignedOrder(owner, s.sid, int(side), qty, tick * s.tick, int(direct))
        TALLY.stats[f"accepted {kind}{' direct' if direct else ''}"] += 1
        TALLY.stats["accepted while an auction collects"] += auction
        TALLY.stats["accepted timed (valid from the past)"] += timed == -1
        ledger = self.suite.poll()
        if parked is not None:
            self.parked[s.sid][parked.direction].setdefault(trigger_tick, []).append(h)
            self.parked_info[h] = parked
            assert h in ledger.parked, "a stop-type order the model parks was not parked on chain"
            TALLY.stats["parked"] += 1
        elif kind in STOPS:
            TALLY.stats["stop-type triggered at entry"] += 1
        self._compare_fills(s.sid, ledger)

    def _gate(self, owner: str, sid: int, buy: bool, quantity: int, price: int) -> str | None:
        """The pre-trade risk gate's refusal of an order, if any (none in this world)."""
        return None

    def _gate_passed(self) -> None:
        """After an accepted placement: what the gate must have recorded (nothing here)."""

    # ── stop-type orders ──

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
        self.wallets_read = False
        saved = (book.save(), copy.deepcopy(self.parked[sid]), self.last[sid])
        released, dead, alone, why = [], [], [], None
        TALLY.stats["trigger calls"] += 1
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
                wallets = copy.deepcopy(self.wallets) if self.wallets_read else None
                try:
                    book.run(p.owner, p.side, p.tick, p.quantity, otype=p.otype, tif=p.tif, ref=ref)
                except Refused as refused:
                    # Runs in its own frame: a self-trade, an unfillable fill-or-kill or its own
                    # failing direct DVP cancels this order alone, and its frame's DVPs roll back.
                    if wallets is not None:
                        self.wallets = wallets
                    else:
                        self.wallets_read = False
                    alone.append((ref, str(refused)))
                    continue
                released.append(ref)
                if len(book.fills) > before:
                    self.last[sid] = book.fills[-1].fill.tick
        except Refused as refused:
            why = str(refused)
        if why is not None:
            book.restore(saved[0])
            self.parked[sid], self.last[sid] = saved[1], saved[2]
            expect_refusal(why, self.venue, "triggerOrders", sid, MAX_TRIGGERS, 64, sender=self.world.keeper)
            TALLY.stats[f"trigger call refused {why}"] += 1
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
            TALLY.stats[f"released orders cancelled alone ({reason})"] += 1
        TALLY.stats["parked orders triggered"] += len(released)
        TALLY.stats["dead parked orders dropped"] += len(dead)
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
        TALLY.stats["trades through a trigger"] += 1
