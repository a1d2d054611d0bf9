"""What a managed default leaves to settle when the case account's cash arrives after its
cycle: assessments still to be paid in, and close-out proceeds due only in a later cycle.

Each case is a fresh system with one T+1 security S1 at 100.00 and members a (the defaulter), b
and c; a buys 100 S1 from c, is declared in default, and its position is taken over as one lot.

**Assessments** (the loss reaches waterfall layer 5). The day's settlement price is 80.00; b wins
the lot at 70.00. The assessments are called, not prefunded: the survivors pay them to the CCP
later, so when the cycle settles the case account holds only layers 1-4. By hand:

    loss        100 x (100.00 - 70.00)                          = 3,000.00
    layer 1     a's margin                                      = 1,000.00
    layer 2     a's contribution                                =   100.00
    layer 3     the CCP's skin in the game                      =   100.00
    layer 4     the survivors' contributions (b 500, c 500)     = 1,000.00
    layer 5     assessments, pro rata (b 400, c 400)            =   800.00

At settlement c delivers 100 S1 and is owed 10,000.00: b pays 7,000.00 and the case account the
2,200.00 of layers 1-4, so 9,200.00 is paid to c and 800.00 deferred (charged to nobody: the case
account has no member, ``NoMemberToCharge``, no layer used twice); b's and c's assessments
(400.00 each) bring the CCP the 800.00 c then withdraws.

**Bridge** (a close-out in a later cycle than the lot's). a bought on day D-1 for cycle D; it is
declared on day D, nobody bids, and the lot is closed out into b's resting bid at 85.00, a sale
for cycle D+1. The case account must pay c 10,000.00 in cycle D but receives the 8,500.00 of the
sale only in D+1: the last charge borrows it from the default fund (``lendBridge``), and once
D+1 has settled anyone repays it (``settleBridge``). By hand: loss 100 x (100.00 - 85.00) =
1,500.00 = a's margin 1,000.00 + 500.00 of a's contribution; bridge 8,500.00.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
import pytest

from smartccp.clearing.ccp import check_ccp_empty, run_cycle, supplies, warp_past
from smartccp.risk import management as mg
from smartccp.risk.chain import layer_events, layer_totals, one_security_fund, publish_prices
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash

P0 = cash("100.00")
SHOCKS = [-800 + 100 * i for i in range(16)]
A_MARGIN, SITG = cash(1_000), cash(100)
WINDOW, BAND = 600, 3_000
DAY = 86_400


@dataclass
class Market:
    system: Any
    risk: Any
    s1: int
    a: Any
    b: Any
    c: Any
    keeper: Any
    operator: Any
    client: Any

    @property
    def dm(self) -> Any:
        return self.risk.management


def _early_in_next_day() -> None:
    chain = ape.chain
    chain.pending_timestamp = (chain.pending_timestamp // DAY + 1) * DAY + 600
    chain.mine()


def _market(operator, bank, issuer, a, b, c, keeper, contributions: tuple[int, int, int]) -> Market:
    """A fresh system: S1 listed T+1 at 100.00, a, b, c admitted, margined and contributing
    ``contributions``, c holding 100 S1, the skin in the game paid in."""
    system, risk, s1 = one_security_fund(operator, bank, issuer, (a, b, c), contributions, symbol="S1",
                                         isin=b"S10000000000", price=P0, shocks=SHOCKS)
    system.securities.issue(s1, c, 100, sender=issuer)
    for m, amount in ((a, A_MARGIN), (b, cash(50_000)), (c, cash(50_000))):
        risk.margin.depositCash(amount, sender=m)
    system.cash.issue(bank, SITG, sender=bank)
    system.cash.approve(risk.fund, SITG, sender=bank)
    risk.fund.fundSkinInTheGame(SITG, sender=bank)
    return Market(system, risk, s1, a, b, c, keeper, operator, VenueClient(system.venue))


def _trade(m: Market, buyer, seller, qty: int, price: int) -> None:  # noqa: ANN001
    m.client.place(Order(owner=str(seller.address), securityId=m.s1, side=Side.SELL, quantity=qty, price=price), seller)
    m.client.place(Order(owner=str(buyer.address), securityId=m.s1, side=Side.BUY, quantity=qty, price=price), buyer)


def _manage(m: Market, bids: list[tuple[Any, int]]) -> list:
    """Declare a, take its S1 over into a lot, auction it to ``bids`` (bidder, price; may be
    none), dispose of it and charge the loss; returns the charge's receipts."""
    dm, chain = m.dm, ape.chain
    m.risk.fund.declareDefault(m.a, sender=m.operator)
    dm.openCase(m.a, sender=m.keeper)
    dm.takeOver(m.a, m.a, [m.s1], sender=m.keeper)
    [lot] = [int(i) for i in dm.lotsOf(m.a)]
    bids = [mg.sign_bid(dm, bidder, lot, price) for bidder, price in bids]
    dm.startAuction(m.a, WINDOW, WINDOW, BAND, sender=m.operator)
    mg.commit(dm, bids, {str(x.address): x for x in (m.b, m.c)})
    chain.pending_timestamp = int(dm.caseOf(m.a)[1]) + 1
    chain.mine()
    mg.reveal(dm, bids, m.keeper)
    chain.pending_timestamp = int(dm.caseOf(m.a)[2]) + 1
    chain.mine()
    mg.dispose_all(dm, m.a, m.keeper)
    return mg.charge(dm, m.a, m.keeper)


@pytest.fixture(scope="module")
def assessed(operator, bank, issuer, member_a, member_b, member_c, accounts):
    _early_in_next_day()
    m = _market(operator, bank, issuer, member_a, member_b, member_c, accounts[8], (cash(100), cash(500), cash(500)))
    cycle = int(m.system.ccp.settlementCycle(m.s1)[0])
    _trade(m, m.a, m.c, 100, P0)
    publish_prices(m.risk.margin, {m.s1: cash("80.00")}, operator)
    before = supplies(m.system, [m.s1])
    charged = _manage(m, [(m.b, cash("70.00"))])
    return m, cycle, charged, before


def test_loss_beyond_the_prefunded_layers__assessed__settled__assessments_pay_the_deferred_pay_out(assessed):
    m, cycle, charged, before = assessed
    system, fund, ccp, dm = m.system, m.risk.fund, m.system.ccp, m.dm
    a, b, c = m.a, m.b, m.c
    assessed_cash = cash(800)
    # The waterfall, layer by layer, the assessments pro rata to the survivors' contributions.
    assert layer_events(fund, charged) == [(a.address, "defaulter_margin", A_MARGIN),
                                           (a.address, "defaulter_default_fund", cash(100)),
                                           (a.address, "ccp_skin_in_the_game", SITG),
                                           (a.address, "survivor_default_fund", cash(1_000)),
                                           (a.address, "survivor_assessments", assessed_cash)]
    assert [int(fund.assessmentDue(x)) for x in (b, c)] == [cash(400), cash(400)]
    # The case account holds layers 1-4; the assessments are still to come.
    assert int(system.cash.balanceOf(dm)) == cash(3_000) - assessed_cash
    totals = layer_totals(fund)

    warp_past(ccp, cycle)
    settled = run_cycle(ccp, cycle, m.keeper)
    assert settled.phase.name == "SETTLED"
    # The case account paid what it held; the rest was charged to nobody, no layer used again.
    assert [(str(e.account), str(e.clearingMember), int(e.shortfall), int(e.covered))
            for e in settled.logs(ccp.ShortfallCharged)] == [(str(dm.address), ape.utils.ZERO_ADDRESS, assessed_cash, 0)]
    assert not [e for r in settled.receipts for e in r.decode_logs(fund.LayerUsed)] and layer_totals(fund) == totals
    assert int(system.cash.balanceOf(dm)) == 0
    # c was paid all but the assessed part, which is deferred to its balance in the CCP.
    assert [(str(e.account), int(e.cashAmount)) for e in settled.logs(ccp.PayOutDeferred)] == [(c.address, assessed_cash)]
    assert int(ccp.prefunded(c)[0]) == assessed_cash
    assert int(system.cash.balanceOf(ccp)) == 0  # nothing to draw it from yet
    with ape.reverts():
        ccp.withdrawCash(assessed_cash, sender=c)

    # The survivors pay their assessments to the CCP: c's deferred pay-out is now there to draw.
    for x in (b, c):
        fund.payAssessment(cash(400), sender=x)
    assert int(system.cash.balanceOf(ccp)) == assessed_cash
    c_cash = int(system.cash.balanceOf(c))
    ccp.withdrawCash(assessed_cash, sender=c)
    assert int(system.cash.balanceOf(c)) == c_cash + assessed_cash
    check_ccp_empty(ccp, system, [m.s1])
    assert supplies(system, [m.s1]) == before
    assert int(system.securities.balanceOf(b, m.s1)) == 100  # the winner holds the lot


@pytest.fixture(scope="module")
def bridged(operator, bank, issuer, member_a, member_b, member_c, accounts):
    _early_in_next_day()
    m = _market(operator, bank, issuer, member_a, member_b, member_c, accounts[8],
                (cash(1_000), cash(5_000), cash(5_000)))
    first = int(m.system.ccp.settlementCycle(m.s1)[0])
    _trade(m, m.a, m.c, 100, P0)  # day D-1, for cycle D
    _early_in_next_day()
    publish_prices(m.risk.margin, {m.s1: cash("90.00")}, operator)
    later = int(m.system.ccp.settlementCycle(m.s1)[0])
    # b rests a bid for today's cycle: where the unsold lot will be closed out.
    m.client.place(Order(owner=str(m.b.address), securityId=m.s1, side=Side.BUY, quantity=100,
                         price=cash("85.00")), m.b)
    before = supplies(m.system, [m.s1])
    fund_cash = int(m.system.cash.balanceOf(m.risk.fund))
    charged = _manage(m, [])
    return m, first, later, charged, before, fund_cash


def test_close_out_in_a_later_cycle__proceeds_bridged_by_the_fund__both_cycles_settle__bridge_repaid(bridged):
    m, first, later, charged, before, fund_cash = bridged
    system, fund, ccp, dm = m.system, m.risk.fund, m.system.ccp, m.dm
    assert later == first + 1
    [lot] = mg.lots_of(dm, m.a)
    assert lot.state == mg.LotState.CLOSED_OUT and -lot.cash == cash(1_500)
    assert layer_events(fund, charged) == [(m.a.address, "defaulter_margin", A_MARGIN),
                                           (m.a.address, "defaulter_default_fund", cash(500))]
    # The sale's 8,500.00 arrives in `later`: the fund lent it for `first`.
    [log] = [e for r in charged for e in r.decode_logs(dm.LiquidityBridged)]
    assert (int(log.cycleId), int(log.needed), int(log.lent)) == (later, cash(8_500), cash(8_500))
    assert tuple(int(x) for x in dm.bridgeOf(m.a)) == (cash(8_500), cash(8_500), later)
    assert int(fund.bridgeLent()) == cash(8_500) and int(fund.liquidityLent()) == 0
    assert int(system.cash.balanceOf(fund)) == fund_cash - cash(500) - cash(8_500)
    assert int(system.cash.balanceOf(dm)) == cash(10_000)  # the loss and the bridge: first's cash leg
    assert tuple(ccp.obligation(first, m.s1, dm)) == (100, -cash(10_000))
    assert tuple(ccp.obligation(later, m.s1, dm)) == (-100, cash(8_500))

    warp_past(ccp, first)
    settled = run_cycle(ccp, first, m.keeper)
    assert settled.phase.name == "SETTLED" and settled.failures == 0
    assert int(system.securities.balanceOf(dm, m.s1)) == 100 and int(system.cash.balanceOf(dm)) == 0
    with ape.reverts(dm.CycleNotSettled, cycleId=later):
        dm.settleBridge(m.a, sender=m.keeper)
    assert mg.settle_bridge(dm, ccp, m.a, m.keeper) is None  # not due yet

    warp_past(ccp, later)
    settled = run_cycle(ccp, later, m.keeper)
    assert settled.phase.name == "SETTLED" and settled.failures == 0
    assert int(system.cash.balanceOf(dm)) == cash(8_500)
    receipt = mg.settle_bridge(dm, ccp, m.a, m.c)  # anyone
    assert [int(e.amount) for e in receipt.decode_logs(dm.BridgeSettled)] == [cash(8_500)]
    assert int(fund.bridgeLent()) == 0 and int(system.cash.balanceOf(fund)) == fund_cash - cash(500)
    with ape.reverts(dm.NothingOwed, account=m.a.address):
        dm.settleBridge(m.a, sender=m.keeper)
    assert int(system.cash.balanceOf(dm)) == 0 and int(system.securities.balanceOf(dm, m.s1)) == 0
    check_ccp_empty(ccp, system, [m.s1])
    assert supplies(system, [m.s1]) == before
    assert int(system.securities.balanceOf(m.b, m.s1)) == 100  # the close-out's buyer
