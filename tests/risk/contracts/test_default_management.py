"""Default management from the moment of declaration (DefaultManagement.sol): clients ported in
the port window or closed out after it, the house portfolio taken over into lots, a sealed-bid
auction (EIP-712 bids committed as digests, revealed after the window, bounded by the bidder's
margin), the winners novated at their bid, an unsold lot closed out on the venue, the loss the
auction crystallised charged through the waterfall — all before the defaulter's cycle settles.

Cast (all on a fresh system, two T+1 securities S1 and S2 at 100.00):
    a   the defaulter (house): buys 100 S1 from c, sells 50 S2 to c
    x   a's individually segregated client: buys 20 S1 from d; ported to b
    y   a's individually segregated client: buys 30 S1 from d; not ported: closed out
    b, c, d   surviving clearing members and bidders; d rests a bid of 30 S1 at 85.00
The day's settlement prices: S1 90.00, S2 110.00. Hand-computed lots and losses:
    lot 1  a S1 +100, cash -10,000: c wins at 89.00 (b 87.00; d 95.00 refused: above its margin)
           loss 100 x (100 - 89) = 1,100 = VM 100 x 10 + discount 100 x (90 - 89)
    lot 2  a S2 -50, cash +5,000: b wins at 111.00 (c 113.00)
           loss 50 x (111 - 100) = 550 = VM 50 x 10 + discount 50 x (111 - 110)
    lot 3  y S1 +30, cash -3,000: no bid, closed out on the venue into d's bid at 85.00
           loss 30 x (100 - 85) = 450 = VM 30 x 10 + discount 30 x (90 - 85)
Waterfall: house 1,650 = a's margin 1,500 (layer 1) + 150 of a's contribution (layer 2);
y's 450 from y's own account (layer 1), its other 550 left to y.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
import pytest

from smartccp.chain.system import (
    admit,
    approve_settlement,
    deploy_system,
    list_security,
)
from smartccp.clearing.ccp import check_ccp_empty, run_cycle, supplies, warp_past
from smartccp.risk import management as mg
from smartccp.risk.chain import (
    deploy_risk,
    layer_events,
    layer_totals,
    margin_status,
    publish_contributions,
    publish_prices,
    publish_scenarios,
)
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Segregation, Side
from smartccp.units import cash

P0 = cash("100.00")
SHOCKS = [-800 + 100 * i for i in range(16)]  # worst down 8 %, worst up 7 %
A_MARGIN, CLIENT_MARGIN, D_MARGIN = cash(1_500), cash(1_000), cash(1_000)
CONTRIBUTIONS = (cash(3_000), cash(5_000))  # the defaulter's, each survivor's
BAND = 2_000  # bids within 20 % of the settlement price
WINDOW = 3_600


@dataclass
class Case:
    system: Any
    risk: Any
    dm: Any
    s1: int
    s2: int
    a: Any
    b: Any
    c: Any
    d: Any
    x: Any
    y: Any
    keeper: Any
    operator: Any
    cycle: int
    lots: dict[str, int]
    before: dict[str, int]

    @property
    def fund(self) -> Any:
        return self.risk.fund

    @property
    def margin(self) -> Any:
        return self.risk.margin

    def by_address(self) -> dict[str, Any]:
        return {str(m.address): m for m in (self.a, self.b, self.c, self.d, self.x, self.y)}


def _trade(client: VenueClient, buyer, seller, sid, qty, price=P0):  # noqa: ANN001, ANN202
    client.place(Order(owner=str(seller.address), securityId=sid, side=Side.SELL, quantity=qty, price=price), seller)
    client.place(Order(owner=str(buyer.address), securityId=sid, side=Side.BUY, quantity=qty, price=price), buyer)


@pytest.fixture(scope="module")
def case_(operator, bank, issuer, member_a, member_b, member_c, client_a, accounts):
    chain = ape.chain
    # Start an hour into a day: the port window (an hour) ends on the same day.
    chain.pending_timestamp = (chain.pending_timestamp // 86_400 + 1) * 86_400 + 600
    chain.mine()
    a, b, c, d, x, keeper = member_a, member_b, member_c, accounts[7], client_a, accounts[8]
    y = accounts.generate_test_account()
    operator.transfer(y, 10**18)
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    for name in ("S1", "S2"):
        system.securities.listSecurity(name, name.encode().ljust(12, b"0"), 0, cash("0.01"), 1, 0, sender=issuer)
    s1, s2 = int(system.securities.securityCount()) - 1, int(system.securities.securityCount())
    admit(system, operator, (a, b, c, d), [(x, a, Segregation.INDIVIDUAL), (y, a, Segregation.INDIVIDUAL)])
    for sid in (s1, s2):
        list_security(system, operator, sid, lag_days=1)
    risk = deploy_risk(system, operator, resync=[a, b, c, d, x, y])
    dm = risk.management
    approve_settlement(system, (a, b, c, d, x, y), risk.margin, risk.fund)
    for t in (a, b, c, d, x, y):
        system.cash.issue(t, cash(100_000), sender=bank)
    system.securities.issue(s1, c, 100, sender=issuer)
    system.securities.issue(s1, d, 50, sender=issuer)
    system.securities.issue(s2, b, 50, sender=issuer)
    publish_scenarios(risk.margin, {s1: SHOCKS, s2: SHOCKS}, operator)
    publish_prices(risk.margin, {s1: P0, s2: P0}, operator)
    publish_contributions(risk.fund, {a: CONTRIBUTIONS[0], b: CONTRIBUTIONS[1], c: CONTRIBUTIONS[1],
                                      d: CONTRIBUTIONS[1]}, operator)
    for m, amount in ((a, CONTRIBUTIONS[0]), (b, CONTRIBUTIONS[1]), (c, CONTRIBUTIONS[1]), (d, CONTRIBUTIONS[1])):
        risk.fund.contribute(amount, sender=m)
    for m, amount in ((a, A_MARGIN), (b, cash(50_000)), (c, cash(50_000)), (d, D_MARGIN), (x, CLIENT_MARGIN),
                      (y, CLIENT_MARGIN)):
        risk.margin.depositCash(amount, sender=m)
    system.cash.issue(bank, cash(1_000), sender=bank)
    system.cash.approve(risk.fund, cash(1_000), sender=bank)
    risk.fund.fundSkinInTheGame(cash(1_000), sender=bank)
    risk.fund.setPortWindow(WINDOW, sender=operator)
    risk.fund.setBackupMember(a, b, sender=operator)
    system.membership.acceptPort(x, True, sender=b)  # b takes x, not y

    client = VenueClient(system.venue)
    cycle = int(system.ccp.settlementCycle(s1)[0])
    _trade(client, a, c, s1, 100)
    _trade(client, c, a, s2, 50)
    _trade(client, x, d, s1, 20)
    _trade(client, y, d, s1, 30)
    client.place(Order(owner=str(d.address), securityId=s1, side=Side.BUY, quantity=30, price=cash("85.00")), d)
    publish_prices(risk.margin, {s1: cash("90.00"), s2: cash("110.00")}, operator)
    before = supplies(system, [s1, s2])

    risk.fund.declareDefault(a, sender=operator)  # the default manager's decision
    with ape.reverts(system.membership.PortNotAccepted, client=y, toClearingMember=b):
        risk.fund.portClients(a, [y], sender=keeper)  # b did not accept y
    risk.fund.portClients(a, [x], sender=keeper)
    with ape.reverts(dm.NotInDefault, defaulter=b):
        dm.openCase(b, sender=keeper)
    dm.openCase(a, sender=keeper)
    dm.takeOver(a, a, [s1, s2], sender=keeper)
    deadline = int(risk.fund.portDeadline(a))
    with ape.reverts(dm.PortWindowOpen, client=y, deadline=deadline):
        dm.takeOver(a, y, [s1], sender=keeper)  # y may still be ported
    with ape.reverts(dm.NotDefaultersWallet, wallet=x, defaulter=a):
        dm.takeOver(a, x, [s1], sender=keeper)  # ported: b's client now
    chain.pending_timestamp = deadline + 1
    chain.mine()
    with ape.reverts(risk.fund.PortWindowClosed, defaulter=a, deadline=deadline):
        risk.fund.portClients(a, [y], sender=keeper)
    dm.takeOver(a, y, [s1], sender=keeper)
    ids = [int(i) for i in dm.lotsOf(a)]
    named = dict(zip(("a_s1", "a_s2", "y_s1"), ids, strict=True))
    return Case(system, risk, dm, s1, s2, a, b, c, d, x, y, keeper, operator, cycle, named, before)


def _start(k: Case) -> None:
    k.dm.startAuction(k.a, WINDOW, WINDOW, BAND, sender=k.operator)


def _auction(k: Case, bids: list) -> dict:
    """Start the auction, commit and reveal ``bids``, dispose of every lot: lot id -> Lot."""
    _start(k)
    mg.commit(k.dm, bids, k.by_address())
    _to_reveal(k)
    mg.reveal(k.dm, bids, k.keeper)
    _to_disposal(k)
    return {lt.id: lt for lt in mg.dispose_all(k.dm, k.a, k.keeper)}


def _to_reveal(k: Case) -> None:
    ape.chain.pending_timestamp = int(k.dm.caseOf(k.a)[1]) + 1
    ape.chain.mine()


def _to_disposal(k: Case) -> None:
    ape.chain.pending_timestamp = int(k.dm.caseOf(k.a)[2]) + 1
    ape.chain.mine()


def test_lots_are_the_defaulters_obligations_taken_over(case_):
    k = case_
    lots = {name: mg.lot(k.dm, i) for name, i in k.lots.items()}
    assert (lots["a_s1"].account, lots["a_s1"].security_id, lots["a_s1"].quantity, lots["a_s1"].cash) == \
        (k.a.address, k.s1, 100, -100 * P0)
    assert (lots["a_s2"].account, lots["a_s2"].quantity, lots["a_s2"].cash) == (k.a.address, -50, 50 * P0)
    assert (lots["y_s1"].account, lots["y_s1"].quantity, lots["y_s1"].cash) == (k.y.address, 30, -30 * P0)
    # The obligations moved: the defaulter and y hold none, the case account all of them; x,
    # ported, keeps its own; the cycle still nets to zero.
    ccp = k.system.ccp
    assert tuple(ccp.obligation(k.cycle, k.s1, k.a)) == (0, 0)
    assert tuple(ccp.obligation(k.cycle, k.s1, k.y)) == (0, 0)
    assert tuple(ccp.obligation(k.cycle, k.s1, k.dm)) == (130, -130 * P0)
    assert tuple(ccp.obligation(k.cycle, k.s2, k.dm)) == (-50, 50 * P0)
    assert tuple(ccp.obligation(k.cycle, k.s1, k.x)) == (20, -20 * P0)
    assert k.system.membership.clearingMemberOf(k.x) == k.b.address


def test_auction__best_bids_win__bid_above_margin_refused__unsold_lot_closed_out__loss_through_waterfall(case_):
    k = case_
    dm, fund, margin = k.dm, k.fund, k.margin
    l1, l2, l3 = k.lots["a_s1"], k.lots["a_s2"], k.lots["y_s1"]
    bids = [mg.sign_bid(dm, k.b, l1, cash("87.00")), mg.sign_bid(dm, k.c, l1, cash("89.00")),
            mg.sign_bid(dm, k.d, l1, cash("95.00")),  # above d's margin: refused at reveal
            mg.sign_bid(dm, k.b, l2, cash("111.00")), mg.sign_bid(dm, k.c, l2, cash("113.00"))]
    _start(k)
    report = mg.CaseReport(str(k.a.address))
    mg.commit(dm, bids, k.by_address(), report)
    # Sealed: nothing about the price is on chain before the reveal.
    assert mg.lot(dm, l1).leader == ape.utils.ZERO_ADDRESS
    _to_reveal(k)
    d_pending = margin_status(margin, k.d).pending
    accepted = mg.reveal(dm, bids, k.keeper, report)
    assert [row["refused"] for row in report.bids] == [None, None, "InsufficientMargin", None, None]
    assert len(accepted) == 4
    assert margin_status(margin, k.d).pending == d_pending  # the refused bid holds nothing
    assert margin_status(margin, k.c).pending > 0  # an accepted bid holds margin like an order
    assert (mg.lot(dm, l1).leader, mg.lot(dm, l1).leading_price) == (k.c.address, cash("89.00"))
    assert (mg.lot(dm, l2).leader, mg.lot(dm, l2).leading_price) == (k.b.address, cash("111.00"))

    _to_disposal(k)
    lots = {lt.id: lt for lt in mg.dispose_all(dm, k.a, k.keeper, report)}
    assert lots[l1].state == mg.LotState.AWARDED and lots[l2].state == mg.LotState.AWARDED
    assert lots[l3].state == mg.LotState.CLOSED_OUT
    loss = {l1: 100 * (P0 - cash("89.00")), l2: 50 * (cash("111.00") - P0), l3: 30 * (P0 - cash("85.00"))}
    assert {i: -lt.cash for i, lt in lots.items()} == loss
    # The loss is the variation margin at the last settlement prices plus the auction's discount
    # to them, exactly.
    marks = {k.s1: cash("90.00"), k.s2: cash("110.00")}
    vm = 100 * (P0 - marks[k.s1]) + 50 * (marks[k.s2] - P0) + 30 * (P0 - marks[k.s1])
    discount = 100 * (marks[k.s1] - cash("89.00")) + 50 * (cash("111.00") - marks[k.s2]) \
        + 30 * (marks[k.s1] - cash("85.00"))
    assert sum(loss.values()) == vm + discount == int(dm.caseOf(k.a)[6])
    # The winners hold the lots at their bid prices; the case account keeps only the cash
    # difference (what the waterfall must pay at settlement).
    ccp = k.system.ccp
    assert tuple(ccp.obligation(k.cycle, k.s1, k.c)) == (-100 + 100, 100 * P0 - 100 * cash("89.00"))
    assert tuple(ccp.obligation(k.cycle, k.s2, k.b)) == (-50, 50 * cash("111.00"))
    assert tuple(ccp.obligation(k.cycle, k.s1, k.dm)) == (0, -loss[l1] - loss[l3])
    assert tuple(ccp.obligation(k.cycle, k.s2, k.dm)) == (0, -loss[l2])

    y_posted = margin_status(margin, k.y).posted
    receipts = mg.charge(dm, k.a, k.keeper, report)
    case = dm.caseOf(k.a)
    assert mg.CasePhase(int(case[0])) == mg.CasePhase.CLOSED
    assert int(case[7]) == sum(loss.values())  # covered in full, the cash with the case account
    assert int(k.system.cash.balanceOf(dm)) == sum(loss.values())
    # The waterfall in order: the house's loss takes a's margin, then its contribution; y's loss
    # takes y's own account and nothing else.
    house = loss[l1] + loss[l2]
    assert layer_events(fund, receipts) == [(k.a.address, "defaulter_margin", A_MARGIN),
                                            (k.a.address, "defaulter_default_fund", house - A_MARGIN),
                                            (k.a.address, "defaulter_margin", loss[l3])]
    assert margin_status(margin, k.a).posted == 0
    assert int(fund.contributionOf(k.a)[1]) == CONTRIBUTIONS[0] - (house - A_MARGIN)
    assert margin_status(margin, k.y).posted == y_posted - loss[l3]
    assert int(fund.defaultOf(k.a)[1]) == sum(loss.values())

    # All of it on the day of the default, before its trades' cycle could settle: loss known,
    # waterfall run.
    settles_from = int(ccp.cycleInfo(k.cycle)[4])
    assert ape.chain.blocks.head.timestamp < settles_from
    assert ape.chain.blocks.head.timestamp // 86_400 == k.cycle - 1  # still day D (T+1)

    # D's cycle settles with everyone paying: the books are flat, nothing is left with the CCP
    # or the case account, nothing was created or lost; y takes back what is left of its margin.
    # No transaction of the settlement needs the defaulter: nothing of a's is paid in or out.
    warp_past(ccp, k.cycle)
    cycle = run_cycle(ccp, k.cycle, k.keeper)
    assert cycle.phase.name == "SETTLED" and cycle.failures == 0
    touched = {str(log.account) for ev in (ccp.ObligationPaidIn, ccp.ObligationPaidOut) for log in cycle.logs(ev)
               if int(log.securities) or int(log.cashAmount)}
    assert k.a.address not in touched and k.y.address not in touched and str(dm.address) in touched
    check_ccp_empty(ccp, k.system, [k.s1, k.s2])
    assert int(k.system.cash.balanceOf(dm)) == 0
    assert int(k.system.securities.balanceOf(dm, k.s1)) == int(k.system.securities.balanceOf(dm, k.s2)) == 0
    assert supplies(k.system, [k.s1, k.s2]) == k.before
    assert int(k.system.securities.balanceOf(k.x, k.s1)) == 20
    assert int(k.system.securities.balanceOf(k.b, k.s2)) == 0  # b delivered the 50 it sold
    margin.startMarginDay(sender=k.operator)  # the next margin day: yesterday's orders are gone
    margin.refreshMargin(k.y, sender=k.keeper)  # and so are its positions: its requirement is 0
    left = margin_status(margin, k.y).posted
    assert margin_status(margin, k.y).required == 0
    margin.withdrawCash(left, sender=k.y)
    assert left == CLIENT_MARGIN - loss[l3]
    mg.summarise(dm, k.a, report)
    assert report.loss == sum(loss.values()) and report.covered == sum(loss.values())
    print(f"\ndefault auction gas: {report.gas}")


def _state(k: Case) -> tuple:
    return (tuple(k.dm.caseOf(k.a)), *(tuple(k.dm.lot(i)) for i in k.lots.values()))


def test_bad_bids__each_a_named_error__nothing_changed(case_, outsider):
    k = case_
    dm, lot1 = k.dm, k.lots["a_s1"]
    with ape.reverts(dm.BiddingClosed):
        dm.commitBid(lot1, mg.sign_bid(dm, k.b, lot1, cash("88.00")).digest, sender=k.b)  # no auction yet
    _start(k)
    before = _state(k)
    good = mg.sign_bid(dm, k.b, lot1, cash("88.00"))
    with ape.reverts(dm.NotEligibleBidder, bidder=k.a):
        dm.commitBid(lot1, mg.sign_bid(dm, k.a, lot1, cash("88.00")).digest, sender=k.a)  # the defaulter
    with ape.reverts(dm.NotEligibleBidder, bidder=k.x):
        dm.commitBid(lot1, good.digest, sender=k.x)  # a client, not a clearing member
    with ape.reverts(dm.NotEligibleBidder, bidder=outsider):
        dm.commitBid(lot1, good.digest, sender=outsider)  # not admitted at all
    with ape.reverts(dm.UnknownLot, lot=99):
        dm.commitBid(99, good.digest, sender=k.b)
    with ape.reverts(dm.WrongPhase):
        dm.takeOver(k.a, k.a, [k.s1], sender=k.keeper)  # lots frozen once the auction started
    with ape.reverts(dm.AuctionNotOver):
        dm.disposeLot(lot1, 4, sender=k.keeper)
    with ape.reverts(dm.LotsOpen, defaulter=k.a, open=3):
        dm.chargeLosses(k.a, 10, sender=k.keeper)
    with ape.reverts(dm.NotRevealing):
        dm.revealBid(good.bid, good.signature, sender=k.keeper)  # bidding still open
    assert _state(k) == before
    dm.commitBid(lot1, good.digest, sender=k.b)
    with ape.reverts(dm.DuplicateBid, lot=lot1, bidder=k.b):
        dm.commitBid(lot1, mg.sign_bid(dm, k.b, lot1, cash("89.50")).digest, sender=k.b)  # twice
    wide = mg.sign_bid(dm, k.c, lot1, cash("71.00"))  # below the band's 72.00
    dm.commitBid(lot1, wide.digest, sender=k.c)
    _to_reveal(k)
    with ape.reverts(dm.BiddingClosed):
        dm.commitBid(lot1, mg.sign_bid(dm, k.d, lot1, cash("88.00")).digest, sender=k.d)  # after the window
    forged = mg.sign_bid(dm, k.c, lot1, cash("88.00"), salt=good.bid[3])  # c signs b's bid
    with ape.reverts(dm.BadBidSignature, bidder=k.b):
        dm.revealBid(good.bid, forged.signature, sender=k.keeper)  # unsigned by its bidder
    changed = (good.bid[0], good.bid[1], cash("95.00"), good.bid[3])
    with ape.reverts(dm.NoCommitment, lot=lot1, bidder=k.b):
        dm.revealBid(changed, good.signature, sender=k.keeper)  # not the committed price
    with ape.reverts(dm.BidOutsideBand, lot=lot1, price=cash("71.00"), limit=cash("72.00")):
        dm.revealBid(wide.bid, wide.signature, sender=k.keeper)
    assert mg.lot(dm, lot1).leader == ape.utils.ZERO_ADDRESS  # nothing revealed yet
    dm.revealBid(good.bid, good.signature, sender=k.keeper)
    with ape.reverts(dm.NoCommitment, lot=lot1, bidder=k.b):
        dm.revealBid(good.bid, good.signature, sender=k.keeper)  # twice
    assert (mg.lot(dm, lot1).leader, mg.lot(dm, lot1).leading_price) == (k.b.address, cash("88.00"))
    with ape.reverts(dm.AccessControlUnauthorizedAccount):
        dm.startAuction(k.a, 1, 1, 1, sender=k.keeper)


def test_hedge_before_the_auction__fills_join_the_lot__winner_takes_the_hedged_lot(case_):
    """The default manager sells 40 of a's 100 S1 into b's bid at 88.00 before the auction; c then
    wins the 60 left at 89.00: the loss is 40 x (100 - 88) + 60 x (100 - 89) = 1,140, and c's
    obligation is exactly the 60 at 89.00 (the hedge's 40 delivered to b net out in the cycle)."""
    k = case_
    dm, lot1 = k.dm, k.lots["a_s1"]
    client = VenueClient(k.system.venue)
    client.place(Order(owner=str(k.b.address), securityId=k.s1, side=Side.BUY, quantity=40, price=cash("88.00")), k.b)
    before = _state(k)
    with ape.reverts(dm.HedgeTooLarge, lot=lot1, units=101, available=100):
        dm.hedge(lot1, 101, cash("86.00"), 4, sender=k.operator)  # past flat
    with ape.reverts(dm.HedgeOutsideBand, lot=lot1, price=cash("71.00"), limit=cash("72.00")):
        dm.hedge(lot1, 40, cash("71.00"), 4, sender=k.operator)  # 20 % below the settlement price
    with ape.reverts(dm.AccessControlUnauthorizedAccount):
        dm.hedge(lot1, 40, cash("86.00"), 4, sender=k.keeper)
    assert _state(k) == before
    receipt = dm.hedge(lot1, 40, cash("86.00"), 4, sender=k.operator)
    [h] = receipt.decode_logs(dm.Hedged)
    assert (int(h.quantity), int(h.cash)) == (-40, 40 * cash("88.00"))  # at b's price
    lot = mg.lot(dm, lot1)
    assert (lot.quantity, lot.cash, lot.legs) == (60, -100 * P0 + 40 * cash("88.00"), 1)  # the same cycle: one leg
    _start(k)
    with ape.reverts(dm.WrongPhase):
        dm.hedge(lot1, 10, cash("86.00"), 4, sender=k.operator)  # lots frozen once the auction started
    bid = mg.sign_bid(dm, k.c, lot1, cash("89.00"))
    dm.commitBid(lot1, bid.digest, sender=k.c)
    _to_reveal(k)
    dm.revealBid(bid.bid, bid.signature, sender=k.keeper)
    _to_disposal(k)
    dm.disposeLot(lot1, 4, sender=k.keeper)
    assert -mg.lot(dm, lot1).cash == 40 * (P0 - cash("88.00")) + 60 * (P0 - cash("89.00")) == cash(1_140)
    # c sold a 100 at 100.00 and takes over 60 net at 89.00: its S1 obligation is -40 units.
    assert tuple(k.system.ccp.obligation(k.cycle, k.s1, k.c)) == (-100 + 60, 100 * P0 - 60 * cash("89.00"))


def test_leader_defaulted_before_disposal__lot_closed_out_on_the_venue_instead(case_):
    """c leads lot 1 at 89.00, then is itself declared in default before the lot is disposed of:
    a defaulter does not take a lot over; it is closed out on the venue (d's 30 at 85.00, then b's
    bid of 100 at 80.00), loss 100 x 100.00 - (30 x 85.00 + 70 x 80.00) = 1,850."""
    k = case_
    dm, lot1 = k.dm, k.lots["a_s1"]
    _start(k)
    bid = mg.sign_bid(dm, k.c, lot1, cash("89.00"))
    dm.commitBid(lot1, bid.digest, sender=k.c)
    _to_reveal(k)
    dm.revealBid(bid.bid, bid.signature, sender=k.keeper)
    k.fund.declareDefault(k.c, sender=k.operator)
    VenueClient(k.system.venue).place(Order(owner=str(k.b.address), securityId=k.s1, side=Side.BUY, quantity=100,
                                            price=cash("80.00")), k.b)
    _to_disposal(k)
    receipt = dm.disposeLot(lot1, 4, sender=k.keeper)
    assert not receipt.decode_logs(dm.LotAwarded)
    lot = mg.lot(dm, lot1)
    assert (lot.state, lot.quantity) == (mg.LotState.CLOSED_OUT, 0)
    assert -lot.cash == 100 * P0 - (30 * cash("85.00") + 70 * cash("80.00")) == cash(1_850)
    assert tuple(k.system.ccp.obligation(k.cycle, k.s1, k.c)) == (-100, 100 * P0)  # only its own trade


def test_house_gain_and_ccp_credit_return_what_the_fund_paid__in_reverse_order(case_, accounts, bank):
    """c wins a's long S1 at 80.00 (loss 100 x 20 = 2,000: a's margin 1,500, then 500 of its
    contribution) and b the short S2 at 95.00 (a gain of 50 x 5 = 250); y's lot closes out as
    before. Once the cycle settles, the house gain returns 250 of the 500 to a's contribution
    (nothing went to later layers), not to a's margin; a cash credit the CCP holds for the fund
    (as a buy-in's bridge refund leaves it) returns the other 250."""
    k = case_
    dm, fund, ccp = k.dm, k.fund, k.system.ccp
    l1, l2 = k.lots["a_s1"], k.lots["a_s2"]
    _auction(k, [mg.sign_bid(dm, k.c, l1, cash("80.00")), mg.sign_bid(dm, k.b, l2, cash("95.00"))])
    mg.charge(dm, k.a, k.keeper)
    assert int(dm.accountResult(k.a, k.a)[1]) == cash(250)  # owed back to the house
    assert tuple(fund.unrecovered(k.a)) == (0, 0, cash(500))
    with ape.reverts(dm.ObligationsOpen):
        dm.payGain(k.a, k.a, sender=k.keeper)  # the gain has not arrived yet
    warp_past(ccp, k.cycle)
    run_cycle(ccp, k.cycle, k.keeper)

    receipt = dm.payGain(k.a, k.a, sender=k.keeper)
    [back] = receipt.decode_logs(fund.LayerRecovered)
    assert (back.defaulter, back.layer, back.amount) == (k.a.address, 1, cash(250))  # DefaulterFund
    assert int(fund.contributionOf(k.a)[1]) == CONTRIBUTIONS[0] - cash(250)
    assert margin_status(k.margin, k.a).posted == 0
    assert int(k.system.cash.balanceOf(dm)) == 0
    with ape.reverts(dm.NothingOwed, account=k.a):
        dm.payGain(k.a, k.a, sender=k.keeper)

    # A cash credit of 400 in the CCP for the fund: 250 of it is a's to recover.
    as_fund = accounts.impersonate_account(fund.address)
    ape.chain.set_balance(fund.address, 10**18)  # gas for the impersonated fund; it has no receive()
    k.system.cash.issue(fund, cash(400), sender=bank)
    k.system.cash.approve(ccp, cash(400), sender=as_fund)
    ccp.prefundCash(cash(400), sender=as_fund)
    with ape.reverts(fund.AccessControlUnauthorizedAccount):
        fund.recoverCcpCredit(k.a, cash(250), sender=k.keeper)
    with ape.reverts(fund.RecoveryTooLarge, defaulter=k.a, amount=cash(400), unrecovered=cash(250)):
        fund.recoverCcpCredit(k.a, cash(400), sender=k.operator)
    fund.recoverCcpCredit(k.a, cash(250), sender=k.operator)
    assert int(fund.contributionOf(k.a)[1]) == CONTRIBUTIONS[0]
    assert int(ccp.prefunded(fund)[0]) == cash(150)
    assert tuple(fund.unrecovered(k.a)) == (0, 0, 0)


def test_second_round__unsold_lots_bid_again__leader_kept_unless_beaten__fresh_commitments__refusals(case_):
    # Round 0: b leads lot 1 at 87.00, d commits to lot 1 but never reveals, lots 2 and 3 get
    # no bid. Instead of closing lots 2 and 3 out, the default manager reopens the bidding:
    # round 1 takes c's 89.00 for lot 1 (beating b), b's 111.00 for lot 2; lot 3 still gets
    # none and is closed out. The losses are those of the one-round test.
    k = case_
    dm = k.dm
    l1, l2, l3 = k.lots["a_s1"], k.lots["a_s2"], k.lots["y_s1"]
    _start(k)
    with ape.reverts(dm.RoundNotOver, defaulter=k.a, revealEnds=int(dm.caseOf(k.a)[2])):
        dm.reopenAuction(k.a, WINDOW, WINDOW, BAND, sender=k.operator)
    first = mg.sign_bid(dm, k.b, l1, cash("87.00"))
    unrevealed = mg.sign_bid(dm, k.d, l1, cash("86.00"))
    mg.commit(dm, [first, unrevealed], k.by_address())
    _to_reveal(k)
    mg.reveal(dm, [first], k.keeper)
    _to_disposal(k)
    assert [lt.id for lt in mg.unsold(dm, k.a)] == [l2, l3]
    with ape.reverts(dm.AccessControlUnauthorizedAccount):
        dm.reopenAuction(k.a, WINDOW, WINDOW, BAND, sender=k.keeper)
    with ape.reverts(dm.BadParameter):
        dm.reopenAuction(k.a, 0, WINDOW, BAND, sender=k.operator)

    report = mg.CaseReport(str(k.a.address))
    assert mg.reopen(dm, k.a, WINDOW, BAND, k.operator, report) == 1
    with ape.reverts(dm.AuctionNotOver, lot=l1, revealEnds=int(dm.caseOf(k.a)[2])):
        dm.disposeLot(l1, 8, sender=k.keeper)  # the new round runs
    assert (mg.lot(dm, l1).leader, mg.lot(dm, l1).leading_price) == (k.b.address, cash("87.00"))  # kept
    again = mg.sign_bid(dm, k.d, l1, cash("86.50"))  # d's unrevealed round-0 commitment is gone
    second = [mg.sign_bid(dm, k.c, l1, cash("89.00")), mg.sign_bid(dm, k.b, l2, cash("111.00")), again]
    mg.commit(dm, second, k.by_address(), report)
    with ape.reverts(dm.DuplicateBid, lot=l1, bidder=k.c.address):
        dm.commitBid(l1, second[0].digest, sender=k.c)
    _to_reveal(k)
    with ape.reverts(dm.NoCommitment, lot=l1, bidder=k.b.address):
        dm.revealBid(first.bid, first.signature, sender=k.keeper)  # round 0's bid: not committed in round 1
    mg.reveal(dm, second, k.keeper, report)
    assert [row["refused"] for row in report.bids] == [None, None, "InsufficientMargin"]
    assert (mg.lot(dm, l1).leader, mg.lot(dm, l1).leading_price) == (k.c.address, cash("89.00"))
    _to_disposal(k)
    lots = {lt.id: lt for lt in mg.dispose_all(dm, k.a, k.keeper, report)}
    assert (lots[l1].state, lots[l2].state, lots[l3].state) == \
        (mg.LotState.AWARDED, mg.LotState.AWARDED, mg.LotState.CLOSED_OUT)
    assert {i: -lt.cash for i, lt in lots.items()} == \
        {l1: 100 * (P0 - cash("89.00")), l2: 50 * (cash("111.00") - P0), l3: 30 * (P0 - cash("85.00"))}
    mg.charge(dm, k.a, k.keeper, report)
    with ape.reverts(dm.WrongPhase):
        dm.reopenAuction(k.a, WINDOW, WINDOW, BAND, sender=k.operator)  # the case closed


def test_case_account_short_at_settlement__charged_to_nobody__pay_outs_deferred__no_layer_used_again(case_):
    # The auction as in the one-round test, but the losses are not charged before settlement: the
    # case account holds nothing for its residual cash legs, as when part of the loss waits for
    # the survivors' assessments (paid to the CCP). Its pay-in fails; the CCP's close-out charges
    # the shortfall to the case account's member, which a system account does not have, and the
    # fund refuses it (NoMemberToCharge): no layer pays for it a second time. The CCP defers the
    # pay-outs it cannot make, exactly the unpaid cash.
    k = case_
    dm, fund, ccp = k.dm, k.fund, k.system.ccp
    l1, l2 = k.lots["a_s1"], k.lots["a_s2"]
    lots = _auction(k, [mg.sign_bid(dm, k.c, l1, cash("89.00")), mg.sign_bid(dm, k.b, l2, cash("111.00"))])
    unpaid = -sum(lt.cash for lt in lots.values())
    assert unpaid == 100 * (P0 - cash("89.00")) + 50 * (cash("111.00") - P0) + 30 * (P0 - cash("85.00"))
    assert int(k.system.cash.balanceOf(dm)) == 0
    before = (layer_totals(fund), tuple(fund.survivorPool()), int(fund.skinInTheGame()))

    warp_past(ccp, k.cycle)
    cycle = run_cycle(ccp, k.cycle, k.keeper)

    assert cycle.phase.name == "SETTLED"
    charged = [(str(log.account), str(log.clearingMember), int(log.shortfall), int(log.covered))
               for log in cycle.logs(ccp.ShortfallCharged)]
    # One close-out per security of the case account (S1: 1,100 + 450; S2: 550), none covered.
    assert sorted(charged) == sorted([(str(dm.address), ape.utils.ZERO_ADDRESS, cash(1_550), 0),
                                      (str(dm.address), ape.utils.ZERO_ADDRESS, cash(550), 0)])
    assert sum(c[2] for c in charged) == unpaid
    assert sum(int(log.cashAmount) for log in cycle.logs(ccp.PayOutDeferred)) == unpaid
    assert (layer_totals(fund), tuple(fund.survivorPool()), int(fund.skinInTheGame())) == before
    assert not [log for r in cycle.receipts for log in r.decode_logs(fund.LayerUsed)]
    assert int(fund.defaultOf(ape.utils.ZERO_ADDRESS)[0]) == 0


def test_reopen__at_most_max_rounds__then_refused_by_name(case_):
    """The bidding reopens at most ``MAX_ROUNDS`` times (a bound on one case, where the round
    counter would otherwise overflow); the next reopening is refused (``TooManyRounds``) and
    changes nothing: the lots are then closed out."""
    k = case_
    dm = k.dm
    _start(k)
    rounds = int(dm.MAX_ROUNDS())
    for expected in range(1, rounds + 1):
        _to_disposal(k)
        assert mg.reopen(dm, k.a, 1, BAND, k.operator) == expected
    _to_disposal(k)
    before = tuple(dm.caseOf(k.a))
    with ape.reverts(dm.TooManyRounds, defaulter=k.a.address, maxRounds=rounds):
        dm.reopenAuction(k.a, 1, 1, BAND, sender=k.operator)
    assert tuple(dm.caseOf(k.a)) == before and int(dm.auctionRound(k.a)) == rounds
