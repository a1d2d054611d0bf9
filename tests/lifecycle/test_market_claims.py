"""Market claims (issue #21): a trade made before a record date and settled after it leaves the
distribution with the seller (it still held the units at the record date and the issuer paid
it); the CCP moves it to the buyer in the cycle's obligations at pay-in, so the books stay flat.

Three securities with the same dividend of 1.50 a unit, record date at the end of day D:
    E0 settles T+0, E1 T+1, E2 T+2. On day D, a sells 10 of each to b at 100.00.
    Whatever the lag, each of these trades settles after the record date (T+0: a minute after
    its cycle is due, at the end of day D; a settlement at the record date's very second would
    deliver before it, and the issuer pays the buyer directly): a's obligation
    receives 10 x 100.00 - 10 x 1.50 = 985.00, b's pays 1,000.00 - 15.00 = 985.00.
    On day D+1 (after the record date, ex), a sells 5 more E1 to b: no claim, 500.00 exactly.
    The issuer pays a 100 x 1.50 = 150.00 per security (its 100 units at the record date),
    b nothing: a ends with 135.00 per security (its 90 units kept), b with 15.00 (its 10).
"""

from __future__ import annotations

import ape
import pytest

from smartccp.chain.system import admit, approve_settlement, deploy_system, list_security
from smartccp.clearing.ccp import Rules, check_ccp_empty, run_cycle, set_rules, warp_past
from smartccp.lifecycle import distributions as ld
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY
from smartccp.units import cash

PER_UNIT = cash("1.50")
PRICE = cash("100.00")


@pytest.fixture(scope="module")
def market(operator, bank, issuer, member_a, member_b, member_c):
    chain = ape.chain
    day = chain.pending_timestamp // DAY + 1
    chain.pending_timestamp = day * DAY + 3_600  # an hour into day D
    chain.mine()
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    a, b, keeper = member_a, member_b, member_c
    admit(system, operator, (a, b, keeper))
    sids = []
    for lag in (0, 1, 2):
        system.securities.listSecurity(f"E{lag}", f"MCLAIM00000{lag}".encode(), 0, cash("0.01"), 1, 0, sender=issuer)
        sid = int(system.securities.securityCount())
        list_security(system, operator, sid, lag_days=lag)
        system.securities.issue(sid, a, 100, sender=issuer)
        sids.append(sid)
    approve_settlement(system, (a, b))
    for m in (a, b):
        system.cash.issue(m, cash(100_000), sender=bank)
    system.cash.issue(issuer, cash(10_000), sender=bank)
    return system, sids, a, b, keeper, day


def test_trades_across_the_record_date__claims_for_t0_t1_t2__ex_trade_none__ccp_flat(market, issuer):
    system, sids, a, b, keeper, day = market
    ccp, dist = system.ccp, system.extra["Distributions"]
    client = VenueClient(system.venue)
    for sid in sids:
        client.cross(a, b, sid, 10, PRICE)
    record, payment = (day + 1) * DAY, (day + 2) * DAY  # the end of day D
    for sid in sids:
        ld.declare(dist, system.cash, issuer, sid, record, payment, PER_UNIT, 100)
    cash0 = {m: int(system.cash.balanceOf(m)) for m in (a, b)}

    claims = {}
    for cycle in (day, day + 1, day + 2):
        ape.chain.pending_timestamp = int(ccp.cycleInfo(cycle)[4]) + 60  # a minute after it is due
        ape.chain.mine()
        if cycle == day:  # day D+1, after the record date: 5 more E1, ex-dividend
            client.cross(a, b, sids[1], 5, PRICE)
        report = run_cycle(ccp, cycle, keeper)
        assert report.phase.name == "SETTLED" and report.failures == 0
        claims[cycle] = [(str(ev.account), int(ev.securityId), int(ev.cashAmount))
                         for ev in report.logs(ccp.MarketClaimBooked)]
    # One claim pair per security, each in its own cycle (T+0 in D, T+1 in D+1, T+2 in D+2);
    # the ex-dividend E1 trade of D+1 (cycle D+2) has none.
    for lag, sid in enumerate(sids):
        assert sorted(claims[day + lag]) == sorted([(a.address, sid, -10 * PER_UNIT), (b.address, sid, 10 * PER_UNIT)])
    moved = {m: int(system.cash.balanceOf(m)) - cash0[m] for m in (a, b)}
    assert moved[a] == 3 * (10 * PRICE - 10 * PER_UNIT) + 5 * PRICE
    assert moved[b] == -moved[a]
    check_ccp_empty(ccp, system, sids)

    # The issuer pays whoever held at the record date: a's 100 units, b's none.
    ape.chain.pending_timestamp = max(payment, ape.chain.pending_timestamp + 1)
    ape.chain.mine()
    paid = {m: sum(ld.claim(dist, sid, m, keeper) for sid in sids) for m in (a, b)}
    assert paid == {a: 3 * 100 * PER_UNIT, b: 0}
    # Net of the claims: a has 90 units' worth per security, b its 10.
    assert paid[a] - 3 * 10 * PER_UNIT == 3 * 90 * PER_UNIT
    assert int(system.cash.balanceOf(dist)) == 0


def test_no_distributions__no_claim__settlement_unchanged(market):
    """The same trades without any distribution: no MarketClaimBooked, cash at the trade price."""
    system, sids, a, b, keeper, day = market
    ccp = system.ccp
    client = VenueClient(system.venue)
    client.cross(a, b, sids[1], 10, PRICE)
    warp_past(ccp, day + 1)
    report = run_cycle(ccp, day + 1, keeper)
    assert not list(report.logs(ccp.MarketClaimBooked))
    assert report.phase.name == "SETTLED"


def test_failed_delivery_rolled_across_a_record_date__claim_booked_once(market, issuer, operator):
    """CNS across a record date (T+2). On day D a sells 10 E2 to b at 100.00, then keeps only 6
    units; a dividend of 1.50 has its record date in day D+2, between the end of the trade's day
    and its settlement, and in the window the next cycle books again. Cycle D+2: claim -15.00 to
    a (receives 985.00), +15.00 to b (pays 985.00); a delivers 6: paid 591.00, 394.00 withheld;
    its 4 missing units roll to D+3 with 394.00 + 4 x 1.50 (the claim D+3 books again, given
    back) = 400.00, b's 4 undelivered units with -6.00. Cycle D+3 books -6.00 / +6.00 on them:
    a ends with 985.00 for its 10 units, b pays 985.00, the dividend counted once."""
    system, sids, a, b, keeper, day = market
    ccp, dist, sid = system.ccp, system.extra["Distributions"], sids[2]
    set_rules(ccp, sid, operator, Rules(settlement_lag=2, fail_rolls=1))
    VenueClient(system.venue).cross(a, b, sid, 10, PRICE)
    ld.declare(dist, system.cash, issuer, sid, (day + 2) * DAY + 3_600, (day + 4) * DAY, PER_UNIT, 100)
    system.securities.safeTransferFrom(a, keeper, sid, 94, b"", sender=a)
    cash0 = {m: int(system.cash.balanceOf(m)) for m in (a, b)}

    warp_past(ccp, day + 2)
    report = run_cycle(ccp, day + 2, keeper)
    claims = sorted((str(ev.account), int(ev.cashAmount)) for ev in report.logs(ccp.MarketClaimBooked))
    assert claims == sorted([(a.address, -10 * PER_UNIT), (b.address, 10 * PER_UNIT)])
    rolled, receipt = report.logs(ccp.DeliveryRolled)[0], report.logs(ccp.ReceiptRolled)[0]
    assert (rolled.toCycle, rolled.units, rolled.cashAmount) == (day + 3, 4, cash("394.00") + 4 * PER_UNIT)
    assert (receipt.account, receipt.units, receipt.cashAmount) == (b.address, 4, -4 * PER_UNIT)
    assert int(system.cash.balanceOf(a)) - cash0[a] == cash("591.00")

    system.securities.safeTransferFrom(keeper, a, sid, 4, b"", sender=keeper)
    warp_past(ccp, day + 3)
    report = run_cycle(ccp, day + 3, keeper)
    claims = sorted((str(ev.account), int(ev.cashAmount)) for ev in report.logs(ccp.MarketClaimBooked))
    assert claims == sorted([(a.address, -4 * PER_UNIT), (b.address, 4 * PER_UNIT)])
    moved = {m: int(system.cash.balanceOf(m)) - cash0[m] for m in (a, b)}
    assert moved == {a: 10 * PRICE - 10 * PER_UNIT, b: -(10 * PRICE - 10 * PER_UNIT)}
    assert int(system.securities.balanceOf(b, sid)) == 10
    assert ccp.custody(sid) == (0, 0)
    check_ccp_empty(ccp, system, sids)


def test_claim_for_the_ccp__refused__its_units_are_its_accounts(market, issuer, outsider):
    """Units in the CCP at a record date (pre-funded by a) are held for a, not owned by the CCP:
    nobody may claim their dividend into the CCP's pool (HolderIsCcp); it stays in escrow."""
    system, sids, a, b, keeper, day = market
    ccp, dist, sid = system.ccp, system.extra["Distributions"], sids[1]
    ccp.prefundSecurities(sid, 10, sender=a)
    ld.declare(dist, system.cash, issuer, sid, (day + 1) * DAY, (day + 2) * DAY, PER_UNIT, 100)
    ape.chain.pending_timestamp = (day + 2) * DAY + 60
    ape.chain.mine()
    with ape.reverts(dist.HolderIsCcp, holder=ccp.address):
        dist.claim(sid, ccp, 5, sender=outsider)
    assert ld.claim(dist, sid, a, keeper) == 90 * PER_UNIT  # a's own 90 in its wallet
    assert int(system.cash.balanceOf(dist)) == 10 * PER_UNIT  # the CCP-held 10: still escrowed
    check_ccp_empty(ccp, system, sids)
