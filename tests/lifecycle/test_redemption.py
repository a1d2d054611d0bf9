"""Redemption at maturity (Distributions.stopTrading, declareRedemption, redeem): trading ends
at maturity less the settlement lag, so every trade settles by maturity; from maturity, once
those cycles have settled, each holder's units are burnt against the redemption amount in one
transaction (DVP), pull-based.

Hand-computed: bond B (T+1), 100 units, a holds all; maturity at the start of day M. On day
M-2, a sells 30 to b at 99.00 (cycle M-1, settling from maturity). Trading stops at maturity
less one day; the issuer declares 100.00 a unit and escrows 100 x 100.00 = 10,000.00. At
maturity a's redemption waits for cycle M-1 (its open sale); after it settles, a is paid
70 x 100.00 = 7,000.00 and b 30 x 100.00 = 3,000.00: the escrow exactly, the supply 0.
"""

from __future__ import annotations

import ape
import pytest
from life_clock import at

from smartccp.chain.system import admit, approve_settlement, deploy_system, list_security
from smartccp.clearing.ccp import run_cycle
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY, Side
from smartccp.units import cash


@pytest.fixture(scope="module")
def bond(operator, bank, issuer, member_a, member_b, member_c):
    today = ape.chain.pending_timestamp // DAY + 1
    at(today * DAY + 3_600)
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    a, b, keeper = member_a, member_b, member_c
    admit(system, operator, (a, b, keeper))
    maturity_day = today + 2  # the trade on day `today` (= M-2) settles in cycle M-1
    system.securities.listSecurity("B", b"BOND00000001", 1, cash("0.01"), 1, maturity_day * DAY, sender=issuer)
    sid = int(system.securities.securityCount())
    list_security(system, operator, sid, lag_days=1)
    system.securities.issue(sid, a, 100, sender=issuer)
    approve_settlement(system, (a, b))
    for m in (a, b, issuer):
        system.cash.issue(m, cash(100_000), sender=bank)
    return system, sid, a, b, keeper, maturity_day


def test_redemption__open_sale_settles_first__each_holder_paid_dvp__escrow_exactly(bond, issuer, outsider):
    system, sid, a, b, keeper, m_day = bond
    dist, sec, ccp = system.extra["Distributions"], system.securities, system.ccp
    maturity = m_day * DAY
    client = VenueClient(system.venue)
    client.cross(a, b, sid, 30, cash("99.00"))
    assert int(dist.lastTradingTime(sid)) == maturity - DAY
    with ape.reverts(dist.TradingNotOver, id=sid, lastTradingTime=maturity - DAY):
        dist.stopTrading(sid, sender=outsider)
    system.cash.approve(dist, cash(10_000), sender=issuer)
    with ape.reverts(dist.TradingNotOver, id=sid, lastTradingTime=maturity - DAY):
        dist.declareRedemption(sid, cash("100.00"), sender=issuer)
    at(maturity - DAY)
    with ape.reverts(dist.NotIssuer, id=sid, caller=a, issuer=issuer):
        dist.declareRedemption(sid, cash("100.00"), sender=a)
    dist.declareRedemption(sid, cash("100.00"), sender=issuer)  # stops trading too
    assert sec.security(sid).halted
    with ape.reverts(system.venue.SecurityHalted, id=sid):  # trading a matured security: refused
        client.place(Order(owner=str(b.address), securityId=sid, side=Side.BUY, quantity=1, price=cash("99.00")), b)
    with ape.reverts(dist.RedemptionDeclaredAlready, id=sid):
        dist.declareRedemption(sid, cash("100.00"), sender=issuer)
    with ape.reverts(sec.NotMatured, id=sid, maturity=maturity):
        dist.redeem(sid, a, sender=keeper)
    at(maturity + 60)
    with ape.reverts(dist.SettlementPending, id=sid, cycleId=m_day - 1):
        dist.redeem(sid, a, sender=keeper)  # a's 30 are still owed to b
    assert run_cycle(ccp, m_day - 1, keeper).phase.name == "SETTLED"
    before = {m: int(system.cash.balanceOf(m)) for m in (a, b)}
    got = {}
    for m in (a, b):
        [ev] = dist.redeem(sid, m, sender=keeper).decode_logs(dist.Redeemed)
        got[m] = (int(ev.units), int(ev.amount))
    assert got == {a: (70, cash("7000.00")), b: (30, cash("3000.00"))}
    assert {m: int(system.cash.balanceOf(m)) - before[m] for m in (a, b)} == {a: cash(7_000), b: cash(3_000)}
    assert int(sec.totalSupply(sid)) == 0 and int(system.cash.balanceOf(dist)) == 0
    with ape.reverts(dist.NothingToRedeem, id=sid, holder=a):
        dist.redeem(sid, a, sender=keeper)  # twice


def test_redemption__units_pre_funded_in_the_ccp__not_redeemed_in_its_name__the_owner_withdraws_and_redeems(
    bond, issuer, outsider
):
    """a pre-funds 40 of its 100 units into the CCP. Nobody may redeem the CCP's holding (it would
    burn a's units and pay the CCP); a withdraws them and is redeemed all 100 x 100.00."""
    system, sid, a, b, keeper, m_day = bond
    dist, sec, ccp = system.extra["Distributions"], system.securities, system.ccp
    ccp.prefundSecurities(sid, 40, sender=a)
    at(m_day * DAY - DAY)
    system.cash.approve(dist, cash(10_000), sender=issuer)
    dist.declareRedemption(sid, cash("100.00"), sender=issuer)
    at(m_day * DAY + 60)
    with ape.reverts(dist.HolderIsCcp, holder=ccp.address):
        dist.redeem(sid, ccp, sender=outsider)
    assert int(sec.balanceOf(ccp, sid)) == 40 and int(ccp.prefundedSecurities(a, sid)) == 40
    ccp.withdrawSecurities(sid, 40, sender=a)
    [ev] = dist.redeem(sid, a, sender=keeper).decode_logs(dist.Redeemed)
    assert (int(ev.units), int(ev.amount)) == (100, cash("10000.00"))
    assert int(sec.totalSupply(sid)) == 0 and int(system.cash.balanceOf(dist)) == 0
