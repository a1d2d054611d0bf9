"""The invariants of a running SmartCCP system, checked from outside the chain.

MISSION.md's "what must always hold", as code the property tests, the fault-recovery drill and
the demo share:

- **conservation**: per asset (cash and every security) the balances of every holder ever seen
  (the CCP, the close-out market and the risk layer included) sum to the total supply, and the
  total supply moved only by issuance and redemption (the tokens' own ``Issued``/``Redeemed``
  events);
- **CCP custody**: the CCP's token balances are at least what it holds for accounts
  (pre-funded and deferred balances), and those per-account balances sum to its custody totals;
- **flat CCP**: in every open cycle, per security, net quantities and net cash sum to zero;
- **signed trades**: every ``Traded`` names a bid and an offer hash of orders the driver signed,
  owned by the buyer and the seller, on the right sides, at a price both limits allow;
- **routes**: a trade of two Direct orders settled gross at once (``TradeSettledDirect`` with the
  trade's parties, security, quantity and cash), any other went to the CCP; no direct settlement
  without a trade behind it;
- **no overfill**: per order hash, units traded + units cancelled + units still resting never
  exceed the signed quantity (and equal it when the driver knows what rests and what is parked);
- **book = orders**: the displayed depth equals what the driver's model of resting orders shows,
  and each resting order the model knows is on chain with its owner, size and hash;
- **obligations = trades**: each cycle's obligations equal the driver's netting of its trades;
- **settled = empty**: after a cycle settles, the CCP holds nothing but custody.

Reading is cheap on purpose (the property test checks after every step): :class:`Multicall` runs
any number of view calls in one ``eth_call`` (the ``MockMulticall`` runtime by state override:
nothing is deployed), :class:`LogScanner` decodes every new log of the system's contracts with
one ``eth_getLogs``. Both need a node with ``eth_call`` state overrides (anvil, geth).

Extending: risk rules add their checks with ``InvariantSuite.add(name, check)``; a check takes
(:class:`ChainState`, :class:`Ledger`, :class:`Expectation`) and raises
:class:`InvariantViolation`. Units as everywhere: cash in base units (6 dp), whole security units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

from smartccp.clearing import Phase as CyclePhase

#: Where the multicall runtime is placed by state override (an address nobody owns).
MULTICALL_ADDRESS = "0x00000000000000000000000000000000c0ffee01"
_AGGREGATE = keccak(text="aggregate((address,bytes)[])")[:4]
ZERO = "0x" + "00" * 20


class InvariantViolation(AssertionError):
    """An invariant does not hold; the message names it and gives the figures."""


# ─── A lean JSON-RPC client ─────────────────────────────────────────────────────────────────


class RpcError(Exception):
    """A JSON-RPC error: ``code``, ``message`` and the revert ``data`` (bytes) if any."""

    def __init__(self, code: int, message: str, data: bytes = b"") -> None:
        super().__init__(f"{code} {message}")
        self.code, self.message, self.data = code, message, data


class Rpc:
    """JSON-RPC over one kept-alive HTTP session, without web3's middleware (a read costs about
    a millisecond instead of seven: the checks run after every step of a property test)."""

    def __init__(self, url: str) -> None:
        import requests

        self.url = url
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy lookup per request
        self._id = 0

    @classmethod
    def connected(cls) -> "Rpc":
        """For the node ape is connected to."""
        from ape import networks

        provider = networks.provider
        return cls(getattr(provider, "http_uri", None) or provider.uri)

    def call(self, method: str, params: list[Any]) -> Any:
        self._id += 1
        reply = self.session.post(self.url, json={"jsonrpc": "2.0", "id": self._id, "method": method,
                                                  "params": params}, timeout=60).json()
        if "error" in reply:
            err = reply["error"]
            data = err.get("data") or b""
            if isinstance(data, dict):
                data = data.get("data") or b""
            if isinstance(data, str):
                data = bytes.fromhex(data[2:]) if data.startswith("0x") else b""
            raise RpcError(err.get("code", 0), err.get("message", ""), data)
        return reply["result"]

    def make_request(self, method: str, params: list[Any]) -> Any:
        return self.call(method, params)


_RPC: dict[str, Rpc] = {}


def _provider() -> Any:
    from ape import networks

    provider = networks.provider
    url = getattr(provider, "http_uri", None) or provider.uri
    if url not in _RPC:
        _RPC[url] = Rpc(url)
    return _RPC[url]


# ─── Refusals: which named error a call would revert with ───────────────────────────────────

_ERRORS: dict[bytes, str] = {}


def error_name(data: bytes) -> str:
    """The custom error a revert's data names (searching every contract of the project), or
    ``Error``/``Panic`` for string and panic reverts, or the raw selector in hex."""
    if not _ERRORS:
        from ape import project

        for container in project.contracts.values():
            for abi in container.contract_type.abi:
                if getattr(abi, "type", "") == "error":
                    _ERRORS[keccak(text=abi.selector)[:4]] = abi.name
        _ERRORS[keccak(text="Error(string)")[:4]] = "Error"
        _ERRORS[keccak(text="Panic(uint256)")[:4]] = "Panic"
    if len(data) < 4:
        return "EmptyRevert"
    return _ERRORS.get(bytes(data[:4]), "0x" + bytes(data[:4]).hex())


def refusal(contract: Any, method: str, *args: Any, sender: Any, value: int = 0, provider: Any = None) -> str | None:
    """Simulate ``contract.method(*args)`` from ``sender`` (``eth_call`` at the latest block) and
    return the name of the error it reverts with, or ``None`` if it would succeed. Sends nothing."""
    selector, inputs, _ = _method_abi(contract, method, len(args))
    tx = {"from": str(getattr(sender, "address", sender)), "to": str(contract.address),
          "data": "0x" + (selector + encode(inputs, list(args))).hex(), "gas": hex(30_000_000)}
    if value:
        tx["value"] = hex(value)
    try:
        (provider or _provider()).make_request("eth_call", [tx, "latest"])
    except RpcError as exc:
        return error_name(exc.data)
    return None


# ─── Reading: many view calls in one eth_call ───────────────────────────────────────────────


_ABIS: dict[tuple[str, str, int], tuple[bytes, list[str], list[str]]] = {}


def _method_abi(contract: Any, name: str, nargs: int) -> tuple[bytes, list[str], list[str]]:
    """(selector, input types, output types) of ``contract.name`` with ``nargs`` arguments."""
    key = (contract.contract_type.name, name, nargs)
    if key not in _ABIS:
        found = [a for a in contract.contract_type.abi
                 if getattr(a, "type", "") == "function" and a.name == name and len(a.inputs) == nargs]
        if not found:
            raise KeyError(f"{contract.contract_type.name} has no function {name} with {nargs} arguments")
        abi = found[0]
        _ABIS[key] = (keccak(text=abi.selector)[:4], [i.canonical_type for i in abi.inputs],
                      [o.canonical_type for o in abi.outputs])
    return _ABIS[key]


def _static_decoder(types: list[str]) -> Callable[[bytes], tuple] | None:
    """A fast decoder for outputs made of static words only (ints, addresses, bools, bytes32),
    or None when eth_abi is needed."""
    kinds = []
    for t in types:
        if "[" in t or "(" in t:
            return None
        if t.startswith("uint") or t == "bool":
            kinds.append("u")
        elif t.startswith("int"):
            kinds.append("i")
        elif t == "address":
            kinds.append("a")
        elif t == "bytes32":
            kinds.append("b")
        else:
            return None

    def decode_static(raw: bytes) -> tuple:
        out = []
        for i, k in enumerate(kinds):
            word = raw[32 * i:32 * i + 32]
            if k == "u":
                out.append(int.from_bytes(word, "big"))
            elif k == "i":
                out.append(int.from_bytes(word, "big", signed=True))
            elif k == "a":
                out.append(to_checksum_address(word[12:]))
            else:
                out.append(bytes(word))
        return tuple(out)

    return decode_static


_CALLDATA: dict[tuple, bytes] = {}


def _encode_calls(calls: list[tuple[str, bytes]]) -> bytes:
    """ABI encoding of ``(address,bytes)[]`` (by hand: eth_abi is slow for hundreds of calls)."""
    elems = []
    for target, data in calls:
        elems.append(bytes(12) + bytes.fromhex(target[2:]) + (64).to_bytes(32, "big")
                     + len(data).to_bytes(32, "big") + data + bytes((-len(data)) % 32))
    offsets, pos = [], 32 * len(elems)
    for e in elems:
        offsets.append(pos.to_bytes(32, "big"))
        pos += len(e)
    return (32).to_bytes(32, "big") + len(elems).to_bytes(32, "big") + b"".join(offsets) + b"".join(elems)


def _decode_bytes_array(raw: bytes) -> list[bytes]:
    """ABI decoding of a returned ``bytes[]``."""
    off = int.from_bytes(raw[0:32], "big")
    n = int.from_bytes(raw[off:off + 32], "big")
    base, out = off + 32, []
    for i in range(n):
        start = base + int.from_bytes(raw[base + 32 * i:base + 32 * i + 32], "big")
        length = int.from_bytes(raw[start:start + 32], "big")
        out.append(raw[start + 32:start + 32 + length])
    return out


class Multicall:
    """Collects view calls, then runs them all in one ``eth_call``.

    ``i = reads.add(contract, "balanceOf", account)`` queues a call; ``out = reads.run()`` returns
    the decoded results in order (a 1-tuple is unwrapped to its value).
    """

    _runtime: str | None = None

    def __init__(self, provider: Any = None) -> None:
        self.provider = provider
        self.calls: list[tuple[str, bytes, Callable[[bytes], tuple]]] = []

    @classmethod
    def runtime(cls) -> str:
        if cls._runtime is None:
            from ape import project

            code = project.MockMulticall.contract_type.runtime_bytecode.bytecode
            cls._runtime = code if code.startswith("0x") else "0x" + code
        return cls._runtime

    def add(self, contract: Any, method: str, *args: Any) -> int:
        address = str(contract.address)
        key = (address, method, args)
        try:
            hit = _CALLDATA.get(key)
        except TypeError:  # unhashable arguments (lists): no cache
            key, hit = None, None
        selector, inputs, outputs = _method_abi(contract, method, len(args))
        if hit is None:
            hit = selector + encode(inputs, list(args))
            if key is not None and len(_CALLDATA) < 100_000:
                _CALLDATA[key] = hit
        decoder = _static_decoder(outputs) or (lambda raw, outputs=outputs: decode(outputs, raw))
        self.calls.append((address, hit, decoder))
        return len(self.calls) - 1

    def run(self) -> list[Any]:
        if not self.calls:
            return []
        payload = _encode_calls([(t, d) for t, d, _ in self.calls])
        tx = {"to": MULTICALL_ADDRESS, "data": "0x" + (_AGGREGATE + payload).hex()}
        provider = self.provider or _provider()
        raw = provider.make_request("eth_call", [tx, "latest", {MULTICALL_ADDRESS: {"code": self.runtime()}}])
        raw = bytes.fromhex(raw[2:]) if isinstance(raw, str) else bytes(raw)
        out = []
        for (_, _, decoder), result in zip(self.calls, _decode_bytes_array(raw)):
            values = decoder(result)
            out.append(values[0] if len(values) == 1 else values)
        self.calls = []
        return out


# ─── Reading: every new log, decoded ────────────────────────────────────────────────────────


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
        provider = self.provider or _provider()
        head = _int(provider.make_request("eth_blockNumber", []))
        if head < self.next_block:
            return []
        logs = provider.make_request("eth_getLogs", [{"fromBlock": hex(self.next_block), "toBlock": hex(head)}])
        self.next_block = head + 1
        events = []
        for log in logs:
            topics = [_bytes(t) for t in log["topics"]]
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
            values = decode([i.canonical_type for i in plain], _bytes(log["data"]))
            args.update({i.name: v for i, v in zip(plain, values)})
            events.append(Event(source, abi.name, args, _int(log["blockNumber"]), _int(log["logIndex"])))
        return events


def _bytes(x: Any) -> bytes:
    if isinstance(x, (bytes, bytearray)):
        return bytes(x)
    if hasattr(x, "hex") and not isinstance(x, str):
        return bytes(x)
    return bytes.fromhex(x[2:] if x.startswith("0x") else x)


def _int(x: Any) -> int:
    return int(x, 16) if isinstance(x, str) else int(x)


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
        if str(address).lower() != ZERO:
            self.holders.add(to_checksum_address(address))


# ─── What the chain holds now, read in one go ───────────────────────────────────────────────


@dataclass(frozen=True)
class Obl:
    """One listed obligation: (account, security) -> net quantity and cash, failed at pay-in."""

    account: str
    security_id: int
    quantity: int
    cash: int
    failed: bool


@dataclass
class ChainState:
    """A consistent read of the system at one block (all from one ``eth_call``, plus one for the
    obligation lists)."""

    supply: dict[str, int]
    balances: dict[str, dict[str, int]]  # asset key -> holder -> balance
    custody: dict[str, int]  # asset key -> total the CCP keeps for accounts
    prefunded: dict[str, dict[str, int]]  # asset key -> account -> held for it by the CCP
    open_obligations: dict[str, int]  # account -> obligations not yet paid in
    cycles: dict[int, tuple[CyclePhase, int, int]]  # cycle -> (phase, obligations, failures)
    obligations: dict[int, list[Obl]]
    depth: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]]  # sid -> (bids, asks)
    orders: dict[int, tuple[str, int, bytes]]  # order id -> (owner, remaining, hash)
    timestamp: int
    ccp: str | None = None  # the CCP's address, if the system has one


def asset_keys(security_ids: Iterable[int]) -> list[str]:
    return ["cash", *(f"security:{s}" for s in security_ids)]


def read_state(
    system: Any,
    security_ids: Sequence[int],
    holders: Iterable[str],
    *,
    cycles: Iterable[int] = (),
    order_ids: Iterable[int] = (),
    depth_levels: int = 100,
    provider: Any = None,
) -> ChainState:
    """Read supplies, every holder's balances, the CCP's custody and per-account balances, the
    given cycles and their obligations, the depth of every security and the given resting orders."""
    holders, cycles, order_ids = sorted(set(holders)), sorted(set(cycles)), sorted(set(order_ids))
    keys = asset_keys(security_ids)
    m = Multicall(provider)
    m.add(system.cash, "totalSupply")
    for sid in security_ids:
        m.add(system.securities, "totalSupply", sid)
    for h in holders:
        m.add(system.cash, "balanceOf", h)
        for sid in security_ids:
            m.add(system.securities, "balanceOf", h, sid)
    ccp = system.ccp
    if ccp is not None:
        for sid in security_ids:
            m.add(ccp, "custody", sid)
        for h in holders:
            m.add(ccp, "prefunded", h)
            for sid in security_ids:
                m.add(ccp, "prefundedSecurities", h, sid)
        for c in cycles:
            m.add(ccp, "cycleInfo", c)
    venue = system.venues[0] if system.venues else None
    if venue is not None:
        for sid in security_ids:
            m.add(venue, "depth", sid, depth_levels)
        for oid in order_ids:
            m.add(venue, "orderOf", oid)
    block = _provider_or(provider).make_request("eth_getBlockByNumber", ["latest", False])
    out = iter(m.run())

    supply = {k: next(out) for k in keys}
    balances: dict[str, dict[str, int]] = {k: {} for k in keys}
    for h in holders:
        for k in keys:
            balances[k][h] = next(out)
    custody: dict[str, int] = {k: 0 for k in keys}
    prefunded: dict[str, dict[str, int]] = {k: {} for k in keys}
    open_obs: dict[str, int] = {}
    cycle_info: dict[int, tuple[CyclePhase, int, int]] = {}
    if ccp is not None:
        for sid in security_ids:
            c_cash, c_units = next(out)
            custody["cash"], custody[f"security:{sid}"] = c_cash, c_units
        for h in holders:
            p_cash, _reserved, n_open = next(out)
            prefunded["cash"][h] = p_cash
            open_obs[h] = n_open
            for sid in security_ids:
                prefunded[f"security:{sid}"][h] = next(out)
        for c in cycles:
            phase, _cursor, n, failures, _from = next(out)
            cycle_info[c] = (CyclePhase(phase), n, failures)
    depth = {}
    orders = {}
    if venue is not None:
        for sid in security_ids:
            bp, bs, ap, as_ = next(out)
            depth[sid] = (list(zip(bp, bs)), list(zip(ap, as_)))
        for oid in order_ids:
            owner, remaining, _exp, _flags, _counter, h = next(out)
            orders[oid] = (to_checksum_address(owner), remaining, bytes(h))
    obligations: dict[int, list[Obl]] = {}
    if ccp is not None and cycles:
        m = Multicall(provider)
        for c in cycles:
            for i in range(cycle_info[c][1]):
                m.add(ccp, "obligationAt", c, i)
        res = iter(m.run())
        for c in cycles:
            obligations[c] = [Obl(to_checksum_address(a), s, q, cash, f)
                              for a, s, q, cash, f in (next(res) for _ in range(cycle_info[c][1]))]
    return ChainState(supply, balances, custody, prefunded, open_obs, cycle_info, obligations, depth, orders,
                      _int(block["timestamp"]), str(ccp.address) if ccp is not None else None)


def _provider_or(provider: Any) -> Any:
    return provider or _provider()


# ─── What the driver expects ────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SignedOrder:
    """What the driver knows of an order it signed and the venue accepted."""

    owner: str
    security_id: int
    side: int  # 0 buy, 1 sell
    quantity: int
    limit_price: int  # the limit (protection) price, cash base units per unit
    route: int = 0  # 0 CCP, 1 Direct (the order's chosen settlement route)


@dataclass
class Expectation:
    """What the driver (a property test, a drill, the demo) expects. ``None`` = not modelled:
    the related invariant checks only what the chain itself can show."""

    security_ids: list[int]
    orders: dict[bytes, SignedOrder] = field(default_factory=dict)
    depth: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] | None = None
    resting: dict[bytes, tuple[int, str, int, int]] | None = None  # hash -> (order id, owner, shown, total left)
    obligations: dict[int, dict[tuple[int, str], tuple[int, int]]] | None = None  # cycle -> (sid, acct) -> (q, c)
    open_obligations: dict[str, int] | None = None
    parked: dict[bytes, int] | None = None  # hash -> units of a stop-type order waiting for its trigger


Check = Callable[[ChainState, Ledger, Expectation], None]


def check_conservation(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Per asset: holders' balances sum to the supply; the supply is what was issued net of
    redemptions."""
    for key, supply in state.supply.items():
        held = sum(state.balances[key].values())
        if held != supply:
            raise InvariantViolation(f"conservation: {key} held {held} != total supply {supply}")
        if ledger.issued.get(key, 0) != supply:
            raise InvariantViolation(f"conservation: {key} supply {supply} != issued net {ledger.issued.get(key, 0)}")


def check_custody(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """The CCP's books: per-account balances it holds sum to its custody totals, and its token
    balances cover custody (the pool of a cycle in settlement is never negative)."""
    ccp = state.ccp
    for key, total in state.custody.items():
        per_account = sum(state.prefunded[key].values())
        if per_account != total:
            raise InvariantViolation(f"custody: {key} per-account {per_account} != custody total {total}")
        if ccp is not None and state.balances[key].get(ccp, 0) < total:
            raise InvariantViolation(f"custody: CCP holds {state.balances[key].get(ccp, 0)} {key} < custody {total}")


def check_flat(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Every cycle read: per security, net quantity and net cash sum to zero."""
    for cycle, obs in state.obligations.items():
        sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for o in obs:
            sums[o.security_id][0] += o.quantity
            sums[o.security_id][1] += o.cash
        for sid, (q, c) in sums.items():
            if (q, c) != (0, 0):
                raise InvariantViolation(f"flat: cycle {cycle} security {sid} sums qty {q} cash {c}")


def check_signed_trades(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Every new trade names two orders the driver signed and the venue accepted, owned by the
    buyer and the seller, bid a buy and offer a sell, at a price within both limits."""
    for t in ledger.new_trades:
        bid, offer = expect.orders.get(bytes(t["bidOrderHash"])), expect.orders.get(bytes(t["offerOrderHash"]))
        if bid is None or offer is None:
            raise InvariantViolation(f"signed trades: trade {t['tradeId']} has an order nobody signed")
        buyer, seller = to_checksum_address(t["buyer"]), to_checksum_address(t["seller"])
        if (bid.owner, bid.side, offer.owner, offer.side) != (buyer, 0, seller, 1):
            raise InvariantViolation(f"signed trades: trade {t['tradeId']} owners/sides do not match its orders")
        if bid.security_id != t["securityId"] or offer.security_id != t["securityId"]:
            raise InvariantViolation(f"signed trades: trade {t['tradeId']} security differs from its orders")
        if not offer.limit_price <= t["price"] <= bid.limit_price:
            raise InvariantViolation(f"signed trades: trade {t['tradeId']} price {t['price']} outside the limits")


def check_routes(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Routes: a trade between two Direct orders settled gross at once (its ``TradeSettledDirect``
    carries the trade's buyer, seller, security, quantity and cash), any other went to the CCP;
    and nothing settled directly without a trade of two signed orders behind it."""
    for t in ledger.new_trades:
        bid, offer = expect.orders.get(bytes(t["bidOrderHash"])), expect.orders.get(bytes(t["offerOrderHash"]))
        if bid is None or offer is None:
            continue  # check_signed_trades names it
        direct = int(t["tradeId"]) in ledger.direct
        if direct != (bid.route == 1 and offer.route == 1):
            raise InvariantViolation(f"routes: trade {t['tradeId']} (routes {bid.route}/{offer.route}) "
                                     f"{'settled directly' if direct else 'was not settled directly'}")
    for trade_id, d in ledger.direct.items():
        t = ledger.trades.get(trade_id)
        if t is None:
            raise InvariantViolation(f"routes: direct settlement of trade {trade_id} without a trade")
        same = (str(d["buyer"]).lower(), str(d["seller"]).lower(), d["securityId"], d["quantity"], d["cashAmount"]) == (
            str(t["buyer"]).lower(), str(t["seller"]).lower(), t["securityId"], t["quantity"], t["price"] * t["quantity"])
        if not same:
            raise InvariantViolation(f"routes: direct settlement of trade {trade_id} differs from the trade")


def check_no_overfill(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Per order: traded + cancelled (+ still resting, when modelled) <= quantity (== when modelled)."""
    for h, o in expect.orders.items():
        used = ledger.filled.get(h, 0) + ledger.cancelled.get(h, 0)
        if expect.resting is not None:
            left = expect.resting[h][3] if h in expect.resting else (expect.parked or {}).get(h, 0)
            if used + left != o.quantity:
                raise InvariantViolation(
                    f"no overfill: order {h.hex()[:10]} filled {ledger.filled.get(h, 0)} + cancelled "
                    f"{ledger.cancelled.get(h, 0)} + resting {left} != quantity {o.quantity}")
        elif used > o.quantity:
            raise InvariantViolation(f"no overfill: order {h.hex()[:10]} used {used} > quantity {o.quantity}")


def check_book(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Displayed depth equals the model's; every modelled resting order is on chain as modelled."""
    if expect.depth is not None:
        for sid, want in expect.depth.items():
            got = state.depth.get(sid)
            if got != want:
                raise InvariantViolation(f"book: security {sid} depth {got} != expected {want}")
    if expect.resting is not None:
        for h, (oid, owner, shown, _left) in expect.resting.items():
            on_chain = state.orders.get(oid)
            if on_chain != (owner, shown, h):
                raise InvariantViolation(f"book: order {oid} is {on_chain}, expected {(owner, shown, h.hex())}")


def check_obligations(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Each read cycle's obligations equal the driver's netting of its trades; the CCP's count of
    unpaid obligations per account equals the model's."""
    if expect.obligations is not None:
        for cycle, obs in state.obligations.items():
            got = {(o.security_id, o.account): (o.quantity, o.cash) for o in obs}
            want = expect.obligations.get(cycle, {})
            if got != want:
                diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
                raise InvariantViolation(f"obligations: cycle {cycle} differs (chain, model): {diff}")
    if expect.open_obligations is not None:
        for account, n in state.open_obligations.items():
            if n != expect.open_obligations.get(account, 0):
                raise InvariantViolation(
                    f"obligations: {account} has {n} unpaid on chain, model {expect.open_obligations.get(account, 0)}")


def check_settled_empty(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """When no cycle is being settled (all read cycles open or settled), the CCP holds exactly
    its custody: nothing is left in the pool."""
    ccp = state.ccp
    if ccp is None or any(p not in (CyclePhase.OPEN, CyclePhase.SETTLED) for p, _, _ in state.cycles.values()):
        return
    for key, total in state.custody.items():
        held = state.balances[key].get(ccp, 0)
        if held != total:
            raise InvariantViolation(f"settled = empty: CCP holds {held} {key}, custody {total}")


CORE_CHECKS: list[tuple[str, Check]] = [
    ("conservation", check_conservation),
    ("custody", check_custody),
    ("flat", check_flat),
    ("signed trades", check_signed_trades),
    ("routes", check_routes),
    ("no overfill", check_no_overfill),
    ("book", check_book),
    ("obligations", check_obligations),
    ("settled = empty", check_settled_empty),
]


class InvariantSuite:
    """Reads the system and runs the named checks. New rules (risk: margin, default fund) add
    theirs with :meth:`add`; :meth:`check` returns the state it read."""

    def __init__(self, system: Any, security_ids: Sequence[int], *, start_block: int = 0, provider: Any = None,
                 checks: Sequence[tuple[str, Check]] = CORE_CHECKS) -> None:
        self.system = system
        self.security_ids = list(security_ids)
        self.provider = provider
        self.checks = list(checks)
        self.scanner = LogScanner(_named_contracts(system), start_block, provider)
        self.ledger = Ledger()
        self.runs = 0

    def add(self, name: str, check: Check) -> None:
        self.checks.append((name, check))

    def poll(self) -> Ledger:
        """Absorb the new logs (holders, issuance, trades, fills, cancels) into the ledger."""
        self.ledger.absorb(self.scanner.poll())
        return self.ledger

    def read(self, *, cycles: Iterable[int] = (), order_ids: Iterable[int] = ()) -> ChainState:
        state = read_state(self.system, self.security_ids, self.ledger.holders, cycles=cycles,
                           order_ids=order_ids, provider=self.provider)
        return state

    def check(self, expect: Expectation, *, cycles: Iterable[int] = (), order_ids: Iterable[int] = ()) -> ChainState:
        """Poll the logs, read the chain, run every check; raises the first violation."""
        self.poll()
        if expect.resting is not None:
            order_ids = {*order_ids, *(v[0] for v in expect.resting.values())}
        state = self.read(cycles=cycles, order_ids=order_ids)
        for name, check in self.checks:
            try:
                check(state, self.ledger, expect)
            except InvariantViolation:
                raise
            except Exception as exc:  # a check that crashes is a failed check, named
                raise InvariantViolation(f"{name}: check crashed: {exc!r}") from exc
        self.runs += 1
        return state


def _named_contracts(system: Any) -> dict[str, Any]:
    named = {"Membership": system.membership, "CashToken": system.cash, "SecurityToken": system.securities}
    named.update({f"TradeVenue{i}": v for i, v in enumerate(system.venues)})
    if system.ccp is not None:
        named["CCPSettlement"] = system.ccp
    named.update(system.extra)
    return named
