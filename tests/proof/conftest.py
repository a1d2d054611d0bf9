"""Fixtures for the proof of safety (the world itself is built in ``proof_world``)."""

from __future__ import annotations

import pytest
from proof_world import World, build_world


@pytest.fixture(scope="module")
def world(accounts, chain, project) -> World:
    return build_world(accounts, chain, project)
