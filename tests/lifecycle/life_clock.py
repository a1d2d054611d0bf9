"""The lifecycle tests' clock: move the local chain to a time, with or without a block there."""

from __future__ import annotations

import ape


def at(t: int, *, mine: bool = True) -> None:
    """Move the chain to ``t``: a block at ``t`` (``mine``), or only the next transaction's
    time (so that transaction lands exactly at ``t``, as hand-computed figures need)."""
    ape.chain.pending_timestamp = t
    if mine:
        ape.chain.mine()
