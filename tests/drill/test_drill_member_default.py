"""The ``member_default`` drill in the fast profile: the defaulter's loss runs down the on-chain
waterfall in order and the market keeps running."""

from __future__ import annotations

from drill_checks import (
    check_every_invariant_passes,
    check_report_and_charts_written,
    check_separated_keys,
)

from smartccp.risk.chain import margin_status
from smartccp.risk.waterfall import LAYERS, run_waterfall

SCENARIO = "member_default"


def test_drill__fast_profile__every_invariant_check_passes(drill):
    check_every_invariant_passes(drill, SCENARIO)


def test_drill__report__json_and_three_charts_written(drill):
    check_report_and_charts_written(drill, SCENARIO)


def test_drill__separated_keys__each_role_sends_its_own_and_admin_changes_wait_the_timelock(drill):
    check_separated_keys(drill, SCENARIO)


def test_member_default__managed_at_once__client_ported_portfolio_auctioned_loss_reaches_survivors(drill):
    runner, report, _ = drill("member_default")
    day0, day1 = report["cycles"]
    [event] = day0["events"]
    mgmt = event["management"]
    # Clients first: romeo ported to lima in the port window, and victor (omnibus) with kilo's
    # omnibus collateral; tango, not accepted, closed out.
    assert event["ported_clients"] == ["romeo", "victor"] and mgmt["closed_out_clients"] == ["tango"]
    assert event["omnibus_collateral_ported"] == runner.sc.member("victor").margin > 0
    lots = {lot["account"]: lot for lot in mgmt["lots"]}
    house, tango = lots["kilo"], lots["tango"]
    assert (house["quantity"], house["cash"]) == (3_000, -3_000 * 100_000_000)
    assert (tango["quantity"], tango["cash"]) == (300, -300 * 100_000_000)
    # Sealed bids: the best accepted bid wins; uniform's, above its margin, is refused.
    first = [b for b in mgmt["bids"] if b["round"] == 0]
    refused = {b["bidder"]: b["refused"] for b in first}
    assert refused == {"lima": None, "mike": None, "november": None, "uniform": "InsufficientMargin"}
    best = max(b["price"] for b in first if b["refused"] is None)
    assert (house["state"], house["winner"], house["price"]) == ("awarded", "lima", best)
    # Nobody bid on tango's lot: the auction reopened for it, and mike's second-round bid, 20 %
    # under the settlement price, took it (the close-out dealer bid 30 % under).
    [again] = [b for b in mgmt["bids"] if b["round"] == 1]
    assert (again["bidder"], again["lot"], again["refused"]) == ("mike", tango["lot"], None)
    tick = 10_000  # ACME's 0.01
    assert again["price"] == tango["mark"] * 8 // 10 // tick * tick
    assert (tango["state"], tango["winner"], tango["price"]) == ("awarded", "mike", again["price"])
    assert tango["loss"] == -(tango["cash"] + tango["quantity"] * tango["price"]) > 0
    # The loss is what the auction crystallised: what kilo owed minus what the winner pays, i.e.
    # VM at the settlement price plus the auction's discount to it.
    vm = -(house["cash"] + house["quantity"] * house["mark"])
    discount = house["quantity"] * (house["mark"] - house["price"])
    assert house["loss"] == vm + discount == -(house["cash"] + house["quantity"] * house["price"]) > 0
    assert mgmt["loss"] == house["loss"] + tango["loss"] == mgmt["covered"]
    # Before settlement: nothing of kilo's is left to settle, no sell-out, no shortfall.
    assert day0["sell_outs"] == [] and day0["shortfalls"] == []
    assert day0["settlement"]["phase"] == "SETTLED" and day0["settlement"]["failures"] == 0
    [default] = day0["defaults"]
    layers = dict(default["waterfall"]["layers"])
    assert default["member"] == "kilo" and default["loss"] == mgmt["loss"]
    assert layers["defaulter_margin"] > 0 and layers["defaulter_default_fund"] > 0
    assert layers["ccp_skin_in_the_game"] > 0 and layers["survivor_default_fund"] > 0
    assert layers["uncovered"] == 0 and sum(layers.values()) == default["loss"]
    assert not next(c for c in day0["margin"]["calls"] if c["member"] == "kilo")["met"]
    assert day1["flow"]["refused_defaulters"] == {"kilo": True} and day1["flow"]["trades"] > 0


def test_member_default__on_chain_waterfall__layer_events_in_order_sum_to_the_loss(drill):
    runner, report, _ = drill("member_default")
    day0 = report["cycles"][0]
    [default] = day0["defaults"]
    mgmt = day0["events"][0]["management"]
    w = default["waterfall"]
    events = [(e["layer"], e["amount"]) for e in w["events"]]
    assert "on chain" in w["basis"] and w["events"] == mgmt["layers"]
    # The house's loss first (the house account is the case's first), in waterfall order up to
    # the survivors' contributions; then tango's, from tango's own account only.
    house_loss, tango_loss = (next(lt["loss"] for lt in mgmt["lots"] if lt["account"] == a) for a in ("kilo", "tango"))
    house, client = events[:4], events[4:]
    assert [n for n, _ in house] == list(LAYERS[:4])  # the loss reached the survivors' contributions
    assert sum(a for _, a in house) == house_loss and client == [("defaulter_margin", tango_loss)]
    assert sum(a for _, a in events) == default["loss"] > 0 and w["charged_by_ccp"] == 0
    available = w["available"]
    for name, amount in house[:-1]:  # every layer before the last is used up
        assert amount == available[name]
    assert house[-1][1] <= available["survivor_default_fund"]
    assert int(runner.risk.fund.defaultOf(runner.accounts["kilo"])[1]) == default["loss"]
    expected = run_waterfall({"kilo": house_loss}, {"kilo": available["defaulter_margin"]},
                             {"kilo": available["defaulter_default_fund"], "survivors": available["survivor_default_fund"]},
                             available["ccp_skin_in_the_game"])
    assert dict(house) == {k: v for k, v in expected.layers if v}  # the contract's layers equal the model's
    # victor's omnibus collateral now in lima's omnibus account, none left in kilo's.
    margin = runner.risk.margin
    omnibus = {m: margin_status(margin, margin.omnibusAccountOf(runner.accounts[m])).cash for m in ("kilo", "lima")}
    assert omnibus == {"kilo": 0, "lima": runner.sc.member("victor").margin}
    # tango keeps the rest of its own margin: segregation held.
    posted = margin_status(runner.risk.margin, runner.accounts["tango"]).posted
    assert posted == runner.sc.member("tango").margin - tango_loss > 0
    assert default["status_after"] == "Expelled" and day0["events"][0]["reason"] == "MissedMarginCall"


def test_member_default__cover2_from_history__fund_shown_against_two_largest_historical_losses(drill):
    runner, report, _ = drill("member_default")
    day0 = report["cycles"][0]
    fund = day0["margin"]["default_fund"]
    history = fund["fund_vs_history"]
    [default] = day0["defaults"]
    assert default["waterfall"]["fund_vs_history"] == history
    # The worst window since 1999 (S&P 500 moves times each security's beta) for the two
    # members it hurts most, applied to their day-0 positions.
    assert len(history["two_largest"]) == 2 and history["historical_loss_two_largest"] > 0
    assert len(history["worst_window"]["shocks_bps"]) == 2 and history["historical_windows"] >= 2
    assert history["historical_loss_two_largest"] >= history["historical_cover2"] >= 0
    # Cover 2 is at least the history's and the hypothetical floor, and the fund holds it.
    assert fund["fund_size"] >= max(history["historical_cover2"], history["hypothetical_floor"])
    assert history["fund_covers_history"] and sum(fund["required"].values()) >= history["historical_cover2"]


def _exhausted(report_day: dict, shock_bps: int) -> bool:
    """Direct computation: at a uniform move of ``shock_bps``, does some pair of members, each
    losing ``max(0, loss - margin)`` beyond its margin, take more than their own contributions,
    the CCP's skin in the game and the other members' contributions (no assessments)?"""
    fund = report_day["margin"]["default_fund"]
    inputs, contributions = fund["reverse_stress"]["inputs"], fund["required"]
    prices, margins = inputs["prices"], inputs["margins"]
    quantities = {c["member"]: c["quantities"] for c in report_day["margin"]["calls"]}
    loss = {m: -(sum(q * p * shock_bps for q, p in zip(quantities[m], prices)) // 10_000) for m in margins}  # rounded up
    beyond = {m: max(0, loss[m] - margins[m]) for m in margins}
    names = sorted(margins)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            left = sum(max(0, beyond[d] - contributions[d]) for d in (a, b))
            others = sum(v for m, v in contributions.items() if m not in (a, b))
            if left > inputs["skin_in_the_game"] + others:
                return True
    return False


def test_member_default__reverse_stress__move_that_uses_the_fund_up_beyond_the_sized_moves(drill):
    runner, report, _ = drill("member_default")
    day0 = report["cycles"][0]
    reverse = day0["margin"]["default_fund"]["reverse_stress"]
    [default] = day0["defaults"]
    assert default["waterfall"]["reverse_stress"] == reverse
    down, up = reverse["down"], reverse["up"]
    # The fund is sized (cover 2) for the hypothetical moves, up to -30 % and +30 %: only a
    # larger uniform fall uses it up, and kilo (long 3,000 ACME) is one of the two defaulters.
    worst_fall = min(runner.sc.risk.stress_moves_bps)
    assert down["shock_bps"] is not None and -10_000 <= down["shock_bps"] < worst_fall
    assert down["uncovered"] > 0 and len(down["defaulters"]) == 2 and "kilo" in down["defaulters"]
    assert up["shock_bps"] is None or up["shock_bps"] > max(runner.sc.risk.stress_moves_bps)
    # The same threshold computed directly from the report's positions, margins and contributions.
    assert _exhausted(day0, down["shock_bps"]) and not _exhausted(day0, down["shock_bps"] + 1)
    if up["shock_bps"] is not None:
        assert _exhausted(day0, up["shock_bps"]) and not _exhausted(day0, up["shock_bps"] - 1)
