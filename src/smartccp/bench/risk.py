"""Benchmark of the risk layer (Margin, DefaultFund), on the complete system (register, ledgers,
venue, CCP) with 16 scenarios per security calibrated by historical simulation on the S&P 500.

- ``risk.check_order_gas``: the pre-trade gate's share of an order placement — the same resting
  limit order placed with and without Margin as the venue's gate, for a member holding positions
  in five securities, in steady state (the member is known to the gate, the price level
  exists); ``risk.placement_with_gate_gas`` is the whole placement with the gate.
- ``risk.refresh_margin_gas``: IM recalculation of one member, ``refreshMargin``, for a member
  with CCP obligations in five securities (one account, T+1: three cycles read per security)
  after a new settlement price (so IM, VM and the collateral value change each time);
  ``risk.refresh_margin_1_security_gas`` the same for a member with one security, and
  ``risk.refresh_margin_per_security_gas`` the cost of each further security,
  ``(5 securities - 1 security) / 4``.
- ``risk.scenarios_{n}_*_gas`` for n in :data:`SCENARIO_COUNTS` (4, 8, 16; 16 is
  ``RiskMath.MAX_SCENARIOS``, one packed slot): Margin deployed for n scenarios per security
  (an immutable: a fresh system per n), the published model calibrated for n
  (``PUBLISHED.with_(n_scenarios=n)``); a member with positions in the five securities:
  ``_publish_gas`` re-publishing one security's n shocks, ``_gate_gas`` the gate's share of a
  placement (as ``risk.check_order_gas``), ``_fill_gas`` the member's buy of 10 units filling
  one resting offer (gate on, novated), ``_eod_gas`` its ``refreshMargin`` (as
  ``risk.refresh_margin_gas``). ``risk.gas_per_scenario_{publish,gate,fill,eod}`` is
  ``(16 - 4 scenarios) / 12`` for each.
- ``risk.default_drill_*``: a default drill with two defaulters in the worst week of 2008 (the
  two members buy 1,000 and 600 units, the price falls by the S&P 500's worst 5-day move of 2008, both miss their margin calls, are
  declared in default, and the CCP settles the cycle in bounded chunks of
  ``DRILL_CHUNK`` steps: pay-in, sell-out of the defaulters' purchases on the close-out market,
  the waterfall on each shortfall, pay-out; then both defaults are closed). ``_gas`` is the
  whole drill (2 declarations + every settlement chunk + 2 closings), ``_txs`` its transactions,
  ``_chunks`` the settlement transactions, ``_max_chunk_gas`` the largest one,
  ``_settlement_gas`` their sum. The close-out market is the ``MockCloseOutMarket`` dealer
  (a test double trading at the crash price): a venue close-out step costs about 390k more.
- ``risk.default_gas_20_members`` / ``_200_members``: a default reaching the survivors' layer
  (declaration + ``coverShortfall`` of 1.5 contributions: the defaulter's own, then half of one
  from the survivors' pool) in a fund of 20 and of 200 members with 10,000 each; their ratio is
  ``scale.default_gas_200_vs_20_members_ratio`` (layers 4-5 move indices, O(1) in members);
  ``risk.fund_settle_gas_per_member`` the keeper's settlement of every member afterwards
  (``settleMembers`` in pages of 100), per member.
- ``risk.cure_default_gas``: ``DefaultFund.cureDefault`` of a member whose settlement shortfall
  (a sell-out 2 % below its purchase) its own margin covered, after it deposited the loss again:
  the refresh of its one security (T+1), the cleared flag and the register's reinstatement.

Gas is ``receipt.gas_used`` of the whole transaction, medians where repeated.
"""

from __future__ import annotations

import functools
import statistics
from dataclasses import dataclass
from typing import Any

from ape import accounts, chain, project

from smartccp.bench.clearing import fund_members
from smartccp.bench.core import BenchContext, Figures, goal, measurement
from smartccp.chain.system import System, admit, deploy_system, fund, list_security
from smartccp.clearing.ccp import run_cycle, warp_past
from smartccp.risk.chain import (
    Risk,
    deploy_risk,
    margin_status,
    order_margin,
    publish_contributions,
    publish_prices,
    publish_scenarios,
    settle_fund_members,
)
from smartccp.risk.model import PUBLISHED, published_scenarios
from smartccp.risk.stress import historical_stress_scenarios
from smartccp.sim.simulator import sp500_history
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import MAX_UINT, ZERO_ADDRESS, Side
from smartccp.units import cash

goal("risk.check_order_gas", "<=", 30_000)
goal("scale.default_gas_200_vs_20_members_ratio", "<=", 1.10)

SECURITIES = 5
SCENARIOS = 16
DRILL_CHUNK = 2


@functools.cache
def _shocks(n_scenarios: int = SCENARIOS) -> list[int]:
    _, closes = sp500_history()
    return [int(s) for s in published_scenarios(closes, PUBLISHED.with_(n_scenarios=n_scenarios)).shocks_bps[0]]


@dataclass
class RiskMarket:
    system: System
    risk: Risk
    sids: list[int]
    prices: dict[int, int]
    client: VenueClient
    n_scenarios: int = SCENARIOS

    def add_security(self, ctx: BenchContext, price: int, *, venues: list[Any] | None = None) -> int:
        """List one more security T+1 (on ``venues``, default every venue) with the calibrated
        scenarios; ``price`` is its settlement price, sent by :meth:`publish_prices`. Returns its id."""
        r = ctx.roles
        self.system.securities.listSecurity(f"R{len(self.sids)}", b"XS0000000009", 0, cash("0.01"), 1, 0,
                                            sender=r.issuer)
        sid = int(self.system.securities.securityCount())
        list_security(self.system, r.operator, sid, lag_days=1, venues=venues)
        publish_scenarios(self.risk.margin, {sid: _shocks(self.n_scenarios)}, r.operator)
        self.sids.append(sid)
        self.prices[sid] = price
        return sid

    def publish_prices(self, operator: Any, prices: dict[int, int] | None = None) -> None:
        """Publish ``prices`` (default every security's) in batches of Margin's ``MAX_BATCH``."""
        prices = self.prices if prices is None else prices
        items, batch = list(prices.items()), int(self.risk.margin.MAX_BATCH())
        for i in range(0, len(items), batch):
            publish_prices(self.risk.margin, dict(items[i:i + batch]), operator)


def risk_market(ctx: BenchContext, n_securities: int = SECURITIES, *, n_venues: int = 1,
                n_scenarios: int = SCENARIOS) -> RiskMarket:
    """A fresh system with ``n_venues`` venues, Margin (every venue's gate; ``n_scenarios``
    scenarios per security, fixed at deployment) and DefaultFund, ``n_securities`` listed T+1 on
    every venue with the calibrated scenarios and prices 20, 40, ... published."""
    r = ctx.roles
    system = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer, n_venues=n_venues)
    risk = deploy_risk(system, r.operator, n_scenarios=n_scenarios)
    m = RiskMarket(system, risk, [], {}, VenueClient(system.venue), n_scenarios)
    for i in range(n_securities):
        m.add_security(ctx, cash(20 * (i + 1)))
    m.publish_prices(r.operator)
    return m


def margined_members(m: RiskMarket, ctx: BenchContext, n: int, collateral: int = cash(1_000_000), *,
                     securities: list[int] | None = None) -> list[Any]:
    """``n`` new funded clearing members (:func:`~smartccp.bench.clearing.fund_members`, holding
    units of ``securities``, default every listed one) that approved Margin and the fund for cash
    and deposited ``collateral`` cash margin."""
    r = ctx.roles
    held = m.sids if securities is None else securities
    members = fund_members(m.system, r.operator, r.bank, r.issuer, m.system.ccp, held, n)
    for member in members:
        m.system.cash.approve(m.risk.margin, MAX_UINT, sender=member)
        m.system.cash.approve(m.risk.fund, MAX_UINT, sender=member)
        if collateral:
            m.risk.margin.depositCash(collateral, sender=member)
    return members


def limit_order(owner: Any, sid: int, side: Side, quantity: int, price: int) -> Order:
    """A limit order of ``owner`` (an ape account) for ``quantity`` units at ``price``."""
    return Order(owner=str(owner.address), securityId=sid, side=side, quantity=quantity, price=price)


def trade_pair(m: RiskMarket, buyer: Any, seller: Any, sid: int, quantity: int, price: int) -> None:
    """``seller`` rests an offer of ``quantity`` at ``price``; ``buyer``'s bid fills it (novated)."""
    m.client.place(limit_order(seller, sid, Side.SELL, quantity, price), seller)
    m.client.place(limit_order(buyer, sid, Side.BUY, quantity, price), buyer)


def gate_placements(client: VenueClient, margin: Any, members: list[Any], sid: int, price: int, operator: Any,
                    repeats: int) -> list[tuple[int, int]]:
    """Per member: the median placement of a resting buy of 5 units at ``price`` with Margin as
    the venue's gate and without it, ``(with, without)``; their difference is the gate's share
    (``risk.check_order_gas``). One placement each first, so the member is known to the gate
    and the price level exists. The gate is set again afterwards."""

    def place(member: Any) -> int:
        return int(client.place(limit_order(member, sid, Side.BUY, 5, price), member).gas_used)

    for member in members:
        place(member)
    with_gate = [int(statistics.median(place(mb) for _ in range(repeats))) for mb in members]
    client.venue.setOrderGate(ZERO_ADDRESS, sender=operator)
    without = [int(statistics.median(place(mb) for _ in range(repeats))) for mb in members]
    client.venue.setOrderGate(margin, sender=operator)
    return list(zip(with_gate, without, strict=True))


def fill_gas(client: VenueClient, maker: Any, taker: Any, sid: int, price: int, quantity: int, repeats: int) -> int:
    """Median gas of ``taker``'s buy of ``quantity`` at ``price`` filling one resting offer of
    ``maker`` (the whole placement: gate, match, novation)."""
    gas = []
    for _ in range(repeats):
        client.place(limit_order(maker, sid, Side.SELL, quantity, price), maker)
        receipt = client.place(limit_order(taker, sid, Side.BUY, quantity, price), taker)
        if len(client.trades(receipt)) != 1:
            raise RuntimeError("the taker did not fill the resting offer")
        gas.append(int(receipt.gas_used))
    return int(statistics.median(gas))


def refresh_gas(m: RiskMarket, members: list[Any], operator: Any, repeats: int) -> list[int]:
    """Per member: the median ``refreshMargin`` gas, each round after new settlement prices (every
    security's moved by 0.5 % or more, alternately up and down, so IM, VM and the collateral value
    change each time)."""
    gas: list[list[int]] = [[] for _ in members]
    for i in range(repeats):
        moved = {sid: p * (10_000 + (-1) ** i * (50 + i)) // 10_000 for sid, p in m.prices.items()}
        publish_prices(m.risk.margin, moved, operator)
        for k, member in enumerate(members):
            gas[k].append(int(m.risk.margin.refreshMargin(member, sender=operator).gas_used))
    if margin_status(m.risk.margin, members[0]).initial_margin == 0:
        raise RuntimeError("the refreshed member has no initial margin: positions not seen")
    return [int(statistics.median(g)) for g in gas]


@measurement("risk")
def gate_share(ctx: BenchContext) -> Figures:
    m = risk_market(ctx)
    (member,) = margined_members(m, ctx, 1)
    for sid in m.sids:  # five securities known to the gate
        m.client.place(limit_order(member, sid, Side.BUY, 5, m.prices[sid] // 2), member)
    sid = m.sids[1]
    [(with_gate, without)] = gate_placements(m.client, m.risk.margin, [member], sid, m.prices[sid] // 2,
                                             ctx.roles.operator, ctx.repeats)
    return {"risk.placement_with_gate_gas": with_gate, "risk.check_order_gas": with_gate - without}


@measurement("risk.refresh")
def refresh_margin(ctx: BenchContext) -> Figures:
    """``refreshMargin`` of a member with obligations in five securities, and of one with one."""
    m = risk_market(ctx)
    wide, narrow, dealer = margined_members(m, ctx, 3)
    for sid in m.sids:
        trade_pair(m, wide, dealer, sid, 100, m.prices[sid])
    trade_pair(m, narrow, dealer, m.sids[0], 100, m.prices[m.sids[0]])
    five, one = refresh_gas(m, [wide, narrow], ctx.roles.operator, ctx.repeats)
    return {
        "risk.refresh_margin_gas": five,
        "risk.refresh_margin_1_security_gas": one,
        "risk.refresh_margin_per_security_gas": (five - one) // (SECURITIES - 1),
    }


SCENARIO_COUNTS = (4, 8, 16)  # 16: RiskMath.MAX_SCENARIOS, one packed slot
SCENARIO_FILL_QTY = 10


def scenario_costs(ctx: BenchContext, n_scenarios: int) -> Figures:
    """Gas of publishing a security's scenarios, of the gate, of a fill and of the end-of-day
    margin with Margin deployed for ``n_scenarios`` scenarios per security (the count is an
    immutable of the contract: a fresh system per count). The member holds positions in the
    five securities, the dealer is its counterparty."""
    op = ctx.roles.operator
    m = risk_market(ctx, n_scenarios=n_scenarios)
    member, dealer = margined_members(m, ctx, 2)
    for sid in m.sids:
        trade_pair(m, member, dealer, sid, 100, m.prices[sid])
    shocks = _shocks(n_scenarios)
    publish = int(statistics.median(int(m.risk.margin.publishScenarios(m.sids[i % SECURITIES], shocks,
                                                                      sender=op).gas_used)
                                    for i in range(ctx.repeats)))
    fill = fill_gas(m.client, dealer, member, m.sids[0], m.prices[m.sids[0]], SCENARIO_FILL_QTY, ctx.repeats)
    (eod,) = refresh_gas(m, [member], op, ctx.repeats)
    sid = m.sids[1]
    [(with_gate, without)] = gate_placements(m.client, m.risk.margin, [member], sid, m.prices[sid] // 2, op,
                                             ctx.repeats)
    key = f"risk.scenarios_{n_scenarios}"
    return {f"{key}_publish_gas": publish, f"{key}_gate_gas": with_gate - without, f"{key}_fill_gas": fill,
            f"{key}_eod_gas": eod}


@measurement("risk.scenarios")
def scenario_count(ctx: BenchContext) -> Figures:
    """:func:`scenario_costs` for each of :data:`SCENARIO_COUNTS`, and the gas of one more
    scenario, ``(most - fewest) / (their difference)``, for each operation."""
    figures: Figures = {}
    for n in SCENARIO_COUNTS:
        figures |= scenario_costs(ctx, n)
    lo, hi = SCENARIO_COUNTS[0], SCENARIO_COUNTS[-1]
    for what in ("publish", "gate", "fill", "eod"):
        most, fewest = figures[f"risk.scenarios_{hi}_{what}_gas"], figures[f"risk.scenarios_{lo}_{what}_gas"]
        figures[f"risk.gas_per_scenario_{what}"] = round((most - fewest) / (hi - lo), 1)  # type: ignore[operator]
    return figures


def _drill_market(ctx: BenchContext, dealer_cash: int) -> tuple[RiskMarket, int, Any]:
    """A one-security risk market whose CCP closes out on a ``MockCloseOutMarket`` dealer holding
    ``dealer_cash``: (market, security id, dealer)."""
    op = ctx.roles.operator
    m = risk_market(ctx, 1)
    (sid,) = m.sids
    system = m.system
    dealer = op.deploy(project.MockCloseOutMarket, system.cash, system.securities)
    system.membership.registerSystem(dealer, sender=op)
    system.ccp.setCloseOutMarket(dealer, sender=op)
    system.cash.issue(dealer, dealer_cash, sender=ctx.roles.bank)
    return m, sid, dealer


@measurement("risk.default_drill")
def default_drill(ctx: BenchContext) -> Figures:
    """Two defaulters (the two largest buyers) in the worst week of 2008, settled in chunks."""
    r, op = ctx.roles, ctx.roles.operator
    m, sid, market = _drill_market(ctx, cash(5_000_000))
    p0, system, margin, fund = m.prices[sid], m.system, m.risk.margin, m.risk.fund
    a, b, c, d = margined_members(m, ctx, 4, collateral=0)
    shocks = _shocks()

    def om(quantity: int, buy: bool) -> int:
        return order_margin(quantity, p0, p0, min(shocks) if buy else max(shocks), buy)

    deposits = {a: om(1_000, True), b: om(600, True), c: om(600, False) + om(100, True),
                d: om(1_000, False) + om(100, False)}
    contributions = {a: cash(20_000), b: cash(12_000), c: cash(10_000), d: cash(10_000)}
    publish_contributions(fund, contributions, op)
    for member in (a, b, c, d):
        margin.depositCash(deposits[member], sender=member)
        fund.contribute(contributions[member], sender=member)
    for member in (a, b):  # the defaulters keep no spare cash in their wallets
        system.cash.transfer(c, system.cash.balanceOf(member), sender=member)
    system.cash.issue(r.bank, cash(10_000), sender=r.bank)
    system.cash.approve(fund, cash(10_000), sender=r.bank)
    fund.fundSkinInTheGame(cash(10_000), sender=r.bank)
    cycle = int(system.ccp.settlementCycle(sid)[0])
    trade_pair(m, a, d, sid, 1_000, p0)
    trade_pair(m, b, c, sid, 600, p0)
    trade_pair(m, c, d, sid, 100, p0)

    dates, closes = sp500_history()
    worst = next(s for s in historical_stress_scenarios(closes, dates) if s.name == "2008 down 5d")
    crash = p0 + p0 * int(worst.shocks_bps[0]) // 10_000
    publish_prices(margin, {sid: crash}, op)
    deadline = 0
    for member in (a, b, c, d):
        margin.refreshMargin(member, sender=op)
        deadline = max(deadline, margin_status(margin, member).call_deadline)
    chain.pending_timestamp = deadline + 1
    chain.mine()
    txs = [fund.declareDefault(member, sender=op).gas_used for member in (a, b)]
    market.setPrice(sid, crash, sender=op)
    warp_past(system.ccp, cycle)
    report = run_cycle(system.ccp, cycle, op, chunk=DRILL_CHUNK)
    if report.phase.name != "SETTLED" or int(fund.defaultOf(a)[1]) == 0 or int(fund.defaultOf(b)[1]) == 0:
        raise RuntimeError(f"drill did not close both defaults out: {report.phase.name}")
    txs += [int(g) for g in report.gas_used]
    txs += [fund.closeDefault(member, sender=op).gas_used for member in (a, b)]
    chunks = [int(g) for g in report.gas_used]
    return {
        "risk.default_drill_two_defaulters_gas": int(sum(txs)),
        "risk.default_drill_txs": len(txs),
        "risk.default_drill_chunks": len(chunks),
        "risk.default_drill_max_chunk_gas": max(chunks),
        "risk.default_drill_settlement_gas": int(sum(chunks)),
    }


@measurement("risk.cure")
def cure_default(ctx: BenchContext) -> Figures:
    """A member buys 100 units, withholds its cash at pay-in, the CCP sells them out 2 % lower on
    the close-out market (the ``MockCloseOutMarket`` dealer) and charges the shortfall to the
    DefaultFund: the member is declared in default (``SettlementShortfall``, suspended) and its
    own margin covers the loss. It deposits that amount again and the default manager cures the
    default: ``risk.cure_default_gas`` is ``cureDefault`` (a refresh of one security at T+1,
    Margin's flag cleared, the register's reinstatement pushed to its subscribers)."""
    op = ctx.roles.operator
    m, sid, market = _drill_market(ctx, cash(1_000_000))
    p0, system, margin, fund = m.prices[sid], m.system, m.risk.margin, m.risk.fund
    a, d = margined_members(m, ctx, 2, collateral=cash(100_000))
    publish_contributions(fund, {a: cash(10_000), d: cash(10_000)}, op)
    for member in (a, d):
        fund.contribute(cash(10_000), sender=member)
    cycle = int(system.ccp.settlementCycle(sid)[0])
    trade_pair(m, a, d, sid, 100, p0)
    system.cash.approve(system.ccp, 0, sender=a)  # a will not pay
    market.setPrice(sid, p0 * 98 // 100, sender=op)
    warp_past(system.ccp, cycle)
    report = run_cycle(system.ccp, cycle, op, chunk=DRILL_CHUNK)
    reason, loss, _ = fund.defaultOf(a)
    if report.phase.name != "SETTLED" or int(reason) != 3 or int(loss) == 0:
        raise RuntimeError(f"no settlement shortfall charged: {report.phase.name}, {reason}, {loss}")
    if int(fund.layerTotals()[0]) != int(loss) or any(int(x) for x in fund.layerTotals()[1:]):
        raise RuntimeError("the shortfall went beyond the member's own margin")
    system.cash.approve(system.ccp, MAX_UINT, sender=a)
    margin.depositCash(int(loss), sender=a)
    gas = int(fund.cureDefault(a, sender=op).gas_used)
    if int(system.membership.memberOf(a).status) != 1 or margin_status(margin, a).defaulted:
        raise RuntimeError("the cured member is not active again")
    return {"risk.cure_default_gas": gas}


FUND_SIZES = (20, 200)
FUND_CONTRIBUTION = cash(10_000)


def _fund_default(ctx: BenchContext, n: int) -> tuple[int, int]:
    """A fund of ``n`` members with 10,000 each; one defaults with a loss of 15,000 (its own
    contribution, then the survivors' layer). Returns (declaration + charge gas, settlement gas
    of all the members in pages of 100)."""
    r = ctx.roles
    system = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer)
    ccp = accounts.test_accounts.generate_test_account()  # the CCP's side, charging directly
    r.operator.transfer(ccp, 10**18)
    system.membership.registerSystem(ccp, sender=r.operator)
    risk = deploy_risk(system, r.operator, ccp=ccp, obligations=system.ccp, n_scenarios=SCENARIOS)
    members = [accounts.test_accounts.generate_test_account() for _ in range(n)]
    for m in members:
        r.operator.transfer(m, 10**18)
    admit(system, r.operator, members)
    fund(system, members, bank=r.bank, issuer=r.issuer, cash=FUND_CONTRIBUTION)
    publish_contributions(risk.fund, dict.fromkeys(members, FUND_CONTRIBUTION), r.operator)
    for m in members:
        system.cash.approve(risk.fund, MAX_UINT, sender=m)
        risk.fund.contribute(FUND_CONTRIBUTION, sender=m)
    defaulter = members[n // 2]
    gas = int(risk.fund.declareDefault(defaulter, sender=r.operator).gas_used)
    gas += int(risk.fund.coverShortfall(defaulter, defaulter, FUND_CONTRIBUTION * 3 // 2, sender=ccp).gas_used)
    settled = sum(int(x.gas_used) for x in settle_fund_members(risk.fund, r.operator))
    return gas, settled


@measurement("risk.fund_scale")
def fund_scale(ctx: BenchContext) -> Figures:
    """A default reaching the survivors' layer with 20 and with 200 fund members."""
    (small, _), (large, settle_large) = (_fund_default(ctx, n) for n in FUND_SIZES)
    lo, hi = FUND_SIZES
    return {
        f"risk.default_gas_{lo}_members": small,
        f"risk.default_gas_{hi}_members": large,
        f"scale.default_gas_{hi}_vs_{lo}_members_ratio": round(large / small, 4),
        "risk.fund_settle_gas_per_member": settle_large // hi,
    }
