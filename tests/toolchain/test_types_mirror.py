"""``smartccp.types`` mirrors the contracts' enums: same members, same order (same codes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smartccp import types

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
#: Python names that abbreviate the Solidity member (the Python side's words are the market's).
ALIASES = {"GOOD_TILL_CANCEL": "GTC", "IMMEDIATE_OR_CANCEL": "IOC", "FILL_OR_KILL": "FOK",
           "GOOD_TILL_DATE": "GTD"}
MIRRORS = [  # (Python enum, Solidity enum, file)
    (types.Side, "Side", "types/Order.sol"),
    (types.OrderType, "OrderType", "types/Order.sol"),
    (types.TimeInForce, "TimeInForce", "types/Order.sol"),
    (types.CancelReason, "CancelReason", "types/Order.sol"),
    (types.TradingPhase, "Phase", "types/Order.sol"),
    (types.Route, "Route", "types/Settle.sol"),
    (types.MemberKind, "MemberKind", "types/Member.sol"),
    (types.CyclePhase, "CyclePhase", "interfaces/ICCPSettlement.sol"),
]


def solidity_enum(name: str, source: str) -> list[str]:
    """The members of ``enum name`` in ``source``, in order, as UPPER_SNAKE names."""
    body = re.search(rf"\benum {name}\s*\{{(.*?)\}}", source, re.S)
    assert body, f"enum {name} not found"
    text = re.sub(r"//[^\n]*", "", body.group(1))
    members = [m.strip() for m in text.split(",") if m.strip()]
    snake = [re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", m).upper() for m in members]
    return [ALIASES.get(s, s) for s in snake]


@pytest.mark.parametrize("py, sol, path", MIRRORS, ids=[m[1] for m in MIRRORS])
def test_enum__python_mirrors_solidity(py, sol, path):
    assert [m.name for m in py] == solidity_enum(sol, (CONTRACTS / path).read_text())
    assert [m.value for m in py] == list(range(len(py)))


def test_solidity_enum__reads_members_in_order():
    src = "enum Colour {\n    Red, // 0\n    DarkBlue // 1: the last\n}\n"
    assert solidity_enum("Colour", src) == ["RED", "DARK_BLUE"]
