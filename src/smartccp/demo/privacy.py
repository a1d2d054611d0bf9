"""The demo's pseudonymous trade (issue #24), after the life of a bond.

member_a and member_b each trade from a fresh stealth address for the day. The register (its
attester key: the operator) checks who asks, seals each identity record to the CCP's and the
regulator's keys (the deployment file's ``privacy:``, here the public development keys) and signs
the attestation; each pseudonym submits its own admission, with gas from a gas station that is
nobody's member (the operator's account here). The issuer lists PRV (T+1) for the occasion, so the book holds nobody else's
orders; the settlement bank issues the pseudonyms' cash, the issuer member_a's pseudonym its PRV,
and each deposits its own margin. The seller's pseudonym sells PRV to the buyer's on venue A
through the gate and the CCP; the cycle settles between the two pseudonyms.

Then the same chain is read twice: by an outsider (:func:`smartccp.privacy.linkage.link`: the
trade, two addresses, and no owner for either), and with the regulator's key
(:func:`smartccp.privacy.regulator.reconstruct`: member_b bought from member_a).
"""

from __future__ import annotations

from ape import chain

from smartccp.chain.report import StepLog
from smartccp.chain.system import approve_settlement, list_security
from smartccp.clearing.ccp import check_flat
from smartccp.demo.core import DEMO_STEPS, DemoContext
from smartccp.ops.daily import settle_when_due
from smartccp.privacy import pseudonyms
from smartccp.privacy.linkage import link
from smartccp.privacy.records import DEV_CCP_KEY, DEV_REGULATOR_KEY, RecipientKey, RecordNotForKey
from smartccp.privacy.regulator import reconstruct
from smartccp.privacy.stealth import StealthKeys
from smartccp.risk.chain import publish_prices, publish_scenarios
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash, fmt_cash

QUANTITY = 50
PRICE = cash("40.00")
CASH, MARGIN = cash(50_000), cash(20_000)
OTHER_KEY = RecipientKey.from_seed("demo-outsider")  # neither the CCP's nor the regulator's


@DEMO_STEPS.step("privacy", "Pseudonymous trading: a trade between two stealth addresses; what an outsider sees, "
                 "what the regulator's key reveals", after="life")
def privacy(ctx: DemoContext, log: StepLog) -> None:
    s, r, rk = ctx.system, ctx.roles, ctx.data.get("risk")
    if bytes(s.membership.recordKeys()[0]) == bytes(32):
        log.line("no record keys in the deployment file (privacy:): pseudonymous trading is off")
        return
    length = int(s.ccp.cycleLength())
    station = r.operator  # the gas station: the register's operator, nobody's member
    label = f"day {chain.pending_timestamp // length}"
    names, made = {}, {}
    start = chain.blocks.head.number + 1
    with log.capture(r.operator, r.bank, r.issuer, r.keeper, label="list PRV"):
        receipt = s.securities.listSecurity("PRV", b"DEMOPRIV0001", 0, cash("0.01"), 1, 0, sender=r.issuer)
        sid = int(receipt.return_value or s.securities.securityCount())
        list_security(s, r.operator, sid, lag_days=1, keeper=r.keeper)
        if rk is not None:
            n = int(rk.margin.marginModel()[0])
            publish_scenarios(rk.margin, {sid: [-800 + 1_600 * i // (n - 1) for i in range(n)]}, r.risk)
            publish_prices(rk.margin, {sid: PRICE}, r.price)
    with log.capture(r.operator, r.bank, r.issuer, station, label="attest / admit / fund"):
        for who, owner in (("member_a", r.member_a), ("member_b", r.member_b)):
            p = pseudonyms.new_pseudonym(s, r.operator, keys=StealthKeys.from_seed(f"smartccp-demo:{owner.address}"),
                                         label=label, owner=str(owner.address), clearing_member=str(owner.address),
                                         ccp=DEV_CCP_KEY.public, regulator=DEV_REGULATOR_KEY.public,
                                         expires_at=chain.pending_timestamp + 7 * length, gas_station=station)
            made[who], names[p.address] = p, who
            log.tx(p.admission, f"pseudonym of {who}: admitPseudonym (the register's attestation)")
            s.cash.issue(p.account, CASH, sender=r.bank)
            with log.capture(p.account, label=f"pseudonym of {who}: approvals, margin"):
                approve_settlement(s, [p.account], *([rk.margin] if rk is not None else []))
                if rk is not None:
                    rk.margin.depositCash(MARGIN, sender=p.account)
        s.securities.issue(sid, made["member_a"].account, QUANTITY, sender=r.issuer)
    for who, p in made.items():
        log.line(f"{who} trades from {p.address} (stealth address for {label!r}; admission "
                 f"{int(p.admission.gas_used):,} gas; tag {bytes(s.membership.ownerTagOf(p.address)).hex()[:16]}...)")
    client = VenueClient(s.venues[0])
    seller, buyer = made["member_a"].account, made["member_b"].account
    for who, side in ((seller, Side.SELL), (buyer, Side.BUY)):
        order = Order(owner=str(who.address), securityId=sid, side=side, quantity=QUANTITY, price=PRICE)
        log.tx(client.place(order, who), f"pseudonym of {names[str(who.address)]}: {side.name.lower()} "
               f"{QUANTITY} PRV at {fmt_cash(PRICE)}")

    report = link(s, start)
    seen = report.trades[-1]
    pair = report.named[(seen.venue.lower(), seen.trade_id)]["venue Traded event"]
    log.line(f"an outsider sees trade {seen.trade_id}: {seen.quantity} PRV at {fmt_cash(seen.price)} between "
             f"{pair[0]} and {pair[1]}; owner named for {report.address_share():.0%} of the addresses, both sides of "
             f"{report.trade_share():.0%} of the trades")
    for line in report.summary().splitlines():
        log.line("  " + line)
    (record,) = [t for t in reconstruct(s, DEV_REGULATOR_KEY, start) if t.trade_id == seen.trade_id
                 and t.venue.lower() == seen.venue.lower()]
    by = {str(a.address): n for n, a in (("member_a", r.member_a), ("member_b", r.member_b))}
    log.line(f"the regulator's key opens both records: {by[record.buyer.owner]} (via {record.buyer.address}) bought "
             f"{record.quantity} PRV at {fmt_cash(record.price)} from {by[record.seller.owner]} (via "
             f"{record.seller.address}); each record matches its tag on chain")
    try:
        reconstruct(s, OTHER_KEY, start)
        opened_by_other = True
    except RecordNotForKey:
        opened_by_other = False
    log.line(f"any other key opens nothing: {'WRONG, it opened' if opened_by_other else 'refused (RecordNotForKey)'}")
    cycle = max(int(e.cycleId) for e in s.ccp.TradeNovated.range(start, chain.blocks.head.number + 1))
    (settled,) = settle_when_due(s.ccp, [cycle], r.keeper, ctx.clock)
    check_flat(s.ccp, settled.cycle_id, [sid])
    log.line(f"keeper: {settled.summary()}; {names[str(buyer.address)]}'s pseudonym holds "
             f"{int(s.securities.balanceOf(buyer, sid))} PRV")
    log.data.update(pseudonyms={w: p.address for w, p in made.items()}, trades=len(report.trades),
                    trades_linked_share=report.trade_share(), addresses_linked_share=report.address_share(),
                    regulator_view={"buyer": by[record.buyer.owner], "seller": by[record.seller.owner]},
                    other_key_opens=opened_by_other)
    if report.trade_share() or report.address_share() or opened_by_other:
        raise AssertionError("the outsider linked a pseudonymous trade, or another key opened a record")
