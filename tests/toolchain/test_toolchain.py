"""The Python toolchain: demo steps, the bench's JSON, the registry, console extras, accounts."""

from __future__ import annotations

import json
from pathlib import Path

import ape
import pytest
from ape_console._cli import ApeConsoleNamespace
from eth_account import Account

from smartccp.bench import core as bench
from smartccp.chain.accounts import account_from_key, env_roles, local_roles
from smartccp.chain.report import Step, StepList, run_steps
from smartccp.chain.system import System, deploy_system
from smartccp.demo.core import DEMO_STEPS, run_demo

PROJECT_ROOT = Path(__file__).resolve().parents[2]


# ─── Demo and report ─────────────────────────────────────────────────────────────────────────


def test_demo__every_step_runs__and_writes_the_report(tmp_path):
    out = tmp_path / "demo.json"
    report = run_demo(local_roles(), out=out, registry=tmp_path / "registry.json")

    assert report.ok, [s.error for s in report.steps]
    assert [s.name for s in report.steps] == DEMO_STEPS.names()
    saved = json.loads(out.read_text())
    expected = {"title", "network", "ok", "gas", "wall_s", "steps", "pending", "summary"}
    assert expected <= saved.keys()
    gas = {s["name"]: s["gas"] for s in saved["steps"]}
    assert all(gas[name] > 0 for name in ("deploy", "admit", "issue", "transfer"))
    assert saved["gas"] == sum(gas.values())
    refused = next(s for s in saved["steps"] if s["name"] == "refused")
    assert refused["data"]["refused_cash"].startswith("NotAdmitted(account=")
    assert set(saved["summary"]["addresses"]) == {"Membership", "CashToken", "SecurityToken", "TradeVenue0", "TradeVenue1",
                                                  "TradeVenue2", "CCPSettlement", "Margin", "DefaultFund", "DefaultManagement", "BBO",
                                                  "VenueCloseOut", "OrderRelay", "Distributions",  # the default drill's close-out market
                                                  "SmartCCPTimelock"}  # admin of every contract after deployment
    assert saved["summary"]["balances"]["member_a"]["cash"] > 0
    assert "Balances" in report.render()
    market = next(s for s in saved["steps"] if s["name"] == "market")  # the simulated flow
    flow = market["data"]["flow"]
    assert flow["orders"] >= 100 and flow["trades"] > 0 and len(flow["trades_by_venue"]) == 3
    assert "InsufficientMargin" in market["data"]["refusals"]  # sim06's thin margin, by error name
    assert set(market["data"]["settlement"]) == {"SETTLED"} and market["data"]["net_cash"] < market["data"]["gross_cash"]
    assert (tmp_path / "registry.json").exists(), "the demo recorded no registry"
    drill = next(s for s in saved["steps"] if s["name"] == "default_drill")
    assert drill["data"]["close_out"].startswith("VenueCloseOut")
    life = next(s for s in saved["steps"] if s["name"] == "life")["data"]  # the bond's life
    assert life["compressed"] == [150]
    assert life["coupon"] == {"l1": 1_250_000_000, "l2": 0}  # l1 held all 1,000 at the record date
    assert life["market_claims"] == {"l1": -312_500_000, "l2": 312_500_000}  # 250 x 1.25 to the net buyer
    assert life["redeemed"] == {"l1": 75_000_000_000, "l2": 25_000_000_000}
    assert life["interest"]["l1"] > 0 and life["interest"]["l2"] > 0  # 5 % on 20,000.00 for five days
    assert Path(life["chart"]).exists()
    privacy = next(s for s in saved["steps"] if s["name"] == "privacy")["data"]  # a trade between pseudonyms
    assert (privacy["trades"], privacy["trades_linked_share"], privacy["addresses_linked_share"]) == (1, 0.0, 0.0)
    assert privacy["regulator_view"] == {"buyer": "member_b", "seller": "member_a"}
    assert privacy["other_key_opens"] is False
    _separated_keys(saved)


def _separated_keys(saved: dict) -> None:
    """The demo ran on separated keys: each role its own, every transaction labelled with a role
    sent by that role's key, and the admin change refused to the role keys and before the
    timelock's delay."""
    steps = {s["name"]: s for s in saved["steps"]}
    keys = steps["deploy"]["data"]["keys"]
    assert len(set(keys.values())) == len(keys), f"two roles share a key: {keys}"
    # Every transaction labelled with a role was sent by that role's key.
    web3 = ape.networks.provider.web3
    labelled = [(t["label"].split(":")[0].replace(" ", "_"), t["tx_hash"]) for s in steps.values() for t in s["txs"]
                if t["label"].split(":")[0].replace(" ", "_") in keys]
    assert {role for role, _ in labelled} >= {"keeper", "risk", "price", "default_manager", "governor"}
    for role, txn in labelled:
        assert web3.eth.get_transaction(txn)["from"] == keys[role], (role, txn)
    gov = steps["governance"]["data"]
    assert gov["refused_direct"].startswith("AccessControlUnauthorizedAccount(account=" + keys["operator"])
    assert gov["refused_looser_risk"].startswith("RiskChangeNeedsAdmin(caller=" + keys["risk"])
    assert gov["refused_early"].startswith("TimelockUnexpectedOperationState(")
    assert gov["delay"] == 2 * 86_400 and gov["ready_at"] - gov["proposed_at"] == gov["delay"]
    assert "CCPSettlement.setCloseOutMarket(VenueCloseOut)" in gov["calls"]


def test_step_list__add_after__runs_in_that_order():
    steps = StepList()
    seen: list[str] = []
    for name in ("first", "last"):
        steps.add(Step(name, name, lambda ctx, log, n=name: seen.append(n)))
    steps.add(Step("middle", "middle", lambda ctx, log: seen.append("middle")), after="first")

    report = run_steps("t", steps, ctx=None)

    assert seen == ["first", "middle", "last"] and report.ok


def test_run_steps__failing_step__recorded_and_run_stops():
    def boom(ctx, log):
        raise ValueError("nope")

    steps = StepList()
    steps.add(Step("boom", "Boom", boom))
    steps.add(Step("after", "After", lambda ctx, log: None))

    report = run_steps("t", steps, ctx=None)

    assert not report.ok
    assert [s.name for s in report.steps] == ["boom"]
    assert report.steps[0].error == "ValueError: nope"


# ─── Bench ───────────────────────────────────────────────────────────────────────────────────


def test_bench__ledger__flat_json_with_every_required_key(tmp_path):
    ctx = bench.BenchContext(roles=local_roles(), repeats=3, e2e_transfers=3)
    figures = bench.run_bench(ctx, only=["ledger"])
    path = bench.write_json(figures, tmp_path / "bench.json")

    assert not ctx.errors
    saved = json.loads(path.read_text())
    assert set(bench.REQUIRED_KEYS) <= saved.keys()
    numbers = [v for v in saved.values() if v is not None]
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers)
    assert saved["ledger.plain_erc20_transfer_gas"] > 21_000
    assert saved["ledger.cash_restriction_overhead_gas"] == (
        saved["ledger.cash_transfer_gas"] - saved["ledger.plain_erc20_transfer_gas"]
    )
    assert saved["trade.cancel_gas"] is None  # not measured yet


def test_bench__nested_value__refused(tmp_path):
    figures = dict.fromkeys(bench.REQUIRED_KEYS) | {"ledger.oops": {"gas": 1}}
    with pytest.raises(TypeError, match="ledger.oops"):
        bench.write_json(figures, tmp_path / "bench.json")


def test_bench__measurement_from_another_module__merged():
    @bench.measurement("zz_test.extra")
    def extra(ctx):
        return {"zz_test.figure_gas": 42}

    try:
        figures = bench.run_bench(bench.BenchContext(roles=local_roles()), only=["zz_test"])
    finally:
        bench.MEASUREMENTS.pop("zz_test.extra")
    assert figures["zz_test.figure_gas"] == 42
    assert set(bench.REQUIRED_KEYS) <= figures.keys()


# ─── Registry, console, accounts ─────────────────────────────────────────────────────────────


def test_registry__deploy_save_load__same_addresses(tmp_path, operator, bank, issuer):
    deployed = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    path = deployed.save(tmp_path / "ethereum-local.json")

    loaded = System.load(path)

    assert loaded.addresses() == deployed.addresses()
    assert loaded.cash.decimals() == 6


def test_console_extras__ape_namespace__has_system_roles_and_helpers(operator):
    namespace = ApeConsoleNamespace(project=ape.project)
    assert (ape.project.path / "ape_console_extras.py").is_file()

    system = namespace["system"]

    assert set(system.addresses()) == {"Membership", "CashToken", "SecurityToken", "TradeVenue0", "TradeVenue1",
                                       "TradeVenue2", "CCPSettlement", "OrderRelay", "Margin", "DefaultFund", "DefaultManagement", "BBO",
                                       "VenueCloseOut", "VenueLiquidation", "SmartCCPTimelock", "Distributions"}  # all of deployments/local.yaml
    assert set(namespace["dep"].security_ids) == {"ACME", "BOLT"}
    assert any("cycle" in line for line in namespace["ops"].status())
    assert namespace["operator"] == operator
    assert namespace["cash"]("12.5") == 12_500_000
    assert namespace["balances"](operator)["cash"] == "0.000000"
    # Privacy at hand: the record keys of the deployment file, the tools that read with them.
    assert bytes(system.membership.recordKeys()[1]) == namespace["DEV_REGULATOR_KEY"].id
    assert namespace["reconstruct"](system, namespace["DEV_REGULATOR_KEY"]) == []  # no trade yet
    assert callable(namespace["pseudonyms"].new_pseudonym) and callable(namespace["link"])


def test_env_roles__private_keys__sign_without_prompt(operator):
    key = Account.create().key.hex()
    roles = env_roles({"SMARTCCP_OPERATOR_KEY": key})
    assert roles.bank == roles.operator == roles.issuer
    assert roles.member_a is None

    operator.transfer(roles.operator, 10**18)
    receipt = roles.operator.transfer(operator, 10**15)

    assert receipt.sender == account_from_key(key).address


def test_env_roles__no_operator__clear_error():
    with pytest.raises(RuntimeError, match="SMARTCCP_OPERATOR_KEY"):
        env_roles({})
