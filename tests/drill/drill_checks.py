"""Checks every bundled drill passes, shared by the drill's test modules (one module per
scenario, so that each scenario runs once, in its own module, and the modules run side by side
on the test workers)."""

from __future__ import annotations

import json

SCENARIOS = ["normal_day", "member_default", "settlement_failures", "life_cycle"]


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


def check_separated_keys(drill, name):  # noqa: ANN001, ANN201
    """The drill ran on separated keys (``deployments/drill.yaml``): each role its own key; the
    timelock is admin of every contract and the operator of none, and the operator holds no price,
    risk or default-manager role, so the drill's prices, scenarios, contributions and defaults
    were sent by their own keys (the contracts would have refused anyone else); the keeper
    uncrossed every closing auction; the close-out market was wired by timelocked changes
    executed no earlier than the delay."""
    from ape import chain, networks

    from smartccp.chain.roles import DEFAULT_ADMIN_ROLE, DEFAULT_MANAGER_ROLE, PRICE_ROLE, RISK_ROLE

    runner, report, _ = drill(name)
    keys = report["setup"]["keys"]
    assert len(set(keys.values())) == len(keys), keys
    s, op = runner.system, keys["operator"]
    timelock = s.extra["SmartCCPTimelock"]
    governed = [c for n, c in s.contracts().items()
                if n != "SmartCCPTimelock" and any(getattr(a, "name", "") == "hasRole" for a in c.contract_type.abi)]
    assert governed and all(c.hasRole(DEFAULT_ADMIN_ROLE, timelock) and not c.hasRole(DEFAULT_ADMIN_ROLE, op)
                            for c in governed)
    rk = runner.risk
    assert not any(c.hasRole(role, op) for c, role in ((rk.margin, PRICE_ROLE), (rk.margin, RISK_ROLE),
                                                       (rk.fund, RISK_ROLE), (rk.fund, DEFAULT_MANAGER_ROLE)))
    web3 = networks.provider.web3
    uncrossed = [log for v in s.venues for log in v.AuctionUncrossed.range(0, chain.blocks.head.number + 1)]
    assert uncrossed and all(web3.eth.get_transaction(log.transaction_hash)["from"] == keys["keeper"]
                             for log in uncrossed)
    gov = report["setup"]["governance"]
    assert gov["delay"] == 2 * 86_400 and gov["changes"]
    assert all(c["ready_at"] - c["proposed_at"] >= gov["delay"] and c["executed"] == c["calls"] > 0
               for c in gov["changes"])
