"""Venue fixtures: the equity listed and trading continuously, and an order factory."""

from __future__ import annotations

import pytest

from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import OrderType, Side, TimeInForce, TradingPhase
from smartccp.units import cash

TICK = cash("0.01")
LOT = 10


@pytest.fixture(scope="session")
def venue(system):
    return system.venue


@pytest.fixture(scope="session")
def client(venue):
    return VenueClient(venue)


@pytest.fixture(scope="session")
def market(venue, operator, security_id, members, chain):
    """The equity listed on the venue (T+1), in continuous trading, session ending in a day."""
    venue.listSecurity(security_id, 86_400, sender=operator)
    venue.setPhase(security_id, TradingPhase.CONTINUOUS, sender=operator)
    venue.setSessionEnd(chain.pending_timestamp + 86_400, sender=operator)
    return security_id


@pytest.fixture(scope="session")
def make_order(market):
    """Build an order of the listed equity: ``make_order(owner, side, qty, price, **fields)``."""

    def make(owner, side: Side, quantity: int, price: int, **fields) -> Order:
        return Order(owner=str(owner.address), securityId=market, side=side, quantity=quantity, price=price, **fields)

    return make


@pytest.fixture(scope="session")
def place(client, make_order):
    """Sign and submit in one go; returns the receipt."""

    def place_(owner, side: Side, quantity: int, price: int, max_makers: int = 64, **fields):
        return client.place(make_order(owner, side, quantity, price, **fields), owner, max_makers=max_makers)

    return place_


@pytest.fixture(scope="session", autouse=True)
def trading_session(venue, client, market, make_order, place):
    """This folder's session fixtures, set up together before its first test (see ``session_state``
    in tests/conftest.py: ape rebases session fixtures that appear late)."""


__all__ = ["TICK", "LOT", "Order", "OrderType", "Side", "TimeInForce"]
