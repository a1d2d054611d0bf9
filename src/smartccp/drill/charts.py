"""PNG charts of a drill report (matplotlib, Agg backend; no display needed).

- ``<prefix>_waterfall.png``: each default's loss and the waterfall layers that covered it, as
  a cascade in layer order (from the LayerUsed events when the risk contracts ran, else the model);
- ``<prefix>_margin_vs_loss.png``: per clearing member and cycle, the initial margin (model)
  against the loss it then realised (next-day mark-to-market, or the close-out loss of a
  defaulter);
- ``<prefix>_gross_vs_net.png``: per cycle, the cash and units that trade-by-trade (gross) DVP
  would move against what multilateral netting made members pay in;
- ``<prefix>_life.png`` (a report with a ``life`` section): a security's holdings at the end of
  each day and each holder's cash flows of its life (:func:`life_chart`, which the demo's life
  step draws too).

Amounts are drawn in cash units (base units / 10^6).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from smartccp.units import CASH_UNIT  # noqa: E402


def write_charts(report: dict[str, Any], out: Path, *, prefix: str = "drill") -> dict[str, Path]:
    """Write the three charts into ``out``; returns name -> path."""
    paths = {
        "waterfall": out / f"{prefix}_waterfall.png",
        "margin_vs_loss": out / f"{prefix}_margin_vs_loss.png",
        "gross_vs_net": out / f"{prefix}_gross_vs_net.png",
    }
    _waterfall(report, paths["waterfall"])
    _margin_vs_loss(report, paths["margin_vs_loss"])
    _gross_vs_net(report, paths["gross_vs_net"])
    if "life" in report:
        paths["life"] = out / f"{prefix}_life.png"
        _life(report, paths["life"])
    return paths


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _waterfall(report: dict[str, Any], path: Path) -> None:
    defaults = [d for c in report["cycles"] for d in c["defaults"]]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    if not defaults:
        ax.text(0.5, 0.5, "no default in this scenario", ha="center", va="center", fontsize=13)
        ax.set_axis_off()
        ax.set_title(f"Default waterfall: {report['scenario']}")
        _save(fig, path)
        return
    d = defaults[0]
    layers = d["waterfall"]["layers"]
    names = ["loss"] + [n.replace("_", "\n") for n, _ in layers]
    amounts = [a / CASH_UNIT for _, a in layers]
    bottom = d["loss"] / CASH_UNIT
    m = d.get("management")
    if m:  # a managed default: the loss the auction crystallised, VM at the settlement price + discount
        vm = sum(-(lot["cash"] + lot["quantity"] * lot["mark"]) for lot in m["lots"]) / CASH_UNIT
        ax.bar(0, vm, color="#c0392b", label="VM at the settlement prices")
        ax.bar(0, bottom - vm, bottom=vm, color="#922b21", label="auction / close-out discount")
        margin = d["waterfall"].get("available", {}).get("defaulter_margin")
        if margin:
            ax.axhline(bottom - margin / CASH_UNIT, color="#2c3e50", ls="--", lw=1)
            ax.text(len(names) - 1, bottom - margin / CASH_UNIT, f"{d['member']}'s house margin "
                    f"({margin / CASH_UNIT:,.0f}) covers the loss down to here", ha="right", va="bottom", fontsize=8)
        ax.legend(fontsize=8, loc="upper right")
    else:
        ax.bar(0, bottom, color="#c0392b")
    colors = ["#2c3e50", "#34495e", "#8e44ad", "#e67e22", "#d35400", "#7f8c8d"]
    for i, a in enumerate(amounts, 1):
        bottom -= a
        ax.bar(i, a, bottom=bottom, color=colors[(i - 1) % len(colors)])
        if a:
            ax.text(i, bottom + a / 2, f"{a:,.0f}", ha="center", va="center", color="white", fontsize=8)
    ax.set_xticks(range(len(names)), names, fontsize=7)
    ax.set_ylabel("cash")
    how = "managed at once: auction, close-out" if m else "CCP close-out at settlement"
    ax.set_title(f"Default of {d['member']} ({how}): loss {d['loss'] / CASH_UNIT:,.0f} covered layer by layer\n"
                 "(on chain: LayerUsed events of the DefaultFund)" if "on chain" in d["waterfall"]["basis"]
                 else f"Default of {d['member']}: loss {d['loss'] / CASH_UNIT:,.0f} covered layer by layer\n(model)",
                 fontsize=10)
    _save(fig, path)


def _margin_vs_loss(report: dict[str, Any], path: Path) -> None:
    labels, im, loss = [], [], []
    defaults = {(c["day"], d["member"]): d["loss"] for c in report["cycles"] for d in c["defaults"]}
    for c in report["cycles"]:
        for m in c["margin"].get("calls", []):
            labels.append(f"d{c['day']} {m['member']}")
            im.append(m["initial_margin"] / CASH_UNIT)
            loss.append(defaults.get((c["day"], m["member"]), m["next_day_loss"]) / CASH_UNIT)
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(labels) + 2), 4.5))
    x = range(len(labels))
    ax.bar([i - 0.2 for i in x], im, width=0.4, label="initial margin", color="#2980b9")
    ax.bar([i + 0.2 for i in x], loss, width=0.4, label="realised loss", color="#c0392b")
    ax.set_xticks(list(x), labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("cash")
    ax.set_title(f"Margin against realised losses: {report['scenario']}")
    ax.legend()
    _save(fig, path)


def _gross_vs_net(report: dict[str, Any], path: Path) -> None:
    cycles = [c for c in report["cycles"] if c["gross"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 4))
    x = range(len(cycles))
    labels = [f"day {c['day']}" for c in cycles]
    for ax, key, unit in ((ax1, "cash", CASH_UNIT), (ax2, "units", 1)):
        ax.bar([i - 0.2 for i in x], [c["gross"][key] / unit for c in cycles], width=0.4, label="gross (trade by trade)",
               color="#7f8c8d")
        ax.bar([i + 0.2 for i in x], [c["net"][key] / unit for c in cycles], width=0.4, label="net (after netting)",
               color="#27ae60")
        ax.set_xticks(list(x), labels)
        ax.set_title(f"{key} paid in")
    ax1.legend(fontsize=8)
    fig.suptitle(f"Gross against net settlement: {report['scenario']}")
    _save(fig, path)


def life_chart(stages: list[tuple[str, dict[str, int]]], flows: dict[str, tuple[int, ...]], path: Path, *,
               security: str, kinds: tuple[str, ...] = ("coupon", "market claims", "interest"),
               title: str = "cash flows of the bond's life (redemption aside)") -> Path:
    """Left: units of ``security`` held at each stage (label, holder -> units), stacked by
    holder; right: each holder's cash flows (one bar per kind of ``kinds``, base units)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    labels = [label for label, _ in stages]
    who_held = list(dict.fromkeys(h for _, held in stages for h in held))
    color = {who: f"C{i}" for i, who in enumerate(dict.fromkeys([*flows, *who_held]))}  # one per holder
    bottom = [0] * len(stages)
    for who in who_held:
        values = [held.get(who, 0) for _, held in stages]
        left.bar(labels, values, bottom=bottom, label=who, color=color[who])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    left.set_title(f"{security} held at each stage")
    left.set_ylabel("units")
    left.tick_params(axis="x", labelrotation=20)
    left.legend(fontsize=8)
    width = 0.8 / max(1, len(flows))
    for i, (who, values) in enumerate(flows.items()):
        xs = [k + (i - (len(flows) - 1) / 2) * width for k in range(len(kinds))]
        right.bar(xs, [v / CASH_UNIT for v in values], width=width, label=who, color=color[who])
    right.set_xticks(range(len(kinds)), kinds)
    right.axhline(0, color="black", linewidth=0.8)
    right.set_title(title)
    right.set_ylabel("cash")
    right.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    _save(fig, path)
    return path


def _life(report: dict[str, Any], path: Path) -> None:
    """The first life-cycle security of the drill: holdings per day, and per member its
    distributions claimed, market claims and interest."""
    life = report["life"]
    sym = next(iter(life["securities"]), None) or next(iter(life["claims"]), "")
    stages = [(f"day {h['day']}", h["units"]) for h in life["holdings"] if h["security"] == sym]
    members = list(report["setup"]["members"])
    paid = life["interest"].get("paid", {})
    flows = {m: (life["claims"].get(sym, {}).get(m, 0), life["market_claims_by_account"].get(m, 0),
                 paid.get(m, {}).get("amount", 0)) for m in members}
    life_chart(stages, flows, path, security=sym, kinds=("distributions", "market claims", "interest"),
               title=f"{report['scenario']}: each member's cash flows (redemption aside)")
