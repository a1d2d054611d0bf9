"""Pluggable close-out markets for drills: where the CCP sells out and buys in (F7).

The CCP calls an ``ICloseOutMarket`` and charges what its close-out does not cover to an
``IDefaultHandler``. A drill picks both through an entry of :data:`CLOSE_OUT_MARKETS` named in
the scenario (``close_out.market``):

- ``mock``: ``MockCloseOutMarket`` (a dealer with inventory at a price the drill sets) and
  ``MockDefaultHandler`` (covers shortfalls from its own cash), both **test doubles** from
  ``contracts/test``;
- ``venue``: the real ``VenueCloseOut`` (contracts/clearing) selling out and buying in with
  IOC orders on the system's first venue, against the quotes of a close-out dealer (a clearing
  member admitted here) resting on the book; shortfalls go to the system's DefaultFund when the
  risk contracts are deployed (``system.extra["DefaultFund"]``), else to ``MockDefaultHandler``
  (test double). The bundled scenarios and the demo use it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ape import project

from smartccp.chain.accounts import seeded_account
from smartccp.chain.system import kyc_expiry
from smartccp.clearing.ccp import deploy_venue_close_out, wire_close_out
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import MAX_UINT, Side, TradingPhase
from smartccp.units import BPS

DEALER_MARGIN_SHARE = 2  # with the Margin gate on, the dealer posts 1/2 of its cash as margin


class CloseOutMarket:
    """What a drill needs from a close-out market. ``label`` is printed in every report."""

    label = "close-out market"
    test_double = False

    def __init__(self, spec: Any):
        self.spec = spec
        self.market: Any = None
        self.handler: Any = None

    def deploy(self, system: Any, operator: Any, *, bank: Any, issuer: Any, security_ids: list[int],
               admin: Any = None) -> None:
        """Deploy (or attach to) the market and the shortfall handler and wire them into the CCP.
        ``operator`` deploys and admits; ``admin`` (default: ``operator``; in a governed
        deployment a :class:`smartccp.chain.governance.TimelockAdmin`) registers and sets them."""
        raise NotImplementedError

    def set_prices(self, prices: dict[int, int], keeper: Any, *, moves_bps: dict[int, int] | None = None) -> dict[int, int]:
        """Tell the market the price level for the coming close-out; returns the price per
        security it will trade at (cash base units per unit). ``keeper`` (a venue operator)
        reopens a book the closing auction left closed."""
        raise NotImplementedError

    def holders(self) -> dict[str, Any]:
        """Accounts of the market that hold assets (for the double-entry check)."""
        return {}


CLOSE_OUT_MARKETS: dict[str, type[CloseOutMarket]] = {}


def close_out_market(name: str) -> Callable[[type[CloseOutMarket]], type[CloseOutMarket]]:
    """Register a :class:`CloseOutMarket` under ``name`` (``replace`` an existing one)."""

    def register(cls: type[CloseOutMarket]) -> type[CloseOutMarket]:
        CLOSE_OUT_MARKETS[name] = cls
        return cls

    return register


def make_close_out(spec: Any) -> CloseOutMarket:
    """The market a scenario's ``close_out`` section names."""
    try:
        return CLOSE_OUT_MARKETS[spec.market](spec)
    except KeyError:
        raise ValueError(f"unknown close-out market {spec.market!r} (known: {sorted(CLOSE_OUT_MARKETS)})") from None


@close_out_market("mock")
class MockCloseOut(CloseOutMarket):
    """TEST DOUBLE: ``MockCloseOutMarket`` + ``MockDefaultHandler``. The dealer trades at the
    settlement price moved ``slippage_bps`` against the failing side (one price per security,
    so: the settlement price minus slippage, or a scenario's stressed move)."""

    label = "MockCloseOutMarket + MockDefaultHandler (test doubles, contracts/test)"
    test_double = True

    def deploy(self, system: Any, operator: Any, *, bank: Any, issuer: Any, security_ids: list[int],
               admin: Any = None) -> None:
        self.market = operator.deploy(project.MockCloseOutMarket, system.cash, system.securities)
        self.handler = operator.deploy(project.MockDefaultHandler, system.cash)
        wire_close_out(system.ccp, system, operator if admin is None else admin, market=self.market,
                       handler=self.handler)
        for sid in security_ids:
            system.securities.issue(sid, self.market, self.spec.inventory, sender=issuer)
        system.cash.issue(self.market, self.spec.cash, sender=bank)
        system.cash.issue(self.handler, self.spec.handler_cash, sender=bank)

    def set_prices(self, prices: dict[int, int], keeper: Any, *, moves_bps: dict[int, int] | None = None) -> dict[int, int]:
        moves_bps = moves_bps or {}
        out = {}
        for sid, price in prices.items():
            move = moves_bps.get(sid, -self.spec.slippage_bps)
            p = max(1, price * (BPS + move) // BPS)
            if int(self.market.price(sid)) != p:
                self.market.setPrice(sid, p, sender=keeper)
            out[sid] = p
        return out

    def holders(self) -> dict[str, Any]:
        return {"close-out market (mock)": self.market, "default handler (mock)": self.handler}


@close_out_market("venue")
class VenueMarket(CloseOutMarket):
    """``VenueCloseOut`` on the system's first venue + ``MockDefaultHandler`` (TEST DOUBLE for the
    risk layer). A close-out dealer (clearing member, ``inventory`` units of each security and
    ``cash``, approving the CCP) quotes before each settlement: a bid at the close-out price
    (the settlement price moved ``slippage_bps`` against the failing side, as for ``mock``)
    rounded down to the tick, and an offer one tick above it, ``inventory`` units each (the bid
    as far as its cash pays). Its previous quotes are cancelled first. The quotes rest on the
    book like any order, so the next day's flow may trade with them too, and the venue's
    matching decides the close-out price, not the dealer. Settlement runs in the next session:
    a security the closing auction left CLOSED on the venue is reopened (continuous) before the
    dealer quotes. With the Margin gate on the venue, the dealer posts half its cash as margin.
    """

    MOCK_HANDLER = " + MockDefaultHandler (test double)"
    label = "VenueCloseOut on venue 0 (a close-out dealer's quotes)" + MOCK_HANDLER
    test_double = True

    def deploy(self, system: Any, operator: Any, *, bank: Any, issuer: Any, security_ids: list[int],
               admin: Any = None) -> None:
        self.system = system
        fund = system.extra.get("DefaultFund")
        if fund is not None:  # the risk contracts: shortfalls go to the DefaultFund's waterfall
            self.handler, self.test_double = fund, False
            self.label = self.label.replace(self.MOCK_HANDLER, "; shortfalls to the DefaultFund")
        else:
            self.handler = operator.deploy(project.MockDefaultHandler, system.cash)
        self.market = deploy_venue_close_out(system, operator, handler=self.handler, admin=admin)  # registers the handler
        if self.test_double:
            system.cash.issue(self.handler, self.spec.handler_cash, sender=bank)
        self.dealer = seeded_account(f"smartccp-closeout-dealer:{system.venue.address}", operator)
        system.membership.admitClearingMember(self.dealer, kyc_expiry(), sender=operator)
        for sid in security_ids:
            system.securities.issue(sid, self.dealer, self.spec.inventory, sender=issuer)
        system.cash.issue(self.dealer, self.spec.cash, sender=bank)
        system.cash.approve(system.ccp, MAX_UINT, sender=self.dealer)
        system.securities.setApprovalForAll(system.ccp, True, sender=self.dealer)
        margin = system.extra.get("Margin")
        if margin is not None:  # the venue's gate checks the dealer's quotes like any order
            system.cash.approve(margin, MAX_UINT, sender=self.dealer)
            margin.depositCash(self.spec.cash // DEALER_MARGIN_SHARE, sender=self.dealer)
        self.client = VenueClient(system.venue)
        self.quotes: list[int] = []

    def set_prices(self, prices: dict[int, int], keeper: Any, *, moves_bps: dict[int, int] | None = None) -> dict[int, int]:
        moves_bps = moves_bps or {}
        venue, dealer = self.system.venue, self.dealer
        for order_id in self.quotes:
            if str(venue.orderOf(order_id)[0]) == str(dealer.address):
                venue.cancelOrder(order_id, sender=dealer)
        self.quotes = []
        out = {}
        for sid, price in prices.items():
            if TradingPhase(int(venue.phaseOf(sid))) != TradingPhase.CONTINUOUS:  # settlement runs in the next session
                venue.setPhase(sid, int(TradingPhase.CONTINUOUS), sender=keeper)
            tick, lot, _ = self.system.securities.tradingTerms(sid)
            move = moves_bps.get(sid, -self.spec.slippage_bps)
            bid = max(int(tick), price * (BPS + move) // BPS // int(tick) * int(tick))
            held_cash = int(self.system.cash.balanceOf(dealer))
            bid_qty = min(self.spec.inventory, held_cash // bid) // int(lot) * int(lot)
            ask_qty = int(self.system.securities.balanceOf(dealer, sid)) // int(lot) * int(lot)
            for side, qty, p in ((Side.BUY, bid_qty, bid), (Side.SELL, min(ask_qty, self.spec.inventory), bid + int(tick))):
                if qty <= 0:
                    continue
                receipt = self.client.place(Order(owner=str(dealer.address), securityId=sid, side=side,
                                                  quantity=qty, price=p), dealer)
                self.quotes += [int(log.orderId) for log in receipt.decode_logs(venue.OrderRested)]
            out[sid] = bid
        return out

    def holders(self) -> dict[str, Any]:
        out = {"close-out market (VenueCloseOut)": self.market, "close-out dealer": self.dealer}
        if self.test_double:
            out["default handler (mock)"] = self.handler
        return out
