"""The deployment file: the bundled files load; every bad key is refused by name before anything
is sent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smartccp.ops.spec import PARTS, SpecError, load_spec, parse_spec
from smartccp.units import cash

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["local.yaml", "demo.yaml", "demo-realtime.yaml"])
def test_bundled_files__load(name):
    spec = load_spec(ROOT / "deployments" / name)
    assert spec.cycle_length > spec.session.close + spec.session.auction
    assert spec.parts <= set(PARTS)


def test_local_file__what_it_says():
    spec = load_spec(ROOT / "deployments" / "local.yaml")
    assert spec.cycle_length == 86_400 and len(spec.venues) == 3
    acme = spec.security("ACME")
    assert (acme.tick, acme.lot, acme.lag, acme.reference_price) == (cash("0.01"), 10, 1, cash("12.50"))
    assert spec.close_time(3) == 3 * 86_400 + 57_600 and spec.auction_end(3) == spec.close_time(3) + 300
    assert spec.cycle_of(3 * 86_400 + 5) == 3
    assert spec.governance.delay == 2 * 86_400 and spec.roles["guardian"] == "operator"


def test_privacy__record_keys__the_development_keys_in_the_bundled_files__absent_none():
    from smartccp.privacy.records import DEV_CCP_KEY, DEV_REGULATOR_KEY

    for name in ("local.yaml", "demo.yaml", "demo-realtime.yaml", "drill.yaml"):
        keys = load_spec(ROOT / "deployments" / name).privacy
        assert (keys.ccp_key, keys.regulator_key) == (DEV_CCP_KEY.public.format(), DEV_REGULATOR_KEY.public.format())
    assert parse_spec(GOOD).privacy is None


def test_governance__absent__no_timelock():
    assert parse_spec(GOOD).governance.delay is None
    assert parse_spec({**GOOD, "governance": {}}).governance.delay == 2 * 86_400


GOOD = {"cycle_length": 60, "session": {"close": 40, "auction": 10},
        "securities": [{"symbol": "ACME", "isin": "US0000000001"}]}


@pytest.mark.parametrize("change, names", [
    ({"colour": "red"}, "colour: unknown key"),
    ({"governance": {"delay": 0}}, "governance.delay: 0 is outside"),
    ({"governance": {"wait": 5}}, "governance.wait: unknown key"),
    ({"privacy": {"ccp_key": "0x02" + "11" * 32}}, "privacy.ccp_key: not a secp256k1"),
    ({"privacy": {"ccp_key": "0x0288fa4a43e2cada689fd0f0aae5f90eda2b4358a11a7edfe6c32a616d47b978ee"}},
     "privacy.regulator_key: not a secp256k1"),
    ({"privacy": {"ccp": "x"}}, "privacy.ccp: unknown key"),
    ({"cycle_length": "a day"}, "cycle_length: expected a whole number"),
    ({"cycle_length": 0}, "cycle_length: 0 is outside"),
    ({"session": {"close": 55, "auction": 10}}, "must end inside the cycle"),
    ({"session": {"open": 1}}, "session.open: unknown key"),
    ({"parts": ["risk", "dark_pool"]}, "parts: unknown ['dark_pool']"),
    ({"parts": ["close_out"]}, "close_out needs risk"),
    ({"securities": [{"symbol": "ACME"}]}, "securities[0].isin: required"),
    ({"securities": [{"symbol": "ACME", "isin": "US00000000012345"}]}, "securities[0].isin: at most 12 bytes"),
    ({"securities": [{"symbol": "ACME", "isin": "X", "tick": "0.0000001"}]}, "securities[0].tick: expected a cash"),
    ({"securities": [{"symbol": "ACME", "isin": "X", "haircut_bps": 20_000}]}, "securities[0].haircut_bps"),
    ({"securities": [{"symbol": "ACME", "isin": "X", "beta_bps": -1}]}, "securities[0].beta_bps"),
    ({"securities": [{"symbol": "ACME", "isin": "X", "idio_vol_bps": 1.5}]}, "securities[0].idio_vol_bps: expected"),
    ({"risk": {"call_window": -1}}, "risk.call_window"),
    ({"risk": {"scenarios": 64}}, "risk.scenarios"),
    ({"roles": {"janitor": "test7"}}, "roles.janitor: unknown key"),
    ({"venues": []}, "venues: at least one"),
])
def test_bad_key__named(change, names):
    with pytest.raises(SpecError) as err:
        parse_spec({**GOOD, **change})
    assert names in str(err.value)


def test_missing_file__clear_error(tmp_path):
    with pytest.raises(SpecError, match="no deployment file"):
        load_spec(tmp_path / "nope.yaml")


def test_security_histories__own_beta_and_noise__joint_rows_hedge_margined__defaults_the_index():
    from smartccp.ops.deploy import calibrated_shocks, security_history
    from smartccp.risk.margin import initial_margin

    local = load_spec(ROOT / "deployments" / "local.yaml")
    acme, bolt = local.security("ACME"), local.security("BOLT")
    assert (acme.beta_bps, acme.idio_vol_bps, bolt.beta_bps, bolt.idio_vol_bps) == (12_000, 1_000, 8_000, 1_000)
    history = security_history(local)
    assert history.shape == (750, 2) and not np.allclose(history[:, 0], history[:, 1])
    shocks = calibrated_shocks(local)
    assert shocks["ACME"] != shocks["BOLT"] and len(shocks["ACME"]) == local.risk.scenarios
    # Long ACME against short BOLT of the same notional: margined on the spread, not zero.
    prices = [cash("12.50"), cash("48.20")]
    q = [48_200, -12_500]
    assert initial_margin(q, prices, [shocks["ACME"], shocks["BOLT"]]) > 0.02 * q[0] * prices[0]
    # Two securities on the defaults follow the index: one history, the same row, as on the index alone.
    two = parse_spec({**GOOD, "securities": [{"symbol": "A", "isin": "X1"}, {"symbol": "B", "isin": "X2"}]})
    one = parse_spec(GOOD)
    assert calibrated_shocks(two)["A"] == calibrated_shocks(two)["B"] == calibrated_shocks(one)["ACME"]
