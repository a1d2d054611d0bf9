"""Gas: novation + netting per trade above a bare recorder, settlement per obligation, and a
cycle of 1,000 trades vs 100 among the same 20 members (settlement is O(obligations))."""

from __future__ import annotations

import pytest

from smartccp.bench.clearing import measure_clearing_gas


@pytest.fixture(scope="module")
def gas(system, operator, bank, issuer, security_id, bond_id):
    return measure_clearing_gas(system, operator, bank=bank, issuer=issuer, security_ids=[security_id, bond_id])


def test_gas__report(gas):
    print("\n" + gas.report())
    assert gas.obligations == 40  # 20 members x 2 securities


def test_gas__novation_and_netting__within_25k_above_bare_recorder(gas):
    assert gas.novation_steady_above_sink <= 25_000
    assert gas.novation_batch_avg_above_sink <= 25_000


def test_gas__settlement__within_60k_per_obligation(gas):
    assert gas.settle_per_obligation_large <= 60_000


def test_gas__cycle_of_1000_trades_vs_100__same_settlement_cost(gas):
    assert gas.large_vs_small_ratio <= 1.1
