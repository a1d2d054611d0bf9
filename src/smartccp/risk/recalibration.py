"""Recalibrating the published scenarios with the members' books (issue #22).

Sixteen windows cannot hold every direction of a market of many securities: calibrated on the
market alone (:func:`smartccp.risk.model.published_scenarios` without books, what a deployment
publishes before anyone trades), a hedged pair whose tail is its own spread can be margined far
below its 99 % loss. Given the books the members hold, the calibration gives each book that the
market's windows under-margin its own quantile window (``make backtest``: the synthetic
1.2 / 0.8-beta pair goes from 5 of 5 weekly phases rejected to none).

:func:`member_books` turns net positions into the notional books the calibration takes;
:func:`recalibrate` calibrates with them and publishes through the admin. A recalibration
narrows some scenarios as often as it widens others, and only the timelock may narrow one
(``RiskChangeNeedsAdmin`` for the risk role), so it is a governed change: proposed, and
published when the delay has passed (:func:`smartccp.chain.governance.admin_apply`).

Units: quantities in units, prices in cash base units per unit; books in cash base units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from smartccp.chain.governance import admin_apply
from smartccp.risk.model import PUBLISHED, MarginModel, published_scenarios


def member_books(positions: Mapping[Any, Mapping[int, int]], prices: Mapping[int, int],
                 security_ids: Sequence[int]) -> NDArray[np.float64]:
    """The books ``(n_books, n_securities)``: each account's net quantity per security of
    ``security_ids`` (in that order) times its price, for every account with a position."""
    rows = [[float(q.get(sid, 0)) * prices[sid] for sid in security_ids] for q in positions.values()]
    books = np.array([r for r in rows if any(r)], dtype=float)
    return books.reshape(-1, len(security_ids))


def recalibration(margin: Any, security_ids: Sequence[int], history: ArrayLike, books: ArrayLike,
                  model: MarginModel = PUBLISHED) -> tuple[list[tuple[Any, str, tuple]], NDArray[np.int64]]:
    """The admin calls that publish the scenarios calibrated on ``history`` ``(n_dates,
    n_securities)``, columns in ``security_ids``' order, with ``books``; and the shocks."""
    shocks = published_scenarios(history, model, books).shocks_bps
    calls = [(margin, "publishScenarios", (sid, [int(x) for x in shocks[i]])) for i, sid in enumerate(security_ids)]
    return calls, shocks


def recalibrate(margin: Any, security_ids: Sequence[int], history: ArrayLike, books: ArrayLike, admin: Any,
                model: MarginModel = PUBLISHED) -> NDArray[np.int64]:
    """Calibrate with the members' ``books`` and publish as ``admin`` (a timelock admin proposes,
    waits the delay and executes); returns the shocks published."""
    calls, shocks = recalibration(margin, security_ids, history, books, model)
    admin_apply(admin, calls, "scenarios recalibrated with the members' books")
    return shocks
