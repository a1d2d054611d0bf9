"""Compression across open cycles (issue #21): an account's receipt in one cycle and delivery in a
later one of the same security offset; the first cycle's pay-out keeps the offsetting units in
the account's pre-funded custody and the second's pay-in takes them from there, so they never
move to the account and back.

One T+2 security, E. Day D: a buys 10 E from b at 100.00 (cycle D+2: a +10, -1,000.00).
Day D+1: a sells 6 E to b at 110.00 (cycle D+3: a -6, +660.00). Both cycles are open; a
compresses 6: its obligations stay as they are (6 kept of D+2's receipt, for D+3's delivery).
Settled: D+2 moves b's 10 in and 4 out to a (6 stay in a's custody in the CCP), D+3 takes a's 6
from its custody and moves them to b. Unit transfers: 3 instead of 4. Cash as without
compression: a pays 1,000.00 and receives 660.00, b the reverse; a ends with 4 E more, b 4
fewer; the CCP holds nothing after.
"""

from __future__ import annotations

import ape
import pytest
from life_clock import at

from smartccp.chain.system import admit, approve_settlement, deploy_system, list_security
from smartccp.clearing import compression as cmp
from smartccp.clearing.ccp import Obligation, check_ccp_empty, check_flat, obligations, run_cycle
from smartccp.lifecycle import distributions as ld
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY
from smartccp.units import cash


@pytest.fixture(scope="module")
def market(operator, bank, issuer, member_a, member_b, member_c):
    day = ape.chain.pending_timestamp // DAY + 1
    at(day * DAY + 3_600)  # an hour into day D
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    a, b, keeper = member_a, member_b, member_c
    admit(system, operator, (a, b, keeper))
    sids = []
    for name in ("E", "F"):  # F: the same trades, for a dividend declared on it
        system.securities.listSecurity(name, f"COMPRESS000{name}".encode(), 0, cash("0.01"), 1, 0, sender=issuer)
        sids.append(int(system.securities.securityCount()))
        list_security(system, operator, sids[-1], lag_days=2)
        for m in (a, b):
            system.securities.issue(sids[-1], m, 100, sender=issuer)
    for m in (a, b):
        system.cash.issue(m, cash(100_000), sender=bank)
    system.cash.issue(issuer, cash(1_000), sender=bank)
    approve_settlement(system, (a, b))
    client = VenueClient(system.venue)
    for sid in sids:
        client.cross(b, a, sid, 10, cash("100.00"))  # cycle D+2
    at((day + 1) * DAY + 3_600)
    for sid in sids:
        client.cross(a, b, sid, 6, cash("110.00"))  # cycle D+3
    return system, sids, a, b, keeper, day


def _book(ccp, cycles, sid):  # noqa: ANN001, ANN202
    return {c: {(o.account, o.security_id): (o.quantity, o.cash) for o in obligations(ccp, c)} for c in cycles}


def test_refusals__named__change_nothing(market, issuer, operator, outsider):
    system, (sid, f), a, b, keeper, day = market
    ccp = system.ccp
    before = _book(ccp, (day + 2, day + 3), sid)
    with ape.reverts(ccp.NotCompressor):
        ccp.compress(a, sid, day + 2, day + 3, sender=outsider)
    with ape.reverts(ccp.NothingToCompress):  # b delivers first and receives later: not compressible
        ccp.compress(b, sid, day + 2, day + 3, sender=b)
    with ape.reverts(ccp.NothingToCompress):  # the cycles the wrong way round
        ccp.compress(a, sid, day + 3, day + 2, sender=a)
    with ape.reverts(ccp.CycleNotOpen):  # a cycle nobody traded in
        ccp.compress(a, sid, day + 2, day + 9, sender=a)
    assert _book(ccp, (day + 2, day + 3), sid) == before
    # A dividend on F with its record date ahead: units kept in the CCP's custody over it would
    # be entitled in the CCP's name, so compression waits until it has passed.
    now = ape.chain.pending_timestamp
    ld.declare(system.extra["Distributions"], system.cash, issuer, f, now + DAY // 2, now + DAY, cash("0.50"), 200)
    with ape.reverts(ccp.RecordDateAhead):
        ccp.compress(a, f, day + 2, day + 3, sender=a)
    assert tuple(ccp.compressed(day + 2, f, a)) == (0, 0)
    # Compressed once, nothing is left to compress twice.
    ccp.compress(a, sid, day + 2, day + 3, sender=a)
    with ape.reverts(ccp.NothingToCompress):
        ccp.compress(a, sid, day + 2, day + 3, sender=a)


def test_compress__keeps_the_units_with_the_ccp__cash_and_net_unchanged__fewer_transfers(market, issuer, operator):
    """Run by rule (a keeper with OPERATOR_ROLE): E compressed; F, with a dividend whose record
    date falls before its cycles settle, left as it is."""
    system, (sid, f), a, b, keeper, day = market
    ccp, sec = system.ccp, system.securities
    now = ape.chain.pending_timestamp
    ld.declare(system.extra["Distributions"], system.cash, issuer, f, now + DAY // 2, now + DAY, cash("0.50"), 200)
    c1, c2 = day + 2, day + 3
    book0 = _book(ccp, (c1, c2), sid)
    planned = cmp.plan({c1: obligations(ccp, c1), c2: obligations(ccp, c2)})
    assert [p for p in planned if p.security_id == sid] == [cmp.Compression(str(a.address), sid, c1, c2, 6)]

    assert ccp.compress.call(a, sid, c1, c2, sender=a) == 6  # a may ask itself...
    done = cmp.compress_open_cycles(ccp, operator, (c1, c2))  # ...here a keeper runs it by rule
    assert done == [cmp.Compression(str(a.address), sid, c1, c2, 6)]  # F waits for its dividend
    # The obligations, the netting and the cycles' sums are untouched: only the kept counters move.
    assert _book(ccp, (c1, c2), sid) == book0
    assert tuple(ccp.compressed(c1, sid, a)) == (6, 0) and tuple(ccp.compressed(c2, sid, a)) == (0, 6)
    check_flat(ccp, c1, [sid])
    check_flat(ccp, c2, [sid])
    assert [x.security_id for x in done] == [sid]
    kept = {(c, sid, str(a.address)): tuple(int(x) for x in ccp.compressed(c, sid, a)) for c in (c1, c2)}
    assert not [p for p in cmp.plan({c: obligations(ccp, c) for c in (c1, c2)}, kept=kept) if p.security_id == sid]

    units0 = {m: int(sec.balanceOf(m, sid)) for m in (a, b)}
    cash0 = {m: int(system.cash.balanceOf(m)) for m in (a, b)}
    transfers = 0
    for cycle, held_after in ((c1, 6), (c2, 0)):
        at(int(ccp.cycleInfo(cycle)[4]) + 60)
        report = run_cycle(ccp, cycle, keeper)
        assert report.phase.name == "SETTLED" and report.failures == 0
        # after D+2: a's 6 in its custody in the CCP (pre-funded), after D+3: none
        assert int(ccp.prefundedSecurities(a, sid)) == held_after == int(ccp.custody(sid)[1]) == int(sec.balanceOf(ccp, sid))
        transfers += sum(1 for e in report.logs(sec.TransferSingle) if int(e.id) == sid)
    assert transfers == 3  # b -> CCP 10, CCP -> a 4, CCP -> b 6 (a's 6 out and back never move)
    assert {m: int(sec.balanceOf(m, sid)) - units0[m] for m in (a, b)} == {a: 4, b: -4}
    # Cash legs join both securities: E's -1,000.00 + 660.00 as without compression, and F's the
    # same less the market claim of D's trade across the dividend's record date (10 x 0.50).
    e_cash, f_cash = -cash("1000.00") + cash("660.00"), -cash("1000.00") + cash("5.00") + cash("660.00")
    assert {m: int(system.cash.balanceOf(m)) - cash0[m] for m in (a, b)} == {a: e_cash + f_cash, b: -e_cash - f_cash}
    check_ccp_empty(ccp, system, [sid])
    assert int(ccp.custody(sid)[1]) == 0


def test_plan__latest_receipt_first__deliver_first_never__compressed_already_left_out():
    """Pure planning: a receives 5 (cycle 1) and 3 (cycle 2), delivers 6 (cycle 3) and 4
    (cycle 4): cycle 3's 6 against cycle 2's 3, then 3 of cycle 1's; cycle 4's 4 against the
    2 left. b delivers first and receives later: nothing. c's 4 in cycle 1 are kept for its
    delivery in cycle 3 already: nothing left."""
    def ob(who, qty):  # noqa: ANN001, ANN202
        return Obligation(who, 7, qty, -qty * 100)
    by_cycle = {1: [ob("a", 5), ob("b", -5), ob("c", 4)], 2: [ob("a", 3), ob("b", 5)],
                3: [ob("a", -6), ob("c", -4)], 4: [ob("a", -4)]}
    kept = {(1, 7, "c"): (4, 0), (3, 7, "c"): (0, 4)}
    assert cmp.plan(by_cycle, kept=kept) == [
        cmp.Compression("a", 7, 2, 3, 3), cmp.Compression("a", 7, 1, 3, 3), cmp.Compression("a", 7, 1, 4, 2)]
    assert cmp.plan(by_cycle, account="b") == []
    assert cmp.plan(by_cycle, account="c") == [cmp.Compression("c", 7, 1, 3, 4)]
