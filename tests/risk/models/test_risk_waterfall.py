"""Default waterfall: each layer exhausted in turn, pro-rata rounding, several defaulters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartccp.risk import LAYERS, WaterfallResult, pro_rata, run_waterfall

# One defaulter D (margin 100, contribution 50); survivors A, B, C (contributions 30, 20, 10);
# skin in the game 40; assessments capped at 1x contribution (60 in total).
# Resources: 100 | 50 | 40 | 60 | 60 -> cumulative 100, 150, 190, 250, 310.
MARGINS = {"D": 100}
CONTRIBUTIONS = {"D": 50, "A": 30, "B": 20, "C": 10}
SITG = 40


def run(loss: int) -> WaterfallResult:
    return run_waterfall({"D": loss}, MARGINS, CONTRIBUTIONS, SITG, assessment_cap_bps=10_000)


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        (80, [80, 0, 0, 0, 0, 0]),  # margin only
        (100, [100, 0, 0, 0, 0, 0]),  # margin exactly exhausted
        (130, [100, 30, 0, 0, 0, 0]),  # into the defaulter's own contribution
        (150, [100, 50, 0, 0, 0, 0]),  # own contribution exhausted
        (170, [100, 50, 20, 0, 0, 0]),  # into skin in the game
        (190, [100, 50, 40, 0, 0, 0]),  # skin in the game exhausted
        (220, [100, 50, 40, 30, 0, 0]),  # into the survivors' contributions
        (250, [100, 50, 40, 60, 0, 0]),  # default fund exhausted
        (280, [100, 50, 40, 60, 30, 0]),  # assessments
        (310, [100, 50, 40, 60, 60, 0]),  # assessments exhausted
        (400, [100, 50, 40, 60, 60, 90]),  # uncovered residual
    ],
)
def test_run_waterfall__growing_loss__exhausts_each_layer_in_order(
    loss: int, expected: list[int]
) -> None:
    result = run(loss)
    assert [name for name, _ in result.layers] == list(LAYERS)
    assert [amount for _, amount in result.layers] == expected
    assert sum(expected) == result.total_loss == loss
    assert result.uncovered == expected[-1]


def test_run_waterfall__survivor_layer__charged_pro_rata_to_contributions() -> None:
    result = run(220)  # 30 from survivors: 30 * 30/60, 30 * 20/60, 30 * 10/60
    assert [result.charges[m].default_fund_used for m in "ABC"] == [15, 10, 5]
    assert result.charges["D"].margin_used == 100 and result.charges["D"].default_fund_used == 50


def test_run_waterfall__uneven_split__leftover_unit_goes_to_first_survivor() -> None:
    result = run(211)  # 21 from survivors: floors 10, 7, 3 = 20, one base unit left over
    assert [result.charges[m].default_fund_used for m in "ABC"] == [11, 7, 3]
    assert result.used("survivor_default_fund") == 21


def test_run_waterfall__assessments__pro_rata_to_caps_and_never_above_cap() -> None:
    result = run(400)
    assert [result.charges[m].assessment for m in "ABC"] == [30, 20, 10]
    assert [result.charges[m].default_fund_used for m in "ABC"] == [30, 20, 10]


def test_run_waterfall__half_contribution_cap__caps_rounded_up() -> None:
    contributions = {"D": 0, "A": 7, "B": 3}
    result = run_waterfall({"D": 100}, {"D": 0}, contributions, 0, assessment_cap_bps=5_000)
    # caps: ceil(3.5) = 4 and ceil(1.5) = 2; fund 10 + assessments 6, uncovered 84.
    assert result.used("survivor_assessments") == 6
    assert result.charges["A"].assessment == 4 and result.charges["B"].assessment == 2
    assert result.uncovered == 84


def test_run_waterfall__two_defaulters__own_resources_first_then_shared_layers() -> None:
    margins = {"D1": 100, "D2": 50}
    contributions = {"D1": 50, "D2": 20, "A": 30, "B": 20, "C": 10}
    result = run_waterfall({"D1": 60, "D2": 200}, margins, contributions, 40, 10_000)
    # D1 is covered by its own margin (surplus 40 and its contribution stay unused);
    # D2: 50 margin + 20 own contribution, 130 left -> 40 SITG, 60 survivors, 30 assessments.
    assert result.layers == [
        ("defaulter_margin", 110),
        ("defaulter_default_fund", 20),
        ("ccp_skin_in_the_game", 40),
        ("survivor_default_fund", 60),
        ("survivor_assessments", 30),
        ("uncovered", 0),
    ]
    assert (result.charges["D1"].margin_used, result.charges["D1"].default_fund_used) == (60, 0)
    assert (result.charges["D2"].margin_used, result.charges["D2"].default_fund_used) == (50, 20)
    assert [result.charges[m].assessment for m in "ABC"] == [15, 10, 5]


def test_run_waterfall__no_assessments__uncovered_after_default_fund() -> None:
    result = run_waterfall({"D": 300}, MARGINS, CONTRIBUTIONS, SITG, assessment_cap_bps=0)
    assert result.used("survivor_assessments") == 0 and result.uncovered == 50


def test_run_waterfall__negative_loss__raises() -> None:
    with pytest.raises(ValueError):
        run_waterfall({"D": -1}, MARGINS, CONTRIBUTIONS, SITG)


def test_pro_rata__amount_above_total_weight__raises() -> None:
    with pytest.raises(ValueError):
        pro_rata(61, {"A": 30, "B": 20, "C": 10})


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 10**15), min_size=1, max_size=8),
    st.floats(0.0, 1.0),
)
def test_pro_rata__property__exact_sum_and_never_above_weight(
    weights: list[int], fraction: float
) -> None:
    total = sum(weights)
    amount = int(total * fraction)
    shares = pro_rata(amount, dict(enumerate(weights)))
    assert sum(shares.values()) == amount
    assert all(0 <= shares[i] <= w for i, w in enumerate(weights))
    assert all(shares[i] >= amount * w // total for i, w in enumerate(weights) if total)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.sampled_from("DEF"), st.integers(0, 10**12), min_size=1),
    st.lists(st.integers(0, 10**11), min_size=6, max_size=6),
    st.integers(0, 10**11),
    st.integers(0, 30_000),
)
def test_run_waterfall__property__layers_sum_to_total_loss(
    losses: dict[str, int], resources: list[int], sitg: int, cap_bps: int
) -> None:
    margins = {m: resources[i] for i, m in enumerate("DEF")}
    contributions = {m: resources[3 + i] for i, m in enumerate("DEF")} | {"A": 7, "B": 10**9}
    result = run_waterfall(losses, margins, contributions, sitg, cap_bps)
    assert sum(amount for _, amount in result.layers) == result.total_loss == sum(losses.values())
    assert all(amount >= 0 for _, amount in result.layers)
    for member, charge in result.charges.items():
        assert charge.default_fund_used <= contributions[member]
        assert charge.margin_used <= margins.get(member, 0)
