"""The risk layer's bench measurements run (each in its own snapshot, as ``ape run bench`` runs
them) and produce the figures issue #6 asks for."""

from __future__ import annotations

from smartccp.bench import core as bench
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
