"""BBO fixtures: a system with the CCP and three venues listing the same equity in continuous
trading, four funded traders who approved the CCP, and the BBO deployed and wired."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from smartccp.chain.system import System, deploy_system, issue_equity, list_security, onboard
from smartccp.trading.bbo import BboClient, RoutedOrder, RouteTimeInForce, deploy_bbo
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash

TICK = cash("0.01")
LOT = 10


@dataclass
class Market:
    """Three venues, one security, the BBO and its client, and helpers to act on them."""

    system: System
    sid: int
    bbo: Any
    client: BboClient
    venues: list[Any]
    vclients: list[VenueClient]

    def rest(self, venue: int, owner: Any, side: Side, qty: int, price: int, **fields: Any) -> int:
        """Place a good-till-cancel limit on venue ``venue`` (index); returns its resting id."""
        o = Order(owner=str(owner.address), securityId=self.sid, side=side, quantity=qty, price=price, **fields)
        return self.vclients[venue].resting_id(self.vclients[venue].place(o, owner))

    def place(self, venue: int, owner: Any, side: Side, qty: int, price: int, **fields: Any) -> Any:
        """Sign and place any order on venue ``venue``; returns the receipt."""
        o = Order(owner=str(owner.address), securityId=self.sid, side=side, quantity=qty, price=price, **fields)
        return self.vclients[venue].place(o, owner)

    def order(self, owner: Any, side: Side, qty: int, limit: int, **fields: Any) -> RoutedOrder:
        """A routed order of the listed security (nonce assigned by the client)."""
        return self.client.with_nonce(
            RoutedOrder(owner=str(owner.address), securityId=self.sid, side=side, quantity=qty, limitPrice=limit, **fields)
        )

    def tops(self) -> list[tuple[int, int, int, int]]:
        return [tuple(int(x) for x in v.topOfBook(self.sid)) for v in self.venues]


@pytest.fixture(scope="session")
def traders(member_a, member_b, member_c, client_a):
    return member_a, member_b, member_c, client_a


@pytest.fixture(scope="session")
def mkt(operator, bank, issuer, traders) -> Market:
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer, n_venues=3)
    sid = issue_equity(system, issuer, tick=TICK, lot=LOT)
    member_a, member_b, member_c, client_a = traders
    onboard(system, operator, (member_a, member_b, member_c), [(client_a, member_a)],
            bank=bank, issuer=issuer, cash=cash(1_000_000), units={sid: 100_000})
    list_security(system, operator, sid, lag_days=1)
    bbo = deploy_bbo(system, operator)
    return Market(system, sid, bbo, BboClient(bbo), list(system.venues), [VenueClient(v) for v in system.venues])


@pytest.fixture(scope="session", autouse=True)
def bbo_session(traders, mkt):
    """This folder's session fixtures, set up together before its first test (see ``session_state``
    in tests/conftest.py: ape rebases session fixtures that appear late)."""


__all__ = ["LOT", "TICK", "Market", "RouteTimeInForce", "Side"]
