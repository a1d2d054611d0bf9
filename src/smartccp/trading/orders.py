"""Signed orders: the EIP-712 typed data of an Order, building and signing it.

``ORDER_FIELDS`` is the Python twin of ``contracts/types/Order.sol`` and the type string in
``contracts/libraries/OrderHashing.sol``; ``tests/trading/test_orders.py`` checks that the type hash
and the order hash agree with the contract. Prices are cash base units (6 decimals) per one unit
of the security; quantities are whole units.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_utils import keccak

from smartccp.chain import eip712
from smartccp.types import ZERO_ADDRESS, OrderType, Route, Side, TimeInForce

#: (name, EIP-712 type) in the order of the Solidity struct.
ORDER_FIELDS: tuple[tuple[str, str], ...] = (
    ("owner", "address"),
    ("securityId", "uint256"),
    ("side", "uint8"),
    ("orderType", "uint8"),
    ("timeInForce", "uint8"),
    ("route", "uint8"),
    ("price", "uint64"),
    ("triggerPrice", "uint64"),
    ("quantity", "uint64"),
    ("displayQuantity", "uint64"),
    ("validFrom", "uint64"),
    ("expiry", "uint64"),
    ("cashWallet", "address"),
    ("securitiesWallet", "address"),
    ("nonce", "uint256"),
    ("counter", "uint16"),
)
ORDER_TYPE_STRING = eip712.type_string("Order", ORDER_FIELDS)
ORDER_TYPEHASH = keccak(text=ORDER_TYPE_STRING)


@dataclass(frozen=True)
class Order(eip712.TypedStruct):
    """An order as the owner signs it. Field names follow the Solidity struct."""

    FIELDS: ClassVar[eip712.Fields] = ORDER_FIELDS

    owner: str
    securityId: int
    side: Side
    quantity: int
    price: int
    orderType: OrderType = OrderType.LIMIT
    timeInForce: TimeInForce = TimeInForce.GTC
    route: Route = Route.CCP
    triggerPrice: int = 0
    displayQuantity: int = 0
    validFrom: int = 0
    expiry: int = 0
    cashWallet: str = ""
    securitiesWallet: str = ""
    nonce: int | None = None  # None: the client assigns the owner's next nonce
    counter: int = 0

    def __post_init__(self) -> None:
        # Zero means the owner's own account (the venue requires the owner's own in this
        # version) and is 24 bytes less calldata than the owner's address written twice.
        if not self.cashWallet:
            object.__setattr__(self, "cashWallet", ZERO_ADDRESS)
        if not self.securitiesWallet:
            object.__setattr__(self, "securitiesWallet", ZERO_ADDRESS)


class NonceSource:
    """Sequential nonces per owner, from a random base aligned to 256.

    The venue marks used nonces in a bitmap of 256 per storage word, so sequential nonces cost a
    word update (about 5k gas) where random ones would each open a new word (about 22k).
    """

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def next(self, owner: str) -> int:
        """The next unused nonce of ``owner`` in this source."""
        n = self._next.get(owner)
        if n is None:
            n = secrets.randbits(56) << 8
        self._next[owner] = n + 1
        return n


@dataclass(frozen=True)
class Domain:
    """The EIP-712 domain of one venue: its name, version "1", the chain id and its address."""

    name: str
    chain_id: int
    verifying_contract: str
    version: str = "1"

    def as_dict(self) -> dict[str, Any]:
        return eip712.domain(self.name, self.chain_id, self.verifying_contract, self.version)


def typed_data(order: Order, domain: Domain) -> dict[str, Any]:
    """The full EIP-712 payload (what ``eth_signTypedData_v4`` takes)."""
    return eip712.payload("Order", ORDER_FIELDS, domain.as_dict(), order.message())


def order_hash(order: Order, domain: Domain) -> bytes:
    """The EIP-712 digest the owner signs (equals the venue's ``hashOrder``)."""
    return eip712.digest(typed_data(order, domain))


def sign_order(order: Order, domain: Domain, signer: Any) -> bytes:
    """Sign with an ape account (or anything with ``private_key``, or a raw key as hex/bytes).

    Accounts whose keys the node holds are signed over RPC with ``eth_signTypedData_v4``.
    """
    return eip712.sign(typed_data(order, domain), signer)
