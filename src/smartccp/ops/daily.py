"""The daily operations of a deployed system, each idempotent and each checking that its time has
come (it never moves the clock; see :mod:`smartccp.ops.clock` for waiting).

A trading day is one settlement cycle ``k`` of the deployment file (:mod:`smartccp.ops.spec`):

=============  ==================================================================  ===============
operation      what it does                                                        when
=============  ==================================================================  ===============
``open``       set the session's end and open continuous trading on every venue    cycle start .. close
``close``      start the closing call auction (PreClose) where trading is open      from ``close``
``uncross``    uncross every closing auction at one price (resumable)               from auction end
``prices``     publish settlement prices: the closing auction with the most         after uncross
               volume, else the last trade, else the price already published
``margin``     refresh every margin account of every fund member (IM, VM, calls)    after prices
``recalib``    recalibrate the scenarios with the members' open books (#22;        after margin
               :mod:`smartccp.ops.recalibrate`)
``declare``    declare in default each member whose margin call is overdue          after a deadline
``settle``     settle every traded cycle whose settlement time has passed           from its end
=============  ==================================================================  ===============

Each returns :class:`Outcome` lines: what it did, or why it did nothing (too early, already done,
nothing to do). What the chain cannot tell (prices and margin done for cycle ``k``) is kept in an
ops journal next to the registry (``<registry>.ops.json``), so a second run sends nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartccp.clearing.ccp import CycleReport, run_cycle, traded_cycles
from smartccp.ops.clock import Clock
from smartccp.ops.deploy import Deployment
from smartccp.risk.chain import margin_status, publish_prices, revalue, settle_fund_members
from smartccp.types import CyclePhase, TradingPhase

#: Auction fills per uncross transaction (the call is resumable).
UNCROSS_FILLS = 40
#: Settlement steps per ``settleCycle`` transaction.
SETTLE_CHUNK = 40


def uncross_book(venue: Any, security_id: int, sender: Any, *, fills: int = UNCROSS_FILLS) -> tuple[int, int, int]:
    """Uncross ``security_id``'s call auction on ``venue`` (``fills`` per transaction) until it
    leaves the call phase; returns (price, volume, transactions); (0, 0, 0) if none is open."""
    price = volume = txs = 0
    while TradingPhase(int(venue.phaseOf(security_id))) in (TradingPhase.PRE_OPEN, TradingPhase.PRE_CLOSE):
        receipt = venue.uncross(security_id, fills, sender=sender)
        txs += 1
        for log in receipt.decode_logs(venue.AuctionUncrossed):
            price, volume = int(log.price), int(log.volume)
    return price, volume, txs


def settle_when_due(ccp: Any, cycles: list[int], sender: Any, clock: Clock, *, chunk: int = SETTLE_CHUNK) -> list[CycleReport]:
    """Settle each of ``cycles`` once its settlement time has come, waiting for it on ``clock``
    (which warps only on a local test chain); returns one report per cycle (zero transactions
    for a cycle already settled)."""
    reports = []
    for c in cycles:
        clock.wait_until(int(ccp.cycleInfo(c)[4]), f"cycle {c}'s settlement")
        reports.append(run_cycle(ccp, c, sender, chunk=chunk))
    return reports


@dataclass(frozen=True)
class Outcome:
    """One operation's result: ``did`` is True when it sent transactions."""

    op: str
    did: bool
    message: str
    txs: int = 0

    def line(self) -> str:
        return f"{self.op:<8} {'done' if self.did else '-':<5} {self.message}"


@dataclass
class Journal:
    """What the operations did per cycle that the chain does not show directly."""

    path: Path
    cycles: dict[str, dict[str, Any]] = field(default_factory=dict)
    scanned_block: int = 0
    traded_cycles: list[int] = field(default_factory=list)

    @classmethod
    def for_deployment(cls, dep: Deployment) -> "Journal":
        path = dep.path.with_suffix(".ops.json")
        if path.exists():
            raw = json.loads(path.read_text())
            return cls(path, raw.get("cycles", {}), int(raw.get("scanned_block", 0)), raw.get("traded_cycles", []))
        return cls(path, scanned_block=int(dep.meta.get("deployed_block", 0)))

    def cycle(self, k: int) -> dict[str, Any]:
        return self.cycles.setdefault(str(k), {})

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"cycles": self.cycles, "scanned_block": self.scanned_block,
                                         "traded_cycles": sorted(set(self.traded_cycles))}, indent=2) + "\n")


class Operations:
    """The daily operations on one deployment (see the module docstring).

    Args:
        dep: the deployment (:func:`smartccp.ops.deploy.attach`).
        clock: chain time (only read here; never moved).
    """

    def __init__(self, dep: Deployment, clock: Clock | None = None):
        self.dep, self.spec, self.s = dep, dep.spec, dep.system
        self.clock = clock or Clock(warp=False)
        self.journal = Journal.for_deployment(dep)

    # ─── Time ─────────────────────────────────────────────────────────────────────────────────
    def today(self) -> int:
        """The cycle (trading day) the chain's time is in."""
        return self.spec.cycle_of(self.clock.now())

    def _markets(self) -> list[tuple[int, Any, int]]:
        return [(i, v, sid) for i, v in enumerate(self.s.venues) for sid in self.dep.security_ids.values()]

    @staticmethod
    def _phase(venue: Any, sid: int) -> TradingPhase:
        return TradingPhase(int(venue.phaseOf(sid)))

    def _too_early(self, op: str, t: int, what: str) -> Outcome:
        return Outcome(op, False, f"too early: {what} at {t} (in {t - self.clock.now()} s)")

    # ─── Session ─────────────────────────────────────────────────────────────────────────────
    def open(self) -> Outcome:
        """Open cycle k's session: its end set on every venue, every security continuous."""
        k, now = self.today(), self.clock.now()
        close = self.spec.close_time(k)
        if now >= close:
            return Outcome("open", False, f"too late: cycle {k}'s session closed at {close}; next opens at "
                                          f"{(k + 1) * self.spec.cycle_length}")
        op, txs = self.dep.account("keeper"), 0
        end = self.spec.auction_end(k)
        for v in self.s.venues:
            if int(v.sessionEnd()) >= end:
                continue  # today's session already set (and perhaps already closed): leave it
            v.setSessionEnd(end, sender=op)
            txs += 1
            for sid in self.dep.security_ids.values():
                if self._phase(v, sid) == TradingPhase.CLOSED:
                    v.setPhase(sid, int(TradingPhase.CONTINUOUS), sender=op)
                    txs += 1
        if not txs:
            return Outcome("open", False, f"cycle {k}'s session is already open (or ran today)")
        return Outcome("open", True, f"cycle {k} open: continuous trading until {close}", txs)

    def close(self) -> Outcome:
        """Start the closing call auction (PreClose) of every security in continuous trading."""
        k = self.today()
        close = self.spec.close_time(k)
        if not self.clock.due(close):
            return self._too_early("close", close, f"cycle {k}'s closing auction starts")
        op = self.dep.account("keeper")
        moved = [(v, sid) for _, v, sid in self._markets() if self._phase(v, sid) == TradingPhase.CONTINUOUS]
        for v, sid in moved:
            v.setPhase(sid, int(TradingPhase.PRE_CLOSE), sender=op)
        if not moved:
            return Outcome("close", False, "no security in continuous trading")
        return Outcome("close", True, f"closing auction of cycle {k} started ({len(moved)} books)", len(moved))

    def uncross(self) -> Outcome:
        """Uncross every closing auction (each at one price), once its collection time is over."""
        k = self.today()
        end = self.spec.auction_end(k)
        pending = [(i, v, sid) for i, v, sid in self._markets() if self._phase(v, sid) == TradingPhase.PRE_CLOSE]
        if not pending:
            return Outcome("uncross", False, "no auction to uncross")
        if not self.clock.due(end):
            return self._too_early("uncross", end, f"cycle {k}'s closing auction ends")
        op, txs, auctions = self.dep.account("keeper"), 0, self.journal.cycle(k).setdefault("auctions", [])
        for i, v, sid in pending:
            price, volume, n = uncross_book(v, sid, op)
            auctions.append({"venue": i, "security": sid, "price": price, "volume": volume})
            txs += n
        self.journal.save()
        done = ", ".join(f"V{a['venue']} #{a['security']} {a['volume']} @ {a['price']}" for a in auctions if a["volume"])
        return Outcome("uncross", True, f"{len(pending)} auctions uncrossed: {done or 'none traded'}", txs)

    # ─── End of day: prices and margin ───────────────────────────────────────────────────────
    def _day_over(self, k: int) -> bool:
        return self.clock.due(self.spec.auction_end(k)) and not any(
            self._phase(v, sid) == TradingPhase.PRE_CLOSE for _, v, sid in self._markets())

    def _end_of_day_refusal(self, op: str, k: int) -> Outcome | None:
        """Why end-of-day step ``op`` (``prices``, ``margin``) does not run for cycle ``k``: no risk
        contracts, or done already (the journal); None if it may."""
        if self.dep.risk is None:
            return Outcome(op, False, "no risk contracts in this deployment")
        if op in self.journal.cycle(k):
            return Outcome(op, False, f"cycle {k}'s {op} already done")
        return None

    def prices(self) -> Outcome:
        """Publish cycle k's settlement prices once its closing auctions are over."""
        k, r = self.today(), self.dep.risk
        if (refused := self._end_of_day_refusal("prices", k)) is not None:
            return refused
        day = self.journal.cycle(k)
        if not self._day_over(k):
            return self._too_early("prices", self.spec.auction_end(k), f"cycle {k}'s closing auctions end")
        prices = {sid: self._settlement_price(k, sid) for sid in self.dep.security_ids.values()}
        prices = {sid: p for sid, p in prices.items() if p}
        if prices:
            publish_prices(r.margin, prices, self.dep.account("price"))
        day["prices"] = {str(k_): v for k_, v in prices.items()}
        self.journal.save()
        return Outcome("prices", bool(prices), "published " + ", ".join(f"#{s} {p}" for s, p in prices.items()),
                       int(bool(prices)))

    def _settlement_price(self, k: int, sid: int) -> int:
        auctions = [a for a in self.journal.cycle(k).get("auctions", []) if a["security"] == sid and a["volume"]]
        if auctions:
            return max(auctions, key=lambda a: a["volume"])["price"]
        for v in self.s.venues:
            if last := int(v.lastPrice(sid)):
                return last
        return int(self.dep.risk.margin.securityRisk(sid)[0]) if self.dep.risk else 0

    def margin(self) -> Outcome:
        """Refresh every margin account of every fund member (its house and its client accounts)
        at cycle k's settlement prices (calls included)."""
        k, r = self.today(), self.dep.risk
        if (refused := self._end_of_day_refusal("margin", k)) is not None:
            return refused
        day = self.journal.cycle(k)
        if "prices" not in day:
            return Outcome("margin", False, f"waiting for cycle {k}'s settlement prices")
        op, calls = self.dep.account("keeper"), {}
        # A defaulter's margin is the default manager's.
        members = [str(m) for m in r.fund.members() if not int(r.fund.defaultOf(m)[0])]
        accounts = self._accounts(members)
        for a in accounts:
            revalue(r.margin, a, op)  # in pages: an account of any size
            st = margin_status(r.margin, a)
            if st.call_amount:
                calls[a] = {"amount": st.call_amount, "deadline": st.call_deadline}
        day["margin"] = {"members": len(members), "accounts": len(accounts), "calls": calls}
        self.journal.save()
        return Outcome("margin", True, f"{len(accounts)} accounts of {len(members)} members refreshed, "
                                       f"{len(calls)} called", len(accounts))

    def _accounts(self, members: list[str]) -> list[str]:
        """Every margin account of ``members``: each house account, then its client accounts."""
        return [str(a) for m in members for a in self.dep.risk.margin.accountsOf(m)]

    # ─── Defaults ────────────────────────────────────────────────────────────────────────────
    def declare(self, member: str | None = None) -> Outcome:
        """Declare in default every fund member whose margin call is overdue (anyone may), or
        ``member`` by the default manager's decision."""
        r = self.dep.risk
        if r is None:
            return Outcome("declare", False, "no risk contracts in this deployment")
        if member is not None:
            if int(r.fund.defaultOf(member)[0]):
                return Outcome("declare", False, f"{member} is already in default")
            r.fund.declareDefault(member, sender=self.dep.account("default_manager"))
            return Outcome("declare", True, f"{member} declared in default (default manager)", 1)
        # A client account's overdue call is its member's failure: declared through the account.
        overdue = []
        for m in (str(m) for m in r.fund.members() if not int(r.fund.defaultOf(m)[0])):
            late = next((a for a in self._accounts([m]) if r.margin.callOverdue(a)), None)
            if late is not None:
                r.fund.declareDefault(late, sender=self.dep.account("keeper"))
                overdue.append(m)
        if not overdue:
            return Outcome("declare", False, "no overdue margin call")
        return Outcome("declare", True, f"declared in default (missed margin call): {', '.join(overdue)}", len(overdue))

    def next_call_deadline(self) -> int | None:
        """The earliest deadline of an open margin call of a member not in default (None: none)."""
        r = self.dep.risk
        if r is None:
            return None
        members = [str(m) for m in r.fund.members() if not int(r.fund.defaultOf(m)[0])]
        deadlines = [margin_status(r.margin, a).call_deadline for a in self._accounts(members)]
        return min((d for d in deadlines if d), default=None)

    # ─── Settlement ──────────────────────────────────────────────────────────────────────────
    def traded_cycles(self) -> list[int]:
        """Every cycle the CCP novated a trade into (log scan resumed from the journal)."""
        head = int(self.s.ccp.provider.get_block("latest").number)
        if head >= self.journal.scanned_block:
            self.journal.traded_cycles += traded_cycles(self.s.ccp, self.journal.scanned_block, head + 1)
            self.journal.scanned_block = head + 1
            self.journal.save()
        return sorted(set(self.journal.traded_cycles))

    def open_cycles(self) -> list[tuple[int, int]]:
        """(cycle, settles from) of every traded cycle not yet settled."""
        out = []
        for c in self.traded_cycles():
            phase, _, _, _, settles_from = self.s.ccp.cycleInfo(c)
            if CyclePhase(int(phase)) != CyclePhase.SETTLED:
                out.append((c, int(settles_from)))
        return out

    def settle(self, cycle: int | None = None) -> Outcome:
        """Settle every traded cycle whose time has come (or only ``cycle``), in chunks."""
        open_ = [(c, t) for c, t in self.open_cycles() if cycle is None or c == cycle]
        if not open_:
            return Outcome("settle", False, f"cycle {cycle} has nothing to settle" if cycle is not None
                           else "no traded cycle left to settle")
        due = [(c, t) for c, t in open_ if self.clock.due(t)]
        if not due:
            c, t = min(open_, key=lambda x: x[1])
            return self._too_early("settle", t, f"cycle {c} settles")
        txs, lines = 0, []
        pool = self.dep.risk.fund.survivorPool() if self.dep.risk else None
        for c, _ in due:
            rep = run_cycle(self.s.ccp, c, self.dep.account("keeper"), chunk=SETTLE_CHUNK)
            txs += rep.transactions
            lines.append(rep.summary())
        if pool is not None and tuple(self.dep.risk.fund.survivorPool()) != tuple(pool):
            # A default reached the survivors' layers: book it on every member (top-up calls,
            # the gate's unpaid flags, assessments).
            settled = settle_fund_members(self.dep.risk.fund, self.dep.account("keeper"))
            txs += len(settled)
            lines.append(f"fund members settled after a charge to the survivors ({len(settled)} txs)")
        return Outcome("settle", True, "; ".join(lines), txs)

    # ─── Status ──────────────────────────────────────────────────────────────────────────────
    def status(self) -> list[str]:
        """What the chain and the journal say: time, cycle, phases, open cycles, calls."""
        k, now = self.today(), self.clock.now()
        lines = [f"{self.spec.name}: chain time {now}, cycle {k} (closing auction {self.spec.close_time(k)}, "
                 f"uncross from {self.spec.auction_end(k)})"]
        for i, v, sid in self._markets():
            sym = next(s for s, x in self.dep.security_ids.items() if x == sid)
            lines.append(f"  V{i} {sym}: {self._phase(v, sid).name}, session end {int(v.sessionEnd())}")
        for c, t in self.open_cycles():
            lines.append(f"  cycle {c}: open, settles from {t}" + (" (due)" if now >= t else ""))
        if (d := self.next_call_deadline()) is not None:
            lines.append(f"  margin call open, deadline {d}" + (" (overdue)" if now > d else ""))
        return lines
