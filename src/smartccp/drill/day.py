"""One trading day of a drill: open, continuous session, closing auction, settlement prices,
margin cycle, events, netting and DVP settlement. A part of :class:`DrillRunner`.

Two calendars (the scenario's ``settlement``): ``each_day`` settles a day's cycle before the next
day trades (the clock moved past its settlement date); ``rolling`` trades one day per cycle from
the setup's ``day0_cycle`` on and settles at each day's end the cycles then due, so with T+N up to
N + 1 cycles are open at once; the last day settles every cycle left."""

from __future__ import annotations

from typing import Any

from ape import chain

from smartccp.clearing.ccp import liquidity, obligations
from smartccp.drill.base import EVENT_HANDLERS, MARGIN_CYCLES, DayState, EventHandler
from smartccp.ops.daily import settle_when_due, uncross_book
from smartccp.risk.chain import layer_events
from smartccp.sim.scenario import EventSpec
from smartccp.sim.simulator import FlowStats, OrderIntent
from smartccp.types import DAY, CyclePhase, OrderType, Side, TimeInForce, TradingPhase


class TradingDay:
    """One trading day of a drill: open, continuous session, closing auction, settlement prices,
    margin cycle, events, netting and DVP settlement. A part of :class:`DrillRunner`."""

    def _open(self, day: DayState) -> dict[str, Any]:
        s, op = self._sys(), self.roles.key("keeper")
        if self.sc.rolling:
            length = int(s.ccp.cycleLength())
            start = (self.day0_cycle + day.day) * length
            if chain.pending_timestamp >= start + length:
                raise RuntimeError(f"day {day.day} of a rolling drill is past: the setup took longer than planned")
            self.clock.wait_until(start, f"day {day.day}")
        elif day.day == 0 and self.clock.warp:
            # The drill's day must not depend on the hour it was started at: late in the day its
            # timed steps (margin calls, the auction's windows) ran past the session's end. On a
            # chain whose clock can move, day 0 opens at 01:00 of the next day.
            self.clock.wait_until((chain.pending_timestamp // DAY + 1) * DAY + DAY // 24, "day 0 at 01:00")
        session_end = (chain.pending_timestamp // DAY + 1) * DAY - 1
        for v in s.venues:
            if int(v.sessionEnd()) != session_end:
                v.setSessionEnd(session_end, sender=op)
            for sid in self.sids:
                if TradingPhase(int(v.phaseOf(sid))) == TradingPhase.CLOSED:
                    v.setPhase(sid, int(TradingPhase.CONTINUOUS), sender=op)
        if not day.start_block:
            day.start_block = chain.blocks.head.number
            day.cycle_id = int(s.ccp.settlementCycle(self.sids[0])[0])
        return {"cycle_id": day.cycle_id, "session_end": session_end}

    def _scripted(self, day: int, phase: str) -> list[OrderIntent]:
        types = {"limit": OrderType.LIMIT, "market": OrderType.MARKET, "hidden": OrderType.HIDDEN,
                 "iceberg": OrderType.ICEBERG}
        tifs = {"gtc": TimeInForce.GTC, "day": TimeInForce.DAY, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}
        return [OrderIntent(o.member, o.venue, self._sec_index(o.security), "place",
                            Side.BUY if o.side == "buy" else Side.SELL, types[o.type], tifs[o.tif], o.quantity,
                            o.price, o.display, f"scripted {o.type}")
                for o in self.sc.orders if o.day == day and o.phase == phase and o.member not in self.defaulted]

    def _active(self, intents: list[OrderIntent]) -> list[OrderIntent]:
        return [i for i in intents if i.member not in self.defaulted]

    def _continuous(self, day: DayState) -> dict[str, Any]:
        d = day.day
        intents = self._scripted(d, "continuous") + self._active(
            self.sim.continuous(d, [int(x) for x in self.path[d]], [int(x) for x in self.path[d + 1]]))
        stats = self._driver().run(intents, progress=self._flow_progress)
        day.flow = stats.as_dict()
        if self.defaulted:
            day.flow["refused_defaulters"] = self._defaulter_refusals()
        if self.bbo is not None:
            day.bbo = self._bbo_quotes()
        return day.flow

    def _bbo_quotes(self) -> dict[str, Any]:
        """The BBO's consolidated quote per security at the end of the continuous session."""
        assert self.bbo is not None
        names = {str(a): f"V{i}" for i, a in enumerate(self.bbo.bbo.venues())}
        out = {}
        for sid in self.sids:
            q = self.bbo.quote(sid)
            out[self._sym(sid)] = {"bid": q.bid_price, "bid_size": q.bid_size,
                                   "bid_venues": [names.get(v, v) for v in q.bid_venues],
                                   "ask": q.ask_price, "ask_size": q.ask_size,
                                   "ask_venues": [names.get(v, v) for v in q.ask_venues],
                                   "matches_venues": q.core() == self.bbo.quote_from_venues(sid).core()}
        return out

    def _flow_progress(self, i: int, n: int, st: FlowStats) -> None:
        self.say(f"    orders {i}/{n}: {st.trades} trades, {st.rested} rested, {st.cancelled} cancelled, "
                 f"{sum(st.rejected.values())} refused")

    def _auction(self, day: DayState) -> list[dict[str, Any]]:
        s, op = self._sys(), self.roles.key("keeper")
        head = chain.blocks.head.number + 1
        to_open = [(vi, v, sid) for vi, v in enumerate(s.venues) for sid in self.sids
                   if TradingPhase(int(v.phaseOf(sid))) == TradingPhase.CONTINUOUS
                   and not any(int(e.securityId) == sid for e in v.AuctionUncrossed.range(day.start_block, head))]
        if not to_open:
            return day.auctions  # already uncrossed (the venue may have reopened since): nothing to do
        for _, v, sid in to_open:
            v.setPhase(sid, int(TradingPhase.PRE_CLOSE), sender=op)
        d = day.day
        intents = self._scripted(d, "auction") + self._active(
            self.sim.auction(d, [int(x) for x in self.path[d + 1]], self.sc.venues))
        stats = self._driver().run(intents)
        day.flow["auction_orders"] = stats.as_dict()
        for vi, v, sid in to_open:
            price, volume, _ = uncross_book(v, sid, op)
            day.auctions.append({"venue": vi, "security": self._sym(sid), "price": price, "volume": volume,
                                 "last_price": int(v.lastPrice(sid))})
        return day.auctions

    def _prices(self, day: DayState) -> dict[str, int]:
        """Settlement price per security: the closing auction with the most volume, else the
        last trade of the first venue that traded, else the reference price."""
        s = self._sys()
        for i, sid in enumerate(self.sids):
            sym = self.sc.securities[i].symbol
            auctions = sorted((a for a in day.auctions if a["security"] == sym and a["volume"]), key=lambda a: -a["volume"])
            last = [int(v.lastPrice(sid)) for v in s.venues if int(v.lastPrice(sid))]
            day.settlement_prices[sym] = auctions[0]["price"] if auctions else (last[0] if last else int(self.path[day.day + 1][i]))
        return day.settlement_prices

    def _margin(self, day: DayState) -> dict[str, Any]:
        fn = MARGIN_CYCLES[self.sc.risk.margin]
        day.margin = fn(self, day)
        return day.margin

    def _events_before(self, day: DayState) -> list[dict[str, Any]]:
        moves: dict[int, int] = {}
        for e in self.sc.events_on(day.day):
            handler = self.handler(e)
            moves.update(handler.close_out_moves(self, e, day))
            result = handler.before_settlement(self, e, day)
            day.events.append({"day": e.day, "type": e.type, "member": e.member, "basis": handler.basis, **result})
        prices = {sid: day.settlement_prices[self._sym(sid)] for sid in self.sids}
        used = self.close_out.set_prices(prices, self.roles.key("keeper"), moves_bps=moves)
        day.settlement["close_out_prices"] = {self._sym(k): v for k, v in used.items()}
        return day.events

    def _settle(self, day: DayState) -> dict[str, Any]:
        """Settle the day's cycle (``each_day``), or every cycle due at the day's end (``rolling``;
        the last day: every cycle left); each settled day's entry says on which day it settled."""
        if not self.sc.rolling:
            return self._settle_cycle(day)
        ccp = self._sys().ccp
        self.clock.wait_until((self.day0_cycle + day.day + 1) * int(ccp.cycleLength()), f"the end of day {day.day}")
        last, settled = day.day == self.sc.days - 1, []
        for ds in self.days[: day.day + 1]:
            phase, _, _, _, settles_from = ccp.cycleInfo(ds.cycle_id)
            if CyclePhase(int(phase)) == CyclePhase.SETTLED or ds.settlement.get("phase") == "NO_TRADES":
                continue
            if last or CyclePhase(int(phase)) == CyclePhase.UNKNOWN or self.clock.due(int(settles_from)):
                if self._settle_cycle(ds).get("phase") != "NO_TRADES":
                    ds.settlement["settled_on_day"] = day.day
                    settled.append(ds.cycle_id)
        still_open = [ds.cycle_id for ds in self.days[: day.day + 1] if "phase" not in ds.settlement]
        return {"settled_cycles": settled, "open_cycles": still_open}

    def _settle_cycle(self, day: DayState) -> dict[str, Any]:
        """Net and settle ``day``'s cycle (waiting for its settlement time): obligations, gross and
        net, the settlement, its close-outs, market claims and custody moves (kept units)."""
        ccp = self._sys().ccp
        info = ccp.cycleInfo(day.cycle_id)
        if CyclePhase(int(info[0])) == CyclePhase.UNKNOWN:
            day.settlement.update(phase="NO_TRADES")
            return day.settlement
        if not day.obligations:
            obs = obligations(ccp, day.cycle_id)
            day.obligations = [{"account": self.names.get(o.account, o.account), "security": self._sym(o.security_id),
                                "quantity": o.quantity, "cash": o.cash} for o in obs]
            liq = liquidity(ccp, day.cycle_id, start_block=day.start_block)
            day.gross = {"trades": liq.trades, "cash": liq.gross_cash, "units": liq.gross_units}
            day.net = {"cash": liq.net_cash, "units": liq.net_units, "cash_saving": round(liq.cash_saving, 4),
                       "units_saving": round(liq.units_saving, 4),
                       "cash_per_security": liq.net_cash_per_security,
                       "cash_transfers": liq.cash_legs, "cash_transfers_per_security": liq.cash_legs_per_security,
                       "cash_transfers_gross": liq.gross_cash_legs}
        [rep] = settle_when_due(ccp, [day.cycle_id], self.roles.key("keeper"), self.clock)
        if rep.transactions == 0:
            return day.settlement  # settled already: nothing sent
        day.settlement.update(phase=rep.phase.name, obligations=rep.obligations, failures=rep.failures,
                              txs=rep.transactions, gas=rep.total_gas, events=rep.events)
        for log in rep.logs(ccp.SoldOut):
            day.sell_outs.append({"account": self._name(log.account), "security": self._sym(log.securityId),
                                  "offered": int(log.offered), "sold": int(log.sold), "proceeds": int(log.proceeds)})
        for log in rep.logs(ccp.BoughtIn):
            day.buy_ins.append({"account": self._name(log.account), "security": self._sym(log.securityId),
                                "wanted": int(log.wanted), "bought": int(log.bought), "cost": int(log.cost)})
        for log in rep.logs(ccp.MarketClaimBooked):
            day.market_claims.append({"account": self._name(log.account), "security": self._sym(log.securityId),
                                      "amount": int(log.cashAmount)})
        for log in rep.logs(ccp.SecuritiesPrefunded):  # > 0: kept in custody at pay-out; < 0: taken at pay-in
            day.custody.append({"account": self._name(log.account), "security": self._sym(log.securityId),
                                "units": int(log.amount)})
        for log in rep.logs(ccp.ShortfallCharged):
            day.shortfalls.append({"account": self._name(log.account), "clearing_member": self._name(log.clearingMember),
                                   "shortfall": int(log.shortfall), "covered": int(log.covered)})
        if self.risk is not None:
            day.layers_used = [{"defaulter": self._name(d), "layer": layer, "amount": amount}
                               for d, layer, amount in layer_events(self.risk.fund, rep.receipts)]
        return day.settlement

    def handler(self, event: EventSpec) -> EventHandler:
        """The handler of ``event``: one registered for this risk basis (``default:chain``) first."""
        return EVENT_HANDLERS.get(f"{event.type}:{self.sc.risk.margin}") or EVENT_HANDLERS[event.type]

    def _events_after(self, day: DayState) -> list[dict[str, Any]]:
        for entry, e in zip(day.events, self.sc.events_on(day.day)):
            entry.update(self.handler(e).after_settlement(self, e, day))
        return day.events
