"""Fixtures of the operations tests: a system deployed from ``tests/ops/day.yaml`` (with ten-minute
cycles here), two clearing members onboarded with margin posted, and fresh registry copies per test
(each test gets its own ops journal)."""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smartccp.chain.system import admit, approve_settlement, fund
from smartccp.ops.deploy import Deployment, attach, deploy
from smartccp.ops.spec import DeploymentSpec, SessionSpec, load_spec
from smartccp.units import cash

DAY_SPEC = Path(__file__).with_name("day.yaml")
CYCLE = 600  # seconds
MARGIN = cash(50_000)


@dataclass
class Deployed:
    spec: DeploymentSpec
    registry: Path
    members: list[Any]

    def attach(self, tmp_path: Path) -> Deployment:
        """The deployment, reattached from a copy of its registry (so the test has its own journal)."""
        path = tmp_path / "registry.json"
        shutil.copy(self.registry, path)
        return attach(path, self.spec)


@pytest.fixture(scope="session")
def ops_deployed(tmp_path_factory, operator, bank, issuer, member_a, member_b):
    """deploy(day.yaml), then member_a and member_b admitted, funded, approving the CCP and the
    risk contracts, with margin posted."""
    # The tests move the local chain's clock themselves, so the cycle can be long: ten seconds (as
    # the external-node tests use) could pass between a test's open and its first order on a
    # loaded machine, and the order would find the session closed.
    spec = dataclasses.replace(load_spec(DAY_SPEC), cycle_length=CYCLE, session=SessionSpec(close=CYCLE // 2, auction=60))
    registry = tmp_path_factory.mktemp("ops") / "registry.json"
    dep = deploy(spec, path=registry, say=lambda _line: None)
    s, r, sid = dep.system, dep.risk, dep.security_ids["ACME"]
    members = [member_a, member_b]
    admit(s, operator, members)
    fund(s, members, bank=bank, issuer=issuer, cash=cash(1_000_000), units={sid: 10_000})
    approve_settlement(s, members, r.margin, r.fund)
    for m in members:
        r.margin.depositCash(MARGIN, sender=m)
    r.fund.setRequiredContributions([m.address for m in members], [cash(100)] * 2, sender=operator)
    for m in members:
        r.fund.contribute(cash(100), sender=m)
    return Deployed(spec, registry, members)


@pytest.fixture(scope="session", autouse=True)
def ops_session(ops_deployed):
    """This folder's session fixtures, set up before its first test (see tests/conftest.py)."""
