"""The ``default:chain`` event of a drill (:class:`ChainDefault`): a member default on the risk
contracts, declared, its clients ported and, with an ``auction`` section, managed at once
(DefaultManagement: take-over, sealed-bid auction, close-out, the loss charged through the
waterfall) before settlement; registered on import (:mod:`smartccp.drill.events` imports it).

Units: cash in base units (6 decimals), prices in base units per unit, quantities in units.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smartccp.drill.base import CHAIN_NOTICE, EventHandler, event_handler
from smartccp.risk import management as mg
from smartccp.risk.chain import layer_events, margin_status
from smartccp.risk.waterfall import LAYERS
from smartccp.sim.scenario import EventSpec
from smartccp.types import ZERO_ADDRESS

if TYPE_CHECKING:
    from smartccp.drill.runner import DrillRunner


@event_handler("default:chain")
class ChainDefault(EventHandler):
    """The default drill on the risk contracts. Before settlement: the member has missed its
    margin call (the chain margin cycle left it unmet) and stops paying (its cash allowance to
    the CCP is withdrawn); time passes the call's deadline and the default manager declares the
    default on the DefaultFund (``MissedMarginCall``; ``Declared`` if no call is open),
    which suspends it: its resting orders stop matching and the gate refuses its orders. Its
    clients (those in ``port``, default all) are ported to ``backup`` if the event names one.
    With an ``auction`` section the default is managed at once
    (:func:`smartccp.drill.management.manage_default`): the rest of its
    clients and its house portfolio are taken over, auctioned in sealed bids and closed out, and
    the loss charged through the waterfall, all before settlement, which then has nothing of the
    defaulter's left. Without one, at settlement the CCP sells out / buys in its obligations on
    the close-out market and charges the shortfall to the DefaultFund. Either way the waterfall
    runs on chain (``LayerUsed`` events, in order). After settlement: the survivors replenish
    their contributions, the skin in the game is refilled and the default is closed (the member
    expelled)."""

    basis = f"on chain: declare, port, then auction (or CCP close-out at settlement), waterfall ({CHAIN_NOTICE})"

    def close_out_moves(self, run, event, day):
        move = int(event.params.get("close_out_move_bps", -3000))
        return {sid: move for sid in run.sids}

    def before_settlement(self, run, event, day):
        s, rk, manager = run._sys(), run._risk(), run.roles.key("default_manager")
        acct = run.accounts[event.member]
        s.cash.approve(s.ccp, 0, sender=acct)
        run.defaulted.add(event.member)
        reason = int(rk.fund.defaultOf(acct)[0])
        if reason == 0:  # not declared yet
            st = margin_status(rk.margin, acct)
            if st.call_deadline:
                run.clock.wait_until(st.call_deadline + 1, f"{event.member}'s margin call deadline")
            rk.fund.declareDefault(acct, sender=manager)
            reason = int(rk.fund.defaultOf(acct)[0])
        ported, omnibus_moved = [], 0
        backup = event.params.get("backup")
        clients = [c.name for c in run.sc.members if c.clearing_member == event.member]
        to_port = [c for c in event.params.get("port", clients) if c in clients] if backup else []
        if to_port:
            rk.fund.setBackupMember(acct, run.accounts[backup], sender=manager)
            for c in to_port:  # the backup agrees to take these clients, and only these
                s.membership.acceptPort(run.accounts[c], True, sender=run.accounts[backup])
            rk.fund.portClients(acct, [run.accounts[c] for c in to_port], sender=manager)
            ported = to_port
            omnibus = [c for c in clients if run.sc.member(c).segregation == "omnibus"]
            if omnibus and set(omnibus) <= set(to_port):  # ported collectively: the collateral follows
                omnibus_moved = mg.port_omnibus_collateral(rk.margin, acct, manager)
        survivors = [m.name for m in run.sc.members if m.kind == "clearing" and m.name not in run.defaulted]
        available = {"defaulter_margin": margin_status(rk.margin, acct).cash,
                     "defaulter_default_fund": int(rk.fund.contributionOf(acct)[1]),
                     "ccp_skin_in_the_game": int(rk.fund.skinInTheGame()),
                     "survivor_default_fund": sum(int(rk.fund.contributionOf(run.accounts[m])[1]) for m in survivors)}
        run.journal_extra[f"default:{event.member}"] = available
        reasons = ["None", "MissedMarginCall", "MissedTopUp", "SettlementShortfall", "Declared"]
        result = {"action": f"default declared on chain ({reasons[reason]}): member suspended, cash pay-in withheld",
                  "reason": reasons[reason], "ported_clients": ported, "available": available,
                  "omnibus_collateral_ported": omnibus_moved}
        if "auction" in event.params:
            closed = [c for c in clients if c not in ported]
            result["management"] = {"ported_clients": ported, "omnibus_collateral_ported": omnibus_moved,
                                     **manage_default(run, event, acct, closed, event.params["auction"])}
            result["action"] = (f"default declared on chain ({reasons[reason]}), managed at once: "
                                f"{len(ported)} client(s) ported, portfolio auctioned, loss charged")
        return result

    def after_settlement(self, run, event, day):
        s, rk, r = run._sys(), run._risk(), run.roles
        acct = run.accounts[event.member]
        mine = run.journal_extra.get(f"case:{event.member}", []) + [e for e in day.layers_used
                                                                     if e["defaulter"] == event.member]
        totals = dict.fromkeys(LAYERS, 0)
        for e in mine:
            totals[e["layer"]] += e["amount"]
        loss = int(rk.fund.defaultOf(acct)[1])
        charged = sum(x["shortfall"] for x in day.shortfalls if x["clearing_member"] == event.member)
        uncovered = totals["uncovered"]
        available = run.journal_extra[f"default:{event.member}"]
        waterfall = {"basis": CHAIN_NOTICE, "loss": loss, "charged_by_ccp": charged,
                     "layers": [[n, totals[n]] for n in LAYERS], "events": mine, "available": available,
                     "uncovered": uncovered, "fund_size": day.margin.get("default_fund", {}).get("fund_size"),
                     "fund_vs_history": day.margin.get("default_fund", {}).get("fund_vs_history"),
                     "reverse_stress": day.margin.get("default_fund", {}).get("reverse_stress"),
                     "contributions": day.margin.get("default_fund", {}).get("required", {})}
        # Gains the case owes, now settled: a client's into its margin; the house's first back
        # to the layers that paid for its default (survivors, skin in the game, its own fund).
        recovered: dict[str, int] = {}
        dm = rk.management
        if dm is not None and int(dm.caseOf(acct)[0]) == mg.CasePhase.CLOSED:
            mg.settle_bridge(dm, s.ccp, acct, r.key("keeper"))  # close-out proceeds bridged, if any
            for lot in mg.lots_of(dm, acct):
                if int(dm.accountResult(acct, lot.account)[1]):
                    receipt = dm.payGain(acct, lot.account, sender=r.key("keeper"))
                    for ev in receipt.decode_logs(rk.fund.LayerRecovered):
                        recovered[LAYERS[int(ev.layer)]] = recovered.get(LAYERS[int(ev.layer)], 0) + int(ev.amount)
        waterfall["recovered"] = recovered
        # The market goes on: survivors replenish, the CCP refills its skin in the game, the default closes.
        replenished = {}
        for m in run.sc.members:
            if m.kind != "clearing" or m.name in run.defaulted:
                continue
            required, paid = (int(x) for x in rk.fund.contributionOf(run.accounts[m.name]))
            if paid < required:
                rk.fund.contribute(required - paid, sender=run.accounts[m.name])
                replenished[m.name] = required - paid
        refill = totals["ccp_skin_in_the_game"] - recovered.get("ccp_skin_in_the_game", 0)
        if refill:  # from the CCP's treasury: no new cash
            rk.fund.fundSkinInTheGame(refill, sender=r.bank)
        if not bool(rk.fund.defaultOf(acct)[2]):
            rk.fund.closeDefault(acct, sender=r.key("default_manager"))
        status = ["None", "Active", "Suspended", "Expelled"][int(s.membership.memberOf(acct).status)]
        management = next((e.get("management") for e in day.events
                           if e.get("member") == event.member and e.get("type") == "default"), None)
        record = {"member": event.member, "loss": loss, "waterfall": waterfall, "management": management,
                  "close_out": {"sell_outs": [x for x in day.sell_outs if x["account"] == event.member],
                                "buy_ins": [x for x in day.buy_ins if x["account"] == event.member],
                                "covered_on_chain_by": "DefaultFund (waterfall, LayerUsed events)"},
                  "replenished": replenished, "status_after": status}
        day.defaults.append(record)
        return {"waterfall": waterfall, "replenished": replenished, "status_after": status}


def _bidding_round(run: DrillRunner, acct: Any, lots: list[mg.Lot], marks: dict[int, int],
                   bids_bps: dict[str, int], report: mg.CaseReport) -> None:
    """One sealed-bid round of the open auction: each bidder of ``bids_bps`` bids on every lot of
    ``lots`` at the settlement price moved by its bps (a buyer's discount if negative, a seller's
    the other way; on the tick), commits, and reveals after the bidding window; the bids are
    recorded with the round."""
    s, dm, keeper = run._sys(), run._risk().management, run.roles.key("keeper")
    round_ = int(dm.auctionRound(acct))
    bids = []
    for lt in lots:
        tick = int(s.securities.tradingTerms(lt.security_id)[0])
        for bidder, move in bids_bps.items():
            shift = move if lt.quantity > 0 else -move
            price = marks[lt.security_id] * (10_000 + int(shift)) // 10_000 // tick * tick
            bids.append(mg.sign_bid(dm, run.accounts[bidder], lt.id, price))
    mg.commit(dm, bids, {str(run.accounts[n].address): run.accounts[n] for n in bids_bps}, report)
    run.clock.wait_until(int(dm.caseOf(acct)[1]) + 1, "the end of the bidding")
    first = len(report.bids)
    mg.reveal(dm, bids, keeper, report)
    for row in report.bids[first:]:
        row["round"] = round_
    run.clock.wait_until(int(dm.caseOf(acct)[2]) + 1, "the end of the reveal")


def manage_default(run: DrillRunner, event: EventSpec, acct: Any, closed: list[str],
                   params: dict[str, Any]) -> dict[str, Any]:
    """Default management on chain (DefaultManagement), before the day's settlement: the
    defaulter's house obligations and its clients' not ported are taken over into lots (the
    clients once the port window ended), the survivors named in ``bids_bps`` bid on every house
    lot at the settlement price moved by their bps (sealed: committed, then revealed; a bid
    above the bidder's margin is refused and recorded); with ``second_round`` the auction
    reopens for every lot still without a bid, clients' too, and its ``bids_bps`` bid on them;
    lots without a bid are then closed out on venue 0 against the close-out dealer's bids, and
    the loss is charged through the waterfall."""
    s, rk, r = run._sys(), run._risk(), run.roles
    dm, keeper = rk.management, r.key("keeper")
    report = mg.CaseReport(event.member)
    report.add_gas("open", dm.openCase(acct, sender=keeper))
    mg.take_over(dm, acct, [acct], run.sids, keeper, report)
    if closed:
        run.clock.wait_until(int(rk.fund.portDeadline(acct)) + 1, f"{event.member}'s port window")
        mg.take_over(dm, acct, [run.accounts[c] for c in closed], run.sids, keeper, report)
    window = int(params.get("window", 600))
    report.add_gas("start", dm.startAuction(acct, window, window, int(params.get("band_bps", 2000)),
                                            sender=r.key("default_manager")))
    lots = mg.lots_of(dm, acct)
    marks = {lt.security_id: int(rk.margin.securityRisk(lt.security_id)[0]) for lt in lots}
    house = [lt for lt in lots if lt.account == str(acct.address) and lt.quantity != 0]  # not a client's
    _bidding_round(run, acct, house, marks, params.get("bids_bps", {}), report)
    again = params.get("second_round")
    if again and mg.unsold(dm, acct):  # a second round for every lot nobody bid on, clients' too
        window2 = int(again.get("window", window))
        mg.reopen(dm, acct, window2, int(again.get("band_bps", params.get("band_bps", 2000))),
                  r.key("default_manager"), report)
        _bidding_round(run, acct, mg.unsold(dm, acct), marks, again.get("bids_bps", {}), report)
    unsold = {lt.security_id for lt in mg.lots_of(dm, acct) if lt.leader == ZERO_ADDRESS}
    if unsold:  # the close-out dealer quotes where the lots will trade
        move = int(event.params.get("close_out_move_bps", -3000))
        run.close_out.set_prices({sid: marks[sid] for sid in unsold}, keeper,
                                 moves_bps=dict.fromkeys(unsold, move))
    mg.dispose_all(dm, acct, keeper, report)
    receipts = mg.charge(dm, acct, keeper, report)
    mg.summarise(dm, acct, report)
    names = {str(v.address): k for k, v in run.accounts.items()}
    lot_rows = []
    for row in report.lots:
        lot_rows.append({**row, "account": names.get(row["account"], row["account"]),
                         "winner": names.get(row["winner"], row["winner"]) if row["winner"] else None,
                         "security": run._sym(row["security_id"]), "mark": marks[row["security_id"]]})
    layers = [{"defaulter": event.member, "layer": layer, "amount": amount}
              for _, layer, amount in layer_events(rk.fund, receipts)]
    run.journal_extra[f"case:{event.member}"] = layers
    return {"basis": "on chain: DefaultManagement", "lots": lot_rows,
            "bids": [{**b, "bidder": names.get(b["bidder"], b["bidder"])} for b in report.bids],
            "closed_out_clients": closed, "loss": report.loss, "covered": report.covered,
            "accounts": {names.get(k, k): v for k, v in report.accounts.items()}, "layers": layers,
            "gas": report.gas}
