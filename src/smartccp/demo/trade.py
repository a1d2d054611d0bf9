"""Demo steps for risk, trading, the BBO, clearing and settlement (see :mod:`smartccp.demo.core`).

After the ledger steps: list ACME on the three venues and the CCP (T+1); the risk contracts get
scenarios calibrated from the S&P 500 (:mod:`smartccp.risk`), members post margin (member_a by a
signed FundTransfer) and cover-2 contributions, client_a posts in its own segregated account, and
the gate refuses an order too big for the client's margin; signed orders on the three venues (resting, hidden, iceberg, crossing), the consolidated
book (BBO) and an order routed through the BBO across venues; a closing call auction, settlement
prices published and every margin account refreshed; the cycle's netting and DVP settlement.
The default drill is :mod:`.default`. Each transaction is sent by the key whose role may send it
(``ctx.roles.keeper``, ``.price``, ``.risk``).

Amounts: cash in base units (shown as cash), prices in base units per unit, quantities in units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from ape import chain

from smartccp import risk
from smartccp.chain.accounts import seeded_account
from smartccp.chain.errors import refusal_text
from smartccp.chain.report import StepLog, render_table
from smartccp.chain.system import kyc_expiry, list_security
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
from smartccp.demo.core import DEMO_STEPS, DemoContext
from smartccp.ops.daily import settle_when_due
from smartccp.risk.chain import (
    Risk,
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
from smartccp.types import MAX_UINT, OrderType, Segregation, Side, TimeInForce, TradingPhase
from smartccp.units import cash, fmt_cash

DEMO_CHARTS_DIR = Path("reports")  # demo_waterfall.png, demo_margin_vs_loss.png, demo_gross_vs_net.png
SKIN_IN_THE_GAME = cash(100)
FUND_MINIMUM = cash(50)
MARGIN_DEPOSIT = cash(20_000)  # member_b's margin; member_a posts what its orders need, plus 50%
OMNIBUS_MARGIN = cash(500)  # what member_b puts in its omnibus client account
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
    # member_a's house account and client_a's own (individually segregated) account each post what
    # their day-1 orders need at the gate, plus 50%: a client's orders are gated on its own account.
    plan = {"member_a": [(Side.BUY, 400, "12.60"), (Side.SELL, 100, "12.30"), (Side.BUY, 50, "12.45"),
                         (Side.BUY, 350, "12.70"), (Side.BUY, 200, "12.75")],
            "client_a": [(Side.BUY, 150, "12.40"), (Side.BUY, 250, "12.70"), (Side.BUY, 50, "12.65")]}
    need = {m: sum(order_margin(q, cash(p), REFERENCE_PRICE, min(shocks) if sd == Side.BUY else max(shocks),
                                sd == Side.BUY) for sd, q, p in orders) for m, orders in plan.items()}
    posted = {"member_a": need["member_a"] * 3 // 2, "member_b": MARGIN_DEPOSIT}  # member_a: its plan + 50%
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
    posted["client_a"] = need["client_a"] * 3 // 2
    log.tx(s.cash.approve(rk.margin, MAX_UINT, sender=r.client_a), "client_a approves Margin")
    log.tx(rk.margin.depositCash(posted["client_a"], sender=r.client_a), "client_a deposits margin")
    log.line(f"client_a deposited {fmt_cash(posted['client_a'])} into its own segregated account (its plan + 50%): "
             f"it answers only for client_a's positions, never for member_a's house")
    log.tx(s.cash.issue(r.bank, 4 * SKIN_IN_THE_GAME, sender=r.bank), "CCP treasury (at the bank)")
    log.tx(s.cash.approve(rk.fund, MAX_UINT, sender=r.bank), "treasury approves DefaultFund")
    log.tx(rk.fund.fundSkinInTheGame(SKIN_IN_THE_GAME, sender=r.bank), "skin in the game")
    log.line(f"CCP skin in the game: {fmt_cash(SKIN_IN_THE_GAME)} (from its treasury held at the settlement bank)")
    # The gate: an order beyond member_a's margin is refused before it reaches the book.
    client: VenueClient = ctx.data["client"]
    big = client.with_nonce(_order(ctx, "client_a", Side.BUY, 5_000, "12.60"))
    error = refusal_text(client.venue.placeOrder, big.as_tuple(), client.sign(big, r.client_a), 16, sender=r.client_a,
                    also=(rk.margin,))
    log.line(f"client_a buy 5,000 @ 12.60 (checked on client_a's own account): refused, {error}")
    if error is None or not error.startswith("InsufficientMargin"):
        raise AssertionError(f"the gate did not refuse the oversized order: {error}")
    omnibus_error = _omnibus_client(ctx, log, client)
    ctx.data["other_holders"] = {"Margin": rk.margin, "DefaultFund": rk.fund, "bank (CCP treasury)": r.bank}
    ctx.data["supplies"] = supplies(s, [sid])
    log.data.update(shocks_bps=shocks, contributions=contributions, posted=posted, fund_size=fund, gate_refusal=error,
                    omnibus_gate_refusal=omnibus_error)


def _omnibus_client(ctx: DemoContext, log: StepLog, client: VenueClient) -> str | None:
    """An omnibus client of member_b (a seeded wallet): its orders are gated on member_b's omnibus
    account, which member_b funds and only member_b may draw on; never on member_b's house."""
    r, s, rk = ctx.roles, ctx.system, _risk(ctx)
    omni = seeded_account("smartccp-demo:client_o", r.operator)
    log.tx(s.membership.admitParticipant(omni, r.member_b, kyc_expiry(), int(Segregation.OMNIBUS), sender=r.operator),
           "admit client_o (omnibus client of member_b)")
    account = str(rk.margin.omnibusAccountOf(r.member_b))
    log.tx(rk.margin.depositCashTo(account, OMNIBUS_MARGIN, sender=r.member_b), "member_b funds its omnibus account")
    wallets = [str(w) for w in rk.margin.walletsOf(account)]
    order = client.with_nonce(Order(owner=str(omni.address), securityId=ctx.security_id, side=Side.BUY,
                                    quantity=1_000, price=cash("12.60")))
    error = refusal_text(client.venue.placeOrder, order.as_tuple(), client.sign(order, omni), 16, sender=omni,
                         also=(rk.margin,))
    log.line(f"client_o {omni.address}: omnibus client of member_b, trades for member_b's omnibus account "
             f"{account} (funded {fmt_cash(OMNIBUS_MARGIN)} by member_b; wallets {len(wallets) - 1})")
    log.line(f"client_o buy 1,000 @ 12.60 (checked on member_b's omnibus account, not its house's "
             f"{fmt_cash(MARGIN_DEPOSIT)}): refused, {error}")
    if error is None or not error.startswith(f"InsufficientMargin(account={account}"):
        raise AssertionError(f"the omnibus client's order was not gated on the omnibus account: {error}")
    return error


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
    log.lines.extend(render_table(["account", "IM", "VM", "posted", "call", "deadline"], rows).splitlines())
    return out


@DEMO_STEPS.step("margin", "Settlement price published; margin refresh: IM, variation margin, calls", after="auction")
def margin(ctx: DemoContext, log: StepLog) -> None:
    r, rk, sid = ctx.roles, _risk(ctx), ctx.security_id
    log.tx(publish_prices(rk.margin, {sid: ctx.data["settlement_price"]}, r.price), "price: publish settlement price")
    for m in ("member_a", "member_b", "client_a"):
        receipt = log.tx(rk.margin.refreshMargin(_traders(ctx)[m], sender=r.keeper), f"keeper: refresh {m}")
        for ev in receipt.decode_logs(rk.margin.MarginCalled):
            log.line(f"MarginCalled({m}, {fmt_cash(int(ev.amount))}, deadline {int(ev.deadline)})")
    log.line(f"price key published {fmt_cash(ctx.data['settlement_price'])}; keeper refreshed every margin account "
             f"(the two house accounts and client_a's; Margin reads the CCP's open obligations of each; VM at "
             f"{fmt_cash(ctx.data['settlement_price'])} against trade prices; gains offset losses)")
    status = _margin_table(ctx, log, ["member_a", "member_b", "client_a"])
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
