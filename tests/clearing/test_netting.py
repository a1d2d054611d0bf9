"""Novation and multilateral netting: legs, packed obligations, the cycle rule, the CCP is flat."""

from __future__ import annotations

from smartccp.clearing.ccp import check_flat, liquidity, member_aggregates, net_totals, obligations
from smartccp.types import CyclePhase
from smartccp.units import cash


def test_novation__ccp_trade__two_legs_each_naming_one_account(ccp, trade, parties, security_id, cycle):
    a, b, _, _ = parties
    tx = trade(a, b, 100, cash(100))
    legs = tx.decode_logs(ccp.TradeNovated)
    assert [(leg.account, leg.quantity, leg.cashAmount, leg.cycleId) for leg in legs] == [
        (a, 100, -cash(10_000), cycle),
        (b, -100, cash(10_000), cycle),
    ]
    assert legs[0].legId != legs[1].legId
    assert ccp.obligation(cycle, security_id, a) == (100, -cash(10_000))
    assert ccp.obligation(cycle, security_id, b) == (-100, cash(10_000))
    assert ccp.cycleInfo(cycle)[:4] == (CyclePhase.OPEN, 0, 2, 0)


#: The same netting by hand (quantity > 0 receives units, cash > 0 receives cash).
#: EQ   A: +100 -100 = 0,        cash -10,000 + 9,900          = -100
#:      B: -100 +60 -50 = -90,   cash +10,000 - 6,060 + 5,025  = +8,965
#:      C: -60 +100 = +40,       cash +6,060 - 9,900           = -3,840
#:      X: +50,                  cash -5,025
#: BOND A: +1,000 -1,000 = 0,    cash -980 + 985               = +5
#:      B: -400 +1,000 = +600,   cash +396 - 985               = -589
#:      C: -1,000 +400 = -600,   cash +980 - 396               = +584
BY_HAND = {
    ("a", "eq"): (0, -cash(100)),
    ("b", "eq"): (-90, cash(8_965)),
    ("c", "eq"): (40, -cash(3_840)),
    ("x", "eq"): (50, -cash(5_025)),
    ("a", "bond"): (0, cash(5)),
    ("b", "bond"): (600, -cash(589)),
    ("c", "bond"): (-600, cash(584)),
}


def test_netting__worked_example_3_members_2_securities__obligations_match_hand_computation(
    ccp, worked_example, parties, security_id, bond_id, cycle, membership
):
    a, b, x, c = parties
    worked_example()
    who = {"a": a, "b": b, "c": c, "x": x}
    sid = {"eq": security_id, "bond": bond_id}
    for (name, sec), expected in BY_HAND.items():
        assert ccp.obligation(cycle, sid[sec], who[name]) == expected, (name, sec)

    obs = obligations(ccp, cycle)
    assert len(obs) == 7  # one per (account, security) touched, listed once
    assert net_totals(obs) == {security_id: (0, 0), bond_id: (0, 0)}
    check_flat(ccp, cycle, [security_id, bond_id], page=3)  # on-chain view, paged

    # Client X nets under its clearing member A: the member aggregate is derived.
    agg = member_aggregates(obs, membership)
    assert agg[(str(a), security_id)] == (50, -cash(5_125))
    assert agg[(str(a), bond_id)] == (0, cash(5))

    # Liquidity: 7 trades worth 33,346 gross. Netted per (security, account) they would need
    # 100 + 3,840 + 5,025 + 589 = 9,554 of pay-ins in 7 cash transfers; with one cash leg per
    # account (DVP model 3: A -100 + 5 = -95, B +8,965 - 589 = +8,376, C -3,840 + 584 = -3,256,
    # X -5,025) 95 + 3,256 + 5,025 = 8,376 in 4 transfers (gross: 14, two per trade).
    liq = liquidity(ccp, cycle)
    assert (liq.trades, liq.gross_cash, liq.net_cash) == (7, cash(33_346), cash(8_376))
    assert liq.net_cash_per_security == cash(9_554)
    assert (liq.gross_cash_legs, liq.cash_legs_per_security, liq.cash_legs) == (14, 7, 4)
    assert (liq.gross_units, liq.net_units) == (310 + 2_400, 90 + 600)
    assert 0.74 < liq.cash_saving < 0.75 and 0.71 < liq.cash_saving_per_security < 0.72


def test_netting__position_nets_to_zero_then_trades_again__listed_once(ccp, trade, parties, security_id, cycle):
    a, b, _, _ = parties
    trade(a, b, 10, cash(100))
    trade(b, a, 10, cash(100))
    assert ccp.obligation(cycle, security_id, a) == (0, 0)
    trade(a, b, 5, cash(100))
    assert ccp.cycleInfo(cycle)[2] == 2
    assert ccp.prefunded(a)[2] == 1  # one open obligation


def test_cycle_rule__deadline_is_settlement_date__cycle_is_deadline_div_cycle_length(ccp, chain, security_id):
    length = ccp.cycleLength()
    assert length == 86_400
    today = chain.pending_timestamp // length
    cycle_id, deadline = ccp.settlementCycle(security_id)
    assert cycle_id == today + 1  # T+1
    assert deadline == (cycle_id + 1) * length - 1  # last second of the settlement date
    assert ccp.cycleOf(deadline) == cycle_id and ccp.cycleOf(deadline + 1) == cycle_id + 1


def test_cycle_rule__t0_and_t2_securities__trades_land_in_today_and_day_after_tomorrow(
    ccp, trade, parties, security_id, bond_id, operator, chain
):
    from smartccp.clearing.ccp import Rules, set_rules

    a, b, _, _ = parties
    set_rules(ccp, security_id, operator, Rules(settlement_lag=0))
    set_rules(ccp, bond_id, operator, Rules(settlement_lag=2))
    today = chain.pending_timestamp // ccp.cycleLength()
    t0 = trade(a, b, 1, cash(100)).decode_logs(ccp.TradeNovated)[0].cycleId
    t2 = trade(a, b, 1, cash(1), sid=bond_id).decode_logs(ccp.TradeNovated)[0].cycleId
    assert (t0, t2) == (today, today + 2)
