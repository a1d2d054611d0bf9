"""The readable text report of a drill (:func:`render`), from the report dict that
:class:`smartccp.drill.runner.DrillRunner` builds (also written as JSON).

Amounts are shown as cash (6 decimals), quantities in units.
"""

from __future__ import annotations

from typing import Any

from smartccp.chain.report import render_table
from smartccp.units import fmt_cash


def render(report: dict[str, Any]) -> str:
    """The readable report of a drill."""
    out = [f"SmartCCP drill: {report['scenario']} ({report['profile']})", f"network: {report['network']}",
           f"risk: {report['notices']['risk']}", f"close-out: {report['notices']['close_out']}",
           f"bbo: {report['notices'].get('bbo', 'no BBO')}"]
    out += _governance(report.get("setup", {}))
    out.append("")
    for c in report["cycles"]:
        f = c["flow"]
        out.append(f"day {c['day']} (cycle {c['cycle_id']})")
        out.append(f"  orders: {f.get('placed', 0)} placed ({_fmt_types(f.get('by_type', {}))}), {f.get('trades', 0)} trades, "
                   f"{f.get('cancelled', 0)} cancelled, refused {f.get('rejected', {}) or 0}")
        for sym, q in c.get("bbo", {}).items():
            out.append(f"  BBO {sym}: bid {fmt_cash(q['bid'])} x {q['bid_size']:,} [{','.join(q['bid_venues'])}]  ask "
                       f"{fmt_cash(q['ask'])} x {q['ask_size']:,} [{','.join(q['ask_venues'])}]"
                       f"{'  (crossed across venues)' if q['bid'] and q['ask'] and q['bid'] >= q['ask'] else ''}"
                       f"{'' if q['matches_venues'] else '  (DIFFERS from the venues!)'}")
        for a in c["auctions"]:
            out.append(f"  closing auction venue {a['venue']} {a['security']}: {a['volume']} @ {fmt_cash(a['price'])}")
        out.append("  settlement prices: " + ", ".join(f"{k} {fmt_cash(v)}" for k, v in c["settlement_prices"].items()))
        if c["gross"]:
            out.append(f"  netting: {c['gross']['trades']} trades, cash gross {fmt_cash(c['gross']['cash'])} -> net "
                       f"{fmt_cash(c['net']['cash'])} ({c['net']['cash_saving']:.1%} saved; netted per security only "
                       f"{fmt_cash(c['net'].get('cash_per_security', 0))}); cash transfers "
                       f"{c['net'].get('cash_transfers_gross', 0):,} -> {c['net'].get('cash_transfers', 0):,} "
                       f"(one per account; {c['net'].get('cash_transfers_per_security', 0):,} per security); "
                       f"units {c['gross']['units']:,} -> {c['net']['units']:,}")
        st = c["settlement"]
        if "phase" in st:
            out.append(f"  settlement: {st['phase']}, {st.get('obligations', 0)} obligations, {st.get('failures', 0)} failed, "
                       f"{st.get('txs', 0)} txs, {st.get('gas', 0):,} gas")
        for x in c["sell_outs"]:
            out.append(f"  sell-out {x['account']}: {x['sold']}/{x['offered']} {x['security']} for {fmt_cash(x['proceeds'])}")
        for x in c["buy_ins"]:
            out.append(f"  buy-in {x['account']}: {x['bought']}/{x['wanted']} {x['security']} for {fmt_cash(x['cost'])}")
        for x in c["shortfalls"]:
            out.append(f"  shortfall of {x['account']} charged to {x['clearing_member']}: {fmt_cash(x['shortfall'])}, "
                       f"covered {fmt_cash(x['covered'])}")
        calls = c["margin"].get("calls", [])
        if calls:
            out.append(f"  margin calls ({c['margin']['basis']}):")
            rows = [[m["member"], fmt_cash(m["initial_margin"]), fmt_cash(m["variation_margin"]),
                     fmt_cash(m["posted_before_call"]) if "posted_before_call" in m else "-", fmt_cash(m["call"]),
                     "yes" if m["met"] else "NO"] for m in calls]
            out.extend("    " + line for line in render_table(["member", "IM", "VM (P&L)", "posted", "call", "met"],
                                                               rows).splitlines())
        for dft in c["defaults"]:
            w = dft["waterfall"]
            out.append(f"  DEFAULT {dft['member']}: loss {fmt_cash(dft['loss'])} (waterfall: {w['basis']})")
            if dft.get("management"):
                out.extend("    " + line for line in render_management(dft["management"]))
            for name, amount in w["layers"]:
                out.append(f"    {name:<24} {fmt_cash(amount):>18}")
            for e in w.get("events", []):
                out.append(f"    LayerUsed({e['defaulter']}, {e['layer']}, {fmt_cash(e['amount'])})")
            for name, amount in w.get("recovered", {}).items():
                out.append(f"    LayerRecovered({dft['member']}, {name}, {fmt_cash(amount)}): the house's gain, back")
            if "cure" in dft:
                cu = dft["cure"]
                out.append(f"    DefaultCured({dft['member']}, {cu['event']['reason']}, {fmt_cash(cu['event']['loss'])}): "
                           f"margin deposited {fmt_cash(cu['margin_deposited'])}, contribution paid "
                           f"{fmt_cash(cu['contribution_paid'])}, {cu['gas']:,} gas")
            if "status_after" in dft:
                out.append(f"    {dft['member']} now {dft['status_after']}; replenished: "
                           + (", ".join(f"{k} {fmt_cash(v)}" for k, v in dft["replenished"].items()) or "none"))
        for ch in c["checks"]:
            out.append(f"  [{'ok' if ch['ok'] else 'FAILED'}] {ch['name']}: {ch['detail']}")
        out.append("")
    if "life" in report:
        out.extend(render_life(report["life"]))
        out.append("")
    rows = [[s["key"], s["txs"], f"{s['gas']:,}", f"{s['wall_s']:.2f}"] for s in report["steps"]]
    out.append(render_table(["step", "txs", "gas", "wall s"], rows))
    ck = report["checks"]
    out.append(f"\ninvariant checks: {ck['passed']} passed, {len(ck['failed'])} failed {ck['failed'] or ''}")
    out.append(f"wall time {report.get('wall_s', 0):.1f} s")
    return "\n".join(out)


def _governance(setup: dict[str, Any]) -> list[str]:
    """Who sent what: the keys, and the admin changes the timelock made after its delay."""
    keys, gov = setup.get("keys", {}), setup.get("governance", {})
    out = []
    if keys:
        shared = len(set(keys.values())) < len(keys)
        out.append(f"keys: {'some roles share a key' if shared else 'each role its own'} ({', '.join(keys)}): the "
                   "keeper runs sessions, margin and settlement, the price and risk keys publish, the default "
                   "manager handles defaults")
    if gov.get("timelock"):
        for c in gov["changes"]:
            out.append(f"admin: the timelock (delay {gov['delay']:,} s): {c['what']} proposed by the governor at "
                       f"{c['proposed_at']}, {c['executed']} call(s) executed from {c['ready_at']}")
    return out


def _fmt_types(by_type: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(by_type.items()))


def render_management(m: dict[str, Any]) -> list[str]:
    """A managed default: its lots (taken over, then awarded or closed out, each with its loss
    against the last settlement price), every bid, the clients closed out."""
    omnibus = m.get("omnibus_collateral_ported")
    out = [f"managed at once ({m['basis']}): clients ported {', '.join(m.get('ported_clients', [])) or 'none'}"
           + (f" (the omnibus collateral with them: {fmt_cash(omnibus)})" if omnibus else "")
           + f", closed out {', '.join(m['closed_out_clients']) or 'none'}"]
    rows = [[lot["lot"], lot["account"], lot["security"], f"{lot['quantity']:,}" if lot["quantity"] is not None else "-",
             fmt_cash(lot["mark"]), lot["state"], lot["winner"] or "venue",
             fmt_cash(lot["price"]) if lot["price"] else "-", fmt_cash(lot["loss"])] for lot in m["lots"]]
    out += render_table(["lot", "account", "security", "quantity", "settlement price", "disposed", "to", "price",
                         "loss"], rows).splitlines()
    bids = [[b.get("round", 0), b["lot"], b["bidder"], fmt_cash(b["price"]), b["refused"] or "accepted"]
            for b in m["bids"]]
    out += render_table(["round", "lot", "bidder", "sealed bid", "revealed"], bids).splitlines()
    out.append(f"crystallised loss {fmt_cash(m['loss'])}, charged through the waterfall: {fmt_cash(m['covered'])} "
               f"covered; {sum(v for k, v in m['gas'].items() if k != 'largest'):,} gas")
    return out


def render_life(life: dict[str, Any]) -> list[str]:
    """The life-cycle section: distributions, market claims, claims, compressions, interest,
    redemptions and Distributions' conservation."""
    out = ["life cycle:"]
    for d in life["distributions"]:
        out.append(f"  {d['kind']} {d['security']} {fmt_cash(d['amount_per_unit'])} a unit (day {d['day']}, record "
                   f"{d['record_date']}, payment {d['payment_date']}): escrowed {fmt_cash(d['escrowed'])} for "
                   f"{d['supply']:,} units; open cycles {d['open_cycles']}")
    for c in life["market_claims"]:
        out.append(f"  market claim cycle {c['cycle']} {c['account']}: {c['net_quantity']:+,} {c['security']} -> "
                   f"{fmt_cash(c['amount'])}")
    for sym, paid in life["claims"].items():
        out.append(f"  claimed {sym}: " + ", ".join(f"{k} {fmt_cash(v)}" for k, v in paid.items()))
    for c in life["compressions"]:
        out.append(f"  compression {c['account']} {c['security']}: {c['quantity']:,} of cycle {c['receive_cycle']} kept "
                   f"for cycle {c['deliver_cycle']} ({c['kept_at_pay_out']:,} kept at pay-out)")
    if life["interest"]:
        i = life["interest"]
        out.append(f"  interest {i['rate_bps']} bps: " + ", ".join(f"{k} {fmt_cash(v['amount'])}"
                                                               for k, v in i.get("paid", {}).items()))
    for sym, r in life["redemptions"].items():
        out.append(f"  redemption {sym} at {fmt_cash(r.get('amount_per_unit', 0))}: trading stopped day "
                   f"{r.get('stopped_on_day')}, redeemed " + ", ".join(f"{k} {v['units']:,} for {fmt_cash(v['amount'])}"
                                                                    for k, v in r.get("redeemed", {}).items())
                   + f"; supply left {r.get('supply_after')}")
    c = life["conservation"]
    out.append(f"  Distributions: escrowed {fmt_cash(c['escrowed'])}, paid {fmt_cash(c['paid_out'])}, held "
               f"{fmt_cash(c['held'])}, owed {fmt_cash(c['owed'])}")
    return out
