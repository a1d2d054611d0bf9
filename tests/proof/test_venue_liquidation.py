"""Waterfall layer 1 on a system whose only market is a venue: a defaulter's securities collateral
is sold on the venue's book by a ``VenueCloseOut`` whose client is Margin, inside the CCP's
settlement of the cycle (the CCP admits that adapter as a party of the direct fills the venue
hands back while it charges a shortfall, ``setLiquidationMarket``)."""

from __future__ import annotations

import ape

from smartccp.clearing.ccp import check_ccp_empty, run_cycle, warp_past
from smartccp.risk.chain import Risk, deploy_venue_liquidation, layer_events
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash


def test_layer1__securities_collateral_sold_on_the_venue_inside_settlement(risk_world):
    w, margin, fund = risk_world.world, risk_world.margin, risk_world.fund
    system, op = w.system, w.operator
    b, c, d = w.traders[1], w.traders[3], w.traders[4]
    acme, gov = w.securities
    client = VenueClient(system.venue)
    adapter = deploy_venue_liquidation(system, Risk(margin, fund), op)
    assert system.ccp.liquidationMarket() == adapter.address and adapter.client() == margin.address
    # member_d posts 200 GOV5 as collateral (haircut 10 %: floor 0.90 a unit) besides its cash.
    margin.setHaircut(gov.sid, 1_000, sender=op)
    system.securities.setApprovalForAll(margin, True, sender=d)
    margin.depositSecurities(gov.sid, 200, sender=d)
    # member_c bids 0.95 for GOV5 on the venue: the only buyer of member_d's collateral.
    client.place(Order(owner=str(c.address), securityId=gov.sid, side=Side.BUY, quantity=500, price=95 * gov.tick), c)
    # member_d buys 100 ACME at 10.00 (T+0) from member_b and then does not pay.
    price = acme.base_tick * acme.tick
    client.place(Order(owner=str(b.address), securityId=acme.sid, side=Side.SELL, quantity=100, price=price), b)
    client.place(Order(owner=str(d.address), securityId=acme.sid, side=Side.BUY, quantity=100, price=price), d)
    cycle, _ = system.ccp.settlementCycle(acme.sid)
    system.cash.approve(system.ccp, 0, sender=d)
    w.market.setPrice(acme.sid, cash("5.00"), sender=op)  # the sell-out fetches half the price
    units_c = int(system.securities.balanceOf(c, gov.sid))
    margin_cash = int(margin.marginStatus(d).cash)

    warp_past(system.ccp, cycle)
    report = run_cycle(system.ccp, cycle, w.keeper)

    # Loss 1,000 - 500 = 500: d's cash margin first, then its 200 units (ceil(rest / 0.90) > 200,
    # so all are offered) sold at member_c's 0.95 on the venue, inside settleCycle.
    sales = [(int(e.securityId), int(e.units), int(e.proceeds)) for r in report.receipts
             for e in r.decode_logs(margin.CollateralLiquidated)]
    assert sales == [(gov.sid, 200, cash("190"))]
    fills = [(t.buyer, t.seller, t.price, t.quantity) for r in report.receipts for t in client.trades(r)]
    assert fills == [(c.address, adapter.address, 95 * gov.tick, 200)]
    assert int(system.securities.balanceOf(c, gov.sid)) == units_c + 200
    assert int(margin.collateralUnits(d, gov.sid)) == 0
    own = [amount for _, layer, amount in layer_events(fund, report.receipts) if layer == "defaulter_margin"]
    assert own == [margin_cash + cash("190")]
    assert int(system.cash.balanceOf(adapter)) == 0 and int(system.securities.balanceOf(adapter, gov.sid)) == 0
    check_ccp_empty(system.ccp, system, w.sids)


def test_venue_liquidation__only_margin_sells__only_the_operator_admits_it(risk_world):
    w = risk_world.world
    adapter = deploy_venue_liquidation(w.system, Risk(risk_world.margin, risk_world.fund), w.operator)
    outsider = w.traders[0]
    with ape.reverts(adapter.OnlyClient, caller=outsider.address):
        adapter.sell(w.securities[1].sid, 1, 0, sender=outsider)
    with ape.reverts(w.system.ccp.AccessControlUnauthorizedAccount):
        w.system.ccp.setLiquidationMarket(outsider, sender=outsider)
    assert w.system.ccp.liquidationMarket() == adapter.address
