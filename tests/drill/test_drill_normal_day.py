"""The ``normal_day`` drill in the fast profile: three venues trade, netting saves, every margin
call is met; a settled cycle is not settled twice."""

from __future__ import annotations

from drill_checks import (
    SCENARIOS,
    check_every_invariant_passes,
    check_report_and_charts_written,
    check_separated_keys,
)

from smartccp.clearing.ccp import run_cycle
from smartccp.sim.scenario import bundled_names

SCENARIO = "normal_day"


def test_bundled_scenarios__are_the_four_documented():
    assert sorted(SCENARIOS) == bundled_names()


def test_drill__fast_profile__every_invariant_check_passes(drill):
    check_every_invariant_passes(drill, SCENARIO)


def test_drill__report__json_and_three_charts_written(drill):
    check_report_and_charts_written(drill, SCENARIO)


def test_drill__separated_keys__each_role_sends_its_own_and_admin_changes_wait_the_timelock(drill):
    check_separated_keys(drill, SCENARIO)


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


def test_rerun_settled_cycle__zero_transactions(drill):
    runner, report, _ = drill("normal_day")
    cycle_id = report["cycles"][0]["cycle_id"]

    assert run_cycle(runner.system.ccp, cycle_id, runner.roles.operator).transactions == 0
