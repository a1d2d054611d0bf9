"""Best-price routing through the BBO: the sweep across venues, no trade-through, the tie-break
between venues, halted and removed venues, the rest's time in force, and refused orders."""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak

from smartccp.chain.roles import role
from smartccp.trading.bbo import ROUTED_ORDER_TYPEHASH, RouteTimeInForce, child_nonce, remove_venue
from smartccp.types import Side, TradingPhase
from smartccp.units import cash

D = cash  # prices read as decimals: D("10.00")


def books(mkt):
    """Every venue's displayed depth: what must be unchanged after a refused route."""
    return [tuple(tuple(map(int, side)) for side in v.depth(mkt.sid, 10)) for v in mkt.venues]


def trades(mkt, receipt):
    """(venue index, price, quantity, seller) of every trade in a receipt, in execution order."""
    out = []
    for log in receipt.events:
        if log.event_name == "Traded":
            i = [str(v.address) for v in mkt.venues].index(str(log.contract_address))
            out.append((i, int(log.price), int(log.quantity), str(log.seller)))
    return out


# ─── Wiring and typed data ──────────────────────────────────────────────────────────────────────


def test_deploy_bbo__registers_and_wires_every_venue(mkt):
    bbo, system = mkt.bbo, mkt.system
    assert system.extra["BBO"] == bbo
    assert list(bbo.venues()) == [v.address for v in mkt.venues]
    assert [bbo.slotOf(v) for v in mkt.venues] == [0, 1, 2]
    assert all(v.hasRole(role("ROUTER_ROLE"), bbo) for v in mkt.venues)
    assert bbo.eip712Domain()[1] == "SmartCCP BBO"


def test_routed_order_typehash__matches_python(mkt, member_b):
    order = mkt.order(member_b, Side.BUY, 100, D("10.05"), expiry=123)
    assert bytes(mkt.bbo.hashRoutedOrder(order.as_tuple())) == mkt.client.hash(order)
    assert keccak(text="RoutedOrder(address owner,uint256 securityId,uint8 side,uint64 quantity,uint64 limitPrice,"
                       "uint8 timeInForce,uint64 expiry,uint256 nonce)") == ROUTED_ORDER_TYPEHASH
    h = mkt.client.hash(order)
    assert mkt.bbo.childNonce(h, 3) == child_nonce(h, 3)


# ─── The sweep ──────────────────────────────────────────────────────────────────────────────────


def test_route__sweeps_three_venues_best_price_first__split_fills(mkt, member_a, member_b, member_c, client_a):
    mkt.rest(2, member_a, Side.SELL, 100, D("10.00"))
    mkt.rest(0, member_c, Side.SELL, 100, D("10.01"))
    mkt.rest(1, client_a, Side.SELL, 100, D("10.02"))
    mkt.rest(1, member_a, Side.SELL, 100, D("10.10"))  # beyond the limit
    order = mkt.order(member_b, Side.BUY, 250, D("10.05"))
    r = mkt.client.route(order, member_b)
    v = [str(x.address) for x in mkt.venues]
    assert mkt.client.fills(r) == [(v[2], D("10.00"), 100), (v[0], D("10.01"), 100), (v[1], D("10.02"), 50)]
    assert trades(mkt, r) == [(2, D("10.00"), 100, member_a), (0, D("10.01"), 100, member_c), (1, D("10.02"), 50, client_a)]
    out = mkt.client.outcome(r)
    assert (out.filled, out.quantity, out.restingOrderId) == (250, 250, 0)
    assert r.return_value.filled == 250 and len(r.return_value.fills) == 3
    assert mkt.bbo.nonceUsed(member_b, order.nonce)
    # Each child carries a nonce derived from the parent hash: the bid hashes are all different.
    bid_hashes = {bytes(log.bidOrderHash) for log in r.events if log.event_name == "Traded"}
    assert len(bid_hashes) == 3
    # The consolidated quote followed: 50 left at 10.02 on venue 1.
    q = mkt.client.quote(mkt.sid)
    assert (q.ask_price, q.ask_size, q.ask_venues) == (D("10.02"), 50, (v[1],))


def test_route__sell_sweeps_highest_bids_first(mkt, member_a, member_b, member_c):
    mkt.rest(0, member_a, Side.BUY, 50, D("9.98"))
    mkt.rest(1, member_c, Side.BUY, 50, D("9.99"))
    mkt.rest(2, member_a, Side.BUY, 50, D("9.97"))
    r = mkt.client.route(mkt.order(member_b, Side.SELL, 120, D("9.97")), member_b)
    assert [(i, p, q) for i, p, q, _ in trades(mkt, r)] == [(1, D("9.99"), 50), (0, D("9.98"), 50), (2, D("9.97"), 20)]


def test_route__no_trade_through__never_worse_than_another_venues_display(mkt, member_a, member_b, member_c, client_a):
    # Several levels on every venue, interleaved in price.
    for venue, who, price in [(0, member_a, "10.03"), (0, member_a, "10.00"), (1, member_c, "10.01"),
                              (1, member_c, "10.04"), (2, client_a, "10.02"), (2, client_a, "10.05")]:
        mkt.rest(venue, who, Side.SELL, 30, D(price))
    displayed = sorted(p for _, _, p, _ in mkt.tops())
    r = mkt.client.route(mkt.order(member_b, Side.BUY, 180, D("10.05")), member_b, max_children=12)
    fills = trades(mkt, r)
    prices = [p for _, p, _, _ in fills]
    assert prices == sorted(prices) == [D("10.00"), D("10.01"), D("10.02"), D("10.03"), D("10.04"), D("10.05")]
    assert prices[0] == displayed[0]  # the first fill is at the best displayed offer of any venue
    # Replay the sweep: before each fill, no other venue displayed a better offer.
    book = {0: [D("10.00"), D("10.03")], 1: [D("10.01"), D("10.04")], 2: [D("10.02"), D("10.05")]}
    for venue, price, _, _ in fills:
        best_elsewhere = min((lv[0] for i, lv in book.items() if i != venue and lv), default=None)
        assert best_elsewhere is None or price <= best_elsewhere
        book[venue].remove(price)


def test_route__limit_respected__ioc_rest_cancelled(mkt, member_a, member_b):
    mkt.rest(0, member_a, Side.SELL, 50, D("10.00"))
    mkt.rest(1, member_a, Side.SELL, 50, D("10.10"))
    r = mkt.client.route(mkt.order(member_b, Side.BUY, 100, D("10.05")), member_b)
    assert [p for _, p, _, _ in trades(mkt, r)] == [D("10.00")]
    out = mkt.client.outcome(r)
    assert (out.filled, out.restVenue, out.restingOrderId) == (50, "0x" + "00" * 20, 0)
    assert mkt.tops()[1][2:] == (D("10.10"), 50)


def test_route__rest_on_best_venue__rests_at_the_limit_where_the_best_bid_is(mkt, member_a, member_b, member_c):
    mkt.rest(0, member_a, Side.SELL, 50, D("10.00"))
    mkt.rest(1, member_c, Side.BUY, 10, D("9.90"))
    mkt.rest(2, member_c, Side.BUY, 10, D("9.95"))  # best bid: the rest goes to venue 2
    r = mkt.client.route(mkt.order(member_b, Side.BUY, 120, D("10.02"), timeInForce=RouteTimeInForce.REST), member_b)
    out = mkt.client.outcome(r)
    assert (out.filled, out.restVenue) == (50, mkt.venues[2].address)
    owner, remaining, *_ = mkt.venues[2].orderOf(out.restingOrderId)
    assert (owner, remaining) == (member_b, 70)
    q = mkt.client.quote(mkt.sid)
    assert (q.bid_price, q.bid_size, q.bid_venues) == (D("10.02"), 70, (mkt.venues[2].address,))
    # The owner cancels the rest on the venue itself.
    mkt.venues[2].cancelOrder(out.restingOrderId, sender=member_b)
    assert mkt.client.quote(mkt.sid).bid_price == D("9.95")


def test_route__child_cap_reached_while_crossing__rest_cancelled_not_rested(mkt, member_a, member_b, member_c):
    for i in range(3):
        mkt.rest(i, member_a, Side.SELL, 10, D("10.00"))
    order = mkt.order(member_b, Side.BUY, 100, D("10.00"), timeInForce=RouteTimeInForce.REST)
    r = mkt.client.route(order, member_b, max_children=2)
    out = mkt.client.outcome(r)
    assert (out.filled, out.restingOrderId) == (20, 0)
    assert len(mkt.client.fills(r)) == 2


# ─── Tie-break ──────────────────────────────────────────────────────────────────────────────────


def test_route__tie_break__larger_size_first_then_lower_slot(mkt, member_a, member_b, member_c):
    mkt.rest(0, member_a, Side.SELL, 20, D("10.00"))
    mkt.rest(1, member_c, Side.SELL, 40, D("10.00"))  # larger: first
    mkt.rest(2, member_a, Side.SELL, 20, D("10.00"))  # same size as venue 0: venue 0 first
    r = mkt.client.route(mkt.order(member_b, Side.BUY, 80, D("10.00")), member_b)
    assert [(i, q) for i, _, q, _ in trades(mkt, r)] == [(1, 40), (0, 20), (2, 20)]


# ─── Halted and removed venues ──────────────────────────────────────────────────────────────────


def test_route__venue_closed_mid_session__skipped(mkt, operator, member_a, member_b, member_c):
    mkt.rest(0, member_a, Side.SELL, 50, D("10.00"))
    mkt.rest(1, member_c, Side.SELL, 50, D("10.01"))
    mkt.venues[0].setPhase(mkt.sid, TradingPhase.CLOSED, sender=operator)  # venue 0 stops trading ACME
    r = mkt.client.route(mkt.order(member_b, Side.BUY, 50, D("10.05")), member_b)
    assert [(i, p) for i, p, _, _ in trades(mkt, r)] == [(1, D("10.01"))]
    assert mkt.tops()[0][2:] == (D("10.00"), 50)  # untouched


def test_route__venue_removed_mid_session__skipped_and_its_quotes_dropped(mkt, operator, member_a, member_b, member_c, chain):
    mkt.rest(0, member_a, Side.SELL, 50, D("10.00"))
    mkt.rest(1, member_c, Side.SELL, 50, D("10.01"))
    assert mkt.client.quote(mkt.sid).ask_price == D("10.00")
    remove_venue(mkt.bbo, mkt.venues[0], operator, unwire=False)  # still pushing to the BBO
    q = mkt.client.quote(mkt.sid)
    assert (q.ask_price, q.ask_venues) == (D("10.01"), (mkt.venues[1].address,))
    # The removed venue keeps trading; its pushes are taken (never refused) but not counted.
    mkt.place(0, member_b, Side.BUY, 10, D("10.00"))
    mkt.rest(0, member_a, Side.SELL, 10, D("9.00"))
    assert mkt.client.quote(mkt.sid).ask_price == D("10.01")
    r = mkt.client.route(mkt.order(member_b, Side.BUY, 50, D("10.05")), member_b)
    assert [(i, p) for i, p, _, _ in trades(mkt, r)] == [(1, D("10.01"))]
    # Re-registered, it takes the free slot 0 again; what it pushed before its registration is
    # not trusted (it may be stale), so it counts after a sync (or its next top change).
    chain.mine(1, timestamp=chain.pending_timestamp + 10)
    mkt.bbo.addVenue(mkt.venues[0], sender=operator)
    assert mkt.client.quote(mkt.sid).ask_price == 0
    assert tuple(mkt.bbo.venueQuote(mkt.venues[0], mkt.sid)) == (0, 0, 0, 0, 0)
    mkt.bbo.syncQuote(mkt.sid, sender=member_b)
    assert mkt.client.quote(mkt.sid).core() == mkt.client.quote_from_venues(mkt.sid).core()
    assert mkt.client.quote(mkt.sid).ask_price == D("9.00")


def test_route__security_halted__reverts_security_halted(mkt, operator, member_a, member_b):
    mkt.rest(0, member_a, Side.SELL, 50, D("10.00"))
    mkt.system.securities.setHalted(mkt.sid, True, sender=operator)
    order = mkt.order(member_b, Side.BUY, 50, D("10.05"))
    with ape.reverts(mkt.bbo.SecurityHalted, securityId=mkt.sid):
        mkt.client.route(order, member_b)
    assert not mkt.bbo.nonceUsed(member_b, order.nonce)


def test_route__no_venue_trading__reverts(mkt, operator, member_b):
    for v in mkt.venues:
        v.setPhase(mkt.sid, TradingPhase.CLOSED, sender=operator)
    with ape.reverts(mkt.bbo.NoTradingVenue, securityId=mkt.sid):
        mkt.client.route(mkt.order(member_b, Side.BUY, 50, D("10.05")), member_b)


def test_route__child_refused_by_venue__whole_route_reverts(mkt, member_a, member_b, member_c):
    mkt.rest(0, member_c, Side.SELL, 50, D("10.00"))
    mkt.rest(1, member_b, Side.SELL, 50, D("10.01"))  # the buyer's own offer: self-trade
    order = mkt.order(member_b, Side.BUY, 100, D("10.05"))
    # A venue's error raised inside the route: checked with eth_call (ape traces a mined revert
    # through three contracts for ~15 s); the venue 0 fill before it is rolled back with it.
    with ape.reverts(mkt.venues[1].SelfTrade, owner=member_b):
        mkt.bbo.route.call(order.as_tuple(), mkt.client.sign(order, member_b), 8, sender=member_b)
    assert not mkt.bbo.nonceUsed(member_b, order.nonce)


# ─── Refused orders: named errors, nothing changes ──────────────────────────────────────────────


@pytest.fixture
def seeded(mkt, member_a, member_c):
    mkt.rest(0, member_a, Side.SELL, 50, D("10.00"))
    mkt.rest(1, member_c, Side.SELL, 50, D("10.01"))
    return mkt


def test_route__bad_signature__reverts_signer_not_owner(seeded, member_b, member_c):
    mkt = seeded
    before = books(mkt)
    order = mkt.order(member_b, Side.BUY, 50, D("10.05"))
    sig = mkt.client.sign(order, member_c)
    with ape.reverts(mkt.bbo.SignerNotOwner, signer=member_c, owner=member_b):
        mkt.bbo.route(order.as_tuple(), sig, 4, sender=member_b)
    tampered = order.but(quantity=100)  # signed for 50
    with ape.reverts(mkt.bbo.SignerNotOwner):
        mkt.bbo.route(tampered.as_tuple(), mkt.client.sign(order, member_b), 4, sender=member_b)
    assert books(mkt) == before and not mkt.bbo.nonceUsed(member_b, order.nonce)


def test_route__replay__reverts_nonce_used(seeded, member_b, member_c):
    mkt = seeded
    order = mkt.order(member_b, Side.BUY, 10, D("10.05"))
    sig = mkt.client.sign(order, member_b)
    mkt.bbo.route(order.as_tuple(), sig, 4, sender=member_b)
    before = books(mkt)
    with ape.reverts(mkt.bbo.NonceUsed, owner=member_b, nonce=order.nonce):
        mkt.bbo.route(order.as_tuple(), sig, 4, sender=member_c)  # anyone may relay; once
    assert books(mkt) == before


def test_route__invalidated_nonce__reverts_nonce_used(seeded, member_b):
    mkt = seeded
    order = mkt.order(member_b, Side.BUY, 10, D("10.05"))
    mkt.bbo.invalidateNonce(order.nonce, sender=member_b)
    with ape.reverts(mkt.bbo.NonceUsed, owner=member_b, nonce=order.nonce):
        mkt.client.route(order, member_b)


def test_route__expired__reverts_order_expired(seeded, member_b, chain):
    mkt = seeded
    before = books(mkt)
    expiry = chain.pending_timestamp - 10
    order = mkt.order(member_b, Side.BUY, 50, D("10.05"), expiry=expiry)
    with ape.reverts(mkt.bbo.OrderExpired, expiry=expiry):
        mkt.client.route(order, member_b)
    assert books(mkt) == before and not mkt.bbo.nonceUsed(member_b, order.nonce)


@pytest.mark.parametrize(
    "fields, error, args",
    [
        ({"quantity": 0}, "ZeroQuantity", {}),
        ({"limitPrice": 0}, "ZeroPrice", {}),
        ({"quantity": 55}, "OffLot", {"quantity": 55, "lotSize": 10}),
        ({"limitPrice": D("10.005")}, "OffTick", {"price": D("10.005"), "tickSize": D("0.01")}),
    ],
)
def test_route__bad_terms__named_error(seeded, member_b, fields, error, args):
    mkt = seeded
    before = books(mkt)
    order = mkt.order(member_b, Side.BUY, 50, D("10.05")).but(**fields)
    with ape.reverts(getattr(mkt.bbo, error), **args):
        mkt.bbo.route(order.as_tuple(), mkt.client.sign(order, member_b), 4, sender=member_b)
    assert books(mkt) == before and not mkt.bbo.nonceUsed(member_b, order.nonce)


@pytest.mark.parametrize("max_children", [0, 17])
def test_route__child_bound__reverts_too_many_children(seeded, member_b, max_children):
    mkt = seeded
    order = mkt.order(member_b, Side.BUY, 50, D("10.05"))
    with ape.reverts(mkt.bbo.TooManyChildren, maxChildren=max_children, max=16):
        mkt.bbo.route(order.as_tuple(), mkt.client.sign(order, member_b), max_children, sender=member_b)


def test_bbo_without_router_role__venue_refuses_children(seeded, operator, member_b):
    mkt = seeded
    mkt.venues[0].revokeRole(role("ROUTER_ROLE"), mkt.bbo, sender=operator)
    order = mkt.order(member_b, Side.BUY, 50, D("10.05"))
    with ape.reverts(mkt.venues[0].NotTrusted, caller=mkt.bbo, owner=member_b):
        mkt.bbo.route.call(order.as_tuple(), mkt.client.sign(order, member_b), 4, sender=member_b)
