"""Helpers of the settlement-failure tests: settle a due cycle, and what each account's
balances moved by."""

from __future__ import annotations

from smartccp.clearing.ccp import run_cycle, warp_past


def settle(ccp, cycle, keeper):  # noqa: ANN001, ANN201
    """Move time to when ``cycle`` may settle and settle it in chunks of 10 steps."""
    warp_past(ccp, cycle)
    return run_cycle(ccp, cycle, keeper, chunk=10)


def deltas(balances, before, *accounts):  # noqa: ANN001, ANN201
    """Per account, (cash, equity, bond) now minus ``before`` (a ``balances`` snapshot)."""
    after = balances(*accounts)
    return [tuple(n - o for n, o in zip(after[str(x)], before[str(x)])) for x in accounts]
