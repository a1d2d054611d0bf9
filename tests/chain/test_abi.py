"""abi/: the contracts' interfaces for clients outside Python (smartccp.chain.abi), and that the
committed copy is the current build's."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from smartccp.chain import abi
from smartccp.trading.external import ORDER_TEMPLATE_FILE, client_files, order_typed_json
from smartccp.trading.orders import Domain, Order
from smartccp.types import Side, TimeInForce

ROOT = Path(__file__).resolve().parents[2]
ABI_DIR = ROOT / "abi"
DEPLOYED = {"BBO", "CCPCycleSettlement", "CCPSettlement", "CashToken", "DefaultFund", "DefaultManagement", "Distributions", "Margin", "MarginRevaluation",
            "MarginSeizure", "Membership", "OrderRelay", "SecurityToken", "SmartCCPTimelock", "TradeVenue", "VenueAdmin", "VenueAuctions",
            "VenueCloseOut"}


@pytest.fixture(scope="module")
def manifest():
    return abi.load_manifest(ROOT / abi.BUILD_MANIFEST)


@pytest.fixture(scope="module")
def files(manifest):
    return client_files(manifest)


def load_script():
    spec = importlib.util.spec_from_file_location("abi_script", ROOT / "scripts" / "abi.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ─── The committed files ─────────────────────────────────────────────────────────────────────


def test_committed_abi__equals_the_build(files):
    stale = abi.stale_files(ABI_DIR, files)
    assert stale == [], f"abi/ is out of date with the contracts ({', '.join(stale)}): run `make abi` and commit abi/"


def test_stale_files__changed_added_and_removed__named(tmp_path, files):
    abi.write_files(tmp_path, files)
    assert abi.stale_files(tmp_path, files) == []
    (tmp_path / "Margin.json").write_text("[]\n")
    (tmp_path / "Old.json").write_text("[]\n")
    (tmp_path / "errors.json").unlink()
    assert abi.stale_files(tmp_path, files) == ["Margin.json", "Old.json", "errors.json"]
    abi.write_files(tmp_path, files)
    assert abi.stale_files(tmp_path, files) == [] and not (tmp_path / "Old.json").exists()


def test_check_command__stale_dir__fails_naming_make_abi(tmp_path):
    cli = load_script().cli
    (tmp_path / "Margin.json").write_text("[]\n")
    result = CliRunner().invoke(cli, ["--out", str(tmp_path), "--check"])
    assert result.exit_code != 0 and "run `make abi`" in result.output


# ─── Which contracts ─────────────────────────────────────────────────────────────────────────


def test_production_abis__every_deployed_contract__no_mock_interface_library_or_base(manifest):
    abis = abi.production_abis(manifest)
    assert set(abis) == DEPLOYED
    assert all(isinstance(a, list) and a for a in abis.values())


def test_abi_files__one_per_contract_plus_errors_signatures_and_order_template(files):
    assert set(files) == {f"{n}.json" for n in DEPLOYED} | {"errors.json", "signatures.json", ORDER_TEMPLATE_FILE}


# ─── Signatures ──────────────────────────────────────────────────────────────────────────────


def test_canonical_type__tuples_spelled_out_arrays_kept():
    param = {"type": "tuple[2]", "components": [{"type": "address"},
                                                {"type": "tuple[]", "components": [{"type": "uint8"}, {"type": "bytes"}]}]}
    assert abi.canonical_type(param) == "(address,(uint8,bytes)[])[2]"


def test_signatures__every_selector__equals_the_compilers(manifest, files):
    for name, sigs in files["signatures.json"].items():
        solc = {sig: "0x" + sel.removeprefix("0x") for sig, sel in manifest["contractTypes"][name]["methodIdentifiers"].items()}
        ours = {f["signature"]: f["selector"] for f in sigs["functions"].values()}
        assert ours == solc, name


def test_signatures__place_order__full_tuple_and_results():
    sigs = json.loads((ABI_DIR / "signatures.json").read_text())
    place = sigs["TradeVenue"]["functions"]["placeOrder"]
    order = "(address,uint256,uint8,uint8,uint8,uint8,uint64,uint64,uint64,uint64,uint64,uint64,address,address,uint256,uint16)"
    assert place["signature"] == f"placeOrder({order},bytes,uint256)"
    assert place["call"] == f"placeOrder({order},bytes,uint256)(uint256,uint256)"
    assert sigs["SecurityToken"]["functions"]["totalSupply(uint256)"]["call"] == "totalSupply(uint256)(uint256)"


# ─── Errors ──────────────────────────────────────────────────────────────────────────────────


def test_errors__every_declared_error__under_its_selector_with_its_contracts(manifest, files):
    errors = files["errors.json"]
    declared = 0
    for name, items in abi.production_abis(manifest).items():
        for item in (i for i in items if i["type"] == "error"):
            entry = errors[abi.selector(abi.signature(item))]
            assert entry["name"] == item["name"] and name in entry["contracts"]
            declared += 1
    assert declared > len(errors) > 100  # shared errors appear once


def test_errors__own_inherited_and_library_errors(files):
    by_sig = {e["signature"]: e for e in files["errors.json"].values()}
    assert by_sig["NotListed(uint256)"]["contracts"] == ["TradeVenue", "VenueAdmin", "VenueAuctions"]
    assert by_sig["InsufficientMargin(address,uint256,uint256)"]["inputs"][1]["name"] == "required"
    assert by_sig["ERC20InsufficientBalance(address,uint256,uint256)"]["contracts"] == ["CashToken"]  # OpenZeppelin
    assert "TradeVenue" in by_sig["LevelFull(uint24)"]["contracts"]  # from the OrderBook library
    assert len(by_sig["AccessControlUnauthorizedAccount(address,bytes32)"]["contracts"]) >= 8
    assert files["errors.json"]["0xd8a73862"]["name"] == "InsufficientMargin"  # as docs/clients.md shows


def test_error_table__two_errors_one_selector__raises(monkeypatch):
    monkeypatch.setattr(abi, "selector", lambda sig: "0x00000000")
    abis = {"A": [{"type": "error", "name": "One", "inputs": []}], "B": [{"type": "error", "name": "Two", "inputs": []}]}
    with pytest.raises(abi.SelectorClash, match=r"One\(\) and Two\(\)"):
        abi.error_table(abis)


# ─── The order's typed data from the command line ────────────────────────────────────────────


def test_order_command__writes_the_python_clients_typed_data(tmp_path):
    venue, owner = "0x" + "11" * 20, "0x" + "22" * 20
    out = tmp_path / "order.json"
    result = CliRunner().invoke(load_script().cli, [
        "order", "--venue", venue, "--venue-name", "SmartCCP Venue A", "--chain-id", "31337", "--owner", owner,
        "--security-id", "7", "--side", "sell", "--quantity", "20", "--price", "12340000", "--nonce", str(2**200),
        "--time-in-force", "gtd", "--expiry", "1900000000", "--out", str(out)])
    assert result.exit_code == 0, result.output
    order = Order(owner=owner, securityId=7, side=Side.SELL, quantity=20, price=12_340_000, nonce=2**200,
                  timeInForce=TimeInForce.GTD, expiry=1_900_000_000)
    assert json.loads(out.read_text()) == order_typed_json(order, Domain("SmartCCP Venue A", 31337, venue))
