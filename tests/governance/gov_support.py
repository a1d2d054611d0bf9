"""What the governance tests share (imported by name: a module of its own, not the conftest, whose
name every test folder repeats): the deployment file, the role holders, the handle on the governed
deployment, and the issue's fabricated Settle."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartccp.clearing.ccp import settle_instruction
from smartccp.ops.deploy import Deployment
from smartccp.types import Route
from smartccp.units import cash

GOV_SPEC = Path(__file__).with_name("gov.yaml")
#: The file's role holders (each a distinct account except the governor, the operator).
HOLDERS = ("operator", "bank", "issuer", "risk", "price", "keeper", "default_manager", "guardian")
PRICE = cash(9_000)


@dataclass
class Governed:
    dep: Deployment
    members: list[Any]

    @property
    def sid(self) -> int:
        return self.dep.security_ids["ACME"]

    def holder(self, name: str) -> Any:
        return self.dep.account(name)


def fabricated(g: Governed, trade_id: int = 777) -> tuple:
    """The issue's Direct Settle for a trade nobody made: 10 units at 9,000.00, member_a pays."""
    a, b = g.members
    return settle_instruction(trade_id, a, b, g.sid, 10, PRICE, 2**40, Route.DIRECT)


def balances(g: Governed) -> list[int]:
    s = g.dep.system
    return [int(s.cash.balanceOf(m)) for m in g.members] + [int(s.securities.balanceOf(m, g.sid)) for m in g.members]
