"""The scale day's output: a progress bar while it runs, the figures as a table with their goals,
and ``reports/scale.json`` with its chart beside it (``scale.png``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from smartccp.chain.report import render_table
from smartccp.scale.chart import write_chart

if TYPE_CHECKING:
    from smartccp.scale.day import ScaleDay

#: Goals of issue #18 for the scale day's figures: (operator, target).
SCALE_GOALS: dict[str, tuple[str, float]] = {
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
        goal = SCALE_GOALS.get(key)
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


def build_report(day: ScaleDay) -> dict[str, Any]:
    m, f = day.m, dict(day.figures)
    day_phases = [p for p in m.phases if not p.name.startswith("setup")]
    positions = day.positions_per_member()
    member_positions = sorted(len(day.flow.positions.get(a.address, ())) for a in m.members)
    f.update({
        "scale.members": day.spec.members,
        "scale.clients": day.spec.clients,
        "scale.securities": day.spec.securities,
        "scale.venues": day.spec.venues,
        "scale.day_orders": day.flow.tally.orders,
        "scale.day_fills": day.flow.tally.fills,
        "scale.day_txs": sum(p.txs for p in day_phases),
        "scale.day_gas": sum(p.gas for p in day_phases),
        "scale.max_tx_gas": max(p.max_tx_gas for p in day_phases),
        "scale.setup_txs": sum(p.txs for p in m.phases if p.name.startswith("setup")),
        "scale.setup_max_tx_gas": max(p.max_tx_gas for p in m.phases if p.name.startswith("setup")),
        "scale.member_positions_min": member_positions[0],
        "scale.member_positions_median": int(np.median(member_positions)),
        "scale.member_positions_max": member_positions[-1],
        "scale.member_book_positions_max": max(positions.values()),
        "scale.day_orders_per_s": round(day.flow.tally.orders / f["scale.day_wall_s"], 1),
    })
    st = m.raw.stats
    return {
        "spec": day.spec.as_dict(),
        "figures": f,
        "phases": [{"name": p.name, "txs": p.txs, "gas": p.gas, "max_tx_gas": p.max_tx_gas,
                    "wall_s": round(p.wall_s, 2), **p.extra} for p in m.phases],
        "samples": day.samples,
        "revalue_by_member": [{"positions": a, "gas": g} for a, g in day.revalue_points],
        "refused": dict(sorted(day.flow.tally.refused.items())),
        "layers": day.layers,
        "client": {"txs": st.txs, "blocks": st.blocks, "sign_s": round(st.sign_s, 1),
                   "send_s": round(st.send_s, 1), "mine_s": round(st.mine_s, 1),
                   "receipts_s": round(st.receipts_s, 1)},
    }
