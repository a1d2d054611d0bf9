"""Initial margin, variation margin and VaR: exact integer examples worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartccp.risk import (
    initial_margin,
    portfolio_pnl_by_scenario,
    scenario_exposures,
    value_at_risk,
    variation_margin,
)

CASH = 1_000_000  # base units per cash unit (6 decimals)
SHOCKS_ONE = [[-1250, -300, 800]]  # one security, three scenarios: -12.5 %, -3 %, +8 %


def test_initial_margin__long_position__uses_worst_down_shock() -> None:
    # 100 units at 25 cash: value 2 500 cash; worst scenario -12.5 % -> 312.5 cash.
    assert initial_margin([100], [25 * CASH], SHOCKS_ONE) == 312_500_000


def test_initial_margin__short_position__uses_up_shock() -> None:
    # Short 100 units at 25 cash loses on the +8 % scenario: 2 500 * 8 % = 200 cash.
    assert initial_margin([-100], [25 * CASH], SHOCKS_ONE) == 200_000_000


def test_initial_margin__fractional_base_unit__rounds_up() -> None:
    # 7 * 1 234 567 * 333 = 2 877 775 677 base-unit-bps -> 287 777.5677 -> 287 778.
    assert 7 * 1_234_567 * 333 == 2_877_775_677
    assert initial_margin([7], [1_234_567], [[-333, 100]]) == 287_778
    # A loss of 0.0003 base units still costs one base unit of margin.
    assert initial_margin([1], [3], [[-1]]) == 1


def test_initial_margin__hedged_two_securities__takes_worst_joint_scenario() -> None:
    q = [10, -5]
    p = [100 * CASH, 50 * CASH]  # values +1 000 cash and -250 cash
    shocks = [[-1250, 800, -200], [-300, 1000, 400]]
    # s0: 1e9 * -1250 + -2.5e8 * -300 = -1.175e12 -> loss 117.5 cash
    # s1: 1e9 * 800 + -2.5e8 * 1000 = +5.5e11 -> gain
    # s2: 1e9 * -200 + -2.5e8 * 400 = -3e11 -> loss 30 cash
    assert scenario_exposures(q, p, shocks) == [
        -1_175_000_000_000,
        550_000_000_000,
        -300_000_000_000,
    ]
    assert initial_margin(q, p, shocks) == 117_500_000


def test_initial_margin__every_scenario_a_gain__is_zero() -> None:
    assert initial_margin([5], [CASH], [[100, 200]]) == 0


def test_initial_margin__flat_or_empty_portfolio__is_zero() -> None:
    assert initial_margin([0, 0], [CASH, CASH], [[-1000], [500]]) == 0
    assert initial_margin([], [], np.zeros((0, 3), dtype=np.int64)) == 0


def test_initial_margin__huge_numbers__exact_python_integers() -> None:
    q, p = 10**12, 10**15  # far beyond int64 once multiplied
    assert initial_margin([q], [p], [[-9999]]) == q * p * 9999 // 10_000


def test_initial_margin__numpy_integer_inputs__accepted() -> None:
    shocks = np.array([[-1250, -300, 800]], dtype=np.int64)
    assert initial_margin(np.array([100]), np.array([25 * CASH]), shocks) == 312_500_000


def test_initial_margin__one_security_1d_shocks__accepted() -> None:
    assert initial_margin([100], [25 * CASH], [-1250, -300, 800]) == 312_500_000


def test_initial_margin__float_quantity__raises_type_error() -> None:
    with pytest.raises(TypeError):
        initial_margin([1.5], [CASH], SHOCKS_ONE)


def test_initial_margin__float_shocks__raises_type_error() -> None:
    with pytest.raises(TypeError):
        initial_margin([1], [CASH], np.array([[-0.1]]))


def test_initial_margin__shock_below_minus_100pct__raises() -> None:
    with pytest.raises(ValueError):
        initial_margin([1], [CASH], [[-10_001]])


def test_initial_margin__shock_rows_mismatch__raises() -> None:
    with pytest.raises(ValueError):
        initial_margin([1, 2], [CASH, CASH], SHOCKS_ONE)


def test_portfolio_pnl_by_scenario__fractions__gains_round_down_losses_round_up() -> None:
    # +-0.0003 base units: the loss becomes -1, the gain 0.
    assert portfolio_pnl_by_scenario([1], [3], [[-1, 1]]) == [-1, 0]
    assert portfolio_pnl_by_scenario([100], [25 * CASH], SHOCKS_ONE) == [
        -312_500_000,
        -75_000_000,
        200_000_000,
    ]


def test_variation_margin__price_rise__long_gains_short_pays() -> None:
    # +10 * 0.10 cash - 4 * 0.05 cash = 0.8 cash to the member.
    vm = variation_margin([10, -4], [1_000_000, 2_000_000], [1_100_000, 2_050_000])
    assert vm == 800_000


def test_variation_margin__buyer_and_seller__sum_to_zero() -> None:
    prev, new = [7 * CASH], [6_543_210]
    assert variation_margin([3], prev, new) + variation_margin([-3], prev, new) == 0
    assert variation_margin([3], prev, new) == 3 * (6_543_210 - 7 * CASH)


def test_value_at_risk__losses_1_to_100__returns_99th_smallest() -> None:
    losses = np.arange(1, 101, dtype=float)
    np.random.default_rng(0).shuffle(losses)
    assert value_at_risk(losses, 0.99) == 99.0
    assert value_at_risk(losses, 0.95) == 95.0


def test_value_at_risk__all_gains__is_negative() -> None:
    assert value_at_risk([-5.0, -3.0, -1.0], 0.99) == -1.0


position = st.integers(min_value=-10**9, max_value=10**9)
price = st.integers(min_value=0, max_value=10**12)
shock = st.integers(min_value=-10_000, max_value=50_000)


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[list[int], list[int], list[list[int]]]:
    n = draw(st.integers(1, 4))
    k = draw(st.integers(1, 6))
    q = draw(st.lists(position, min_size=n, max_size=n))
    p = draw(st.lists(price, min_size=n, max_size=n))
    s = draw(st.lists(st.lists(shock, min_size=k, max_size=k), min_size=n, max_size=n))
    return q, p, s


@settings(max_examples=200, deadline=None)
@given(portfolios())
def test_initial_margin__property__covers_loss_of_every_scenario(
    book: tuple[list[int], list[int], list[list[int]]],
) -> None:
    q, p, s = book
    im = initial_margin(q, p, s)
    pnl = portfolio_pnl_by_scenario(q, p, s)
    assert im >= 0
    assert all(im >= -x for x in pnl)
    assert im == max(0, max(-x for x in pnl))  # attained by the worst scenario


@settings(max_examples=200, deadline=None)
@given(portfolios(), st.integers(min_value=1, max_value=1000))
def test_initial_margin__property__monotone_in_position_size(
    book: tuple[list[int], list[int], list[list[int]]], k: int
) -> None:
    q, p, s = book
    im = initial_margin(q, p, s)
    scaled = initial_margin([k * x for x in q], p, s)
    assert im <= scaled <= k * im  # grows with size; rounding up is at most one unit per scale


@settings(max_examples=200, deadline=None)
@given(position, position, price, st.lists(shock, min_size=1, max_size=6))
def test_initial_margin__property__larger_same_side_position_needs_more(
    a: int, b: int, p: int, shocks: list[int]
) -> None:
    small, large = sorted([abs(a), abs(b)])
    for sign in (1, -1):
        assert initial_margin([sign * small], [p], [shocks]) <= initial_margin(
            [sign * large], [p], [shocks]
        )
