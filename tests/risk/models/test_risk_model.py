"""The published margin model (issue #22): joint windows, FHS, the entry point's contract, and a
fast portfolio back-test of the chain's integer IM (the full one is `make backtest`)."""

from __future__ import annotations

import numpy as np
import pytest

from smartccp.risk.margin import initial_margin
from smartccp.risk.model import HS, PUBLISHED, MarginModel, published_scenarios, scenario_returns
from smartccp.risk.portfolio_backtest import (
    Portfolio,
    backtest_rows,
    integer_prices,
    rolling_margin,
    standard_portfolios,
    synthetic_prices,
)
from smartccp.risk.scenarios import APC, calibrate_shocks

PLAIN = HS.with_(apc=APC.NONE, lookback_days=1000)


def test_published_scenarios__column_k__one_historical_window_for_every_security(two_index_prices):
    p = two_index_prices[:1500]
    sc = published_scenarios(p, PLAIN)
    assert sc.shocks_bps.shape == (2, 16)
    assert list(sc.start_index) == sorted(sc.start_index)
    for k, t in enumerate(sc.start_index):
        r = p[t + 5] / p[t] - 1.0
        for j in range(2):  # the window's own simple return, magnitude rounded up
            assert sc.shocks_bps[j, k] == (np.floor(r[j] * 1e4) if r[j] < 0 else np.ceil(r[j] * 1e4))


def test_published_scenarios__one_security__long_im_is_the_one_percent_quantile_move(sp500_prices):
    p = sp500_prices[:2000]
    shocks = published_scenarios(p, PLAIN).shocks_bps
    marginal = calibrate_shocks(p, lookback_days=1000)  # column 7: the 1 % quantile down move
    assert shocks.min() == marginal[7] and shocks.max() == marginal[8]


def test_published_scenarios__hedged_pair__joint_im_above_comonotone_im(two_index_prices):
    # Long S&P 500, short NASDAQ: comonotone scenarios cancel the legs, joint windows do not.
    p = two_index_prices[:1500]
    q, prices = [10_000, -4_000], [1_000_000_000, 2_500_000_000]
    joint = initial_margin(q, prices, published_scenarios(p, PLAIN).shocks_bps)
    comonotone = initial_margin(q, prices, calibrate_shocks(p, lookback_days=1000))
    assert joint > 1.5 * comonotone


def _quantile_loss(returns: np.ndarray, weights: np.ndarray, book: np.ndarray, confidence: float = 0.99) -> float:
    """The book's ``confidence`` quantile loss per unit of its weights, by hand: the worst loss
    whose tail weight (the weights of the losses at least as bad) reaches 1 - confidence."""
    losses = -(returns @ book)
    order = np.argsort(-losses, kind="stable")
    tail = np.cumsum(weights[order])
    return float(losses[order[np.searchsorted(tail, 1 - confidence - 1e-12)]])


def _worst_bps_loss(shocks: np.ndarray, book: np.ndarray) -> float:
    return float(max(-(book @ shocks[:, k]) for k in range(shocks.shape[1])) / 1e4)


def test_published_scenarios__members_hedged_pair__gets_its_own_window__margined_at_its_quantile(sp500_prices):
    # Ten securities built like the drills' (beta x index + own noise): the 16 windows go to the
    # market and the single securities, and the spread of a 1.2-beta / 0.8-beta pair, mostly its
    # own noise, is margined well below its 99 % loss. Given as a member's book, it gets its
    # own window: its scenario loss reaches its quantile loss (within the bps rounding).
    prices = synthetic_prices(sp500_prices[:2500], (1.2, 0.8, 1.0, 1.4, 0.6, 1.1, 0.9, 1.3, 0.7, 1.0))
    pair = np.zeros(10)
    pair[0], pair[1] = 1.0, -1.0
    returns, _, weights = scenario_returns(prices, PUBLISHED)
    q = _quantile_loss(returns, weights, pair)

    without = published_scenarios(prices).shocks_bps
    with_book = published_scenarios(prices, books=[pair * 2_500.0]).shocks_bps  # any notional scale

    assert _worst_bps_loss(without, pair) < 0.8 * q
    assert _worst_bps_loss(with_book, pair) >= q - 2e-4
    assert with_book.shape == without.shape == (10, 16)
    # A book the market's windows already margin at its quantile takes no slot: the same matrix.
    market = np.full(10, 0.1)
    assert np.array_equal(published_scenarios(prices, books=[market]).shocks_bps, without)
    assert np.array_equal(published_scenarios(prices, books=np.zeros((0, 10))).shocks_bps, without)


def test_filtered_model__volatility_doubles_lately__shocks_widen_against_plain_hs():
    rng = np.random.default_rng(3)
    daily = rng.normal(0, 0.01, 1200)
    daily[-60:] *= 2.5
    prices = 100 * np.exp(np.cumsum(np.r_[0.0, daily]))
    fhs = published_scenarios(prices, PUBLISHED.with_(apc=APC.NONE)).shocks_bps
    hs = published_scenarios(prices, PLAIN).shocks_bps
    assert fhs.min() < 1.5 * hs.min() and fhs.max() > 1.5 * hs.max()


def test_filtered_model__stress_floor__calm_market_margined_at_least_the_floor():
    rng = np.random.default_rng(4)
    daily = rng.normal(0, 0.005, 1200)
    daily[200:450] *= 6  # a stressed year, then calm
    prices = 100 * np.exp(np.cumsum(np.r_[0.0, daily]))
    free = published_scenarios(prices, PUBLISHED.with_(apc=APC.NONE)).shocks_bps
    floored = published_scenarios(prices, PUBLISHED.with_(apc=APC.NONE, stress_floor=0.5)).shocks_bps
    assert floored.min() < 2 * free.min()


@pytest.mark.parametrize("n", [4, 8, 16])
def test_published_scenarios__scenario_count__configurable_up_to_the_slot(two_index_prices, n):
    assert published_scenarios(two_index_prices[:1200], PUBLISHED.with_(n_scenarios=n)).shocks_bps.shape == (2, n)


def test_margin_model__more_than_sixteen_scenarios__refused():
    with pytest.raises(ValueError):
        MarginModel(n_scenarios=17)


def test_published_scenarios__many_securities__one_row_each_within_int16():
    rng = np.random.default_rng(5)
    prices = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (800, 300)), axis=0))
    shocks = published_scenarios(prices).shocks_bps
    assert shocks.shape == (300, 16) and shocks.min() >= -10_000 and shocks.max() < 2**15


def test_scenario_returns__stressed_weight__stressed_windows_weigh_a_quarter(sp500_prices):
    _, index, weights = scenario_returns(sp500_prices[:2600], PUBLISHED)
    recent = index >= 2600 - 1 - 1000
    assert weights.sum() == pytest.approx(1.0) and weights[~recent].sum() <= 0.25 + 1e-9


# ─── Portfolio back-test (small windows; the full one is `make backtest`) ────────────────────


def test_rolling_margin__each_origin__contract_im_and_realised_loss_in_base_units(two_index_prices):
    p = integer_prices(two_index_prices[:320])
    pf = Portfolio("hedged", "hedged_1.00", (1.0, -1.0))
    model = PLAIN.with_(lookback_days=250)
    path = rolling_margin(p, [pf], model)[0]
    t, n = int(path.origins[10]), 10
    q = [int(round(w * 10**12 / float(p[t, j]))) for j, w in enumerate(pf.weights)]
    shocks = published_scenarios(p[: t + 1].astype(float), model).shocks_bps
    assert path.margin[n] == initial_margin(q, [int(x) for x in p[t]], shocks)
    assert path.loss[n] == -sum(qi * (int(p[t + 5, j]) - int(p[t, j])) for j, qi in enumerate(q))


def test_backtest_rows__one_bp_scenarios__kupiec_rejects_too_many(sp500_prices):
    p = integer_prices(sp500_prices[:900, None])
    path = rolling_margin(p, [Portfolio("long", "long", (1.0,))], PLAIN.with_(lookback_days=250),
                          calibrate=lambda hist: np.array([[-1, 1]]))[0]
    rows = backtest_rows(path, model="tiny", published=False, data="sp500", horizon_days=5)
    assert len(rows) == 5 and all(r["kupiec_reject"] and r["kupiec_tail"] == "too many" for r in rows)


def test_backtest_rows__published_model_on_synthetic_book__not_rejected_in_either_tail(sp500_prices):
    # 2005-2009 (crisis included), 500-day window: long and random long/short books of the
    # drills' synthetic securities, each weekly phase.
    prices = synthetic_prices(sp500_prices[1500:2750], [1.2, 0.8, 1.0, 1.4, 0.6])
    pfs = [pf for pf in standard_portfolios(5, n_random=1) if pf.kind in ("long", "random")]
    for path in rolling_margin(integer_prices(prices), pfs, PUBLISHED.with_(lookback_days=500)):
        rows = backtest_rows(path, model="fhs", published=True, data="synthetic", horizon_days=5)
        assert sum(r["exceptions"] for r in rows) > 0
        assert not any(r["kupiec_reject"] for r in rows), rows
