"""The ``settlement_failures`` drill in the fast profile: sell-outs and a buy-in, shortfalls
charged to the clearing members and covered by their own margin; every drill step is idempotent
(a re-run sends nothing, changes nothing)."""

from __future__ import annotations

from ape import chain
from drill_checks import (
    check_every_invariant_passes,
    check_report_and_charts_written,
    check_separated_keys,
)

from smartccp.risk.chain import margin_status

SCENARIO = "settlement_failures"


def test_drill__fast_profile__every_invariant_check_passes(drill):
    check_every_invariant_passes(drill, SCENARIO)


def test_drill__report__json_and_three_charts_written(drill):
    check_report_and_charts_written(drill, SCENARIO)


def test_drill__separated_keys__each_role_sends_its_own_and_admin_changes_wait_the_timelock(drill):
    check_separated_keys(drill, SCENARIO)


def test_settlement_failures__sell_outs_and_buy_in__shortfalls_charged_to_clearing_members(drill):
    _, report, _ = drill("settlement_failures")
    cycle = report["cycles"][0]

    # sierra (a client) withheld its own cash: its clearing member oscar paid its cash leg, so
    # nothing of sierra's is closed out.
    assert {(s["account"], s["security"]) for s in cycle["sell_outs"]} == {("papa", "ACME")}
    assert [(b["account"], b["security"], b["bought"]) for b in cycle["buy_ins"]] == [("quebec", "BOLT", 600)]
    charged = {s["account"]: s["clearing_member"] for s in cycle["shortfalls"]}
    assert "sierra" not in charged and "oscar" not in charged.values()
    assert all(s["covered"] == s["shortfall"] for s in cycle["shortfalls"])
    assert cycle["settlement"]["failures"] == 2


def test_settlement_failures__on_chain__shortfalls_covered_by_the_members_own_margin(drill):
    runner, report, _ = drill("settlement_failures")
    cycle = report["cycles"][0]
    charged = {}
    for s in cycle["shortfalls"]:
        charged[s["clearing_member"]] = charged.get(s["clearing_member"], 0) + s["shortfall"]

    # Each charged clearing member is declared in default on the DefaultFund and its own margin
    # (layer 1) covers the shortfall: one LayerUsed event each, nothing reaches the others.
    assert "papa" in charged and "oscar" not in charged
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
    assert sum(int(t.quantity) for t in fills) == 400 + 600  # papa's sell-out, quebec's buy-in


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
