"""Raw transactions in bulk, for runs of tens of thousands of transactions (the scale day).

ape sends one transaction at a time and waits for its receipt; at that pace a day of 100,000
orders takes hours. :class:`RawSender` does what a gateway's sequencer would: it encodes calls
from the contracts' ABIs (``eth_abi``), signs legacy EIP-155 transactions itself (RLP, keccak and
secp256k1 in C through ``coincurve``: about 0.2 ms each, against 1.8 ms through
``eth_account``), keeps every sender's nonce locally, hands the node a whole wave of
transactions in one JSON-RPC batch of ``eth_sendRawTransaction`` with automine off, mines them
in big blocks and reads back every receipt of a block in one ``eth_getBlockReceipts``.

Local development nodes only (anvil): it sets balances, the block gas limit and automine.
Nothing here decides what a transaction does; the caller reads the receipts (status, gas,
logs as raw topics and data).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import coincurve
import rlp
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_canonical_address, to_checksum_address

from smartccp.chain.rpc import Rpc, as_int

#: Block gas limit set for a bulk run (anvil): a wave of big batches fits in few blocks.
BULK_BLOCK_GAS = 3_000_000_000
#: Transactions per JSON-RPC batch request.
RPC_BATCH = 500
#: ... and at most this many bytes of hex-encoded transactions (the node limits a request's size).
RPC_BATCH_BYTES = 2_000_000
GAS_PRICE = 2 * 10**9


def abi_type(param: dict[str, Any]) -> str:
    """The canonical type string of an ABI parameter (tuples spelled out, arrays kept)."""
    t = param["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in param["components"]) + ")" + t[len("tuple"):]
    return t


class Abi:
    """Calldata encoder and event topics of one contract, from its ABI (a list of dicts)."""

    def __init__(self, abi: Sequence[dict[str, Any]]):
        self.functions: dict[str, tuple[bytes, list[str]]] = {}
        self.events: dict[str, bytes] = {}
        self.event_abi: dict[str, dict[str, Any]] = {}
        for item in abi:
            if item.get("type") == "function":
                types = [abi_type(p) for p in item["inputs"]]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                self.functions.setdefault(item["name"], (selector, types))
            elif item.get("type") == "event":
                types = [abi_type(p) for p in item["inputs"]]
                self.events[item["name"]] = keccak(text=f"{item['name']}({','.join(types)})")
                self.event_abi[item["name"]] = item

    @classmethod
    def of(cls, contract: Any) -> Abi:
        """The ABI of an ape ``ContractInstance``."""
        return cls(contract.contract_type.model_dump(mode="json", by_alias=True)["abi"])

    def call(self, name: str, *args: Any) -> bytes:
        """Calldata of ``name(*args)``."""
        selector, types = self.functions[name]
        return selector + abi_encode(types, list(args))


@dataclass(frozen=True)
class Tx:
    """One transaction to send: ``sender`` a key address (checksummed), ``data`` calldata."""

    sender: str
    to: str
    data: bytes
    gas: int
    tag: Any = None


@dataclass
class Receipt:
    """What a mined transaction did: status, gas used and its raw logs (address, topics, data)."""

    tx_hash: str
    status: bool
    gas_used: int
    block: int
    logs: list[dict[str, Any]]
    tag: Any = None

    def logs_of(self, topic0: bytes, address: str | None = None) -> list[dict[str, Any]]:
        """The logs whose first topic is ``topic0`` (from ``address`` if given)."""
        want = "0x" + topic0.hex()
        addr = address.lower() if address else None
        return [log for log in self.logs
                if log["topics"] and log["topics"][0] == want and (addr is None or log["address"].lower() == addr)]


@dataclass
class WaveStats:
    """Running totals over every wave sent: transactions, gas, blocks, wall seconds by part."""

    txs: int = 0
    failed: int = 0
    gas: int = 0
    blocks: int = 0
    max_tx_gas: int = 0
    sign_s: float = 0.0
    send_s: float = 0.0
    mine_s: float = 0.0
    receipts_s: float = 0.0


class RawSender:
    """Signs and sends transactions in waves on a local node; see the module docstring.

    Args:
        rpc: a :class:`smartccp.chain.rpc.Rpc` on the node.
        chain_id: the node's chain id.
    """

    def __init__(self, rpc: Rpc, chain_id: int):
        self.rpc, self.chain_id = rpc, chain_id
        self.keys: dict[str, coincurve.PrivateKey] = {}
        self.nonces: dict[str, int] = {}
        self.stats = WaveStats()

    # ─── accounts ───

    def add_key(self, private_key: bytes | str) -> str:
        """Register a private key; returns its checksummed address (nonce read from the node)."""
        key = bytes.fromhex(private_key.removeprefix("0x")) \
            if isinstance(private_key, str) else bytes(private_key)
        pk = coincurve.PrivateKey(key)
        address = to_checksum_address(keccak(pk.public_key.format(compressed=False)[1:])[-20:])
        self.keys[address] = pk
        self.nonces[address] = as_int(self.rpc.call("eth_getTransactionCount", [address, "pending"]))
        return address

    def resync(self, *addresses: str) -> None:
        """Read the nonces of ``addresses`` again (after they sent transactions through ape)."""
        for a in addresses:
            self.nonces[a] = as_int(self.rpc.call("eth_getTransactionCount", [a, "pending"]))

    def add_account(self, account: Any) -> str:
        """Register an ape account that holds its key (``private_key``)."""
        return self.add_key(account.private_key)

    def new_accounts(self, seed: str, n: int, balance: int = 10**21) -> list[str]:
        """``n`` reproducible accounts (key = keccak(f"{seed}:{i}")) given ``balance`` wei."""
        out = [self.add_key(keccak(text=f"{seed}:{i}")) for i in range(n)]
        for i in range(0, n, RPC_BATCH):
            self.rpc.batch([("anvil_setBalance", [a, hex(balance)]) for a in out[i:i + RPC_BATCH]])
        return out

    # ─── node settings ───

    def bulk_mode(self, on: bool = True, block_gas: int = BULK_BLOCK_GAS) -> None:
        """Automine off and a big block gas limit (``on``), or automine back on."""
        if on:
            self.rpc.call("anvil_setBlockGasLimit", [hex(block_gas)])
        self.rpc.call("evm_setAutomine", [not on])

    # ─── signing ───

    def sign(self, tx: Tx) -> bytes:
        """The raw signed legacy (EIP-155) transaction."""
        nonce = self.nonces[tx.sender]
        self.nonces[tx.sender] = nonce + 1
        to = to_canonical_address(tx.to)
        fields = [nonce, GAS_PRICE, tx.gas, to, 0, tx.data]
        digest = keccak(rlp.encode(fields + [self.chain_id, 0, 0]))
        sig = self.keys[tx.sender].sign_recoverable(digest, hasher=None)
        r, s, rec = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
        return rlp.encode(fields + [rec + 35 + 2 * self.chain_id, r, s])

    # ─── waves ───

    def wave(self, txs: Iterable[Tx]) -> list[Receipt]:
        """Sign and send ``txs`` (in order per sender), mine until all are in, return their
        receipts in the order given. A transaction that reverts has ``status`` False."""
        txs = list(txs)
        if not txs:
            return []
        t0 = time.perf_counter()
        raws = [self.sign(tx) for tx in txs]
        t1 = time.perf_counter()
        hashes: list[str] = []
        chunk: list[tuple[str, list[Any]]] = []
        size = 0
        for r in raws:
            chunk.append(("eth_sendRawTransaction", ["0x" + r.hex()]))
            size += 2 * len(r)
            if len(chunk) == RPC_BATCH or size > RPC_BATCH_BYTES:
                hashes += self.rpc.batch(chunk)
                chunk, size = [], 0
        hashes += self.rpc.batch(chunk)
        t2 = time.perf_counter()
        first = as_int(self.rpc.call("eth_blockNumber", []))
        pending = len(txs)
        last = first
        while pending:
            self.rpc.call("evm_mine", [])
            last += 1
            status = self.rpc.call("txpool_status", [])
            pending = as_int(status["pending"]) + as_int(status["queued"])
            if pending and last - first > len(txs) + 2:  # a block each and still not mined
                content = self.rpc.call("txpool_inspect", [])
                raise RuntimeError(f"{pending} transactions left in the pool after {last - first} blocks: "
                                   f"{str(content)[:2000]}")
        t3 = time.perf_counter()
        by_hash: dict[str, Receipt] = {}
        blocks = self.rpc.batch([("eth_getBlockReceipts", [hex(b)]) for b in range(first + 1, last + 1)])
        for number, block in zip(range(first + 1, last + 1), blocks):
            for r in block or []:
                by_hash[r["transactionHash"]] = Receipt(r["transactionHash"], as_int(r["status"]) == 1,
                                                        as_int(r["gasUsed"]), number, r["logs"])
        t4 = time.perf_counter()
        out = []
        for tx, h in zip(txs, hashes):
            receipt = by_hash[h]
            receipt.tag = tx.tag
            out.append(receipt)
        st = self.stats
        st.txs += len(out)
        st.failed += sum(not r.status for r in out)
        st.gas += sum(r.gas_used for r in out)
        st.max_tx_gas = max([st.max_tx_gas] + [r.gas_used for r in out])
        st.blocks += last - first
        st.sign_s += t1 - t0
        st.send_s += t2 - t1
        st.mine_s += t3 - t2
        st.receipts_s += t4 - t3
        return out


@dataclass
class Phase:
    """Gas and wall time of one phase of a run, with its transactions' largest gas."""

    name: str
    txs: int = 0
    gas: int = 0
    max_tx_gas: int = 0
    failed: int = 0
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def finish(self) -> None:
        """Set the wall time from the phase's creation until now."""
        self.wall_s = time.perf_counter() - self.started

    def add(self, receipts: Sequence[Receipt]) -> None:
        self.txs += len(receipts)
        self.gas += sum(r.gas_used for r in receipts)
        self.failed += sum(not r.status for r in receipts)
        if receipts:
            self.max_tx_gas = max(self.max_tx_gas, max(r.gas_used for r in receipts))
