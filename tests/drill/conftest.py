"""Drill fixtures: each bundled scenario run once per module in its fast profile.

A drill deploys its own system and derives its own member accounts from the scenario's seed,
so it needs only the role accounts of ``tests/conftest.py`` (operator, bank, issuer).
"""

from __future__ import annotations

import pytest

from smartccp.chain.accounts import local_roles
from smartccp.drill.runner import DrillRunner
from smartccp.sim.scenario import load_scenario


@pytest.fixture(scope="module")
def drills(request, tmp_path_factory) -> dict[str, tuple]:
    """The module's scenario (its ``SCENARIO``) run once (fast profile) at module setup, in the
    module's snapshot, so the chain state stays for the module's tests: name -> (runner,
    report, output directory). One scenario per module, so the three run side by side on the
    test workers."""
    name = request.module.SCENARIO
    out = tmp_path_factory.mktemp(f"drill_{name}")
    runner = DrillRunner(load_scenario(name, profile="fast"), local_roles(), out=out)
    return {name: (runner, runner.run(), out)}


@pytest.fixture
def drill(drills):
    """Look-up of the module's finished drill by scenario name."""
    return drills.__getitem__
