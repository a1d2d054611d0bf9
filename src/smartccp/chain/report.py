"""Named steps and the report they build: what a script did, its gas and its outcome.

A *step* is a function ``(ctx, log) -> None`` registered under a name in a :class:`StepList`;
it sends transactions and records them on its :class:`StepLog` (``log.tx(receipt, "what")``, or
``with log.capture(account): ...`` for code that does not return receipts), writes readable
lines (``log.line(...)``) and machine-readable facts (``log.data[key] = ...``). :func:`run_steps`
runs the steps in order and returns a :class:`Report` that prints as text and saves as JSON.
The demo uses it; netting cycles, margin cycles and default drills can too.

Other modules extend a step list without editing its owner: they register their steps on
import, and the package that runs them (``smartccp.demo``) imports them in its ``__init__``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TxRecord:
    """One transaction a step sent: a label, its hash and ``gas_used`` (whole tx, in gas)."""

    label: str
    gas: int
    tx_hash: str


@dataclass
class StepLog:
    """What one step did. ``gas`` is the sum of its transactions' ``gas_used``."""

    name: str
    title: str
    txs: list[TxRecord] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0
    ok: bool = True
    error: str | None = None

    def tx(self, receipt: Any, label: str) -> Any:
        """Record a receipt (anything with ``gas_used`` and ``txn_hash``); returns it."""
        self.txs.append(TxRecord(label, int(receipt.gas_used), str(receipt.txn_hash)))
        return receipt

    @contextmanager
    def capture(self, *senders: Any, label: str = "") -> Iterator[None]:
        """Record every transaction ``senders`` send inside the block (from ape's session
        history), e.g. around a deployment helper that returns no receipts."""
        from ape import chain

        histories = [chain.history[s.address] for s in senders]
        start = [len(h.sessional) for h in histories]
        yield
        for history, n in zip(histories, start):
            for receipt in history.sessional[n:]:
                self.tx(receipt, label or (receipt.receiver or "deploy"))

    def line(self, text: str) -> None:
        """Add one line of the readable summary."""
        self.lines.append(text)

    @property
    def gas(self) -> int:
        """Total gas of the step's transactions."""
        return sum(t.gas for t in self.txs)


StepFn = Callable[[Any, StepLog], None]


@dataclass(frozen=True)
class Step:
    """A named step: ``fn(ctx, log)`` does the work."""

    name: str
    title: str
    fn: StepFn


class StepList:
    """An ordered, named list of steps that other modules extend without editing the owner.

    >>> steps = StepList()
    >>> @steps.step("hello", "Say hello")
    ... def hello(ctx, log): log.line("hello")
    """

    def __init__(self) -> None:
        self._steps: list[Step] = []

    def add(self, step: Step, *, after: str | None = None, before: str | None = None) -> Step:
        """Insert ``step`` at the end, or right after / before the named step."""
        if step.name in self.names():
            raise ValueError(f"step {step.name!r} is already registered")
        index = len(self._steps)
        if after is not None:
            index = self.names().index(after) + 1
        elif before is not None:
            index = self.names().index(before)
        self._steps.insert(index, step)
        return step

    def step(self, name: str, title: str, **where: str) -> Callable[[StepFn], StepFn]:
        """Decorator form of :meth:`add` (``after=`` / ``before=`` accepted)."""

        def register(fn: StepFn) -> StepFn:
            self.add(Step(name, title, fn), **where)
            return fn

        return register

    def names(self) -> list[str]:
        """Step names, in run order."""
        return [s.name for s in self._steps]

    def __iter__(self):
        return iter(list(self._steps))

    def __len__(self) -> int:
        return len(self._steps)


@dataclass
class Report:
    """The outcome of a run of steps, as text (:meth:`render`) or JSON (:meth:`write_json`)."""

    title: str
    network: str
    steps: list[StepLog] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every step completed."""
        return all(s.ok for s in self.steps)

    @property
    def gas(self) -> int:
        """Total gas of every transaction of every step."""
        return sum(s.gas for s in self.steps)

    @property
    def wall_s(self) -> float:
        """Total wall time of the steps, in seconds."""
        return sum(s.wall_s for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form: title, network, ok, totals, steps (with their txs), pending, summary."""
        return {
            "title": self.title,
            "network": self.network,
            "ok": self.ok,
            "gas": self.gas,
            "wall_s": round(self.wall_s, 3),
            "steps": [
                {**asdict(s), "gas": s.gas, "wall_s": round(s.wall_s, 3)} for s in self.steps
            ],
            "pending": list(self.pending),
            "summary": self.summary,
        }

    def write_json(self, path: Path) -> Path:
        """Save :meth:`to_dict` to ``path`` (parents created); returns ``path``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")
        return path

    def render(self) -> str:
        """The readable report: one block per step, then gas per step and totals."""
        out = [self.title, "=" * len(self.title), f"network: {self.network}", ""]
        for i, s in enumerate(self.steps, 1):
            status = "" if s.ok else "  [FAILED]"
            out.append(f"{i}. {s.title}{status}")
            out.extend(f"   {line}" for line in s.lines)
            if s.error:
                out.append(f"   error: {s.error}")
            out.append("")
        rows: list[list[Any]] = [
            [s.name, len(s.txs), f"{s.gas:,}", f"{s.wall_s:.2f}"] for s in self.steps
        ]
        txs = sum(len(s.txs) for s in self.steps)
        rows.append(["total", txs, f"{self.gas:,}", f"{self.wall_s:.2f}"])
        out.append(render_table(["step", "txs", "gas", "wall s"], rows))
        if self.pending:
            out += ["", "not yet in this run (being built): " + ", ".join(self.pending)]
        return "\n".join(out)


def run_steps(
    title: str,
    steps: Iterable[Step],
    ctx: Any,
    *,
    network: str = "",
    stop_on_error: bool = True,
    pending: Iterable[str] = (),
) -> Report:
    """Run ``steps`` in order on ``ctx``. A failing step is recorded (``ok``/``error``) and, by
    default, ends the run."""
    report = Report(title=title, network=network, pending=list(pending))
    for step in steps:
        log = StepLog(step.name, step.title)
        report.steps.append(log)
        start = time.perf_counter()
        try:
            step.fn(ctx, log)
        except Exception as err:  # a failed step is part of the report; callers check .ok
            log.ok, log.error = False, f"{type(err).__name__}: {err}"
        log.wall_s = time.perf_counter() - start
        if not log.ok and stop_on_error:
            break
    return report


def render_table(header: list[str], rows: list[list[Any]]) -> str:
    """A plain-text table, first column left-aligned and the others right-aligned."""
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(padded)

    return "\n".join([fmt(cells[0]), fmt(["-" * w for w in widths]), *map(fmt, cells[1:])])
