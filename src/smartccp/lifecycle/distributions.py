"""Coupons and dividends (``Distributions.sol``): deploy and wire, declare, claim, read.

An issuer declares ``amount_per_unit`` (cash base units per unit) to the holders of a security at
a record date, paid from a payment date, and escrows ``amount_per_unit x totalSupply`` at once.
Each holder claims every unclaimed distribution of the security in one call; what it is paid is
its balance at each record date (``SecurityToken.balanceAtRecord``, kept lazily by the
depository) times the amount per unit. :func:`entitlements` is the same arithmetic in Python,
from balances the caller knows, for checks and reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ape import project

from smartccp.chain.system import System
from smartccp.types import ZERO_ADDRESS

__all__ = ["DistributionView", "claim", "declare", "deploy_distributions", "distributions_of", "entitlements"]


@dataclass(frozen=True)
class DistributionView:
    """One declared distribution of a security, as stored on chain."""

    security_id: int
    index: int
    amount_per_unit: int
    ordinal: int
    record_date: int
    payment_date: int


def deploy_distributions(system: System, operator: Any, *, admin: Any = None) -> Any:
    """``system``'s Distributions (``deploy_system`` deploys and wires one); for a system
    without one, deploy it, register it as a system account (it holds escrowed cash), give it the
    depository's record role and, with a CCP, make its distributions the CCP's market claims.
    ``admin`` (default ``operator``) holds the register's, depository's and CCP's admin roles."""
    if "Distributions" in system.extra:
        return system.extra["Distributions"]
    admin = admin or operator
    ccp = system.ccp if system.ccp is not None else ZERO_ADDRESS
    dist = project.Distributions.deploy(system.securities, system.cash, ccp, sender=operator)
    system.membership.registerSystem(dist, sender=admin)
    system.securities.grantRole(system.securities.RECORD_ROLE(), dist, sender=admin)
    system.securities.grantRole(system.securities.GUARDIAN_ROLE(), dist, sender=admin)
    if system.ccp is not None:
        system.ccp.setDistributions(dist, sender=admin)
    system.extra["Distributions"] = dist
    return dist


def declare(dist: Any, cash: Any, issuer: Any, security_id: int, record_date: int, payment_date: int,
            amount_per_unit: int, supply: int) -> Any:
    """Approve the escrow (``amount_per_unit x supply``) and declare; returns the receipt."""
    cash.approve(dist, amount_per_unit * supply, sender=issuer)
    return dist.declare(security_id, record_date, payment_date, amount_per_unit, sender=issuer)


def claim(dist: Any, security_id: int, holder: Any, sender: Any, *, max_events: int = 32) -> int:
    """Claim ``holder``'s unclaimed distributions of ``security_id`` (sent by ``sender``, paid to
    the holder); returns the amount paid, 0 when nothing was due."""
    amount, upto = (int(x) for x in dist.claimable(security_id, holder, max_events))
    if upto == int(dist.claimed(security_id, holder)):
        return 0
    dist.claim(security_id, holder, max_events, sender=sender)
    return amount


def distributions_of(dist: Any, security_id: int) -> list[DistributionView]:
    """Every distribution declared on ``security_id``."""
    out = []
    for i in range(int(dist.distributionCount(security_id))):
        d = dist.distribution(security_id, i)
        out.append(DistributionView(security_id, i, int(d.amountPerUnit), int(d.ordinal), int(d.recordDate),
                                    int(d.paymentDate)))
    return out


def entitlements(amounts_per_unit: Iterable[int], balances_at_record: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """What each holder is owed for distributions with these amounts per unit, given each one's
    balances at its record date: ``sum(amount_per_unit x balance)``, exact (integers)."""
    owed: dict[str, int] = {}
    for per_unit, balances in zip(amounts_per_unit, balances_at_record, strict=True):
        for holder, units in balances.items():
            owed[holder] = owed.get(holder, 0) + per_unit * units
    return owed
