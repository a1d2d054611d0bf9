"""The scale day's chart (matplotlib, Agg backend): how costs grew with size during the day.

Three panels: the probes' gas (a resting order of the largest member with the gate, and one
fill) against the largest member's positions as the day went on, with the mean relayed gas per
order; end-of-day revaluation gas per margin account against its positions (a member's house
account, a client's own); gas per phase of the day.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def write_chart(report: dict[str, Any], path: Path) -> Path:
    """Draw the three panels into ``path`` (PNG); returns it."""
    fig, (a, b, c) = plt.subplots(1, 3, figsize=(15, 4.5))
    s = report["samples"]
    x = [p["largest_member_positions"] for p in s]
    a.plot(x, [p["rest_with_gate_gas"] for p in s], "o-", label="resting order + gate (largest member)")
    a.plot(x, [p["fill_gas"] for p in s], "s-", label="fill, one maker")
    relayed = [(p["largest_member_positions"], p["relay_gas_per_order"]) for p in s if p["orders"]]
    a.plot([r[0] for r in relayed], [r[1] for r in relayed], "^-", label="relayed gas per order (mean so far)")
    a.set_xlabel("positions of the largest member")
    a.set_ylabel("gas")
    a.set_ylim(bottom=0)
    a.set_title("per-operation gas through the day")
    a.legend(fontsize=8)
    r = report["revalue_by_member"]
    b.scatter([p["positions"] for p in r], [p["gas"] / 1e6 for p in r], s=10)
    b.set_xlabel("positions of the margin account (a house or a client's own)")
    b.set_ylabel("revaluation gas (M)")
    b.set_title("end-of-day margin per account")
    phases = [p for p in report["phases"] if not p["name"].startswith("setup")]
    c.barh([p["name"] for p in phases], [p["gas"] / 1e6 for p in phases])
    c.set_xlabel("gas (M)")
    c.set_title("gas per phase of the day")
    c.invert_yaxis()
    sp = report["spec"]
    fig.suptitle(f"scale day: {sp['members']} members, {sp['clients']} clients, {sp['securities']} securities "
                 f"x {sp['venues']} venues, {report['figures']['scale.day_orders']:,} orders")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
