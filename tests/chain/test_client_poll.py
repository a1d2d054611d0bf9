"""smartccp.chain.receipts: the receipt poll is set once, idempotently, and transactions still mine."""

import functools

import pytest

from smartccp.chain.receipts import FAST_POLL_S, receipt_poll, set_receipt_poll


def test_session_uses_fast_poll(networks):
    assert receipt_poll(networks.provider.web3) == FAST_POLL_S


def test_set_is_idempotent_and_keeps_the_original(networks, accounts):
    web3 = networks.provider.web3
    original = web3.eth._smartccp_wait_original
    set_receipt_poll(web3, 0.02)
    set_receipt_poll(web3, 0.01)
    wait = web3.eth.wait_for_transaction_receipt
    assert isinstance(wait, functools.partial) and wait.func is original  # not wrapped twice
    assert receipt_poll(web3) == 0.01
    receipt = accounts[0].transfer(accounts[1], 1)
    assert receipt.status == 1
    set_receipt_poll(web3)
    assert receipt_poll(web3) == FAST_POLL_S


@pytest.mark.parametrize("bad", [0, -0.1])
def test_non_positive_poll_refused(networks, bad):
    with pytest.raises(ValueError, match="poll_latency must be positive"):
        set_receipt_poll(networks.provider.web3, bad)
    assert receipt_poll(networks.provider.web3) == FAST_POLL_S


def test_rollback__exception_inside__propagates_and_chain_is_restored(rollback, chain, accounts):
    """The ``rollback`` fixture (tests/conftest.py) must not hide a failing assertion, as ape's
    ``chain.isolate()`` does, and must still undo the block's transactions."""
    a, b = accounts[0], accounts[9]
    before = b.balance
    with pytest.raises(AssertionError, match="seen"):
        with rollback():
            a.transfer(b, 1)
            assert b.balance == before + 1
            raise AssertionError("seen")
    assert b.balance == before



def test_console_log_scan__skipped_in_the_session__ape_default_would_run_it(system, operator, monkeypatch):
    """With the scan skipped (the session's client), a transaction to a contract confirms and ape
    never asks its receipt for console output (a trace); with ape's own hook it would."""
    import ape_ethereum.provider as ape_provider
    from ape.api import ReceiptAPI

    from smartccp.chain import receipts
    from smartccp.chain.roles import OPERATOR_ROLE

    scans = []
    monkeypatch.setattr(ReceiptAPI, "show_debug_logs", lambda self: scans.append(self.txn_hash))
    assert ape_provider._post_send_transaction is receipts._confirmed
    assert system.membership.grantRole(OPERATOR_ROLE, operator, sender=operator).status == 1
    assert scans == []

    monkeypatch.setattr(ape_provider, "_post_send_transaction", receipts.ape_post_send)
    system.membership.grantRole(OPERATOR_ROLE, operator, sender=operator)
    assert len(scans) == 1

