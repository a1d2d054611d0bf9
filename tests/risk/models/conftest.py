"""Fixtures for the risk-model tests: real daily index prices shipped with ``arch`` (offline).

The data are loaded once per process (``functools.cache``) and handed out by function-scoped
fixtures as read-only arrays. Function scope on purpose: under ``ape test`` wider-scoped fixtures
requested late trigger ape's chain-isolation rebasing (``InvalidIsolationWarning``), and these
tests never touch the chain.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from arch.data import nasdaq, sp500


@functools.cache
def _close(name: str) -> pd.Series:
    module = {"sp500": sp500, "nasdaq": nasdaq}[name]
    return module.load()["Adj Close"]


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@functools.cache
def _two_index_prices() -> np.ndarray:
    a, b = _close("sp500"), _close("nasdaq")
    assert a.index.equals(b.index)
    return _read_only(np.column_stack([a.to_numpy(dtype=float), b.to_numpy(dtype=float)]))


@pytest.fixture
def sp500_close() -> pd.Series:
    """S&P 500 adjusted close, daily, 1999-01-04 .. 2018-12-31 (5 031 prices)."""
    return _close("sp500")


@pytest.fixture
def nasdaq_close() -> pd.Series:
    """NASDAQ Composite adjusted close, same dates as ``sp500_close``."""
    return _close("nasdaq")


@pytest.fixture
def sp500_prices() -> np.ndarray:
    """S&P 500 adjusted close as a read-only float64 array, shape ``(5031,)``."""
    return _two_index_prices()[:, 0]


@pytest.fixture
def two_index_prices() -> np.ndarray:
    """S&P 500 and NASDAQ adjusted closes, read-only, shape ``(5031, 2)`` (dates x securities)."""
    return _two_index_prices()
