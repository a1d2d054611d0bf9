"""The BBO contract from Python: deployment and wiring, routed orders (EIP-712), the consolidated
quote and depth, and a text view of the consolidated book.

``ROUTED_ORDER_FIELDS`` is the Python twin of ``contracts/types/RoutedOrder.sol``;
``tests/bbo/test_routing.py`` checks that the type hash and the order hash agree with the
contract. Prices are cash base units (6 decimals) per one unit of the security; quantities are
whole units. :func:`consolidate` is the reference for what the contract's quote must be.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar

from ape import chain, project
from eth_utils import keccak

from smartccp.chain import eip712
from smartccp.chain.report import render_table
from smartccp.chain.roles import role
from smartccp.chain.system import System
from smartccp.trading.orders import NonceSource
from smartccp.trading.venue import sync_hooks
from smartccp.types import ZERO_ADDRESS, Side, TradingPhase
from smartccp.units import fmt_cash

ROUTER_ROLE = role("ROUTER_ROLE")
BBO_DOMAIN_NAME = "SmartCCP BBO"
MAX_CHILDREN = 16
MAX_VENUES = 8


class RouteTimeInForce(IntEnum):
    """What happens to the part no venue fills at once: cancelled, or rested on the best venue."""

    IOC = 0
    REST = 1


#: (name, EIP-712 type) in the order of the Solidity struct.
ROUTED_ORDER_FIELDS: tuple[tuple[str, str], ...] = (
    ("owner", "address"),
    ("securityId", "uint256"),
    ("side", "uint8"),
    ("quantity", "uint64"),
    ("limitPrice", "uint64"),
    ("timeInForce", "uint8"),
    ("expiry", "uint64"),
    ("nonce", "uint256"),
)
ROUTED_ORDER_TYPE_STRING = eip712.type_string("RoutedOrder", ROUTED_ORDER_FIELDS)
ROUTED_ORDER_TYPEHASH = keccak(text=ROUTED_ORDER_TYPE_STRING)


@dataclass(frozen=True)
class RoutedOrder(eip712.TypedStruct):
    """An order as its owner signs it to the BBO. Field names follow the Solidity struct."""

    FIELDS: ClassVar[eip712.Fields] = ROUTED_ORDER_FIELDS

    owner: str
    securityId: int
    side: Side
    quantity: int
    limitPrice: int
    timeInForce: RouteTimeInForce = RouteTimeInForce.IOC
    expiry: int = 0
    nonce: int | None = None  # None: BboClient assigns the owner's next nonce


def typed_data(order: RoutedOrder, bbo_address: str, chain_id: int) -> dict[str, Any]:
    """The full EIP-712 payload of a routed order for the BBO at ``bbo_address``."""
    return eip712.payload(
        "RoutedOrder", ROUTED_ORDER_FIELDS, eip712.domain(BBO_DOMAIN_NAME, chain_id, bbo_address), order.message()
    )


def routed_order_hash(order: RoutedOrder, bbo_address: str, chain_id: int) -> bytes:
    """The EIP-712 digest the owner signs (equals ``BBO.hashRoutedOrder``)."""
    return eip712.digest(typed_data(order, bbo_address, chain_id))


def sign_routed_order(order: RoutedOrder, bbo_address: str, chain_id: int, signer: Any) -> bytes:
    """Sign with an ape account (anything with ``private_key``), a raw key, or over RPC."""
    return eip712.sign(typed_data(order, bbo_address, chain_id), signer)


def child_nonce(order_hash: bytes, index: int) -> int:
    """Nonce of child ``index`` of a routed order (``BBO.childNonce``)."""
    return int.from_bytes(keccak(order_hash.rjust(32, b"\0") + index.to_bytes(32, "big")), "big")


# ─── Deployment ──────────────────────────────────────────────────────────────────────────────


def deploy_bbo(system: System, operator: Any) -> Any:
    """Deploy the BBO, register every ``system.venues`` venue with it (slot = venue index), grant
    it each venue's ROUTER_ROLE and make it each venue's quote sink; record it as
    ``system.extra["BBO"]``. ``operator`` must be admin of the venues."""
    tx = {"sender": operator}
    bbo = project.BBO.deploy(system.securities, operator, **tx)
    for venue in system.venues:
        add_venue(bbo, venue, operator)
    system.extra["BBO"] = bbo
    return bbo


def add_venue(bbo: Any, venue: Any, operator: Any) -> None:
    """Register ``venue`` and wire it both ways (router role, quote sink)."""
    tx = {"sender": operator}
    bbo.addVenue(venue, **tx)
    venue.grantRole(ROUTER_ROLE, bbo, **tx)
    venue.setQuoteSink(bbo, **tx)
    sync_hooks(venue, operator)  # a sink set where none was is in effect once every market is swept


def remove_venue(bbo: Any, venue: Any, operator: Any, *, unwire: bool = True) -> None:
    """Remove ``venue`` from the BBO and, if ``unwire``, take back its router role and unset its
    quote sink (either way the BBO no longer counts a removed venue's pushes)."""
    tx = {"sender": operator}
    bbo.removeVenue(venue, **tx)
    if unwire:
        venue.setQuoteSink(ZERO_ADDRESS, **tx)
        venue.revokeRole(ROUTER_ROLE, bbo, **tx)


# ─── Quotes ──────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Quote:
    """A consolidated best bid and offer: prices in cash base units (0 = side empty), sizes in
    units, the venues (addresses) holding each, and ``updated_at`` (unix seconds): the last time
    a registered venue's top changed or a venue was added or removed (so at least every change of
    the consolidated quote; also a venue's change behind the best)."""

    bid_price: int
    bid_size: int
    bid_venues: tuple[str, ...]
    ask_price: int
    ask_size: int
    ask_venues: tuple[str, ...]
    updated_at: int = 0

    def core(self) -> tuple:
        """Everything but the time (what a recomputation from the venues can check)."""
        return (self.bid_price, self.bid_size, self.bid_venues, self.ask_price, self.ask_size, self.ask_venues)


def unpack_top(word: int) -> tuple[int, int, int, int, int]:
    """(bidPrice, bidSize, askPrice, askSize, changedAt) of a packed top, as in the BBO's
    ``VenueQuoteUpdated`` event (QuoteLib layout: 64 | 48 | 64 | 48 | 32 bits, low first)."""
    word = int(word)
    return (word & (2**64 - 1), (word >> 64) & (2**48 - 1), (word >> 112) & (2**64 - 1),
            (word >> 176) & (2**48 - 1), word >> 224)


def consolidate(tops: list[tuple[str, tuple[int, int, int, int]]]) -> Quote:
    """Reference consolidation: ``tops`` is ``[(venue, (bidPrice, bidSize, askPrice, askSize))]``
    in slot order; highest bid and lowest offer, sizes summed, venues in slot order."""
    bids = [(v, t[0], t[1]) for v, t in tops if t[0]]
    asks = [(v, t[2], t[3]) for v, t in tops if t[2]]
    bp = max((p for _, p, _ in bids), default=0)
    ap = min((p for _, p, _ in asks), default=0)
    return Quote(
        bid_price=bp,
        bid_size=sum(s for _, p, s in bids if p == bp),
        bid_venues=tuple(v for v, p, _ in bids if p == bp),
        ask_price=ap,
        ask_size=sum(s for _, p, s in asks if p == ap),
        ask_venues=tuple(v for v, p, _ in asks if p == ap),
    )


class BboClient:
    """Reads the BBO's consolidated quote and depth, and signs and routes orders through it."""

    def __init__(self, bbo: Any):
        self.bbo = bbo
        self.address = str(bbo.address)
        self.chain_id = chain.chain_id
        self.nonces = NonceSource()

    # Orders
    def with_nonce(self, order: RoutedOrder) -> RoutedOrder:
        return order if order.nonce is not None else order.but(nonce=self.nonces.next(order.owner))

    def hash(self, order: RoutedOrder) -> bytes:
        return routed_order_hash(order, self.address, self.chain_id)

    def sign(self, order: RoutedOrder, signer: Any) -> bytes:
        return sign_routed_order(order, self.address, self.chain_id, signer)

    def route(self, order: RoutedOrder, signer: Any, *, max_children: int = 8, sender: Any = None, **tx: Any) -> Any:
        """Sign ``order`` with ``signer`` and route it (sent by ``sender``, default the signer).
        Returns the receipt; ``fills(receipt)`` lists the children."""
        if order.quantity <= 0:
            raise ValueError("quantity must be positive")
        if not 1 <= max_children <= MAX_CHILDREN:
            raise ValueError(f"max_children must be 1..{MAX_CHILDREN}")
        order = self.with_nonce(order)
        return self.bbo.route(order.as_tuple(), self.sign(order, signer), max_children, sender=sender or signer, **tx)

    def fills(self, receipt: Any) -> list[tuple[str, int, int]]:
        """(venue, limit price, filled) per child, in sweep order."""
        return [(str(e.venue), int(e.price), int(e.filled)) for e in receipt.decode_logs(self.bbo.ChildRouted)]

    def outcome(self, receipt: Any) -> Any:
        """The OrderRouted event of a route receipt (filled, restVenue, restingOrderId)."""
        return receipt.decode_logs(self.bbo.OrderRouted)[0]

    # Quotes
    def quote(self, security_id: int) -> Quote:
        q = self.bbo.quoteOf(security_id)
        return Quote(
            bid_price=int(q.bidPrice),
            bid_size=int(q.bidSize),
            bid_venues=tuple(str(a) for a in q.bidVenues),
            ask_price=int(q.askPrice),
            ask_size=int(q.askSize),
            ask_venues=tuple(str(a) for a in q.askVenues),
            updated_at=int(q.updatedAt),
        )

    def quote_from_venues(self, security_id: int) -> Quote:
        """The consolidated quote recomputed from the registered venues' live views, by the
        BBO's rule (#23): a venue's ``topOfBook`` counts only while it trades the security
        continuously (``phaseOf``) and the security is not halted on DLT-CSD."""
        halted = bool(project.SecurityToken.at(self.bbo.securities()).tradingTerms(security_id)[2])
        tops = []
        for address in self.bbo.venues():
            venue = project.TradeVenue.at(address)
            live = not halted and venue.phaseOf(security_id) == TradingPhase.CONTINUOUS
            top = tuple(int(x) for x in venue.topOfBook(security_id)) if live else (0, 0, 0, 0)
            tops.append((str(address), top))
        return consolidate(tops)

    def depth(self, security_id: int, levels: int = 5) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Consolidated depth: (bids, asks), each a list of (price, size), best first."""
        bp, bs, ap, as_ = self.bbo.consolidatedDepth(security_id, levels)
        return list(zip(map(int, bp), map(int, bs))), list(zip(map(int, ap), map(int, as_)))

    def format_book(self, security_id: int, levels: int = 5) -> str:
        """The consolidated quote and depth as a text table, one row per level."""
        q = self.quote(security_id)
        names = {str(a): f"V{i}" for i, a in enumerate(self.bbo.venues())}
        bids, asks = self.depth(security_id, levels)
        rows = []
        for i in range(max(len(bids), len(asks), 1)):
            b = bids[i] if i < len(bids) else None
            a = asks[i] if i < len(asks) else None
            rows.append([
                str(i + 1),
                f"{b[1]:,}" if b else "",
                fmt_cash(b[0]) if b else "",
                fmt_cash(a[0]) if a else "",
                f"{a[1]:,}" if a else "",
            ])
        title = (
            f"security {security_id}  BBO  bid {fmt_cash(q.bid_price)} x {q.bid_size:,} "
            f"[{','.join(names.get(v, v) for v in q.bid_venues)}]  ask {fmt_cash(q.ask_price)} x {q.ask_size:,} "
            f"[{','.join(names.get(v, v) for v in q.ask_venues)}]  updated {q.updated_at}"
        )
        return title + "\n" + render_table(["level", "bid size", "bid", "ask", "ask size"], rows)
