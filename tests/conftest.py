"""Shared fixtures: role-named accounts and a freshly deployed system.

ape runs every test inside an anvil snapshot that is reverted afterwards, so session-scoped
deployments are cheap and tests cannot leak state into each other.
"""

from __future__ import annotations

import contextlib

import pytest
from parallel import pytest_xdist_make_scheduler  # noqa: F401  (a hook: pytest-xdist's plan)
from parallel import register as register_parallel

from smartccp.chain.receipts import use_lean_client
from smartccp.chain.system import admit, deploy_system, fund, issue_equity
from smartccp.units import cash


def pytest_configure(config):  # noqa: ANN001, ANN201
    register_parallel(config)


@pytest.fixture(scope="session", autouse=True)
def fast_receipts(networks):
    """Receipts polled every 5 ms instead of web3's 100 ms, and no console-log trace after each
    transaction (smartccp.chain.receipts)."""
    use_lean_client()


@contextlib.contextmanager
def _rolled_back(chain):  # noqa: ANN001, ANN202
    """Run the block, then put the chain back as it was. Unlike ape's ``chain.isolate()``, which
    swallows every exception raised inside it (so an assertion there can never fail a test),
    this lets exceptions through."""
    snapshot = chain.snapshot()
    try:
        yield
    finally:
        chain.restore(snapshot)


@pytest.fixture(scope="session")
def rollback(chain):
    """``with rollback(): ...`` runs a block and undoes its transactions, exceptions propagate.
    For Hypothesis tests, whose examples share one test function (and so one ape isolation)."""
    return lambda: _rolled_back(chain)


def _role(index: int, doc: str):  # noqa: ANN202
    """A session fixture for ape's test account ``index``."""

    def account(accounts):  # noqa: ANN001, ANN202
        return accounts[index]

    account.__doc__ = doc
    return pytest.fixture(scope="session")(account)


# Test accounts by role (ape's funded accounts 0-9; 7 and 8 are taken by the clearing tests'
# stand-in venue and keeper, tests/clearing/conftest.py).
operator = _role(0, "Admin of every contract.")
bank = _role(1, "The settlement bank: issues and redeems DLT-PS cash.")
issuer = _role(2, "Lists, issues and redeems securities on DLT-CSD.")
member_a = _role(3, "A clearing member.")
member_b = _role(4, "A clearing member.")
client_a = _role(5, "A non-clearing participant, client of member_a.")
member_c = _role(6, "A clearing member.")
outsider = _role(9, "Never admitted.")


@pytest.fixture(scope="session")
def sink(project, operator):
    """A bare recorder of Settle instructions (stands in for the CCP in venue-only tests)."""
    return project.MockSettlementSink.deploy(sender=operator)


@pytest.fixture(scope="session")
def system(operator, bank, issuer, sink):
    return deploy_system(operator, settlement_bank=bank, issuer=issuer, settlement=sink)


@pytest.fixture(scope="session")
def membership(system):
    return system.membership


@pytest.fixture(scope="session")
def cash_token(system):
    return system.cash


@pytest.fixture(scope="session")
def securities(system):
    return system.securities


@pytest.fixture(scope="session")
def security_id(system, issuer):
    """An equity listed with tick 0.01 cash and lot 10 units."""
    return issue_equity(system, issuer)


@pytest.fixture(scope="session")
def members(system, operator, member_a, member_b, member_c, client_a, bank, issuer, security_id):
    """member_a, member_b and member_c admitted as clearing members, client_a under member_a,
    each funded with 1,000,000 cash and 10,000 units of the equity."""
    admit(system, operator, (member_a, member_b, member_c), [(client_a, member_a)])
    fund(system, (member_a, member_b, member_c, client_a), bank=bank, issuer=issuer, cash=cash(1_000_000),
         units={security_id: 10_000})
    return member_a, member_b, client_a


@pytest.fixture(scope="session", autouse=True)
def session_state(operator, bank, issuer, member_a, member_b, member_c, client_a, outsider, sink, system, membership,
                  cash_token, securities, security_id, members, rollback):
    """Every session fixture above, set up together before a process's first test.

    ape's isolation snapshots the chain per scope; a session fixture first requested after a
    module snapshot exists makes ape "rebase": restore a snapshot and run session fixtures again,
    which can replay a transaction that already happened (``AlreadyListed``). A serial run meets
    these fixtures early by the order of the files; a pytest-xdist worker runs another order and a
    subset of the files (tests/parallel.py), so they are created up front instead. The folder
    conftests do the same for their own session fixtures."""
