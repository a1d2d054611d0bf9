"""The shared vocabulary: enums and constants that mirror ``contracts/types/`` and the contracts'
own constants. Every other module imports these from here; nothing defines them twice.

Sign conventions (as on chain): ``quantity > 0`` buys or receives securities; cash ``> 0`` is
received. Units: cash in base units (6 decimals, see :mod:`smartccp.units`), quantities in whole
security units, times in unix seconds.
"""

from __future__ import annotations

from enum import IntEnum

ZERO_ADDRESS = "0x" + "00" * 20
MAX_UINT = 2**256 - 1
DAY = 86_400  # seconds; a one-day settlement cycle's length


class Side(IntEnum):
    """``Side`` of an order (contracts/types/Order.sol)."""

    BUY = 0
    SELL = 1


class OrderType(IntEnum):
    """``OrderType`` of an order."""

    LIMIT = 0
    MARKET = 1
    STOP = 2
    STOP_LIMIT = 3
    MARKET_IF_TOUCHED = 4
    MARKET_TO_LIMIT = 5
    HIDDEN = 6
    ICEBERG = 7


class TimeInForce(IntEnum):
    """``TimeInForce`` of an order."""

    GTC = 0
    IOC = 1
    FOK = 2
    DAY = 3
    GTD = 4


class Route(IntEnum):
    """How a trade settles: through the CCP (novation and netting) or gross DVP at once."""

    CCP = 0
    DIRECT = 1


class CancelReason(IntEnum):
    """``CancelReason`` of an ``OrderCancelled`` event (contracts/types/Order.sol)."""

    OWNER = 0  # withdrawn by its owner, or still live
    UNFILLED = 1  # the unfilled rest of an immediate order
    EXPIRED = 2
    COUNTER_BUMPED = 3  # its owner bumped its counter (cancelAll)
    OWNER_INACTIVE = 4  # its owner (or the owner's KYC) is no longer active
    SELF_TRADE = 5
    NOT_SETTLED = 6  # its owner could not settle a fill: gross DVP, naked short or pre-funding failed


class TradingPhase(IntEnum):
    """A security's trading phase on one venue (``Phase``, contracts/types/Order.sol)."""

    CLOSED = 0
    PRE_OPEN = 1
    CONTINUOUS = 2
    PRE_CLOSE = 3


class CyclePhase(IntEnum):
    """A settlement cycle's phase in the CCP (``CyclePhase`` on chain)."""

    UNKNOWN = 0
    OPEN = 1
    PAYING_IN = 2  # units delivered, each account's cash summed into its cash leg
    PAYING_IN_CASH = 3  # one net cash debit per account (DVP model 3)
    CLOSING_OUT = 4
    PAYING_OUT = 5  # units, and one net cash credit per account
    SETTLED = 6


class MemberKind(IntEnum):
    """``MemberKind`` of the register; bit ``k`` of a CCP ``prefund_classes`` mask selects kind ``k``."""

    NONE = 0
    CLEARING_MEMBER = 1
    PARTICIPANT = 2
    INSTITUTION = 3
    SYSTEM = 4


class MemberStatus(IntEnum):
    """``MemberStatus`` of the register: an entry's life cycle."""

    NONE = 0
    ACTIVE = 1
    SUSPENDED = 2
    EXPELLED = 3


class Segregation(IntEnum):
    """``Segregation`` of the register: which margin account a participant's wallet trades for,
    chosen when it is admitted. A client (EMIR Art. 39): ``INDIVIDUAL``, its own account (its
    collateral answers only for its own positions); ``OMNIBUS``, its clearing member's omnibus
    client account, shared with the member's other omnibus clients, never with the house.
    ``HOUSE``: a desk, one more wallet of the clearing member trading for its house account."""

    NONE = 0
    INDIVIDUAL = 1
    OMNIBUS = 2
    HOUSE = 3


def omnibus_account(member: str) -> str:
    """``member``'s omnibus client account, as ``OmnibusAccount.omnibusOf`` derives it on chain
    (Margin's account for its omnibus clients, the CCP's one cash leg for them)."""
    from eth_utils import keccak, to_bytes, to_checksum_address

    digest = keccak(b"SmartCCP omnibus account" + to_bytes(hexstr=str(member)))
    return to_checksum_address(digest[-20:])
