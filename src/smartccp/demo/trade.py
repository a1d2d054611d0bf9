"""Demo steps for risk, trading, the BBO, clearing, settlement and the default drill (see
:mod:`smartccp.demo.core`).

After the ledger steps: list ACME on the three venues and the CCP (T+1); the risk contracts get
scenarios calibrated from the S&P 500 (:mod:`smartccp.risk`), members post margin (member_a by a
signed FundTransfer) and cover-2 contributions, and the gate refuses an order too big for its
margin; signed orders on the three venues (resting, hidden, iceberg, crossing), the consolidated
book (BBO) and an order routed through the BBO across venues; a closing call auction, settlement
prices published and every member's margin refreshed; the cycle's netting and DVP settlement;
and, after the balances step, the default drill ON CHAIN: member_a misses a margin call, is
declared in default (suspended), its client is ported, the CCP closes out its position at
settlement on the close-out market (``DEMO_CLOSE_OUT``: ``VenueCloseOut``, the CCP's IOC order
on V0 against a close-out dealer's quotes; ``mock`` selects the test double; set on the CCP
through the timelock by :mod:`.governance`) and the DefaultFund's waterfall covers the loss
(each ``LayerUsed`` event printed); the market goes on. Each transaction is sent by the key
whose role may send it (``ctx.roles.keeper``, ``.price``, ``.risk``, ``.default_manager``).

Amounts: cash in base units (shown as cash), prices in base units per unit, quantities in units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from ape import chain

from smartccp import risk
from smartccp.chain.errors import refusal_text
from smartccp.chain.report import StepLog, render_table
from smartccp.chain.system import list_security
from smartccp.clearing.ccp import (
    check_ccp_empty,
    check_flat,
    format_obligations,
    liquidity,
    member_aggregates,
    obligations,
    run_cycle,
    supplies,
    traded_cycles,
)
from smartccp.clearing.closeout import CloseOutMarket
from smartccp.demo.core import DEMO_STEPS, DemoContext
from smartccp.drill.base import CHAIN_NOTICE
from smartccp.ops.daily import settle_when_due
from smartccp.risk.chain import (
    Risk,
    layer_events,
    margin_status,
    order_margin,
    publish_contributions,
    publish_prices,
    sign_fund_transfer,
)
from smartccp.risk.model import published_scenarios
from smartccp.sim.scenario import CloseOutSpec
from smartccp.sim.simulator import sp500_history
from smartccp.trading.bbo import BboClient, RoutedOrder
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import MAX_UINT, OrderType, Side, TimeInForce, TradingPhase
from smartccp.units import cash, fmt_cash

DEMO_CHARTS_DIR = Path("reports")  # demo_waterfall.png, demo_margin_vs_loss.png, demo_gross_vs_net.png
SKIN_IN_THE_GAME = cash(100)
FUND_MINIMUM = cash(50)
MARGIN_DEPOSIT = cash(20_000)  # member_b's margin; member_a posts what its orders need, plus 50%
POSITION_LIMIT = 1_000  # ACME units each member may carry: what cover 2 is sized on
REFERENCE_PRICE = cash("12.50")  # the previous close, published before trading
#: The close-out market of the default drill: an entry of smartccp.clearing.closeout.CLOSE_OUT_MARKETS.
DEMO_CLOSE_OUT = CloseOutSpec(market="venue", slippage_bps=100, inventory=5_000, cash=cash(200_000),
                              handler_cash=cash(1_000))


def _traders(ctx: DemoContext) -> dict[str, Any]:
    return ctx.holders()


def _names(ctx: DemoContext) -> dict[str, str]:
    names = {str(a.address): n for n, a in _traders(ctx).items()}
    names[str(ctx.system.ccp.address)] = "CCP"
    names.update({str(v.address): f"V{i}" for i, v in enumerate(ctx.system.venues)})
    return names


def _risk(ctx: DemoContext) -> Risk:
    return ctx.data["risk"]


def _order(ctx: DemoContext, who: str, side: Side, qty: int, price: str, **kw: Any) -> Order:
    owner = _traders(ctx)[who]
    return Order(owner=str(owner.address), securityId=ctx.security_id, side=side, quantity=qty, price=cash(price), **kw)


def _place(ctx: DemoContext, log: StepLog, who: str, label: str, order: Order, venue: int = 0) -> Any:
    client: VenueClient = ctx.data["clients"][venue]
    receipt = log.tx(client.place(order, _traders(ctx)[who]), f"{who}: {label}")
    _report(ctx, log, venue, who, label, receipt)
    return receipt


def _relay(ctx: DemoContext, log: StepLog, who: str, labelled: list[tuple[str, Order]], venue: int = 0) -> Any:
    """``who`` submits its signed orders in one transaction through the OrderRelay."""
    client: VenueClient = ctx.data["clients"][venue]
    signer = _traders(ctx)[who]
    batch = [(order, signer) for _, order in labelled]
    receipt = log.tx(client.place_batch(ctx.system.relay, batch, sender=signer, atomic=True),
                     f"{who}: {len(labelled)} orders in one transaction (OrderRelay)")
    label = " + ".join(text for text, _ in labelled) + " (relayed)"
    _report(ctx, log, venue, who, label, receipt)
    return receipt


def _report(ctx: DemoContext, log: StepLog, venue: int, who: str, label: str, receipt: Any) -> None:
    """One line for a placement's receipt: its fills, and whether something rests."""
    client: VenueClient = ctx.data["clients"][venue]
    fills = client.trades(receipt)
    names = _names(ctx)
    text = ", ".join(f"{t.quantity} @ {fmt_cash(t.price)} ({names.get(str(t.seller), '?')} -> "
                     f"{names.get(str(t.buyer), '?')})" for t in fills)
    rested = client.resting_id(receipt)
    log.line(f"V{venue} {who:<8} {label:<42} " + (f"traded {text}" if fills else "") + (" rests" if rested else ""))
    ctx.data.setdefault("trades", 0)
    ctx.data["trades"] += len(fills)


def _book(ctx: DemoContext, log: StepLog, title: str, venue: int = 0) -> None:
    book = ctx.data["clients"][venue].book(ctx.security_id, 5)
    asks = "  ".join(f"{q}@{fmt_cash(p)}" for p, q in book.asks) or "-"
    bids = "  ".join(f"{q}@{fmt_cash(p)}" for p, q in book.bids) or "-"
    log.line(f"V{venue} {title}: bids {bids} | asks {asks}")


@DEMO_STEPS.step("list", "List ACME on the three venues and the CCP (T+1); traders approve the CCP", after="refused")
def list_acme(ctx: DemoContext, log: StepLog) -> None:
    r, s = ctx.roles, ctx.system
    with log.capture(r.operator, r.keeper, label="list / rules / phase"):
        list_security(s, r.operator, ctx.security_id, lag_days=1, keeper=r.keeper)
    for name, t in _traders(ctx).items():
        log.tx(s.cash.approve(s.ccp, MAX_UINT, sender=t), f"{name} approves cash")
        log.tx(s.securities.setApprovalForAll(s.ccp, True, sender=t), f"{name} approves ACME")
    ctx.data["clients"] = [VenueClient(v) for v in s.venues]
    ctx.data["client"] = ctx.data["clients"][0]
    ctx.data["start_block"] = chain.blocks.head.number
    cycle_id, _ = s.ccp.settlementCycle(ctx.security_id)
    venues = ", ".join(v.eip712Domain()[1] for v in s.venues)
    log.line(f"ACME (id {ctx.security_id}) listed on {venues} and its CCP rules set (operator), continuous trading "
             f"opened (keeper); cleared by the CCP, settles in cycle {int(cycle_id)} (T+1)")


@DEMO_STEPS.step("risk", "Risk contracts: S&P 500 scenarios, cover-2 contributions, margin (signed FundTransfer), gate",
                 after="list")
def risk_setup(ctx: DemoContext, log: StepLog) -> None:
    r, s, rk, sid = ctx.roles, ctx.system, _risk(ctx), ctx.security_id
    dates, closes = sp500_history()
    cut = int((dates < np.datetime64("2008-09-15")).sum())
    shocks = [int(x) for x in published_scenarios(closes[cut - 750:cut]).shocks_bps[0]]
    ctx.data["shocks"] = shocks
    log.tx(rk.margin.publishScenarios(sid, shocks, sender=r.risk), "risk: publish 16 scenarios")
    log.tx(publish_prices(rk.margin, {sid: REFERENCE_PRICE}, r.price), "price: publish reference price")
    log.line(f"IM model 99% / 5 days, historical simulation on the S&P 500's 750 days to 2008-09-12: shocks "
             f"{min(shocks) / 100:+.2f}% .. {max(shocks) / 100:+.2f}% (16 scenarios); reference price "
             f"{fmt_cash(REFERENCE_PRICE)} (scenarios by the risk key, the price by the price key)")
    # member_a posts what its own and its client's day-1 orders need at the gate, plus 50%.
    plan_a = [(Side.BUY, 400, "12.60"), (Side.BUY, 150, "12.40"), (Side.BUY, 250, "12.70"), (Side.SELL, 100, "12.30"),
              (Side.BUY, 50, "12.45"), (Side.BUY, 350, "12.70"), (Side.BUY, 200, "12.75"), (Side.BUY, 50, "12.65")]
    need_a = sum(order_margin(q, cash(p), REFERENCE_PRICE, min(shocks) if sd == Side.BUY else max(shocks), sd == Side.BUY)
                 for sd, q, p in plan_a)
    posted = {"member_a": need_a * 3 // 2, "member_b": MARGIN_DEPOSIT}  # member_a: its plan + 50%
    members = ["member_a", "member_b"]
    limits = [[POSITION_LIMIT], [-POSITION_LIMIT]]  # a long and a short book at the limit
    beyond = risk.losses_beyond_margin_matrix(limits, [REFERENCE_PRICE], risk.hypothetical_stress_scenarios(1),
                                              [posted[m] for m in members])
    fund = risk.size_default_fund(beyond).fund_size
    contributions = dict(zip(members, (int(x) for x in risk.allocate_contributions(
        fund, risk.member_risk(beyond), FUND_MINIMUM))))
    ctx.data["contributions"] = contributions
    accts = {m: _traders(ctx)[m] for m in members}
    with log.capture(r.risk, label="risk: publish contributions"):
        publish_contributions(rk.fund, {accts[m]: v for m, v in contributions.items()}, r.risk)
    log.line(f"risk key: default fund (cover 2 of members at +-{POSITION_LIMIT:,} ACME under +-10/20/30% stress, beyond "
             f"margin): {fmt_cash(fund)} -> " + ", ".join(f"{m} {fmt_cash(v)}" for m, v in contributions.items()))
    for m in members:
        log.tx(s.cash.approve(rk.margin, MAX_UINT, sender=accts[m]), f"{m} approves Margin")
        log.tx(s.cash.approve(rk.fund, MAX_UINT, sender=accts[m]), f"{m} approves DefaultFund")
    transfer, signature = sign_fund_transfer(rk.margin, accts["member_a"], posted["member_a"],
                                             contributions["member_a"], chain.pending_timestamp + 3_600)
    log.tx(rk.margin.depositWithSignature(transfer, signature, sender=r.operator), "FundTransfer (member_a)")
    log.line(f"member_a signed a FundTransfer (EIP-712, nonce {transfer[3]}): margin {fmt_cash(posted['member_a'])} "
             f"+ contribution {fmt_cash(contributions['member_a'])}; the operator submitted it")
    log.tx(rk.margin.depositCash(posted["member_b"], sender=accts["member_b"]), "member_b deposits margin")
    log.tx(rk.fund.contribute(contributions["member_b"], sender=accts["member_b"]), "member_b contributes")
    log.line(f"member_b deposited {fmt_cash(posted['member_b'])} margin and paid {fmt_cash(contributions['member_b'])}")
    log.tx(s.cash.issue(r.bank, 4 * SKIN_IN_THE_GAME, sender=r.bank), "CCP treasury (at the bank)")
    log.tx(s.cash.approve(rk.fund, MAX_UINT, sender=r.bank), "treasury approves DefaultFund")
    log.tx(rk.fund.fundSkinInTheGame(SKIN_IN_THE_GAME, sender=r.bank), "skin in the game")
    log.line(f"CCP skin in the game: {fmt_cash(SKIN_IN_THE_GAME)} (from its treasury held at the settlement bank)")
    # The gate: an order beyond member_a's margin is refused before it reaches the book.
    client: VenueClient = ctx.data["client"]
    big = client.with_nonce(_order(ctx, "client_a", Side.BUY, 5_000, "12.60"))
    error = refusal_text(client.venue.placeOrder, big.as_tuple(), client.sign(big, r.client_a), 16, sender=r.client_a,
                    also=(rk.margin,))
    log.line(f"client_a buy 5,000 @ 12.60 (checked on member_a's account): refused, {error}")
    if error is None or not error.startswith("InsufficientMargin"):
        raise AssertionError(f"the gate did not refuse the oversized order: {error}")
    ctx.data["other_holders"] = {"Margin": rk.margin, "DefaultFund": rk.fund, "bank (CCP treasury)": r.bank}
    ctx.data["supplies"] = supplies(s, [sid])
    log.data.update(shocks_bps=shocks, contributions=contributions, posted=posted, fund_size=fund, gate_refusal=error)


@DEMO_STEPS.step("trade", "Signed orders on three venues: resting, hidden, iceberg, crossing", after="risk")
def trade(ctx: DemoContext, log: StepLog) -> None:
    _place(ctx, log, "member_b", "sell 300 @ 12.60 limit GTC", _order(ctx, "member_b", Side.SELL, 300, "12.60"))
    _place(ctx, log, "member_b", "sell 200 @ 12.55 hidden",
           _order(ctx, "member_b", Side.SELL, 200, "12.55", orderType=OrderType.HIDDEN))
    _place(ctx, log, "member_b", "sell 400 @ 12.70 iceberg, shows 100",
           _order(ctx, "member_b", Side.SELL, 400, "12.70", orderType=OrderType.ICEBERG, displayQuantity=100))
    _place(ctx, log, "client_a", "buy 150 @ 12.40 limit GTC", _order(ctx, "client_a", Side.BUY, 150, "12.40"))
    _book(ctx, log, "book (hidden 200 @ 12.55 not shown)")
    _place(ctx, log, "member_a", "buy 400 @ 12.60 (crosses: hidden first)", _order(ctx, "member_a", Side.BUY, 400, "12.60"))
    _place(ctx, log, "client_a", "buy 250 @ 12.70 (takes the iceberg's peak)",
           _order(ctx, "client_a", Side.BUY, 250, "12.70"))
    _place(ctx, log, "member_a", "sell 100 @ 12.30 IOC (hits the best bid)",
           _order(ctx, "member_a", Side.SELL, 100, "12.30", timeInForce=TimeInForce.IOC))
    _book(ctx, log, "book after the crossing orders (iceberg refilled)")
    # The other venues quote ACME too (member_b's offers; member_a's bids).
    _place(ctx, log, "member_b", "sell 100 @ 12.62", _order(ctx, "member_b", Side.SELL, 100, "12.62"), venue=1)
    _relay(ctx, log, "member_b", [("sell 100 @ 12.66", _order(ctx, "member_b", Side.SELL, 100, "12.66")),
                                  ("sell 100 @ 12.72", _order(ctx, "member_b", Side.SELL, 100, "12.72"))], venue=2)
    _place(ctx, log, "member_a", "buy 50 @ 12.45", _order(ctx, "member_a", Side.BUY, 50, "12.45"), venue=1)


@DEMO_STEPS.step("bbo", "The consolidated book (BBO) and an order routed across venues, best price first",
                 after="trade")
def bbo_step(ctx: DemoContext, log: StepLog) -> None:
    r, sid = ctx.roles, ctx.security_id
    bbo = BboClient(ctx.data["bbo"])
    ctx.data["bbo_client"] = bbo
    log.lines.extend(bbo.format_book(sid, 5).splitlines())
    q = bbo.quote(sid)
    same = q.core() == bbo.quote_from_venues(sid).core()
    log.line(f"BBO quote equals the venues' tops recomputed off chain: {'yes' if same else 'NO'}")
    asks_before = {i: c.book(sid, 5).asks for i, c in enumerate(ctx.data["clients"])}
    order = RoutedOrder(owner=str(r.member_a.address), securityId=sid, side=Side.BUY, quantity=350,
                        limitPrice=cash("12.70"))
    receipt = log.tx(bbo.route(order, r.member_a), "route: member_a buys 350 up to 12.70")
    names = _names(ctx)
    fills = bbo.fills(receipt)
    log.line("member_a routes buy 350 ACME, limit 12.70, IOC; the BBO sweeps:")
    for venue, price, filled in fills:
        log.line(f"  {names.get(venue, venue)}: {filled} @ {fmt_cash(price)}")
    filled_prices = [p for _, p, f in fills if f]
    best_left = min((p for asks in asks_before.values() for p, qty in asks if p not in filled_prices
                     and p < max(filled_prices, default=0)), default=None)
    log.line(f"filled {sum(f for *_, f in fills)}; no trade-through (no better offer left unfilled on any venue): "
             f"{'yes' if best_left is None else 'NO'}")
    ctx.data["trades"] = ctx.data.get("trades", 0) + len([f for f in fills if f[2]])
    if not same or best_left is not None:
        raise AssertionError("the BBO quote or the route is wrong")
    log.data.update(fills=[[names.get(v, v), p, f] for v, p, f in fills], quote=list(q.core()))


@DEMO_STEPS.step("auction", "Closing call auction on V0: collect, then uncross at one price", after="bbo")
def auction(ctx: DemoContext, log: StepLog) -> None:
    r, venue, sid = ctx.roles, ctx.system.venue, ctx.security_id
    log.tx(venue.setPhase(sid, int(TradingPhase.PRE_CLOSE), sender=r.keeper), "keeper: PRE_CLOSE")
    _place(ctx, log, "member_a", "buy 200 @ 12.75 (auction)", _order(ctx, "member_a", Side.BUY, 200, "12.75"))
    _place(ctx, log, "member_b", "sell 100 @ 12.62 (auction)", _order(ctx, "member_b", Side.SELL, 100, "12.62"))
    _place(ctx, log, "client_a", "buy 50 @ 12.65 (auction)", _order(ctx, "client_a", Side.BUY, 50, "12.65"))
    while TradingPhase(int(venue.phaseOf(sid))) == TradingPhase.PRE_CLOSE:
        receipt = log.tx(venue.uncross(sid, 40, sender=r.keeper), "keeper: uncross")
        for ev in receipt.decode_logs(venue.AuctionUncrossed):
            log.line(f"keeper uncrossed {int(ev.volume)} ACME at {fmt_cash(int(ev.price))}")
    ctx.data["settlement_price"] = int(venue.lastPrice(sid))
    log.line(f"closing (settlement) price: {fmt_cash(ctx.data['settlement_price'])}; ACME now CLOSED on V0")


def _margin_table(ctx: DemoContext, log: StepLog, members: list[str]) -> dict[str, Any]:
    rk, rows, out = _risk(ctx), [], {}
    for m in members:
        st = margin_status(rk.margin, _traders(ctx)[m])
        rows.append([m, fmt_cash(st.initial_margin), fmt_cash(st.variation_margin), fmt_cash(st.posted),
                     fmt_cash(st.call_amount), str(st.call_deadline or "-")])
        out[m] = st.__dict__
    log.lines.extend(render_table(["member", "IM", "VM", "posted", "call", "deadline"], rows).splitlines())
    return out


@DEMO_STEPS.step("margin", "Settlement price published; margin refresh: IM, variation margin, calls", after="auction")
def margin(ctx: DemoContext, log: StepLog) -> None:
    r, rk, sid = ctx.roles, _risk(ctx), ctx.security_id
    log.tx(publish_prices(rk.margin, {sid: ctx.data["settlement_price"]}, r.price), "price: publish settlement price")
    for m in ("member_a", "member_b"):
        receipt = log.tx(rk.margin.refreshMargin(_traders(ctx)[m], sender=r.keeper), f"keeper: refresh {m}")
        for ev in receipt.decode_logs(rk.margin.MarginCalled):
            log.line(f"MarginCalled({m}, {fmt_cash(int(ev.amount))}, deadline {int(ev.deadline)})")
    log.line(f"price key published {fmt_cash(ctx.data['settlement_price'])}; keeper refreshed both members "
             f"(Margin reads the CCP's open obligations of each member and its clients; VM at "
             f"{fmt_cash(ctx.data['settlement_price'])} against trade prices; gains offset losses)")
    status = _margin_table(ctx, log, ["member_a", "member_b"])
    ctx.data["margins"] = {m: st["initial_margin"] for m, st in status.items()}
    for m, st in status.items():
        if st["call_amount"]:
            log.tx(rk.margin.depositCash(st["call_amount"], sender=_traders(ctx)[m]), f"{m} meets its call")
            log.line(f"{m} meets its call: deposits {fmt_cash(st['call_amount'])}")
    if not any(st["call_amount"] for st in status.values()):
        log.line("no call today: every member's posted margin covers IM + VM (member_a is called in the default drill)")
    log.data.update(status=status)


@DEMO_STEPS.step("clear", "Novation and multilateral netting of the cycle", after="margin")
def clear(ctx: DemoContext, log: StepLog) -> None:
    s = ctx.system
    cycles = traded_cycles(s.ccp, ctx.data["start_block"])
    if len(cycles) > 1:
        log.line(f"the session's trades fell in {len(cycles)} settlement cycles ({ctx.system.ccp.cycleLength()} s each): "
                 f"{', '.join(map(str, cycles))}")
    obs = []
    for cycle in cycles:
        cycle_obs = obligations(s.ccp, cycle)
        log.line(f"cycle {cycle}:")
        log.lines.extend(format_obligations(cycle_obs, _names(ctx)).splitlines())
        check_flat(s.ccp, cycle, [ctx.security_id])
        obs += cycle_obs
    liq = liquidity(s.ccp, cycles, start_block=ctx.data["start_block"])
    ctx.data["liquidity"], ctx.data["cycles"] = liq, cycles
    log.line(f"gross vs net: {liq.summary()}")
    log.line("CCP flat: net quantities and net cash sum to zero (netSums view): yes")
    agg = member_aggregates(obs, s.membership)
    names = _names(ctx)
    log.line("per clearing member (client_a under member_a): " + ", ".join(
        f"{names.get(cm, cm)} {q:+,} ACME / {fmt_cash(c)}" for (cm, _), (q, c) in sorted(agg.items())))
    ctx.data["obligations"] = obs
    log.data.update(gross_cash=liq.gross_cash, net_cash=liq.net_cash, cash_saving=round(liq.cash_saving, 4),
                    net_cash_per_security=liq.net_cash_per_security, cash_transfers=liq.cash_legs,
                    trades=liq.trades, cycles=cycles)


@DEMO_STEPS.step("settle", "DVP settlement of the cycle against the CCP", after="clear")
def settle(ctx: DemoContext, log: StepLog) -> None:
    s, cycles, sid = ctx.system, ctx.data["cycles"], ctx.security_id
    before = {n: (int(s.cash.balanceOf(a)), int(s.securities.balanceOf(a, sid))) for n, a in _traders(ctx).items()}
    for report in settle_when_due(s.ccp, cycles, ctx.roles.keeper, ctx.clock):
        for receipt in report.receipts:
            log.tx(receipt, f"keeper: settleCycle({report.cycle_id})")
        log.line(f"keeper: {report.summary()}")
    rows = []
    for n, a in _traders(ctx).items():
        c, u = int(s.cash.balanceOf(a)), int(s.securities.balanceOf(a, sid))
        rows.append([n, fmt_cash(c - before[n][0]), f"{u - before[n][1]:+,}"])
    log.lines.extend(render_table(["holder", "cash change", "ACME change"], rows).splitlines())
    check_ccp_empty(s.ccp, s, [sid])
    same = supplies(s, [sid]) == ctx.data["supplies"]
    log.line("CCP holds nothing after the cycle: yes; supplies unchanged: " + ("yes" if same else "NO"))
    again = sum(run_cycle(s.ccp, c, ctx.roles.keeper).transactions for c in cycles)
    log.line(f"re-running the settled cycle sends {again} transactions (idempotent)")
    if not same:
        raise AssertionError("settlement changed a total supply")


@DEMO_STEPS.step("default_drill", f"Default drill ON CHAIN: member_a misses a margin call ({CHAIN_NOTICE})",
                 after="balances")
def default_drill(ctx: DemoContext, log: StepLog) -> None:
    s, r, sid, rk = ctx.system, ctx.roles, ctx.security_id, _risk(ctx)
    a, b, x = r.member_a, r.member_b, r.client_a
    keeper, manager = r.keeper, r.default_manager
    # The close-out market (pluggable: smartccp.clearing.closeout), set on the CCP by the governance step.
    market: CloseOutMarket = ctx.data["close_out"]
    supplies0 = supplies(s, [sid])
    log.line(f"close-out market: {market.label}" + ("" if "DefaultFund" in market.label
                                                     else "; shortfalls charged to the DefaultFund"))
    # Next day: member_a keeps no spare margin and buys again; its client too.
    log.tx(s.venue.setPhase(sid, int(TradingPhase.CONTINUOUS), sender=keeper), "keeper: reopen ACME on V0")
    price = ctx.data["settlement_price"]
    log.tx(rk.margin.refreshMargin(a, sender=keeper), "keeper: refresh member_a")
    need = sum(order_margin(q, price, price, min(ctx.data["shocks"]), True) for q in (600, 100))
    st = margin_status(rk.margin, a)
    spare = st.posted - st.required - need
    if spare > 0:
        log.tx(rk.margin.withdrawCash(spare, sender=a), "member_a withdraws spare margin")
    elif spare < 0:
        log.tx(rk.margin.depositCash(-spare, sender=a), "member_a tops up margin")
    p = fmt_cash(price)[:-4]
    drill_start = chain.blocks.head.number + 1
    _place(ctx, log, "member_b", f"sell 700 @ {p}", _order(ctx, "member_b", Side.SELL, 700, p))
    _place(ctx, log, "member_a", f"buy 600 @ {p}", _order(ctx, "member_a", Side.BUY, 600, p))
    _place(ctx, log, "client_a", f"buy 100 @ {p}", _order(ctx, "client_a", Side.BUY, 100, p))
    # The market falls: the settlement price moves by the S&P 500's worst week of 2008.
    dates, closes = sp500_history()
    worst = risk.worst_move_in_year(closes, dates, 2008, direction="down")
    move = int(worst.shocks_bps[0])
    stressed = price * (10_000 + move) // 10_000 // cash("0.01") * cash("0.01")
    log.tx(publish_prices(rk.margin, {sid: stressed}, r.price), "price: publish stressed settlement price")
    log.line(f"the market falls {move / 100:+.2f}% ({worst.name}): the price key publishes {fmt_cash(stressed)}")
    receipt = log.tx(rk.margin.refreshMargin(a, sender=keeper), "keeper: refresh member_a")
    [called] = receipt.decode_logs(rk.margin.MarginCalled)
    log.line(f"MarginCalled(member_a, {fmt_cash(int(called.amount))}, deadline {int(called.deadline)}): IM + VM on "
             f"its and client_a's 700 ACME exceed what it posted")
    _margin_table(ctx, log, ["member_a"])
    # member_a does not pay: the deadline passes, the default manager declares the default.
    log.tx(s.cash.approve(s.ccp, 0, sender=a), "member_a stops paying (CCP allowance withdrawn)")
    ctx.clock.wait_until(int(called.deadline) + 1, "member_a's margin call deadline")
    receipt = log.tx(rk.fund.declareDefault(a, sender=manager), "default manager: declareDefault(member_a)")
    for ev in receipt.decode_logs(rk.fund.MemberDefaulted):
        log.line(f"default manager: MemberDefaulted(member_a, reason {['None', 'MissedMarginCall', 'MissedTopUp', 'SettlementShortfall', 'Declared'][int(ev.reason)]}): "
                 f"suspended in the register, Margin flags it")
    client: VenueClient = ctx.data["client"]
    order = client.with_nonce(_order(ctx, "member_a", Side.BUY, 10, p))
    error = refusal_text(s.venue.placeOrder, order.as_tuple(), client.sign(order, a), 16, sender=a, also=(rk.margin,))
    log.line(f"member_a's next order: refused, {error}")
    # Its client is ported to member_b, which now clears (and margins) client_a's position.
    log.tx(rk.fund.setBackupMember(a, b, sender=manager), "default manager: backup member_b")
    log.tx(s.membership.acceptPortsFrom(a, True, sender=b), "member_b: accepts member_a's clients")
    log.tx(rk.fund.portClients(a, [x], sender=manager), "default manager: portClients(member_a, [client_a])")
    log.line(f"default manager ports client_a: clears through {_names(ctx).get(str(s.membership.clearingMemberOf(x)))}")
    log.tx(rk.margin.refreshMargin(b, sender=keeper), "keeper: refresh member_b (with client_a)")
    st_b = margin_status(rk.margin, b)
    if st_b.call_amount:
        log.tx(rk.margin.depositCash(st_b.call_amount, sender=b), "member_b meets its call")
        log.line(f"member_b is called {fmt_cash(st_b.call_amount)} for client_a's position and pays")
    # Settlement: member_a's pay-in fails; the CCP sells out its 600 ACME and charges the shortfall.
    prices = market.set_prices({sid: stressed}, keeper)
    log.line(f"close-out at {fmt_cash(prices[sid])} (the dealer's bid: settlement price less "
             f"{DEMO_CLOSE_OUT.slippage_bps} bps, on the tick)")
    receipts = []
    for report in settle_when_due(s.ccp, traded_cycles(s.ccp, drill_start), keeper, ctx.clock):
        for rcpt in report.receipts:
            log.tx(rcpt, f"keeper: settleCycle({report.cycle_id})")
        log.line(f"keeper: {report.summary()}")
        receipts += report.receipts
    for ev in (ev for rcpt in receipts for ev in rcpt.decode_logs(s.ccp.SoldOut)):
        log.line(f"SoldOut: {int(ev.sold)}/{int(ev.offered)} ACME of member_a for {fmt_cash(int(ev.proceeds))}")
    names = _names(ctx)
    for ev in (ev for rcpt in receipts for ev in rcpt.decode_logs(s.ccp.ShortfallCharged)):
        log.line(f"ShortfallCharged to {names.get(str(ev.clearingMember))}: {fmt_cash(int(ev.shortfall))}, "
                 f"covered {fmt_cash(int(ev.covered))}")
    events = layer_events(rk.fund, receipts)
    log.line("the waterfall, on chain (DefaultFund LayerUsed events, in order):")
    for _, layer, amount in events:
        log.line(f"  LayerUsed(member_a, {layer}, {fmt_cash(amount)})")
    loss = int(rk.fund.defaultOf(a)[1])
    covered = sum(v for _, _, v in events) == loss > 0
    log.line(f"loss {fmt_cash(loss)} = sum of the layers used: {'yes' if covered else 'NO'}")
    # The market goes on.
    required, paid = (int(v) for v in rk.fund.contributionOf(b))
    if paid < required:
        log.tx(rk.fund.contribute(required - paid, sender=b), "member_b replenishes")
        log.line(f"member_b replenishes its contribution: {fmt_cash(required - paid)}")
    used_sitg = sum(v for _, layer, v in events if layer == "ccp_skin_in_the_game")
    if used_sitg:
        log.tx(rk.fund.fundSkinInTheGame(used_sitg, sender=r.bank), "refill skin in the game")
    log.tx(rk.fund.closeDefault(a, sender=manager), "default manager: closeDefault(member_a)")
    status = ["None", "Active", "Suspended", "Expelled"][int(s.membership.memberOf(a).status)]
    log.line(f"default manager closes the default: member_a {status}")
    log.tx(publish_prices(rk.margin, {sid: stressed}, r.price), "price: publish price")
    log.tx(rk.margin.refreshMargin(b, sender=keeper), "keeper: refresh member_b")
    q = fmt_cash(stressed)[:-4]
    _place(ctx, log, "member_b", f"sell 50 @ {q} (the market goes on)",
           _order(ctx, "member_b", Side.SELL, 50, q))
    check_ccp_empty(s.ccp, s, [sid])
    same = supplies(s, [sid]) == supplies0
    log.line(f"CCP holds nothing beyond custody: yes; supplies unchanged: {'yes' if same else 'NO'}")
    log.data.update(loss=loss, layers=[[layer, v] for _, layer, v in events], basis=CHAIN_NOTICE, refused=error,
                    close_out=market.label, status_after=status)
    ctx.data["default"] = {"member": "member_a", "loss": loss, "layers": [[layer, v] for _, layer, v in events],
                           "basis": CHAIN_NOTICE}
    if error is None or not covered or not same:
        raise AssertionError("the defaulter was not refused, the loss was not covered, or a supply changed")


@DEMO_STEPS.step("charts", "Charts: the default waterfall, margin against the loss, gross against net", after="default_drill")
def charts(ctx: DemoContext, log: StepLog) -> None:
    """The drill's three PNG charts, drawn from what the demo's steps recorded."""
    from smartccp.drill.charts import write_charts

    liq, default = ctx.data["liquidity"], ctx.data["default"]
    margins = ctx.data.get("margins", {})
    cycle = {
        "day": 0,
        "defaults": [{"member": default["member"], "loss": default["loss"],
                      "waterfall": {"layers": default["layers"], "basis": default["basis"]}}],
        "margin": {"calls": [{"member": m, "initial_margin": im,
                              "next_day_loss": default["loss"] if m == default["member"] else 0}
                             for m, im in margins.items()]},
        "gross": {"cash": liq.gross_cash, "units": liq.gross_units},
        "net": {"cash": liq.net_cash, "units": liq.net_units},
    }
    out = DEMO_CHARTS_DIR
    out.mkdir(parents=True, exist_ok=True)
    paths = write_charts({"scenario": "demo", "cycles": [cycle]}, out, prefix="demo")
    for name, path in paths.items():
        log.line(f"{name}: {path}")
    log.data["charts"] = {name: str(path) for name, path in paths.items()}

