"""EIP-712 orders: the Python definition agrees with the contract's, and signing works both with
local keys and with accounts the node signs for."""

from __future__ import annotations

import pytest

from smartccp.chain.eip712 import compact
from smartccp.trading.orders import Domain, sign_order
from smartccp.types import Side
from smartccp.units import cash


def test_hash_order__python_equals_contract(venue, client, make_order, member_a):
    order = make_order(member_a, Side.BUY, 100, cash("10.00"), nonce=7, expiry=2**40, displayQuantity=0)
    assert venue.hashOrder(order.as_tuple()) == client.hash(order)


def test_hash_order__every_field_counts(venue, client, make_order, member_a):
    base = make_order(member_a, Side.BUY, 100, cash("10.00"), nonce=7)
    changed = [base.but(**{f: v}) for f, v in
               [("side", Side.SELL), ("quantity", 110), ("price", cash("10.01")), ("nonce", 8), ("counter", 1),
                ("triggerPrice", 1), ("validFrom", 1), ("expiry", 1), ("orderType", 1), ("timeInForce", 1),
                ("route", 1), ("displayQuantity", 1), ("securityId", 2)]]
    hashes = {client.hash(o) for o in changed} | {client.hash(base)}
    assert len(hashes) == len(changed) + 1
    for o in changed[:3]:
        assert venue.hashOrder(o.as_tuple()) == client.hash(o)


def test_sign__node_managed_account_matches_local_key(client, make_order, member_a):
    """anvil signs for its unlocked accounts over RPC (eth_signTypedData_v4)."""

    class NodeAccount:  # no private key: the node signs
        address = member_a.address

    order = make_order(member_a, Side.SELL, 10, cash("1.00"), nonce=1)
    assert sign_order(order, client.domain, NodeAccount()) == sign_order(order, client.domain, member_a)


def test_domain__binds_chain_and_venue(client, make_order, member_a):
    order = make_order(member_a, Side.SELL, 10, cash("1.00"), nonce=1)
    other_chain = Domain(client.domain.name, 1, client.domain.verifying_contract)
    other_venue = Domain(client.domain.name, client.domain.chain_id, "0x" + "11" * 20)
    assert len({client.hash(order), *(sign_order(order, d, member_a) for d in (other_chain, other_venue))}) == 3


def test_compact_signature__eip2098_layout():
    """r stays; vs is s with v - 27 in its top bit; anything but 65 bytes with v 27/28 is refused."""
    r, s = b"\x11" * 32, (0x22).to_bytes(32, "big")
    assert compact(r + s + bytes([27])) == r + s
    assert compact(r + s + bytes([28])) == r + bytes([0x80]) + s[1:]
    assert compact(r + s + bytes([1])) == r + bytes([0x80]) + s[1:]  # v given as 0/1
    with pytest.raises(ValueError):
        compact(r + s)
    with pytest.raises(ValueError):
        compact(r + s + bytes([29]))
