"""Stress scenarios and stressed losses.

* Historical scenarios: the worst (and best) ``h``-day moves of a given calendar year in a price
  history (default years 2001, 2008, 2011), as named integer-bps scenarios.
* Hypothetical scenarios: uniform moves of every security (default -20 %, -30 %, +15 %).
* Stressed loss of a portfolio under a scenario, and the part of it beyond the margin held.

Units: quantities in whole security units (signed, long > 0), prices in cash base units per unit
(int), shocks in integer bps (``>= -10_000``), money in cash base units (int). Stressed losses
are rounded UP (in the CCP's favour); shocks have their magnitude rounded up.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from smartccp.risk._ints import MIN_SHOCK_BPS, as_int, as_int_list, check_shocks
from smartccp.risk.scenarios import horizon_returns
from smartccp.units import BPS, ceil_div

__all__ = [
    "HYPOTHETICAL_MOVES_BPS",
    "StressScenario",
    "historical_stress_scenarios",
    "historical_window_scenarios",
    "hypothetical_stress_scenarios",
    "losses_beyond_margin_matrix",
    "stressed_loss",
    "stressed_loss_beyond_margin",
    "worst_move_in_year",
]

HYPOTHETICAL_MOVES_BPS: tuple[int, ...] = (-2000, -3000, 1500)
"""Default hypothetical uniform moves: -20 %, -30 %, +15 %."""


@dataclass(frozen=True)
class StressScenario:
    """A named stress scenario.

    Attributes:
        name: e.g. ``"2008 down 5d"`` or ``"uniform -20.00%"``.
        shocks_bps: one integer bps shock per security, shape ``(n_securities,)``.
        start: first date of the historical window (``None`` for hypothetical scenarios).
        end: last date of the historical window (``None`` for hypothetical scenarios).
    """

    name: str
    shocks_bps: tuple[int, ...]
    start: dt.date | None = None
    end: dt.date | None = None


def _dates(dates: ArrayLike, n: int) -> np.ndarray:
    d = np.asarray(dates, dtype="datetime64[D]")
    if d.shape != (n,):
        raise ValueError(f"dates must have shape ({n},), got {d.shape}")
    return d


def _round_away(r: float) -> int:
    """Simple return -> bps with the magnitude rounded up (floor if < 0, ceil if > 0)."""
    x = round(r * BPS, 6)
    return max(math.floor(x) if x < 0 else math.ceil(x), MIN_SHOCK_BPS)


def worst_move_in_year(
    prices: ArrayLike,
    dates: ArrayLike,
    year: int,
    horizon_days: int = 5,
    direction: Literal["down", "up"] = "down",
    reference: ArrayLike | None = None,
) -> StressScenario:
    """The most extreme ``h``-day move of a calendar year, as a named scenario.

    A window belongs to the year of its END date (the date the loss is realised). For several
    securities the window is ranked by a reference portfolio's simple return (default: equal
    weights) and the scenario shocks every security by its own return over that window, so the
    cross-section of the historical episode is kept.

    Args:
        prices: daily prices, shape ``(n_dates,)`` or ``(n_dates, n_securities)``, positive.
        dates: shape ``(n_dates,)``, anything ``numpy.datetime64`` accepts (e.g. a pandas
            ``DatetimeIndex``).
        year: calendar year, e.g. 2008.
        horizon_days: ``h`` in trading days.
        direction: ``"down"`` for the worst fall, ``"up"`` for the largest rise.
        reference: weights of the ranking portfolio, shape ``(n_securities,)``.

    Returns:
        :class:`StressScenario` named ``"<year> <direction> <h>d"`` with shocks in bps
        (magnitude rounded up) and the window's start and end dates.
    """
    p = np.asarray(prices, dtype=float)
    returns = horizon_returns(p, horizon_days)
    r2 = returns[:, None] if returns.ndim == 1 else returns
    if reference is None:
        w = np.full(r2.shape[1], 1.0 / r2.shape[1])
    else:
        w = np.asarray(reference, dtype=float)
    score = r2 @ w
    d = _dates(dates, p.shape[0])
    end_years = d[horizon_days:].astype("datetime64[Y]").astype(int) + 1970
    mask = end_years == year
    if not mask.any():
        raise ValueError(f"no {horizon_days}-day window ends in {year}")
    if direction == "down":
        t = int(np.argmin(np.where(mask, score, np.inf)))
    elif direction == "up":
        t = int(np.argmax(np.where(mask, score, -np.inf)))
    else:
        raise ValueError("direction must be 'down' or 'up'")
    shocks = tuple(_round_away(float(r)) for r in r2[t])
    return StressScenario(
        name=f"{year} {direction} {horizon_days}d",
        shocks_bps=shocks,
        start=d[t].item(),
        end=d[t + horizon_days].item(),
    )


def historical_stress_scenarios(
    prices: ArrayLike,
    dates: ArrayLike,
    years: Sequence[int] = (2001, 2008, 2011),
    horizon_days: int = 5,
    directions: Sequence[Literal["down", "up"]] = ("down", "up"),
    reference: ArrayLike | None = None,
) -> list[StressScenario]:
    """Worst down (and largest up) ``h``-day moves of each year, see :func:`worst_move_in_year`.

    Returns:
        one :class:`StressScenario` per (year, direction), in that order.
    """
    return [
        worst_move_in_year(prices, dates, y, horizon_days, direction, reference)
        for y in years
        for direction in directions
    ]


def hypothetical_stress_scenarios(
    n_securities: int, moves_bps: Sequence[int] = HYPOTHETICAL_MOVES_BPS
) -> list[StressScenario]:
    """Uniform moves of every security, named e.g. ``"uniform -20.00%"``.

    Args:
        n_securities: length of each shock vector.
        moves_bps: integer bps moves, each ``>= -10_000``.
    """
    moves = as_int_list(moves_bps, "moves_bps")
    check_shocks(moves, "moves_bps")
    return [
        StressScenario(name=f"uniform {m / 100:+.2f}%", shocks_bps=(m,) * n_securities)
        for m in moves
    ]


def _shock_vector(shock_bps: int | Sequence[int] | StressScenario, n: int) -> list[int]:
    if isinstance(shock_bps, StressScenario):
        shock_bps = shock_bps.shocks_bps
    if isinstance(shock_bps, int | np.integer):
        shocks = [as_int(shock_bps, "shock_bps")] * n
    else:
        shocks = as_int_list(shock_bps, "shock_bps")
    if len(shocks) != n:
        raise ValueError(f"{len(shocks)} shocks for {n} securities")
    check_shocks(shocks, "shock_bps")
    return shocks


def stressed_loss(
    quantities: Sequence[int],
    prices: Sequence[int],
    shock_bps: int | Sequence[int] | StressScenario,
) -> int:
    """Loss of a portfolio under one stress scenario, cash base units, rounded UP.

    ``loss = ceil(-sum_i q_i * p_i * shock_i / 10_000)``; positive = loss, negative = gain.

    Args:
        quantities: shape ``(n_securities,)``, whole units, signed (long > 0).
        prices: shape ``(n_securities,)``, cash base units per unit.
        shock_bps: one int (the same move for every security), a per-security sequence of
            ints, or a :class:`StressScenario`.
    """
    q = as_int_list(quantities, "quantities")
    p = as_int_list(prices, "prices")
    if len(q) != len(p):
        raise ValueError(f"{len(q)} quantities but {len(p)} prices")
    shocks = _shock_vector(shock_bps, len(q))
    exposure = sum(qi * pi * si for qi, pi, si in zip(q, p, shocks, strict=True))
    return ceil_div(-exposure, BPS)


def stressed_loss_beyond_margin(
    quantities: Sequence[int],
    prices: Sequence[int],
    shock_bps: int | Sequence[int] | StressScenario,
    margin: int,
) -> int:
    """Stressed loss not covered by the member's margin: ``max(0, stressed_loss - margin)``.

    Args:
        quantities, prices, shock_bps: as in :func:`stressed_loss`.
        margin: collateral held against the portfolio (IM plus VM balance), cash base units.

    Returns:
        cash base units, ``>= 0``, rounded up (the loss is rounded up).
    """
    return max(0, stressed_loss(quantities, prices, shock_bps) - as_int(margin, "margin"))


def losses_beyond_margin_matrix(
    member_quantities: Sequence[Sequence[int]],
    prices: Sequence[int],
    scenarios: Sequence[int | Sequence[int] | StressScenario],
    margins: Sequence[int],
) -> list[list[int]]:
    """Stressed losses beyond margin of every member under every scenario.

    Args:
        member_quantities: shape ``(n_members, n_securities)``, signed whole units.
        prices: shape ``(n_securities,)``, cash base units per unit.
        scenarios: ``n_scenarios`` shocks (see :func:`stressed_loss`).
        margins: shape ``(n_members,)``, collateral held per member, cash base units.

    Returns:
        ``n_members`` rows of ``n_scenarios`` ints (cash base units, ``>= 0``): the input of
        :func:`smartccp.risk.default_fund.cover2_fund_size`.
    """
    m = as_int_list(margins, "margins")
    if len(m) != len(member_quantities):
        raise ValueError("one margin per member is needed")
    return [
        [stressed_loss_beyond_margin(q, prices, s, mi) for s in scenarios]
        for q, mi in zip(member_quantities, m, strict=True)
    ]


def historical_window_scenarios(prices: ArrayLike, horizon_days: int = 5) -> list[StressScenario]:
    """The worst historical ``h``-day windows of a price history, for cover 2 (issue #22).

    Over the WHOLE history given (its stressed period included), the window with the worst
    and the best move of the equally-weighted market and of every security; each scenario shocks
    every security by its own move in that window (the cross-section of the episode is kept).
    Duplicate windows appear once. Names ``"window <start row>"``.

    Args:
        prices: daily prices, shape ``(n_dates,)`` or ``(n_dates, n_securities)``, positive.
        horizon_days: ``h``.

    Returns:
        :class:`StressScenario` s (no dates: rows of ``prices``), shocks magnitude rounded up.
    """
    r = horizon_returns(prices, horizon_days)
    r2 = r[:, None] if r.ndim == 1 else r
    rows: list[int] = []
    for series in [r2.mean(axis=1), *r2.T]:
        for t in (int(np.argmin(series)), int(np.argmax(series))):
            if t not in rows:
                rows.append(t)
    return [StressScenario(name=f"window {t}", shocks_bps=tuple(_round_away(float(x)) for x in r2[t]))
            for t in sorted(rows)]
