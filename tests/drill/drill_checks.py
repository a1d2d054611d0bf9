"""Checks every bundled drill passes, shared by the drill's test modules (one module per
scenario, so that each scenario runs once, in its own module, and the modules run side by side
on the test workers)."""

from __future__ import annotations

import json

SCENARIOS = ["normal_day", "member_default", "settlement_failures"]


def check_every_invariant_passes(drill, name):  # noqa: ANN001, ANN201
    """The drill's report is ok, every check of every cycle passed, every cycle settled."""
    _, report, _ = drill(name)

    failed = [(c["day"], ch["name"], ch["detail"]) for c in report["cycles"] for ch in c["checks"] if not ch["ok"]]
    assert report["ok"] and not failed, failed
    assert report["checks"]["passed"] >= 7 * len(report["cycles"])
    assert all(c["settlement"]["phase"] == "SETTLED" for c in report["cycles"])


def check_report_and_charts_written(drill, name):  # noqa: ANN001, ANN201
    """The JSON report and the three PNG charts are written, with the documented keys."""
    _, report, out = drill(name)

    saved = json.loads((out / f"drill_{name}.json").read_text())
    assert saved["scenario"] == name and saved["profile"] == "fast"
    assert saved["wall_s"] == report["wall_s"] > 0
    for key in ("cycles", "final_balances", "checks", "steps", "notices", "charts"):
        assert key in saved
    cycle = saved["cycles"][0]
    for key in ("gross", "net", "settlement", "sell_outs", "buy_ins", "margin", "defaults", "checks"):
        assert key in cycle
    assert "on chain (Margin + DefaultFund" in saved["notices"]["risk"]  # every bundled scenario
    assert saved["notices"]["close_out"].startswith("VenueCloseOut on venue 0")
    assert "DefaultFund" in saved["notices"]["close_out"] and "Mock" not in saved["notices"]["close_out"]
    for chart in ("waterfall", "margin_vs_loss", "gross_vs_net"):
        path = out / f"drill_{name}_{chart}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
