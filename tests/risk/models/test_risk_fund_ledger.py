"""The index model of the survivors' layers (``smartccp.risk.fund_ledger``): every survivor
loses at least its exact pro-rata share and at most two base units more, the pool always backs
every balance, assessments stay within each member's cap per episode, and the layer totals
equal ``run_waterfall``'s for one charge."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from smartccp.risk.fund_ledger import INDEX_FLOOR, INDEX_ONE, FundLedger
from smartccp.risk.waterfall import run_waterfall
from smartccp.units import BPS, cash, ceil_div

amounts = st.integers(0, cash(10_000_000))


def _ledger(paid: list[int], required: list[int] | None = None, cap_bps: int = BPS) -> FundLedger:
    f = FundLedger(cap_bps=cap_bps)
    for i, p in enumerate(paid):
        f.set_required(i, (required or paid)[i], now=0)
        if p:
            f.contribute(i, p)
    return f


@settings(max_examples=200, deadline=None)
@given(paid=st.lists(amounts, min_size=1, max_size=30), share=st.fractions(0, 1))
def test_charge__each_loses_its_pro_rata_share_rounded_against_it(paid, share):
    f = _ledger(paid)
    before = [f.balance(i) for i in range(len(paid))]
    pool = f.pool
    used = f.charge_survivors(int(share * pool), now=1)
    for i, b in enumerate(before):
        lost = b - f.balance(i)
        exact = Fraction(used * b, pool) if pool else 0
        assert exact <= lost <= exact + 2
    assert sum(f.balance(i) for i in range(len(paid))) <= f.pool == pool - used


@settings(max_examples=100, deadline=None)
@given(paid=st.lists(st.integers(1, cash(10_000_000)), min_size=2, max_size=12),
       steps=st.lists(st.tuples(st.sampled_from("charge settle top_up"), st.integers(0, 11), st.fractions(0, 1)),
                      max_size=25))
def test_many_charges__the_pool_backs_every_balance_and_scales_keep_precision(paid, steps):
    f = _ledger(paid)
    n = len(paid)
    for op, who, x in steps:
        m = who % n
        if op == "charge":
            f.charge_survivors(int(x * f.pool), now=1)
        elif op == "settle":
            f.settle(m)
        else:
            f.contribute(m, max(1, f.members[m].required - f.balance(m)))
        assert sum(f.balance(i) for i in range(n)) <= f.pool
        assert INDEX_FLOOR < f.index <= INDEX_ONE


@settings(max_examples=200, deadline=None)
@given(paid=st.lists(amounts, min_size=1, max_size=30), share=st.fractions(0, 1), back=st.fractions(0, 1))
def test_refund__each_gains_at_most_its_pro_rata_share__the_pool_still_backs_every_balance(paid, share, back):
    """A recovery returned to the survivors after a charge: each balance rises by at most its
    exact pro-rata share of the refund (rounding against the members), by at least that less
    two units, and the pool (grown by the refund) backs them all."""
    f = _ledger(paid)
    used = f.charge_survivors(int(share * f.pool), now=1)
    for i in range(len(paid)):
        f.settle(i)
    before = [f.balance(i) for i in range(len(paid))]
    pool = f.pool
    refunded = f.refund_survivors(int(back * used))
    assert refunded == (int(back * used) if pool else 0)
    for i, b in enumerate(before):
        gained = f.balance(i) - b
        exact = Fraction(refunded * b, pool) if pool else 0
        assert exact - 2 <= gained <= exact
    assert sum(f.balance(i) for i in range(len(paid))) <= f.pool == pool + refunded


def test_charge__the_whole_pool__every_balance_zero__new_contributions_exact():
    f = _ledger([cash(300), cash(200)])
    assert f.charge_survivors(cash(900), now=5) == cash(500)
    assert (f.balance(0), f.balance(1), f.pool, f.scale) == (0, 0, 0, 2)
    f.contribute(0, cash(7))
    assert f.balance(0) == cash(7) and f.pool == cash(7)
    assert f.deadline(1) == 5 + f.window  # short since the charge at t=5, not yet settled
    f.settle(1)
    assert f.events[-1] == ("TopUpCalled", 1, cash(200), 5 + f.window)


def test_charge__nearly_the_whole_pool_again_and_again__a_scale_up_keeps_later_charges_exact():
    f = _ledger([cash(1_000_000), cash(3_000_000)])
    for _ in range(3):  # each charge leaves 1e-7 of the pool; the members top up after each
        f.charge_survivors(f.pool - f.pool // 10**7, now=1)
        for m in (0, 1):
            f.contribute(m, f.members[m].required - f.balance(m))
    assert f.scale == 1 and INDEX_FLOOR < f.index <= INDEX_ONE
    assert [f.balance(0), f.balance(1)] == [cash(1_000_000), cash(3_000_000)]
    pool = f.pool
    used = f.charge_survivors(cash(1_000_000), now=2)
    for m, b in ((0, cash(1_000_000)), (1, cash(3_000_000))):
        exact = Fraction(used * b, pool)
        assert exact <= b - f.balance(m) <= exact + 2


@settings(max_examples=200, deadline=None)
@given(required=st.lists(amounts, min_size=1, max_size=30), cap_bps=st.integers(0, 30_000),
       calls=st.lists(amounts, max_size=4))
def test_assess__pro_rata_to_required__within_the_cap__rounded_against_members(required, cap_bps, calls):
    f = _ledger([0] * len(required), required, cap_bps=cap_bps)
    total = 0
    for amount in calls:
        used = f.assess(amount)
        total += used
        assert used <= amount
    due = [f.assessment_due(i) for i in range(len(required))]
    assert sum(due) >= total
    r_total = sum(required)
    for r, d in zip(required, due, strict=True):
        assert d <= ceil_div(r * cap_bps, BPS) + 1  # the episode's cap (+1 for rounding up)
        if r_total:
            assert d >= Fraction(total * r, r_total)


def test_assess__a_new_episode_restores_the_caps():
    f = _ledger([0, 0], [cash(100), cash(300)], cap_bps=5_000)
    assert f.assess(cash(1_000)) == cash(200)  # half of 400
    assert f.assess(cash(1)) == 0
    f.start_episode()
    assert f.assess(cash(40)) == cash(40)
    assert [f.assessment_due(0), f.assessment_due(1)] == [cash(60), cash(180)]


def test_one_charge__layer_totals_equal_run_waterfall():
    contributions = {"a": cash(500), "b": cash(300), "c": cash(200)}
    f = _ledger(list(contributions.values()))
    f.declare(0)
    loss, margin, skin = cash(3_000), cash(1_000), cash(400)
    residual = loss - margin - f.take_own(0, loss - margin) - skin
    used4 = f.charge_survivors(residual, now=1)
    used5 = f.assess(residual - used4)
    expected = run_waterfall({"a": loss}, {"a": margin}, contributions, skin, BPS)
    assert (used4, used5) == (expected.used("survivor_default_fund"), expected.used("survivor_assessments"))
    assert [f.balance(1), f.balance(2)] == [0, 0]
    assert [f.assessment_due(1), f.assessment_due(2)] == [cash(300), cash(200)]
