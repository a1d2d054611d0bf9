"""Fixtures for the proof of safety (the world itself is built in ``proof_world``)."""

from __future__ import annotations

import pytest
from proof_world import RiskWorld, World, build_risk_world, build_world

from smartccp.types import Segregation


@pytest.fixture(scope="module")
def world(accounts, chain, project) -> World:
    return build_world(accounts, chain, project, fail_rolls=1)


@pytest.fixture(scope="module")
def omnibus_world(accounts, chain, project) -> World:
    """The world with its client x in member_a's omnibus account (its cash leg pooled there)."""
    return build_world(accounts, chain, project, client_mode=Segregation.OMNIBUS, fail_rolls=1)


@pytest.fixture(scope="module")
def risk_world(accounts, chain, project) -> RiskWorld:
    return build_risk_world(accounts, chain, project)
