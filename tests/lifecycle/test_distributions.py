"""Coupons and dividends (Distributions.sol, SecurityToken's record dates): declared by the
issuer with the whole amount escrowed, each holder paid its balance at the record date times the
amount per unit, claimed pull-based, every distribution since the last claim in one call.

Hand-computed example (equity E, 150 units: a 100, b 50):
    before record date 1      a -> c 30              at R1: a 70, b 50, c 30
    dividend 1: 2.00 a unit, escrow 150 x 2.00 = 300.00
    after R1                  a -> b 20              a 50, b 70, c 30
    dividend 2: 1.00 a unit, escrow 150.00
    after R2                  b -> c 10              at R2: a 50, b 70, c 30
    owed: a 70 x 2 + 50 x 1 = 190.00, b 50 x 2 + 70 x 1 = 170.00, c 30 x 2 + 30 x 1 = 90.00
    (300 + 150 = 450.00 = 190 + 170 + 90: the escrow, exactly)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
import pytest

from smartccp.lifecycle import distributions as ld
from smartccp.units import cash

DAY = 86_400


@dataclass
class Life:
    dist: Any
    system: Any
    e: int
    bond: int
    a: Any
    b: Any
    c: Any


@pytest.fixture(scope="module")
def life(system, operator, issuer, bank, members, member_c):
    a, b, _ = members
    sec = system.securities
    dist = ld.deploy_distributions(system, operator)
    sec.listSecurity("E", b"LIFE00000001", 0, cash("0.01"), 1, 0, sender=issuer)
    e = int(sec.securityCount())
    maturity = ape.chain.pending_timestamp + 30 * DAY
    sec.listSecurity("B", b"LIFE00000002", 1, cash("0.01"), 1, maturity, sender=issuer)
    bond = int(sec.securityCount())
    sec.issue(e, a, 100, sender=issuer)
    sec.issue(e, b, 50, sender=issuer)
    sec.issue(bond, a, 10, sender=issuer)
    system.cash.issue(issuer, cash(10_000), sender=bank)
    return Life(dist, system, e, bond, a, b, member_c)


def _move(life: Life, frm, to, units: int) -> None:  # noqa: ANN001
    life.system.securities.safeTransferFrom(frm, to, life.e, units, b"", sender=frm)


def _warp(t: int) -> None:
    ape.chain.pending_timestamp = t
    ape.chain.mine()


def test_two_dividends__each_holder_paid_its_record_date_balance__escrow_paid_out_exactly(life, issuer):
    dist, cash_t, sec, e = life.dist, life.system.cash, life.system.securities, life.e
    a, b, c = life.a, life.b, life.c
    now = ape.chain.pending_timestamp
    r1, p1 = now + DAY, now + 2 * DAY
    _move(life, a, c, 30)
    issuer_before = int(cash_t.balanceOf(issuer))
    receipt = ld.declare(dist, cash_t, issuer, e, r1, p1, cash("2.00"), 150)
    [ev] = receipt.decode_logs(dist.DistributionDeclared)
    assert (ev.index, ev.escrowed) == (0, cash("300.00"))
    assert int(cash_t.balanceOf(issuer)) == issuer_before - cash("300.00")
    with ape.reverts(sec.RecordDatePending, id=e, date=r1):
        sec.issue(e, a, 1, sender=issuer)  # the supply declared on stays until the record date
    _warp(r1 + 1)
    _move(life, a, life.b, 20)
    r2, p2 = r1 + 2 * DAY, r1 + 3 * DAY
    ld.declare(dist, cash_t, issuer, e, r2, p2, cash("1.00"), 150)
    with ape.reverts(dist.NothingToClaim, id=e, holder=a):
        dist.claim(e, a, 10, sender=a)  # nothing payable before the payment date
    _warp(p1)
    # a claims dividend 1 only: dividend 2 is not yet payable.
    assert ld.claim(dist, e, a, a) == 70 * cash("2.00")
    with ape.reverts(dist.NothingToClaim, id=e, holder=a):
        dist.claim(e, a, 10, sender=a)  # twice
    _warp(r2 + 1)
    _move(life, b, c, 10)
    _warp(p2)
    paid = {h: ld.claim(dist, e, h, c) for h in (a, b, c)}  # anyone may claim for a holder
    assert paid == {a: 50 * cash("1.00"), b: 50 * cash("2.00") + 70 * cash("1.00"),
                    c: 30 * cash("2.00") + 30 * cash("1.00")}
    assert int(cash_t.balanceOf(dist)) == 0  # 450.00 escrowed, 450.00 paid
    assert [int(sec.balanceAtRecord(e, h, k)) for h in (a, b, c) for k in (1, 2)] == [70, 50, 50, 70, 30, 30]
    want = ld.entitlements([cash("2.00"), cash("1.00")], [{"a": 70, "b": 50, "c": 30}, {"a": 50, "b": 70, "c": 30}])
    assert want == {"a": cash("190.00"), "b": cash("170.00"), "c": cash("90.00")}


def test_bad_declarations_and_claims__named_errors__nothing_changed(life, issuer, operator, outsider):
    dist, cash_t, sec, e = life.dist, life.system.cash, life.system.securities, life.e
    now = ape.chain.pending_timestamp
    cash_t.approve(dist, cash(10_000), sender=issuer)
    before = (int(dist.distributionCount(e)), tuple(sec.recordDates(e)), int(cash_t.balanceOf(issuer)))
    with ape.reverts(dist.NotIssuer, id=e, caller=life.a, issuer=issuer):
        dist.declare(e, now + DAY, now + 2 * DAY, cash("1.00"), sender=life.a)
    with ape.reverts(sec.BadRecordDate, id=e, date=now - 1, latest=0):
        dist.declare(e, now - 1, now + DAY, cash("1.00"), sender=issuer)  # a past record date
    with ape.reverts(dist.BadPaymentDate, recordDate=now + DAY, paymentDate=now + DAY, previous=0):
        dist.declare(e, now + DAY, now + DAY, cash("1.00"), sender=issuer)
    with ape.reverts(dist.ZeroAmount):
        dist.declare(e, now + DAY, now + 2 * DAY, 0, sender=issuer)
    with ape.reverts(sec.UnknownSecurity, id=999):
        dist.declare(999, now + DAY, now + 2 * DAY, cash("1.00"), sender=issuer)
    maturity = int(sec.security(life.bond).maturity)
    with ape.reverts(dist.SecurityMatured, id=life.bond, maturity=maturity):
        dist.declare(life.bond, maturity, maturity + DAY, cash("1.00"), sender=issuer)  # a coupon past maturity
    sec.setHalted(e, True, sender=operator)
    with ape.reverts(dist.SecurityHalted, id=e):
        dist.declare(e, now + DAY, now + 2 * DAY, cash("1.00"), sender=issuer)
    sec.setHalted(e, False, sender=operator)
    with ape.reverts(sec.AccessControlUnauthorizedAccount):
        sec.addRecordDate(e, now + DAY, sender=issuer)  # only the distributions contract sets record dates
    with ape.reverts(dist.BadParameter):
        dist.claim(e, life.a, 0, sender=life.a)
    with ape.reverts(dist.NothingToClaim, id=e, holder=outsider):
        dist.claim(e, outsider, 5, sender=outsider)
    assert (int(dist.distributionCount(e)), tuple(sec.recordDates(e)), int(cash_t.balanceOf(issuer))) == before
    # A record date not yet passed has no balance yet.
    dist.declare(e, now + DAY, now + 2 * DAY, cash("1.00"), sender=issuer)
    with ape.reverts(sec.RecordDateNotPassed, id=e, ordinal=1):
        sec.balanceAtRecord(e, life.a, 1)
    with ape.reverts(sec.BadRecordDate, id=e, date=now + DAY, latest=now + DAY):
        dist.declare(e, now + DAY, now + 3 * DAY, cash("1.00"), sender=issuer)  # not after the latest


def test_a_coupon_on_a_bond__paid_to_the_holder_at_the_record_date(life, issuer):
    """A bond's coupon: 10 units at 25.00 a unit; a holder that bought after the record date is
    owed nothing, the seller is paid."""
    dist, cash_t, sec = life.dist, life.system.cash, life.system.securities
    now = ape.chain.pending_timestamp
    ld.declare(dist, cash_t, issuer, life.bond, now + DAY, now + 2 * DAY, cash("25.00"), 10)
    _warp(now + DAY + 1)
    sec.safeTransferFrom(life.a, life.b, life.bond, 10, b"", sender=life.a)
    _warp(now + 2 * DAY)
    assert ld.claim(dist, life.bond, life.b, life.b) == 0
    assert ld.claim(dist, life.bond, life.a, life.b) == 10 * cash("25.00")
    [d] = ld.distributions_of(dist, life.bond)
    assert (d.amount_per_unit, d.ordinal, d.record_date) == (cash("25.00"), 1, now + DAY)
