"""Back-testing: Kupiec / Christoffersen on synthetic series with known answers, and the
99 % 5-day model on the S&P 500 history 1999-2018."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from smartccp.risk import (
    APC,
    backtest_var,
    calibrate_shocks,
    christoffersen_independence,
    conditional_coverage,
    kupiec_pof,
)

# The model that passes: 1 000-day look-back with the EMIR 25 % anti-procyclicality buffer.
WINDOW_DAYS = 1000


def spaced(n: int, every: int) -> np.ndarray:
    """``n`` observations with an exception every ``every``-th one (no two adjacent)."""
    x = np.zeros(n, dtype=bool)
    x[every // 2 :: every] = True
    return x


def test_kupiec__exactly_one_percent_exceptions__lr_zero_not_rejected() -> None:
    result = kupiec_pof(spaced(1000, 100), confidence=0.99)
    assert result.statistic == pytest.approx(0.0, abs=1e-9)
    assert result.p_value == pytest.approx(1.0)
    assert not result.reject and result.dof == 1


def test_kupiec__no_exception_in_100__matches_hand_value() -> None:
    # LR = -2 ln(0.99^100) = 2.0101 < 3.84: zero exceptions in 100 days is still acceptable.
    result = kupiec_pof(np.zeros(100), 0.99)
    assert result.statistic == pytest.approx(-200 * math.log(0.99))
    assert result.p_value == pytest.approx(stats.chi2.sf(-200 * math.log(0.99), 1))
    assert not result.reject


def test_kupiec__five_percent_exceptions__rejected_with_hand_value() -> None:
    x = spaced(1000, 20)  # 50 exceptions against 10 expected
    expected = -2 * (
        950 * math.log(0.99) + 50 * math.log(0.01) - 950 * math.log(0.95) - 50 * math.log(0.05)
    )
    result = kupiec_pof(x, 0.99)
    assert result.statistic == pytest.approx(expected)
    assert result.reject and result.p_value < 1e-10


def test_kupiec__no_exceptions_in_1000__rejected_as_too_conservative() -> None:
    result = kupiec_pof(np.zeros(1000), 0.99)
    assert result.statistic == pytest.approx(-2000 * math.log(0.99))  # 20.1
    assert result.reject


def test_christoffersen__equal_conditional_rates__lr_exactly_zero() -> None:
    # Transitions: n00=4, n01=2, n10=2, n11=1 -> pi01 = pi11 = pi = 1/3.
    x = [0, 0, 1, 1, 0, 0, 0, 1, 0, 0]
    assert christoffersen_independence(x).statistic == pytest.approx(0.0, abs=1e-12)


def test_christoffersen__small_clustered_series__matches_hand_value() -> None:
    # Transitions: n00=5, n01=1, n10=1, n11=2 -> pi01 = 1/6, pi11 = 2/3, pi = 3/9.
    x = [0, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    restricted = 3 * math.log(1 / 3) + 6 * math.log(2 / 3)
    unrestricted = math.log(1 / 6) + 5 * math.log(5 / 6) + math.log(1 / 3) + 2 * math.log(2 / 3)
    result = christoffersen_independence(x)
    assert result.statistic == pytest.approx(-2 * (restricted - unrestricted))
    assert result.p_value == pytest.approx(stats.chi2.sf(result.statistic, 1))


def test_christoffersen__evenly_spread_exceptions__independence_not_rejected() -> None:
    result = christoffersen_independence(spaced(1000, 100))
    assert not result.reject and result.statistic < 0.5


def test_christoffersen__clustered_exceptions__independence_rejected() -> None:
    x = np.zeros(1000, dtype=bool)
    x[500:510] = True  # right rate (1 %), all in one run
    assert not kupiec_pof(x, 0.99).reject  # Kupiec only counts ...
    result = christoffersen_independence(x)  # ... Christoffersen sees the clustering
    assert result.reject and result.p_value < 1e-6
    cc = conditional_coverage(x, 0.99)
    assert cc.reject and cc.dof == 2


def test_conditional_coverage__is_sum_of_pof_and_independence() -> None:
    x = spaced(500, 37)
    x[100] = x[101] = True
    pof, ind, cc = kupiec_pof(x), christoffersen_independence(x), conditional_coverage(x)
    assert cc.statistic == pytest.approx(pof.statistic + ind.statistic)
    assert cc.p_value == pytest.approx(stats.chi2.sf(cc.statistic, 2))


def test_kupiec__non_binary_input__raises() -> None:
    with pytest.raises(ValueError):
        kupiec_pof([0, 2, 1])


@pytest.mark.parametrize("phase", range(5))
def test_backtest_var__sp500_99pct_5day_buffered_model__kupiec_not_rejected(
    sp500_prices: np.ndarray, phase: int
) -> None:
    # Every one of the five interleaved non-overlapping weekly sub-series passes.
    report = backtest_var(sp500_prices, window_days=WINDOW_DAYS, apc=APC.BUFFER, phase=phase)
    assert report.n_observations >= 800
    assert not report.kupiec.reject, report.kupiec
    assert report.n_exceptions <= 2 * report.expected_exceptions


def test_backtest_var__sp500_buffered_model__phase_0_figures(sp500_prices: np.ndarray) -> None:
    report = backtest_var(sp500_prices, window_days=WINDOW_DAYS, apc=APC.BUFFER)
    assert report.n_observations == 806 and report.expected_exceptions == pytest.approx(8.06)
    assert report.n_exceptions == 5
    assert report.kupiec.p_value == pytest.approx(0.244, abs=1e-3)
    assert not report.christoffersen.reject and not report.conditional_coverage.reject
    assert report.margin_exceptions <= report.n_exceptions


def test_backtest_var__sp500_plain_model__exceeds_nominal_rate(sp500_prices: np.ndarray) -> None:
    # Why the buffer: unbuffered historical simulation under-covers a crisis-laden history
    # (about 1.6 % of daily windows breach the 99 % VaR) and Kupiec rejects it on at least one
    # of the weekly sub-series.
    report = backtest_var(sp500_prices, window_days=WINDOW_DAYS)
    assert report.daily_exceptions.mean() > 0.015
    sub_series = [report.daily_exceptions[k::5] for k in range(5)]
    assert any(kupiec_pof(x).reject for x in sub_series)


def test_backtest_var__origins__non_overlapping_and_out_of_sample(sp500_prices: np.ndarray) -> None:
    report = backtest_var(sp500_prices[:2000], window_days=500, phase=2)
    assert np.all(np.diff(report.origins) == 5)
    assert report.origins[0] == 502
    assert report.origins[-1] + 5 <= 1999
    assert report.daily_exceptions.size == 1999 - 5 - 500 + 1
    np.testing.assert_array_equal(report.exceptions, report.daily_exceptions[2::5])
    assert np.all(report.margin_forecast >= report.var_forecast)


def test_backtest_var__one_security__var_is_the_calibrated_1pct_scenario(
    sp500_prices: np.ndarray,
) -> None:
    report = backtest_var(sp500_prices[:1600], window_days=WINDOW_DAYS)
    for t, var in zip(report.origins[::20], report.var_forecast[::20], strict=True):
        shocks = calibrate_shocks(sp500_prices[: t + 1], lookback_days=WINDOW_DAYS)
        price = sp500_prices[t]
        calibrated_var = -shocks[7] * price / 10_000  # the 1 % down scenario
        assert var <= calibrated_var < var + price / 10_000  # equal up to the 1 bp rounding
