"""The published margin model: the ONE calibration every path that publishes scenarios uses.

:func:`published_scenarios` turns a daily price history into the joint scenario matrix the
Margin contract is given (``publishScenarios``, one int16 bps vector per security, scenario
``k`` the same historical window for every security). What it computes is what
``make backtest`` back-tests on long, short, hedged and mixed portfolios
(:mod:`smartccp.risk.portfolio_backtest`), with the contract's own integer IM.

Model (:class:`MarginModel`, :data:`PUBLISHED` the configuration published on chain)
----------------------------------------------------------------------------------------
* **Sample**: the overlapping ``h``-day windows of the last ``lookback_days`` trading days,
  weighted as :func:`smartccp.risk.scenarios.observation_weights` (equal weights unless the APC
  tool is the stressed weight).
* **Returns**: plain historical ``h``-day simple returns, or **filtered** (FHS, as LCH PAIRS and
  Eurex Prisma): each daily log return is divided by its EWMA volatility forecast (decay
  ``ewma_lambda``, from the returns before it) and multiplied by today's forecast, so the
  sample speaks at today's volatility; today's volatility is floored at ``stress_floor`` times
  the volatility of the most stressed ``stressed_window_days`` of the history (per security), so
  a calm market never margins below a fraction of the stressed one.
* **Scenario windows** (``n_scenarios``, at most 16, the contract's packed slot): the window
  where a reference portfolio has its ``confidence`` quantile loss (inverted CDF under the
  sample weights), reference portfolios taken in order until the slots are full: the
  equally-weighted market long and short; the **members' books** if the caller gives them (each
  book that the windows so far margin below its own quantile loss, the furthest below first,
  until none is: a hedged pair whose tail is its own spread gets its window, a book the market
  already covers takes no slot); every security long and short; the long/short pairs
  of the most correlated securities (hedge ratios 1 and 1/2, both ways); then, round robin, the
  next less extreme windows of the single securities. A window already chosen is skipped. The
  scenario IM of a portfolio (the largest loss over the windows) is therefore at least the
  quantile loss of every reference portfolio and of every member's book that got its window
  (every book, while there are slots), and for a single security exactly its quantile loss (the
  other windows of its own are less extreme; another security's window may be worse).
* **Anti-procyclicality** (EMIR RTS 153/2013 Art. 28): ``apc`` as in
  :class:`smartccp.risk.scenarios.APC`; the published model gives the stressed period's windows
  25 % of the sample weight (Art. 28(1)(b)). The 25 % buffer (Art. 28(1)(a)) on top of a model
  calibrated at 99 % leaves too few exceptions (Kupiec's lower tail rejects it).
* **Bps**: magnitudes rounded up (the CCP's favour), floored at -100 %, at most int16.

Units: prices any positive unit (floats fine: only returns are used); shocks integer bps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.signal import lfilter

from smartccp.risk.scenarios import (
    APC,
    JointScenarios,
    _apply_buffer,
    _price_array,
    _to_bps,
    observation_weights,
    stressed_window,
    tail_levels,
)

__all__ = [
    "HS",
    "MAX_SCENARIOS",
    "PUBLISHED",
    "MarginModel",
    "filtered_returns",
    "published_scenarios",
    "scenario_returns",
    "select_windows",
]

MAX_SCENARIOS: int = 16
"""Scenarios that fit the contract's packed slot (``RiskMath.MAX_SCENARIOS``)."""
MAX_SHOCK_BPS: int = 2**15 - 1
"""The largest shock an int16 holds (+327.67 %)."""
EWMA_SEED_DAYS: int = 20
"""Daily returns whose mean square seeds the EWMA variance."""


@dataclass(frozen=True)
class MarginModel:
    """A margin model configuration (see the module docstring).

    Attributes:
        name: label in reports.
        n_scenarios: joint scenarios published per security, 1..16.
        horizon_days: margin period of risk ``h``, trading days.
        confidence: e.g. 0.99.
        lookback_days: trading days of history in the sample (``None``: all given).
        apc: anti-procyclicality tool.
        ewma_lambda: ``None`` for plain historical simulation, else the EWMA decay of the
            filtered historical simulation (0.94 .. 0.97 usual).
        stress_floor: FHS only: today's volatility is at least this share of the stressed
            period's.
        stressed_window_days: length of the stressed period (FHS floor, APC stressed weight).
    """

    name: str = "hs"
    n_scenarios: int = 16
    horizon_days: int = 5
    confidence: float = 0.99
    lookback_days: int | None = 1000
    apc: APC = APC.BUFFER
    ewma_lambda: float | None = None
    stress_floor: float = 0.5
    stressed_window_days: int = 250

    def __post_init__(self) -> None:
        if not 1 <= self.n_scenarios <= MAX_SCENARIOS:
            raise ValueError(f"n_scenarios must be in 1..{MAX_SCENARIOS}")
        tail_levels(self.confidence, 4)  # validates the confidence
        if self.ewma_lambda is not None and not 0.0 < self.ewma_lambda < 1.0:
            raise ValueError("ewma_lambda must be in (0, 1)")
        if not 0.0 <= self.stress_floor:
            raise ValueError("stress_floor must be >= 0")

    @property
    def filtered(self) -> bool:
        return self.ewma_lambda is not None

    def with_(self, **changes: object) -> MarginModel:
        """A copy with ``changes`` (e.g. ``PUBLISHED.with_(n_scenarios=8)``)."""
        return replace(self, **changes)  # type: ignore[arg-type]


HS = MarginModel(name="hs", apc=APC.STRESSED_WEIGHT)
"""Plain joint historical simulation, 1,000 days, APC stressed weight: the comparison model."""
PUBLISHED = MarginModel(name="fhs", ewma_lambda=0.97, apc=APC.STRESSED_WEIGHT, stress_floor=0.0)
"""The model every publishing path uses: filtered HS (EWMA 0.97), 1,000 days, 16 joint
scenarios, EMIR APC stressed weight (25 % of the sample weight on the stressed period's
windows). The volatility floor is off: back-tested at 25 % and 50 % of the stressed volatility
it makes the IM too conservative (Kupiec rejects too few exceptions; ``make backtest``)."""


def _ewma_vol(daily: NDArray[np.float64], lam: float) -> NDArray[np.float64]:
    """EWMA volatility forecasts, shape ``(n_days + 1, n_sec)``: row ``d`` uses returns ``< d``."""
    seed = np.mean(daily[:EWMA_SEED_DAYS] ** 2, axis=0)
    # var_d = lam var_{d-1} + (1 - lam) x_{d-1}^2, var_0 = seed.
    x2 = np.vstack([seed[None, :], daily**2])
    var = lfilter([1.0 - lam], [1.0, -lam], x2, axis=0, zi=(lam * seed)[None, :])[0]
    var[0] = seed
    return np.sqrt(np.maximum(var, 1e-18))


def filtered_returns(
    prices: ArrayLike, model: MarginModel
) -> NDArray[np.float64]:
    """Filtered ``h``-day simple returns, shape ``(n_dates - h, n_sec)``, row ``t`` the window
    from price row ``t`` to ``t + h`` at today's (floored) volatility (see module docstring)."""
    if model.ewma_lambda is None:
        raise ValueError("filtered_returns needs a model with ewma_lambda")
    p = _price_array(prices, model.horizon_days)
    p2 = p[:, None] if p.ndim == 1 else p
    h = model.horizon_days
    daily = np.diff(np.log(p2), axis=0)
    vol = _ewma_vol(daily, model.ewma_lambda)
    first, last = stressed_window(p2, h, model.stressed_window_days)
    stressed = np.sqrt(np.mean(daily[first:last] ** 2, axis=0))
    today = np.maximum(vol[-1], model.stress_floor * stressed)
    scaled = daily * (today / vol[:-1])
    c = np.vstack([np.zeros((1, p2.shape[1])), np.cumsum(scaled, axis=0)])
    return np.expm1(c[h:] - c[:-h])


def scenario_returns(
    prices: ArrayLike, model: MarginModel
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64]]:
    """The calibration sample of ``model``: ``(returns, index, weights)``.

    ``returns`` float64 ``(n_obs, n_sec)``: the sample's ``h``-day simple returns (filtered if
    the model is); ``index`` int64 ``(n_obs,)``: their window start rows in ``prices``;
    ``weights`` float64 ``(n_obs,)`` summing to 1.
    """
    p = _price_array(prices, model.horizon_days)
    p2 = p[:, None] if p.ndim == 1 else p
    index, weights = observation_weights(
        p2, model.horizon_days, model.lookback_days, model.apc, model.stressed_window_days
    )
    if model.filtered:
        all_returns = filtered_returns(p2, model)
    else:
        all_returns = p2[model.horizon_days:] / p2[:-model.horizon_days] - 1.0
    return all_returns[index], index, weights


def _quantile_rank(losses: NDArray[np.float64], weights: NDArray[np.float64],
                   confidence: float) -> tuple[NDArray[np.int64], int]:
    """Observations by loss, worst first, and the rank of the ``confidence`` quantile loss: the
    smallest loss whose cumulative weight from below reaches ``confidence`` (inverted CDF)."""
    order = np.argsort(-losses, kind="stable")
    tail = np.cumsum(weights[order])  # weight of the losses at least as bad as each
    # The quantile: the most extreme loss whose tail weight reaches 1 - confidence.
    k = int(np.searchsorted(tail, (1.0 - confidence) - 1e-12, side="left"))
    return order, min(k, order.size - 1)


def _reference_portfolios(returns: NDArray[np.float64]) -> Iterator[NDArray[np.float64]]:
    """Weight vectors ``(n_sec,)`` in the order their quantile windows are taken (lazily: with
    many securities the slots are full long before the pairs)."""
    n = returns.shape[1]
    eye = np.eye(n)
    yield np.full(n, 1.0 / n)
    yield -np.full(n, 1.0 / n)
    for j in range(n):
        yield eye[j]
        yield -eye[j]
    if n > 1:
        corr = np.corrcoef(returns, rowvar=False)
        pairs = sorted(((corr[i, j], i, j) for i in range(n) for j in range(i + 1, n)), reverse=True)
        for _, i, j in pairs:
            for hedge in (1.0, 0.5):
                yield eye[i] - hedge * eye[j]
                yield eye[j] - hedge * eye[i]
                yield hedge * eye[j] - eye[i]
                yield hedge * eye[i] - eye[j]


def _book_windows(returns: NDArray[np.float64], weights: NDArray[np.float64], confidence: float,
                  books: NDArray[np.float64], chosen: list[int], want: int) -> None:
    """Append to ``chosen`` (up to ``want`` rows) the quantile window of the members' book that
    the windows chosen so far margin furthest below its own ``confidence`` quantile loss, per
    unit of its gross notional, until every book is margined at least at its quantile or the
    slots are full. A book already covered (by the market's windows, or a book like it) takes
    no slot."""
    gross = np.abs(books).sum(axis=1)
    books = books[gross > 0] / gross[gross > 0, None]
    if books.size == 0:
        return
    losses = -(returns @ books.T)  # (n_obs, n_books), per unit of gross notional
    ranked = [_quantile_rank(losses[:, b], weights, confidence) for b in range(books.shape[0])]
    quantile_rows = np.array([order[k] for order, k in ranked], dtype=np.int64)
    quantiles = losses[quantile_rows, np.arange(books.shape[0])]
    while len(chosen) < want:
        covered = losses[chosen].max(axis=0) if chosen else np.full(books.shape[0], -np.inf)
        short = quantiles - covered
        worst = int(np.argmax(short))
        if short[worst] <= 0:
            return
        chosen.append(int(quantile_rows[worst]))


def select_windows(
    returns: NDArray[np.float64], weights: NDArray[np.float64], n_scenarios: int, confidence: float,
    books: ArrayLike | None = None,
) -> NDArray[np.int64]:
    """Rows of ``returns`` ``(n_obs, n_sec)`` chosen as scenarios (see the module docstring),
    sorted, ``n_scenarios`` of them (fewer only if the sample has fewer observations).
    ``books`` ``(n_books, n_sec)``: the members' books as notional weights (signed: a short is
    negative), whose own quantile windows come right after the market's."""
    n_obs, n_sec = returns.shape
    want = min(n_scenarios, n_obs)
    chosen: list[int] = []

    def take(row: int) -> None:
        if row not in chosen and len(chosen) < want:
            chosen.append(row)

    refs = iter(_reference_portfolios(returns))
    for _ in range(2):  # the market long and short
        if (w := next(refs, None)) is not None:
            order, k = _quantile_rank(-(returns @ w), weights, confidence)
            take(int(order[k]))
    if books is not None:
        b = np.asarray(books, dtype=float).reshape(-1, n_sec)
        _book_windows(returns, weights, confidence, b, chosen, want)
    while len(chosen) < want and (w := next(refs, None)) is not None:
        order, k = _quantile_rank(-(returns @ w), weights, confidence)
        take(int(order[k]))
    # Fill: the next less extreme windows of each single security, round robin.
    if len(chosen) < want:
        singles = [_quantile_rank(sign * returns[:, j], weights, confidence)
                   for j in range(n_sec) for sign in (-1.0, 1.0)]
        # Less extreme first (ranks k+1, k+2, ...), then the more extreme ones: every single's
        # order is a permutation of all rows, so this ends with ``want <= n_obs`` rows.
        ranks = list(range(1, n_obs)) + list(range(-1, -n_obs, -1))
        for step in ranks:
            for order, k in singles:
                if 0 <= k + step < n_obs:
                    take(int(order[k + step]))
            if len(chosen) == want:
                break
    return np.sort(np.asarray(chosen, dtype=np.int64))


def _bps(r: float, apc: APC) -> int:
    bps = _to_bps(r, "down" if r < 0 else "up")
    bps = _apply_buffer(bps) if apc is APC.BUFFER else bps
    if bps > MAX_SHOCK_BPS:
        raise ValueError(f"shock {bps} bps does not fit an int16 (at most {MAX_SHOCK_BPS})")
    return bps


def published_scenarios(prices: ArrayLike, model: MarginModel = PUBLISHED,
                        books: ArrayLike | None = None) -> JointScenarios:
    """THE calibration of the scenarios published on chain (see the module docstring).

    Args:
        prices: daily prices, shape ``(n_dates,)`` (one security) or ``(n_dates, n_securities)``,
            positive, oldest first, last row = the calibration date (any unit).
        model: the configuration; default :data:`PUBLISHED`.
        books: the members' books, ``(n_books, n_securities)`` notional per security (quantity
            times price, any unit; a short negative): each book the market's windows margin
            below its own quantile loss gets its quantile window, worst first, before the
            single securities' (:mod:`smartccp.risk.recalibration` builds them from the
            members' positions). None: the market's and the securities' windows only.

    Returns:
        :class:`~smartccp.risk.scenarios.JointScenarios`: ``shocks_bps`` int64 of shape
        ``(n_securities, n_scenarios)`` (one row for 1-D prices); column ``k`` is the window
        starting at price row ``start_index[k]`` for every security. Publish row ``i`` as
        security ``i``'s vector, in this order (never sorted: sorting a row breaks the joint
        scenarios).
    """
    returns, index, weights = scenario_returns(prices, model)
    rows = select_windows(returns, weights, model.n_scenarios, model.confidence, books)
    shocks = np.array([[_bps(float(returns[r, j]), model.apc) for r in rows]
                       for j in range(returns.shape[1])], dtype=np.int64)
    if shocks.shape[1] < model.n_scenarios:  # a short sample: repeat the last window
        pad = np.repeat(shocks[:, -1:], model.n_scenarios - shocks.shape[1], axis=1)
        shocks = np.hstack([shocks, pad])
        rows = np.concatenate([rows, np.repeat(rows[-1:], model.n_scenarios - rows.size)])
    return JointScenarios(shocks_bps=shocks, start_index=index[rows], horizon_days=model.horizon_days)
