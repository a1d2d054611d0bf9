"""Historical-simulation calibration of integer basis-point price shocks.

From a daily price history the module builds overlapping ``h``-day returns
(``r_t = p_{t+h} / p_t - 1``, default ``h = 5``) and turns the tail of their distribution into a
small set of integer shocks (basis points) that the on-chain margin formula can use
(:func:`smartccp.risk.margin.initial_margin`).

How scenarios are chosen (``n_scenarios = 2 m``, ``alpha = 1 - confidence``)
--------------------------------------------------------------------------------
* Down side, ``m`` scenarios: the worst observed move, then the empirical quantiles at the
  evenly spaced tail levels ``alpha * j / (m - 1)`` for ``j = 1 .. m - 1``; the last one is the
  ``alpha`` (e.g. 1 %) quantile itself.
* Up side, ``m`` scenarios: the mirror image (``1 - alpha`` quantile ... best observed move).
* Columns are ordered from the most negative to the most positive shock.
* Quantiles are inverted-CDF order statistics, never interpolated, so every scenario is an
  observed ``h``-day move: on the down side the ``k``-th smallest return with the smallest ``k``
  whose cumulative weight reaches the level, on the up side the same from the top. With equal
  weights that is ``k = ceil(level * n)``.
* Shocks are simple returns (the margin formula is linear in price), converted to bps with their
  magnitude rounded UP (down shocks floored, up shocks ceiled) in the CCP's favour, and never
  below -10 000 bps. Log and simple returns order the observations identically, so the choice of
  return kind does not change which observations are picked.

Anti-procyclicality (EMIR, Commission Delegated Regulation (EU) 153/2013, Art. 28(1))
------------------------------------------------------------------------------------
:class:`APC` selects one of the three tools:

* ``APC.BUFFER`` (Art. 28(1)(a)): shocks scaled by 125 %, a 25 % margin buffer (the IM is linear
  in the shocks; the CCP may let the buffer be consumed when margins rise sharply - a policy
  decision outside this module). Scaled shocks keep their magnitude rounded up and are capped at
  -100 %.
* ``APC.TEN_YEAR_LOOKBACK`` (Art. 28(1)(c)): the look-back is extended to at least ten years
  (2 520 trading days; the whole history if shorter). The article asks that margins be *not lower*
  than with a ten-year look-back; to apply that floor literally, calibrate both ways and pass the
  column-wise concatenation of the two shock matrices to ``initial_margin`` (the IM over a union
  of scenarios is the larger of the two IMs).
* ``APC.STRESSED_WEIGHT`` (Art. 28(1)(b)): the look-back observations get weight 75 % and the
  observations of a stressed period 25 % (an observation in both gets both). The stressed period
  is the ``stressed_window_days`` window of the whole given history with the highest realised
  variance of daily log returns (summed over securities), so a rolling calibration that is given
  only the history up to today never looks ahead.

Multi-security data
-------------------
:func:`calibrate_shocks` on a 2-D price array calibrates each security on its own (marginal
scenarios). Its columns are comonotone (scenario ``s`` is the same tail level for all
securities), which overstates the hedge in long/short spreads: a long A / short B book
is never shocked with A down and B up. :func:`calibrate_joint_shocks` keeps joint scenarios
(each scenario is one historical window, the same dates for every security), so correlation is
respected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from smartccp.risk._ints import MIN_SHOCK_BPS
from smartccp.units import BPS

__all__ = [
    "APC",
    "JointScenarios",
    "TEN_YEARS_TRADING_DAYS",
    "calibrate_joint_shocks",
    "calibrate_shocks",
    "horizon_returns",
    "observation_weights",
    "stressed_window",
    "tail_levels",
]

TRADING_DAYS_PER_YEAR: int = 252
TEN_YEARS_TRADING_DAYS: int = 10 * TRADING_DAYS_PER_YEAR
APC_BUFFER_PERCENT: int = 25
APC_STRESSED_WEIGHT: float = 0.25


class APC(Enum):
    """Anti-procyclicality tool (EMIR RTS 153/2013 Art. 28(1)); see the module docstring."""

    NONE = "none"
    BUFFER = "buffer"
    TEN_YEAR_LOOKBACK = "ten_year_lookback"
    STRESSED_WEIGHT = "stressed_weight"


@dataclass(frozen=True)
class JointScenarios:
    """Joint historical scenarios: one historical ``h``-day window per scenario.

    Attributes:
        shocks_bps: int64, shape ``(n_securities, n_scenarios)``, shock of each security in the
            window, bps, magnitude rounded up.
        start_index: int64, shape ``(n_scenarios,)``, row of the window's first price in the
            price array; the window ends at ``start_index + horizon_days``.
        horizon_days: window length in trading days.
    """

    shocks_bps: NDArray[np.int64]
    start_index: NDArray[np.int64]
    horizon_days: int


def _price_array(prices: ArrayLike, horizon_days: int) -> NDArray[np.float64]:
    """Validate prices (1-D ``(n_dates,)`` or 2-D ``(n_dates, n_securities)``), any unit > 0."""
    p = np.asarray(prices, dtype=float)
    if p.ndim not in (1, 2):
        raise ValueError(f"prices must be 1-D or 2-D (dates x securities), got shape {p.shape}")
    if horizon_days < 1:
        raise ValueError("horizon_days must be >= 1")
    if p.shape[0] <= horizon_days:
        raise ValueError(f"need more than horizon_days={horizon_days} prices, got {p.shape[0]}")
    if not np.all(np.isfinite(p)) or np.any(p <= 0):
        raise ValueError("prices must be finite and positive")
    return p


def horizon_returns(
    prices: ArrayLike, horizon_days: int = 5, kind: Literal["simple", "log"] = "simple"
) -> NDArray[np.float64]:
    """Overlapping ``h``-day returns of a daily price series.

    Args:
        prices: shape ``(n_dates,)`` or ``(n_dates, n_securities)``, positive, any unit.
        horizon_days: ``h``, in trading days.
        kind: ``"simple"`` for ``p_{t+h} / p_t - 1`` or ``"log"`` for ``log(p_{t+h} / p_t)``.

    Returns:
        float64, shape ``(n_dates - h,)`` or ``(n_dates - h, n_securities)``; row ``t`` is the
        window from date ``t`` to date ``t + h`` (consecutive rows overlap by ``h - 1`` days).
    """
    p = _price_array(prices, horizon_days)
    ratio = p[horizon_days:] / p[:-horizon_days]
    if kind == "simple":
        return ratio - 1.0
    if kind == "log":
        return np.log(ratio)
    raise ValueError(f"kind must be 'simple' or 'log', got {kind!r}")


def tail_levels(confidence: float = 0.99, n_scenarios: int = 16) -> NDArray[np.float64]:
    """Down-side tail probability levels, one per down-side scenario.

    Returns:
        float64, shape ``(n_scenarios // 2,)``: ``[0, a/(m-1), 2a/(m-1), ..., a]`` with
        ``a = 1 - confidence`` and ``m = n_scenarios // 2``; level 0 is the worst observation.
    """
    if not 0.5 < confidence < 1.0:
        raise ValueError("confidence must be in (0.5, 1)")
    if n_scenarios < 4 or n_scenarios % 2:
        raise ValueError("n_scenarios must be even and >= 4 (worst + quantile on each side)")
    m = n_scenarios // 2
    alpha = 1.0 - confidence
    return alpha * np.arange(m, dtype=float) / (m - 1)


def stressed_window(
    prices: ArrayLike, horizon_days: int = 5, window_days: int = 250
) -> tuple[int, int]:
    """Locate the most stressed period of a price history.

    The stressed period is the run of ``window_days`` consecutive daily returns with the highest
    realised variance of daily log returns (summed over securities for 2-D input).

    Args:
        prices: shape ``(n_dates,)`` or ``(n_dates, n_securities)``, positive.
        horizon_days: used only to validate the length of ``prices``.
        window_days: length of the stressed period in trading days (capped at the history).

    Returns:
        ``(first, last)`` price rows of the period (inclusive, ``last - first == window_days``).
    """
    p = _price_array(prices, horizon_days)
    daily = np.diff(np.log(p), axis=0)
    if daily.ndim == 1:
        daily = daily[:, None]
    w = min(window_days, daily.shape[0])
    c1 = np.concatenate([np.zeros((1, daily.shape[1])), np.cumsum(daily, axis=0)])
    c2 = np.concatenate([np.zeros((1, daily.shape[1])), np.cumsum(daily**2, axis=0)])
    s1 = c1[w:] - c1[:-w]
    s2 = c2[w:] - c2[:-w]
    var = (s2 - s1**2 / w).sum(axis=1)
    first = int(np.argmax(var))
    return first, first + w


def observation_weights(
    prices: ArrayLike,
    horizon_days: int = 5,
    lookback_days: int | None = None,
    apc: APC = APC.NONE,
    stressed_window_days: int = 250,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The calibration sample: which overlapping ``h``-day returns are used, and their weights.

    Args:
        prices: shape ``(n_dates,)`` or ``(n_dates, n_securities)``, positive, the history up to
            the calibration date (last row = today).
        horizon_days: ``h`` in trading days.
        lookback_days: trading days of history used (the last ``lookback_days + 1`` prices);
            ``None`` = all. ``APC.TEN_YEAR_LOOKBACK`` raises it to at least 2 520.
        apc: anti-procyclicality tool; only the look-back and stressed-weight tools change the
            sample (the buffer scales shocks afterwards).
        stressed_window_days: length of the stressed period for ``APC.STRESSED_WEIGHT``.

    Returns:
        ``(index, weight)``: int64 rows into :func:`horizon_returns` of ``prices`` (sorted,
        unique) and float64 weights summing to 1, both of shape ``(n_obs,)``.
    """
    p = _price_array(prices, horizon_days)
    n_returns = p.shape[0] - horizon_days
    lookback = p.shape[0] - 1 if lookback_days is None else int(lookback_days)
    if apc is APC.TEN_YEAR_LOOKBACK:
        lookback = max(lookback, TEN_YEARS_TRADING_DAYS)
    lookback = min(lookback, p.shape[0] - 1)
    if lookback < horizon_days:
        raise ValueError("lookback_days must be >= horizon_days")
    first_price = p.shape[0] - 1 - lookback
    recent = np.arange(first_price, n_returns, dtype=np.int64)
    weights = np.zeros(n_returns)
    if apc is APC.STRESSED_WEIGHT:
        first, last = stressed_window(p, horizon_days, max(stressed_window_days, horizon_days))
        stressed = np.arange(first, last - horizon_days + 1, dtype=np.int64)
        weights[recent] += (1.0 - APC_STRESSED_WEIGHT) / recent.size
        weights[stressed] += APC_STRESSED_WEIGHT / stressed.size
    else:
        weights[recent] = 1.0 / recent.size
    index = np.flatnonzero(weights > 0).astype(np.int64)
    return index, weights[index]


def _order_statistic(
    values: NDArray[np.float64], weights: NDArray[np.float64], level: float, side: str
) -> int:
    """Position in ``values`` of the inverted-CDF quantile at tail ``level`` on ``side``.

    ``side == "down"``: the smallest value whose cumulative weight (from the bottom) reaches
    ``level``; ``"up"``: the same from the top. ``level == 0`` gives the extreme observation.
    Ties are broken by position (stable sort), so the choice is deterministic.
    """
    order = np.argsort(values if side == "down" else -values, kind="stable")
    if level <= 0.0:
        return int(order[0])
    cum = np.cumsum(weights[order])
    k = int(np.searchsorted(cum, level - 1e-12, side="left"))
    return int(order[min(k, order.size - 1)])


def _to_bps(simple_return: float, side: str) -> int:
    """Simple return -> integer bps, magnitude rounded up: ``floor`` down, ``ceil`` up."""
    x = simple_return * BPS
    # Round near-integers first so float noise (e.g. 0.1 * 10_000) does not add a bp.
    x = round(x, 6)
    bps = math.floor(x) if side == "down" else math.ceil(x)
    return max(bps, MIN_SHOCK_BPS)


def _apply_buffer(bps: int) -> int:
    """Scale a shock by ``1 + APC_BUFFER_PERCENT / 100``, magnitude rounded up, floor -100 %."""
    scaled = bps * (100 + APC_BUFFER_PERCENT)
    out = scaled // 100 if bps < 0 else -((-scaled) // 100)
    return max(out, MIN_SHOCK_BPS)


def _calibrate_one(
    returns: NDArray[np.float64],
    index: NDArray[np.int64],
    weights: NDArray[np.float64],
    levels: NDArray[np.float64],
    apc: APC,
) -> NDArray[np.int64]:
    """Shock vector ``(2 m,)`` of one security from its returns ``(n_returns,)``."""
    values = returns[index]
    down = [_to_bps(values[_order_statistic(values, weights, lv, "down")], "down") for lv in levels]
    up = [_to_bps(values[_order_statistic(values, weights, lv, "up")], "up") for lv in levels]
    shocks = down + up[::-1]
    if apc is APC.BUFFER:
        shocks = [_apply_buffer(s) for s in shocks]
    return np.asarray(shocks, dtype=np.int64)


def calibrate_shocks(
    prices: ArrayLike,
    horizon_days: int = 5,
    confidence: float = 0.99,
    n_scenarios: int = 16,
    apc: APC = APC.NONE,
    lookback_days: int | None = None,
    stressed_window_days: int = 250,
) -> NDArray[np.int64]:
    """Calibrate integer bps shocks spanning both tails of the ``h``-day return distribution.

    See the module docstring for how the ``n_scenarios`` scenarios are chosen: per side the
    worst observed move plus quantiles at evenly spaced tail levels down to ``1 - confidence``,
    so the 1 % and 99 % quantile moves (for ``confidence = 0.99``) are always included.

    Args:
        prices: daily prices, shape ``(n_dates,)`` or ``(n_dates, n_securities)``, positive,
            any unit, oldest first, last row = calibration date.
        horizon_days: margin period of risk ``h`` in trading days.
        confidence: e.g. ``0.99``.
        n_scenarios: even, ``>= 4``.
        apc: anti-procyclicality tool (:class:`APC`).
        lookback_days: trading days of history used; ``None`` = all given.
        stressed_window_days: stressed-period length for ``APC.STRESSED_WEIGHT``.

    Returns:
        int64 bps, shape ``(n_scenarios,)`` for 1-D prices, ``(n_securities, n_scenarios)`` for
        2-D prices (each security calibrated on its own, with its own stressed period under
        ``APC.STRESSED_WEIGHT``; comonotone columns, see the module docstring), ascending within
        each row, magnitudes rounded up (CCP-favourable), all ``>= -10_000``.
    """
    p = _price_array(prices, horizon_days)
    levels = tail_levels(confidence, n_scenarios)
    returns = horizon_returns(p, horizon_days)
    if p.ndim == 1:
        index, weights = observation_weights(
            p, horizon_days, lookback_days, apc, stressed_window_days
        )
        return _calibrate_one(returns, index, weights, levels, apc)
    rows = []
    for j in range(p.shape[1]):
        index, weights = observation_weights(
            p[:, j], horizon_days, lookback_days, apc, stressed_window_days
        )
        rows.append(_calibrate_one(returns[:, j], index, weights, levels, apc))
    return np.vstack(rows).astype(np.int64)


def calibrate_joint_shocks(
    prices: ArrayLike,
    horizon_days: int = 5,
    confidence: float = 0.99,
    n_scenarios: int = 16,
    apc: APC = APC.NONE,
    lookback_days: int | None = None,
    stressed_window_days: int = 250,
) -> JointScenarios:
    """Joint historical scenarios for several securities (correlation-preserving).

    Every scenario is one historical ``h``-day window and shocks all securities by their own
    return over the same dates. The ``n_scenarios`` windows are chosen as:

    1. for every security, the windows of its worst and best observed moves and of its
       ``1 - confidence`` and ``confidence`` quantile moves (inverted-CDF order statistics under
       the sample weights), so each security's 1 %/99 % moves are present (4 per security);
    2. the remaining slots go, in round-robin over securities and sides, to each security's next
       most extreme moves (rank 2, 3, ... from each tail), skipping windows already chosen.

    Columns are sorted by window start. Shock magnitudes are rounded up (away from zero);
    ``APC.BUFFER`` scales them by 125 %; all are ``>= -10_000``.

    Args:
        prices: daily prices, shape ``(n_dates, n_securities)``, positive, oldest first.
        horizon_days, confidence, apc, lookback_days, stressed_window_days: as in
            :func:`calibrate_shocks`; the stressed period is common to all securities.
        n_scenarios: number of windows, ``>= 4 * n_securities``.

    Returns:
        :class:`JointScenarios` with ``shocks_bps`` of shape ``(n_securities, n_scenarios)``.
    """
    p = _price_array(prices, horizon_days)
    if p.ndim != 2:
        raise ValueError("calibrate_joint_shocks needs 2-D prices (dates x securities)")
    n_sec = p.shape[1]
    if n_scenarios < 4 * n_sec:
        raise ValueError(f"n_scenarios must be >= 4 * n_securities = {4 * n_sec}")
    alpha = float(tail_levels(confidence, 4)[-1])  # also validates confidence
    returns = horizon_returns(p, horizon_days)
    index, weights = observation_weights(p, horizon_days, lookback_days, apc, stressed_window_days)
    if index.size < n_scenarios:
        raise ValueError(f"only {index.size} observations for {n_scenarios} scenarios")
    values = returns[index]

    chosen: list[int] = []

    def add(pos: int) -> None:
        if pos not in chosen and len(chosen) < n_scenarios:
            chosen.append(pos)

    for j in range(n_sec):
        for side in ("down", "up"):
            add(_order_statistic(values[:, j], weights, 0.0, side))
            add(_order_statistic(values[:, j], weights, alpha, side))
    rankings = [
        np.argsort(values[:, j] if side == "down" else -values[:, j], kind="stable")
        for j in range(n_sec)
        for side in ("down", "up")
    ]
    rank = 1
    while len(chosen) < n_scenarios:
        for order in rankings:
            add(int(order[rank]))
        rank += 1

    positions = np.sort(np.asarray(chosen, dtype=np.int64))
    shocks = np.empty((n_sec, n_scenarios), dtype=np.int64)
    for c, pos in enumerate(positions):
        for j in range(n_sec):
            r = float(values[pos, j])
            bps = _to_bps(r, "down" if r < 0 else "up")
            shocks[j, c] = _apply_buffer(bps) if apc is APC.BUFFER else bps
    return JointScenarios(
        shocks_bps=shocks, start_index=index[positions], horizon_days=horizon_days
    )
