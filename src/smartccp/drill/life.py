"""The drill's life-cycle events (issue #21; registered on import, the package's ``__init__``
imports this module), the life-cycle checks and the report's ``life`` section.

Events (each on a day, acting before that day's settlement unless said otherwise):

- ``coupon`` / ``dividend`` (``security``, ``amount`` per unit, ``payment_days``): the issuer
  declares a distribution with its record date at the end of the day, payable ``payment_days``
  cycles later, escrowing ``amount x supply``; a cycle traded before the record date and settled
  after it books market claims (``MarketClaimBooked``, collected at settlement);
- ``claim`` (``security``): a keeper claims every holder's distributions (paid to the holder);
- ``compression`` (``member``, ``security``): the member compresses its offsetting obligations
  across the open cycles (:func:`smartccp.clearing.compression.compress_open_cycles`);
- ``interest_rate`` (``rate_bps``): the risk key publishes the yearly rate on margin cash (the
  setup names the bank's treasury the CCP's interest account, through the timelock);
- ``interest_claim`` (``members``, default every clearing member): each claims its interest;
- ``stop_trading`` / ``redemption`` (``amount``) / ``redeem`` (``security``): trading stopped
  after the last trading time (an order is then refused), the issuer declares the redemption
  (escrowed for the supply), every holder is redeemed from maturity (units burnt against cash).

Amounts are cash base units (6 decimals), quantities units; everything reported is an exact integer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ape import chain

from smartccp.clearing import compression as cmp
from smartccp.drill.base import EventHandler, event_handler
from smartccp.lifecycle import distributions as ld
from smartccp.risk.chain import margin_status
from smartccp.sim.scenario import LIFE_EVENT_TYPES, SECURITY_KINDS
from smartccp.types import MAX_UINT
from smartccp.units import cash as to_cash
from smartccp.units import fmt_cash

if TYPE_CHECKING:
    from smartccp.drill.base import DayState
    from smartccp.drill.runner import DrillRunner

DISTRIBUTIONS = ("coupon", "dividend")


def _dist(run: DrillRunner) -> Any:
    return run._sys().extra["Distributions"]


def _sid(run: DrillRunner, event: Any) -> tuple[str, int]:
    sym = event.params["security"]
    return sym, run.sids[run._sec_index(sym)]


def _stamp(receipt: Any) -> int:
    return int(chain.blocks[receipt.block_number].timestamp)


# ─── Setup ───────────────────────────────────────────────────────────────────────────────────


def setup_life(run: DrillRunner) -> dict[str, Any]:
    """For a scenario with life-cycle events: the issuer's cash for every distribution and
    redemption it will declare (``amount x supply``, issued by the bank before the supplies are
    snapshot), and the bank's approval to Margin as the interest account. Starts ``run.life``."""
    sc, s, r = run.sc, run._sys(), run.roles
    if not sc.events_of(*LIFE_EVENT_TYPES):
        return {}
    needed = sum(to_cash(e.params["amount"]) * int(s.securities.totalSupply(_sid(run, e)[1]))
                 for e in sc.events_of(*DISTRIBUTIONS, "redemption"))
    if needed:
        s.cash.issue(r.issuer, needed, sender=r.bank)
    if sc.events_of("interest_rate"):
        s.cash.approve(run._risk().margin, MAX_UINT, sender=r.bank)
    length = int(s.ccp.cycleLength())
    securities = {}
    for sec, sid in zip(sc.securities, run.sids):
        if sec.maturity_day is not None:
            securities[sec.symbol] = {"id": sid, "kind": sec.kind, "maturity": (run.day0_cycle + sec.maturity_day) * length,
                                      "maturity_day": sec.maturity_day,
                                      "last_trading_time": int(_dist(run).lastTradingTime(sid))}
        elif sec.kind != SECURITY_KINDS[0]:
            securities[sec.symbol] = {"id": sid, "kind": sec.kind}
    run.life.update(securities=securities, distributions=[], claims={}, compressions=[], interest={},
                    redemptions={}, holdings=[], issuer_cash=needed)
    return {"issuer_cash": needed, "interest_account": "bank" if sc.events_of("interest_rate") else None}


def holders(run: DrillRunner) -> dict[str, Any]:
    """Every account the drill knows (members, CCP, bank, issuer, close-out market, risk
    contracts, Distributions), by name."""
    return {n: a for n, a in run._holders().items()}


def owners(run: DrillRunner) -> dict[str, Any]:
    """The holders a claim or redemption may pay: all but the CCP, which holds units for its
    accounts (Distributions refuses it: ``HolderIsCcp``)."""
    return {n: a for n, a in holders(run).items() if n != "CCP"}


# ─── Events ──────────────────────────────────────────────────────────────────────────────────


class _Distribution(EventHandler):
    """The issuer declares a distribution: record date the end of the day (the day's trades and
    every open cycle's are before it), paid from ``payment_days`` cycles later."""

    def before_settlement(self, run, event, day):
        s, r, dist = run._sys(), run.roles, _dist(run)
        sym, sid = _sid(run, event)
        length = int(s.ccp.cycleLength())
        record = (chain.pending_timestamp // length + 1) * length
        payment = record + int(event.params.get("payment_days", 1)) * length
        amount, supply = to_cash(event.params["amount"]), int(s.securities.totalSupply(sid))
        receipt = ld.declare(dist, s.cash, r.issuer, sid, record, payment, amount, supply)
        [log] = receipt.decode_logs(dist.DistributionDeclared)
        entry = {"kind": event.type, "security": sym, "index": int(log.index), "day": day.day,
                 "amount_per_unit": amount, "record_date": record, "payment_date": payment, "supply": supply,
                 "escrowed": int(log.escrowed), "open_cycles": _open_cycles(run)}
        run.life["distributions"].append(entry)
        return {"action": f"{event.type} of {fmt_cash(amount)} a unit declared, record date the end of day {day.day}",
                **entry}


@event_handler("coupon")
class Coupon(_Distribution):
    __doc__ = _Distribution.__doc__


@event_handler("dividend")
class Dividend(_Distribution):
    __doc__ = _Distribution.__doc__


def _open_cycles(run: DrillRunner) -> list[int]:
    """The drill's cycles with trades not settled yet."""
    from smartccp.types import CyclePhase

    ccp = run._sys().ccp
    return [d.cycle_id for d in run.days if CyclePhase(int(ccp.cycleInfo(d.cycle_id)[0])) == CyclePhase.OPEN]


@event_handler("claim")
class Claim(EventHandler):
    """A keeper claims every holder's payable distributions of the security (paid to each
    holder); with each holder's units at every record date it was paid for."""

    def before_settlement(self, run, event, day):
        s, dist, keeper = run._sys(), _dist(run), run.roles.key("keeper")
        sym, sid = _sid(run, event)
        views = ld.distributions_of(dist, sid)
        paid, units = {}, {}
        for name, acct in owners(run).items():
            first = int(dist.claimed(sid, acct))
            amount = ld.claim(dist, sid, acct, keeper)
            if amount:
                paid[name] = amount
                upto = int(dist.claimed(sid, acct))
                units[name] = [int(s.securities.balanceAtRecord(sid, acct, v.ordinal)) for v in views[first:upto]]
        run.life["claims"].setdefault(sym, {})
        for name, amount in paid.items():
            run.life["claims"][sym][name] = run.life["claims"][sym].get(name, 0) + amount
        run.life.setdefault("record_units", {}).setdefault(sym, {}).update(units)
        return {"action": f"{len(paid)} holders paid their {sym} distributions", "paid": paid, "record_units": units}


@event_handler("compression")
class Compression(EventHandler):
    """The member compresses its offsetting obligations in the security across the open cycles:
    of a receipt in one cycle, what it delivers in a later one stays in its custody in the CCP."""

    def before_settlement(self, run, event, day):
        ccp, acct = run._sys().ccp, run.accounts[event.member]
        sym, sid = _sid(run, event)
        cycles = _open_cycles(run)
        done = [c for c in cmp.compress_open_cycles(ccp, acct, cycles, account=str(acct.address))
                if c.security_id == sid]
        entries = [{"account": event.member, "security": sym, "receive_cycle": c.receive_cycle,
                    "deliver_cycle": c.deliver_cycle, "quantity": c.quantity} for c in done]
        run.life["compressions"].extend(entries)
        return {"action": f"{sum(c.quantity for c in done)} {sym} kept across cycles {cycles}", "compressed": entries}


@event_handler("interest_rate")
class InterestRate(EventHandler):
    """The risk key publishes the yearly rate on margin cash; each clearing member's margin cash
    at that moment is reported (the base its interest grows on)."""

    def before_settlement(self, run, event, day):
        rk, bps = run._risk(), int(event.params["rate_bps"])
        receipt = rk.margin.setInterestRate(bps, sender=run.roles.key("risk"))
        cash_now = {m.name: margin_status(rk.margin, run.accounts[m.name]).cash
                    for m in run.sc.members if m.kind == "clearing"}
        entry = {"rate_bps": bps, "published_at": _stamp(receipt), "day": day.day, "margin_cash": cash_now,
                 "index": int(rk.margin.interestIndex()), "paid": {}}
        run.life["interest"] = entry
        return {"action": f"interest on margin cash: {bps} bps a year", "rate_bps": bps,
                "published_at": entry["published_at"]}


@event_handler("interest_claim")
class InterestClaim(EventHandler):
    """Each member (``members``, default every clearing member) claims its interest; the CCP's
    interest account pays it (or it stays owed: ``InterestUnpaid``)."""

    def before_settlement(self, run, event, day):
        s, rk = run._sys(), run._risk()
        names = event.params.get("members") or [m.name for m in run.sc.members if m.kind == "clearing"]
        paid = {}
        for name in names:
            acct = run.accounts[name]
            before = int(s.cash.balanceOf(acct))
            receipt = rk.margin.claimInterest(acct, sender=acct)
            unpaid = sum(int(e.amount) for e in receipt.decode_logs(rk.margin.InterestUnpaid))
            paid[name] = {"amount": int(s.cash.balanceOf(acct)) - before, "unpaid": unpaid, "claimed_at": _stamp(receipt),
                          "margin_cash": margin_status(rk.margin, acct).cash}
        run.life["interest"].setdefault("paid", {}).update(paid)
        return {"action": "interest claimed, paid by the interest account", "paid": paid}


@event_handler("stop_trading")
class StopTrading(EventHandler):
    """Anyone (a keeper) stops trading once the last trading time (maturity less the lag) has
    passed: the security is halted on every venue, whose gate refuses its orders from then on
    (``SecurityHalted``, counted in the later days' flow)."""

    def before_settlement(self, run, event, day):
        dist = _dist(run)
        sym, sid = _sid(run, event)
        receipt = dist.stopTrading(sid, sender=run.roles.key("keeper"))
        stopped = [int(e.lastTradingTime) for e in receipt.decode_logs(dist.TradingStopped)]
        entry = run.life["redemptions"].setdefault(sym, {})
        entry.update(trading_stopped_at=_stamp(receipt), last_trading_time=stopped[0] if stopped else None,
                     halted=bool(run._sys().securities.tradingTerms(sid)[2]), stopped_on_day=day.day)
        return {"action": f"trading in {sym} stopped (halted on every venue)", "halted": entry["halted"]}


@event_handler("redemption")
class Redemption(EventHandler):
    """The issuer declares the final redemption per unit after the last trading time, escrowing
    it for the whole supply (and stops trading if nobody has)."""

    def before_settlement(self, run, event, day):
        s, r, dist = run._sys(), run.roles, _dist(run)
        sym, sid = _sid(run, event)
        amount, supply = to_cash(event.params["amount"]), int(s.securities.totalSupply(sid))
        s.cash.approve(dist, amount * supply, sender=r.issuer)
        receipt = dist.declareRedemption(sid, amount, sender=r.issuer)
        [log] = receipt.decode_logs(dist.RedemptionDeclared)
        entry = run.life["redemptions"].setdefault(sym, {})
        entry.update(amount_per_unit=amount, supply=supply, escrowed=int(log.escrowed), declared_on_day=day.day,
                     redeemed={})
        return {"action": f"redemption of {sym} at {fmt_cash(amount)} a unit declared", "escrowed": int(log.escrowed)}


@event_handler("redeem")
class Redeem(EventHandler):
    """From maturity, a keeper redeems every holder: all its units burnt against the redemption
    amount, in one transaction each (DVP)."""

    def before_settlement(self, run, event, day):
        s, dist, keeper = run._sys(), _dist(run), run.roles.key("keeper")
        sym, sid = _sid(run, event)
        redeemed = {}
        for name, acct in owners(run).items():
            if int(s.securities.balanceOf(acct, sid)):
                receipt = dist.redeem(sid, acct, sender=keeper)
                [log] = receipt.decode_logs(dist.Redeemed)
                redeemed[name] = {"units": int(log.units), "amount": int(log.amount)}
        entry = run.life["redemptions"].setdefault(sym, {})
        entry.setdefault("redeemed", {}).update(redeemed)
        entry.update(redeemed_on_day=day.day, supply_after=int(s.securities.totalSupply(sid)))
        return {"action": f"{len(redeemed)} holders of {sym} redeemed", "redeemed": redeemed,
                "supply_after": entry["supply_after"]}


# ─── Checks ──────────────────────────────────────────────────────────────────────────────────


def life_supplies(run: DrillRunner, supply0: dict[str, int]) -> dict[str, int]:
    """The supplies the drill should show: those at setup, less the units redeemed so far."""
    out = dict(supply0)
    for sym, entry in run.life.get("redemptions", {}).items():
        key = f"security:{run.sids[run._sec_index(sym)]}"
        out[key] -= sum(x["units"] for x in entry.get("redeemed", {}).values())
    return out


def life_claims_flat(day: DayState) -> tuple[bool, str]:
    """A cycle's market claims sum to zero per security (net quantities do)."""
    sums: dict[str, int] = {}
    for c in day.market_claims:
        sums[c["security"]] = sums.get(c["security"], 0) + c["amount"]
    return all(v == 0 for v in sums.values()), f"cycle {day.cycle_id}: {len(day.market_claims)} claims, sums {sums}"


def owed(run: DrillRunner) -> int:
    """What Distributions still owes: every holder's unclaimed distributions (its units at each
    record date, its balance now for a record date not passed) and the redemption of the units
    still in issue."""
    s, dist = run._sys(), _dist(run)
    now = int(chain.blocks.head.timestamp)
    total = 0
    for sid in run.sids:
        views = ld.distributions_of(dist, sid)
        for acct in holders(run).values():
            for v in views[int(dist.claimed(sid, acct)):]:
                units = (s.securities.balanceAtRecord(sid, acct, v.ordinal) if v.record_date < now
                         else s.securities.balanceOf(acct, sid))
                total += v.amount_per_unit * int(units)
        total += int(dist.redemptionOf(sid)) * int(s.securities.totalSupply(sid))
    return total


def conservation(run: DrillRunner) -> dict[str, int]:
    """Distributions' cash against its events: escrowed (declared), paid out (claimed and
    redeemed), held, and still owed (:func:`owed`)."""
    s, dist = run._sys(), _dist(run)
    head = chain.blocks.head.number + 1
    escrowed = sum(int(e.escrowed) for e in dist.DistributionDeclared.range(0, head))
    escrowed += sum(int(e.escrowed) for e in dist.RedemptionDeclared.range(0, head))
    paid = sum(int(e.amount) for e in dist.DistributionClaimed.range(0, head))
    paid += sum(int(e.amount) for e in dist.Redeemed.range(0, head))
    return {"escrowed": escrowed, "paid_out": paid, "held": int(s.cash.balanceOf(dist)), "owed": owed(run)}


def life_conservation(run: DrillRunner) -> tuple[bool, str]:
    """Cash paid out by Distributions equals what issuers escrowed less what stays owed."""
    c = conservation(run)
    ok = c["escrowed"] - c["paid_out"] == c["held"] == c["owed"]
    return ok, (f"escrowed {fmt_cash(c['escrowed'])} - paid {fmt_cash(c['paid_out'])} = held {fmt_cash(c['held'])}"
                f" = owed {fmt_cash(c['owed'])}")


def life_day_end(run: DrillRunner, day: DayState) -> None:
    """Each life-cycle security's holdings at the end of the day (holders with units, and the
    CCP's custody: units kept by a compression)."""
    s = run._sys()
    for sym in run.life["securities"]:
        sid = run.sids[run._sec_index(sym)]
        held = {n: int(s.securities.balanceOf(a, sid)) for n, a in holders(run).items() if n != "CCP"}
        row = {n: u for n, u in held.items() if u}
        row["CCP custody"] = int(s.ccp.custody(sid)[1])
        run.life["holdings"].append({"day": day.day, "security": sym, "units": row})


# ─── Report ──────────────────────────────────────────────────────────────────────────────────


def life_report(run: DrillRunner) -> dict[str, Any]:
    """The report's ``life`` section: distributions, market claims (each with the obligation's
    net quantity), claims paid, compressions with the units kept at pay-out, interest,
    redemptions, holdings per day and Distributions' conservation."""
    life = run.life
    claims = []
    for d in run.days:
        net = {(o["account"], o["security"]): o["quantity"] for o in d.obligations}
        for c in d.market_claims:
            claims.append({"day": d.day, "cycle": d.cycle_id, **c, "net_quantity": net.get((c["account"], c["security"]))})
    by_account: dict[str, int] = {}
    for c in claims:
        by_account[c["account"]] = by_account.get(c["account"], 0) + c["amount"]
    compressions = []
    for c in life["compressions"]:
        receipt = next((d for d in run.days if d.cycle_id == c["receive_cycle"]), None)
        kept = sum(x["units"] for x in (receipt.custody if receipt else [])
                   if x["account"] == c["account"] and x["security"] == c["security"] and x["units"] > 0)
        compressions.append({**c, "kept_at_pay_out": kept})
    for entry in life["redemptions"].values():  # the orders refused after trading stopped
        entry["refused_after_stop"] = {str(d.day): d.flow.get("rejected", {}) for d in run.days
                                       if d.day > entry.get("stopped_on_day", run.sc.days) and d.flow.get("rejected")}
    return {"securities": life["securities"], "issuer_cash": life["issuer_cash"],
            "distributions": life["distributions"], "market_claims": claims, "market_claims_by_account": by_account,
            "claims": life["claims"], "record_units": life.get("record_units", {}), "compressions": compressions,
            "interest": life["interest"], "redemptions": life["redemptions"], "holdings": life["holdings"],
            "conservation": conservation(run)}
