"""How the Python client waits for receipts, and what it does after each one.

ape waits for every transaction with web3's ``wait_for_transaction_receipt``, which asks once
and then sleeps ``poll_latency`` (0.1 s by default) between asks. On anvil with automine a
transaction is mined within milliseconds, so whenever the first ask comes too early the client
sleeps a full 0.1 s for nothing: that, not the chain, set the rate of order submission. A
shorter poll only changes how often the client asks the node; it changes nothing on chain.

After every transaction to a contract, ape also looks for Solidity ``console.log`` output: a code
lookup and a full trace of the transaction (``debug_traceTransaction``), which on this machine
took about a third of the client's time per transaction. SmartCCP's contracts never log to the
console (``tests/toolchain/test_layout.py`` checks that none imports ``console.sol``), so
:func:`skip_console_log_scan` turns that lookup off. Neither changes anything on chain.
"""

from __future__ import annotations

import functools
from typing import Any

#: Seconds between receipt polls used by SmartCCP's client (web3's default is 0.1).
FAST_POLL_S = 0.005


def set_receipt_poll(web3: Any, poll_latency: float = FAST_POLL_S) -> None:
    """Make ``web3.eth.wait_for_transaction_receipt`` poll every ``poll_latency`` seconds.

    Idempotent: the original method is kept and re-wrapped, never wrapped twice. Applies to
    every transaction sent through this web3 instance (ape's provider included)."""
    if poll_latency <= 0:
        raise ValueError(f"poll_latency must be positive, got {poll_latency}")
    eth = web3.eth
    original = getattr(eth, "_smartccp_wait_original", None) or eth.wait_for_transaction_receipt
    eth._smartccp_wait_original = original
    eth.wait_for_transaction_receipt = functools.partial(original, poll_latency=poll_latency)


def receipt_poll(web3: Any) -> float:
    """The poll interval currently used by ``web3`` (web3's default when never set)."""
    wait = web3.eth.wait_for_transaction_receipt
    if isinstance(wait, functools.partial):
        return float(wait.keywords["poll_latency"])
    return 0.1


def use_fast_receipts() -> None:
    """Apply :data:`FAST_POLL_S` to ape's connected provider (call once connected)."""
    from ape import networks

    set_receipt_poll(networks.provider.web3)


#: ape's own after-transaction hook, kept when :func:`skip_console_log_scan` replaces it.
ape_post_send: Any = None


def _confirmed(tx: Any, receipt: Any) -> None:
    """What ape does after a transaction, less the console-log scan: the confirmation line."""
    from ape.logging import logger

    logger.info(f"Confirmed {receipt.txn_hash} (total fees paid = {receipt.total_fees_paid})")


def skip_console_log_scan() -> None:
    """Stop ape tracing every transaction for ``console.log`` output (see the module docstring).
    Idempotent; applies to every provider of the process."""
    import ape_ethereum.provider as ape_provider

    global ape_post_send
    if ape_provider._post_send_transaction is not _confirmed:
        ape_post_send = ape_provider._post_send_transaction
    ape_provider._post_send_transaction = _confirmed


def use_lean_client() -> None:
    """:func:`use_fast_receipts` and :func:`skip_console_log_scan`: what scripts, the bench and
    the tests run with (call once connected)."""
    use_fast_receipts()
    skip_console_log_scan()
