"""docs/clients.md, run: its shell blocks with Foundry's real ``cast`` against this test's anvil.

A whole system (register, ledgers, CCP, one venue, Margin gating the venue, DefaultFund, BBO) is
deployed and its registry saved in a temporary folder, as ``ape run deploy`` records it; a trade
leaves obligations in the CCP's cycle and two resting orders make a quote. The walk-through's
blocks then run in one bash process, in that folder (``abi`` links to the committed ``abi/``),
with only the node's URL swapped for this anvil's. Its member signs an order with
``cast wallet sign --data`` and sends it with ``cast send``; the order is read back here with the
Python client; a second, too large order is refused and decoded by name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smartccp.chain import registry
from smartccp.chain.accounts import DEV_CHAIN_ID
from smartccp.chain.rpc import connected_url
from smartccp.chain.system import System, deploy_system, issue_equity, list_security, onboard
from smartccp.risk.chain import deploy_risk, margin_status, publish_prices, publish_scenarios
from smartccp.trading.bbo import deploy_bbo
from smartccp.trading.external import order_typed_json
from smartccp.trading.orders import Order, sign_order
from smartccp.trading.venue import VenueClient
from smartccp.types import MAX_UINT, Side
from smartccp.units import cash

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "clients.md"
CAST_DIR = ROOT / "node_modules" / "@foundry-rs" / "cast-linux-amd64" / "bin"
#: The node URL the walk-through uses, replaced by this test's anvil.
DOC_RPC = "http://127.0.0.1:8545"
#: A shell block the test runs starts with this line (```sh, then the marker).
MARKER = "# clients.md: run by tests/e2e/test_cast_clients.py"
PRICE = cash("10.00")
SHOCKS = [-2000 + 250 * i for i in range(16)]  # bps: -20 % .. +17.5 %


def doc_blocks(text: str) -> list[str]:
    """The marked ```sh blocks of ``text``, in order, without their fences."""
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return [b for b in blocks if b.startswith(MARKER)]


def cast_path() -> str:
    """The cast binary: from node_modules (``make setup``), else from PATH."""
    found = shutil.which("cast", path=f"{CAST_DIR}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.fail("cast not found: run `make setup` (npm @foundry-rs/cast)")
    return found


def deploy_market(operator: Any, bank: Any, issuer: Any, member_a: Any, member_b: Any, member_c: Any) -> tuple[System, int]:
    """The system the walk-through reads: ACME (id 1 on its own DLT-CSD) trading T+1 on one venue
    gated by Margin; member_b sold 100 at 10.00 to member_c (an obligation each in the cycle);
    member_c bids 30 at 9.90, member_b offers 50 at 10.20; member_a posted 1,000.00 cash margin."""
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    risk = deploy_risk(system, operator)
    sid = issue_equity(system, issuer, tick=cash("0.01"), lot=10)
    members = (member_a, member_b, member_c)
    onboard(system, operator, members, bank=bank, issuer=issuer, cash=cash(1_000_000), units={sid: 10_000})
    list_security(system, operator, sid, lag_days=1)
    publish_scenarios(risk.margin, {sid: SHOCKS}, operator)
    publish_prices(risk.margin, {sid: PRICE}, operator)
    deploy_bbo(system, operator)
    for m, posted in zip(members, (cash(1_000), cash(100_000), cash(100_000)), strict=True):
        system.cash.approve(risk.margin, MAX_UINT, sender=m)
        risk.margin.depositCash(posted, sender=m)
    venue = VenueClient(system.venue)
    for owner, side, qty, price in ((member_b, Side.SELL, 100, PRICE), (member_c, Side.BUY, 100, PRICE),
                                    (member_c, Side.BUY, 30, cash("9.90")), (member_b, Side.SELL, 50, cash("10.20"))):
        venue.place(Order(owner=str(owner.address), securityId=sid, side=side, quantity=qty, price=price), owner)
    return system, sid


def expected_outputs(text: str) -> list[str]:
    """The ```text blocks of ``text``: output the walk-through shows and the run must print, line
    for line (plain ``` blocks are illustrations, e.g. with addresses of another deployment)."""
    return re.findall(r"^```text\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


@dataclass
class Run:
    """One run of the walk-through: its folder, output and the shell variables it ended with."""

    folder: Path
    stdout: str
    vars: dict[str, str]

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


#: Shell variables the test reads back after the doc's blocks.
READ_BACK = ("ME", "VENUE", "SID", "NONCE", "COUNTER", "SIG", "ORDER_ID", "DATA", "NAME")


@pytest.fixture(scope="module")
def market(operator, bank, issuer, member_a, member_b, member_c):
    return deploy_market(operator, bank, issuer, member_a, member_b, member_c)


@pytest.fixture(scope="module")
def walk_through(market, tmp_path_factory) -> Run:
    """The doc's marked blocks run once, in order, in one ``bash -euo pipefail``: in a fresh
    folder holding the registry and a link to ``abi/``, the node's URL swapped for this anvil's."""
    system, _ = market
    folder = tmp_path_factory.mktemp("clients")
    (folder / "abi").symlink_to(ROOT / "abi")
    system.save(registry.registry_path("ethereum", "custom", folder / "deployments", chain_id=DEV_CHAIN_ID))
    blocks = doc_blocks(DOC.read_text())
    script = "\n".join(blocks)
    assert DOC_RPC in script, "the walk-through no longer sets ETH_RPC_URL to the local node's URL"
    script = script.replace(DOC_RPC, connected_url())
    script += "\necho '::vars'\n" + "".join(f'printf "%s=%s\\n" {v} "${v}"\n' for v in READ_BACK)
    if shutil.which("jq") is None:
        pytest.fail("jq not found: docs/clients.md needs it (apt-get install jq)")
    env = {**os.environ, "PATH": f"{Path(cast_path()).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("ETH_RPC_URL", None)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, f"docs/clients.md failed:\n{done.stdout}\n{done.stderr}"
    out, _, tail = done.stdout.partition("::vars\n")
    return Run(folder, out, dict(line.split("=", 1) for line in tail.splitlines()))


# ─── The walk-through ────────────────────────────────────────────────────────────────────────


def test_doc__marked_blocks__cover_every_step():
    text = DOC.read_text()
    blocks = doc_blocks(text)
    assert len(blocks) == 8
    joined = "\n".join(blocks)
    for command in ("quoteOf", "topOfBook", "obligationAt", "marginStatus", "cast wallet sign --data",
                    "cast send", "cast decode-error --sig", "abi/errors.json"):
        assert command in joined
    assert len(expected_outputs(text)) == 3


def test_doc_blocks__unmarked_or_other_language__left_out():
    text = f"```sh\n{MARKER}\necho run\n```\n```sh\necho illustration\n```\n```text\n{MARKER}\n```\n"
    assert doc_blocks(text) == [f"{MARKER}\necho run\n"]


def test_walk_through__prints_what_the_doc_shows(walk_through):
    for block in expected_outputs(DOC.read_text()):
        for line in block.splitlines():
            assert line in walk_through.lines, f"docs/clients.md shows {line!r}; the run printed:\n{walk_through.stdout}"


def test_walk_through__reads_the_quote_book_cycle_and_margin(walk_through, market, member_a):
    system, _ = market
    venue = str(system.venue.address)
    out = walk_through.lines
    assert out[0].startswith(f"(1, 9900000 [9.9e6], 30, [{venue}], 10200000 [1.02e7], 50, [{venue}], ")
    assert out[1:5] == ["9900000 [9.9e6]", "30", "10200000 [1.02e7]", "50"]  # top of book before the order
    assert walk_through.vars["ME"] == str(member_a.address)
    assert walk_through.vars["VENUE"] == venue


def test_walk_through__typed_data_and_signature__equal_the_python_clients(walk_through, market, member_a):
    system, sid = market
    v = walk_through.vars
    client = VenueClient(system.venue)
    order = Order(owner=str(member_a.address), securityId=sid, side=Side.BUY, quantity=100, price=PRICE,
                  nonce=int(v["NONCE"]), counter=int(v["COUNTER"]))
    written = json.loads((walk_through.folder / "order.json").read_text())
    assert written == order_typed_json(order, client.domain)
    assert v["SIG"] == "0x" + sign_order(order, client.domain, member_a).hex()
    assert v["NAME"] == client.domain.name


def test_walk_through__sent_order__rests_as_the_best_bid(walk_through, market, member_a):
    system, sid = market
    client = VenueClient(system.venue)
    order = Order(owner=str(member_a.address), securityId=sid, side=Side.BUY, quantity=100, price=PRICE,
                  nonce=int(walk_through.vars["NONCE"]), counter=int(walk_through.vars["COUNTER"]))
    order_id = int(walk_through.vars["ORDER_ID"], 16)
    owner, remaining, *_, order_hash = system.venue.orderOf(order_id)
    assert (str(owner), int(remaining), bytes(order_hash)) == (str(member_a.address), 100, client.hash(order))
    assert client.book(sid).bids == [(PRICE, 100), (cash("9.90"), 30)]
    assert str(order_id) in walk_through.lines


def test_walk_through__too_large_order__refused_with_insufficient_margin(walk_through, market, member_a):
    system, _ = market
    errors = json.loads((ROOT / "abi" / "errors.json").read_text())
    refusal = errors[walk_through.vars["DATA"][:10]]
    assert refusal["name"] == "InsufficientMargin" and refusal["contracts"] == ["Margin", "MarginRevaluation", "MarginSeizure"]
    status = margin_status(system.extra["Margin"], member_a)
    decoded = walk_through.lines[-3:]
    assert decoded[0] == str(member_a.address)
    assert int(decoded[1].split()[0]) == status.pending + 10_000 * PRICE * 2_000 // 10_000  # worst shock -20 %
    assert int(decoded[2].split()[0]) == status.posted == cash(1_000)
