"""An order's typed data as a JSON file for cast (smartccp.trading.external): what cast signs is
what the venue verifies, big integers included."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from eth_account import Account

from smartccp.trading.external import order_template, order_typed_json, write_order
from smartccp.trading.orders import ORDER_FIELDS, Domain, Order, sign_order, typed_data
from smartccp.types import ZERO_ADDRESS, Side

ROOT = Path(__file__).resolve().parents[2]
CAST = ROOT / "node_modules" / "@foundry-rs" / "cast-linux-amd64" / "bin" / "cast"
KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"  # anvil's account 3
DOMAIN = Domain("SmartCCP Venue A", 31337, "0x" + "ab" * 20)


def order(**changes) -> Order:
    base = Order(owner=Account.from_key(KEY).address, securityId=1, side=Side.BUY, quantity=100, price=10_000_000,
                 nonce=2**200 + 7)
    return base.but(**changes)


def test_order_typed_json__integers_as_strings__otherwise_the_typed_data():
    o = order()
    written = order_typed_json(o, DOMAIN)
    plain = typed_data(o, DOMAIN)
    assert written["types"] == plain["types"] and written["primaryType"] == "Order"
    assert written["message"]["nonce"] == str(2**200 + 7) and written["message"]["side"] == "0"
    assert written["domain"]["chainId"] == "31337" and written["domain"]["name"] == "SmartCCP Venue A"
    assert {k: (int(v) if k not in ("owner", "cashWallet", "securitiesWallet") else v)
            for k, v in written["message"].items()} == plain["message"]


def test_order_template__every_field__zero():
    template = order_template()
    assert [f["name"] for f in template["types"]["Order"]] == [n for n, _ in ORDER_FIELDS]
    assert set(template["message"].values()) == {"0", ZERO_ADDRESS}
    assert template["domain"] == {"name": "", "version": "1", "chainId": "0", "verifyingContract": ZERO_ADDRESS}


def test_cast_signs_the_file__same_signature_as_the_python_client(tmp_path):
    """A nonce above 2^64 too, which cast would refuse as a JSON number."""
    for o in (order(), order(side=Side.SELL, nonce=5, quantity=10)):
        path = write_order(tmp_path / "order.json", o, DOMAIN)
        signed = subprocess.run([str(CAST), "wallet", "sign", "--data", "--from-file", str(path), "--private-key", KEY],
                                capture_output=True, text=True, check=True).stdout.strip()
        assert signed == "0x" + sign_order(o, DOMAIN, KEY).hex()


def test_cast__integer_above_2_64_as_a_json_number__refused(tmp_path):
    """Why the file holds strings: the same data with the nonce as a number does not sign."""
    data = json.loads(json.dumps(typed_data(order(), DOMAIN)))
    (tmp_path / "n.json").write_text(json.dumps(data))
    done = subprocess.run([str(CAST), "wallet", "sign", "--data", "--from-file", str(tmp_path / "n.json"),
                           "--private-key", KEY], capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "uint256" in done.stderr
