"""The node a scale day runs on: an anvil of its own, without step tracing.

ape's embedded anvil (ape-foundry) always runs with ``--steps-tracing``, which keeps every
opcode step of every transaction in memory: a scale day of 40 members and 3,000 orders grew it
past 12 GB, and the small day of 10 members to 12 GB before it ended. The scale day therefore runs on
a node started here (no step tracing, no old states kept: see :data:`ANVIL_ARGS`) and reached by
URL; at that size it stays under 300 MB.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[3]
#: The npm anvil that ``tools/bin/anvil`` wraps; called directly, because the wrapper's
#: ``--max-persisted-states 0`` and ``--prune-history`` exclude each other.
ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
#: No history states kept beyond the last few (no ``eth_call`` at an old block is needed), nothing
#: written to disk: memory stays flat over a day of hundreds of blocks.
ANVIL_ARGS = ("--prune-history",)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def scale_node(*, log: Path | None = None, timeout_s: float = 30.0) -> Iterator[str]:
    """Start an anvil on a free port for the duration of the block; yields its URL. The node is
    stopped (by its process) when the block ends."""
    port = free_port()
    with open(log, "w") if log is not None else nullcontext(subprocess.DEVNULL) as out:
        proc = subprocess.Popen([str(ANVIL), *ANVIL_ARGS, "--port", str(port)], cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                                  timeout=2)
                    break
                except requests.ConnectionError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"anvil did not start on {url}") from None
                    time.sleep(0.1)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
