"""What happened on chain, from the logs: :class:`LogScanner` decodes every new log of the
system's contracts with one ``eth_getLogs``; :class:`Ledger` accumulates them (holders, issuance
and redemption, trades, fills, cancels) for the invariant checks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_checksum_address

from smartccp.chain.rpc import as_bytes, as_int, rpc_or_default
from smartccp.types import ZERO_ADDRESS


@dataclass(frozen=True)
class Event:
    """One decoded log: the contract's registry name, the event name and its arguments."""

    source: str
    name: str
    args: dict[str, Any]
    block: int
    log_index: int


class LogScanner:
    """Decodes every log the given contracts emit, incrementally (one ``eth_getLogs`` per poll).

    ``contracts``: name -> ape contract instance (e.g. ``System.addresses()`` names). Logs of other
    addresses are skipped. ``start_block``: first block to read.
    """

    def __init__(self, contracts: dict[str, Any], start_block: int = 0, provider: Any = None) -> None:
        self.provider = provider
        self.next_block = start_block
        self._events: dict[tuple[str, bytes], tuple[str, Any]] = {}
        for name, c in contracts.items():
            for abi in c.contract_type.abi:
                if getattr(abi, "type", "") == "event":
                    self._events[(str(c.address).lower(), keccak(text=abi.selector))] = (name, abi)

    def poll(self) -> list[Event]:
        provider = rpc_or_default(self.provider)
        head = as_int(provider.make_request("eth_blockNumber", []))
        if head < self.next_block:
            return []
        logs = provider.make_request("eth_getLogs", [{"fromBlock": hex(self.next_block), "toBlock": hex(head)}])
        self.next_block = head + 1
        events = []
        for log in logs:
            topics = [as_bytes(t) for t in log["topics"]]
            if not topics:
                continue
            hit = self._events.get((str(log["address"]).lower(), topics[0]))
            if hit is None:
                continue
            source, abi = hit
            args: dict[str, Any] = {}
            indexed = [i for i in abi.inputs if i.indexed]
            plain = [i for i in abi.inputs if not i.indexed]
            for inp, topic in zip(indexed, topics[1:]):
                static = not (inp.canonical_type in ("string", "bytes") or inp.canonical_type.endswith("]")
                              or inp.canonical_type.startswith("("))
                args[inp.name] = decode([inp.canonical_type], topic)[0] if static else topic
            values = decode([i.canonical_type for i in plain], as_bytes(log["data"]))
            args.update({i.name: v for i, v in zip(plain, values)})
            events.append(Event(source, abi.name, args, as_int(log["blockNumber"]), as_int(log["logIndex"])))
        return events


# ─── What happened on chain, accumulated from the logs ──────────────────────────────────────


@dataclass
class Ledger:
    """Facts accumulated from the system's logs since deployment (or since ``start_block``)."""

    holders: set[str] = field(default_factory=set)
    issued: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # asset key -> net issued
    traded: list[dict[str, Any]] = field(default_factory=list)  # Traded args, in order
    filled: dict[bytes, int] = field(default_factory=lambda: defaultdict(int))  # order hash -> units
    cancelled: dict[bytes, int] = field(default_factory=lambda: defaultdict(int))  # order hash -> units
    rested: dict[bytes, int] = field(default_factory=dict)  # order hash -> latest resting order id
    parked: dict[bytes, int] = field(default_factory=dict)  # order hash -> parked (stop-type) order id
    #: (venue, resting or parked order id) -> order hash: OrderWithdrawn names an order by id only.
    hash_of_id: dict[tuple[str, int], bytes] = field(default_factory=dict)
    triggered: set[bytes] = field(default_factory=set)  # order hashes released by triggerOrders
    trades: dict[int, dict[str, Any]] = field(default_factory=dict)  # trade id -> Traded args
    direct: dict[int, dict[str, Any]] = field(default_factory=dict)  # trade id -> TradeSettledDirect args
    #: The risk layer's default events, in order: ("MemberDefaulted", member, reason),
    #: ("LayerUsed", defaulter, layer, amount), ("ShortfallCovered", defaulter, amount, covered).
    risk_events: list[tuple] = field(default_factory=list)
    settled_cycles: set[int] = field(default_factory=set)
    novated_legs: int = 0
    new_trades: list[dict[str, Any]] = field(default_factory=list)  # since the last absorb

    def absorb(self, events: Iterable[Event]) -> None:
        self.new_trades = []
        for e in events:
            a = e.args
            if e.name == "Transfer":
                self._holder(a["to"])
                self._holder(a["from"])
            elif e.name in ("TransferSingle", "TransferBatch"):
                self._holder(a["to"])
                self._holder(a["from"])
            elif e.name == "Issued":
                self.issued["cash"] += a["amount"]
            elif e.name == "Redeemed":
                self.issued["cash"] -= a["amount"]
            elif e.name == "SecuritiesIssued":
                self.issued[f"security:{a['id']}"] += a["amount"]
            elif e.name == "SecuritiesRedeemed":
                self.issued[f"security:{a['id']}"] -= a["amount"]
            elif e.name == "Traded":
                self.traded.append(a)
                self.new_trades.append(a)
                self.trades[int(a["tradeId"])] = a
                self.filled[bytes(a["bidOrderHash"])] += a["quantity"]
                self.filled[bytes(a["offerOrderHash"])] += a["quantity"]
            elif e.name == "OrderCancelled":
                self.cancelled[bytes(a["orderHash"])] += a["quantity"]
            elif e.name == "OrderWithdrawn":
                self.cancelled[self.hash_of_id[(e.source, int(a["orderId"]))]] += a["quantity"]
            elif e.name == "OrderRested":
                self.rested[bytes(a["orderHash"])] = a["orderId"]
                self.hash_of_id[(e.source, int(a["orderId"]))] = bytes(a["orderHash"])
            elif e.name == "OrderParked":
                self.parked[bytes(a["orderHash"])] = a["parkedId"]
                self.hash_of_id[(e.source, int(a["parkedId"]))] = bytes(a["orderHash"])
            elif e.name == "OrderTriggered":
                self.triggered.add(bytes(a["orderHash"]))
            elif e.name == "TradeSettledDirect":
                self.direct[int(a["tradeId"])] = a
            elif e.name == "MemberDefaulted" and e.source == "DefaultFund":
                self.risk_events.append((e.name, to_checksum_address(a["member"]), int(a["reason"])))
            elif e.name == "LayerUsed" and e.source == "DefaultFund":
                self.risk_events.append((e.name, to_checksum_address(a["defaulter"]), int(a["layer"]), int(a["amount"])))
            elif e.name == "ShortfallCovered" and e.source == "DefaultFund":
                self.risk_events.append((e.name, to_checksum_address(a["defaulter"]), int(a["amount"]), int(a["covered"])))
            elif e.name == "CycleSettled":
                self.settled_cycles.add(int(a["cycleId"]))
            elif e.name == "TradeNovated":
                self.novated_legs += 1

    def _holder(self, address: str) -> None:
        if str(address).lower() != ZERO_ADDRESS.lower():
            self.holders.add(to_checksum_address(address))


