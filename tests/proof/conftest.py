"""Fixtures for the proof of safety (the world itself is built in ``proof_world``)."""

from __future__ import annotations

import pytest
from proof_world import RiskWorld, World, build_risk_world, build_world


@pytest.fixture(scope="module")
def world(accounts, chain, project) -> World:
    return build_world(accounts, chain, project)


@pytest.fixture(scope="module")
def risk_world(accounts, chain, project) -> RiskWorld:
    return build_risk_world(accounts, chain, project)
