"""Many view calls in one ``eth_call``: the ``MockMulticall`` runtime placed by state override
(nothing is deployed), so any node with ``eth_call`` state overrides (anvil, geth) answers a whole
read of the system in one round trip. Decoding of static return types is precompiled per ABI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak, to_checksum_address

from smartccp.chain.rpc import rpc_or_default

#: Where the multicall runtime is placed by state override (an address nobody owns).
MULTICALL_ADDRESS = "0x00000000000000000000000000000000c0ffee01"
_AGGREGATE = keccak(text="aggregate((address,bytes)[])")[:4]

# ─── Reading: many view calls in one eth_call ───────────────────────────────────────────────


_ABIS: dict[tuple[str, str, int], tuple[bytes, list[str], list[str]]] = {}


def method_abi(contract: Any, name: str, nargs: int) -> tuple[bytes, list[str], list[str]]:
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
        selector, inputs, outputs = method_abi(contract, method, len(args))
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
        provider = rpc_or_default(self.provider)
        raw = provider.make_request("eth_call", [tx, "latest", {MULTICALL_ADDRESS: {"code": self.runtime()}}])
        raw = bytes.fromhex(raw[2:]) if isinstance(raw, str) else bytes(raw)
        out = []
        for (_, _, decoder), result in zip(self.calls, _decode_bytes_array(raw)):
            values = decoder(result)
            out.append(values[0] if len(values) == 1 else values)
        self.calls = []
        return out


