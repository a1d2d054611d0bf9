"""Waterfall layer 1 is the defaulter's whole margin: its cash collateral, then its securities
collateral sold on Margin's liquidation market at no less than the settlement price less the
haircut per unit (rounded down), only as many units as the rest of the loss needs. Worked
examples with every amount computed by hand; conservation of cash and units across everyone
involved; the leftovers go to the defaulter's estate when its default is closed.

The CCP is played by an account (``risk_unit.ccp``); the liquidation market is the
``MockCloseOutMarket`` dealer (a test double trading at a price the test sets)."""

from __future__ import annotations

import ape
import pytest

from smartccp.risk.chain import layer_events, layer_totals, margin_status
from smartccp.units import cash

CONTRIB = (cash(500), cash(300), cash(200))  # a, b, c
SITG = cash(400)
CASH_MARGIN = cash(1_000)
# a's securities collateral: 10 units of S0 (settlement price 100.00, haircut 15 %: 85.00 a
# unit, 850.00) and 20 units of S1 (50.00, haircut 20 %: 40.00 a unit, 800.00).
UNITS = (10, 20)
HAIRCUTS = (1_500, 2_000)
FLOORS = (cash(85), cash(40))


@pytest.fixture(scope="module")
def l1(risk_unit, members, member_c, operator, bank, issuer, system):
    u = risk_unit
    a, b, _ = members
    trio = (a, b, member_c)
    s0, s1 = u.sids[0], u.sids[1]
    u.fund.setRequiredContributions(list(trio), list(CONTRIB), sender=operator)
    for m, c in zip(trio, CONTRIB, strict=True):
        u.fund.contribute(c, sender=m)
    system.cash.issue(bank, SITG, sender=bank)
    u.fund.fundSkinInTheGame(SITG, sender=bank)
    for sid, h in zip((s0, s1), HAIRCUTS, strict=True):
        u.margin.setHaircut(sid, h, sender=operator)
    system.securities.issue(s1, a, 100, sender=issuer)
    u.margin.depositCash(CASH_MARGIN, sender=a)
    for sid, n in zip((s0, s1), UNITS, strict=True):
        u.margin.depositSecurities(sid, n, sender=a)
    market = operator.deploy(ape.project.MockCloseOutMarket, system.cash, system.securities)
    system.membership.registerSystem(market, sender=operator)
    system.cash.issue(market, cash(100_000), sender=bank)
    market.setPrice(s0, cash(90), sender=operator)  # above S0's haircut floor of 85.00
    market.setPrice(s1, cash(40), sender=operator)  # exactly S1's floor
    u.margin.setLiquidationMarket(market, sender=operator)
    assert margin_status(u.margin, a).posted == CASH_MARGIN + cash(850) + cash(800)
    return u, trio, market


def _holdings(system, parties, sids):
    """Cash and units of each party: the sum over everyone who can be involved is conserved."""
    out = {"cash": sum(int(system.cash.balanceOf(p)) for p in parties)}
    for sid in sids:
        out[sid] = sum(int(system.securities.balanceOf(p, sid)) for p in parties)
    return out


def _parties(u, trio, market):
    return [*trio, u.margin, u.fund, u.ccp, market]


def _liquidations(u, receipt):
    return [(int(e.securityId), int(e.units), int(e.proceeds)) for e in receipt.decode_logs(u.margin.CollateralLiquidated)]


@pytest.fixture
def estate(l1, operator):
    """member_c stands for a's estate (an active holder: a itself is suspended)."""
    u, trio, _ = l1
    u.fund.setEstate(trio[0], trio[2], sender=operator)
    return trio[2]


def test_layer1__exhausted_with_cash_and_securities__in_order_then_own_fund(l1, system, estate, operator):
    u, trio, market = l1
    a = trio[0]
    s0, s1 = u.sids[:2]
    parties = _parties(u, trio, market)
    before = _holdings(system, parties, [s0, s1])
    ccp_before = int(system.cash.balanceOf(u.ccp))

    receipt = u.fund.coverShortfall(a, a, cash(3_000), sender=u.ccp)

    # Layer 1: cash 1,000; 2,000 short: S0 offered min(10, ceil(2,000 / 85)) = 10, sold at
    # 90.00 = 900; 1,100 short: S1 offered min(20, ceil(1,100 / 40)) = 20, sold at 40.00 = 800.
    # Layer 1 = 2,700; layer 2 (a's own contribution) the last 300.
    assert _liquidations(u, receipt) == [(s0, 10, cash(900)), (s1, 20, cash(800))]
    assert [int(e.amount) for e in receipt.decode_logs(u.margin.MarginSeized)] == [cash(2_700)]
    assert [(layer, amount) for _, layer, amount in layer_events(u.fund, [receipt])] == [
        ("defaulter_margin", cash(2_700)), ("defaulter_default_fund", cash(300))]
    assert layer_totals(u.fund)["defaulter_margin"] == cash(2_700)
    assert int(system.cash.balanceOf(u.ccp)) - ccp_before == cash(3_000)
    status = margin_status(u.margin, a)
    assert (status.cash, status.posted) == (0, 0)
    assert [int(u.margin.collateralUnits(a, s)) for s in (s0, s1)] == [0, 0]
    assert [int(system.securities.balanceOf(market, s)) for s in (s0, s1)] == [10, 20]
    assert _holdings(system, parties, [s0, s1]) == before  # double entry: moved, not made
    print(f"\ncoverShortfall with 2 securities sold in layer 1 (mock dealer): {receipt.gas_used:,} gas")

    # Closing: what is left of a's contribution (200) goes to its estate; nothing else is left.
    estate_cash = int(system.cash.balanceOf(estate))
    close = u.fund.closeDefault(a, sender=operator)
    assert [(int(e.marginCash), int(e.contribution)) for e in close.decode_logs(u.fund.LeftoverReturned)] == [
        (0, cash(200))]
    assert int(system.cash.balanceOf(estate)) - estate_cash == cash(200)
    assert tuple(u.fund.contributionOf(a)) == (CONTRIB[0], 0)
    assert int(system.membership.memberOf(a).status) == 3  # expelled
    assert _holdings(system, parties, [s0, s1]) == before


def test_layer1__covers_the_loss__only_the_units_needed_sold__rest_returned_to_the_estate(l1, system, estate,
                                                                                        operator):
    u, trio, market = l1
    a = trio[0]
    s0, s1 = u.sids[:2]
    parties = _parties(u, trio, market)
    before = _holdings(system, parties, [s0, s1])

    receipt = u.fund.coverShortfall(a, a, cash(1_500), sender=u.ccp)

    # Cash 1,000; 500 short: S0 offered ceil(500 / 85) = 6 units, sold at 90.00 = 540; 500 of it
    # taken, 40 stays a's cash. S1 untouched. Only layer 1 is used.
    assert _liquidations(u, receipt) == [(s0, 6, cash(540))]
    assert [(layer, amount) for _, layer, amount in layer_events(u.fund, [receipt])] == [
        ("defaulter_margin", cash(1_500))]
    status = margin_status(u.margin, a)
    assert status.cash == cash(40)
    assert status.posted == cash(40) + 4 * FLOORS[0] + 20 * FLOORS[1]  # revalued: 4 x 85 + 20 x 40
    assert _holdings(system, parties, [s0, s1]) == before

    estate_cash = int(system.cash.balanceOf(estate))
    estate_units = [int(system.securities.balanceOf(estate, s)) for s in (s0, s1)]
    close = u.fund.closeDefault(a, sender=operator)
    assert [(int(e.marginCash), int(e.contribution)) for e in close.decode_logs(u.fund.LeftoverReturned)] == [
        (cash(40), CONTRIB[0])]
    assert int(system.cash.balanceOf(estate)) - estate_cash == cash(40) + CONTRIB[0]
    assert [int(system.securities.balanceOf(estate, s)) - n for s, n in zip((s0, s1), estate_units,
                                                                             strict=True)] == [4, 20]
    assert [int(u.margin.collateralUnits(a, s)) for s in (s0, s1)] == [0, 0]
    assert margin_status(u.margin, a).posted == 0
    assert _holdings(system, parties, [s0, s1]) == before


def test_layer1__no_sale_below_the_haircut_floor__units_kept_not_returned(l1, system, estate, operator):
    u, trio, market = l1
    a = trio[0]
    s0, s1 = u.sids[:2]
    market.setPrice(s0, FLOORS[0] - 1, sender=operator)  # the dealer bids below 85.00
    parties = _parties(u, trio, market)
    before = _holdings(system, parties, [s0, s1])

    receipt = u.fund.coverShortfall(a, a, cash(2_000), sender=u.ccp)

    # Cash 1,000; S0 refused (bid below its floor); S1: 20 units at 40.00 = 800; own fund 200.
    assert _liquidations(u, receipt) == [(s1, 20, cash(800))]
    assert [(layer, amount) for _, layer, amount in layer_events(u.fund, [receipt])] == [
        ("defaulter_margin", cash(1_800)), ("defaulter_default_fund", cash(200))]
    assert int(u.margin.collateralUnits(a, s0)) == 10
    # The loss went beyond a's margin: its unsold units are not handed back at closing.
    close = u.fund.closeDefault(a, sender=operator)
    assert [(int(e.marginCash), int(e.contribution)) for e in close.decode_logs(u.fund.LeftoverReturned)] == [
        (0, cash(300))]
    assert int(u.margin.collateralUnits(a, s0)) == 10
    assert int(system.securities.balanceOf(u.margin, s0)) >= 10
    assert _holdings(system, parties, [s0, s1]) == before


def test_close_default__no_estate__leftovers_stay_booked(l1, system, operator):
    u, trio, _ = l1
    a = trio[0]
    u.fund.coverShortfall(a, a, cash(100), sender=u.ccp)
    close = u.fund.closeDefault(a, sender=operator)
    assert not close.decode_logs(u.fund.LeftoverReturned)
    assert margin_status(u.margin, a).cash == CASH_MARGIN - cash(100)
    assert tuple(u.fund.contributionOf(a)) == (CONTRIB[0], CONTRIB[0])


def test_hooks__only_the_fund_seizes_and_releases(l1):
    u, trio, _ = l1
    a, b, _ = trio
    with ape.reverts(u.margin.AccessControlUnauthorizedAccount):
        u.margin.seizeMargin(a, a, 1, b, sender=b)
    with ape.reverts(u.margin.AccessControlUnauthorizedAccount):
        u.margin.releaseCollateral(a, b, True, sender=b)


def test_securities_collateral__withdrawn_to_zero_and_deposited_again__counted_once(l1, system):
    u, trio, _ = l1
    b = trio[1]
    s0 = u.sids[0]
    u.margin.depositSecurities(s0, 10, sender=b)
    u.margin.withdrawSecurities(s0, 10, sender=b)
    u.margin.depositSecurities(s0, 10, sender=b)
    assert margin_status(u.margin, b).posted == 10 * FLOORS[0]
