"""Demo steps for trading, clearing, settlement and a short default drill (see :mod:`smartccp.demo`).

After the ledger steps: list ACME on the venue and the CCP (T+1), place signed orders (resting,
hidden, iceberg, crossing), run a closing call auction, show the cycle's netting (obligations,
gross against net), settle it DVP, and (after the balances step) run a short default drill: the
waterfall is a **model (off chain) until the risk contracts land**; the declaration (suspension)
and the refusal of the defaulter's next order are on chain.

Amounts: cash in base units (shown as cash), prices in base units per unit, quantities in units.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ape import chain

from smartccp import risk
from smartccp.clearing import (
    check_ccp_empty,
    check_flat,
    format_obligations,
    liquidity,
    member_aggregates,
    obligations,
    run_cycle,
    supplies,
    warp_past,
)
from smartccp.demo import DEMO_STEPS, DemoContext, refusal
from smartccp.drill import MODEL_NOTICE
from smartccp.orders import Order, OrderType, Phase, Side, TimeInForce
from smartccp.report import StepLog, render_table
from smartccp.simulator import sp500_history
from smartccp.system import list_security
from smartccp.trading import VenueClient
from smartccp.units import cash, fmt_cash

MAX_UINT = 2**256 - 1
SKIN_IN_THE_GAME = cash(100)
FUND_MINIMUM = cash(50)


def _traders(ctx: DemoContext) -> dict[str, Any]:
    return ctx.holders()


def _names(ctx: DemoContext) -> dict[str, str]:
    names = {str(a.address): n for n, a in _traders(ctx).items()}
    names[str(ctx.system.ccp.address)] = "CCP"
    return names


def _order(ctx: DemoContext, who: str, side: Side, qty: int, price: str, **kw: Any) -> Order:
    owner = _traders(ctx)[who]
    return Order(owner=str(owner.address), securityId=ctx.security_id, side=side, quantity=qty, price=cash(price), **kw)


def _place(ctx: DemoContext, log: StepLog, who: str, label: str, order: Order) -> Any:
    client: VenueClient = ctx.data["client"]
    receipt = log.tx(client.place(order, _traders(ctx)[who]), f"{who}: {label}")
    fills = client.trades(receipt)
    names = _names(ctx)
    text = ", ".join(f"{t.quantity} @ {fmt_cash(t.price)} ({names.get(str(t.seller), '?')} -> "
                     f"{names.get(str(t.buyer), '?')})" for t in fills)
    rested = client.resting_id(receipt)
    log.line(f"{who:<8} {label:<44} " + (f"traded {text}" if fills else "") + (" rests" if rested else ""))
    ctx.data.setdefault("trades", 0)
    ctx.data["trades"] += len(fills)
    return receipt


def _book(ctx: DemoContext, log: StepLog, title: str) -> None:
    book = ctx.data["client"].book(ctx.security_id, 5)
    asks = "  ".join(f"{q}@{fmt_cash(p)}" for p, q in book.asks) or "-"
    bids = "  ".join(f"{q}@{fmt_cash(p)}" for p, q in book.bids) or "-"
    log.line(f"{title}: bids {bids} | asks {asks}")


@DEMO_STEPS.step("list", "List ACME on the venue and the CCP (T+1); traders approve the CCP", after="refused")
def list_acme(ctx: DemoContext, log: StepLog) -> None:
    r, s = ctx.roles, ctx.system
    with log.capture(r.operator, label="list / rules / phase"):
        list_security(s, r.operator, ctx.security_id, lag_days=1)
    for name, t in _traders(ctx).items():
        log.tx(s.cash.approve(s.ccp, MAX_UINT, sender=t), f"{name} approves cash")
        log.tx(s.securities.setApprovalForAll(s.ccp, True, sender=t), f"{name} approves ACME")
    ctx.data["client"] = VenueClient(s.venue)
    ctx.data["start_block"] = chain.blocks.head.number
    ctx.data["supplies"] = supplies(s, [ctx.security_id])
    cycle_id, deadline = s.ccp.settlementCycle(ctx.security_id)
    ctx.data["cycle_id"] = int(cycle_id)
    log.line(f"ACME (id {ctx.security_id}) listed on {s.venue.eip712Domain()[1]}, continuous trading; "
             f"cleared by the CCP, settles in cycle {int(cycle_id)} (T+1)")


@DEMO_STEPS.step("trade", "Signed orders on the book: resting, hidden, iceberg, crossing", after="list")
def trade(ctx: DemoContext, log: StepLog) -> None:
    _place(ctx, log, "member_b", "sell 300 @ 12.60 limit GTC", _order(ctx, "member_b", Side.SELL, 300, "12.60"))
    _place(ctx, log, "member_b", "sell 200 @ 12.55 hidden",
           _order(ctx, "member_b", Side.SELL, 200, "12.55", orderType=OrderType.HIDDEN))
    _place(ctx, log, "member_b", "sell 400 @ 12.70 iceberg, shows 100",
           _order(ctx, "member_b", Side.SELL, 400, "12.70", orderType=OrderType.ICEBERG, displayQuantity=100))
    _place(ctx, log, "client_a", "buy 150 @ 12.40 limit GTC",
           _order(ctx, "client_a", Side.BUY, 150, "12.40"))
    _book(ctx, log, "book (hidden 200 @ 12.55 not shown)")
    _place(ctx, log, "member_a", "buy 400 @ 12.60 (crosses: hidden first)", _order(ctx, "member_a", Side.BUY, 400, "12.60"))
    _place(ctx, log, "client_a", "buy 250 @ 12.70 (takes the iceberg's peak)",
           _order(ctx, "client_a", Side.BUY, 250, "12.70"))
    _place(ctx, log, "member_a", "sell 100 @ 12.30 IOC (hits the best bid)",
           _order(ctx, "member_a", Side.SELL, 100, "12.30", timeInForce=TimeInForce.IOC))
    _book(ctx, log, "book after the crossing orders (iceberg refilled)")


@DEMO_STEPS.step("auction", "Closing call auction: collect, then uncross at one price", after="trade")
def auction(ctx: DemoContext, log: StepLog) -> None:
    r, venue, sid = ctx.roles, ctx.system.venue, ctx.security_id
    log.tx(venue.setPhase(sid, int(Phase.PRE_CLOSE), sender=r.operator), "PRE_CLOSE")
    _place(ctx, log, "member_a", "buy 200 @ 12.75 (auction)", _order(ctx, "member_a", Side.BUY, 200, "12.75"))
    _place(ctx, log, "member_b", "sell 100 @ 12.62 (auction)", _order(ctx, "member_b", Side.SELL, 100, "12.62"))
    _place(ctx, log, "client_a", "buy 50 @ 12.65 (auction)", _order(ctx, "client_a", Side.BUY, 50, "12.65"))
    while Phase(int(venue.phaseOf(sid))) == Phase.PRE_CLOSE:
        receipt = log.tx(venue.uncross(sid, 40, sender=r.operator), "uncross")
        for ev in receipt.decode_logs(venue.AuctionUncrossed):
            log.line(f"uncrossed {int(ev.volume)} ACME at {fmt_cash(int(ev.price))}")
    ctx.data["settlement_price"] = int(venue.lastPrice(sid))
    log.line(f"closing (settlement) price: {fmt_cash(ctx.data['settlement_price'])}; ACME now CLOSED")


@DEMO_STEPS.step("clear", "Novation and multilateral netting of the cycle", after="auction")
def clear(ctx: DemoContext, log: StepLog) -> None:
    s, cycle = ctx.system, ctx.data["cycle_id"]
    obs = obligations(s.ccp, cycle)
    log.lines.extend(format_obligations(obs, _names(ctx)).splitlines())
    check_flat(s.ccp, cycle, [ctx.security_id])
    liq = liquidity(s.ccp, cycle, start_block=ctx.data["start_block"])
    log.line(f"gross vs net: {liq.summary()}")
    log.line("CCP flat: net quantities and net cash sum to zero (netSums view): yes")
    agg = member_aggregates(obs, s.membership)
    names = _names(ctx)
    log.line("per clearing member (client_a under member_a): " + ", ".join(
        f"{names.get(cm, cm)} {q:+,} ACME / {fmt_cash(c)}" for (cm, _), (q, c) in sorted(agg.items())))
    ctx.data["obligations"] = obs
    log.data.update(gross_cash=liq.gross_cash, net_cash=liq.net_cash, cash_saving=round(liq.cash_saving, 4),
                    trades=liq.trades)


@DEMO_STEPS.step("settle", "DVP settlement of the cycle against the CCP", after="clear")
def settle(ctx: DemoContext, log: StepLog) -> None:
    s, cycle, sid = ctx.system, ctx.data["cycle_id"], ctx.security_id
    before = {n: (int(s.cash.balanceOf(a)), int(s.securities.balanceOf(a, sid))) for n, a in _traders(ctx).items()}
    warp_past(s.ccp, cycle)
    report = run_cycle(s.ccp, cycle, ctx.roles.operator)
    for receipt in report.receipts:
        log.tx(receipt, f"settleCycle({cycle})")
    log.line(report.summary())
    rows = []
    for n, a in _traders(ctx).items():
        c, u = int(s.cash.balanceOf(a)), int(s.securities.balanceOf(a, sid))
        rows.append([n, fmt_cash(c - before[n][0]), f"{u - before[n][1]:+,}"])
    log.lines.extend(render_table(["holder", "cash change", "ACME change"], rows).splitlines())
    check_ccp_empty(s.ccp, s, [sid])
    same = supplies(s, [sid]) == ctx.data["supplies"]
    log.line("CCP holds nothing after the cycle: yes; supplies unchanged: " + ("yes" if same else "NO"))
    log.line(f"re-running the settled cycle sends {run_cycle(s.ccp, cycle, ctx.roles.operator).transactions} "
             f"transactions (idempotent)")
    if not same:
        raise AssertionError("settlement changed a total supply")


@DEMO_STEPS.step("default_drill", f"Default drill: member_b defaults ({MODEL_NOTICE} for margin and waterfall)",
                 after="balances")
def default_drill(ctx: DemoContext, log: StepLog) -> None:
    s, r, sid = ctx.system, ctx.roles, ctx.security_id
    names = _names(ctx)
    agg = member_aggregates(ctx.data["obligations"], s.membership)
    position = {names[cm]: (q, c) for (cm, _), (q, c) in agg.items()}
    price = ctx.data["settlement_price"]
    dates, closes = sp500_history()
    cut = int((dates < np.datetime64("2008-09-15")).sum())
    shocks = risk.calibrate_shocks(closes[cut - 750:cut]).reshape(1, -1)
    up = risk.worst_move_in_year(closes, dates, 2008, direction="up")
    move = max(up.shocks_bps[0], 2_500)  # the CCP closes out at the larger of 2008's worst rise and +25%
    members = ["member_a", "member_b"]
    margins = {m: risk.initial_margin([position[m][0]], [price], shocks) for m in members}
    beyond = risk.losses_beyond_margin_matrix([[position[m][0]] for m in members], [price],
                                              risk.hypothetical_stress_scenarios(1), [margins[m] for m in members])
    fund = risk.size_default_fund(beyond).fund_size
    contributions = dict(zip(members, risk.allocate_contributions(fund, risk.member_risk(beyond), FUND_MINIMUM)))
    q, c = position["member_b"]
    close_price = price * (10_000 + move) // 10_000
    loss = max(0, -(c + q * close_price))
    result = risk.run_waterfall({"member_b": loss}, margins, contributions, SKIN_IN_THE_GAME)
    log.line(f"member_b's cycle position: {q:+,} ACME against {fmt_cash(c)} cash; it fails to deliver")
    log.line(f"initial margin (99%, 5 days, S&P 500 to 2008-09-12): member_a {fmt_cash(margins['member_a'])}, "
             f"member_b {fmt_cash(margins['member_b'])}; default fund (cover 2): {fmt_cash(fund)}")
    log.line(f"close-out: buy-in {-q} ACME at {fmt_cash(close_price)} ({move / 100:+.2f}%, {up.name} was "
             f"{up.shocks_bps[0] / 100:+.2f}%): loss {fmt_cash(loss)}")
    rows = [[name, fmt_cash(amount)] for name, amount in result.layers]
    log.lines.extend(render_table(["waterfall layer (model)", "used"], rows).splitlines())
    covered = sum(a for _, a in result.layers) == loss and result.uncovered == 0
    log.line(f"every unit of loss covered by a named layer, in order: {'yes' if covered else 'NO'}")
    # On chain: declare the default, refuse the defaulter, keep the market running for the others.
    log.tx(s.membership.suspend(r.member_b, sender=r.operator), "suspend member_b (declare default)")
    log.tx(s.venue.setPhase(sid, int(Phase.CONTINUOUS), sender=r.operator), "reopen ACME")
    client: VenueClient = ctx.data["client"]
    order = client.with_nonce(_order(ctx, "member_b", Side.SELL, 10, "12.60"))
    error = refusal(s.venue.placeOrder, order.as_tuple(), client.sign(order, r.member_b), 16, sender=r.member_b)
    log.line(f"member_b's next order: refused, {error}")
    _place(ctx, log, "client_a", "sell 50 @ 12.75 (the market keeps running)",
           _order(ctx, "client_a", Side.SELL, 50, "12.75"))
    log.data.update(loss=loss, layers=result.layers, basis=MODEL_NOTICE, refused=error)
    if error is None or not covered:
        raise AssertionError("the defaulter was not refused or the loss was not covered")
