"""Portfolio back-test of exactly what the chain computes.

At every trading-day origin ``t`` (out of sample: the model sees prices up to ``t`` only) the
scenarios are calibrated as they would be published (:func:`smartccp.risk.model.
published_scenarios` with the model under test, the back-tested portfolios as the members'
books: they are what the CCP margins), each portfolio is sized at ``t`` in whole units
(``q_i = round(w_i * notional / p_i(t))``) and its initial margin is the contract's integer IM
(:func:`smartccp.risk.margin.initial_margin`, equal to ``Margin``'s, same rounding). It is
compared with the realised ``h``-day loss ``-sum_i q_i (p_i(t + h) - p_i(t))``; an exception is a
loss strictly above the IM. Kupiec (both tails: too many and too few exceptions) and
Christoffersen run on each of the ``h`` interleaved series of non-overlapping windows (phase
``0 .. h-1``; see :mod:`smartccp.risk.backtest` for why not on the overlapping daily series).

Prices are integers (cash base units per unit, e.g. :func:`integer_prices`); weights are signed
shares of the notional (long > 0). Money in cash base units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from smartccp.risk.backtest import christoffersen_independence, kupiec_pof
from smartccp.risk.margin import initial_margin
from smartccp.risk.model import MarginModel, published_scenarios
from smartccp.risk.scenarios import calibrate_shocks
from smartccp.units import CASH_UNIT

__all__ = [
    "Portfolio",
    "PortfolioPath",
    "backtest_rows",
    "integer_prices",
    "marginal_calibration",
    "rolling_margin",
    "standard_portfolios",
    "synthetic_prices",
]

NOTIONAL: int = 1_000_000 * CASH_UNIT
"""Gross notional of every back-tested portfolio: 1,000,000 cash, in base units."""


@dataclass(frozen=True)
class Portfolio:
    """A back-tested portfolio: ``kind`` (long, short, hedged, random), a ``name`` unique in
    its data set, and ``weights`` (float ``(n_sec,)``, signed shares of the notional)."""

    kind: str
    name: str
    weights: tuple[float, ...]


@dataclass(frozen=True)
class PortfolioPath:
    """One portfolio's rolling back-test, every trading-day origin (overlapping windows).

    Attributes:
        origins: int64 ``(n,)``, price rows of the origins.
        margin: int64 ``(n,)``, the contract's IM at each origin, cash base units.
        loss: int64 ``(n,)``, realised ``h``-day loss (positive = loss), cash base units.
    """

    portfolio: Portfolio
    origins: NDArray[np.int64]
    margin: NDArray[np.int64]
    loss: NDArray[np.int64]

    @property
    def exceptions(self) -> NDArray[np.bool_]:
        return self.loss > self.margin


def integer_prices(prices: ArrayLike, tick: int = CASH_UNIT // 100) -> NDArray[np.int64]:
    """Float prices (cash units) -> int64 cash base units on ``tick`` (default one cent)."""
    p = np.asarray(prices, dtype=float)
    return np.maximum(np.round(p * CASH_UNIT / tick), 1).astype(np.int64) * tick


def synthetic_prices(index: ArrayLike, betas: Sequence[float], idio_vol: float = 0.10,
                     seed: int = 7, start_price: float = 100.0) -> NDArray[np.float64]:
    """Securities built as the drills build them (:func:`smartccp.sim.simulator.price_paths`):
    daily log return ``beta_i`` times the index's plus normal idiosyncratic noise of annual
    volatility ``idio_vol``; shape ``(n_dates, len(betas))``, starting at ``start_price``."""
    idx = np.asarray(index, dtype=float)
    rng = np.random.default_rng(seed)
    b = np.asarray(betas, dtype=float)
    log_ret = np.diff(np.log(idx))[:, None] * b[None, :]
    log_ret = log_ret + rng.normal(0.0, idio_vol / np.sqrt(252), log_ret.shape)
    return start_price * np.exp(np.vstack([np.zeros((1, b.size)), np.cumsum(log_ret, axis=0)]))


def marginal_calibration(model: MarginModel) -> Callable[[NDArray[np.float64]], NDArray[np.int64]]:
    """For comparison only: the calibration published before #22 (marginal, comonotone
    :func:`~smartccp.risk.scenarios.calibrate_shocks`, each row sorted, with ``model``'s APC)."""
    def calibrate(history: NDArray[np.float64]) -> NDArray[np.int64]:
        return calibrate_shocks(history, horizon_days=model.horizon_days, confidence=model.confidence,
                                n_scenarios=model.n_scenarios, apc=model.apc, lookback_days=model.lookback_days)
    return calibrate


def standard_portfolios(n_sec: int, *, pair: tuple[int, int] = (0, 1), n_random: int = 0,
                        hedge_ratios: Sequence[float] = (0.5, 0.75, 1.0), seed: int = 11) -> list[Portfolio]:
    """Long and short the first security; long ``pair[0]`` against ``hedge`` short ``pair[1]``
    per hedge ratio (if ``n_sec > 1``); ``n_random`` random long/short portfolios of every
    security (random signs and sizes, gross weight 1)."""
    eye = np.eye(n_sec)
    out = [Portfolio("long", "long", tuple(eye[0])), Portfolio("short", "short", tuple(-eye[0]))]
    if n_sec > 1:
        a, b = pair
        out += [Portfolio("hedged", f"hedged_{h:.2f}", tuple(eye[a] - h * eye[b])) for h in hedge_ratios]
    rng = np.random.default_rng(seed)
    for k in range(n_random):
        w = rng.choice([-1.0, 1.0], n_sec) * rng.uniform(0.2, 1.0, n_sec)
        out.append(Portfolio("random", f"random_{k}", tuple(w / np.abs(w).sum())))
    return out


def rolling_margin(
    prices: NDArray[np.int64], portfolios: Sequence[Portfolio], model: MarginModel, *,
    window_days: int | None = None, calibrate: Callable[[NDArray[np.float64]], NDArray[np.int64]] | None = None,
    books: bool = True,
) -> list[PortfolioPath]:
    """Every portfolio's IM and realised loss at every origin (see the module docstring).

    Args:
        prices: int64 ``(n_dates, n_sec)``, cash base units per unit.
        portfolios: weights of length ``n_sec``.
        model: the model under test (its ``horizon_days``; its ``lookback_days`` is the first
            origin unless ``window_days`` says otherwise).
        calibrate: another calibration (history ``(t + 1, n_sec)`` -> shocks ``(n_sec, S)``),
            e.g. the marginal comonotone scenarios, for comparison; default the model's.
        books: the default calibration is given ``portfolios`` as the members' books (a CCP
            whose members hold these books publishes windows for them, as the keeper's daily
            recalibration does from Margin's positions); False: the market's windows only.
    """
    p = np.asarray(prices)
    if p.ndim != 2 or not np.issubdtype(p.dtype, np.integer):
        raise ValueError("prices must be an int64 array (n_dates, n_sec)")
    h = model.horizon_days
    first = window_days or model.lookback_days or 1000
    last = p.shape[0] - 1 - h
    if last < first:
        raise ValueError("price history too short for this window and horizon")
    w = np.array([pf.weights for pf in portfolios], dtype=float)
    calib = calibrate or (lambda hist: published_scenarios(hist, model, w if books else None).shocks_bps)
    origins = np.arange(first, last + 1, dtype=np.int64)
    margin = np.zeros((len(portfolios), origins.size), dtype=np.int64)
    loss = np.zeros_like(margin)
    pf_float = p.astype(float)
    for n, t in enumerate(origins):
        shocks = [[int(x) for x in row] for row in calib(pf_float[: t + 1])]
        now, later = [int(x) for x in p[t]], p[t + h]
        for k in range(len(portfolios)):
            q = [int(round(x)) for x in w[k] * NOTIONAL / pf_float[t]]
            margin[k, n] = initial_margin(q, now, shocks)
            loss[k, n] = -sum(qi * (int(b) - a) for qi, a, b in zip(q, now, later, strict=True))
    return [PortfolioPath(pf, origins, margin[k], loss[k]) for k, pf in enumerate(portfolios)]


def backtest_rows(path: PortfolioPath, *, model: str, published: bool, data: str, horizon_days: int,
                  confidence: float = 0.99, significance: float = 0.05) -> list[dict[str, Any]]:
    """One report row per non-overlapping phase: ``{model, published, data, portfolio, kind,
    phase, observations, exceptions, expected, kupiec_p, kupiec_reject, kupiec_tail,
    christoffersen_p, christoffersen_reject}``; ``kupiec_tail`` is ``"too many"`` or
    ``"too few"`` (the side the exception count is on)."""
    rows = []
    for phase in range(horizon_days):
        exc = path.exceptions[phase::horizon_days]
        pof = kupiec_pof(exc, confidence, significance)
        ind = christoffersen_independence(exc, significance)
        expected = exc.size * (1.0 - confidence)
        rows.append({
            "model": model, "published": published, "data": data, "portfolio": path.portfolio.name,
            "kind": path.portfolio.kind, "phase": phase, "observations": int(exc.size),
            "exceptions": int(exc.sum()), "expected": round(expected, 2),
            "kupiec_p": round(pof.p_value, 4), "kupiec_reject": bool(pof.reject),
            "kupiec_tail": "too many" if exc.sum() > expected else "too few",
            "christoffersen_p": round(ind.p_value, 4), "christoffersen_reject": bool(ind.reject),
        })
    return rows
