"""DVP model 3: net units per (security, account), one net cash leg per account and cycle across
all its securities. A hand-worked market of 12 trades, and the two failures that the cash leg
changes: an account short of cash across two securities, and a short delivery whose withheld
cash the account must then pay."""

from __future__ import annotations

import ape
import pytest

from smartccp.chain.system import kyc_expiry
from smartccp.clearing.ccp import (
    cash_legs,
    check_ccp_empty,
    liquidity,
    obligations,
    run_cycle,
    supplies,
    warp_past,
)
from smartccp.types import CyclePhase, Segregation, omnibus_account
from smartccp.units import cash

PAID_OUT = 3  # CashLeg stage after pass 3

#: Twelve trades (buyer, seller, quantity, price, security) among members A, B, C and client X.
TRADES = [
    ("a", "b", 200, "100.00", "eq"),
    ("b", "a", 1_000, "1.00", "bond"),
    ("c", "a", 100, "101.00", "eq"),
    ("x", "c", 50, "99.00", "eq"),
    ("a", "c", 2_000, "0.99", "bond"),
    ("c", "x", 500, "1.01", "bond"),
    ("b", "x", 80, "100.50", "eq"),
    ("x", "b", 1_500, "1.00", "bond"),
    ("c", "b", 60, "100.00", "eq"),
    ("a", "x", 300, "0.98", "bond"),
    ("b", "a", 40, "99.50", "eq"),
    ("x", "c", 700, "1.02", "bond"),
]

#: Netted by hand per (account, security): (units, cash); > 0 receives.
#: EQ   A: +200 -100 -40 = +60       cash -20,000 + 10,100 + 3,980          = -5,920
#:      B: -200 +80 -60 +40 = -140   cash +20,000 - 8,040 + 6,000 - 3,980   = +13,980
#:      C: +100 -50 +60 = +110       cash -10,100 + 4,950 - 6,000           = -11,150
#:      X: +50 -80 = -30             cash -4,950 + 8,040                    = +3,090
#: BOND A: -1,000 +2,000 +300 = +1,300           cash +1,000 - 1,980 - 294        = -1,274
#:      B: +1,000 -1,500 = -500                  cash -1,000 + 1,500              = +500
#:      C: -2,000 +500 -700 = -2,200             cash +1,980 - 505 + 714          = +2,189
#:      X: -500 +1,500 -300 +700 = +1,400        cash +505 - 1,500 + 294 - 714    = -1,415
BY_HAND = {
    ("a", "eq"): (60, -cash(5_920)), ("a", "bond"): (1_300, -cash(1_274)),
    ("b", "eq"): (-140, cash(13_980)), ("b", "bond"): (-500, cash(500)),
    ("c", "eq"): (110, -cash(11_150)), ("c", "bond"): (-2_200, cash(2_189)),
    ("x", "eq"): (-30, cash(3_090)), ("x", "bond"): (1_400, -cash(1_415)),
}
#: One cash leg per account: A -5,920 - 1,274 = -7,194; B +13,980 + 500 = +14,480;
#: C -11,150 + 2,189 = -8,961; X +3,090 - 1,415 = +1,675 (the legs sum to zero).
LEGS = {"a": -cash(7_194), "b": cash(14_480), "c": -cash(8_961), "x": cash(1_675)}
#: Gross: the sum of the 12 trade values. Netted per security: the 4 debits 5,920 + 1,274 +
#: 11,150 + 1,415. One leg per account: 7,194 + 8,961.
GROSS, PER_SECURITY, MODEL_3 = cash(59_063), cash(19_759), cash(16_155)


def test_dvp_model3__12_trades_2_securities__one_cash_transfer_per_account_as_computed_by_hand(
    ccp, system, trade, parties, balances, keeper, security_id, bond_id, cycle
):
    a, b, x, c = parties
    who = {"a": a, "b": b, "c": c, "x": x}
    sid = {"eq": security_id, "bond": bond_id}
    for buyer, seller, qty, price, sec in TRADES:
        trade(who[buyer], who[seller], qty, cash(price), sid=sid[sec])
    for (name, sec), expected in BY_HAND.items():
        assert ccp.obligation(cycle, sid[sec], who[name]) == expected, (name, sec)
    assert cash_legs(obligations(ccp, cycle)) == {str(who[n]): v for n, v in LEGS.items()}

    liq = liquidity(ccp, cycle)
    assert (liq.gross_cash, liq.net_cash_per_security, liq.net_cash) == (GROSS, PER_SECURITY, MODEL_3)
    assert (liq.gross_cash_legs, liq.cash_legs_per_security, liq.cash_legs) == (24, 8, 4)
    assert MODEL_3 < PER_SECURITY * 82 // 100  # 18 % less cash than netting per security

    before = balances(a, b, x, c)
    supply = supplies(system, [security_id, bond_id])
    warp_past(ccp, cycle)
    report = run_cycle(ccp, cycle, keeper, chunk=50)

    assert report.phase == CyclePhase.SETTLED and report.failures == 0
    after = balances(a, b, x, c)
    units = {n: (BY_HAND[(n, "eq")][0], BY_HAND[(n, "bond")][0]) for n in who}
    # Client X's leg (+1,675) is paid to its clearing member A: A's wallet moves by both legs,
    # X's by its units only (it holds them directly).
    wallet_cash = {"a": LEGS["a"] + LEGS["x"], "b": LEGS["b"], "c": LEGS["c"], "x": 0}
    for n, acct in who.items():
        assert tuple(v - o for v, o in zip(after[str(acct)], before[str(acct)])) == (wallet_cash[n], *units[n]), n
        # The leg's slot after settlement: a credit as paid out, a debit as what is left unpaid.
        assert ccp.cashLegOf(acct) == (cycle, max(LEGS[n], 0), PAID_OUT)
    # One cash transfer per account, whatever it traded: A paid its leg in and took X's out.
    assert report.cash_legs(system.cash, ccp) == {str(a): 2, str(b): 1, str(c): 1}
    legs_in = {log.account: -int(log.cashAmount) for log in report.logs(ccp.ObligationPaidIn) if log.securityId == 0}
    legs_out = {log.account: int(log.cashAmount) for log in report.logs(ccp.ObligationPaidOut) if log.securityId == 0}
    assert {**legs_in, **legs_out} == {str(who[n]): v for n, v in LEGS.items()}
    check_ccp_empty(ccp, system, [security_id, bond_id])
    assert supplies(system, [security_id, bond_id]) == supply


#: The same 12 trades with trades 9 and 12 made by Y, an omnibus client of C, instead of C (X
#: stays A's individually segregated client): clients in both modes.
#: EQ   C: +100 -50 = +50             cash -10,100 + 4,950      = -5,150
#:      Y: +60                        cash -6,000               = -6,000
#: BOND C: -2,000 +500 = -1,500       cash +1,980 - 505         = +1,475
#:      Y: -700                       cash +714                 = +714
#: Legs: C -5,150 + 1,475 = -3,675; Y -6,000 + 714 = -5,286 (together C's -8,961 of before).
#: Cash to move: the same totals (gross 59,063, per security 19,759, one leg per account 16,155),
#: now in 10 (account, security) transfers netted per security and 5 legs.
WITH_Y = [tuple("y" if i in (8, 11) and who == "c" else who for who in t[:2]) for i, t in enumerate(TRADES)]
BY_HAND_Y = {**BY_HAND, ("c", "eq"): (50, -cash(5_150)), ("c", "bond"): (-1_500, cash(1_475)),
             ("y", "eq"): (60, -cash(6_000)), ("y", "bond"): (-700, cash(714))}
LEGS_Y = {**LEGS, "c": -cash(3_675), "y": -cash(5_286)}


def _participant(system, operator, issuer, accounts, ccp, member, mode, units):  # noqa: ANN001, ANN202
    """A fresh wallet admitted under ``member`` with ``mode``, holding ``units[security_id]`` of
    each security to deliver and approving the CCP."""
    w = accounts.generate_test_account()
    operator.transfer(w, 10**18)
    system.membership.admitParticipant(w, member, kyc_expiry(), int(mode), sender=operator)
    for sid, n in units.items():
        system.securities.issue(sid, w, n, sender=issuer)
    system.cash.approve(ccp, 2**256 - 1, sender=w)
    system.securities.setApprovalForAll(ccp, True, sender=w)
    return w


@pytest.fixture(scope="module")
def omnibus_y(system, operator, issuer, accounts, member_c, ccp, bond_id):
    """Y: an omnibus client of member C with bond units to deliver, approving the CCP."""
    return _participant(system, operator, issuer, accounts, ccp, member_c, Segregation.OMNIBUS, {bond_id: 1_000})


def test_dvp_model3__clients_in_both_modes__members_pay_their_clients_legs_as_computed_by_hand(
    ccp, system, trade, parties, omnibus_y, balances, keeper, security_id, bond_id, cycle
):
    a, b, x, c = parties
    y = omnibus_y
    who = {"a": a, "b": b, "c": c, "x": x, "y": y}
    sid = {"eq": security_id, "bond": bond_id}
    for (buyer, seller), (_, _, qty, price, sec) in zip(WITH_Y, TRADES, strict=True):
        trade(who[buyer], who[seller], qty, cash(price), sid=sid[sec])
    for (name, sec), expected in BY_HAND_Y.items():
        assert ccp.obligation(cycle, sid[sec], who[name]) == expected, (name, sec)
    assert cash_legs(obligations(ccp, cycle)) == {str(who[n]): v for n, v in LEGS_Y.items()}
    liq = liquidity(ccp, cycle)
    assert (liq.gross_cash, liq.net_cash_per_security, liq.net_cash) == (GROSS, PER_SECURITY, MODEL_3)
    assert (liq.gross_cash_legs, liq.cash_legs_per_security, liq.cash_legs) == (24, 10, 5)

    before = balances(*who.values())
    warp_past(ccp, cycle)
    report = run_cycle(ccp, cycle, keeper, chunk=50)

    assert report.phase == CyclePhase.SETTLED and report.failures == 0
    after = balances(*who.values())
    # The clearing members pay and receive their clients' legs: A its own and X's (individual),
    # C its own and Y's (omnibus); the clients' wallets move by their units only.
    wallet_cash = {"a": LEGS_Y["a"] + LEGS_Y["x"], "b": LEGS_Y["b"], "c": LEGS_Y["c"] + LEGS_Y["y"], "x": 0, "y": 0}
    for n, acct in who.items():
        units = (BY_HAND_Y[(n, "eq")][0], BY_HAND_Y[(n, "bond")][0])
        assert tuple(v - o for v, o in zip(after[str(acct)], before[str(acct)])) == (wallet_cash[n], *units), n
    assert report.cash_legs(system.cash, ccp) == {str(a): 2, str(b): 1, str(c): 2}
    assert report.cash_moved(system.cash, ccp) == {str(a): wallet_cash["a"], str(b): wallet_cash["b"],
                                                   str(c): wallet_cash["c"]}
    check_ccp_empty(ccp, system, [security_id, bond_id])


@pytest.fixture(scope="module")
def pooled(system, operator, issuer, accounts, members, member_c, ccp, security_id, bond_id):
    """Y2 and Z2, omnibus clients of C, and D, a desk of A, each with units to deliver and
    approving the CCP."""
    units = {security_id: 1_000, bond_id: 5_000}
    return {name: _participant(system, operator, issuer, accounts, ccp, member, mode, units)
            for name, member, mode in (("y", member_c, Segregation.OMNIBUS), ("z", member_c, Segregation.OMNIBUS),
                                       ("d", members[0], Segregation.HOUSE))}


def test_dvp_model3__omnibus_clients_and_desks__one_cash_leg_per_settlement_account(
    ccp, system, trade, parties, pooled, balances, keeper, security_id, bond_id, cycle
):
    """By hand. Y buys 100 EQ at 100 (-10,000), Z sells 3,000 BOND at 1 (+3,000): C's omnibus
    account has one leg, -7,000. D, A's desk, sells 50 EQ at 100 (+5,000) and A buys 2,000 BOND
    at 1 (-2,000): A's house has one leg, +3,000. C buys 10 EQ at 100: C's house -1,000. B is
    the counterparty of all five: +10,000 - 3,000 - 5,000 + 2,000 + 1,000 = +5,000. The members
    move the legs: A receives 3,000 in one transfer, C pays 1,000 and 7,000 in two (its house and
    its omnibus account), B receives 5,000: 4 transfers where a leg per wallet would take 6."""
    a, b, _, c = parties
    y, z, d = pooled["y"], pooled["z"], pooled["d"]
    trade(y, b, 100, cash(100))
    trade(b, z, 3_000, cash(1), sid=bond_id)
    trade(b, d, 50, cash(100))
    trade(a, b, 2_000, cash(1), sid=bond_id)
    trade(c, b, 10, cash(100))
    omnibus = omnibus_account(c.address)
    legs = cash_legs(obligations(ccp, cycle), {y.address: omnibus, z.address: omnibus, d.address: a.address})
    assert legs == {omnibus: -cash(7_000), a.address: cash(3_000), c.address: -cash(1_000), b.address: cash(5_000)}

    before = balances(a, b, c, y, z, d)
    warp_past(ccp, cycle)
    report = run_cycle(ccp, cycle, keeper, chunk=50)

    assert report.phase == CyclePhase.SETTLED and report.failures == 0
    after = balances(a, b, c, y, z, d)
    change = {str(p): tuple(n - o for n, o in zip(after[str(p)], before[str(p)])) for p in (a, b, c, y, z, d)}
    assert change == {str(a): (cash(3_000), 0, 2_000), str(b): (cash(5_000), -60, 1_000),
                      str(c): (-cash(8_000), 10, 0), str(y): (0, 100, 0), str(z): (0, 0, -3_000),
                      str(d): (0, -50, 0)}
    assert report.cash_legs(system.cash, ccp) == {str(a): 1, str(b): 1, str(c): 2}
    assert ccp.cashLegOf(omnibus) == (cycle, 0, PAID_OUT) and ccp.cashLegOf(a) == (cycle, cash(3_000), PAID_OUT)
    legs_in = {log.account: -int(log.cashAmount) for log in report.logs(ccp.ObligationPaidIn) if log.securityId == 0}
    legs_out = {log.account: int(log.cashAmount) for log in report.logs(ccp.ObligationPaidOut) if log.securityId == 0}
    assert {**legs_in, **legs_out} == legs
    check_ccp_empty(ccp, system, [security_id, bond_id])


def test_dvp_model3__account_short_of_cash__leg_shortfall_charged_to_its_buy_and_sold_out(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, bond_id, cycle
):
    market, handler = close_out
    a, b, _, c = parties
    trade(a, b, 100, cash(100))  # A buys EQ: -10,000
    trade(c, a, 1_000, cash(5), sid=bond_id)  # A sells BOND: +5,000; A's leg -5,000
    system.cash.approve(ccp, 0, sender=a)  # A pays nothing
    market.setPrice(security_id, cash(95), sender=a)
    before = balances(a, b, c)
    warp_past(ccp, cycle)

    report = run_cycle(ccp, cycle, keeper, chunk=10)

    # The 5,000 leg shortfall is charged to A's EQ buy (cash due 10,000): half its units are
    # released (50), the other 50 sold at 95 (4,750); the last 250 charged to A's member (A).
    assert report.phase == CyclePhase.SETTLED and report.failures == 1
    assert ccp.shortfallAt(cycle, 0) == (0, cash(5_000))
    [leg_in] = [log for log in report.logs(ccp.ObligationPaidIn) if log.securityId == 0 and log.account == a]
    assert (leg_in.account, leg_in.cashAmount, leg_in.cashShort) == (a, 0, cash(5_000))
    [sold] = report.logs(ccp.SoldOut)
    assert (sold.offered, sold.sold, sold.proceeds) == (50, 50, cash(4_750))
    assert handler.charged(a) == cash(250)
    after = balances(a, b, c)
    assert [tuple(n - o for n, o in zip(after[str(p)], before[str(p)])) for p in (a, b, c)] == [
        (0, 50, -1_000), (cash(10_000), -100, 0), (-cash(5_000), 0, 1_000)]
    assert ccp.cashLegOf(a) == (cycle, 0, PAID_OUT)  # all of the unpaid 5,000 charged to the buy
    check_ccp_empty(ccp, system, [security_id, bond_id])


def test_dvp_model3__short_delivery__its_cash_withheld_from_the_leg_so_the_account_pays_it(
    ccp, system, close_out, trade, parties, balances, keeper, security_id, bond_id, cycle
):
    market, handler = close_out
    a, b, _, c = parties
    trade(b, a, 100, cash(100))  # A sells EQ: +10,000
    trade(a, c, 1_000, cash(12), sid=bond_id)  # A buys BOND: -12,000; leg -2,000 if A delivers
    system.securities.setApprovalForAll(ccp, False, sender=a)  # A delivers nothing
    market.setPrice(security_id, cash(110), sender=a)
    before = balances(a, b, c)
    warp_past(ccp, cycle)

    report = run_cycle(ccp, cycle, keeper, chunk=10)

    # A's EQ cash (10,000) is withheld: its leg becomes -12,000, which it pays; the withheld
    # 10,000 buys B's 100 units in at 110 and A's member is charged the 1,000 above it.
    assert report.phase == CyclePhase.SETTLED and report.failures == 1
    assert ccp.shortfallAt(cycle, 1) == (100, 0)  # obligation 1: A in EQ (B, the buyer, is 0)
    [bought] = report.logs(ccp.BoughtIn)
    assert (bought.wanted, bought.bought, bought.cost) == (100, 100, cash(11_000))
    assert handler.charged(a) == cash(1_000)
    after = balances(a, b, c)
    assert [tuple(n - o for n, o in zip(after[str(p)], before[str(p)])) for p in (a, b, c)] == [
        (-cash(12_000), 0, 1_000), (-cash(10_000), 100, 0), (cash(12_000), 0, -1_000)]
    [leg_in] = [log for log in report.logs(ccp.ObligationPaidIn) if log.securityId == 0 and log.account == a]
    assert (leg_in.account, leg_in.cashAmount, leg_in.cashShort) == (a, cash(12_000), 0)
    check_ccp_empty(ccp, system, [security_id, bond_id])
    system.securities.setApprovalForAll(ccp, True, sender=a)


def test_settle_cycle__another_cycle_half_settled__reverts_and_changes_nothing(
    ccp, trade, parties, balances, keeper, security_id, cycle
):
    a, b, _, _ = parties
    trade(a, b, 10, cash(100))  # into `cycle`
    warp_past(ccp, cycle)
    trade(a, b, 20, cash(100))  # a later cycle, due once its own date has ended
    later = int(ccp.settlementCycle(security_id)[0])
    warp_past(ccp, later)
    ccp.settleCycle(cycle, 1, sender=keeper)  # `cycle` started, not finished
    state = (ccp.cycleInfo(cycle), ccp.cycleInfo(later), balances(a, b))

    # One cycle settles at a time: the accounts' cash legs reuse one slot each.
    with ape.reverts(ccp.AnotherCycleSettling, settlingCycle=cycle):
        ccp.settleCycle(later, 10, sender=keeper)

    assert (ccp.cycleInfo(cycle), ccp.cycleInfo(later), balances(a, b)) == state
    assert run_cycle(ccp, cycle, keeper).phase == CyclePhase.SETTLED
    assert run_cycle(ccp, later, keeper).phase == CyclePhase.SETTLED  # then the next one may
    assert ccp.cashLegOf(b) == (later, cash(2_000), PAID_OUT)


def test_cycle_settlement_module__called_directly__refuses(ccp, keeper, cycle):
    module = ape.project.CCPCycleSettlement.at(ccp.cycleSettlementModule())
    with ape.reverts(module.OnlyDelegateCall):
        module.settleCycle(cycle, 1, sender=keeper)


def test_dvp_model3__client_ported_before_settlement__its_new_member_pays_its_leg(
    ccp, system, trade, parties, balances, keeper, operator, cycle
):
    a, b, x, _ = parties
    trade(x, b, 10, cash(100))  # X (client of A) buys: its leg -1,000
    system.membership.acceptPort(x, True, sender=b)
    system.membership.portClient(x, b, sender=operator)  # X now clears through B
    before = balances(a, b, x)
    warp_past(ccp, cycle)

    report = run_cycle(ccp, cycle, keeper)

    # B pays X's leg (and receives its own credit as seller): -1,000 + 1,000; A moves nothing.
    assert report.failures == 0
    after = balances(a, b, x)
    assert [tuple(n - o for n, o in zip(after[str(p)], before[str(p)])) for p in (a, b, x)] == [
        (0, 0, 0), (0, -10, 0), (0, 10, 0)]
    assert report.cash_legs(system.cash, ccp) == {str(b): 2}  # X's leg in, B's own leg out
