"""Where a transaction's gas goes, by kind of work, from the node's opcode trace.

``breakdown`` replays a mined transaction with ``debug_traceTransaction`` (anvil and geth-style
nodes serve it) and adds up, over every call frame, what each opcode itself cost:

- ``intrinsic``: 21,000 plus calldata (4 gas per zero byte, 16 per other byte);
- ``storage_read`` (SLOAD), ``storage_write`` (SSTORE, before refunds), ``logs`` (LOG0-LOG4),
  ``hashing`` (KECCAK256);
- ``calls``: what a call costs the caller itself (cold account access, value, precompiles such
  as ecrecover run as calls and count whole), not what the callee then spends, plus the account
  reads made before a call (EXTCODESIZE, EXTCODEHASH, BALANCE);
- ``compute``: every other opcode (stack, memory, jumps, arithmetic, transient storage);
- ``refund``: what the refund counter gave back (storage cleared), at most a fifth of the gas
  used before it (EIP-3529).

``intrinsic + storage_read + storage_write + logs + hashing + calls + compute - refund`` equals
the receipt's ``gasUsed`` (unless the EIP-7623 calldata floor applies, for transactions whose
execution is tiny next to their calldata).

``by_contract`` splits the same costs by the contract whose code ran them (a delegatecall
module apart from its host) and counts the storage slots written from zero (``new_slots``, 20,000
gas each, 22,100 when cold): where a flow's gas goes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

CALL_OPS = frozenset({"CALL", "CALLCODE", "DELEGATECALL", "STATICCALL", "CREATE", "CREATE2"})
ACCOUNT_OPS = frozenset({"EXTCODESIZE", "EXTCODEHASH", "EXTCODECOPY", "BALANCE"})
CATEGORIES = ("intrinsic", "storage_read", "storage_write", "logs", "hashing", "calls", "compute", "refund")


def category(op: str) -> str:
    """The category of one opcode (see the module docstring)."""
    if op == "SLOAD":
        return "storage_read"
    if op == "SSTORE":
        return "storage_write"
    if op.startswith("LOG"):
        return "logs"
    if op == "KECCAK256":
        return "hashing"
    if op in CALL_OPS or op in ACCOUNT_OPS:
        return "calls"
    return "compute"


def calldata_gas(data: bytes) -> int:
    """The calldata part of the intrinsic gas (EIP-2028 prices)."""
    return sum(16 if b else 4 for b in data)


def own_costs(steps: list[dict[str, Any]]) -> list[int]:
    """Per step of a trace, what the opcode itself cost: its ``gasCost``, except for a call,
    where the trace reports the gas handed over, so its own cost is the drop in the caller's gas
    across the call less everything the callee's steps cost."""
    n = len(steps)
    after = [None] * n  # index of the caller's next step once a call returns
    pending: list[int] = []
    for i, s in enumerate(steps):
        while pending and steps[pending[-1]]["depth"] >= s["depth"]:
            after[pending.pop()] = i
        if s["op"] in CALL_OPS:
            pending.append(i)
    own = [0] * n
    suffix = [0] * (n + 1)  # suffix[k] = sum of own[k:]
    for i in range(n - 1, -1, -1):
        s = steps[i]
        if s["op"] in CALL_OPS:
            j = after[i]
            if j is None:  # the call ended the trace (a reverting top frame): its stated cost
                own[i] = s["gasCost"]
            else:
                inner = suffix[i + 1] - suffix[j]
                own[i] = s["gas"] - steps[j]["gas"] - inner
        else:
            own[i] = s["gasCost"]
        suffix[i] = own[i] + suffix[i + 1]
    return own


def summarise(steps: Iterable[dict[str, Any]], *, calldata: bytes, gas_used: int) -> dict[str, int]:
    """The breakdown of a trace's steps (see the module docstring), in gas."""
    steps = list(steps)
    out = dict.fromkeys(CATEGORIES, 0)
    out["intrinsic"] = 21_000 + calldata_gas(calldata)
    for s, cost in zip(steps, own_costs(steps), strict=True):
        out[category(s["op"])] += cost
    spent = sum(v for k, v in out.items() if k != "refund")
    out["refund"] = max(0, spent - gas_used)
    return out


def breakdown(provider: Any, txn_hash: str | bytes) -> dict[str, int] | None:
    """The gas breakdown of a mined transaction, or None if the node cannot trace.

    ``provider`` is ape's connected provider (``ape.chain.provider``)."""
    traced = _trace(provider, txn_hash, stack=False)
    if traced is None:
        return None
    steps, tx = traced
    receipt = provider.web3.eth.get_transaction_receipt(tx["hash"])
    return summarise(steps, calldata=bytes(tx["input"]), gas_used=int(receipt["gasUsed"]))


def _trace(provider: Any, txn_hash: str | bytes, *, stack: bool) -> tuple[list[dict[str, Any]], Any] | None:
    """The opcode steps of a mined transaction (with their stacks if ``stack``) and the
    transaction, or None if the node cannot trace."""
    if isinstance(txn_hash, bytes):
        txn_hash = "0x" + txn_hash.hex()
    options = {"disableStorage": True, "disableMemory": True, "disableStack": not stack}
    try:
        trace = provider.make_request("debug_traceTransaction", [txn_hash, options])
    except Exception:  # noqa: BLE001 - any node that cannot trace
        return None
    return trace.get("result", trace)["structLogs"], provider.web3.eth.get_transaction(txn_hash)


#: SSTORE costs at least this much only when it writes a zero slot (EIP-2200/2929).
NEW_SLOT_GAS = 20_000


def attribute(steps: list[dict[str, Any]], to: str, names: Mapping[str, str] | None = None) -> dict[str, dict[str, int]]:
    """Per contract whose code ran (named by ``names``, lower-case address -> name; others by
    address), the trace's own costs by category plus ``new_slots``. ``steps`` need their stacks
    (the call target is read from them); ``to`` is the transaction's recipient."""
    names = {k.lower(): v for k, v in (names or {}).items()}
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    frames = [to.lower()]
    for s, cost in zip(steps, own_costs(steps), strict=True):
        while len(frames) > s["depth"]:
            frames.pop()
        name = names.get(frames[-1], frames[-1])
        out[name][category(s["op"])] += cost
        if s["op"] == "SSTORE" and s["gasCost"] >= NEW_SLOT_GAS:
            out[name]["new_slots"] += 1
        if s["op"] in CALL_OPS and s["op"] not in ("CREATE", "CREATE2"):
            frames.append("0x" + s["stack"][-2][2:].rjust(40, "0")[-40:].lower())
    return {k: dict(v) for k, v in out.items()}


def by_contract(provider: Any, txn_hashes: Iterable[str | bytes],
                names: Mapping[str, str] | None = None) -> dict[str, dict[str, int]] | None:
    """:func:`attribute` summed over mined transactions, with their intrinsic gas under
    ``"transaction"``; None if the node cannot trace."""
    total: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for h in txn_hashes:
        traced = _trace(provider, h, stack=True)
        if traced is None:
            return None
        steps, tx = traced
        total["transaction"]["intrinsic"] += 21_000 + calldata_gas(bytes(tx["input"]))
        for name, cats in attribute(steps, str(tx["to"]), names).items():
            for cat, v in cats.items():
                total[name][cat] += v
    return {k: dict(v) for k, v in total.items()}


def spent(cats: Mapping[str, int]) -> int:
    """Gas of one :func:`attribute` entry (refunds are not attributed)."""
    return sum(v for k, v in cats.items() if k not in ("new_slots", "refund"))
