"""What clients outside Python use to trade: an order's EIP-712 typed data as a JSON file for
``cast wallet sign --data --from-file``, and every file ``make abi`` writes into ``abi/``.

The typed data is :func:`smartccp.trading.orders.typed_data` (so the one definition of the Order
type, ``ORDER_FIELDS``) with its integers as decimal strings (:func:`smartccp.chain.eip712.json_payload`).
``abi/Order.eip712.json`` is the same for an empty order under an empty domain: a template that
a client fills with ``jq`` (docs/clients.md) and signs with cast, no Python needed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smartccp.chain import abi, eip712
from smartccp.trading.orders import Domain, Order, typed_data
from smartccp.types import ZERO_ADDRESS, Side

ORDER_TEMPLATE_FILE = "Order.eip712.json"


def order_typed_json(order: Order, domain: Domain) -> dict[str, Any]:
    """The typed data of ``order`` (which has its nonce) under ``domain``, integers as decimal
    strings: what ``cast wallet sign --data --from-file`` signs into the venue's signature."""
    return eip712.json_payload(typed_data(order, domain))


def order_template() -> dict[str, Any]:
    """The typed data of an all-zero order (owner, security, quantity, price, nonce 0; a good-till-
    cancel limit buy through the CCP) under a domain with an empty name, chain 0 and the zero
    address: the fields a client sets are the domain's name, chainId and verifyingContract (the
    venue's ``eip712Domain()``) and the message's."""
    empty = Order(owner=ZERO_ADDRESS, securityId=0, side=Side.BUY, quantity=0, price=0, nonce=0)
    return order_typed_json(empty, Domain(name="", chain_id=0, verifying_contract=ZERO_ADDRESS))


def write_order(path: Path, order: Order, domain: Domain) -> Path:
    """Write :func:`order_typed_json` to ``path`` (two-space JSON); returns ``path``."""
    path.write_text(json.dumps(order_typed_json(order, domain), indent=2) + "\n")
    return path


def client_files(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Everything ``make abi`` writes into ``abi/``, by file name: the ABIs, errors and
    signatures of the build ``manifest`` (:func:`smartccp.chain.abi.abi_files`) and the Order
    typed-data template."""
    return {**abi.abi_files(manifest), ORDER_TEMPLATE_FILE: order_template()}
