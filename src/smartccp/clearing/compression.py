"""Compression of an account's offsetting obligations across open cycles (issue #21).

An account that receives units of a security in one open cycle and delivers units of it in a
later one need not take them in and hand them back: after ``CCPSettlement.compress`` the first
cycle's pay-out keeps up to the delivered quantity in the account's pre-funded custody, and the
second cycle's pay-in takes it from there. Obligations, cash, netting, market claims and margin
are as without it: two unit transfers fewer per compressed quantity. Delivering first and
receiving later is not compressible (the CCP would lend units).

``plan`` finds every compression of a set of open cycles (pure: from their obligations and what
is compressed already);
``compress_open_cycles`` runs it on chain, by rule (an OPERATOR_ROLE keeper), or for one account
on its own request.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from smartccp.clearing.ccp import Obligation, obligations
from smartccp.types import CyclePhase

__all__ = ["Compression", "compress", "compress_open_cycles", "plan"]



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
         kept: Mapping[tuple[int, int, str], tuple[int, int]] | None = None) -> list[Compression]:
    """Every compression of the open cycles ``by_cycle`` (cycle id -> its obligations): per
    account and security, each delivery is set against the receipts of earlier cycles, latest
    first (the units held the shortest time), until one side runs out. Only ``account``'s if
    given. ``kept``: (cycle, security, account) -> ``CCPSettlement.compressed`` (units of the
    receipt kept already, units of the delivery covered already), left out of the plan."""
    kept = kept or {}
    receipts: dict[tuple[str, int], list[list[int]]] = defaultdict(list)  # [cycle, units left]
    out: list[Compression] = []
    for cycle in sorted(by_cycle):
        for o in by_cycle[cycle]:
            if (account is not None and o.account != account) or o.quantity == 0:
                continue
            key = (o.account, o.security_id)
            done_receipt, done_delivery = kept.get((cycle, o.security_id, o.account), (0, 0))
            if o.quantity > 0:
                if o.quantity > done_receipt:
                    receipts[key].append([cycle, o.quantity - done_receipt])
                continue
            due = -o.quantity - done_delivery
            for held in reversed(receipts[key]):
                if due <= 0:
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
    started), leaving out securities with a record date ahead (``RecordDateAhead``); returns what
    was compressed, as the chain reported it."""
    open_ = {c: obligations(ccp, c) for c in cycles if CyclePhase(int(ccp.cycleInfo(c)[0])) == CyclePhase.OPEN}
    kept = {(c, o.security_id, o.account): tuple(int(x) for x in ccp.compressed(c, o.security_id, o.account))
            for c, obs in open_.items() for o in obs if o.quantity and account in (None, o.account)}
    done = []
    for c in plan(open_, account=account, kept=kept):
        try:
            receipt = compress(ccp, sender, c)  # ape estimates first: a refusal sends nothing
        except ccp.RecordDateAhead:
            continue
        for e in receipt.decode_logs(ccp.ObligationsCompressed):
            done.append(Compression(str(e.account), int(e.securityId), int(e.receiveCycle), int(e.deliverCycle),
                                    int(e.quantity)))
    return done

