"""Initial margin, variation margin and VaR on integer money.

Units
-----
* ``quantities``: whole security units, ``int``; ``> 0`` long (bought / to receive), ``< 0`` short.
* ``prices``: cash base units per one security unit, ``int`` (cash has 6 decimals).
* ``shocks_bps``: price shocks in basis points, ``int``, shape ``(n_securities, n_scenarios)``;
  ``-1250`` is -12.5 %. No shock may be below ``-10_000`` (a price cannot go negative).
* Results are cash base units, ``int``.

The integer formulas here are the ones the on-chain contracts mirror::

    S_s = sum_i q_i * p_i * shock_{i,s}                      (exact integer, units: base * bps)
    pnl_s = floor(S_s / 10_000)                               (member P&L in scenario s)
    IM = ceil(max(0, max_s(-S_s)) / 10_000)                   (initial margin)

Rounding favours the CCP: a member's scenario P&L rounds down (its losses round up), and the
initial margin rounds up. ``IM == max(0, max_s(-pnl_s))`` exactly, because ``ceil`` is monotone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from smartccp.risk._ints import as_int_list, as_int_matrix, check_shocks
from smartccp.units import BPS, ceil_div

__all__ = [
    "initial_margin",
    "portfolio_pnl_by_scenario",
    "scenario_exposures",
    "value_at_risk",
    "variation_margin",
]


def _shock_rows(shocks_bps: ArrayLike, n_securities: int) -> tuple[list[list[int]], int]:
    """Coerce ``shocks_bps`` to ``n_securities`` rows of integer bps, one column per scenario.

    A 1-D shock vector is accepted only for a one-security portfolio, as its single row.

    Returns:
        ``(rows, n_scenarios)``.
    """
    arr = shocks_bps if isinstance(shocks_bps, np.ndarray) else np.asarray(shocks_bps, dtype=object)
    if arr.ndim == 1 and n_securities == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ValueError(
            f"shocks_bps must have shape (n_securities, n_scenarios), got shape {arr.shape}"
        )
    if arr.shape[0] != n_securities:
        raise ValueError(
            f"shocks_bps has {arr.shape[0]} rows but there are {n_securities} securities; "
            "expected shape (n_securities, n_scenarios)"
        )
    n_scenarios = int(arr.shape[1])
    if n_scenarios == 0:
        raise ValueError("shocks_bps has no scenarios")
    rows = as_int_matrix(arr, "shocks_bps")
    for i, row in enumerate(rows):
        check_shocks(row, f"shocks_bps[{i}]")
    return rows, n_scenarios


def scenario_exposures(
    quantities: Sequence[int], prices: Sequence[int], shocks_bps: ArrayLike
) -> list[int]:
    """Exact scaled P&L ``S_s = sum_i q_i * p_i * shock_{i,s}`` of every scenario.

    Args:
        quantities: shape ``(n_securities,)``, whole units, signed (long > 0).
        prices: shape ``(n_securities,)``, cash base units per unit, ``>= 0``.
        shocks_bps: shape ``(n_securities, n_scenarios)``, integer bps.

    Returns:
        ``n_scenarios`` Python ints in cash base units times bps (divide by 10_000 for cash base
        units). Positive means the member gains.
    """
    q = as_int_list(quantities, "quantities")
    p = as_int_list(prices, "prices")
    if len(q) != len(p):
        raise ValueError(f"{len(q)} quantities but {len(p)} prices")
    if any(x < 0 for x in p):
        raise ValueError("prices must be non-negative")
    rows, n_scenarios = _shock_rows(shocks_bps, len(q))
    values = [qi * pi for qi, pi in zip(q, p, strict=True)]
    return [
        sum(v * row[s] for v, row in zip(values, rows, strict=True)) for s in range(n_scenarios)
    ]


def portfolio_pnl_by_scenario(
    quantities: Sequence[int], prices: Sequence[int], shocks_bps: ArrayLike
) -> list[int]:
    """Portfolio P&L of the member under each scenario, in cash base units.

    ``pnl_s = floor(sum_i q_i * p_i * shock_{i,s} / 10_000)``: rounded DOWN, so gains are
    understated and losses overstated (in the CCP's favour).

    Args:
        quantities: shape ``(n_securities,)``, whole units, signed (long > 0).
        prices: shape ``(n_securities,)``, cash base units per unit.
        shocks_bps: shape ``(n_securities, n_scenarios)``, integer bps (a 1-D vector of
            scenarios is accepted for a single security).

    Returns:
        list of ``n_scenarios`` ints, positive = member gains.
    """
    return [s // BPS for s in scenario_exposures(quantities, prices, shocks_bps)]


def initial_margin(
    quantities: Sequence[int], prices: Sequence[int], shocks_bps: ArrayLike
) -> int:
    """Scenario initial margin in cash base units (exact integers, no floats).

    ``IM = ceil(max(0, max_s(-sum_i q_i * p_i * shock_{i,s})) / 10_000)``: the worst scenario
    loss of the portfolio, never negative, rounded UP in the CCP's favour. A long position is
    margined by the down shocks, a short one by the up shocks, a hedged portfolio by the joint
    scenario that hurts the net position most.

    Args:
        quantities: shape ``(n_securities,)``, whole units, signed (long > 0).
        prices: shape ``(n_securities,)``, cash base units per unit.
        shocks_bps: shape ``(n_securities, n_scenarios)``, integer bps (a 1-D vector of
            scenarios is accepted for a single security).

    Returns:
        initial margin, cash base units, ``>= 0``.
    """
    worst = max(0, max(-s for s in scenario_exposures(quantities, prices, shocks_bps)))
    return ceil_div(worst, BPS)


def variation_margin(
    quantities: Sequence[int], prev_prices: Sequence[int], new_prices: Sequence[int]
) -> int:
    """Mark-to-market variation margin in cash base units: ``sum_i q_i * (new_i - prev_i)``.

    Positive = the member gains (the CCP pays it), negative = the member pays. The result is an
    exact integer (integer quantities times integer price moves), so no rounding is needed.

    Args:
        quantities: shape ``(n_securities,)``, whole units, signed (long > 0).
        prev_prices: shape ``(n_securities,)``, previous settlement prices, base units per unit.
        new_prices: shape ``(n_securities,)``, new settlement prices, base units per unit.
    """
    q = as_int_list(quantities, "quantities")
    p0 = as_int_list(prev_prices, "prev_prices")
    p1 = as_int_list(new_prices, "new_prices")
    if not len(q) == len(p0) == len(p1):
        raise ValueError("quantities, prev_prices and new_prices must have the same length")
    return sum(qi * (b - a) for qi, a, b in zip(q, p0, p1, strict=True))


def value_at_risk(losses: ArrayLike, confidence: float = 0.99) -> float:
    """Empirical value at risk of a loss sample, reported as a positive loss.

    ``VaR = min{x : F(x) >= confidence}``, the inverted-CDF (order statistic) quantile of the
    losses: the ``ceil(confidence * n)``-th smallest loss. No interpolation, so the result is an
    observed loss and at most ``floor((1 - confidence) * n)`` losses exceed it. A negative result
    means even the tail outcome is a gain.

    Args:
        losses: shape ``(n,)``, losses in any unit (positive = loss), ``n >= 1``, finite.
        confidence: in ``(0, 1)``, e.g. ``0.99``.

    Returns:
        the VaR in the unit of ``losses``, as a float.
    """
    x = np.asarray(losses, dtype=float).ravel()
    if x.size == 0:
        raise ValueError("losses is empty")
    if not np.all(np.isfinite(x)):
        raise ValueError("losses must be finite")
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be in (0, 1)")
    k = int(np.ceil(confidence * x.size - 1e-9))  # 1-based rank; tolerance for 0.99 * 100 etc.
    k = min(max(k, 1), x.size)
    return float(np.partition(x, k - 1)[k - 1])
