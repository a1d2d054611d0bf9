"""The keeper: a loop that performs whatever is due on a deployed system, with a line per action.

Each pass runs every daily operation (:class:`smartccp.ops.daily.Operations`) in the order
settle → declare → open → close → uncross → prices → margin; each acts only if its time has come
and it has not run yet, so a pass may do nothing. Between passes the keeper waits (never moves
the clock, unless its :class:`~smartccp.ops.clock.Clock` warps a local test chain) until the next
due time: the next cycle's start, the closing auction's start or end, a traded cycle's
settlement time, or an open margin call's deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from smartccp.ops.daily import Operations, Outcome
from smartccp.ops.recalibrate import recalibrate
from smartccp.types import TradingPhase


@dataclass
class KeeperLog:
    """What a keeper run did: every action (``did``), passes and the heartbeats it sent."""

    actions: list[Outcome] = field(default_factory=list)
    passes: int = 0

    @property
    def transactions(self) -> int:
        return sum(a.txs for a in self.actions)

    def did(self, op: str) -> list[Outcome]:
        return [a for a in self.actions if a.op == op]


class Keeper:
    """Runs :class:`Operations` whenever something is due.

    Args:
        ops: the operations on one deployment (their clock is the keeper's).
        say: called with one progress line per action and per wait.
    """

    def __init__(self, ops: Operations, say: Callable[[str], None] | None = None):
        self.ops = ops
        self.say = say or (lambda _line: None)
        self.log = KeeperLog()

    def pass_once(self) -> list[Outcome]:
        """One pass over every operation; returns the ones that acted."""
        o = self.ops
        ops = (o.settle(), o.declare(), o.open(), o.close(), o.uncross(), o.prices(), o.margin(), recalibrate(o))
        done = [r for r in ops if r.did]
        self.log.passes += 1
        for r in done:
            self.log.actions.append(r)
            self.say(f"[{o.clock.now()}] {r.line()}")
        return done

    def next_due(self) -> tuple[int, str]:
        """(time, what) of the next moment an operation may become due."""
        o, spec = self.ops, self.ops.spec
        k, now = o.today(), o.clock.now()
        candidates = [((k + 1) * spec.cycle_length, f"cycle {k + 1} opens")]
        phases = {TradingPhase(int(v.phaseOf(sid))) for _, v, sid in o._markets()}
        if TradingPhase.CONTINUOUS in phases and spec.close_time(k) > now:
            candidates.append((spec.close_time(k), f"cycle {k}'s closing auction"))
        if TradingPhase.PRE_CLOSE in phases:
            candidates.append((spec.auction_end(k), f"cycle {k}'s uncross"))
        candidates += [(t, f"cycle {c}'s settlement") for c, t in o.open_cycles()]
        if (d := o.next_call_deadline()) is not None:
            candidates.append((d + 1, "a margin call's deadline"))
        future = [c for c in candidates if c[0] > now] or candidates
        return min(future)

    def run(self, *, until: Callable[[], bool] | None = None, max_passes: int = 10_000) -> KeeperLog:
        """Pass, wait for the next due time, pass again, until ``until()`` holds (checked after
        every pass) or ``max_passes``. Returns the log."""
        for _ in range(max_passes):
            self.pass_once()
            if until is not None and until():
                break
            t, what = self.next_due()
            self.say(f"[{self.ops.clock.now()}] next: {what} at {t}")
            self.ops.clock.wait_until(t, what)
        return self.log
