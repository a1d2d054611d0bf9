"""Fixtures of the governance tests: a system deployed through the deployment-file path with the
handover to a timelock (``gov.yaml``: every role its own account, a one-hour delay), two
clearing members admitted, funded and approving the CCP for unlimited cash and units, as
members do so that the CCP can settle."""

from __future__ import annotations

import pytest
from gov_support import GOV_SPEC, Governed

from smartccp.chain.system import admit, approve_settlement, fund
from smartccp.ops.deploy import deploy
from smartccp.ops.spec import load_spec
from smartccp.units import cash


@pytest.fixture(scope="session")
def governed(tmp_path_factory, operator, bank, issuer, member_a, member_b) -> Governed:
    dep = deploy(load_spec(GOV_SPEC), path=tmp_path_factory.mktemp("gov") / "registry.json", say=lambda _line: None)
    s, sid = dep.system, dep.security_ids["ACME"]
    members = [member_a, member_b]
    admit(s, operator, members)
    fund(s, members, bank=bank, issuer=issuer, cash=cash(1_000_000), units={sid: 1_000})
    approve_settlement(s, members, dep.risk.margin, dep.risk.fund)
    return Governed(dep, members)


@pytest.fixture(scope="session", autouse=True)
def governance_session(governed):
    """This folder's session fixtures, set up before its first test (see tests/conftest.py)."""
