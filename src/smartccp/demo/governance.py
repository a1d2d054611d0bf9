"""Demo step: an admin change waits the timelock's public delay (see :mod:`smartccp.demo.core`).

Before the default drill the CCP needs a close-out market, where it sells out a defaulter's
securities and buys in what a member fails to deliver. The market may move the CCP's units, so
appointing one is an admin change, and after the deploy step's handover no key may make it
directly: the operator's direct call is refused (``AccessControlUnauthorizedAccount``), as is the
risk key's attempt at a looser margin model (``RiskChangeNeedsAdmin``: looser risk parameters take
the same path). The governor proposes the wiring to the timelock (``CallScheduled``: public from
then on); executing it early is refused (``TimelockUnexpectedOperationState``); once the delay has
passed (ape's local chain: the demo moves the clock two days; a node by URL: waited out) it is
executed (``CallExecuted``, ``CloseOutMarketSet``). Refusals are checked by ``eth_call``: nothing
mined. A deployment file without ``governance:`` (a single key) has the operator wire it directly.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from smartccp.chain.errors import refusal_text
from smartccp.chain.governance import AdminChange, PendingAdmin, TimelockAdmin, admin_apply
from smartccp.chain.report import StepLog
from smartccp.clearing.closeout import make_close_out
from smartccp.demo.core import DEMO_STEPS, DemoContext, fmt_delay
from smartccp.demo.trade import DEMO_CLOSE_OUT


def _call_name(ctx: DemoContext, contract: Any, method: str, args: tuple) -> str:
    names = {str(c.address): n for n, c in ctx.system.contracts().items()}
    shown = ", ".join(names.get(str(getattr(a, "address", a)), str(a)) for a in args)
    return f"{names.get(str(contract.address), str(contract.address))}.{method}({shown})"


@DEMO_STEPS.step("governance", "Governance: the CCP's close-out market, an admin change, waits the timelock's "
                 "public delay", before="default_drill")
def governance(ctx: DemoContext, log: StepLog) -> None:
    s, r, sid, rk = ctx.system, ctx.roles, ctx.security_id, ctx.data["risk"]
    market = make_close_out(DEMO_CLOSE_OUT)
    admin = ctx.admin
    timelocked = isinstance(admin, TimelockAdmin)
    pending = PendingAdmin() if timelocked else admin
    with log.capture(r.operator, r.bank, r.issuer, label="close-out market: deploy / dealer"):
        market.deploy(s, r.operator, bank=r.bank, issuer=r.issuer, security_ids=[sid], admin=pending)
    ctx.data["close_out"] = market
    ctx.data["other_holders"].update(market.holders())
    # The same admin change names the settlement bank the CCP's interest account (interest on
    # margin cash is paid from it: the life step).
    admin_apply(pending, [(rk.margin, "setInterestPayer", (r.bank,))], "interest account")
    ctx.data["interest_payer"] = r.bank
    log.line(f"{market.label}: {market.market.address} deployed by the operator; a close-out dealer admitted "
             f"(operator) and funded (bank, issuer)")
    if not timelocked:
        log.line("no timelock in this deployment file: the operator set it on the CCP itself (single key)")
        return
    error = refusal_text(s.ccp.setCloseOutMarket, market.market, sender=r.operator)
    log.line(f"operator sets it on the CCP directly: refused, {error}")
    _, confidence, horizon, window = (int(v) for v in rk.margin.marginModel())
    looser = refusal_text(rk.margin.setMarginModel, confidence, horizon, 2 * window, sender=r.risk)
    log.line(f"risk key doubles the margin-call window (looser): refused, {looser}; a looser change takes the path below")
    if error is None or looser is None:
        raise AssertionError("an admin change was not refused to a role key")
    change: AdminChange = admin.propose(pending.calls, "close-out market")
    calls = ", ".join(_call_name(ctx, c, m, a) for c, m, a in pending.calls)
    for receipt in change.scheduled:
        log.tx(receipt, "governor: schedule")
    delay = int(ctx.timelock.getMinDelay())
    ready = datetime.fromtimestamp(change.ready_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    log.line(f"governor proposes to the timelock: {calls} (CallScheduled x{len(change.scheduled)}: public from now, "
             f"executable in {fmt_delay(delay)}, from {ready})")
    p = change.proposals[0]
    early = refusal_text(ctx.timelock.execute, *p.args(), sender=r.governor)
    log.line(f"executing it now: refused, {early}")
    if early is None:
        raise AssertionError("the timelock executed a proposal before its delay")
    admin.execute(change)
    for receipt in change.executed:
        log.tx(receipt, "governor: execute")
    how = "the local chain's clock moved" if ctx.clock.warp else "waited out on the node's clock"
    set_to = [str(ev.market) for rcpt in change.executed for ev in rcpt.decode_logs(s.ccp.CloseOutMarketSet)]
    log.line(f"{fmt_delay(delay)} later ({how}): executed (CallExecuted x{len(change.executed)}); the CCP's "
             f"close-out market is {set_to[-1] if set_to else '?'}")
    if set_to != [str(market.market.address)]:
        raise AssertionError("the timelocked change did not set the close-out market")
    log.data.update(calls=[_call_name(ctx, c, m, a) for c, m, a in pending.calls], delay=delay,
                    proposed_at=change.proposed_at, ready_at=change.ready_at, refused_direct=error,
                    refused_looser_risk=looser, refused_early=early)
