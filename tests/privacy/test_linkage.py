"""The linkage test of issue #24 on today's system: the baseline. An outsider with only public
chain data names both sides of every trade and the owner of every trading address; each
heuristic is checked against what the test knows happened."""

from __future__ import annotations

import pytest
from ape import chain

from smartccp.chain.system import admit, deploy_system, issue_equity, list_security, onboard
from smartccp.privacy.linkage import link
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Route, Side
from smartccp.units import cash


@pytest.fixture(scope="module")
def market(operator, bank, issuer, member_a, member_b, member_c, client_a):
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    sid = issue_equity(system, issuer)
    onboard(system, operator, (member_a, member_b, member_c), [(client_a, member_a)],
            bank=bank, issuer=issuer, cash=cash(100_000), units={sid: 1_000})
    list_security(system, operator, sid, lag_days=1)
    return system, sid


def order(owner, sid, side, qty, price, **kw):
    return Order(owner=str(owner.address), securityId=sid, side=side, quantity=qty, price=price, **kw)


def test_linkage__todays_system__every_trade_and_address_linked(market, member_a, member_b, member_c, client_a):
    system, sid = market
    start = chain.blocks.head.number + 1
    venue = VenueClient(system.venue)
    truth = []  # (buyer, seller) in trade order
    for buyer, seller, qty, price, route in [
        (member_b, member_a, 100, "10.00", Route.CCP),
        (client_a, member_c, 30, "10.05", Route.CCP),
        (member_c, member_b, 20, "9.50", Route.DIRECT),
    ]:
        venue.place(order(seller, sid, Side.SELL, qty, cash(price), route=route), seller)
        venue.place(order(buyer, sid, Side.BUY, qty, cash(price), route=route), buyer)
        truth.append((str(buyer.address), str(seller.address)))

    report = link(system, start)

    assert len(report.trades) == 3
    named = [report.counterparties(t.venue, t.trade_id) for t in report.trades]
    assert named == truth  # the outsider is right about every trade
    assert report.trade_share() == 1.0
    assert report.trade_share("venue Traded event") == 1.0
    # The two CCP trades are linked again by their legs, the direct one by its event and by
    # its two token transfers: three ways to the same answer, each enough on its own.
    assert report.trade_share("CCP legs in one transaction") == pytest.approx(2 / 3)
    assert report.trade_share("direct settlement event") == pytest.approx(1 / 3)
    assert report.trade_share("token transfers in one transaction") == pytest.approx(1 / 3)
    for heuristic in ("CCP legs in one transaction", "direct settlement event", "token transfers in one transaction"):
        for t in report.trades:
            if heuristic in report.named[(t.venue.lower(), t.trade_id)]:
                assert report.named[(t.venue.lower(), t.trade_id)][heuristic] == truth[report.trades.index(t)]
    # Every trading address is a registered identity; the client's clearing member is named.
    assert report.addresses == {str(a.address) for a in (member_a, member_b, member_c, client_a)}
    assert report.address_share() == 1.0
    assert report.owners[str(client_a.address)]["register admission"] == \
        f"{client_a.address} (client of {member_a.address})"
    assert report.address_share("cash funding") == 0.0  # funded by the settlement bank

    print("\nlinkage baseline:\n" + report.summary())


def test_linkage__client_first_funded_by_its_member__funding_names_the_member(market, operator, member_a, member_b,
                                                                              outsider):
    system, sid = market
    admit(system, operator, [], [(outsider, member_b)])
    system.cash.transfer(outsider, cash(1_000), sender=member_b)  # its first cash: from its member
    start = chain.blocks.head.number + 1
    venue = VenueClient(system.venue)
    venue.place(order(member_a, sid, Side.SELL, 10, cash("10.00")), member_a)
    venue.place(order(outsider, sid, Side.BUY, 10, cash("10.00")), outsider)

    report = link(system, start)

    owners = report.owners[str(outsider.address)]
    assert owners["cash funding"] == str(member_b.address)
    assert owners["register admission"] == f"{outsider.address} (client of {member_b.address})"
    assert "cash funding" not in report.owners[str(member_a.address)]  # funded by the settlement bank
    assert report.address_share("cash funding") == 0.5
