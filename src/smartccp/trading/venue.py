"""Client for one Trade venue: sign and submit orders, cancel, read the book.

Wraps an ape ``ContractInstance`` of TradeVenue. Checks that need no chain (lot, tick, zero
quantity) raise ``ValueError`` before anything is sent; everything else is the venue's job and
comes back as its named custom error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ape import chain

from smartccp.chain.eip712 import compact
from smartccp.trading.orders import Domain, NonceSource, Order, order_hash, sign_order
from smartccp.types import Side

MAX_MAKERS = 64
MAX_BATCH = 64  # OrderRelay.MAX_BATCH
#: Listed markets one ``syncHooks`` page rewrites (a market costs about 7-10k gas).
HOOK_SYNC_PAGE = 400


def sync_hooks(venue: Any, sender: Any, *, page: int = HOOK_SYNC_PAGE, **tx: Any) -> int:
    """Finish ``venue``'s hook sweep (``syncHooks`` in pages of ``page`` markets), so that a
    gate or quote sink set where none was is in effect in every listed market; returns how many
    pages it sent (0 when the setter's own first page of 100 markets finished it). A waiting
    sink that meets a book holding orders raises the venue's ``BooksNotEmpty``."""
    pages = 0
    while venue.hookSync().sweeping:
        venue.syncHooks(page, sender=sender, **tx)
        pages += 1
    return pages


@dataclass(frozen=True)
class OrderId:
    """A resting or parked order's id taken apart (ITradeVenue: securityId << 89 | epoch << 65 |
    side << 64 | key, key = tick << 33 | hidden << 32 | sequence; bit 255 marks a parked order).
    ``OrderRested`` does not repeat ``hidden``: it is here. ``epoch`` is how often the price level
    had emptied when the order rested (a level that empties starts again at sequence 0)."""

    security_id: int
    side: int
    tick: int
    hidden: bool
    sequence: int
    epoch: int = 0
    parked: bool = False

    @classmethod
    def parse(cls, order_id: int) -> "OrderId":
        key = order_id & (2**64 - 1)
        parked = bool(order_id >> 255)
        return cls(security_id=(order_id & (2**255 - 1)) >> 89, side=(order_id >> 64) & 1, tick=key >> 33,
                   hidden=bool((key >> 32) & 1), sequence=key & (2**32 - 1),
                   epoch=(order_id >> 65) & (2**24 - 1), parked=parked)


@dataclass(frozen=True)
class Book:
    """Displayed depth, best first: lists of (price, size) in cash base units and units."""

    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


class VenueClient:
    """Signs and submits orders to one venue and reads its book."""

    def __init__(self, venue: Any):
        self.venue = venue
        name = venue.eip712Domain()[1]
        self.domain = Domain(name=name, chain_id=chain.chain_id, verifying_contract=str(venue.address))
        self.nonces = NonceSource()

    def with_nonce(self, order: Order) -> Order:
        """``order`` itself if it has a nonce, else a copy with the owner's next one."""
        return order if order.nonce is not None else order.but(nonce=self.nonces.next(order.owner))

    def hash(self, order: Order) -> bytes:
        """The EIP-712 digest of ``order`` under this venue's domain."""
        return order_hash(order, self.domain)

    def sign(self, order: Order, signer: Any) -> bytes:
        """The owner's signature of ``order`` for this venue (65 bytes: r, s, v)."""
        return sign_order(order, self.domain, signer)

    def signature(self, order: Order, signer: Any) -> bytes:
        """The owner's signature in its EIP-2098 64-byte form (r, vs), which ``place`` submits."""
        return compact(self.sign(order, signer))

    def place_args(self, order: Order, signer: Any, max_makers: int = MAX_MAKERS) -> tuple:
        """``placeOrder``'s arguments for ``order`` (which has its nonce) signed by ``signer``:
        (order, compact signature, max_makers)."""
        return order.as_tuple(), self.signature(order, signer), max_makers

    def place(self, order: Order, signer: Any, *, sender: Any = None, max_makers: int = MAX_MAKERS, **tx: Any) -> Any:
        """Sign ``order`` with ``signer`` and submit it (from ``sender``, default the signer).

        Returns the receipt; the venue's return values are in ``receipt.return_value`` and its
        events (OrderRested, Traded, OrderCancelled; OrderWithdrawn for a cancel) in its logs.
        """
        order = self._checked(order, max_makers)
        return self.venue.placeOrder(*self.place_args(order, signer, max_makers), sender=sender or signer, **tx)

    def cross(self, seller: Any, buyer: Any, security_id: int, quantity: int, price: int, **fields: Any) -> tuple[Any, Any]:
        """A trade between two owners: ``seller`` rests a sell limit order, ``buyer`` takes it with
        a buy at the same price (CCP route unless ``fields`` say otherwise); returns both receipts."""
        return tuple(self.place(Order(owner=str(who.address), securityId=security_id, side=side, quantity=quantity,
                                      price=price, **fields), who)
                     for who, side in ((seller, Side.SELL), (buyer, Side.BUY)))

    def place_own(self, order: Order, owner: Any, *, max_makers: int = MAX_MAKERS, **tx: Any) -> Any:
        """Submit ``order`` from its owner's own account without a signature (``placeTrusted``:
        the transaction authenticates it; the nonce is used all the same). Same receipt as
        ``place``, and the same order hash; no ecrecover, and 128 bytes less calldata."""
        order = self._checked(order, max_makers)
        return self.venue.placeTrusted(order.as_tuple(), max_makers, sender=owner, **tx)

    def place_batch(self, relay: Any, signed: list[tuple[Order, Any]], *, sender: Any,
                    max_makers: int = MAX_MAKERS, atomic: bool = False, **tx: Any) -> Any:
        """Sign each (order, signer) of ``signed`` and submit them all in one transaction through
        ``relay`` (an OrderRelay), in order, from ``sender``: the transaction's base cost and the
        first touch of shared state are paid once per batch. A refused order is skipped with an
        ``OrderSkipped`` event (the rest go on), or with ``atomic`` the whole batch reverts.
        Returns the receipt: the venue's events of every placed order are in its logs, and
        ``receipt.return_value`` holds one (placed, orderId, filled) per order."""
        if not 0 < len(signed) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} orders")
        checked = [(self._checked(order, max_makers), signer) for order, signer in signed]
        args = [self.place_args(order, signer, max_makers) for order, signer in checked]
        return relay.placeOrders(self.venue, [a[0] for a in args], [a[1] for a in args], max_makers, atomic,
                                 sender=sender, **tx)

    def _checked(self, order: Order, max_makers: int) -> Order:
        """``order`` with its nonce, after the client-side checks of a submission."""
        if order.quantity <= 0:
            raise ValueError("quantity must be positive")
        if max_makers > MAX_MAKERS:
            raise ValueError(f"max_makers above the venue bound {MAX_MAKERS}")
        return self.with_nonce(order)

    def cancel(self, order_id: int, owner: Any) -> Any:
        """Cancel a resting order of ``owner``."""
        return self.venue.cancelOrder(order_id, sender=owner)

    def book(self, security_id: int, levels: int = 10) -> Book:
        """Displayed depth for the top ``levels`` price levels per side."""
        bp, bs, ap, as_ = self.venue.depth(security_id, levels)
        return Book(bids=list(zip(bp, bs)), asks=list(zip(ap, as_)))

    def resting_id(self, receipt: Any) -> int:
        """The id under which the order of ``receipt`` rests (0 if none)."""
        logs = receipt.decode_logs(self.venue.OrderRested)
        return logs[0].orderId if logs else 0

    def trades(self, receipt: Any) -> list[Any]:
        """The Traded events of a receipt, in order."""
        return list(receipt.decode_logs(self.venue.Traded))


@dataclass(frozen=True)
class SettleInstruction:
    """A venue's Settle instruction (contracts/types/Settle.sol), field for field."""

    tradeId: int
    bidOrderHash: bytes
    offerOrderHash: bytes
    buyer: str
    seller: str
    securityId: int
    quantity: int
    price: int
    cashAmount: int
    deadline: int
    route: int

    @classmethod
    def from_abi(cls, values: Any) -> "SettleInstruction":
        """From a decoded struct (a list or tuple in field order, or an object with the fields)."""
        if isinstance(values, (list, tuple)):
            return cls(*values)
        return cls(*(getattr(values, f) for f in cls.__dataclass_fields__))
