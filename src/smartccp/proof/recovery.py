"""Fault recovery: run a local node whose state survives a crash, and resume a drill from the
chain itself.

``AnvilNode`` runs an anvil process of its own (not ape's), with ``--dump-state FILE`` and
``--state-interval`` so its state is written to FILE periodically and on a graceful exit
(SIGTERM/SIGINT). SIGKILL writes nothing: what survives a crash is the last periodic dump or an
explicit :meth:`AnvilNode.checkpoint` (``anvil_dumpState``, written atomically to FILE). A
restart with ``--load-state FILE`` brings back accounts, code, storage and the blocks (with their
logs), so the invariant checks can rebuild their ledger from block 0.

A drill is a list of :class:`DrillStep` whose completion is read from the chain, never from a
local journal: an order step is done when its owner's nonce is used on the venue, a settlement
step when its cycle is settled. Re-running a completed step, or the whole drill, sends nothing.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smartccp.chain.rpc import Rpc, RpcError

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class AnvilNode:
    """One anvil process with a state file. Use as a context manager (always stopped).

    ``chain_id`` defaults to 1337, what ape's ``ethereum:local`` network expects when ape connects
    by URL (``networks.parse_network_choice("ethereum:local:<url>")`` picks its node provider,
    which signs for the local network's chain id)."""

    def __init__(self, state_file: Path, *, port: int | None = None, load: bool = False,
                 state_interval: int = 1, mnemonic: str = DEFAULT_MNEMONIC, accounts: int = 10,
                 hardfork: str = "cancun", chain_id: int = 1337, binary: str = "anvil",
                 log_file: Path | None = None) -> None:
        self.state_file = Path(state_file)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [binary, "--port", str(self.port), "--mnemonic", mnemonic, "--accounts", str(accounts),
               "--hardfork", hardfork, "--chain-id", str(chain_id), "--block-base-fee-per-gas", "0", "--gas-price", "0",
               "--dump-state", str(self.state_file), "--state-interval", str(state_interval)]
        if load:
            cmd += ["--load-state", str(self.state_file)]
        self.cmd = cmd
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None
        self.rpc = Rpc(self.url)

    def start(self, timeout: float = 20.0) -> "AnvilNode":
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(self.cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited with {self.proc.returncode}: {' '.join(self.cmd)}")
            try:
                self.rpc.call("eth_blockNumber", [])
                return self
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.05)
        self.stop(signal.SIGKILL)
        raise TimeoutError(f"anvil did not answer on {self.url} within {timeout} s")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def block_number(self) -> int:
        return int(self.rpc.call("eth_blockNumber", []), 16)

    def checkpoint(self) -> int:
        """Dump the state now (``anvil_dumpState``) and write it to the state file atomically, in
        the JSON form ``--load-state`` reads. Returns the block number it holds."""
        blob = self.rpc.call("anvil_dumpState", [])
        raw = bytes.fromhex(blob[2:]) if isinstance(blob, str) else base64.b64decode(blob)
        try:
            raw = gzip.decompress(raw)
        except OSError:
            pass  # not compressed
        state = json.loads(raw)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.state_file)
        return int(state.get("best_block_number", "0x0"), 16) if isinstance(state.get("best_block_number"), str) \
            else int(state.get("best_block_number", 0))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        """Send ``sig`` to this process only (SIGTERM/SIGINT: anvil dumps its state on the way
        out; SIGKILL: nothing is written) and wait for it. Returns the exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout)

    def __enter__(self) -> "AnvilNode":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop(signal.SIGKILL)


def wait_for_dump(state_file: Path, newer_than: float, timeout: float = 10.0) -> None:
    """Wait until the periodic dump has rewritten ``state_file`` after ``newer_than`` (epoch s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if state_file.exists() and state_file.stat().st_mtime > newer_than and state_file.stat().st_size > 0:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{state_file} was not dumped within {timeout} s")


# ─── Drills that resume from the chain ───────────────────────────────────────────────────────


@dataclass(frozen=True)
class DrillStep:
    """One step of a drill: ``done()`` reads the chain; ``run()`` performs the step."""

    name: str
    done: Callable[[], bool]
    run: Callable[[], Any]


@dataclass
class DrillReport:
    performed: list[str]
    skipped: list[str]


def run_drill(steps: Iterable[DrillStep]) -> DrillReport:
    """Perform every step not yet done on chain, in order; skip the others."""
    report = DrillReport([], [])
    for step in steps:
        if step.done():
            report.skipped.append(step.name)
            continue
        step.run()
        report.performed.append(step.name)
    return report


def order_step(name: str, venue: Any, order: Any, signer: Any, *, place: Callable[..., Any] | None = None) -> DrillStep:
    """A drill step submitting one signed order with a fixed nonce: done once the venue has used
    that nonce (placed, or invalidated by the owner). ``order`` is a ``smartccp.trading.orders.Order``
    with ``nonce`` set; ``place`` defaults to ``VenueClient(venue).place``."""
    if order.nonce is None:
        raise ValueError("a drill order needs a fixed nonce, so its completion can be read on chain")

    def run() -> Any:
        if place is not None:
            return place(order, signer)
        from smartccp.trading.venue import VenueClient

        return VenueClient(venue).place(order, signer)

    return DrillStep(name, lambda: bool(venue.nonceUsed(order.owner, order.nonce)), run)


def settle_step(name: str, ccp: Any, cycle_id: int, keeper: Any) -> DrillStep:
    """A drill step settling ``cycle_id`` (resuming a partly settled one): done once settled."""
    from smartccp.clearing.ccp import run_cycle
    from smartccp.types import CyclePhase

    return DrillStep(name, lambda: int(ccp.cycleInfo(cycle_id)[0]) == CyclePhase.SETTLED,
                     lambda: run_cycle(ccp, cycle_id, keeper))


__all__ = ["AnvilNode", "DrillReport", "DrillStep", "RpcError", "free_port", "order_step", "run_drill",
           "settle_step", "wait_for_dump"]
