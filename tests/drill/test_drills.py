"""Every bundled scenario runs in the fast profile with all invariant checks passing and writes its
JSON report and charts; every drill step is idempotent (a re-run sends nothing, changes nothing).
One module, so that the three drills run once (module fixture ``drills``)."""

from __future__ import annotations

import json

import pytest
from ape import chain

from smartccp.clearing.ccp import run_cycle
from smartccp.risk.chain import margin_status
from smartccp.risk.waterfall import LAYERS, run_waterfall
from smartccp.sim.scenario import bundled_names

SCENARIOS = ["normal_day", "member_default", "settlement_failures"]


def test_bundled_scenarios__are_the_three_documented():
    assert sorted(SCENARIOS) == bundled_names()


@pytest.mark.parametrize("name", SCENARIOS)
def test_drill__fast_profile__every_invariant_check_passes(drill, name):
    _, report, _ = drill(name)

    failed = [(c["day"], ch["name"], ch["detail"]) for c in report["cycles"] for ch in c["checks"] if not ch["ok"]]
    assert report["ok"] and not failed, failed
    assert report["checks"]["passed"] >= 7 * len(report["cycles"])
    assert all(c["settlement"]["phase"] == "SETTLED" for c in report["cycles"])


@pytest.mark.parametrize("name", SCENARIOS)
def test_drill__report__json_and_three_charts_written(drill, name):
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


def test_normal_day__three_venues_trade_and_netting_saves(drill):
    runner, report, _ = drill("normal_day")
    cycle = report["cycles"][0]

    assert len(runner.system.venues) == 3
    assert {a["venue"] for a in cycle["auctions"]} == {0, 1, 2}
    assert cycle["settlement"]["failures"] == 0 and not cycle["sell_outs"] and not cycle["buy_ins"]
    assert cycle["net"]["cash"] < cycle["gross"]["cash"]
    assert {"limit", "hidden", "iceberg", "ioc"} <= set(cycle["flow"]["by_type"])
    assert set(cycle["bbo"]) == {"ACME", "BOLT", "CORE"} and all(q["matches_venues"] for q in cycle["bbo"].values())
    assert [c["met"] for c in cycle["margin"]["calls"]] == [True] * 8  # on chain, every call met


def test_member_default__loss_reaches_survivors_fund__market_keeps_running(drill):
    _, report, _ = drill("member_default")
    day0, day1 = report["cycles"]

    [default] = day0["defaults"]
    layers = dict(default["waterfall"]["layers"])
    assert default["member"] == "kilo" and default["loss"] > 0
    assert layers["defaulter_margin"] > 0 and layers["defaulter_default_fund"] > 0
    assert layers["ccp_skin_in_the_game"] > 0 and layers["survivor_default_fund"] > 0
    assert layers["uncovered"] == 0 and sum(layers.values()) == default["loss"]
    assert [s["account"] for s in day0["sell_outs"]] == ["kilo"]
    assert not next(c for c in day0["margin"]["calls"] if c["member"] == "kilo")["met"]
    assert day1["flow"]["refused_defaulters"] == {"kilo": True} and day1["flow"]["trades"] > 0


def test_member_default__on_chain_waterfall__layer_events_in_order_sum_to_the_loss(drill):
    runner, report, _ = drill("member_default")
    day0 = report["cycles"][0]
    [default] = day0["defaults"]
    w = default["waterfall"]
    events = [(e["layer"], e["amount"]) for e in w["events"]]

    assert "on chain" in w["basis"] and events == [(e["layer"], e["amount"]) for e in day0["layers_used"]]
    assert [n for n, _ in events] == sorted({n for n, _ in events}, key=LAYERS.index)  # in waterfall order
    assert [n for n, _ in events] == list(LAYERS[:4])  # the loss reached the survivors' contributions
    assert sum(a for _, a in events) == default["loss"] == w["charged_by_ccp"] > 0
    available = w["available"]
    for name, amount in events[:-1]:  # every layer before the last is used up
        assert amount == available[name]
    assert events[-1][1] <= available["survivor_default_fund"]
    assert int(runner.risk.fund.defaultOf(runner.accounts["kilo"])[1]) == default["loss"]
    expected = run_waterfall({"kilo": default["loss"]}, {"kilo": available["defaulter_margin"]},
                             {"kilo": available["defaulter_default_fund"], "survivors": available["survivor_default_fund"]},
                             available["ccp_skin_in_the_game"])
    assert dict(w["layers"]) == dict(expected.layers)  # the contract's layer totals equal the model's
    assert default["status_after"] == "Expelled" and day0["events"][0]["reason"] == "MissedMarginCall"


def test_settlement_failures__sell_outs_and_buy_in__shortfalls_charged_to_clearing_members(drill):
    _, report, _ = drill("settlement_failures")
    cycle = report["cycles"][0]

    assert {(s["account"], s["security"]) for s in cycle["sell_outs"]} == {("papa", "ACME"), ("sierra", "CORE")}
    assert [(b["account"], b["security"], b["bought"]) for b in cycle["buy_ins"]] == [("quebec", "BOLT", 600)]
    charged = {s["account"]: s["clearing_member"] for s in cycle["shortfalls"]}
    assert charged["sierra"] == "oscar"  # a client's shortfall falls on its clearing member
    assert all(s["covered"] == s["shortfall"] for s in cycle["shortfalls"])
    assert cycle["settlement"]["failures"] == 3


def test_settlement_failures__on_chain__shortfalls_covered_by_the_members_own_margin(drill):
    runner, report, _ = drill("settlement_failures")
    cycle = report["cycles"][0]
    charged = {}
    for s in cycle["shortfalls"]:
        charged[s["clearing_member"]] = charged.get(s["clearing_member"], 0) + s["shortfall"]

    # Each charged clearing member is declared in default on the DefaultFund and its own margin
    # (layer 1) covers the shortfall: one LayerUsed event each, nothing reaches the others.
    assert set(charged) >= {"papa", "oscar"}
    assert {(e["defaulter"], e["layer"]) for e in cycle["layers_used"]} == {(m, "defaulter_margin") for m in charged}
    for member, amount in charged.items():
        [dft] = [d for d in cycle["defaults"] if d["member"] == member]
        assert dict(dft["waterfall"]["layers"])["defaulter_margin"] == amount == dft["loss"]
        assert dft["reason"] == "SettlementShortfall" and dft["status_at_default"] == "Suspended"
        # Its own margin paid it all: it deposits that again and the default manager cures the case.
        cure = dft["cure"]
        assert cure["event"] == {"name": "DefaultCured", "member": member, "reason": "SettlementShortfall",
                                 "loss": amount}
        assert cure["margin_deposited"] >= amount and cure["gas"] > 0 and cure["gate_refusal"] is None
        assert dft["status_after"] == "Active" and not cure["defaulted_in_margin"]
        acct = runner.accounts[member]
        assert tuple(runner.risk.fund.defaultOf(acct)) == (0, 0, False)  # the case is deleted
        assert int(runner.system.membership.memberOf(acct).status) == 1  # Active
        assert not margin_status(runner.risk.margin, acct).defaulted
    assert not runner.defaulted
    assert any(ch["name"].startswith("cured member active again") and ch["ok"] for ch in cycle["checks"])
    events = {(e["type"], e["member"]): e for e in cycle["events"]}
    assert events[("failed_delivery", "quebec")]["clearing_member"] == "quebec"
    assert events[("missed_payment", "sierra")]["clearing_member"] == "oscar"
    # Close-outs traded on venue 0 against the close-out dealer (direct DVP fills of VenueCloseOut).
    market = str(runner.close_out.market.address)
    fills = [t for t in runner.system.venue.Traded.range(cycle["start_block"], chain.blocks.head.number + 1)
             if market in (str(t.buyer), str(t.seller))]
    assert sum(int(t.quantity) for t in fills) == 400 + 100 + 600


# ─── Idempotency ─────────────────────────────────────────────────────────────────────────────


def test_rerun_finished_drill__no_transactions__same_report(drill):
    runner, report, _ = drill("settlement_failures")
    head = chain.blocks.head.number
    before = {k: v for k, v in report.items() if k != "wall_s"}

    again = runner.run()

    assert chain.blocks.head.number == head
    assert {k: v for k, v in again.items() if k != "wall_s"} == before
    assert all(step.reruns == 1 for step in runner.steps)


def test_forced_rerun_of_chain_steps__chain_guards_make_it_a_no_op(drill):
    runner, _, _ = drill("settlement_failures")

    assert runner.rerun("day0:auction") == 0
    assert runner.rerun("day0:settle") == 0


def test_rerun_settled_cycle__zero_transactions(drill):
    runner, report, _ = drill("normal_day")
    cycle_id = report["cycles"][0]["cycle_id"]

    assert run_cycle(runner.system.ccp, cycle_id, runner.roles.operator).transactions == 0
