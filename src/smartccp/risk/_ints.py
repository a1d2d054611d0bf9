"""Exact-integer helpers shared by the risk models (private).

Money in SmartCCP is integer: cash base units (6 decimals, ``1 cash = 1_000_000``), prices in
cash base units per one security unit, quantities in whole security units and shocks in basis
points. These helpers coerce inputs to Python ``int`` (arbitrary precision, so no overflow) and
refuse floats and bools, so a float never leaks into a money formula by accident.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from smartccp.units import BPS

MIN_SHOCK_BPS: int = -BPS
"""The most negative admissible price shock (-100 %): a price cannot fall below zero."""


def as_int(value: Any, name: str) -> int:
    """Return ``value`` as a Python ``int``; raise ``TypeError`` for floats, bools and others."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}: {value!r}")
    return int(value)


def as_int_list(values: Iterable[Any], name: str) -> list[int]:
    """Return a 1-D iterable (list, tuple or 1-D integer ndarray) as a list of Python ints."""
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {values.shape}")
    return [as_int(v, f"{name}[{i}]") for i, v in enumerate(values)]


def as_int_matrix(values: Any, name: str) -> list[list[int]]:
    """Return a 2-D nested sequence or 2-D integer ndarray as a list of rows of Python ints."""
    if isinstance(values, np.ndarray):
        if values.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got shape {values.shape}")
        if not (np.issubdtype(values.dtype, np.integer) or values.dtype == object):
            raise TypeError(f"{name} must hold integers, got dtype {values.dtype}")
    rows = [as_int_list(row, f"{name}[{i}]") for i, row in enumerate(values)]
    if rows and any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"{name} is ragged: rows of different lengths")
    return rows


def check_shocks(shocks: Iterable[int], name: str) -> None:
    """Raise ``ValueError`` if any shock is below -100 % (a negative price)."""
    for s in shocks:
        if s < MIN_SHOCK_BPS:
            raise ValueError(f"{name}: shock {s} bps is below -100 % ({MIN_SHOCK_BPS} bps)")
