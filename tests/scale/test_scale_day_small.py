"""The scale day at small size (issue #18): every phase of the day completes, at sizes above every
ceiling the market once had (16 fund members, 8 positions and 7 clients per member), so a cap
that comes back fails here. ``make bench-scale`` runs the full size; this is its small twin.

It runs ``ape run bench_scale`` in a process of its own, on an anvil of its own
(:mod:`smartccp.scale.node`): ape's embedded anvil keeps every opcode step in memory, gigabytes
at this size. No wall-clock assertion: the figures are counts, layers and gas.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APE = str(Path(sys.executable).with_name("ape"))
SIZE = {"members": 40, "clients": 400, "securities": 200, "orders": 2_000, "min-positions": 20, "max-positions": 200}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("scale") / "scale.json"
    args = [APE, "run", "bench_scale", "--out", str(out)]
    for key, value in SIZE.items():
        args += [f"--{key}", str(value)]
    run = subprocess.run(args, check=False, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert out.with_suffix(".png").stat().st_size > 0
    return json.loads(out.read_text())


def test_scale_day_small__records_the_size_it_ran(report):
    spec, f = report["spec"], report["figures"]
    assert (spec["members"], spec["clients"], spec["securities"], spec["orders"]) == (40, 400, 200, 2_000)
    assert (f["scale.members"], f["scale.clients"], f["scale.securities"]) == (40, 400, 200)


def test_scale_day_small__orders_are_accepted_relayed_and_filled(report):
    f = report["figures"]
    assert f["scale.flow_orders"] > 1_500  # the simulator's 2,000 actions less its cancels
    assert f["scale.flow_placed"] >= 0.9 * f["scale.flow_orders"]
    assert f["scale.flow_fills"] > 100 and f["scale.flow_cancels"] > 0
    refused = report["refused"]  # by custom error name (OrderRelay's OrderSkipped)
    assert sum(refused.values()) <= 0.1 * f["scale.flow_orders"] and all(n.isidentifier() for n in refused), refused
    assert len(report["samples"]) >= 2 and all(s["fill_gas"] > 0 for s in report["samples"])


def test_scale_day_small__every_book_went_through_the_closing_auction(report):
    f = report["figures"]
    assert f["scale.auction_books"] == 200 and f["scale.auction_fills"] > 0


def test_scale_day_small__every_member_is_margined_at_end_of_day_beyond_the_old_ceilings(report):
    f = report["figures"]
    assert f["scale.eod_members_revalued"] == 40
    assert f["scale.member_positions_max"] > 8  # Margin.MAX_POSITIONS was 8
    assert f["scale.member_book_positions_max"] > f["scale.member_positions_max"]  # its clients' count too
    assert SIZE["clients"] // SIZE["members"] > 7  # Margin.MAX_CLIENTS was 7


def test_scale_day_small__the_cycle_nets_and_settles(report):
    f = report["figures"]
    assert 0 < f["scale.obligations"] < 2 * f["scale.day_fills"]  # netted: fewer than the trades' legs
    assert f["scale.settle_txs"] > 1  # in chunks


def test_scale_day_small__the_largest_default_reaches_the_survivors_layer(report):
    f, layers = report["figures"], report["layers"]
    assert f["scale.fund_members"] == SIZE["members"] > 16  # DefaultFund.MAX_MEMBERS was 16
    assert layers["defaulter_margin"] > 0 and layers["ccp_skin_in_the_game"] > 0
    assert layers["survivor_default_fund"] > 0 and f["scale.default_survivors_charged"] == 39


def test_scale_day_small__no_transaction_of_the_day_is_too_big_for_a_block(report):
    assert report["figures"]["scale.max_tx_gas"] <= 15_000_000
