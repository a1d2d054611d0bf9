"""What the CCP's and the regulator's keys see: every trade with both owners (issue #24).

:func:`identities` opens the identity record of every pseudonym admitted in a block range with
one recipient key, and reconciles each with the chain: the record must name the pseudonym it
was published for, and its owner, clearing member and salt must hash to the tag the register
stored (:class:`~smartccp.privacy.records.RecordMismatch` otherwise). :func:`reconstruct` then
joins the venues' public ``Traded`` events with them: for each trade, both trading addresses,
the owner and clearing member behind each, both order hashes, price and size. A key that is
neither the CCP's nor the regulator's opens nothing
(:class:`~smartccp.privacy.records.RecordNotForKey`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ape import chain

from smartccp.chain.system import System
from smartccp.privacy.records import (
    Identity,
    RecipientKey,
    RecordMismatch,
    RecordNotForKey,
    open_sealed,
)


@dataclass(frozen=True)
class Party:
    """One side of a trade: the address that traded, the owner behind it and its clearing member."""

    address: str
    owner: str
    clearing_member: str
    pseudonymous: bool


@dataclass(frozen=True)
class TradeRecord:
    """A trade as the CCP and the regulator know it."""

    venue: str
    trade_id: int
    security_id: int
    quantity: int
    price: int
    bid_order: bytes
    offer_order: bytes
    buyer: Party
    seller: Party


def identities(system: System, key: RecipientKey | Sequence[RecipientKey], start: int = 0,
               stop: int | None = None) -> dict[str, Identity]:
    """Every pseudonym admitted in blocks ``start`` .. ``stop`` (exclusive), opened with ``key``
    (or with whichever of several keys, the current one and those before a ``setRecordKeys``
    rotation, the record was sealed to)."""
    keys = {k.id: k for k in ([key] if isinstance(key, RecipientKey) else key)}
    stop = chain.blocks.head.number + 1 if stop is None else stop
    found: dict[str, Identity] = {}
    for log in system.membership.PseudonymAdmitted.range(start, stop):
        sealed = {bytes(log.ccpKeyId): log.forCcp, bytes(log.regulatorKeyId): log.forRegulator}
        match = next((kid for kid in sealed if kid in keys), None)
        if match is None:
            raise RecordNotForKey(f"the record of {log.pseudonym} was sealed to other keys than these")
        identity = open_sealed(bytes(sealed[match]), keys[match])
        if identity.pseudonym != str(log.pseudonym) or identity.tag != bytes(log.ownerTag):
            raise RecordMismatch(f"the record of {log.pseudonym} does not open its tag on chain")
        found[str(log.pseudonym)] = identity
    return found


def reconstruct(system: System, key: RecipientKey | Sequence[RecipientKey], start: int = 0, stop: int | None = None,
                known: dict[str, Identity] | None = None) -> list[TradeRecord]:
    """Every trade of blocks ``start`` .. ``stop`` with both owners, as ``key`` sees it (the
    pseudonyms' records are read from block 0, or taken from ``known``)."""
    stop = chain.blocks.head.number + 1 if stop is None else stop
    who = known if known is not None else identities(system, key, 0, stop)
    parties: dict[str, Party] = {}

    def party(address: str) -> Party:  # the register is asked once per address, not per trade
        if address not in parties:
            parties[address] = _party(system, who, address)
        return parties[address]

    trades = []
    for venue in system.venues:
        for log in venue.Traded.range(start, stop):
            trades.append(TradeRecord(str(venue.address), int(log.tradeId), int(log.securityId), int(log.quantity),
                                      int(log.price), bytes(log.bidOrderHash), bytes(log.offerOrderHash),
                                      party(str(log.buyer)), party(str(log.seller))))
    return trades


def _party(system: System, who: dict[str, Identity], address: str) -> Party:
    if address in who:
        i = who[address]
        return Party(address, i.owner, i.clearing_member, True)
    member: Any = system.membership.memberOf(address)
    return Party(address, address, str(member.clearingMember), False)
