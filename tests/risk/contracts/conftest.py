"""Fixtures for the on-chain risk layer (module-scoped, so nothing leaks into the session).

``risk_unit``: Margin and DefaultFund on the root ``system`` (venue -> bare recorder), with
positions read from a ``MockObligationSource`` and the CCP's side played by an account (``ccp``,
accounts[8], a registered system account that charges shortfalls directly). Five securities
listed and trading on the venue, calibrated 16-scenario shock vectors and settlement prices
published, the venue gated by Margin.

Accounts (tests/conftest.py): operator 0, bank 1, issuer 2, member_a 3, member_b 4, client_a 5
(of member_a), member_c 6, outsider 9; here the CCP stand-in 8.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from arch.data import nasdaq, sp500

from smartccp.risk.chain import Risk, deploy_risk, publish_prices, publish_scenarios
from smartccp.risk.scenarios import calibrate_joint_shocks, calibrate_shocks
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Side, TradingPhase
from smartccp.units import cash

N_SCENARIOS = 16
PRICES = [cash("100.00"), cash("50.00"), cash("20.00"), cash("10.00"), cash("5.00")]


@functools.cache
def index_prices() -> np.ndarray:
    """S&P 500 and NASDAQ adjusted closes, shape (5031, 2), 1999-01-04 .. 2018-12-31."""
    a, b = sp500.load()["Adj Close"], nasdaq.load()["Adj Close"]
    return np.column_stack([a.to_numpy(dtype=float), b.to_numpy(dtype=float)])


@functools.cache
def calibrated_shocks() -> list[list[int]]:
    """Five 16-scenario shock vectors (bps), 99 % / 5 days, historical simulation: joint
    S&P 500 / NASDAQ windows for the first two, each index alone over other look-backs for the
    rest (stand-ins for five listed equities)."""
    p = index_prices()
    joint = calibrate_joint_shocks(p, n_scenarios=N_SCENARIOS).shocks_bps
    rows = [list(map(int, joint[0])), list(map(int, joint[1]))]
    rows.append(list(map(int, calibrate_shocks(p[:, 0], lookback_days=500, n_scenarios=N_SCENARIOS))))
    rows.append(list(map(int, calibrate_shocks(p[:, 1], lookback_days=1000, n_scenarios=N_SCENARIOS))))
    rows.append(list(map(int, calibrate_shocks(p[:2520, 0], n_scenarios=N_SCENARIOS))))
    return rows


@dataclass
class Unit:
    risk: Risk
    source: Any  # MockObligationSource
    ccp: Any  # account standing in for the CCP
    sids: list[int]
    shocks: dict[int, list[int]]
    prices: dict[int, int]
    client: VenueClient

    @property
    def margin(self) -> Any:
        return self.risk.margin

    @property
    def fund(self) -> Any:
        return self.risk.fund


@pytest.fixture(scope="module")
def risk_unit(project, system, members, member_c, operator, bank, issuer, security_id, accounts, chain):
    member_a, member_b, client_a = members
    ccp = accounts[8]
    system.membership.registerSystem(ccp, sender=operator)
    source = operator.deploy(project.MockObligationSource)
    sids = [security_id]
    for i in range(4):
        system.securities.listSecurity(f"EQ{i}", f"US00000000{i + 2:02d}".encode(), 0, cash("0.01"), 1, 0,
                                       sender=issuer)
        sids.append(int(system.securities.securityCount()))
    risk = deploy_risk(system, operator, ccp=ccp, obligations=source, n_scenarios=N_SCENARIOS,
                       resync=[member_a, member_b, member_c, client_a])
    shocks = dict(zip(sids, calibrated_shocks(), strict=True))
    prices = dict(zip(sids, PRICES, strict=True))
    publish_scenarios(risk.margin, shocks, operator)
    publish_prices(risk.margin, prices, operator)
    venue = system.venue
    venue.setSessionEnd(chain.pending_timestamp + 86_400, sender=operator)
    for sid in sids:
        source.setLag(sid, 1, sender=operator)
        if venue.phaseOf(sid) != TradingPhase.CONTINUOUS:  # the trading suite may have listed it already
            venue.listSecurity(sid, 86_400, sender=operator)
            venue.setPhase(sid, TradingPhase.CONTINUOUS, sender=operator)
    for m in (member_a, member_b, member_c):
        system.cash.issue(m, cash(5_000_000), sender=bank)
        system.cash.approve(risk.margin, 2**256 - 1, sender=m)
        system.cash.approve(risk.fund, 2**256 - 1, sender=m)
        system.securities.setApprovalForAll(risk.margin, True, sender=m)
    system.cash.approve(risk.fund, 2**256 - 1, sender=bank)
    return Unit(risk, source, ccp, sids, shocks, prices, VenueClient(venue))


def make_order(owner: Any, sid: int, side: Side, quantity: int, price: int, **kw: Any) -> Order:
    return Order(owner=str(owner.address), securityId=sid, side=side, quantity=quantity, price=price, **kw)


@pytest.fixture(scope="session")
def order():
    """Factory: ``order(owner, sid, side, quantity, price, **fields)`` -> Order."""
    return make_order


@pytest.fixture(scope="session", autouse=True)
def risk_contracts_session(order):
    """This folder's session fixtures, set up together before its first test (see ``session_state``
    in tests/conftest.py: ape rebases session fixtures that appear late)."""
