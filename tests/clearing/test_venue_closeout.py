"""Sell-out and buy-in ON A VENUE (F7): the CCP's close-out market is a ``VenueCloseOut`` that
trades Limit IOC orders in its own name on the system's Trade venue; each fill settles gross at
once through the CCP's direct DVP, inside ``settleCycle``.

A full system (register, ledgers, CCP, one venue), ACME (tick 0.01, lot 10) listed T+1 and
trading, four funded traders approving the CCP, and a mock default handler holding cash. Each
test makes its own trades and settles its own cycle (ape reverts the chain after each test).
Accounts: seller member_a, buyer member_b, makers member_c and client_a (under member_a).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
import pytest

from smartccp.chain.system import deploy_system, issue_equity, list_security, onboard
from smartccp.clearing.ccp import (
    check_ccp_empty,
    deploy_venue_close_out,
    run_cycle,
    supplies,
    warp_past,
)
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import CyclePhase, Side
from smartccp.units import cash

FUNDS = cash(100_000)
UNITS = 1_000
HANDLER_CASH = cash(50_000)


@dataclass
class Setup:
    system: Any
    sid: int
    market: Any  # VenueCloseOut
    handler: Any  # MockDefaultHandler
    client: VenueClient
    traders: tuple[Any, ...]


@pytest.fixture(scope="module")
def env(operator, bank, issuer, member_a, member_b, member_c, client_a):
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    sid = issue_equity(system, issuer)
    traders = tuple(onboard(system, operator, (member_a, member_b, member_c), [(client_a, member_a)],
                            bank=bank, issuer=issuer, cash=FUNDS, units={sid: UNITS}))
    list_security(system, operator, sid, lag_days=1)
    handler = operator.deploy(ape.project.MockDefaultHandler, system.cash)
    market = deploy_venue_close_out(system, operator, handler=handler)
    system.cash.issue(handler, HANDLER_CASH, sender=bank)
    return Setup(system, sid, market, handler, VenueClient(system.venue), traders)


def order(owner, sid, side, qty, price, **kw) -> Order:
    return Order(owner=str(owner.address), securityId=sid, side=side, quantity=qty, price=price, **kw)


def wallet(env: Setup, account) -> tuple[int, int]:
    return int(env.system.cash.balanceOf(account)), int(env.system.securities.balanceOf(account, env.sid))


def trade(env: Setup, seller, buyer, qty: int, price: int) -> int:
    """One novated trade seller -> buyer on the venue; returns its settlement cycle."""
    env.client.place(order(seller, env.sid, Side.SELL, qty, price), seller)
    env.client.place(order(buyer, env.sid, Side.BUY, qty, price), buyer)
    return int(env.system.ccp.settlementCycle(env.sid)[0])


def settle_stepwise(env: Setup, cycle_id: int, keeper) -> dict[str, Any]:
    """Settle pass by pass: the pay-ins (2 obligations: units, then the two cash legs), then the
    close-out step alone, then the rest; returns the close-out step's receipt and all receipts."""
    ccp = env.system.ccp
    warp_past(ccp, cycle_id)
    gas = 3_000_000  # above MIN_CLOSE_OUT_GAS
    pay_in = ccp.settleCycle(cycle_id, 4, sender=keeper, gas_limit=gas)
    close_out = ccp.settleCycle(cycle_id, 1, sender=keeper, gas_limit=gas)
    rest = run_cycle(ccp, cycle_id, keeper)
    assert rest.phase.name == "SETTLED"
    return {"close_out": close_out, "receipts": [pay_in, close_out, *rest.receipts]}


def assert_adapter_and_ccp_empty(env: Setup) -> None:
    assert wallet(env, env.market) == (0, 0)
    check_ccp_empty(env.system.ccp, env.system, [env.sid])


def assert_step_gas(env: Setup, receipt, what: str) -> None:
    """A close-out step (one settleCycle step with its phase change) must fit in
    MIN_CLOSE_OUT_GAS: the CCP starts it only with that much left, so a keeper cannot starve the
    venue call into a false 'nothing traded'. Printed for the gas notes (pytest -s)."""
    print(f"\n{what}: close-out step {receipt.gas_used:,} gas")
    assert receipt.gas_used < int(env.system.ccp.MIN_CLOSE_OUT_GAS())


# ─── Sell-out ────────────────────────────────────────────────────────────────────────────────


def test_sell_out__buyer_fails_to_pay__units_sold_on_venue_pay_the_seller(env, member_a, member_b, member_c,
                                                                          client_a, operator):
    system, sid, venue = env.system, env.sid, env.system.venue
    supply0 = supplies(system, [sid])
    cycle_id = trade(env, member_a, member_b, 100, cash("10.00"))
    # Bids resting on the venue when the cycle settles: 60 @ 9.90 (C), 100 @ 9.80 (client).
    env.client.place(order(member_c, sid, Side.BUY, 60, cash("9.90")), member_c)
    env.client.place(order(client_a, sid, Side.BUY, 100, cash("9.80")), client_a)
    system.cash.approve(system.ccp, 0, sender=member_b)  # B will not pay
    before = {str(a): wallet(env, a) for a in (*env.traders, env.handler)}

    result = settle_stepwise(env, cycle_id, operator)
    step = result["close_out"]

    # The venue matched the CCP's close-out order against both bids, best first, gross at once.
    trades = list(step.decode_logs(venue.Traded))
    assert [(t.seller, t.buyer, t.price, t.quantity) for t in trades] == [
        (str(env.market.address), str(member_c.address), cash("9.90"), 60),
        (str(env.market.address), str(client_a.address), cash("9.80"), 40),
    ]
    assert len(step.decode_logs(system.ccp.TradeSettledDirect)) == 2
    proceeds = 60 * cash("9.90") + 40 * cash("9.80")
    [sold] = step.decode_logs(env.market.SoldOnVenue)
    assert (sold.offered, sold.limitPrice, sold.sold, sold.proceeds) == (100, cash("0.01"), 100, proceeds)
    [sold_out] = step.decode_logs(system.ccp.SoldOut)
    assert (sold_out.offered, sold_out.sold, sold_out.proceeds) == (100, 100, proceeds)
    [charged] = step.decode_logs(system.ccp.ShortfallCharged)
    assert charged.shortfall == charged.covered == cash("1000.00") - proceeds

    after = {str(a): wallet(env, a) for a in (*env.traders, env.handler)}
    a, b, c, x, h = (str(v) for v in (member_a, member_b, member_c, client_a, env.handler))
    assert after[a] == (before[a][0] + cash("1000.00"), before[a][1] - 100)  # seller paid in full
    assert after[b] == before[b]  # the failing buyer got nothing and paid nothing
    assert after[c] == (before[c][0] - 60 * cash("9.90"), before[c][1] + 60)
    assert after[x] == (before[x][0] - 40 * cash("9.80"), before[x][1] + 40)
    assert after[h] == (before[h][0] - (cash("1000.00") - proceeds), before[h][1])
    assert_adapter_and_ccp_empty(env)
    assert supplies(system, [sid]) == supply0
    assert_step_gas(env, step, "sell-out, 2 fills")
    # The client's bid keeps resting with what is left of it.
    assert env.client.book(sid).bids == [(cash("9.80"), 60)]


def test_sell_out__empty_book__nothing_sold_units_to_handler_shortfall_charged(env, member_a, member_b, operator):
    system, sid = env.system, env.sid
    supply0 = supplies(system, [sid])
    cycle_id = trade(env, member_a, member_b, 100, cash("10.00"))
    system.cash.approve(system.ccp, 0, sender=member_b)
    a_before, b_before = wallet(env, member_a), wallet(env, member_b)

    step = settle_stepwise(env, cycle_id, operator)["close_out"]

    assert not list(step.decode_logs(system.venue.Traded))
    [sold] = step.decode_logs(env.market.SoldOnVenue)
    assert (sold.offered, sold.sold, sold.proceeds) == (100, 0, 0)
    [charged] = step.decode_logs(system.ccp.ShortfallCharged)
    assert charged.shortfall == charged.covered == cash("1000.00")
    assert wallet(env, member_a) == (a_before[0] + cash("1000.00"), a_before[1] - 100)
    assert wallet(env, member_b) == b_before
    # The unsold units are the handler's, held for it by the CCP (it covered their cash).
    assert int(system.ccp.prefundedSecurities(env.handler, sid)) == 100
    assert_adapter_and_ccp_empty(env)
    assert supplies(system, [sid]) == supply0


# ─── Buy-in ──────────────────────────────────────────────────────────────────────────────────


def test_buy_in__seller_fails_to_deliver__units_bought_on_venue_for_the_buyer(env, member_a, member_b, member_c,
                                                                              client_a, operator):
    system, sid, venue = env.system, env.sid, env.system.venue
    supply0 = supplies(system, [sid])
    cycle_id = trade(env, member_a, member_b, 50, cash("10.00"))
    # Offers resting at settlement: 30 @ 10.10 (C), 50 @ 10.20 (client).
    env.client.place(order(member_c, sid, Side.SELL, 30, cash("10.10")), member_c)
    env.client.place(order(client_a, sid, Side.SELL, 50, cash("10.20")), client_a)
    cost = 30 * cash("10.10") + 20 * cash("10.20")
    assert int(env.market.quoteBuy(sid, 50)) == cost
    system.securities.setApprovalForAll(system.ccp, False, sender=member_a)  # A will not deliver
    before = {str(a): wallet(env, a) for a in (*env.traders, env.handler)}

    step = settle_stepwise(env, cycle_id, operator)["close_out"]

    trades = list(step.decode_logs(venue.Traded))
    assert [(t.buyer, t.seller, t.price, t.quantity) for t in trades] == [
        (str(env.market.address), str(member_c.address), cash("10.10"), 30),
        (str(env.market.address), str(client_a.address), cash("10.20"), 20),
    ]
    [bought] = step.decode_logs(env.market.BoughtOnVenue)
    assert (bought.wanted, bought.limitPrice, bought.bought, bought.cost) == (50, cash("10.20"), 50, cost)
    [bought_in] = step.decode_logs(system.ccp.BoughtIn)
    assert (bought_in.wanted, bought_in.bought, bought_in.cost) == (50, 50, cost)
    # The handler bridged what the quote said the withheld cash (500.00) would not cover.
    [charged] = step.decode_logs(system.ccp.ShortfallCharged)
    assert charged.shortfall == charged.covered == cost - cash("500.00")

    after = {str(a): wallet(env, a) for a in (*env.traders, env.handler)}
    a, b, c, x, h = (str(v) for v in (member_a, member_b, member_c, client_a, env.handler))
    assert after[a] == before[a]  # delivered nothing, paid nothing
    assert after[b] == (before[b][0] - cash("500.00"), before[b][1] + 50)  # the buyer got its units
    assert after[c] == (before[c][0] + 30 * cash("10.10"), before[c][1] - 30)
    assert after[x] == (before[x][0] + 20 * cash("10.20"), before[x][1] - 20)
    assert after[h] == (before[h][0] - (cost - cash("500.00")), before[h][1])
    assert_adapter_and_ccp_empty(env)
    assert supplies(system, [sid]) == supply0
    assert_step_gas(env, step, "buy-in, 2 fills")


def test_buy_in__thin_book__partial_fill_rest_is_a_recorded_claim(env, member_a, member_b, member_c, operator):
    system, sid = env.system, env.sid
    supply0 = supplies(system, [sid])
    cycle_id = trade(env, member_a, member_b, 50, cash("10.00"))
    env.client.place(order(member_c, sid, Side.SELL, 30, cash("10.10")), member_c)  # only 30 offered
    assert int(env.market.quoteBuy(sid, 50)) == 0  # the book cannot fill 50
    system.securities.setApprovalForAll(system.ccp, False, sender=member_a)
    b_before = wallet(env, member_b)

    step = settle_stepwise(env, cycle_id, operator)["close_out"]

    [bought] = step.decode_logs(env.market.BoughtOnVenue)
    assert (bought.wanted, bought.bought, bought.cost) == (30, 30, 30 * cash("10.10"))
    assert not list(step.decode_logs(system.ccp.ShortfallCharged))  # nothing quoted, nothing bridged
    # The buyer gets the 30 units bought now and a recorded claim on the 20 missing (known limit).
    assert wallet(env, member_b) == (b_before[0] - cash("500.00"), b_before[1] + 30)
    assert int(system.ccp.prefundedSecurities(member_b, sid)) == 20
    # The unspent withheld cash went to the handler, which answers for the missing units.
    assert int(system.ccp.prefunded(env.handler)[0]) == cash("500.00") - 30 * cash("10.10")
    assert wallet(env, env.market) == (0, 0)
    assert supplies(system, [sid]) == supply0


# ─── The adapter itself ──────────────────────────────────────────────────────────────────────


def test_sell_and_buy__not_the_ccp__revert(env, outsider):
    with ape.reverts(env.market.OnlyClient, caller=outsider.address):
        env.market.sell(env.sid, 10, 0, sender=outsider)
    with ape.reverts(env.market.OnlyClient, caller=outsider.address):
        env.market.buy(env.sid, 10, cash(10), sender=outsider)


def test_quote_buy__sub_lot_or_empty_book__zero(env, member_c):
    assert int(env.market.quoteBuy(env.sid, 50)) == 0  # empty book
    env.client.place(order(member_c, env.sid, Side.SELL, 30, cash("10.10")), member_c)
    assert int(env.market.quoteBuy(env.sid, 5)) == 0  # below one lot (10)
    assert int(env.market.quoteBuy(env.sid, 25)) == 20 * cash("10.10")  # rounded down to the lot


def test_wiring__system_account_and_ccp_approved(env):
    system = env.system
    assert int(system.membership.memberOf(env.market).kind) == 4  # System
    assert system.ccp.closeOutSetup()[0] == env.market.address
    assert int(system.cash.allowance(env.market, system.ccp)) == 2**256 - 1
    assert system.securities.isApprovedForAll(env.market, system.ccp)
    assert system.securities.isApprovedForAll(system.ccp, env.market)
    assert env.market.venue() == system.venue.address and env.market.ccp() == system.ccp.address


# ─── The drills' registry entry ──────────────────────────────────────────────────────────────


def test_registry_venue_market__dealer_quotes__sell_out_fills_at_dealer_bid(env, member_a, member_b, operator, bank,
                                                                          issuer):
    from smartccp.clearing.closeout import make_close_out
    from smartccp.sim.scenario import CloseOutSpec

    system, sid = env.system, env.sid
    close_out = make_close_out(CloseOutSpec(market="venue", slippage_bps=100, inventory=500, cash=cash(10_000)))
    close_out.deploy(system, operator, bank=bank, issuer=issuer, security_ids=[sid])
    cycle_id = trade(env, member_a, member_b, 100, cash("10.00"))
    assert close_out.set_prices({sid: cash("10.00")}, operator) == {sid: cash("9.90")}
    assert close_out.set_prices({sid: cash("10.00")}, operator) == {sid: cash("9.90")}  # replaces, not adds
    assert env.client.book(sid).bids == [(cash("9.90"), 500)]
    assert env.client.book(sid).asks == [(cash("9.91"), 500)]
    system.cash.approve(system.ccp, 0, sender=member_b)

    step = settle_stepwise(env, cycle_id, operator)["close_out"]

    [sold_out] = step.decode_logs(system.ccp.SoldOut)
    assert (sold_out.sold, sold_out.proceeds) == (100, 100 * cash("9.90"))
    assert wallet(env, close_out.market) == (0, 0)
    check_ccp_empty(system.ccp, system, [sid])


def test_close_out_step__keeper_gives_too_little_gas__step_waits_not_starved(env, member_a, member_b, member_c,
                                                                             operator):
    system, sid, ccp = env.system, env.sid, env.system.ccp
    cycle_id = trade(env, member_a, member_b, 100, cash("10.00"))
    env.client.place(order(member_c, sid, Side.BUY, 100, cash("9.90")), member_c)
    system.cash.approve(ccp, 0, sender=member_b)
    warp_past(ccp, cycle_id)
    ccp.settleCycle(cycle_id, 4, sender=operator, gas_limit=3_000_000)  # pay-ins: units, cash legs
    # Enough for an ordinary step, not for a close-out: the cycle stops before it.
    receipt = ccp.settleCycle(cycle_id, 1, sender=operator, gas_limit=int(ccp.MIN_STEP_GAS()) + 200_000)
    assert not list(receipt.decode_logs(ccp.SoldOut))
    assert int(ccp.cycleInfo(cycle_id)[0]) == CyclePhase.CLOSING_OUT  # still ClosingOut, cursor unmoved
    step = ccp.settleCycle(cycle_id, 1, sender=operator, gas_limit=3_000_000)
    [sold_out] = step.decode_logs(ccp.SoldOut)
    assert sold_out.sold == 100
