"""Chain time, and waiting for it without moving it.

Every operation that must wait for its time (a settlement cycle's end, a margin call's deadline,
the closing auction) asks a :class:`Clock`. On a real network the clock **waits**: it sleeps until
the wall clock passes the due time and the chain has a block at or after it. On a node that mines
only when it receives a transaction (anvil's and Hardhat's automine), no block would come by
itself, so once the due time has passed by :attr:`Clock.grace` seconds the clock sends one
zero-value transfer to itself from its ``heartbeat`` account: a standard transaction, whose block
carries the node's current time. On ape's own local test chain a clock made with ``warp=True``
moves the chain's time instead (``evm_setNextBlockTimestamp`` via ape): the same operations, only
less waiting. Times are unix seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ape import chain, networks


def can_warp() -> bool:
    """Whether the connected chain is ape's local test chain, whose clock may be moved."""
    return bool(networks.provider.network.is_local)


class Clock:
    """Chain time for the operations.

    Args:
        warp: move the chain's time instead of waiting (local test chains only; default: when
            the chain allows it).
        heartbeat: an account that may send a zero-value transfer to itself to get a block
            mined once a due time has passed (None: only wait for blocks).
        say: called with a progress line while waiting.
        poll: seconds between looks at the chain while waiting.
    """

    grace = 1.0  # seconds past a due time before a heartbeat is sent

    def __init__(self, *, warp: bool | None = None, heartbeat: Any = None,
                 say: Callable[[str], None] | None = None, poll: float = 0.25):
        self.warp = can_warp() if warp is None else warp
        if self.warp and not can_warp():
            raise RuntimeError("only a local test chain's clock can be moved: use a waiting Clock (warp=False)")
        self.heartbeat = heartbeat
        self.say = say or (lambda _line: None)
        self.poll = poll
        self.heartbeats = 0

    def now(self) -> int:
        """The latest block's timestamp: what a read sees; the next block is at or after it."""
        return int(chain.blocks.head.timestamp)

    def due(self, t: int) -> bool:
        """Whether the chain's time has reached ``t``."""
        return self.now() >= t

    def wait_until(self, t: int, what: str = "") -> None:
        """Return once the chain has a block at or after ``t`` (move the clock there if warping)."""
        if self.due(t):
            return
        if self.warp:
            chain.pending_timestamp = max(int(t), chain.pending_timestamp)
            chain.mine()
            return
        self.say(f"waiting {max(0, t - int(time.time()))} s for {what or t}")
        while not self.due(t):
            wall = time.time()
            if wall >= t + self.grace and self.heartbeat is not None:
                self.heartbeat.transfer(self.heartbeat, 0)
                self.heartbeats += 1
                continue
            time.sleep(max(0.05, min(self.poll, t + self.grace - wall)))
