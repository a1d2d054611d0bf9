"""Back-testing of the historical-simulation VaR / margin model.

Procedure (:func:`backtest_var`)
--------------------------------
At every forecast origin ``t`` (a trading day) the model is calibrated on the history up to
``t`` only (the last ``window_days`` trading days, :func:`~smartccp.risk.scenarios.
observation_weights`) and forecasts the ``confidence`` (e.g. 99 %) ``h``-day VaR of a fixed
portfolio held from ``t``: the inverted-CDF quantile of the portfolio's historical-simulation
losses ``-sum_i q_i p_i(t) r_{i,s}`` under the sample weights. For a single security this is the
``1 - confidence`` quantile scenario of :func:`~smartccp.risk.scenarios.calibrate_shocks` (up to
the bp rounding of the shocks). The realised loss is ``-sum_i q_i (p_i(t + h) - p_i(t))``; an
exception is a realised loss strictly above the VaR. The same origins also count margin
exceptions against the worst historical-simulation loss of the sample, which is the scenario
initial margin for a single security (its scenario set includes the worst observed move).

Overlapping windows
-------------------
Consecutive daily origins share ``h - 1`` days of their ``h``-day outcome windows, so daily
exceptions are autocorrelated by construction (one bad day shows up in up to ``h`` windows);
the Kupiec and Christoffersen tests assume independent Bernoulli trials and would be invalid on
them. The statistical tests are therefore run on NON-overlapping windows only: origins every
``h`` trading days, starting ``phase`` days after the first origin. There are ``h`` such
interleaved sub-series (``phase = 0 .. h-1``); a robust conclusion should hold for all of them
(the tests in ``tests/risk/models`` check every phase). The daily, overlapping exception series is
reported for information but not tested.

Tests
-----
* Kupiec (1995) proportion of failures: ``LR = -2 ln[(1-p)^(n-x) p^x / ((1-x/n)^(n-x) (x/n)^x)]``
  ~ chi2(1), ``p = 1 - confidence``.
* Christoffersen (1998) independence: first-order Markov chain on the exception indicator,
  ``LR = -2 ln[L(pi) / L(pi01, pi11)]`` ~ chi2(1).
* Conditional coverage: ``LR_cc = LR_pof + LR_ind`` ~ chi2(2).
A test rejects when its p-value is below ``significance`` (default 5 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from smartccp.risk.scenarios import APC, horizon_returns, observation_weights, tail_levels

__all__ = [
    "BacktestReport",
    "LRTest",
    "backtest_var",
    "christoffersen_independence",
    "conditional_coverage",
    "kupiec_pof",
]


@dataclass(frozen=True)
class LRTest:
    """A likelihood-ratio test result.

    Attributes:
        statistic: the LR statistic (``>= 0``).
        p_value: ``P(chi2(dof) >= statistic)``.
        dof: degrees of freedom of the chi-square reference distribution.
        reject: ``p_value < significance``.
    """

    statistic: float
    p_value: float
    dof: int
    reject: bool


@dataclass(frozen=True)
class BacktestReport:
    """Result of :func:`backtest_var`. Money figures are in the unit of ``prices`` times units.

    Attributes:
        horizon_days, window_days, confidence: the model settings back-tested.
        origins: int64 ``(n,)``, price rows of the non-overlapping forecast origins.
        var_forecast: float64 ``(n,)``, VaR at each origin (positive = loss).
        margin_forecast: float64 ``(n,)``, worst historical-simulation loss of the calibration
            sample at each origin (``>= var``): the scenario initial margin for one security
            (its scenario set contains the worst observed move), an upper bound of the
            joint-scenario margin for several.
        realised_loss: float64 ``(n,)``, realised ``h``-day loss (positive = loss).
        exceptions: bool ``(n,)``, ``realised_loss > var_forecast``.
        n_observations, n_exceptions, expected_exceptions: ``n``, exception count, ``n * (1 - c)``.
        margin_exceptions: count of non-overlapping windows with ``realised_loss > margin``.
        daily_exceptions: bool, every trading-day origin (overlapping windows, not tested).
        kupiec, christoffersen, conditional_coverage: tests on the non-overlapping series.
    """

    horizon_days: int
    window_days: int
    confidence: float
    origins: NDArray[np.int64]
    var_forecast: NDArray[np.float64]
    margin_forecast: NDArray[np.float64]
    realised_loss: NDArray[np.float64]
    exceptions: NDArray[np.bool_]
    n_observations: int
    n_exceptions: int
    expected_exceptions: float
    margin_exceptions: int
    daily_exceptions: NDArray[np.bool_]
    kupiec: LRTest
    christoffersen: LRTest
    conditional_coverage: LRTest


def _as_exceptions(exceptions: ArrayLike) -> NDArray[np.bool_]:
    x = np.asarray(exceptions)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("exceptions must be a non-empty 1-D sequence of 0/1 or bools")
    if not np.all((x == 0) | (x == 1)):
        raise ValueError("exceptions must hold only 0/1 or booleans")
    return x.astype(bool)


def _loglik(successes: float, failures: float, prob: float) -> float:
    """Bernoulli log-likelihood ``successes*ln(prob) + failures*ln(1-prob)`` with ``0 ln 0 = 0``."""
    return float(special.xlogy(successes, prob) + special.xlog1py(failures, -prob))


def _lr(statistic: float, dof: int, significance: float) -> LRTest:
    stat = max(0.0, statistic)  # clip float noise around an exact fit
    p_value = float(stats.chi2.sf(stat, dof))
    return LRTest(statistic=stat, p_value=p_value, dof=dof, reject=p_value < significance)


def kupiec_pof(
    exceptions: ArrayLike, confidence: float = 0.99, significance: float = 0.05
) -> LRTest:
    """Kupiec proportion-of-failures test of the exception rate against ``1 - confidence``.

    Args:
        exceptions: shape ``(n,)``, 1/True where the loss exceeded the VaR.
        confidence: VaR confidence level; the expected exception rate is ``1 - confidence``.
        significance: test size (0.05 = reject at the 95 % level).

    Returns:
        :class:`LRTest` with one degree of freedom.
    """
    x = _as_exceptions(exceptions)
    n, k = x.size, int(x.sum())
    p = 1.0 - confidence
    stat = -2.0 * (_loglik(k, n - k, p) - _loglik(k, n - k, k / n))
    return _lr(stat, 1, significance)


def _transitions(x: NDArray[np.bool_]) -> tuple[int, int, int, int]:
    prev, curr = x[:-1], x[1:]
    n00 = int(np.sum(~prev & ~curr))
    n01 = int(np.sum(~prev & curr))
    n10 = int(np.sum(prev & ~curr))
    n11 = int(np.sum(prev & curr))
    return n00, n01, n10, n11


def christoffersen_independence(exceptions: ArrayLike, significance: float = 0.05) -> LRTest:
    """Christoffersen independence test: is an exception more likely right after another?

    Compares a first-order Markov chain (``pi01 = P(exc | none before)``,
    ``pi11 = P(exc | exc before)``) with independence (one rate ``pi``), on the ``n - 1``
    transitions of the series. With no exception (or only exceptions) the statistic is 0.

    Args:
        exceptions: shape ``(n,)``, ``n >= 2``, 1/True where the loss exceeded the VaR.
        significance: test size.

    Returns:
        :class:`LRTest` with one degree of freedom.
    """
    x = _as_exceptions(exceptions)
    if x.size < 2:
        raise ValueError("need at least two observations")
    n00, n01, n10, n11 = _transitions(x)
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    restricted = _loglik(n01 + n11, n00 + n10, pi)
    unrestricted = _loglik(n01, n00, pi01) + _loglik(n11, n10, pi11)
    return _lr(-2.0 * (restricted - unrestricted), 1, significance)


def conditional_coverage(
    exceptions: ArrayLike, confidence: float = 0.99, significance: float = 0.05
) -> LRTest:
    """Christoffersen conditional coverage: ``LR_pof + LR_ind`` against chi2(2)."""
    pof = kupiec_pof(exceptions, confidence, significance)
    ind = christoffersen_independence(exceptions, significance)
    return _lr(pof.statistic + ind.statistic, 2, significance)


def _weighted_var(losses: NDArray[np.float64], weights: NDArray[np.float64], c: float) -> float:
    """Inverted-CDF weighted quantile of ``losses`` at ``c``: smallest loss with CDF >= c."""
    order = np.argsort(losses, kind="stable")
    cum = np.cumsum(weights[order])
    k = int(np.searchsorted(cum, c - 1e-12, side="left"))
    return float(losses[order[min(k, order.size - 1)]])


def backtest_var(
    prices: ArrayLike,
    quantities: ArrayLike | None = None,
    window_days: int = 1000,
    horizon_days: int = 5,
    confidence: float = 0.99,
    apc: APC = APC.NONE,
    significance: float = 0.05,
    stressed_window_days: int = 250,
    phase: int = 0,
) -> BacktestReport:
    """Rolling back-test of the ``h``-day historical-simulation VaR (see module docstring).

    Args:
        prices: daily prices, shape ``(n_dates,)`` or ``(n_dates, n_securities)``, positive,
            oldest first (any unit; a float index level is fine here).
        quantities: shape ``(n_securities,)``, signed units held; default one unit long of each.
        window_days: look-back of the rolling calibration, trading days (the first origin is
            ``window_days``, so every forecast uses a full window).
        horizon_days: ``h``.
        confidence: VaR confidence, e.g. 0.99.
        apc: anti-procyclicality tool applied to the model; ``APC.BUFFER`` scales the VaR and
            the margin by 1.25, the other tools change the calibration sample.
        significance: size of the tests.
        stressed_window_days: stressed-period length for ``APC.STRESSED_WEIGHT``.
        phase: offset (``0 .. h-1`` days) of the non-overlapping sub-series that is tested.

    Returns:
        :class:`BacktestReport`.
    """
    p = np.asarray(prices, dtype=float)
    p2 = p[:, None] if p.ndim == 1 else p
    q = np.ones(p2.shape[1]) if quantities is None else np.asarray(quantities, dtype=float)
    if q.shape != (p2.shape[1],):
        raise ValueError(f"quantities must have shape ({p2.shape[1]},)")
    tail_levels(confidence, 4)  # validates confidence
    returns = horizon_returns(p2, horizon_days)
    first = window_days
    last = p2.shape[0] - 1 - horizon_days
    if last - first < horizon_days:
        raise ValueError("price history too short for this window and horizon")
    scale = 1.25 if apc is APC.BUFFER else 1.0

    days = np.arange(first, last + 1, dtype=np.int64)
    var = np.empty(days.size)
    margin = np.empty(days.size)
    realised = np.empty(days.size)
    for n, t in enumerate(days):
        index, weights = observation_weights(
            p2[: t + 1], horizon_days, window_days, apc, stressed_window_days
        )
        exposure = q * p2[t]
        losses = -(returns[index] @ exposure)
        var[n] = scale * _weighted_var(losses, weights, confidence)
        # Worst loss of the sample: the scenario IM of one security; bounds the VaR from above.
        margin[n] = scale * max(float(losses.max()), 0.0)
        realised[n] = -float(q @ (p2[t + horizon_days] - p2[t]))
    daily = realised > var

    if not 0 <= phase < horizon_days:
        raise ValueError("phase must be in [0, horizon_days)")
    pick = np.arange(phase, days.size, horizon_days)
    exc = daily[pick]
    return BacktestReport(
        horizon_days=horizon_days,
        window_days=window_days,
        confidence=confidence,
        origins=days[pick],
        var_forecast=var[pick],
        margin_forecast=margin[pick],
        realised_loss=realised[pick],
        exceptions=exc,
        n_observations=int(exc.size),
        n_exceptions=int(exc.sum()),
        expected_exceptions=float(exc.size * (1.0 - confidence)),
        margin_exceptions=int(np.sum(realised[pick] > margin[pick])),
        daily_exceptions=daily,
        kupiec=kupiec_pof(exc, confidence, significance),
        christoffersen=christoffersen_independence(exc, significance),
        conditional_coverage=conditional_coverage(exc, confidence, significance),
    )
