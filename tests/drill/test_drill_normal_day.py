"""The ``normal_day`` drill in the fast profile: three venues trade, netting saves, every margin
call is met; a settled cycle is not settled twice."""

from __future__ import annotations

import pytest
from drill_checks import (
    SCENARIOS,
    check_every_invariant_passes,
    check_report_and_charts_written,
    check_separated_keys,
)

from smartccp.clearing.ccp import run_cycle
from smartccp.privacy.linkage import link
from smartccp.privacy.records import DEV_REGULATOR_KEY, RecipientKey, RecordNotForKey
from smartccp.privacy.regulator import identities, reconstruct
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


def test_normal_day__pseudonyms__regulator_reconstructs_every_trade__outsider_names_no_pseudonym(drill):
    runner, report, _ = drill("normal_day")
    members = {m.name: m for m in runner.sc.members}
    address = {n: str(a.address) for n, a in runner.accounts.items()}
    name = {a: n for n, a in address.items()}

    def truth(who: str) -> tuple[str, str]:
        """(owner, clearing member) behind a trading address, from the scenario."""
        m = members[name[who]]
        owner = m.owner if m.kind == "pseudonym" else m.name
        return address[owner], address[m.clearing_member or m.name]

    seen = reconstruct(runner.system, DEV_REGULATOR_KEY)
    traded = sum(len(list(v.Traded.range(0, runner.system.venues[0].provider.get_block("latest").number + 1)))
                 for v in runner.system.venues)
    assert len(seen) == traded > 0  # every trade of the drill, each exactly
    for t in seen:
        for party in (t.buyer, t.seller):
            if party.address not in name:  # not a scenario member (the close-out market's dealer)
                assert not party.pseudonymous and party.owner == party.address
                continue
            assert (party.owner, party.clearing_member) == truth(party.address)
            assert party.pseudonymous == (members[name[party.address]].kind == "pseudonym")
    by_pseudonyms = [t for t in seen if t.buyer.pseudonymous or t.seller.pseudonymous]
    assert len(by_pseudonyms) >= 5
    with pytest.raises(RecordNotForKey):
        identities(runner.system, RecipientKey.from_seed("not the regulator"))

    outsider = link(runner.system)
    hidden = {address[n] for n, m in members.items() if m.kind == "pseudonym"}
    assert hidden <= outsider.addresses and not any(outsider.owners[a] for a in hidden)
    for t in outsider.trades:  # a trade with a pseudonym on either side: the outsider names not both
        pair = outsider.named[(t.venue.lower(), t.trade_id)]["venue Traded event"]
        if set(pair) & hidden:
            assert outsider.counterparties(t.venue, t.trade_id) is None
