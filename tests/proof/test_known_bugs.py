"""Real bugs the proof of safety found, each kept as the smallest test that reproduces it (marked
xfail while open; the mark goes when the bug is fixed).

Fixed: when the buyer and the seller of one trade both failed, pass 2 closed out the buyer first;
its sell-out found no units (the seller had not delivered), then the seller's buy-in bought the
units for the closed-out buyer and they stayed in the CCP, owned by nobody. Pass 2 now runs every
buy-in before any sell-out (CCPSettlement._closeOutInOrder)."""

from __future__ import annotations

import pytest

from smartccp.clearing import check_ccp_empty, pool, run_cycle, warp_past
from smartccp.orders import Order, Side
from smartccp.trading import VenueClient


def test_settle_cycle__buyer_and_seller_of_one_trade_both_fail__ccp_keeps_nothing(world):
    system, a, d = world.system, world.traders[0], world.traders[4]
    gov = world.securities[1]  # lot 1, T+1
    client = VenueClient(system.venue)
    price = gov.base_tick * gov.tick
    client.place(Order(owner=str(a.address), securityId=gov.sid, side=Side.SELL, quantity=1, price=price), a)
    client.place(Order(owner=str(d.address), securityId=gov.sid, side=Side.BUY, quantity=1, price=price), d)
    cycle, _ = system.ccp.settlementCycle(gov.sid)
    system.securities.setApprovalForAll(system.ccp, False, sender=a)  # the seller will not deliver
    system.cash.approve(system.ccp, 0, sender=d)  # the buyer will not pay
    warp_past(system.ccp, cycle)
    report = run_cycle(system.ccp, cycle, world.keeper)
    assert report.failures == 2
    assert pool(system.ccp, system, gov.sid) == (0, 0), "the CCP keeps the bought-in unit"
    check_ccp_empty(system.ccp, system, world.sids)
