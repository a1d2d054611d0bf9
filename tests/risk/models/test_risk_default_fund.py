"""Cover-2 default fund sizing, allocation to members and the reverse stress test."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartccp.risk import (
    allocate_contributions,
    cover2_fund_size,
    hypothetical_stress_scenarios,
    losses_beyond_margin_matrix,
    member_risk,
    reverse_stress_test,
    run_waterfall,
    size_default_fund,
    stressed_loss,
)

CASH = 1_000_000
M = 1_000_000 * CASH  # one million cash, in base units

# Losses beyond margin, members x scenarios (in millions of cash):
#   scenario 0: 50 + 30 = 80;  scenario 1: 45 + 40 = 85;  scenario 2: 90 + 5 = 95  <- cover 2
LOSSES = [
    [50 * M, 10 * M, 0],
    [30 * M, 40 * M, 5 * M],
    [20 * M, 45 * M, 0],
    [0, 5 * M, 90 * M],
]


def test_size_default_fund__worked_example__two_largest_in_worst_scenario() -> None:
    sizing = size_default_fund(LOSSES)
    assert sizing.fund_size == 95 * M
    assert sizing.scenario == 2 and sizing.members == (3, 1)
    assert cover2_fund_size(LOSSES) == 95 * M


def test_cover2_fund_size__one_dominant_member__never_below_largest_single() -> None:
    assert cover2_fund_size([[100 * M, 1], [0, 2], [0, 3]]) == 100 * M
    assert cover2_fund_size([[7 * M, 9 * M]]) == 9 * M  # a single member


def test_cover2_fund_size__from_stressed_portfolios__matches_hand_value() -> None:
    prices = [100 * CASH, 50 * CASH]
    members = [[10_000, 0], [0, -40_000], [8_000, 8_000]]
    margins = [100 * M // 1000, 50 * M // 1000, 60 * M // 1000]  # 100k, 50k, 60k cash
    scenarios = hypothetical_stress_scenarios(2)  # -20 %, -30 %, +15 %
    losses = losses_beyond_margin_matrix(members, prices, scenarios, margins)
    # member 0 (1.0m long): 200k / 300k / gain  -> 100k, 200k, 0
    # member 1 (2.0m short): gains, gains, 300k -> 0, 0, 250k
    # member 2 (1.2m long): 240k / 360k / gain  -> 180k, 300k, 0
    k = M // 1000
    assert losses == [[100 * k, 200 * k, 0], [0, 0, 250 * k], [180 * k, 300 * k, 0]]
    assert cover2_fund_size(losses) == 500 * k  # -30 %: members 2 and 0


def test_member_risk__worked_example__worst_loss_per_member() -> None:
    assert member_risk(LOSSES) == [50 * M, 40 * M, 45 * M, 90 * M]


def test_allocate_contributions__pro_rata__rounded_up_hand_values() -> None:
    # 95 split 50:40:45:90 (total 225) = 21.11, 16.89, 19, 38 -> 22, 17, 19, 38 (sum 96).
    assert allocate_contributions(95, [50, 40, 45, 90]) == [22, 17, 19, 38]
    # a minimum of 20 lifts the small members.
    assert allocate_contributions(95, [50, 40, 45, 90], minimum_contribution=20) == [22, 20, 20, 38]


def test_allocate_contributions__no_risk__equal_split_rounded_up() -> None:
    assert allocate_contributions(10, [0, 0, 0]) == [4, 4, 4]
    assert allocate_contributions(10, [0, 0, 0], minimum_contribution=5) == [5, 5, 5]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 10**15),
    st.lists(st.integers(0, 10**12), min_size=1, max_size=10),
    st.integers(0, 10**9),
)
def test_allocate_contributions__property__sum_covers_fund_and_minimum_holds(
    fund: int, risk: list[int], minimum: int
) -> None:
    contributions = allocate_contributions(fund, risk, minimum)
    assert sum(contributions) >= fund
    assert all(c >= minimum for c in contributions)
    assert sum(contributions) <= max(fund, 0) + len(risk) * (minimum + 1)


# Reverse stress: one security at 100 cash.
#   member 0: long 1 000 000 units (100m cash), margin 10m, contribution 2m
#   member 1: long   500 000 units ( 50m cash), margin  5m, contribution 1m
#   member 2: short  200 000 units ( 20m cash), margin  2m, contribution 1m
#   skin in the game 0.5m.
# A uniform fall of x bps: losses 10 000 x and 5 000 x cash. Both beyond margin + contribution
# from x = 1 200; the pool left is 0.5m SITG + 1m (member 2's contribution), exhausted when
# 15 000 x - 18m > 1.5m, i.e. x > 1 300: the answer is -1 301 bps.
RS_PRICES = [100 * CASH]
RS_MEMBERS = [[1_000_000], [500_000], [-200_000]]
RS_MARGINS = [10 * M, 5 * M, 2 * M]
RS_CONTRIBUTIONS = [2 * M, 1 * M, 1 * M]
RS_SITG = M // 2


def uncovered_at(shock: int, defaulters: tuple[int, ...]) -> int:
    losses = {d: max(0, stressed_loss(RS_MEMBERS[d], RS_PRICES, shock)) for d in defaulters}
    return run_waterfall(
        losses, {d: RS_MARGINS[d] for d in defaulters}, dict(enumerate(RS_CONTRIBUTIONS)),
        RS_SITG, assessment_cap_bps=0,
    ).uncovered


def test_reverse_stress_test__cover2_down__hand_computed_threshold() -> None:
    result = reverse_stress_test(RS_MEMBERS, RS_PRICES, RS_MARGINS, RS_CONTRIBUTIONS, RS_SITG)
    assert result.shock_bps == -1301
    assert result.defaulters == (0, 1)
    assert result.uncovered == 15_000 * 1301 * CASH - 19_500_000 * CASH  # 15k cash short
    assert uncovered_at(-1300, (0, 1)) == 0 < uncovered_at(-1301, (0, 1))


def test_reverse_stress_test__cover2_down__no_pair_breaks_earlier() -> None:
    # Brute force over every pair and every shock up to the answer.
    for x in range(1, 1301):
        assert all(uncovered_at(-x, pair) == 0 for pair in itertools.combinations(range(3), 2))


def test_reverse_stress_test__fixed_defaulter_up__hand_computed_threshold() -> None:
    # Member 2 alone on a rise of x bps: loses 2 000 x cash; resources 2m margin + 1m own
    # contribution + 0.5m SITG + 3m survivors = 6.5m -> x > 3 250.
    result = reverse_stress_test(
        RS_MEMBERS, RS_PRICES, RS_MARGINS, RS_CONTRIBUTIONS, RS_SITG, defaulters=[2],
        direction="up",
    )
    assert result.shock_bps == 3251 and result.defaulters == (2,)
    assert uncovered_at(3250, (2,)) == 0 < uncovered_at(3251, (2,))


def test_reverse_stress_test__resources_never_exhausted__returns_none() -> None:
    huge = [10**9 * M] * 3
    result = reverse_stress_test(RS_MEMBERS, RS_PRICES, huge, RS_CONTRIBUTIONS, RS_SITG)
    assert result.shock_bps is None and result.uncovered == 0


def test_size_default_fund__negative_loss__raises() -> None:
    with pytest.raises(ValueError):
        size_default_fund([[1, -1]])
