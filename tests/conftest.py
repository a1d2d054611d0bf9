"""Shared fixtures: role-named accounts and a freshly deployed system.

ape runs every test inside an anvil snapshot that is reverted afterwards, so session-scoped
deployments are cheap and tests cannot leak state into each other.
"""

from __future__ import annotations

import contextlib

import pytest
from parallel import pytest_xdist_make_scheduler  # noqa: F401  (a hook: pytest-xdist's plan)
from parallel import register as register_parallel

from smartccp.client import use_fast_receipts
from smartccp.system import deploy_system, kyc_expiry
from smartccp.units import cash


def pytest_configure(config):  # noqa: ANN001, ANN201
    register_parallel(config)


@pytest.fixture(scope="session", autouse=True)
def fast_receipts(networks):
    """Receipts polled every 5 ms instead of web3's 100 ms (smartccp.client)."""
    use_fast_receipts()


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


@pytest.fixture(scope="session")
def operator(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def bank(accounts):
    """The settlement bank: issues and redeems DLT-PS cash."""
    return accounts[1]


@pytest.fixture(scope="session")
def issuer(accounts):
    """Lists, issues and redeems securities on DLT-CSD."""
    return accounts[2]


@pytest.fixture(scope="session")
def member_a(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def member_b(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def member_c(accounts):
    return accounts[6]


@pytest.fixture(scope="session")
def client_a(accounts):
    """A non-clearing participant, client of member_a."""
    return accounts[5]


@pytest.fixture(scope="session")
def outsider(accounts):
    """Never admitted."""
    return accounts[9]


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
    tx = system.securities.listSecurity("ACME", b"US0000000001", 0, cash("0.01"), 10, 0, sender=issuer)
    return tx.return_value if tx.return_value else system.securities.securityCount()


@pytest.fixture(scope="session")
def members(system, operator, member_a, member_b, member_c, client_a, bank, issuer, security_id):
    """member_a, member_b and member_c admitted as clearing members, client_a under member_a,
    each funded with 1,000,000 cash and 10,000 units of the equity."""
    expiry = kyc_expiry()
    for m in (member_a, member_b, member_c):
        system.membership.admitClearingMember(m, expiry, sender=operator)
    system.membership.admitParticipant(client_a, member_a, expiry, sender=operator)
    for m in (member_a, member_b, member_c, client_a):
        system.cash.issue(m, cash(1_000_000), sender=bank)
        system.securities.issue(security_id, m, 10_000, sender=issuer)
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
