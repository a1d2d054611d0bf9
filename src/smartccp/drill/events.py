"""The drill's built-in event handlers and margin cycles (registered on import into
:data:`smartccp.drill.base.EVENT_HANDLERS` and :data:`smartccp.drill.base.MARGIN_CYCLES`; the
package's ``__init__`` imports this module).

- margin cycles: ``model`` (IM and VM off chain, :mod:`smartccp.risk`) and ``chain`` (the
  Margin contract's daily cycle and cover-2 contributions on the DefaultFund);
- events: ``missed_payment`` and ``failed_delivery`` (allowance or approval withdrawn before
  settlement, the CCP sells out / buys in), ``default`` (model waterfall), and their on-chain
  variants ``missed_payment:chain``, ``failed_delivery:chain`` (shortfall to the DefaultFund)
  and ``default:chain`` (declare, close out, waterfall on chain, replenish, expel).

Units: cash in base units (6 decimals), prices in base units per unit, quantities in units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smartccp import risk
from smartccp.drill.base import (
    CHAIN_NOTICE,
    MODEL_NOTICE,
    DayState,
    EventHandler,
    event_handler,
    margin_cycle,
)
from smartccp.drill.management import ChainDefault  # noqa: F401  (registers default:chain)
from smartccp.risk.chain import (
    cure_default,
    margin_status,
    publish_contributions,
    publish_prices,
)

if TYPE_CHECKING:
    from smartccp.drill.runner import DrillRunner
from smartccp.risk.waterfall import LAYERS
from smartccp.types import MAX_UINT

# ─── Margin cycle: model ─────────────────────────────────────────────────────────────────────


@margin_cycle("model")
def model_margin(run: DrillRunner, day: DayState) -> dict[str, Any]:
    """Initial margin (historical-simulation VaR, :func:`smartccp.risk.initial_margin`) and
    variation margin (mark-to-market at the settlement prices) of every clearing member's
    net position in the cycle; the call is IM plus VM owed. Off chain: members are assumed to
    meet their calls, except a member with a ``default`` event that day."""
    prices = run.prices_list(day)
    nxt = [int(x) for x in run.path[day.day + 2]]
    defaulting = {e.member for e in run.sc.events_on(day.day, "default")}
    calls = []
    for name, (q, c) in sorted(run.member_positions(day).items()):
        im = risk.initial_margin(q, prices, run.shocks)
        vm = c + sum(qi * pi for qi, pi in zip(q, prices))  # member's P&L at settlement prices
        realised = max(0, -(c + sum(qi * pi for qi, pi in zip(q, nxt))))
        calls.append({"member": name, "quantities": q, "initial_margin": im, "variation_margin": vm,
                      "call": im + max(0, -vm), "met": name not in defaulting,
                      "next_day_loss": realised})
    return {"basis": MODEL_NOTICE, "shocks_bps": run.shocks.tolist(), "calls": calls}


# ─── Events ──────────────────────────────────────────────────────────────────────────────────


@event_handler("missed_payment")
class MissedPayment(EventHandler):
    """The member withdraws its cash allowance before pay-in: the CCP sells out the securities
    it was to receive; the allowance comes back after the cycle."""

    def close_out_moves(self, run, event, day):
        return {sid: -run.sc.close_out.slippage_bps for sid in run.sids}

    def before_settlement(self, run, event, day):
        s, acct = run._sys(), run.accounts[event.member]
        s.cash.approve(s.ccp, 0, sender=acct)
        return {"action": "cash allowance to the CCP withdrawn"}

    def after_settlement(self, run, event, day):
        s, acct = run._sys(), run.accounts[event.member]
        s.cash.approve(s.ccp, MAX_UINT, sender=acct)
        return {"sell_outs": [x for x in day.sell_outs if x["account"] == event.member]}


@event_handler("failed_delivery")
class FailedDelivery(EventHandler):
    """The member withdraws its securities approval before pay-in: the CCP buys in what it was
    to deliver; the approval comes back after the cycle."""

    def close_out_moves(self, run, event, day):
        sym = event.params.get("security")
        sids = [run.sids[run._sec_index(sym)]] if sym else run.sids
        return {sid: run.sc.close_out.slippage_bps for sid in sids}

    def before_settlement(self, run, event, day):
        s, acct = run._sys(), run.accounts[event.member]
        s.securities.setApprovalForAll(s.ccp, False, sender=acct)
        return {"action": "securities approval to the CCP withdrawn"}

    def after_settlement(self, run, event, day):
        s, acct = run._sys(), run.accounts[event.member]
        s.securities.setApprovalForAll(s.ccp, True, sender=acct)
        return {"buy_ins": [x for x in day.buy_ins if x["account"] == event.member]}


@event_handler("default")
class ModelDefault(EventHandler):
    """Declare default (on chain: the member stops paying and is suspended, so the venues refuse
    its orders), close out its book (on chain: sell-out / buy-in on the close-out market at a
    stressed price), then run the default waterfall over the realised loss. The waterfall and the
    resources it uses (margin, default fund sized cover-2, skin in the game) are a **model (off
    chain) until the risk contracts land**; the shortfall is paid on chain by the
    MockDefaultHandler (test double)."""

    basis = f"declare and close out on chain; margin and waterfall: {MODEL_NOTICE}"

    def close_out_moves(self, run, event, day):
        move = int(event.params.get("close_out_move_bps", -3000))
        return {sid: move for sid in run.sids}

    def before_settlement(self, run, event, day):
        s, acct = run._sys(), run.accounts[event.member]
        s.cash.approve(s.ccp, 0, sender=acct)
        if int(s.membership.memberOf(acct).status) == 1:  # Active
            s.membership.suspend(acct, sender=run.roles.key("default_manager"))
        run.defaulted.add(event.member)
        return {"action": "default declared: member suspended on chain, its cash pay-in withheld"}

    def after_settlement(self, run, event, day):
        rk = run.sc.risk
        positions = run.member_positions(day)
        members = [m.name for m in run.sc.members if m.kind == "clearing"]
        prices = run.prices_list(day)
        calls = {c["member"]: c for c in day.margin.get("calls", [])}
        margins = {m: calls[m]["initial_margin"] if m in calls else 0 for m in members}
        if event.params.get("margin_posted", "im") == "none":
            margins[event.member] = 0
        quantities = [positions.get(m, ([0] * len(prices), 0))[0] for m in members]
        beyond, history = _cover2_losses(run, members, quantities, prices, [margins[m] for m in members])
        sizing = risk.size_default_fund(beyond)
        contributions = dict(zip(members, risk.allocate_contributions(
            sizing.fund_size, risk.member_risk(beyond), rk.default_fund_minimum)))
        loss = sum(x["shortfall"] for x in day.shortfalls if x["clearing_member"] == event.member)
        q, c = positions.get(event.member, ([0] * len(prices), 0))
        close_prices = [day.settlement["close_out_prices"][s.symbol] for s in run.sc.securities]
        model_loss = max(0, -(c + sum(qi * pi for qi, pi in zip(q, close_prices))))
        result = risk.run_waterfall({event.member: loss}, margins, contributions, rk.skin_in_the_game,
                                    rk.assessment_cap_bps)
        survivors = {m: v for m, v in contributions.items() if m != event.member}
        available = {"defaulter_margin": margins[event.member], "defaulter_default_fund": contributions[event.member],
                     "ccp_skin_in_the_game": rk.skin_in_the_game, "survivor_default_fund": sum(survivors.values())}
        waterfall = {"basis": MODEL_NOTICE, "loss": loss, "model_loss_at_close_out_prices": model_loss,
                     "layers": result.layers, "available": available, "uncovered": result.uncovered,
                     "fund_size": sizing.fund_size, "fund_vs_history": history,
                     "reverse_stress": _reverse_stress(members, quantities, prices, [margins[m] for m in members],
                                                       contributions, rk.skin_in_the_game),
                     "contributions": contributions,
                     "margins": margins,
                     "charges": {str(k): v.__dict__ for k, v in result.charges.items()}}
        management = next((e.get("management") for e in day.events
                           if e.get("member") == event.member and e.get("type") == "default"), None)
        record = {"member": event.member, "loss": loss, "waterfall": waterfall, "management": management,
                  "close_out": {"sell_outs": [x for x in day.sell_outs if x["account"] == event.member],
                                "buy_ins": [x for x in day.buy_ins if x["account"] == event.member],
                                "covered_on_chain_by": run.close_out.label}}
        day.defaults.append(record)
        return {"waterfall": waterfall}


# ─── Margin cycle and default: on chain ──────────────────────────────────────────────────────


def _cover2_losses(run: DrillRunner, members: list[str], quantities: list[list[int]], prices: list[int],
                   margins: list[int]) -> tuple[list[list[int]], dict[str, Any]]:
    """Losses beyond margin (members x scenarios) for cover 2: the worst historical windows of
    the scenario's longest price history (``run.stress_history``: for S&P 500 sources every
    close since 1999), its stressed periods included
    (:func:`smartccp.risk.stress.historical_window_scenarios`), applied to the members' actual
    positions, then the scenario's hypothetical moves as an extra floor. Also what the report
    shows: the worst historical loss of the two largest members (before margin) and its window,
    the same beyond margin (cover 2 on history alone) and the hypothetical floor."""
    historical = risk.historical_window_scenarios(run.stress_history, run.sc.risk.horizon_days)
    hypothetical = risk.hypothetical_stress_scenarios(len(prices), run.sc.risk.stress_moves_bps)
    beyond = risk.losses_beyond_margin_matrix(quantities, prices, historical + hypothetical, margins)
    n_hist = len(historical)
    hist = risk.size_default_fund([row[:n_hist] for row in beyond])
    hypo = risk.size_default_fund([row[n_hist:] for row in beyond])
    raw = risk.size_default_fund(risk.losses_beyond_margin_matrix(quantities, prices, historical, [0] * len(members)))
    worst = historical[raw.scenario]
    return beyond, {"historical_loss_two_largest": raw.fund_size, "two_largest": [members[i] for i in raw.members],
                    "historical_cover2": hist.fund_size,
                    "worst_window": {"history_row": int(worst.name.split()[-1]), "shocks_bps": list(worst.shocks_bps)},
                    "hypothetical_floor": hypo.fund_size, "historical_windows": n_hist}


REVERSE_STRESS_BASIS = ("the smallest uniform move of every security (whole bps) at which the two members whose "
                        "default is then worst exhaust the prefunded resources: their margin, every fund "
                        "contribution and the CCP's skin in the game (no assessments); null: not within 100 %")


def _reverse_stress(members: list[str], quantities: list[list[int]], prices: list[int], margins: list[int],
                    contributions: dict[str, int], skin_in_the_game: int) -> dict[str, Any]:
    """How far prices must move, down and up, before the default fund is used up
    (:func:`smartccp.risk.default_fund.reverse_stress_test`, cover 2 at each move) for the
    members' positions, margins and contributions; with the inputs, so the report can be checked."""
    out: dict[str, Any] = {"basis": REVERSE_STRESS_BASIS}
    for direction in ("down", "up"):
        r = risk.reverse_stress_test(quantities, prices, margins, [contributions[m] for m in members],
                                     skin_in_the_game, direction=direction)
        out[direction] = {"shock_bps": r.shock_bps, "defaulters": [members[i] for i in r.defaulters],
                          "uncovered": r.uncovered}
    out["inputs"] = {"prices": list(prices), "margins": dict(zip(members, margins)),
                     "skin_in_the_game": skin_in_the_game}
    return out


def _cover2(run: DrillRunner, day: DayState, posted: dict[str, int],
            skin_in_the_game: int) -> tuple[dict[str, int], int, dict[str, Any], dict[str, Any]]:
    """Cover-2 contributions (:mod:`smartccp.risk.default_fund`) from the day's positions, the
    margin each member has posted, the worst historical windows and the hypothetical floor
    (:func:`_cover2_losses`); floored at ``risk.default_fund_minimum``. Returns (member name ->
    required contribution, fund size, the historical sizing for the report, the reverse stress
    test of that fund with ``skin_in_the_game``, :func:`_reverse_stress`)."""
    rk = run.sc.risk
    members = [m.name for m in run.sc.members if m.kind == "clearing" and m.name not in run.defaulted]
    prices = run.prices_list(day)
    positions = run.member_positions(day)
    quantities = [positions.get(m, ([0] * len(prices), 0))[0] for m in members]
    beyond, history = _cover2_losses(run, members, quantities, prices, [posted.get(m, 0) for m in members])
    sizing = risk.size_default_fund(beyond)
    amounts = risk.allocate_contributions(sizing.fund_size, risk.member_risk(beyond), rk.default_fund_minimum)
    contributions = {m: max(int(a), rk.default_fund_minimum) for m, a in zip(members, amounts)}
    margins = [posted.get(m, 0) for m in members]
    reverse = _reverse_stress(members, quantities, prices, margins, contributions, skin_in_the_game)
    return contributions, int(sizing.fund_size), history, reverse


@margin_cycle("chain")
def chain_margin(run: DrillRunner, day: DayState) -> dict[str, Any]:
    """The daily margin cycle on the Margin contract: publish the settlement prices (from the
    closing auctions), ``refreshMargin`` every margin account (IM from the published scenarios,
    VM at the settlement prices, a margin call if posted < IM + VM), members meet their calls
    by depositing cash, except a member with a ``default`` event that day; then re-size the
    default fund by cover 2 and publish the contributions, which the members top up (the same
    exception). Amounts as the contract reports them (``marginStatus``)."""
    keeper, rk = run.roles.key("keeper"), run._risk()
    prices = {sid: day.settlement_prices[run._sym(sid)] for sid in run.sids}
    publish_prices(rk.margin, prices, run.roles.key("price"))
    defaulting = {e.member for e in run.sc.events_on(day.day, "default")}
    nxt = [int(x) for x in run.path[day.day + 2]]
    positions = run.member_positions(day)
    calls, posted = [], {}
    for m in run.sc.members:
        if m.kind != "clearing" or m.name in run.defaulted:
            continue
        acct = run.accounts[m.name]
        # Its client accounts (individual clients, its omnibus account): the member answers for
        # them, so it meets a client account's call (a member with a default event does not).
        for account in list(rk.margin.accountsOf(acct))[1:]:
            rk.margin.refreshMargin(account, sender=keeper)
            client_call = margin_status(rk.margin, account).call_amount
            if client_call and m.name not in defaulting:
                rk.margin.depositCashTo(account, client_call, sender=acct)
        rk.margin.refreshMargin(acct, sender=keeper)
        st = margin_status(rk.margin, acct)
        met = st.call_amount == 0
        if st.call_amount and m.name not in defaulting:
            rk.margin.depositCash(st.call_amount, sender=acct)
            met = True
        q, c = positions.get(m.name, ([0] * len(run.sids), 0))
        realised = max(0, -(c + sum(qi * pi for qi, pi in zip(q, nxt))))
        calls.append({"member": m.name, "quantities": q, "initial_margin": st.initial_margin,
                      "variation_margin": -st.variation_margin, "required": st.required,
                      "posted_before_call": st.posted, "call": st.call_amount, "call_deadline": st.call_deadline,
                      "met": met, "next_day_loss": realised})
        posted[m.name] = margin_status(rk.margin, acct).posted
    contributions, fund_size, history, reverse = _cover2(run, day, posted, int(rk.fund.skinInTheGame()))
    publish_contributions(rk.fund, {run.accounts[n]: v for n, v in contributions.items()}, run.roles.key("risk"))
    topped = {}
    for name, required in contributions.items():
        if name in defaulting:
            continue
        _, paid = rk.fund.contributionOf(run.accounts[name])
        if int(paid) < required:
            rk.fund.contribute(required - int(paid), sender=run.accounts[name])
            topped[name] = required - int(paid)
    return {"basis": CHAIN_NOTICE, "shocks_bps": run.shocks.tolist(), "calls": calls,
            "default_fund": {"fund_size": fund_size, "required": contributions, "topped_up": topped,
                             "fund_vs_history": {**history, "fund_covers_history": sum(contributions.values())
                                                 >= history["historical_cover2"]},
                             "reverse_stress": reverse}}


class _ChainSettlementFail(EventHandler):
    """On the risk contracts, a settlement failure's shortfall is a default: the CCP closes the
    failure out (sell-out or buy-in), charges what the close-out does not cover to the failing
    account's clearing member on the DefaultFund, which declares that member in default
    (``SettlementShortfall``: suspended) and covers the shortfall through the waterfall, first
    from the member's own margin (``LayerUsed`` events). If that margin covered the whole loss
    (no layer beyond it used: nobody else paid), the member makes good after settlement — it
    deposits again what layer 1 took, pays any unpaid contribution and meets any open call — and
    the default manager cures the case (``DefaultFund.cureDefault``): the case ends
    (``DefaultCured``), Margin's flag is cleared and the member is active again (the gate would
    accept its order: checked by ``eth_call``). Otherwise the default stays open for the default
    manager and from the next day the member's orders are refused. A failure closed out without
    a shortfall is no default."""

    basis = f"close-out on chain; shortfall to the DefaultFund's waterfall ({CHAIN_NOTICE})"

    def before_settlement(self, run, event, day):
        result = super().before_settlement(run, event, day)
        cm = _clearing_member(run, event.member)
        rk, acct = run._risk(), run.accounts[cm]
        survivors = [m.name for m in run.sc.members if m.kind == "clearing" and m.name not in run.defaulted | {cm}]
        run.journal_extra.setdefault(f"fail:{cm}", {
            "defaulter_margin": margin_status(rk.margin, acct).cash,
            "defaulter_default_fund": int(rk.fund.contributionOf(acct)[1]),
            "ccp_skin_in_the_game": int(rk.fund.skinInTheGame()),
            "survivor_default_fund": sum(int(rk.fund.contributionOf(run.accounts[m])[1]) for m in survivors)})
        return result

    def after_settlement(self, run, event, day):
        result = super().after_settlement(run, event, day)
        s, rk = run._sys(), run._risk()
        cm = _clearing_member(run, event.member)
        acct = run.accounts[cm]
        charged = sum(x["shortfall"] for x in day.shortfalls if x["clearing_member"] == cm)
        reason, loss, _ = rk.fund.defaultOf(acct)
        reasons = ["None", "MissedMarginCall", "MissedTopUp", "SettlementShortfall", "Declared"]
        status = ["None", "Active", "Suspended", "Expelled"][int(s.membership.memberOf(acct).status)]
        result.update(clearing_member=cm, shortfall_charged=charged, default_reason=reasons[int(reason)],
                      status_after=status)
        if not charged:
            return result
        run.defaulted.add(cm)
        mine = [e for e in day.layers_used if e["defaulter"] == cm]
        totals = dict.fromkeys(LAYERS, 0)
        for e in mine:
            totals[e["layer"]] += e["amount"]
        waterfall = {"basis": CHAIN_NOTICE, "loss": int(loss), "charged_by_ccp": charged,
                     "layers": [[n, totals[n]] for n in LAYERS], "events": mine,
                     "available": run.journal_extra[f"fail:{cm}"], "uncovered": totals["uncovered"]}
        result["waterfall"] = waterfall
        record = next((d for d in day.defaults if d["member"] == cm), None)
        if record is None:
            record = {"member": cm, "loss": int(loss), "waterfall": waterfall, "replenished": {},
                      "status_after": status, "status_at_default": status, "reason": reasons[int(reason)],
                      "close_out": {"sell_outs": [x for x in day.sell_outs if x["account"] == event.member],
                                    "buy_ins": [x for x in day.buy_ins if x["account"] == event.member],
                                    "covered_on_chain_by": "DefaultFund (waterfall, LayerUsed events)"}}
            day.defaults.append(record)
        else:
            record.update(loss=int(loss), waterfall=waterfall)
        beyond = sum(totals[n] for n in LAYERS[1:])
        if not beyond and _last_failure_of(run, event, day, cm) and int(reason) and not rk.fund.defaultOf(acct)[2]:
            cure = _cure(run, cm, int(loss))
            record.update(cure=cure, status_after=cure["status_after"])
            result.update(cure=cure, status_after=cure["status_after"])
        return result


def _last_failure_of(run: DrillRunner, event: Any, day: DayState, cm: str) -> bool:
    """True if no later event of the day charges ``cm`` (the cure waits for the last one)."""
    events = run.sc.events_on(day.day)
    later = events[next(i for i, e in enumerate(events) if e is event) + 1:]
    return not any(_clearing_member(run, e.member) == cm for e in later)


def _cure(run: DrillRunner, cm: str, loss: int) -> dict[str, Any]:
    """``cm``'s own margin paid its whole loss: it deposits that amount again (and whatever else
    :func:`smartccp.risk.chain.cure_default` finds short), then the default manager cures the
    default. Reports what was paid, the cure's gas and whether the gate accepts its order now."""
    from smartccp.chain.errors import refusal_text

    s, rk, manager = run._sys(), run._risk(), run.roles.key("default_manager")
    acct = run.accounts[cm]
    res = cure_default(rk, acct, manager, deposit=loss)
    run.defaulted.discard(cm)
    status = ["None", "Active", "Suspended", "Expelled"][int(s.membership.memberOf(acct).status)]
    sid, lot = run.sids[0], run.sc.securities[0].lot
    refused = refusal_text(rk.margin.checkOrder, acct, sid, 0, lot, int(run.path[0][0]), sender=s.venues[0])
    reasons = ["None", "MissedMarginCall", "MissedTopUp", "SettlementShortfall", "Declared"]
    return {"action": "made good (margin deposited again), default cured on chain (DefaultFund.cureDefault)",
            "margin_deposited": res.margin_deposited, "contribution_paid": res.contribution_paid,
            "event": {"name": "DefaultCured", "member": cm, "reason": reasons[res.reason], "loss": res.loss},
            "gas": res.gas, "defaulted_in_margin": margin_status(rk.margin, acct).defaulted,
            "status_after": status, "gate_refusal": refused}


def _clearing_member(run: DrillRunner, name: str) -> str:
    spec = run.sc.member(name)
    return spec.clearing_member or spec.name


@event_handler("missed_payment:chain")
class ChainMissedPayment(_ChainSettlementFail, MissedPayment):
    __doc__ = MissedPayment.__doc__ + _ChainSettlementFail.__doc__


@event_handler("failed_delivery:chain")
class ChainFailedDelivery(_ChainSettlementFail, FailedDelivery):
    __doc__ = FailedDelivery.__doc__ + _ChainSettlementFail.__doc__
