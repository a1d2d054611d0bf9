"""The risk layer's bench measurements run (each in its own snapshot, as ``ape run bench`` runs
them) and produce the figures issue #6 asks for; the scale bench (#18) runs at small sizes."""

from __future__ import annotations

from smartccp.bench import core as bench
from smartccp.bench import risk, scale
from smartccp.chain.accounts import local_roles

KEYS = (
    "risk.refresh_margin_gas",
    "risk.refresh_margin_1_security_gas",
    "risk.refresh_margin_per_security_gas",
    "risk.default_drill_two_defaulters_gas",
    "risk.default_drill_txs",
    "risk.default_drill_chunks",
    "risk.default_drill_max_chunk_gas",
    "risk.default_drill_settlement_gas",
    "risk.cure_default_gas",
)


def test_bench__refresh_default_drill_and_cure__numbers():
    ctx = bench.BenchContext(roles=local_roles(), repeats=2)
    figures = bench.run_bench(ctx, only=["risk.refresh", "risk.default_drill", "risk.cure"])

    assert not ctx.errors, ctx.errors
    assert all(isinstance(figures[k], int) and figures[k] > 0 for k in KEYS), {k: figures.get(k) for k in KEYS}
    assert figures["risk.refresh_margin_gas"] > figures["risk.refresh_margin_1_security_gas"]
    assert figures["risk.default_drill_txs"] == figures["risk.default_drill_chunks"] + 4  # 2 declare, 2 close
    assert figures["risk.default_drill_max_chunk_gas"] <= figures["risk.default_drill_settlement_gas"]
    assert figures["risk.default_drill_settlement_gas"] < figures["risk.default_drill_two_defaulters_gas"]


def test_bench_scenario_count__4_8_16__gate_fill_eod_and_publish_figures():
    ctx = bench.BenchContext(roles=local_roles(), repeats=1)
    figures = bench.run_bench(ctx, only=["risk.scenarios"])

    assert not ctx.errors, ctx.errors
    for n in risk.SCENARIO_COUNTS:
        for what in ("publish", "gate", "fill", "eod"):
            assert isinstance(figures[f"risk.scenarios_{n}_{what}_gas"], int) and figures[f"risk.scenarios_{n}_{what}_gas"] > 0
    publish = [figures[f"risk.scenarios_{n}_publish_gas"] for n in risk.SCENARIO_COUNTS]
    assert publish == sorted(publish) and figures["risk.gas_per_scenario_publish"] > 0  # calldata, packing
    assert all(isinstance(figures[f"risk.gas_per_scenario_{w}"], float) for w in ("gate", "fill", "eod"))


def test_bench_scale__small_sizes__gate_fill_and_eod_figures():
    """The scale bench's code at small sizes (8, 6 and 5 positions; 2 and 4 members), so that it
    keeps working; its figures at full size come from ``make bench``."""
    ctx = bench.BenchContext(roles=local_roles(), repeats=1)
    positions = scale.positions_scale(ctx, wide=8, mid=6, narrow=5)
    members = scale.members_scale(ctx, few=2, many=4)

    gas_keys = ["scale.gate_8_positions_gas", "scale.gate_5_positions_gas", "scale.fill_8_positions_gas",
                "scale.fill_5_positions_gas", "scale.eod_margin_5_positions_gas", "scale.eod_margin_6_positions_gas",
                "scale.eod_margin_8_positions_gas", "scale.eod_margin_8_positions_paged_gas",
                "scale.eod_margin_8_positions_after_fills_gas", "scale.eod_margin_gas_per_position"]
    assert all(isinstance(positions[k], int) and positions[k] > 0 for k in gas_keys), positions
    assert positions["scale.eod_margin_5_positions_gas"] < positions["scale.eod_margin_8_positions_gas"]
    assert positions["scale.eod_margin_pages"] == 1  # 8 positions fit a page
    assert positions["scale.gate_gas_8_vs_5_positions_ratio"] > 0
    assert members["scale.fund_members"] == 4
    assert members["scale.fill_2_members_gas"] > 0 and members["scale.fill_gas_4_vs_2_members_ratio"] > 0
