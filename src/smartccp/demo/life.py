"""The demo's life of a security (see :mod:`smartccp.demo.core`), after the simulated market.

A bond, BND (T+2, maturing five cycles ahead), held by two new clearing members, l1 and l2.
Day D: l2 buys 400 from l1 (settles D+2). Day D+1: l2 sells 150 back (settles D+3), and l2
compresses: 150 of its D+2 receipt stay in its custody in the CCP for its D+3 delivery. The
issuer declares a coupon with its record date at the end of day D+1: both trades were made
before it and settle after it, so the CCP turns it into market claims in both cycles (the seller
was paid by the issuer; the buyer is owed it). The cycles settle, l1 claims the coupon, trading
stops at maturity less the lag, the issuer declares the redemption and each holder is redeemed
(units burnt against cash). Margin cash earns interest at the rate the risk key publishes, paid
by the settlement bank's interest account (set by the governance step's timelocked change) when
a member claims it. A PNG chart shows the holdings at each stage and each holder's cash flows.

Every transaction is sent by the key whose role may send it; times are in settlement cycles
(a day on the local chain, seconds on a node reached by URL), waited for on the demo's clock.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from smartccp.chain.accounts import seeded_account
from smartccp.chain.report import StepLog, render_table
from smartccp.chain.system import kyc_expiry, list_security
from smartccp.clearing import compression as cmp
from smartccp.clearing.ccp import check_ccp_empty, check_flat
from smartccp.demo.core import DEMO_STEPS, DemoContext
from smartccp.demo.trade import DEMO_CHARTS_DIR
from smartccp.drill.charts import life_chart
from smartccp.lifecycle import distributions as ld
from smartccp.ops.daily import settle_when_due
from smartccp.risk.chain import publish_prices, publish_scenarios
from smartccp.trading.venue import VenueClient
from smartccp.types import MAX_UINT
from smartccp.units import cash, fmt_cash

BOND_UNITS = 1_000
PRICE, PRICE_BACK = cash("100.00"), cash("100.50")
BOUGHT, SOLD_BACK = 400, 150
COUPON, REDEMPTION = cash("1.25"), cash("100.00")
INTEREST_BPS = 500  # 5 % a year on margin cash
MARGIN_CASH = cash(20_000)
CHART = "demo_life.png"


def _trade(client: VenueClient, log: StepLog, sid: int, seller: Any, buyer: Any, names: dict, qty: int,
           price: int) -> None:
    """``seller`` rests an offer, ``buyer`` takes it (CCP route); both transactions logged."""
    for who, side, receipt in zip((seller, buyer), ("sell", "buy"), client.cross(seller, buyer, sid, qty, price),
                                  strict=True):
        log.tx(receipt, f"{names[str(who.address)]}: {side} {qty} BND")


@DEMO_STEPS.step("life", "The life of a bond: a coupon across open trades (market claims), a compression, "
                 "redemption at maturity, interest on margin", after="market")
def life(ctx: DemoContext, log: StepLog) -> None:
    s, r, clock = ctx.system, ctx.roles, ctx.clock
    ccp, sec, dist, rk = s.ccp, s.securities, s.extra["Distributions"], ctx.data.get("risk")
    length = int(ccp.cycleLength())
    l1, l2 = (seeded_account(f"smartccp-demo-life:{n}", r.operator) for n in ("l1", "l2"))
    names = {str(l1.address): "l1", str(l2.address): "l2"}
    today = clock.now() // length
    maturity = (today + 5) * length
    with log.capture(r.operator, r.issuer, r.bank, r.keeper, l1, l2, label="list / admit / fund"):
        receipt = sec.listSecurity("BND", b"DEMOBOND0001", 1, cash("0.01"), 1, maturity, sender=r.issuer)
        sid = int(receipt.return_value or sec.securityCount())
        list_security(s, r.operator, sid, lag_days=2, keeper=r.keeper)
        for m in (l1, l2):
            s.membership.admitClearingMember(m, kyc_expiry(), sender=r.operator)
            s.cash.issue(m, cash(200_000), sender=r.bank)
            s.cash.approve(ccp, MAX_UINT, sender=m)
            sec.setApprovalForAll(ccp, True, sender=m)
        sec.issue(sid, l1, BOND_UNITS, sender=r.issuer)
        s.cash.issue(r.issuer, cash(200_000), sender=r.bank)
        if rk is not None:
            n = int(rk.margin.marginModel()[0])
            publish_scenarios(rk.margin, {sid: [-500 + 1_000 * i // (n - 1) for i in range(n)]}, r.risk)
            publish_prices(rk.margin, {sid: PRICE}, r.price)
            for m in (l1, l2):
                s.cash.approve(rk.margin, MAX_UINT, sender=m)
                rk.margin.depositCash(MARGIN_CASH, sender=m)
    log.line(f"BND (id {sid}, a bond) listed by the issuer, maturing at cycle {today + 5}; cleared T+2; "
             f"l1 holds {BOND_UNITS:,}; l1 and l2 admitted, each with {fmt_cash(MARGIN_CASH)} margin cash")
    interest = rk is not None and ctx.data.get("interest_payer") is not None  # the governance step's change
    if interest:
        s.cash.approve(rk.margin, MAX_UINT, sender=r.bank)
        log.tx(rk.margin.setInterestRate(INTEREST_BPS, sender=r.risk), f"risk: interest {INTEREST_BPS} bps a year")
    stages: list[tuple[str, dict[str, int]]] = []

    def holdings(label: str) -> None:
        stages.append((label, {"l1": int(sec.balanceOf(l1, sid)), "l2": int(sec.balanceOf(l2, sid)),
                               "CCP custody": int(ccp.custody(sid)[1])}))

    holdings("start")
    client = VenueClient(s.venues[0])
    cash0 = {m: int(s.cash.balanceOf(m)) for m in (l1, l2)}
    _trade(client, log, sid, l1, l2, names, BOUGHT, PRICE)
    first = _cycle_of(ccp, sid, l2, BOUGHT)
    clock.wait_until((first - 1) * length, "the next trading day")  # the trade's day was first - 2
    _trade(client, log, sid, l2, l1, names, SOLD_BACK, PRICE_BACK)
    second = _cycle_of(ccp, sid, l1, SOLD_BACK)
    log.line(f"day D: l2 buys {BOUGHT} from l1 at {fmt_cash(PRICE)} (cycle {first}); day D+1: l2 sells {SOLD_BACK} "
             f"back at {fmt_cash(PRICE_BACK)} (cycle {second})")
    done = cmp.compress_open_cycles(ccp, l2, (first, second), account=str(l2.address))
    for c in done:
        log.line(f"l2 compresses: {c.quantity} of its cycle {c.receive_cycle} receipt stay in its custody in the CCP "
                 f"for its cycle {c.deliver_cycle} delivery (obligations, cash and margin unchanged)")
    # The record date: the end of day D+1, or of the next day on a real-time chain whose day
    # (a few seconds) ends before the declaration could land.
    record = (second - 1) * length
    if record - clock.now() < 3:
        record += length
    receipt = ld.declare(dist, s.cash, r.issuer, sid, record, record + length // 2, COUPON, BOND_UNITS)
    log.tx(receipt, "issuer: declare the coupon")
    log.line(f"issuer declares a coupon of {fmt_cash(COUPON)} a unit, record date the end of day D+1, escrowed "
             f"{fmt_cash(COUPON * BOND_UNITS)}: both trades were made before it and settle after it")
    if record != (second - 1) * length:
        log.line("(a real-time chain: the record date is the end of the next day)")
    claims: dict[str, int] = {"l1": 0, "l2": 0}
    for cycle in (first, second):
        (report,) = settle_when_due(ccp, [cycle], r.keeper, clock)  # one at a time: holdings between
        check_flat(ccp, report.cycle_id, [sid])
        for e in report.logs(ccp.MarketClaimBooked):
            who = names.get(str(e.account), str(e.account))
            claims[who] = claims.get(who, 0) + int(e.cashAmount)
            log.line(f"cycle {report.cycle_id}: market claim {who} {fmt_cash(int(e.cashAmount))}")
        kept = [int(e.amount) for e in report.logs(ccp.SecuritiesPrefunded) if str(e.account) == str(l2.address)]
        log.line(f"keeper: {report.summary()}" + (f"; {sum(kept)} BND kept in l2's custody" if kept else ""))
        holdings(f"cycle {report.cycle_id} settled")
    coupon = {"l1": ld.claim(dist, sid, l1, r.keeper), "l2": ld.claim(dist, sid, l2, r.keeper)}
    log.line(f"coupon claimed (by a keeper, paid to each holder at the record date): l1 {fmt_cash(coupon['l1'])}, "
             f"l2 {fmt_cash(coupon['l2'])}")
    held = {"l1": BOND_UNITS - BOUGHT + SOLD_BACK, "l2": BOUGHT - SOLD_BACK}
    for who in ("l1", "l2"):
        if coupon[who] + claims[who] != COUPON * held[who]:
            raise AssertionError(f"{who}: coupon {coupon[who]} + market claims {claims[who]} != {COUPON} x {held[who]}")
    log.line("each holder got exactly the coupon on the units it ended with: the market claims moved it from the "
             "sellers to the buyers")

    clock.wait_until(int(dist.lastTradingTime(sid)), "the last trading time")
    s.cash.approve(dist, REDEMPTION * BOND_UNITS, sender=r.issuer)
    log.tx(dist.declareRedemption(sid, REDEMPTION, sender=r.issuer), "issuer: declare the redemption (trading stops)")
    clock.wait_until(maturity, "maturity")
    redeemed = {}
    for who, m in (("l1", l1), ("l2", l2)):
        receipt = log.tx(dist.redeem(sid, m, sender=r.keeper), f"keeper: redeem {who}")
        redeemed[who] = sum(int(e.amount) for e in receipt.decode_logs(dist.Redeemed))
    holdings("redeemed")
    log.line(f"redeemed at maturity (units burnt against {fmt_cash(REDEMPTION)} each, DVP): l1 {fmt_cash(redeemed['l1'])}, "
             f"l2 {fmt_cash(redeemed['l2'])}; supply left {int(sec.totalSupply(sid))}")
    earned = {"l1": 0, "l2": 0}
    if interest:
        for who, m in (("l1", l1), ("l2", l2)):
            before = int(s.cash.balanceOf(m))
            log.tx(rk.margin.claimInterest(m, sender=m), f"{who}: claim interest")
            earned[who] = int(s.cash.balanceOf(m)) - before
        log.line(f"interest on {fmt_cash(MARGIN_CASH)} margin cash at {INTEREST_BPS / 100:.2f} % over the bond's life, "
                 f"paid by the interest account: l1 {fmt_cash(earned['l1'])}, l2 {fmt_cash(earned['l2'])}")
    check_ccp_empty(ccp, s, [sid])
    rows = [[who, fmt_cash(coupon[who]), fmt_cash(claims[who]), fmt_cash(redeemed[who]), fmt_cash(earned[who]),
             fmt_cash(int(s.cash.balanceOf(m)) - cash0[m])] for who, m in (("l1", l1), ("l2", l2))]
    log.lines.extend(render_table(["holder", "coupon", "market claims", "redemption", "interest", "cash change"],
                                  rows).splitlines())
    path = _chart(stages, {w: (coupon[w], claims[w], earned[w]) for w in ("l1", "l2")}, DEMO_CHARTS_DIR / CHART)
    log.line(f"chart: {path}")
    log.data.update(security_id=sid, cycles=[first, second], compressed=[c.quantity for c in done],
                    coupon=coupon, market_claims=claims, redeemed=redeemed, interest=earned, chart=str(path))


def _cycle_of(ccp: Any, sid: int, account: Any, quantity: int) -> int:
    """The cycle (of the next three) in which ``account`` receives ``quantity`` units of ``sid``."""
    latest = int(ccp.settlementCycle(sid)[0])  # a trade now would settle there
    for c in range(latest - 2, latest + 1):
        if int(ccp.obligation(c, sid, account)[0]) == quantity:
            return c
    raise AssertionError(f"no obligation of {quantity} found for the trade")


def _chart(stages: list[tuple[str, dict[str, int]]], flows: dict[str, tuple[int, int, int]], path: Path) -> Path:
    """Holdings of BND at each stage (stacked: l1, l2, the CCP's custody) and each holder's
    cash flows other than the redemption (coupon, market claims, interest)."""
    return life_chart(stages, flows, path, security="BND")
