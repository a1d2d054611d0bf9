"""Compression of an account's offsetting obligations across open cycles (issue #21).

An account that receives units of a security in one open cycle and delivers units of it in a
later one need not take them in and hand them back: ``CCPSettlement.compress`` keeps the smaller
quantity with the CCP from the first cycle (its own account, ``address(ccp)``, in custody) and
delivers it in the second in the account's stead. Cash stays in each cycle (no liquidity moves
between cycles), each cycle stays flat and the account's net position is unchanged: two unit
transfers fewer per compression. Delivering first and receiving later is not compressible (the
CCP would lend units).

``plan`` finds every compression of a set of open cycles (pure: from their obligations);
``compress_open_cycles`` runs it on chain, by rule (an OPERATOR_ROLE keeper), or for one account
on its own request.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from ape.exceptions import ContractLogicError
from eth_utils import keccak

from smartccp.clearing.ccp import Obligation, obligations
from smartccp.types import CyclePhase

__all__ = ["Compression", "compress", "compress_open_cycles", "plan"]

_CLAIM_PENDING = "0x" + keccak(text="MarketClaimPending(uint256)")[:4].hex()


@dataclass(frozen=True)
class Compression:
    """``quantity`` units ``account`` receives in ``receive_cycle`` and delivers in the later
    ``deliver_cycle`` of ``security_id``, no longer moving."""

    account: str
    security_id: int
    receive_cycle: int
    deliver_cycle: int
    quantity: int


def plan(by_cycle: Mapping[int, Iterable[Obligation]], *, account: str | None = None,
         ccp_account: str | None = None) -> list[Compression]:
    """Every compression of the open cycles ``by_cycle`` (cycle id -> its obligations): per
    account and security, each delivery is set against the receipts of earlier cycles, latest
    first (the units held the shortest time), until one side runs out. Only ``account``'s if
    given; never the CCP's own account ``ccp_account``."""
    receipts: dict[tuple[str, int], list[list[int]]] = defaultdict(list)  # [cycle, units left]
    out: list[Compression] = []
    for cycle in sorted(by_cycle):
        for o in by_cycle[cycle]:
            if (account is not None and o.account != account) or o.account == ccp_account or o.quantity == 0:
                continue
            key = (o.account, o.security_id)
            if o.quantity > 0:
                receipts[key].append([cycle, o.quantity])
                continue
            due = -o.quantity
            for held in reversed(receipts[key]):
                if due == 0:
                    break
                q = min(due, held[1])
                if q:
                    out.append(Compression(o.account, o.security_id, held[0], cycle, q))
                    held[1] -= q
                    due -= q
    return out


def compress(ccp: Any, sender: Any, c: Compression) -> Any:
    """One compression on chain (``CCPSettlement.compress``); returns the receipt."""
    return ccp.compress(c.account, c.security_id, c.receive_cycle, c.deliver_cycle, sender=sender)


def compress_open_cycles(ccp: Any, sender: Any, cycles: Iterable[int], *, account: str | None = None) -> list[Compression]:
    """Plan and run every compression among ``cycles`` that are still open (settlement not
    started); returns what was compressed, as the chain reported it."""
    open_ = {c: obligations(ccp, c) for c in cycles if CyclePhase(int(ccp.cycleInfo(c)[0])) == CyclePhase.OPEN}
    done = []
    for c in plan(open_, account=account, ccp_account=str(ccp.address)):
        if _claim_pending(ccp, sender, c):
            continue  # a coupon or dividend may become a market claim: after they settle
        receipt = compress(ccp, sender, c)
        for e in receipt.decode_logs(ccp.ObligationsCompressed):
            done.append(Compression(str(e.account), int(e.securityId), int(e.receiveCycle), int(e.deliverCycle),
                                    int(e.quantity)))
    return done


def _claim_pending(ccp: Any, sender: Any, c: Compression) -> bool:
    """Whether the chain refuses ``c`` with ``MarketClaimPending`` (a dry run)."""
    try:
        ccp.compress.call(c.account, c.security_id, c.receive_cycle, c.deliver_cycle, sender=sender)
    except ContractLogicError as e:  # named, or only its selector when ape leaves it undecoded
        if type(e).__name__ == "MarketClaimPending" or _CLAIM_PENDING in str(e):
            return True
        raise
    return False
