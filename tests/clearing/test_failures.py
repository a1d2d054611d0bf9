"""Settlement failures (F7): sell-out for a buyer that does not pay, buy-in for a seller that does
not deliver, partial pay-in, shortfalls charged to the clearing member through the default
handler, and what happens when the close-out market or the handler cannot help."""

from __future__ import annotations

from cycle_helpers import deltas, settle

from smartccp.clearing.ccp import check_ccp_empty, pool, supplies
from smartccp.types import CyclePhase
from smartccp.units import cash


def test_settle_cycle__buyer_fails_to_pay__sell_out_pays_seller(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, bond_id, cycle
):
    market, handler = close_out
    a, b, _, _ = parties
    supply = supplies(system, [security_id, bond_id])
    trade(a, b, 100, cash(100))
    system.cash.approve(ccp, 0, sender=a)  # A will not pay
    market.setPrice(security_id, cash(95), sender=a)
    before = balances(a, b)

    report = settle(ccp, cycle, keeper)

    assert report.phase == CyclePhase.SETTLED and report.failures == 1
    assert deltas(balances, before, a, b) == [(0, 0, 0), (cash(10_000), -100, 0)]  # B made whole
    assert ccp.shortfallAt(cycle, 0) == (0, cash(10_000))
    sold = report.logs(ccp.SoldOut)[0]
    assert (sold.offered, sold.sold, sold.proceeds) == (100, 100, cash(9_500))
    charged = report.logs(ccp.ShortfallCharged)[0]
    assert (charged.clearingMember, charged.shortfall, charged.covered) == (a, cash(500), cash(500))
    assert handler.charged(a) == cash(500)
    check_ccp_empty(ccp, system, [security_id, bond_id])
    assert supplies(system, [security_id, bond_id]) == supply


def test_settle_cycle__client_does_not_pay__its_clearing_member_pays_its_cash_leg(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, cycle
):
    a, b, x, _ = parties
    trade(x, b, 100, cash(100))
    system.cash.approve(ccp, 0, sender=x)  # the client's own allowance does not matter
    before = balances(a, x)

    report = settle(ccp, cycle, keeper)

    # The clearing member is the CCP's counterparty for cash: A pays X's 10,000 from its wallet,
    # X receives its 100 units in its own wallet (direct holding).
    assert report.failures == 0
    assert deltas(balances, before, a, x) == [(-cash(10_000), 0, 0), (0, 100, 0)]
    check_ccp_empty(ccp, system, [security_id])


def test_settle_cycle__member_does_not_pay_for_its_client__sold_out_shortfall_charged_to_member(
    ccp, system, close_out, trade, parties, keeper, security_id, cycle
):
    market, handler = close_out
    a, b, x, _ = parties
    trade(x, b, 100, cash(100))
    system.cash.approve(ccp, 0, sender=a)  # A does not pay its client's leg
    market.setPrice(security_id, cash(90), sender=a)

    report = settle(ccp, cycle, keeper)

    assert report.failures == 1
    assert handler.charged(a) == cash(1_000) and handler.charged(x) == 0
    check_ccp_empty(ccp, system, [security_id])


def test_settle_cycle__seller_fails_to_deliver__buy_in_delivers_buyer(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, cycle
):
    market, handler = close_out
    a, b, _, _ = parties
    trade(a, b, 100, cash(100))
    system.securities.setApprovalForAll(ccp, False, sender=b)  # B will not deliver
    market.setPrice(security_id, cash(110), sender=a)
    before = balances(a, b)

    report = settle(ccp, cycle, keeper)

    assert report.failures == 1
    assert deltas(balances, before, a, b) == [(-cash(10_000), 100, 0), (0, 0, 0)]  # A made whole
    bought = report.logs(ccp.BoughtIn)[0]
    assert (bought.wanted, bought.bought, bought.cost) == (100, 100, cash(11_000))
    assert handler.charged(b) == cash(1_000)
    check_ccp_empty(ccp, system, [security_id])


def test_settle_cycle__partial_delivery__cash_released_pro_rata_rest_bought_in(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, cycle
):
    market, handler = close_out
    a, b, _, c = parties
    trade(a, b, 100, cash(100))
    system.securities.safeTransferFrom(b, c, security_id, 9_940, b"", sender=b)  # B keeps 60
    market.setPrice(security_id, cash(90), sender=a)
    before = balances(a, b)

    settle(ccp, cycle, keeper)

    assert ccp.shortfallAt(cycle, 1) == (40, 0)
    # B delivered 60: gets 6,000 for them plus the 400 the buy-in of 40 at 90 saved on 4,000.
    assert deltas(balances, before, a, b) == [(-cash(10_000), 100, 0), (cash(6_400), -60, 0)]
    assert handler.charged(b) == 0
    check_ccp_empty(ccp, system, [security_id])


def test_settle_cycle__partial_payment__units_delivered_pro_rata_rest_sold_out(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, cycle
):
    market, _ = close_out
    a, b, _, _ = parties
    trade(a, b, 100, cash(100))
    system.cash.approve(ccp, cash(2_500), sender=a)  # A pays a quarter
    market.setPrice(security_id, cash(102), sender=a)
    before = balances(a, b)

    settle(ccp, cycle, keeper)

    # A gets 25 units for its 2,500; 75 sold at 102 = 7,650 covers the 7,500 unpaid, 150 back to A.
    assert deltas(balances, before, a, b) == [(-cash(2_500) + cash(150), 25, 0), (cash(10_000), -100, 0)]
    check_ccp_empty(ccp, system, [security_id])


def test_settle_cycle__close_out_market_fails__handler_covers_cash_and_takes_units(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, cycle
):
    market, handler = close_out
    a, b, _, _ = parties
    trade(a, b, 100, cash(100))
    system.cash.approve(ccp, 0, sender=a)
    market.setBroken(True, sender=a)
    before = balances(a, b)

    settle(ccp, cycle, keeper)

    assert deltas(balances, before, a, b) == [(0, 0, 0), (cash(10_000), -100, 0)]
    assert handler.charged(a) == cash(10_000)
    assert ccp.prefundedSecurities(handler, security_id) == 100  # units held for the handler
    check_ccp_empty(ccp, system, [security_id])


def test_settle_cycle__handler_covers_part__seller_keeps_claim_and_loss_is_visible(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, cycle
):
    market, handler = close_out
    a, b, _, _ = parties
    trade(a, b, 100, cash(100))
    system.cash.approve(ccp, 0, sender=a)
    market.setPrice(security_id, cash(95), sender=a)
    handler.setCap(cash(200), sender=a)
    before = balances(a, b)

    report = settle(ccp, cycle, keeper)

    assert report.phase == CyclePhase.SETTLED and report.events["PayOutDeferred"] == 1
    assert deltas(balances, before, b)[0] == (cash(9_700), -100, 0)
    assert ccp.prefunded(b)[0] == cash(300)  # B's claim on the CCP for the uncovered 300
    assert pool(ccp, system, security_id) == (-cash(300), 0)  # the CCP's uncovered loss


def test_settle_cycle__one_member_fails_in_one_security__others_settle_untouched(
    ccp, system, close_out, worked_example, parties, balances, keeper, security_id, bond_id, cycle
):
    market, handler = close_out
    a, b, x, c = parties
    worked_example()
    system.cash.approve(ccp, 0, sender=c)  # C does not pay its leg: -3,840 on EQ + 584 on BOND
    market.setPrice(security_id, cash(100), sender=a)
    before = balances(a, b, x, c)

    report = settle(ccp, cycle, keeper)

    # C's unpaid 3,256 is charged to its EQ buy (cash due 3,840): the 584 its BOND sale earned
    # pays for floor(40 x 584 / 3,840) = 6 units, the other 34 are sold at 100 (3,400), and the
    # 144 over the shortfall goes back to C. Everyone else settles as if nothing happened (A
    # pays its own leg and its client X's).
    assert report.failures == 1
    assert deltas(balances, before, a, b, x, c) == [
        (-cash(100) + cash(5) - cash(5_025), 0, 0),
        (cash(8_965) - cash(589), -90, 600),
        (0, 50, 0),
        (cash(144), 6, -600),
    ]
    assert handler.charged(c) == 0
    check_ccp_empty(ccp, system, [security_id, bond_id])
