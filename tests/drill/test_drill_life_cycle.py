"""The ``life_cycle`` drill: a bond cleared T+2 over six rolling days; a coupon whose record date
two open cycles cross (market claims), its claims, a compression across the open cycles,
interest on margin cash, trading stopped and the bond redeemed at maturity. The expected figures
are computed here from the scenario (holdings, scripted orders, amounts), not read back."""

from __future__ import annotations

import json

from smartccp.lifecycle.interest import INTEREST_INDEX_ONE, YEAR, InterestBook
from smartccp.sim.scenario import load_scenario
from smartccp.units import BPS, cash

SCENARIO = "life_cycle"
SC = load_scenario(SCENARIO, profile="fast")
BOND = "BND"
[COUPON] = SC.events_of("coupon")
[REDEMPTION] = SC.events_of("redemption")


def _positions_after(days: int) -> dict[str, int]:
    """Each member's BND after the scripted trades of days < ``days`` settled (from the file)."""
    held = {m.name: m.holdings.get(BOND, 0) for m in SC.members}
    for o in SC.orders:
        if o.day < days:
            held[o.member] += o.quantity if o.side == "buy" else -o.quantity
    return held


def _net_in_cycle(day: int) -> dict[str, int]:
    net: dict[str, int] = {}
    for o in SC.orders:
        if o.day == day:
            net[o.member] = net.get(o.member, 0) + (o.quantity if o.side == "buy" else -o.quantity)
    return {m: q for m, q in net.items() if q}


def test_drill__every_invariant_check_passes__both_cycles_settle_when_due(drill):
    _, report, _ = drill(SCENARIO)
    cycles = report["cycles"]

    failed = [(c["day"], ch["name"], ch["detail"]) for c in cycles for ch in c["checks"] if not ch["ok"]]
    assert report["ok"] and not failed, failed
    # Rolling T+2: the day-0 cycle settles at the end of day 2, the day-1 cycle at the end of day 3.
    traded = [c for c in cycles if c["settlement"].get("phase") == "SETTLED"]
    assert [(c["day"], c["settlement"]["settled_on_day"]) for c in traded] == [(0, 2), (1, 3)]
    assert traded[1]["cycle_id"] == traded[0]["cycle_id"] + 1
    assert all(c["settlement"]["phase"] == "NO_TRADES" for c in cycles[2:])
    names = [ch["name"] for c in cycles for ch in c["checks"]]
    assert sum("Distributions holds" in n for n in names) == len(cycles)  # every day
    assert sum(n.startswith("market claims sum to zero") for n in names) == 2
    assert sum(n.startswith("CCP flat") for n in names) == 2


def test_coupon__market_claims__net_quantity_times_the_coupon_in_both_open_cycles(drill):
    _, report, _ = drill(SCENARIO)
    life = report["life"]
    [dist] = life["distributions"]
    per_unit = cash(COUPON.params["amount"])

    assert dist["amount_per_unit"] == per_unit and len(dist["open_cycles"]) == 2
    assert dist["escrowed"] == per_unit * dist["supply"]
    for day in (0, 1):
        booked = {c["account"]: c for c in life["market_claims"] if c["day"] == day}
        assert {m: c["net_quantity"] for m, c in booked.items()} == _net_in_cycle(day)
        assert {m: c["amount"] for m, c in booked.items()} == {m: q * per_unit for m, q in _net_in_cycle(day).items()}
    # alpha sold 400 on day 0 and net 50 on day 1: it hands on the coupon on 450 units.
    assert life["market_claims_by_account"]["alpha"] == -450 * per_unit


def test_coupon__claims__each_holder_paid_its_record_date_units_and_ends_with_the_coupon_on_what_it_holds(drill):
    _, report, _ = drill(SCENARIO)
    life = report["life"]
    per_unit = cash(COUPON.params["amount"])
    record = _positions_after(0)  # nothing settled before the record date (the end of day 1)
    record["close-out market (mock)"] = SC.close_out.inventory
    record = {k: v for k, v in record.items() if v}

    claims = life["claims"][BOND]
    assert {k: v[0] for k, v in life["record_units"][BOND].items()} == record
    assert claims == {k: per_unit * v for k, v in record.items()}
    assert sum(claims.values()) == life["distributions"][0]["escrowed"]
    # Claims and market claims together: the coupon on exactly the units each member ended with.
    final = _positions_after(2)
    for m in ("alpha", "bravo", "charlie"):
        assert claims.get(m, 0) + life["market_claims_by_account"].get(m, 0) == per_unit * final[m], m
    end_of_day3 = next(h["units"] for h in life["holdings"] if h["day"] == 3)
    assert {m: end_of_day3.get(m, 0) for m in final} == final


def test_compression__bravos_receipt_kept_in_custody_for_its_later_delivery(drill):
    _, report, _ = drill(SCENARIO)
    life = report["life"]
    bought, sold = _net_in_cycle(0)["bravo"], -_net_in_cycle(1)["bravo"]
    c0 = next(c["cycle_id"] for c in report["cycles"] if c["day"] == 0)

    [comp] = life["compressions"]
    assert (comp["account"], comp["receive_cycle"], comp["deliver_cycle"]) == ("bravo", c0, c0 + 1)
    assert comp["quantity"] == comp["kept_at_pay_out"] == min(bought, sold)
    custody = {h["day"]: h["units"]["CCP custody"] for h in life["holdings"]}
    assert (custody[1], custody[2], custody[3]) == (0, min(bought, sold), 0)
    assert next(h["units"] for h in life["holdings"] if h["day"] == 2)["bravo"] == bought - min(bought, sold)


def test_interest__paid_on_each_members_margin_cash_from_publication_to_claim(drill):
    _, report, _ = drill(SCENARIO)
    interest = report["life"]["interest"]
    bps = SC.events_of("interest_rate")[0].params["rate_bps"]

    assert interest["rate_bps"] == bps and interest["index"] == INTEREST_INDEX_ONE
    assert set(interest["paid"]) == {m.name for m in SC.members if m.kind == "clearing"}
    for m, paid in interest["paid"].items():
        base = interest["margin_cash"][m]
        assert base == paid["margin_cash"] == SC.member(m).margin  # no call moved it
        dt = paid["claimed_at"] - interest["published_at"]
        growth = INTEREST_INDEX_ONE * bps * dt // (BPS * YEAR)
        assert paid["amount"] == base * growth // INTEREST_INDEX_ONE > 0 and paid["unpaid"] == 0
        book = InterestBook()
        book.deposit(m, base, 0)
        book.set_rate(bps, interest["published_at"])
        assert book.claim(m, paid["claimed_at"]) == paid["amount"]


def test_redemption__trading_stopped_holders_redeemed_supply_zero(drill):
    runner, report, _ = drill(SCENARIO)
    life = report["life"]
    sec = life["securities"][BOND]
    red = life["redemptions"][BOND]
    per_unit = cash(REDEMPTION.params["amount"])
    length = int(runner.system.ccp.cycleLength())

    assert sec["maturity"] - sec["last_trading_time"] == SC.settlement_lag * length
    assert red["trading_stopped_at"] >= sec["last_trading_time"] == red["last_trading_time"]
    assert red["halted"] and red["stopped_on_day"] == 3
    refused = [o for o in SC.orders if o.day > red["stopped_on_day"]]
    assert refused and red["refused_after_stop"] == {"4": {"SecurityHalted": len(refused)}}
    final = {k: v for k, v in _positions_after(2).items() if v}
    final["close-out market (mock)"] = SC.close_out.inventory
    assert {k: v["units"] for k, v in red["redeemed"].items()} == final
    assert all(v["amount"] == v["units"] * per_unit for v in red["redeemed"].values())
    assert red["escrowed"] == per_unit * red["supply"] == sum(v["amount"] for v in red["redeemed"].values())
    assert red["supply_after"] == 0 == int(runner.system.securities.totalSupply(sec["id"]))


def test_conservation__distributions_paid_out_everything_escrowed(drill):
    _, report, _ = drill(SCENARIO)
    c = report["life"]["conservation"]
    setup = report["setup"]

    assert c["escrowed"] == c["paid_out"] == setup["life"]["issuer_cash"] and c["held"] == c["owed"] == 0
    assert report["final_balances"]["issuer"]["cash"] == 0  # it escrowed exactly what it was given
    sid = setup["security_ids"][BOND]
    assert report["final_balances"]["Distributions"]["cash"] == 0
    assert setup["supplies"][f"security:{sid}"] == sum(m.holdings.get(BOND, 0) for m in SC.members) + SC.close_out.inventory


def test_report__json_and_life_chart_written(drill):
    _, report, out = drill(SCENARIO)

    saved = json.loads((out / f"drill_{SCENARIO}.json").read_text())
    assert saved["life"] == json.loads(json.dumps(report["life"], default=str))
    for chart in ("waterfall", "margin_vs_loss", "gross_vs_net", "life"):
        assert (out / f"drill_{SCENARIO}_{chart}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report__text__has_the_life_cycle_section(drill):
    from smartccp.drill.report import render

    _, report, _ = drill(SCENARIO)
    text = render(report)

    assert "life cycle:" in text and "supply left 0" in text
    assert sum(line.startswith("  market claim cycle") for line in text.splitlines()) == len(report["life"]["market_claims"])


def test_scenario__maturity_day__needs_the_rolling_calendar():
    import pytest
    import yaml

    from smartccp.sim.scenario import SCENARIO_DIR, ScenarioError, parse_scenario

    raw = yaml.safe_load((SCENARIO_DIR / f"{SCENARIO}.yaml").read_text())
    raw["settlement"] = "each_day"

    with pytest.raises(ScenarioError, match="maturity_day needs settlement: rolling"):
        parse_scenario(raw)
