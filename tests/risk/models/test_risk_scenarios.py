"""Historical-simulation shock calibration, anti-procyclicality and joint scenarios."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from smartccp.risk import (
    APC,
    calibrate_joint_shocks,
    calibrate_shocks,
    horizon_returns,
    initial_margin,
    observation_weights,
    stressed_window,
    tail_levels,
)


def prices_from_returns(returns: np.ndarray, start: float = 100.0) -> np.ndarray:
    """Daily prices whose 1-day simple returns are ``returns``."""
    return start * np.concatenate([[1.0], np.cumprod(1.0 + np.asarray(returns))])


@pytest.fixture
def uniform_grid_prices() -> np.ndarray:
    """101 prices whose 100 daily returns are -50 %, -49 %, ..., +49 % in a shuffled order."""
    returns = np.arange(-50, 50) / 100.0
    np.random.default_rng(7).shuffle(returns)
    return prices_from_returns(returns)


def test_horizon_returns__five_day_window__simple_and_log() -> None:
    p = np.array([100.0, 101, 102, 103, 104, 110, 99])
    np.testing.assert_allclose(horizon_returns(p, 5), [0.10, 99 / 101 - 1])
    np.testing.assert_allclose(horizon_returns(p, 5, kind="log"), np.log([1.10, 99 / 101]))


def test_horizon_returns__2d_prices__one_column_per_security() -> None:
    p = np.array([[100.0, 10], [110, 9], [121, 8.1]])
    np.testing.assert_allclose(horizon_returns(p, 1), [[0.1, -0.1], [0.1, -0.1]])


def test_tail_levels__16_scenarios__evenly_spaced_down_to_alpha() -> None:
    np.testing.assert_allclose(tail_levels(0.99, 16), np.arange(8) * 0.01 / 7)


def test_calibrate_shocks__known_grid__picks_extremes_and_quantiles(
    uniform_grid_prices: np.ndarray,
) -> None:
    # 100 one-day returns -50 %..+49 %; alpha = 5 %: the 5th smallest is -46 %, 5th largest +45 %.
    shocks = calibrate_shocks(uniform_grid_prices, horizon_days=1, confidence=0.95, n_scenarios=4)
    assert shocks.tolist() == [-5000, -4600, 4500, 4900]


def test_calibrate_shocks__known_grid_16_scenarios__spans_the_tail(
    uniform_grid_prices: np.ndarray,
) -> None:
    # Levels 0, 5%/7, ..., 5 % of 100 observations -> ranks 1, 1, 2, 3, 3, 4, 5, 5 from each end.
    shocks = calibrate_shocks(uniform_grid_prices, horizon_days=1, confidence=0.95)
    ranks = [1] + [math.ceil(100 * 0.05 * j / 7 - 1e-12) for j in range(1, 8)]
    down = [-5000 + 100 * (r - 1) for r in ranks]
    up = [4900 - 100 * (r - 1) for r in ranks][::-1]
    assert shocks.tolist() == down + up


def test_calibrate_shocks__sp500__includes_1pct_and_99pct_quantile_moves(
    sp500_prices: np.ndarray,
) -> None:
    shocks = calibrate_shocks(sp500_prices, horizon_days=5, confidence=0.99, n_scenarios=16)
    r = np.sort(horizon_returns(sp500_prices, 5))
    k = math.ceil(0.01 * r.size)  # inverted-CDF rank of the 1 % quantile
    assert shocks[7] == math.floor(r[k - 1] * 10_000)  # 1 % quantile, rounded down
    assert shocks[8] == math.ceil(r[-k] * 10_000)  # 99 % quantile, rounded up
    assert shocks[0] == math.floor(r[0] * 10_000)  # worst observed (Oct 2008)
    assert shocks[-1] == math.ceil(r[-1] * 10_000)  # best observed
    # And the conservative order statistic is at least as extreme as an interpolated quantile.
    lo, hi = np.quantile(r, [0.01, 0.99])
    assert shocks[7] <= lo * 10_000 and shocks[8] >= hi * 10_000


def test_calibrate_shocks__output__sorted_int_bps_within_bounds(sp500_prices: np.ndarray) -> None:
    shocks = calibrate_shocks(sp500_prices, lookback_days=1000)
    assert shocks.dtype == np.int64 and shocks.shape == (16,)
    assert np.all(np.diff(shocks) >= 0)
    assert shocks[7] < 0 < shocks[8] and shocks.min() >= -10_000


def test_calibrate_shocks__long_and_short__margined_by_opposite_tails(
    sp500_prices: np.ndarray,
) -> None:
    shocks = calibrate_shocks(sp500_prices, lookback_days=1000)
    price = 2_500 * 1_000_000
    assert initial_margin([10], [price], shocks) == -(-10 * price * -int(shocks[0]) // 10_000)
    assert initial_margin([-10], [price], shocks) == -(-10 * price * int(shocks[-1]) // 10_000)


def test_calibrate_shocks__2d_prices__each_row_equals_single_calibration(
    two_index_prices: np.ndarray,
) -> None:
    both = calibrate_shocks(two_index_prices, lookback_days=1000)
    assert both.shape == (2, 16)
    for j in range(2):
        single = calibrate_shocks(two_index_prices[:, j], lookback_days=1000)
        np.testing.assert_array_equal(both[j], single)


def test_calibrate_shocks__buffer_apc__scales_shocks_by_125pct(
    uniform_grid_prices: np.ndarray,
) -> None:
    shocks = calibrate_shocks(uniform_grid_prices, 1, 0.95, 4, apc=APC.BUFFER)
    assert shocks.tolist() == [-6250, -5750, 5625, 6125]


def test_calibrate_shocks__buffer_apc__rounds_magnitude_up_and_caps_at_minus_100pct() -> None:
    # Eight one-day moves: -85 %, three of -1 bp, four of +3 bp; alpha = 25 % -> rank 2.
    moves = np.array([-0.85, -0.0001, -0.0001, -0.0001, 0.0003, 0.0003, 0.0003, 0.0003])
    prices = prices_from_returns(moves)
    assert calibrate_shocks(prices, 1, 0.75, 4).tolist() == [-8500, -1, 3, 3]
    # x 1.25: -10 625 is capped at -10 000; -1.25 -> -2 and 3.75 -> 4 (magnitudes rounded up).
    assert calibrate_shocks(prices, 1, 0.75, 4, apc=APC.BUFFER).tolist() == [-10_000, -2, 4, 4]


def test_calibrate_shocks__buffer_apc__raises_margin_by_a_quarter(sp500_prices: np.ndarray) -> None:
    plain = calibrate_shocks(sp500_prices, lookback_days=1000)
    buffered = calibrate_shocks(sp500_prices, lookback_days=1000, apc=APC.BUFFER)
    price = 1_000_000
    im_plain = initial_margin([1_000], [price], plain)
    im_buffered = initial_margin([1_000], [price], buffered)
    assert 1.25 * im_plain <= im_buffered <= 1.25 * im_plain + 1_000 * price // 10_000


def test_calibrate_shocks__ten_year_apc__extends_short_lookback_to_2520_days(
    sp500_prices: np.ndarray,
) -> None:
    ten_year = calibrate_shocks(sp500_prices, lookback_days=250, apc=APC.TEN_YEAR_LOOKBACK)
    np.testing.assert_array_equal(ten_year, calibrate_shocks(sp500_prices, lookback_days=2520))
    index, weights = observation_weights(sp500_prices, 5, 250, APC.TEN_YEAR_LOOKBACK)
    assert index.size == 2520 - 5 + 1 and math.isclose(weights.sum(), 1.0)


def test_stressed_window__sp500__finds_the_2008_crisis(sp500_close: pd.Series) -> None:
    first, last = stressed_window(sp500_close.to_numpy(), window_days=250)
    assert last - first == 250
    start, end = sp500_close.index[first], sp500_close.index[last]
    assert pd.Timestamp("2008-01-01") <= start <= pd.Timestamp("2008-12-31")
    assert start <= pd.Timestamp("2008-10-10") <= end


def test_observation_weights__stressed_apc__gives_stressed_period_at_least_25pct(
    sp500_prices: np.ndarray,
) -> None:
    # Calibrating at end-2017 on the last 500 days: the calm sample gets 75 %, the 2008 stress 25 %.
    history = sp500_prices[:4780]
    index, weights = observation_weights(history, 5, 500, APC.STRESSED_WEIGHT)
    first, last = stressed_window(history, 5, 250)
    stressed = (index >= first) & (index <= last - 5)
    assert math.isclose(weights.sum(), 1.0)
    assert weights[stressed].sum() >= 0.25 - 1e-12
    assert math.isclose(weights[~stressed].sum(), 0.75)


def test_calibrate_shocks__stressed_apc_in_calm_period__widens_the_tails(
    sp500_prices: np.ndarray,
) -> None:
    history = sp500_prices[:4780]  # up to end-2017, a very calm year
    plain = calibrate_shocks(history, lookback_days=500)
    stressed = calibrate_shocks(history, lookback_days=500, apc=APC.STRESSED_WEIGHT)
    assert stressed[7] < plain[7] and stressed[8] > plain[8]
    assert stressed[0] <= -1500  # the October 2008 week is now in the scenario set


def test_calibrate_shocks__odd_scenario_count__raises(sp500_prices: np.ndarray) -> None:
    with pytest.raises(ValueError):
        calibrate_shocks(sp500_prices, n_scenarios=15)


def test_calibrate_shocks__non_positive_price__raises() -> None:
    with pytest.raises(ValueError):
        calibrate_shocks(np.array([1.0, 2, 0, 3, 4, 5, 6, 7]))


def test_calibrate_joint_shocks__two_indices__same_window_for_both_securities(
    two_index_prices: np.ndarray,
) -> None:
    joint = calibrate_joint_shocks(two_index_prices, lookback_days=1000)
    assert joint.shocks_bps.shape == (2, 16) and joint.start_index.shape == (16,)
    assert np.all(np.diff(joint.start_index) > 0)
    r = horizon_returns(two_index_prices, 5)
    for col, t in enumerate(joint.start_index):
        for j in range(2):
            x = r[t, j] * 10_000
            expected = math.floor(x) if x < 0 else math.ceil(x)
            assert joint.shocks_bps[j, col] == expected


def test_calibrate_joint_shocks__two_indices__keeps_each_security_tail_moves(
    two_index_prices: np.ndarray,
) -> None:
    joint = calibrate_joint_shocks(two_index_prices, lookback_days=1000)
    marginal = calibrate_shocks(two_index_prices, lookback_days=1000)
    for j in range(2):
        for pos in (0, 7, 8, 15):  # worst, 1 % quantile, 99 % quantile, best
            assert marginal[j, pos] in joint.shocks_bps[j]


def test_calibrate_joint_shocks__anti_correlated_pair__margins_the_spread_marginal_misses() -> None:
    # B always moves opposite to A: long A + short B doubles the risk, long A + long B is flat.
    rng = np.random.default_rng(1)
    ra = rng.normal(0.0, 0.01, 600)
    prices = np.column_stack([prices_from_returns(ra), prices_from_returns(-ra)])
    joint = calibrate_joint_shocks(prices, horizon_days=1, confidence=0.99, n_scenarios=16)
    marginal = calibrate_shocks(prices, horizon_days=1, confidence=0.99, n_scenarios=16)
    p = [10**8, 10**8]
    spread_joint = initial_margin([1_000, -1_000], p, joint.shocks_bps)
    spread_marginal = initial_margin([1_000, -1_000], p, marginal)
    hedge_joint = initial_margin([1_000, 1_000], p, joint.shocks_bps)
    single = initial_margin([1_000, 0], p, joint.shocks_bps)
    assert spread_joint >= 1.9 * single  # both legs lose together
    assert spread_marginal < 0.2 * spread_joint  # comonotone scenarios net the legs away
    assert hedge_joint <= 0.01 * single  # a perfect hedge needs (almost) no margin


def test_calibrate_joint_shocks__too_few_scenarios_for_securities__raises(
    two_index_prices: np.ndarray,
) -> None:
    with pytest.raises(ValueError):
        calibrate_joint_shocks(two_index_prices, n_scenarios=6)
