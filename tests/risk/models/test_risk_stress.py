"""Historical and hypothetical stress scenarios, stressed losses beyond margin."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from smartccp.risk import (
    StressScenario,
    historical_stress_scenarios,
    hypothetical_stress_scenarios,
    losses_beyond_margin_matrix,
    stressed_loss,
    stressed_loss_beyond_margin,
    worst_move_in_year,
)

CASH = 1_000_000


def test_worst_move_in_year__sp500_2008__finds_the_october_2008_week(
    sp500_close: pd.Series,
) -> None:
    s = worst_move_in_year(sp500_close.to_numpy(), sp500_close.index, 2008)
    assert s.name == "2008 down 5d"
    assert (s.start, s.end) == (dt.date(2008, 10, 2), dt.date(2008, 10, 9))
    assert s.shocks_bps == (-1835,)  # -18.34 %, magnitude rounded up


def test_historical_stress_scenarios__sp500__2001_2008_2011_down_and_up(
    sp500_close: pd.Series,
) -> None:
    scenarios = historical_stress_scenarios(sp500_close.to_numpy(), sp500_close.index)
    by_name = {s.name: s for s in scenarios}
    assert list(by_name) == [
        "2001 down 5d", "2001 up 5d", "2008 down 5d", "2008 up 5d", "2011 down 5d", "2011 up 5d",
    ]
    assert by_name["2001 down 5d"].start == dt.date(2001, 9, 10)  # the reopening after 9/11
    assert by_name["2001 down 5d"].end == dt.date(2001, 9, 21)
    assert by_name["2011 down 5d"].start == dt.date(2011, 8, 1)  # US downgrade week
    assert by_name["2008 up 5d"].shocks_bps[0] > 1500  # the November 2008 rebound
    for s in scenarios:
        assert (s.shocks_bps[0] < 0) == s.name.endswith("down 5d")
        assert s.end.year == int(s.name[:4])


def test_worst_move_in_year__two_indices__keeps_the_cross_section(
    sp500_close: pd.Series, two_index_prices: np.ndarray
) -> None:
    s = worst_move_in_year(two_index_prices, sp500_close.index, 2008)
    assert len(s.shocks_bps) == 2
    assert all(x < -1000 for x in s.shocks_bps)
    assert dt.date(2008, 9, 1) <= s.start <= dt.date(2008, 11, 30)


def test_worst_move_in_year__year_without_data__raises(sp500_close: pd.Series) -> None:
    with pytest.raises(ValueError):
        worst_move_in_year(sp500_close.to_numpy(), sp500_close.index, 1990)


def test_hypothetical_stress_scenarios__defaults__minus20_minus30_plus15() -> None:
    scenarios = hypothetical_stress_scenarios(3)
    assert [s.name for s in scenarios] == ["uniform -20.00%", "uniform -30.00%", "uniform +15.00%"]
    assert [s.shocks_bps for s in scenarios] == [(-2000,) * 3, (-3000,) * 3, (1500,) * 3]
    assert all(s.start is None for s in scenarios)


def test_stressed_loss__long_under_uniform_fall__hand_value() -> None:
    # 1 000 units at 40 cash = 40 000 cash; -30 % -> 12 000 cash.
    assert stressed_loss([1_000], [40 * CASH], -3000) == 12_000 * CASH


def test_stressed_loss__short_under_rise__loss_and_long_gain_negative() -> None:
    assert stressed_loss([-1_000], [40 * CASH], 1500) == 6_000 * CASH
    assert stressed_loss([1_000], [40 * CASH], 1500) == -6_000 * CASH


def test_stressed_loss__per_security_scenario__nets_the_legs() -> None:
    scenario = StressScenario("mixed", (-2000, 1000))
    # 10 * 100 * -20 % = -200 cash; -20 * 50 * +10 % = -100 cash -> loss 300 cash.
    assert stressed_loss([10, -20], [100 * CASH, 50 * CASH], scenario) == 300 * CASH


def test_stressed_loss__fraction_of_base_unit__rounds_loss_up() -> None:
    assert stressed_loss([1], [3], -1) == 1
    assert stressed_loss([1], [3], 1) == 0  # a 0.0003 gain rounds to no gain


def test_stressed_loss_beyond_margin__covered_and_uncovered__hand_values() -> None:
    q, p = [1_000], [40 * CASH]
    assert stressed_loss_beyond_margin(q, p, -3000, margin=15_000 * CASH) == 0
    assert stressed_loss_beyond_margin(q, p, -3000, margin=5_000 * CASH) == 7_000 * CASH
    assert stressed_loss_beyond_margin(q, p, 1500, margin=0) == 0  # gains are not losses


def test_losses_beyond_margin_matrix__members_by_scenarios__hand_values() -> None:
    prices = [100 * CASH, 50 * CASH]
    members = [[10, 0], [0, -20], [5, 5]]
    margins = [100 * CASH, 50 * CASH, 10 * CASH]
    scenarios = hypothetical_stress_scenarios(2, (-2000, 1500))
    matrix = losses_beyond_margin_matrix(members, prices, scenarios, margins)
    # member 0: -20 % of 1 000 = 200 - 100 margin = 100; +15 %: gain -> 0
    # member 1: short 1 000 value: -20 % is a gain -> 0; +15 % -> 150 - 50 = 100
    # member 2: 750 value: -20 % -> 150 - 10 = 140; +15 % gain -> 0
    assert matrix == [[100 * CASH, 0], [0, 100 * CASH], [140 * CASH, 0]]


def test_stressed_loss__shock_below_minus_100pct__raises() -> None:
    with pytest.raises(ValueError):
        stressed_loss([1], [CASH], -10_001)
