"""The scenario format and the market simulator, without a chain."""

from __future__ import annotations

import pytest

from smartccp.sim.scenario import ScenarioError, load_scenario, parse_scenario
from smartccp.sim.simulator import MarketSimulator, price_paths
from smartccp.types import OrderType, TimeInForce


def _sim(seed: int):
    sc = load_scenario("normal_day", profile="fast")
    return sc, MarketSimulator([m.name for m in sc.members], sc.securities, sc.flow, seed)


def test_simulator__same_seed__same_flow_order_for_order():
    sc, a = _sim(1)
    _, b = _sim(1)
    _, c = _sim(2)
    opens, closes = [s.start_price for s in sc.securities], [s.start_price for s in sc.securities]

    assert a.continuous(0, opens, closes) == b.continuous(0, opens, closes)
    assert a.continuous(0, opens, closes) != c.continuous(0, opens, closes)
    assert a.auction(0, closes, 3) == b.auction(0, closes, 3)


def test_simulator__flow__on_tick_on_lot_with_the_configured_mix():
    sc, sim = _sim(3)
    prices = [s.start_price for s in sc.securities]
    flow = [i for d in range(5) for i in sim.continuous(d, prices, prices)]
    places = [i for i in flow if i.action == "place"]

    for i in places:
        sec = sc.securities[i.security]
        assert i.price % sec.tick == 0 and i.quantity % sec.lot == 0 and i.quantity > 0
        if i.order_type == OrderType.ICEBERG:
            assert 0 < i.display < i.quantity and i.display % sec.lot == 0
        if i.order_type == OrderType.MARKET:
            assert i.tif == TimeInForce.IOC
    assert {i.label for i in places} == {"limit", "market", "ioc", "hidden", "iceberg"}
    assert any(i.action == "cancel" for i in flow)
    assert {i.venue for i in flow} == {0, 1, 2}


def test_price_paths__sp500_and_simulated__start_at_the_start_price_on_tick():
    sc = load_scenario("normal_day")
    for source in ("sp500", "simulated"):
        spec = sc.prices.__class__(source=source)
        path, history = price_paths(spec, sc.securities, 3, seed=5)
        assert path.shape == (4, 3) and history.shape == (spec.lookback_days + 1, 3)
        assert list(path[0]) == [s.start_price for s in sc.securities]
        assert all(int(p) % s.tick == 0 for row in path for p, s in zip(row, sc.securities))


def test_scenario__profile_fast__overrides_flow_only():
    full, fast = load_scenario("normal_day", "full"), load_scenario("normal_day", "fast")
    assert fast.flow.orders_per_day < full.flow.orders_per_day
    assert fast.members == full.members and fast.venues == full.venues == 3


@pytest.mark.parametrize("broken, message", [
    ({"name": "x", "securities": [], "members": [{"name": "a", "kind": "client"}]}, "clearing_member"),
    ({"name": "x", "securities": [], "members": [], "events": [{"type": "meteor", "member": "a"}]}, "type must be"),
    ({"name": "x", "securities": [{"symbol": "A", "start_price": "1.005"}], "members": []}, "multiple of the tick"),
    ({"name": "x", "securities": [], "members": [], "flow": {"speed": 1}}, "unknown keys"),
    ({"name": "x", "securities": [], "members": [{"name": "a"}], "days": 1,
      "events": [{"type": "default", "member": "a", "day": 3}]}, "days 0..0"),
    ({"name": "x", "securities": [], "members": [{"name": "p", "kind": "pseudonym"}]}, "a pseudonym needs"),
    ({"name": "x", "securities": [], "members": [{"name": "a"}, {"name": "b"},
                                                 {"name": "p", "kind": "pseudonym", "clearing_member": "a",
                                                  "owner": "b"}]}, "neither its clearing member nor a client"),
    ({"name": "x", "securities": [], "members": [{"name": "a"}, {"name": "p", "kind": "pseudonym",
                                                                  "clearing_member": "a", "segregation": "omnibus"}]},
     "segregation is a client's"),
    ({"name": "x", "securities": [], "members": [{"name": "a", "owner": "a"}]}, "owner is a pseudonym's"),
])
def test_parse_scenario__bad_input__clear_error(broken, message):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(broken)
