"""The scale day's output: a progress bar while it runs, the figures as a table with their goals,
and ``reports/scale.json`` with its chart beside it (``scale.png``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from smartccp.chain.report import render_table
from smartccp.scale.chart import write_chart

#: Goals of issue #18 for the scale day's figures: (operator, target).
GOALS: dict[str, tuple[str, float]] = {
    "scale.max_tx_gas": ("<=", 15_000_000),
    "scale.day_orders": (">=", 100_000),
    "scale.day_wall_s": ("<=", 900),
    "scale.eod_margin_gas_per_position": ("<=", 15_000),
}


class BarProgress:
    """``progress(phase, done, total)`` drawn as one click progress bar per phase (on stderr)."""

    def __init__(self) -> None:
        self.phase: str | None = None
        self.bar: Any = None
        self.done = 0

    def __enter__(self) -> BarProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.render_finish()
            self.bar = None

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase != self.phase:
            self._close()
            self.phase, self.done = phase, 0
            self.bar = click.progressbar(length=max(total, 1), label=f"{phase:<22}", show_pos=True, show_eta=True,
                                         file=click.get_text_stream("stderr"))
            self.bar.render_progress()
        step = max(0, min(done, total) - self.done)
        self.done += step
        if step:
            self.bar.update(step)


def render(report: dict[str, Any]) -> str:
    """The figures (and each phase's transactions and gas) as tables."""
    rows = []
    for key, value in sorted(report["figures"].items()):
        goal = GOALS.get(key)
        met = "" if goal is None else ("ok" if (value <= goal[1] if goal[0] == "<=" else value >= goal[1])
                                         else "MISSED")
        shown = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}" if isinstance(value, float) else str(value)
        rows.append([key, shown, f"{goal[0]} {goal[1]:,g}" if goal else "", met])
    phases = [[p["name"], f"{p['txs']:,}", f"{p['gas']:,}", f"{p['max_tx_gas']:,}", f"{p['wall_s']:.1f}"]
              for p in report["phases"]]
    return (render_table(["figure", "value", "goal", ""], rows) + "\n\n"
            + render_table(["phase", "txs", "gas", "max tx gas", "wall s"], phases))


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write the JSON report to ``out`` and its chart beside it (same name, ``.png``)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    png = out.with_suffix(".png")
    write_chart(report, png)
    return out, png
