"""Fixtures for CCP settlement (module-scoped so that nothing here leaks into the rest of the
suite's session state): the CCP wired into the system, a venue account, a third clearing
member, a second security, a close-out market and a default handler (mocks), and a `trade`
factory that hands one instruction to `settle` as a venue would.

Accounts (tests/conftest.py): operator 0, bank 1, issuer 2, member_a 3, member_b 4, client_a 5
(client of member_a), member_c 6, outsider 9. Here: venue 7, keeper 8 (anyone who settles).
"""

from __future__ import annotations

import itertools

import ape
import pytest

from smartccp.clearing.ccp import (
    Rules,
    deploy_ccp,
    register_venue,
    set_rules,
    settle_instruction,
    settlement_deadline,
    wire_close_out,
)
from smartccp.types import Route
from smartccp.units import cash

UNITS = 10_000  # units of each security every party starts with
CASH = cash(1_000_000)  # cash every party starts with


@pytest.fixture(scope="session")
def venue(accounts):
    """An account holding VENUE_ROLE, standing in for a Trade contract."""
    return accounts[7]


@pytest.fixture(scope="session")
def keeper(accounts):
    """Anyone: settles cycles, holds no role."""
    return accounts[8]


@pytest.fixture(scope="module")
def ccp(system, membership, cash_token, securities, operator, venue):
    """The CCP, with the venue registered. Requests the session fixtures first so ape's
    isolation never has to rebase them under a module snapshot."""
    ccp = deploy_ccp(system, operator)
    register_venue(ccp, venue, operator)
    return ccp


@pytest.fixture(scope="module")
def bond_id(system, issuer):
    """A second security (a bond, tick 0.001, lot 1)."""
    system.securities.listSecurity("GOV30", b"XS0000000030", 1, cash("0.001"), 1, 2_000_000_000, sender=issuer)
    return int(system.securities.securityCount())


@pytest.fixture(scope="module")
def parties(system, members, member_c, operator, bank, issuer, security_id, bond_id, ccp):
    """member_a, member_b, client_a (under member_a), member_c: each with CASH cash and UNITS
    of both securities, and each approving the CCP on both ledgers. Both securities cleared T+1."""
    everyone = (*members, member_c)  # the root fixture admitted and funded all four
    for p in everyone:
        system.securities.issue(bond_id, p, UNITS, sender=issuer)
        system.cash.approve(ccp, 2**256 - 1, sender=p)
        system.securities.setApprovalForAll(ccp, True, sender=p)
    for sid in (security_id, bond_id):
        set_rules(ccp, sid, operator, Rules(settlement_lag=1))
    return everyone


@pytest.fixture(scope="module")
def close_out(system, operator, bank, issuer, ccp, security_id, bond_id, parties):
    """A market holding 5,000 units of each security and 1,000,000 cash (price 100.00 for the
    equity, 1.00 for the bond), and a handler holding 1,000,000 cash, wired into the CCP."""
    market = operator.deploy(ape.project.MockCloseOutMarket, system.cash, system.securities)
    handler = operator.deploy(ape.project.MockDefaultHandler, system.cash)
    wire_close_out(ccp, system, operator, market=market, handler=handler)
    for sid in (security_id, bond_id):
        system.securities.issue(sid, market, 5_000, sender=issuer)
    system.cash.issue(market, CASH, sender=bank)
    system.cash.issue(handler, CASH, sender=bank)
    market.setPrice(security_id, cash(100), sender=operator)
    market.setPrice(bond_id, cash(1), sender=operator)
    return market, handler


@pytest.fixture
def trade(ccp, venue, security_id):
    """Factory: novate (or settle directly) one trade as the venue; returns the receipt.
    The deadline defaults to the security's settlement date (today + lag)."""

    trade_ids = itertools.count(1)  # a venue numbers its trades uniquely; the CCP takes them as given

    def _trade(buyer, seller, quantity, price, *, sid=None, route=Route.CCP, deadline=None, trade_id=None,
               cash_amount=None, sender=None):
        sid = security_id if sid is None else sid
        if deadline is None:
            deadline = settlement_deadline(ccp, sid)[1]
        if trade_id is None:
            trade_id = next(trade_ids)
        instruction = settle_instruction(trade_id, buyer, seller, sid, quantity, price, deadline, route,
                                         cash_amount=cash_amount)
        return ccp.settle(instruction, sender=sender or venue)

    return _trade


@pytest.fixture
def cycle(ccp, security_id):
    """The cycle a trade in the equity made now settles in."""
    return settlement_deadline(ccp, security_id)[0]


@pytest.fixture
def worked_example(trade, parties, security_id, bond_id):
    """Seven trades among members A, B, C and client X (of A) in two securities; netted by hand
    in test_netting.BY_HAND."""

    def _run():
        a, b, x, c = parties
        trade(a, b, 100, cash("100"))  # A buys 100 EQ from B
        trade(b, c, 60, cash("101"))  # B buys 60 EQ from C
        trade(c, a, 100, cash("99"))  # C buys 100 EQ from A
        trade(x, b, 50, cash("100.5"))  # X buys 50 EQ from B
        trade(a, c, 1_000, cash("0.98"), sid=bond_id)  # A buys 1,000 BOND from C
        trade(c, b, 400, cash("0.99"), sid=bond_id)  # C buys 400 BOND from B
        trade(b, a, 1_000, cash("0.985"), sid=bond_id)  # B buys 1,000 BOND from A

    return _run


@pytest.fixture
def balances(system, security_id, bond_id):
    """Factory: {account: (cash, equity units, bond units)} for the given accounts."""

    def _balances(*accounts):
        return {
            str(x): (int(system.cash.balanceOf(x)), int(system.securities.balanceOf(x, security_id)),
                     int(system.securities.balanceOf(x, bond_id)))
            for x in accounts
        }

    return _balances


@pytest.fixture(scope="session", autouse=True)
def clearing_session(venue, keeper):
    """This folder's session fixtures, set up together before its first test (see ``session_state``
    in tests/conftest.py: ape rebases session fixtures that appear late)."""
