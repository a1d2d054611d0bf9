"""Real bugs the proof of safety found, each kept as the smallest test that reproduces it (marked
xfail while open; the mark goes when the bug is fixed).

Fixed: in a call auction, a fill between two Direct-route orders settles gross inside the
uncross; one party that could not pay or deliver reverted the whole uncross, and the security
stayed in the auction phase (setPhase refuses to leave it) until that party made good, cancelled
or was suspended: one member held up everyone's auction. Found by the state machine once it ran
auctions. The venue now withdraws the order of the party whose token refused (reason 6) and goes
on (VenueCore._trySettle); the test below guards it.

Fixed: a seller that did not deliver and one of its buyers that did not pay, in one security and
cycle, with another buyer paying: pass 2's buy-in for the seller ran first and found the pool
short of the failing buyer's cash (its shortfall is charged only at its own sell-out, later), so
it bought nothing; pass 3 then deferred the paying buyer's units as custody the CCP did not hold
(custody 1, balance 0). Found by the state machine's long profile with several failing traders.
A buy-in now borrows the cash the pool lacks from the default handler (a loan, not a charge:
IDefaultHandler.lendLiquidity), repaid when the cycle ends or set off against the failing
buyer's charge (CCPCloseOut._borrowLiquidity); the two tests below guard it, with the mock
handler and with the real DefaultFund.

Fixed: a parked stop-type order that could not run when released (it would meet its owner's own
resting order, or it was fill-or-kill and the book could not fill it) made ``triggerOrders``
revert whole, so no parked order of the security was released until the owner cancelled it
(found by the state machine). The venue now runs each released order in its own frame and
cancels one that cannot run alone (VenueAuctions.runReleased); the two tests below guard it.

Fixed (issue #19, tried through the real venue): one account could freeze a book in continuous
trading. With `noNakedShort` on, a resting offer whose owner then moved its units away made every
crossing taker revert (`NakedShortSale` from the CCP); a resting Direct offer whose owner then
revoked its approval made every crossing Direct taker revert (`ERC1155MissingApprovalForAll`); a
pre-funded bid whose owner withdrew the cash did the same (`CashNotPrefunded`), and each of these
blocked a call auction's uncross too. The venue now hands each fill to settlement before it
consumes the maker (VenueCore._trySettle): a maker that cannot settle is cancelled with reason 6
(NotSettled) and matching goes on; a taker that cannot settle is refused with settlement's own
error, as before. The tests below guard each case.

Fixed: when the buyer and the seller of one trade both failed, pass 2 closed out the buyer first;
its sell-out found no units (the seller had not delivered), then the seller's buy-in bought the
units for the closed-out buyer and they stayed in the CCP, owned by nobody. Pass 2 now runs every
buy-in before any sell-out (CCPSettlement._closeOutInOrder)."""

from __future__ import annotations

from eth_abi import encode
from eth_utils import keccak

from smartccp.chain.errors import refusal
from smartccp.chain.system import kyc_expiry
from smartccp.clearing.ccp import check_ccp_empty, pool, run_cycle, warp_past
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import (
    CancelReason,
    MemberKind,
    OrderType,
    Route,
    Side,
    TimeInForce,
    TradingPhase,
)
from smartccp.units import cash


def _open_gov_trades(world, *legs):  # noqa: ANN001, ANN202
    """Place limit orders at GOV5's base price (lot 1, T+1), each leg ``(trader, side, qty)``, in
    order, so they match; returns the security and its open cycle."""
    gov = world.securities[1]
    client = VenueClient(world.system.venue)
    price = gov.base_tick * gov.tick
    for trader, side, qty in legs:
        client.place(Order(owner=str(trader.address), securityId=gov.sid, side=side, quantity=qty, price=price), trader)
    cycle, _ = world.system.ccp.settlementCycle(gov.sid)
    return gov, cycle


def test_settle_cycle__buyer_and_seller_of_one_trade_both_fail__ccp_keeps_nothing(world):
    system, a, d = world.system, world.traders[0], world.traders[4]
    gov, cycle = _open_gov_trades(world, (a, Side.SELL, 1), (d, Side.BUY, 1))
    system.securities.setApprovalForAll(system.ccp, False, sender=a)  # the seller will not deliver
    system.cash.approve(system.ccp, 0, sender=d)  # the buyer will not pay
    warp_past(system.ccp, cycle)
    report = run_cycle(system.ccp, cycle, world.keeper)
    assert report.failures == 2
    assert pool(system.ccp, system, gov.sid) == (0, 0), "the CCP keeps the bought-in unit"
    check_ccp_empty(system.ccp, system, world.sids)


def _trade_at(client, world, sid, price, qty):  # noqa: ANN001, ANN202
    """member_b sells to member_c at ``price``: sets the venue's last trade price."""
    b, c = world.traders[1], world.traders[3]
    client.place(Order(owner=str(b.address), securityId=sid, side=Side.SELL, quantity=qty, price=price), b)
    client.place(Order(owner=str(c.address), securityId=sid, side=Side.BUY, quantity=qty, price=price), c)


def _blocked_trigger(world, blocker: Order, blocker_signer, setup=None):  # noqa: ANN001, ANN202
    """Park ``blocker`` and an innocent stop (member_d buys 1 on a rise to the same trigger), move
    the last price through the trigger; return (the trigger call's refusal, the innocent's hash)."""
    system, d = world.system, world.traders[4]
    gov = world.securities[1]  # lot 1
    client = VenueClient(system.venue)
    tick = gov.tick
    if setup:
        setup(client)
    client.place(blocker, blocker_signer)
    innocent = client.with_nonce(Order(owner=str(d.address), securityId=gov.sid, side=Side.BUY, quantity=1,
                                       price=120 * tick, orderType=OrderType.STOP, triggerPrice=101 * tick))
    client.place(innocent, d)
    system.venue.triggerOrders(gov.sid, 8, 64, sender=world.keeper)  # nothing reached yet
    b = world.traders[1]
    client.place(Order(owner=str(b.address), securityId=gov.sid, side=Side.SELL, quantity=5, price=110 * tick), b)
    _trade_at(client, world, gov.sid, 101 * tick, 1)
    return refusal(system.venue, "triggerOrders", gov.sid, 8, 64, sender=world.keeper), client.hash(innocent)


def test_trigger_orders__unfillable_fill_or_kill_stop__does_not_block_other_stops(world):
    a = world.traders[0]
    gov = world.securities[1]
    # member_a: buy 1,000 (far more than the book holds) fill-or-kill once the price rises to 1.01.
    blocker = Order(owner=str(a.address), securityId=gov.sid, side=Side.BUY, quantity=1_000, price=120 * gov.tick,
                    orderType=OrderType.STOP_LIMIT, timeInForce=TimeInForce.FOK, triggerPrice=101 * gov.tick)
    why, innocent = _blocked_trigger(world, blocker, a)
    assert why is None, f"triggerOrders refused with {why}: the innocent stop stays parked"
    _released(world, innocent)


def test_trigger_orders__stop_meeting_its_owners_resting_order__does_not_block_other_stops(world):
    a = world.traders[0]
    gov = world.securities[1]

    def own_offer(client):  # noqa: ANN001, ANN202
        # member_a's own offer at 1.05, inside its stop's limit and ahead of member_b's 1.10.
        client.place(Order(owner=str(a.address), securityId=gov.sid, side=Side.SELL, quantity=1, price=105 * gov.tick), a)

    blocker = Order(owner=str(a.address), securityId=gov.sid, side=Side.BUY, quantity=2, price=120 * gov.tick,
                    orderType=OrderType.STOP, triggerPrice=101 * gov.tick)
    why, innocent = _blocked_trigger(world, blocker, a, setup=own_offer)
    assert why is None, f"triggerOrders refused with {why}: the innocent stop stays parked"
    _released(world, innocent)


def _released(world, innocent: bytes) -> None:  # noqa: ANN001
    """Trigger for real: the blocker is cancelled alone and the innocent stop is released."""
    venue = world.system.venue
    r = venue.triggerOrders(world.securities[1].sid, 8, 64, sender=world.keeper)
    assert innocent in [bytes(e.orderHash) for e in r.decode_logs(venue.OrderTriggered)]
    assert r.decode_logs(venue.OrderCancelled), "the blocker was not cancelled"


def _seller_and_one_buyer_fail(world):  # noqa: ANN001, ANN202
    """member_b sells 2 GOV5 units, one each to member_a (who pays) and member_d (who does not);
    member_b does not deliver. Settles the cycle; returns (security, cycle, report)."""
    system, a, b, d = world.system, world.traders[0], world.traders[1], world.traders[4]
    gov, cycle = _open_gov_trades(world, (b, Side.SELL, 2), (a, Side.BUY, 1), (d, Side.BUY, 1))
    system.securities.setApprovalForAll(system.ccp, False, sender=b)  # the seller will not deliver
    system.cash.approve(system.ccp, 0, sender=d)  # one buyer will not pay
    warp_past(system.ccp, cycle)
    return gov, cycle, run_cycle(system.ccp, cycle, world.keeper)


def _assert_backed_and_repaid(world, gov, cycle, report, units_before: int, lender) -> None:  # noqa: ANN001
    """The paying buyer got its unit in its wallet, the CCP holds nothing beyond custody, and the
    liquidity the buy-in borrowed is back with the lender."""
    system, a = world.system, world.traders[0]
    ccp = system.ccp
    assert report.failures == 2
    assert [(e.wanted, e.bought) for e in report.logs(ccp.BoughtIn)] == [(2, 2)]
    assert sum(e.amount for e in report.logs(ccp.LiquidityBorrowed)) > 0, "no loan: the scenario lost its point"
    _, custody_units = ccp.custody(gov.sid)
    held = int(system.securities.balanceOf(ccp, gov.sid))
    assert held >= custody_units, f"the CCP owes {custody_units} units in custody and holds {held}"
    assert int(system.securities.balanceOf(a, gov.sid)) == units_before + 1, "member_a did not get its unit"
    check_ccp_empty(ccp, system, world.sids)
    assert ccp.liquidityBorrowed(cycle) == 0
    assert lender.liquidityLent() == 0


def test_settle_cycle__seller_fails_and_one_of_two_buyers_fails__ccp_custody_stays_backed(world):
    units_before = int(world.system.securities.balanceOf(world.traders[0], world.securities[1].sid))
    gov, cycle, report = _seller_and_one_buyer_fail(world)
    _assert_backed_and_repaid(world, gov, cycle, report, units_before, world.handler)


def test_settle_cycle__seller_fails_and_one_of_two_buyers_fails__default_fund_lends_and_is_repaid(risk_world):
    w, fund = risk_world.world, risk_world.fund
    cash = w.system.cash
    units_before = int(w.system.securities.balanceOf(w.traders[0], w.securities[1].sid))
    fund_before = int(cash.balanceOf(fund))
    gov, cycle, report = _seller_and_one_buyer_fail(w)
    _assert_backed_and_repaid(w, gov, cycle, report, units_before, fund)
    assert report.logs(fund.LiquidityLent), "the fund did not lend"
    assert int(cash.balanceOf(fund)) == fund_before, "the fund's cash did not come back whole"


def test_uncross__one_direct_buyer_cannot_pay__auction_still_completes(world):
    """member_b offers 2 GOV5 units (Direct); member_a bids 1 (Direct) but has withdrawn its cash
    allowance, member_c bids 1 (CCP). The uncross withdraws member_a's bid and fills member_c."""
    system, a, b, c = world.system, world.traders[0], world.traders[1], world.traders[3]
    gov = world.securities[1]
    venue, client = system.venue, VenueClient(system.venue)
    price = gov.base_tick * gov.tick
    venue.setPhase(gov.sid, TradingPhase.PRE_OPEN, sender=world.operator)
    client.place(Order(owner=str(b.address), securityId=gov.sid, side=Side.SELL, quantity=2, price=price,
                       route=Route.DIRECT), b)
    bid_a = client.with_nonce(Order(owner=str(a.address), securityId=gov.sid, side=Side.BUY, quantity=1, price=price,
                                    route=Route.DIRECT))
    client.place(bid_a, a)
    client.place(Order(owner=str(c.address), securityId=gov.sid, side=Side.BUY, quantity=1, price=price), c)
    system.cash.approve(system.ccp, 0, sender=a)  # member_a's direct purchase cannot be paid
    why = refusal(venue, "uncross", gov.sid, 10, sender=world.operator)
    assert why is None, f"uncross refused with {why}: member_c's trade and the auction's end wait on member_a"
    r = venue.uncross(gov.sid, 10, sender=world.operator)
    assert [(e.orderHash, e.reason) for e in r.decode_logs(venue.OrderCancelled)] == [(client.hash(bid_a), CancelReason.NOT_SETTLED)]
    assert [(t.buyer, t.seller, t.quantity) for t in client.trades(r)] == [(c.address, b.address, 1)]
    assert venue.phaseOf(gov.sid) == TradingPhase.CONTINUOUS


# ─── One account cannot freeze a book (issue #19) ───────────────────────────────────────────────


def _gov_rules(world, *, no_naked_short: bool = False, prefund: tuple[MemberKind, ...] = ()):  # noqa: ANN001, ANN202
    """GOV5 with the given clearing rules; returns it, its price and a venue client."""
    gov = world.securities[1]
    mask = sum(1 << int(k) for k in prefund)
    world.system.ccp.setSecurityRules(gov.sid, (True, no_naked_short, mask, gov.lag_days, 0, 0), sender=world.operator)
    return gov, gov.base_tick * gov.tick, VenueClient(world.system.venue)


def _order(trader, sid: int, side: Side, qty: int, price: int, **kw) -> Order:  # noqa: ANN001
    return Order(owner=str(trader.address), securityId=sid, side=side, quantity=qty, price=price, **kw)


def _move_all_units(world, trader, sid: int) -> None:  # noqa: ANN001
    held = world.system.securities.balanceOf(trader, sid)
    world.system.securities.safeTransferFrom(trader, world.vault, sid, held, b"", sender=trader)


def _cancelled(venue, receipt) -> list[tuple[bytes, int]]:  # noqa: ANN001
    return [(e.orderHash, e.reason) for e in receipt.decode_logs(venue.OrderCancelled)]


def test_continuous__naked_short_maker__cancelled_and_the_taker_fills_behind_it(world):
    """member_b offers 5 GOV5, member_c offers 5 behind it; member_b then moves its units away.
    member_a's bid cancels member_b's offer (NotSettled) and buys member_c's."""
    system, a, b, c = world.system, world.traders[0], world.traders[1], world.traders[3]
    gov, price, client = _gov_rules(world, no_naked_short=True)
    offer_b = client.with_nonce(_order(b, gov.sid, Side.SELL, 5, price))
    client.place(offer_b, b)
    client.place(_order(c, gov.sid, Side.SELL, 5, price), c)
    _move_all_units(world, b, gov.sid)
    r = client.place(_order(a, gov.sid, Side.BUY, 5, price), a)
    assert _cancelled(system.venue, r) == [(client.hash(offer_b), CancelReason.NOT_SETTLED)]
    assert [(t.buyer, t.seller, t.quantity) for t in client.trades(r)] == [(a.address, c.address, 5)]
    cycle, _ = system.ccp.settlementCycle(gov.sid)
    assert system.ccp.obligation(cycle, gov.sid, b) == (0, 0)  # nothing of the refused fill stays


def test_continuous__naked_short_taker__refused_with_the_ccps_error_and_nothing_changes(world):
    system, a, b = world.system, world.traders[0], world.traders[1]
    gov, price, client = _gov_rules(world, no_naked_short=True)
    bid = client.with_nonce(_order(a, gov.sid, Side.BUY, 5, price))
    client.place(bid, a)
    _move_all_units(world, b, gov.sid)
    offer = client.with_nonce(_order(b, gov.sid, Side.SELL, 5, price))
    assert refusal(system.venue, "placeOrder", offer.as_tuple(), client.sign(offer, b), 64, sender=b) == "NakedShortSale"
    assert system.venue.topOfBook(gov.sid)[1] == 5  # the bid still rests whole


def test_continuous__direct_maker_revoked_approval__cancelled_and_the_taker_fills_behind_it(world):
    system, a, b, c = world.system, world.traders[0], world.traders[1], world.traders[3]
    gov, price, client = _gov_rules(world)
    offer_b = client.with_nonce(_order(b, gov.sid, Side.SELL, 5, price, route=Route.DIRECT))
    client.place(offer_b, b)
    client.place(_order(c, gov.sid, Side.SELL, 5, price, route=Route.DIRECT), c)
    system.securities.setApprovalForAll(system.ccp, False, sender=b)
    units_a = system.securities.balanceOf(a, gov.sid)
    r = client.place(_order(a, gov.sid, Side.BUY, 5, price, route=Route.DIRECT), a)
    assert _cancelled(system.venue, r) == [(client.hash(offer_b), CancelReason.NOT_SETTLED)]
    assert [(t.buyer, t.seller, t.quantity) for t in client.trades(r)] == [(a.address, c.address, 5)]
    assert system.securities.balanceOf(a, gov.sid) == units_a + 5  # settled gross with member_c


def test_continuous__prefunded_bid_without_the_cash__cancelled_and_the_seller_fills_behind_it(world):
    """client_x must pre-fund its buys of GOV5; it rests a bid covered by its pre-funded cash,
    then withdraws the cash. member_b's offer cancels the bid and sells to member_c's."""
    system, b, x, c = world.system, world.traders[1], world.traders[2], world.traders[3]
    gov, price, client = _gov_rules(world, prefund=(MemberKind.PARTICIPANT,))
    system.ccp.prefundCash(5 * price, sender=x)
    bid_x = client.with_nonce(_order(x, gov.sid, Side.BUY, 5, price))
    client.place(bid_x, x)
    client.place(_order(c, gov.sid, Side.BUY, 5, price), c)
    system.ccp.withdrawCash(5 * price, sender=x)
    r = client.place(_order(b, gov.sid, Side.SELL, 5, price), b)
    assert _cancelled(system.venue, r) == [(client.hash(bid_x), CancelReason.NOT_SETTLED)]
    assert [(t.buyer, t.seller, t.quantity) for t in client.trades(r)] == [(c.address, b.address, 5)]


def test_uncross__naked_short_seller__withdrawn_and_the_auction_completes(world):
    system, a, b, c = world.system, world.traders[0], world.traders[1], world.traders[3]
    gov, price, client = _gov_rules(world, no_naked_short=True)
    venue = system.venue
    venue.setPhase(gov.sid, TradingPhase.PRE_OPEN, sender=world.operator)
    offer_b = client.with_nonce(_order(b, gov.sid, Side.SELL, 5, price))
    client.place(offer_b, b)
    client.place(_order(c, gov.sid, Side.SELL, 5, price), c)
    client.place(_order(a, gov.sid, Side.BUY, 5, price), a)
    _move_all_units(world, b, gov.sid)
    r = venue.uncross(gov.sid, 10, sender=world.operator)
    assert _cancelled(venue, r) == [(client.hash(offer_b), CancelReason.NOT_SETTLED)]
    assert [(t.buyer, t.seller, t.quantity) for t in client.trades(r)] == [(a.address, c.address, 5)]
    assert venue.phaseOf(gov.sid) == TradingPhase.CONTINUOUS


def _lying_buyer(world, project):  # noqa: ANN001, ANN202
    """A contract member that buys through ``placeTrusted``, with cash approved to the CCP."""
    system = world.system
    liar = project.MockLyingBuyer.deploy(sender=world.operator)
    system.membership.admitClearingMember(liar, kyc_expiry(365), sender=world.operator)
    system.cash.issue(liar, cash(100_000), sender=world.bank)
    liar.approveCash(system.cash, system.ccp, sender=world.operator)
    return liar


def test_continuous__direct_buyer_hook_blames_the_seller__the_makers_stay_and_the_taker_is_refused(world, project):
    """A buyer contract whose ERC-1155 hook reverts with the seller's approval error must not get
    honest Direct offers withdrawn: the seller's approval and units are checked, and the buyer's
    own order fails."""
    system, b, c = world.system, world.traders[1], world.traders[3]
    gov, price, client = _gov_rules(world)
    liar = _lying_buyer(world, project)
    offer_b = client.with_nonce(_order(b, gov.sid, Side.SELL, 5, price, route=Route.DIRECT))
    client.place(offer_b, b)
    client.place(_order(c, gov.sid, Side.SELL, 5, price, route=Route.DIRECT), c)
    liar.setLie(_encode_error("ERC1155MissingApprovalForAll(address,address)", ["address", "address"],
                              [str(system.ccp.address), str(b.address)]), sender=world.operator)
    bid = client.with_nonce(_order(liar, gov.sid, Side.BUY, 10, price, route=Route.DIRECT))
    assert refusal(liar, "place", str(system.venue.address), bid.as_tuple(), 64, sender=world.operator) == "ERC1155MissingApprovalForAll"
    liar.setLie(b"", sender=world.operator)
    r = liar.place(system.venue, bid.as_tuple(), 64, sender=world.operator)
    assert not r.decode_logs(system.venue.OrderCancelled)  # both offers were honest: both filled
    assert sorted(t.seller for t in client.trades(r)) == sorted([b.address, c.address])


def test_continuous__resting_direct_bid_whose_hook_refuses__withdrawn_and_the_seller_fills_behind_it(world, project):
    """A resting Direct bid of a contract that refuses the units (any revert data) would freeze
    every crossing Direct seller: the venue withdraws it and the seller fills behind it."""
    system, b, c = world.system, world.traders[1], world.traders[3]
    gov, price, client = _gov_rules(world)
    liar = _lying_buyer(world, project)
    bid = client.with_nonce(_order(liar, gov.sid, Side.BUY, 5, price, route=Route.DIRECT))
    liar.place(system.venue, bid.as_tuple(), 64, sender=world.operator)
    client.place(_order(c, gov.sid, Side.BUY, 5, price, route=Route.DIRECT), c)
    liar.setLie(_encode_error("ERC1155MissingApprovalForAll(address,address)", ["address", "address"],
                              [str(system.ccp.address), str(b.address)]), sender=world.operator)
    r = client.place(_order(b, gov.sid, Side.SELL, 5, price, route=Route.DIRECT), b)
    assert _cancelled(system.venue, r) == [(client.hash(bid), CancelReason.NOT_SETTLED)]
    assert [(t.buyer, t.seller, t.quantity) for t in client.trades(r)] == [(c.address, b.address, 5)]


def _encode_error(signature: str, types: list[str], values: list) -> bytes:  # noqa: ANN001
    """Revert data of the custom error ``signature`` with ``values``."""
    return keccak(text=signature)[:4] + encode(types, values)
