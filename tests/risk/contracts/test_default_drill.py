"""Default drills on the complete system (register, ledgers, venue, CCP, Margin, DefaultFund,
a close-out market): signed orders through the risk gate, novation, a price shock, missed
margin calls, default, market close-out by the CCP, the waterfall, client porting, and the
market going on. Also: the two largest members default in the worst historical week and a
cover-2 fund covers it without assessments."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import ape
import numpy as np
import pytest
from arch.data import sp500

from smartccp.chain.system import (
    admit,
    approve_settlement,
    deploy_system,
    list_security,
)
from smartccp.clearing.ccp import check_ccp_empty, run_cycle, supplies, warp_past
from smartccp.risk.chain import (
    Risk,
    deploy_risk,
    layer_totals,
    margin_status,
    order_margin,
    publish_contributions,
    publish_prices,
    publish_scenarios,
)
from smartccp.risk.default_fund import allocate_contributions, member_risk, size_default_fund
from smartccp.risk.scenarios import calibrate_shocks
from smartccp.risk.stress import historical_stress_scenarios, losses_beyond_margin_matrix
from smartccp.risk.waterfall import run_waterfall
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash

P0 = cash("100.00")


@functools.cache
def _sp500():
    close = sp500.load()["Adj Close"]
    return close.to_numpy(dtype=float), close.index


@functools.cache
def im_shocks() -> list[int]:
    """99 % / 5-day historical-simulation shocks calibrated on the 1,000 trading days to the end
    of 2007 (before the crisis), 16 scenarios."""
    prices, dates = _sp500()
    end = int(np.searchsorted(dates.values, np.datetime64("2008-01-01")))
    return [int(s) for s in calibrate_shocks(prices[:end], lookback_days=1_000, n_scenarios=16)]


@functools.cache
def stress_scenarios():
    """Worst down and up weeks of 2001, 2008 and 2011 (S&P 500)."""
    prices, dates = _sp500()
    return historical_stress_scenarios(prices, dates)


@dataclass
class Drill:
    system: Any
    risk: Risk
    sid: int
    market: Any
    client: VenueClient
    a: Any
    b: Any
    c: Any
    d: Any
    x: Any  # client of a

    @property
    def margin(self):
        return self.risk.margin

    @property
    def fund(self):
        return self.risk.fund


@pytest.fixture(scope="module")
def drill(operator, bank, issuer, member_a, member_b, member_c, client_a, accounts):
    a, b, c, d, x = member_a, member_b, member_c, accounts[7], client_a
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    system.securities.listSecurity("IDX", b"US0000000500", 0, cash("0.01"), 1, 0, sender=issuer)
    sid = int(system.securities.securityCount())
    admit(system, operator, (a, b, c, d), [(x, a)])
    list_security(system, operator, sid, lag_days=1)
    risk = deploy_risk(system, operator, resync=[a, b, c, d, x])
    approve_settlement(system, (a, b, c, d, x), risk.margin, risk.fund)
    for t in (b, c, d, x):
        system.cash.issue(t, cash(1_000_000), sender=bank)
    for t in (c, d):
        system.securities.issue(sid, t, 5_000, sender=issuer)
    system.cash.approve(risk.fund, 2**256 - 1, sender=bank)
    market = operator.deploy(ape.project.MockCloseOutMarket, system.cash, system.securities)
    system.membership.registerSystem(market, sender=operator)
    system.ccp.setCloseOutMarket(market, sender=operator)
    system.cash.issue(market, cash(5_000_000), sender=bank)
    publish_scenarios(risk.margin, {sid: im_shocks()}, operator)
    publish_prices(risk.margin, {sid: P0}, operator)
    return Drill(system, risk, sid, market, VenueClient(system.venue), a, b, c, d, x)


def _order(owner, sid, side, qty, price):
    from smartccp.trading.orders import Order

    return Order(owner=str(owner.address), securityId=sid, side=side, quantity=qty, price=price)


def _trade(dr: Drill, buyer, seller, qty, price=P0):
    dr.client.place(_order(seller, dr.sid, Side.SELL, qty, price), seller)
    dr.client.place(_order(buyer, dr.sid, Side.BUY, qty, price), buyer)


def _om(qty, buy):
    shocks = im_shocks()
    return order_margin(qty, P0, P0, min(shocks) if buy else max(shocks), buy)


def _sitg(dr: Drill, bank, amount):
    """The CCP's own capital, paid in by the settlement bank standing in for the CCP's treasury."""
    dr.system.cash.issue(bank, amount, sender=bank)
    dr.fund.fundSkinInTheGame(amount, sender=bank)


def _cycle(dr: Drill) -> int:
    """The cycle trades made now settle in."""
    return int(dr.system.ccp.settlementCycle(dr.sid)[0])


def _settle(dr: Drill, keeper, cycle, chunk=2):
    warp_past(dr.system.ccp, cycle)
    return run_cycle(dr.system.ccp, cycle, keeper, chunk=chunk)


def test_drill__missed_margin_call__default_close_out_waterfall_port_and_market_goes_on(drill, operator, bank, accounts):
    dr = drill
    a, b, c, d, x = dr.a, dr.b, dr.c, dr.d, dr.x
    keeper = accounts[8]
    system, fund, margin = dr.system, dr.fund, dr.margin
    contributions = {a: cash(3_000), b: cash(5_000), c: cash(5_000), d: cash(5_000)}
    publish_contributions(fund, contributions, operator)
    # a keeps nothing in its wallet: exactly its house margin for its buy and its contribution.
    # Its client x posts in its own (individually segregated) account.
    a_margin = _om(1_000, True)
    x_margin = cash(20_000)
    system.cash.issue(a, a_margin + contributions[a], sender=bank)
    margin.depositCash(a_margin, sender=a)
    margin.depositCash(x_margin, sender=x)
    fund.contribute(contributions[a], sender=a)
    for m in (b, c, d):
        margin.depositCash(cash(50_000), sender=m)
        fund.contribute(contributions[m], sender=m)
    _sitg(dr, bank, cash(1_000))
    fund.setBackupMember(a, b, sender=operator)
    before = supplies(system, [dr.sid])

    cycle = _cycle(dr)
    _trade(dr, a, c, 1_000)  # a buys 1,000 at 100.00 from c
    _trade(dr, x, d, 100)  # a's client buys 100 from d
    assert _cycle(dr) == cycle

    # The price falls 20 % at the close; a's refresh calls VM it cannot pay (on its house's 1,000;
    # the client's 100 are margined on the client's account, which covers them).
    crash = cash("80.00")
    publish_prices(margin, {dr.sid: crash}, operator)
    receipt = margin.refreshMargin(a, sender=keeper)
    status = margin_status(margin, a)
    assert status.variation_margin == 1_000 * (P0 - crash)
    margin.refreshMargin(x, sender=keeper)
    assert margin_status(margin, x).variation_margin == 100 * (P0 - crash)
    assert margin_status(margin, x).call_amount == 0
    assert receipt.decode_logs(margin.MarginCalled)
    chain = ape.chain
    chain.pending_timestamp = status.call_deadline + 1
    chain.mine()
    declare = fund.declareDefault(a, sender=keeper)  # anyone: the call is overdue
    assert int(fund.defaultOf(a)[0]) == 1  # MissedMarginCall
    assert int(system.membership.memberOf(a).status) == 2  # suspended: its orders stop matching
    # The backup must agree before it is given a's clients; until then nothing is ported.
    with ape.reverts(system.membership.PortNotAccepted, client=x, toClearingMember=b):
        fund.portClients(a, [x], sender=keeper)
    assert system.membership.clearingMemberOf(x) == a.address
    system.membership.acceptPortsFrom(a, True, sender=b)
    port = fund.portClients(a, [x], sender=keeper)
    assert system.membership.clearingMemberOf(x) == b.address
    assert x.address in [str(v) for v in margin.accountsOf(b)]
    assert x.address not in [str(v) for v in margin.accountsOf(a)]
    assert margin_status(margin, x).posted == x_margin  # ported with its collateral

    # Market close-out at settlement: a's purchase is sold out at the crash price.
    dr.market.setPrice(dr.sid, crash, sender=operator)
    report = _settle(dr, keeper, cycle)
    loss = 1_000 * (P0 - crash)
    assert int(fund.defaultOf(a)[1]) == loss
    expected = run_waterfall({a: loss}, {a: a_margin}, contributions, cash(1_000))
    assert layer_totals(fund) == dict(expected.layers)
    assert expected.used("survivor_default_fund") > 0 and expected.uncovered == 0
    assert report.phase.name == "SETTLED"
    check_ccp_empty(system.ccp, system, [dr.sid])
    assert supplies(system, [dr.sid]) == before  # double entry: nothing created or lost
    assert int(system.securities.balanceOf(c, dr.sid)) == 5_000 - 1_000
    assert int(system.securities.balanceOf(x, dr.sid)) == 100
    assert margin_status(margin, x).posted == x_margin  # segregated: not used for a's house loss

    close = fund.closeDefault(a, sender=operator)
    assert int(system.membership.memberOf(a).status) == 3  # expelled
    # The market goes on: survivors replenish their contributions, then trade; the ported
    # client trades through its new clearing member.
    for m in (b, c, d):
        required, paid = fund.contributionOf(m)
        if paid < required:
            fund.contribute(required - paid, sender=m)
    publish_prices(margin, {dr.sid: crash}, operator)
    for m in (b, c, d):
        margin.refreshMargin(m, sender=keeper)
    _trade(dr, b, d, 10, crash)
    margin.refreshMargin(x, sender=keeper)
    _trade(dr, x, c, 10, crash)
    assert margin_status(margin, b).pending > 0
    assert margin_status(margin, x).pending > 0
    gas = {"declare": declare.gas_used, "port": port.gas_used, "close": close.gas_used,
           "settle chunks": report.gas_used}
    print(f"\nmissed-call drill gas: {gas}")


def test_drill__two_largest_default_in_worst_historical_week__cover2_fund_no_assessments(drill, operator, bank,
                                                                                       accounts):
    dr = drill
    a, b, c, d = dr.a, dr.b, dr.c, dr.d
    keeper = accounts[8]
    system, fund, margin = dr.system, dr.fund, dr.margin
    system.cash.transfer(c, system.cash.balanceOf(b), sender=b)  # b, like a, keeps no spare cash
    # Margin for the orders: exactly each side's stand-alone worst case.
    deposits = {a: _om(1_000, True), b: _om(600, True), c: _om(600, False) + _om(100, True),
                d: _om(1_000, False) + _om(100, False)}
    for m, v in deposits.items():
        if m in (a, b):  # the defaulters keep nothing in their wallets
            system.cash.issue(m, v, sender=bank)
        margin.depositCash(v, sender=m)
    cycle = _cycle(dr)
    _trade(dr, a, d, 1_000)
    _trade(dr, b, c, 600)
    _trade(dr, c, d, 100)
    assert _cycle(dr) == cycle
    for m in (a, b, c, d):
        margin.refreshMargin(m, sender=keeper)
    net = {a: 1_000, b: 600, c: -500, d: -1_100}
    posted = {m: margin_status(margin, m).posted for m in net}
    assert posted[a] == margin_status(margin, a).initial_margin  # a posts exactly its IM

    # Cover 2 under the historical stress scenarios, contributions allocated by risk.
    scenarios = stress_scenarios()
    lbm = losses_beyond_margin_matrix([[q] for q in net.values()], [P0], scenarios, list(posted.values()))
    sizing = size_default_fund(lbm)
    contributions = allocate_contributions(sizing.fund_size, member_risk(lbm), minimum_contribution=cash(1_000))
    contrib = dict(zip(net, contributions, strict=True))
    publish_contributions(fund, contrib, operator)
    for m, v in contrib.items():
        if m in (a, b):
            system.cash.issue(m, v, sender=bank)
        fund.contribute(v, sender=m)
    skin = cash(1_000)
    _sitg(dr, bank, skin)

    # The worst week of 2008 happens.
    worst = next(s for s in scenarios if s.name == "2008 down 5d")
    shock = worst.shocks_bps[0]
    column = scenarios.index(worst)
    assert sorted(range(4), key=lambda m: -lbm[m][column])[:2] == [0, 1]  # a and b: the two largest
    assert sizing.fund_size >= lbm[0][column] + lbm[1][column]
    stressed = P0 + P0 * shock // 10_000
    assert P0 * shock % 10_000 == 0
    publish_prices(margin, {dr.sid: stressed}, operator)
    for m in (a, b):
        margin.refreshMargin(m, sender=keeper)
    status = margin_status(margin, a)
    chain = ape.chain
    chain.pending_timestamp = max(status.call_deadline, margin_status(margin, b).call_deadline) + 1
    chain.mine()
    declares = [fund.declareDefault(m, sender=keeper) for m in (a, b)]
    dr.market.setPrice(dr.sid, stressed, sender=operator)
    report = _settle(dr, keeper, cycle, chunk=2)

    losses = {a: 1_000 * (P0 - stressed), b: 600 * (P0 - stressed)}
    for m in (a, b):
        assert int(fund.defaultOf(m)[1]) == losses[m]
    expected = run_waterfall(losses, {a: posted[a], b: posted[b]}, contrib, skin)
    totals = layer_totals(fund)
    assert totals == dict(expected.layers)
    assert totals["survivor_assessments"] == 0 and totals["uncovered"] == 0
    assert losses[a] - posted[a] + losses[b] - posted[b] <= sizing.fund_size
    check_ccp_empty(system.ccp, system, [dr.sid])
    print(f"\ntwo-defaulter drill ({worst.name}, shock {shock} bps): fund {sizing.fund_size:,} base units, "
          f"layers {totals}; gas: declare {[r.gas_used for r in declares]}, settlement chunks of 2 obligations "
          f"{report.gas_used} (max {max(report.gas_used):,})")


def test_drill__defaulter_posted_securities__layer1_sells_them_inside_settlement__leftover_to_estate(
        drill, operator, issuer, accounts):
    """a posts only securities collateral (300 units, haircut 20 %), buys 1,000 at 100.00 and the
    price falls to 80.00. At settlement its purchase is sold out at 80.00 (loss 20,000); layer 1
    sells its collateral on the liquidation market (the same dealer) inside the CCP's close-out
    step: floor 80.00 x 0.8 = 64.00 a unit, min(300, ceil(20,000 / 64)) = 300 units at 80.00 =
    24,000; 20,000 covers the loss, 4,000 is left and goes to a's estate at closing."""
    dr = drill
    a, b, c = dr.a, dr.b, dr.c
    keeper = accounts[8]
    system, fund, margin = dr.system, dr.fund, dr.margin
    margin.setHaircut(dr.sid, 2_000, sender=operator)
    margin.setLiquidationMarket(dr.market, sender=operator)
    system.securities.issue(dr.sid, a, 300, sender=issuer)
    system.securities.setApprovalForAll(margin, True, sender=a)
    margin.depositSecurities(dr.sid, 300, sender=a)
    assert margin_status(margin, a).posted == 300 * cash(80)
    margin.depositCash(cash(50_000), sender=c)
    fund.setEstate(a, b, sender=operator)
    before = supplies(system, [dr.sid])

    cycle = _cycle(dr)
    _trade(dr, a, c, 1_000)
    crash = cash("80.00")
    publish_prices(margin, {dr.sid: crash}, operator)
    fund.declareDefault(a, sender=operator)
    dr.market.setPrice(dr.sid, crash, sender=operator)
    market_units = int(system.securities.balanceOf(dr.market, dr.sid))
    report = _settle(dr, keeper, cycle)

    liquidated = [(int(e.units), int(e.proceeds)) for r in report.receipts
                  for e in r.decode_logs(margin.CollateralLiquidated)]
    assert liquidated == [(300, cash(24_000))]
    assert layer_totals(fund)["defaulter_margin"] == cash(20_000) == int(fund.defaultOf(a)[1])
    assert sum(layer_totals(fund).values()) == cash(20_000)  # no other layer
    assert report.phase.name == "SETTLED"
    check_ccp_empty(system.ccp, system, [dr.sid])
    assert int(system.securities.balanceOf(dr.market, dr.sid)) == market_units + 1_000 + 300
    assert int(system.securities.balanceOf(c, dr.sid)) == 5_000 - 1_000
    status = margin_status(margin, a)
    assert (status.cash, int(margin.collateralUnits(a, dr.sid))) == (cash(4_000), 0)

    b_cash = int(system.cash.balanceOf(b))
    fund.closeDefault(a, sender=operator)
    assert int(system.cash.balanceOf(b)) - b_cash == cash(4_000)
    assert margin_status(margin, a).cash == 0
    assert supplies(system, [dr.sid]) == before
