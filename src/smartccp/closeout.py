"""Pluggable close-out markets for drills: where the CCP sells out and buys in (F7).

The CCP calls an ``ICloseOutMarket`` and charges what its close-out does not cover to an
``IDefaultHandler``. A drill picks both through an entry of :data:`CLOSE_OUT_MARKETS` named in
the scenario (``close_out.market``). Today only ``mock`` exists: ``MockCloseOutMarket`` (a dealer
with inventory at a price the drill sets) and ``MockDefaultHandler`` (covers shortfalls from its
own cash), both **test doubles** from ``contracts/test``. The venue-backed market and the risk
contracts register here when they land::

    @close_out_market("venue")
    class VenueCloseOut(CloseOutMarket): ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ape import project

from smartccp.clearing import wire_close_out
from smartccp.units import BPS


class CloseOutMarket:
    """What a drill needs from a close-out market. ``label`` is printed in every report."""

    label = "close-out market"
    test_double = False

    def __init__(self, spec: Any):
        self.spec = spec
        self.market: Any = None
        self.handler: Any = None

    def deploy(self, system: Any, operator: Any, *, bank: Any, issuer: Any, security_ids: list[int]) -> None:
        """Deploy (or attach to) the market and the shortfall handler and wire them into the CCP."""
        raise NotImplementedError

    def set_prices(self, prices: dict[int, int], operator: Any, *, moves_bps: dict[int, int] | None = None) -> dict[int, int]:
        """Tell the market the price level for the coming close-out; returns the price per
        security it will trade at (cash base units per unit)."""
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

    def deploy(self, system: Any, operator: Any, *, bank: Any, issuer: Any, security_ids: list[int]) -> None:
        self.market = operator.deploy(project.MockCloseOutMarket, system.cash, system.securities)
        self.handler = operator.deploy(project.MockDefaultHandler, system.cash)
        wire_close_out(system.ccp, system, operator, market=self.market, handler=self.handler)
        for sid in security_ids:
            system.securities.issue(sid, self.market, self.spec.inventory, sender=issuer)
        system.cash.issue(self.market, self.spec.cash, sender=bank)
        system.cash.issue(self.handler, self.spec.handler_cash, sender=bank)

    def set_prices(self, prices: dict[int, int], operator: Any, *, moves_bps: dict[int, int] | None = None) -> dict[int, int]:
        moves_bps = moves_bps or {}
        out = {}
        for sid, price in prices.items():
            move = moves_bps.get(sid, -self.spec.slippage_bps)
            p = max(1, price * (BPS + move) // BPS)
            if int(self.market.price(sid)) != p:
                self.market.setPrice(sid, p, sender=operator)
            out[sid] = p
        return out

    def holders(self) -> dict[str, Any]:
        return {"close-out market (mock)": self.market, "default handler (mock)": self.handler}
