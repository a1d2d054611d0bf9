"""The demo's default drill and its charts (see :mod:`smartccp.demo.core`), after the balances step.

The default drill ON CHAIN, managed at once: member_a misses a margin call on its house account
and is declared in default (suspended); its individually segregated client is ported to member_b
with its whole margin account (positions and collateral); member_a's house portfolio is taken over
by the default-management account and auctioned in sealed bids (EIP-712, committed as digests,
revealed after the window) to member_b and the close-out dealer (a clearing member), after the
default manager hedged part of it into the dealer's bid on V0; the best bid takes the rest over at
its price, the loss that crystallises is charged through the DefaultFund's
waterfall (each ``LayerUsed`` event printed) without touching the client's collateral, all before
the cycle settles; then it settles with nothing of member_a's left, and the market goes on. Then
the drill's charts. Each transaction is sent by the key whose role may send it
(``ctx.roles.keeper``, ``.price``, ``.default_manager``).
"""

from __future__ import annotations

from ape import chain

from smartccp import risk
from smartccp.chain.errors import refusal_text
from smartccp.chain.report import StepLog
from smartccp.clearing.ccp import check_ccp_empty, supplies, traded_cycles
from smartccp.clearing.closeout import CloseOutMarket
from smartccp.demo.core import DEMO_STEPS, DemoContext
from smartccp.demo.trade import (
    DEMO_CHARTS_DIR,
    _margin_table,
    _names,
    _order,
    _place,
    _risk,
)
from smartccp.drill.base import CHAIN_NOTICE
from smartccp.ops.daily import settle_when_due
from smartccp.risk import management as mg
from smartccp.risk.chain import layer_events, margin_status, order_margin, publish_prices
from smartccp.sim.simulator import sp500_history
from smartccp.trading.venue import VenueClient
from smartccp.types import Side, TradingPhase
from smartccp.units import cash, fmt_cash

#: The auction of member_a's house portfolio: bidding and reveal windows (seconds; a few on a
#: real-time chain), the band around the settlement price, each bidder's price move (bps).
AUCTION_WINDOW, AUCTION_WINDOW_REALTIME, AUCTION_BAND_BPS = 600, 6, 3_000
AUCTION_BIDS_BPS = {"member_b": -600, "dealer": -900}
HEDGE_UNITS = 200  # of member_a's 600, sold into the close-out dealer's bid before the auction


@DEMO_STEPS.step("default_drill", f"Default drill ON CHAIN: member_a misses a margin call ({CHAIN_NOTICE})",
                 after="balances")
def default_drill(ctx: DemoContext, log: StepLog) -> None:
    s, r, sid, rk = ctx.system, ctx.roles, ctx.security_id, _risk(ctx)
    a, b, x = r.member_a, r.member_b, r.client_a
    keeper, manager = r.keeper, r.default_manager
    # The close-out market (pluggable: smartccp.clearing.closeout), set on the CCP by the governance
    # step; its dealer bids in the auction.
    market: CloseOutMarket = ctx.data["close_out"]
    supplies0 = supplies(s, [sid])
    # Next day: member_a keeps no spare margin and buys again; its client too.
    log.tx(s.venue.setPhase(sid, int(TradingPhase.CONTINUOUS), sender=keeper), "keeper: reopen ACME on V0")
    price = ctx.data["settlement_price"]
    # Each account keeps exactly what its next order needs: member_a's house for its 600, client_a's
    # own account for its 100 (a client is gated on its own account).
    for who, acct, qty in (("member_a", a, 600), ("client_a", x, 100)):
        log.tx(rk.margin.refreshMargin(acct, sender=keeper), f"keeper: refresh {who}")
        st = margin_status(rk.margin, acct)
        spare = st.posted - st.required - order_margin(qty, price, price, min(ctx.data["shocks"]), True)
        if spare > 0 and who == "member_a":
            log.tx(rk.margin.withdrawCash(spare, sender=acct), f"{who} withdraws spare margin")
        elif spare < 0:
            log.tx(rk.margin.depositCash(-spare, sender=acct), f"{who} tops up margin")
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
             f"its house's ACME exceed what it posted (client_a's 100 are margined on client_a's own account)")
    log.tx(rk.margin.refreshMargin(x, sender=keeper), "keeper: refresh client_a")
    st_x = margin_status(rk.margin, x)
    if st_x.call_amount:
        log.tx(rk.margin.depositCash(st_x.call_amount, sender=x), "client_a meets its call")
    _margin_table(ctx, log, ["member_a", "client_a"])
    client_posted = margin_status(rk.margin, x).posted
    house_margin = margin_status(rk.margin, a).cash
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
    # Clients first: client_a is ported to member_b, which accepts it, with its whole account.
    log.tx(rk.fund.setBackupMember(a, b, sender=manager), "default manager: backup member_b")
    log.tx(s.membership.acceptPort(x, True, sender=b), "member_b: accepts client_a")
    log.tx(rk.fund.portClients(a, [x], sender=manager), "default manager: portClients(member_a, [client_a])")
    _, owner, _ = rk.margin.accountOf(x)
    log.line(f"default manager ports client_a: clears through {_names(ctx).get(str(s.membership.clearingMemberOf(x)))}"
             f"; its margin account (collateral {fmt_cash(margin_status(rk.margin, x).posted)}) now answers to "
             f"{_names(ctx).get(str(owner))}")
    log.tx(rk.margin.refreshMargin(x, sender=keeper), "keeper: refresh client_a (under member_b)")
    # The house portfolio: taken over by the default-management account and auctioned at once,
    # long before it would settle.
    dm, names = rk.management, _names(ctx)
    names[str(dm.address)] = "DefaultManagement"
    log.tx(dm.openCase(a, sender=keeper), "keeper: openCase(member_a)")
    receipt = log.tx(dm.takeOver(a, a, [sid], sender=keeper), "keeper: takeOver(member_a's house, [ACME])")
    [taken] = receipt.decode_logs(dm.ObligationsTakenOver)
    for ev in (taken,):
        log.line(f"ObligationsTakenOver: lot {int(ev.lot)}, member_a's {int(ev.quantity):+,} ACME owing "
                 f"{fmt_cash(-int(ev.cash))}: now the default-management account's")
    [lot] = [int(i) for i in dm.lotsOf(a)]
    mark = int(rk.margin.securityRisk(sid)[0])
    if getattr(market, "dealer", None) is not None:
        # A hedge before the auction: the default manager sells part of the lot into the close-out
        # dealer's bid on V0; the fills join the lot, which the auction then sells.
        dealer_bid = market.set_prices({sid: stressed}, keeper)[sid]
        receipt = log.tx(dm.hedge(lot, HEDGE_UNITS, dealer_bid, 4, sender=manager),
                         f"default manager: hedge {HEDGE_UNITS} of the lot at {fmt_cash(dealer_bid)} or better")
        for ev in receipt.decode_logs(dm.Hedged):
            log.line(f"Hedged: {int(ev.quantity):+,} ACME for {fmt_cash(int(ev.cash))} on V0; the lot now "
                     f"{mg.lot(dm, lot).quantity:+,} ACME")
    window = AUCTION_WINDOW if ctx.clock.warp else AUCTION_WINDOW_REALTIME
    log.tx(dm.startAuction(a, window, window, AUCTION_BAND_BPS, sender=manager),
           f"default manager: startAuction (sealed bids for {window} s, reveals for {window} s)")
    bidders = {"member_b": (b, AUCTION_BIDS_BPS["member_b"])}
    if getattr(market, "dealer", None) is not None:  # the close-out dealer, a clearing member, bids too
        bidders["close-out dealer"] = (market.dealer, AUCTION_BIDS_BPS["dealer"])
    bids = {who: mg.sign_bid(dm, acct, lot, mark * (10_000 + bps) // 10_000 // cash("0.01") * cash("0.01"))
            for who, (acct, bps) in bidders.items()}
    for who, bid in bids.items():
        log.tx(dm.commitBid(lot, bid.digest, sender=bidders[who][0]), f"{who}: commitBid (sealed)")
    log.line("sealed bids committed: " + ", ".join(f"{who} {bid.digest.hex()[:10]}..." for who, bid in bids.items())
             + " (digests: no price on chain yet)")
    ctx.clock.wait_until(int(dm.caseOf(a)[1]) + 1, "the end of the bidding")
    for who, bid in bids.items():
        log.tx(dm.revealBid(bid.bid, bid.signature, sender=keeper), f"keeper: revealBid ({who})")
        log.line(f"  {who} bid {fmt_cash(bid.price)} for the lot (settlement price {fmt_cash(mark)})")
    ctx.clock.wait_until(int(dm.caseOf(a)[2]) + 1, "the end of the reveal")
    receipt = log.tx(dm.disposeLot(lot, 4, sender=keeper), "keeper: disposeLot")
    [award] = receipt.decode_logs(dm.LotAwarded)
    log.line(f"LotAwarded to {names.get(str(award.winner), str(award.winner))} at {fmt_cash(int(award.price))}: "
             f"loss {fmt_cash(int(award.loss))} on the lot = VM at {fmt_cash(int(award.markPrice))} plus the hedge's "
             f"and the auction's discounts to it")
    receipts = mg.charge(dm, a, keeper)
    for rcpt in receipts:
        log.tx(rcpt, "keeper: chargeLosses(member_a)")
    events = layer_events(rk.fund, receipts)
    log.line("the waterfall, on chain (DefaultFund LayerUsed events, in order):")
    for _, layer, amount in events:
        log.line(f"  LayerUsed(member_a, {layer}, {fmt_cash(amount)})")
    # Settlement: nothing of member_a's is left; the winner and the case account settle.
    for report in settle_when_due(s.ccp, traded_cycles(s.ccp, drill_start), keeper, ctx.clock):
        for rcpt in report.receipts:
            log.tx(rcpt, f"keeper: settleCycle({report.cycle_id})")
        log.line(f"keeper: {report.summary()}")
    loss = int(rk.fund.defaultOf(a)[1])
    covered = sum(v for _, _, v in events) == loss > 0
    log.line(f"loss {fmt_cash(loss)} = sum of the layers used: {'yes' if covered else 'NO'}")
    segregated = margin_status(rk.margin, x).posted == client_posted
    log.line(f"client_a's segregated collateral untouched by member_a's default: "
             f"{'yes' if segregated else 'NO'} ({fmt_cash(client_posted)})")
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
                           "basis": CHAIN_NOTICE, "available": {"defaulter_margin": house_margin},
                           "management": {"lots": [{"quantity": int(taken.quantity), "cash": int(taken.cash),
                                                    "mark": mark}]}}
    if error is None or not covered or not same or not segregated:
        raise AssertionError("the defaulter was not refused, the loss was not covered, a supply changed, or the "
                             "client's segregated collateral was used")


@DEMO_STEPS.step("charts", "Charts: the default waterfall, margin against the loss, gross against net", after="default_drill")
def charts(ctx: DemoContext, log: StepLog) -> None:
    """The drill's three PNG charts, drawn from what the demo's steps recorded."""
    from smartccp.drill.charts import write_charts

    liq, default = ctx.data["liquidity"], ctx.data["default"]
    margins = ctx.data.get("margins", {})
    cycle = {
        "day": 0,
        "defaults": [{"member": default["member"], "loss": default["loss"], "management": default.get("management"),
                      "waterfall": {"layers": default["layers"], "basis": default["basis"],
                                    "available": default.get("available", {})}}],
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

