"""The SmartCCP demo as a list of named steps (see :mod:`smartccp.chain.report`).

Here: deploy the register, both ledgers, the CCP, three venues, the BBO and the risk contracts
(Margin, DefaultFund) from ``deployments/demo.yaml``, every role with its own key and a
``SmartCCPTimelock`` admin of every contract after the last stage (so each step below is sent by
the key whose role may do it, and an admin change waits the timelock's delay: the
:mod:`.governance` step), admit two clearing members and a client, issue cash and a security, move
both between members, show a transfer to a non-member refused with the ledger's custom error,
and print balances with a double-entry check. Risk, trading, the BBO, clearing, settlement and
the on-chain default drill are further steps in their own modules of this package (each imported in
``smartccp/demo/__init__.py``), for example::

    from smartccp.demo.core import DEMO_STEPS

    @DEMO_STEPS.step("trade", "Two signed orders cross on the venue", after="refused")
    def trade(ctx, log):
        receipt = ctx.data["venue"].submit(..., sender=ctx.roles.member_a)
        log.tx(receipt, "submit bid")
        log.line("matched 100 ACME @ 12.50")

Amounts: cash in base units of 6 decimals (shown with :func:`smartccp.units.fmt_cash`),
securities in whole units.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ape import networks
from ape.logging import LogLevel, logger
from eth_account import Account

from smartccp.chain.accounts import Roles
from smartccp.chain.errors import refusal_text
from smartccp.chain.report import Report, StepList, StepLog, render_table, run_steps
from smartccp.chain.system import System, kyc_expiry
from smartccp.ops.clock import Clock, can_warp
from smartccp.ops.deploy import deploy as deploy_spec
from smartccp.ops.spec import load_spec
from smartccp.types import Segregation
from smartccp.units import cash, fmt_cash

DEMO_JSON = Path("reports/demo.json")
TITLE = "SmartCCP demo"
#: The demo's deployment files: one settlement cycle a day on ape's local chain (whose clock the
#: demo moves forward to wait less), a few seconds on a node reached by URL (real time).
DEMO_SPEC = Path("deployments/demo.yaml")
DEMO_SPEC_REALTIME = Path("deployments/demo-realtime.yaml")

#: Steps planned for the demo and not yet registered are listed as "being built" in the report.
PLANNED_STEPS = ("risk", "trade", "bbo", "margin", "clear", "settle", "default_drill", "charts")

#: Starting positions: cash in base units, securities in units.
MEMBER_CASH = cash(1_000_000)
CLIENT_CASH = cash(250_000)
MEMBER_UNITS = 10_000
TRANSFER_CASH = cash("1250.50")
TRANSFER_UNITS = 100

DEMO_STEPS = StepList()


@dataclass
class DemoContext:
    """What the steps share: the role accounts (after the deploy step, each role's key from the
    deployment file: ``roles.keeper``, ``roles.price``, ...), the admin (the timelock's
    proposer-and-executor, or the operator without a timelock), the deployed system and
    free-form ``data`` (later steps keep venue and CCP handles there)."""

    roles: Roles
    spec: Path = DEMO_SPEC
    clock: Clock | None = None
    admin: Any = None
    timelock: Any = None
    registry: Path | None = None
    system: System | None = None
    security_id: int = 0
    outsider: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def holders(self) -> dict[str, Any]:
        """Name -> account of the participants whose balances the demo shows."""
        r = self.roles
        return {"member_a": r.member_a, "member_b": r.member_b, "client_a": r.client_a}


# ─── Steps ───────────────────────────────────────────────────────────────────────────────────


#: What each key does in the demo (the deploy step's table; docs/security.md has the full one).
KEY_DUTIES = {
    "operator": "deploys, admits members, lists ACME (its first rules)",
    "keeper": "opens and closes sessions, uncrosses, runs margin and settlement",
    "risk": "publishes scenarios and fund contributions",
    "price": "publishes settlement prices",
    "default_manager": "declares the default, ports the client, closes the case",
    "guardian": "emergency path (halts, stricter risk): not needed today",
    "governor": "proposes admin changes to the timelock",
    "bank": "issues cash; pays the CCP's skin in the game",
    "issuer": "lists and issues ACME",
}


@DEMO_STEPS.step("deploy", "Deploy the register, both ledgers, the CCP, three venues, the BBO and the risk contracts; "
                 "hand admin to a timelock")
def deploy(ctx: DemoContext, log: StepLog) -> None:
    r = ctx.roles
    spec = load_spec(ctx.spec)
    with log.capture(r.operator, r.bank, label="deploy / wire / hand over"):
        # Before anyone is admitted, so Margin's copy of the register is complete; Margin gates every venue.
        dep = deploy_spec(spec, path=ctx.registry, fresh=True, say=lambda _line: None)
        ctx.roles = r = dep.keys(r, fund=True)
    ctx.system = dep.system
    ctx.data["risk"], ctx.data["bbo"] = dep.risk, dep.system.extra["BBO"]
    ctx.clock = Clock(warp=can_warp(), heartbeat=r.operator)
    ctx.admin, ctx.timelock = dep.admin(ctx.clock.wait_until), dep.timelock
    for name, address in ctx.system.addresses().items():
        log.line(f"{name:<16} {address}")
    log.line(f"deployment file {ctx.spec}: settlement cycle {spec.cycle_length:,} s; registry {dep.path}")
    if not ctx.clock.warp:
        log.line("real time: every wait (a cycle's end, a margin call's deadline) is waited out on the node's clock")
    for role, duty in KEY_DUTIES.items():
        log.line(f"{role.replace('_', ' '):<16} {r.key(role).address}  {duty}")
    if ctx.timelock is not None:
        log.line(f"admin of every contract: the SmartCCPTimelock ({fmt_delay(int(ctx.timelock.getMinDelay()))} between "
                 f"a proposal and its execution; the governor proposes); the deployer kept no admin role")
    log.data["addresses"] = ctx.system.addresses()
    log.data["keys"] = {role: str(r.key(role).address) for role in KEY_DUTIES}


@DEMO_STEPS.step("admit", "Admit two clearing members and a client (KYC valid for a year)")
def admit(ctx: DemoContext, log: StepLog) -> None:
    r, membership = ctx.roles, _system(ctx).membership
    expiry = kyc_expiry()
    tx = {"sender": r.operator}
    log.tx(membership.admitClearingMember(r.member_a, expiry, **tx), "admit member_a")
    log.tx(membership.admitClearingMember(r.member_b, expiry, **tx), "admit member_b")
    log.tx(membership.admitParticipant(r.client_a, r.member_a, expiry, int(Segregation.INDIVIDUAL), **tx), "admit client_a")
    log.line(f"member_a {r.member_a.address}  clearing member")
    log.line(f"member_b {r.member_b.address}  clearing member")
    log.line(f"client_a {r.client_a.address}  participant, clears through member_a (own segregated account)")


@DEMO_STEPS.step("issue", "Issue cash (settlement bank) and list and issue a security (issuer)")
def issue(ctx: DemoContext, log: StepLog) -> None:
    r, s = ctx.roles, _system(ctx)
    receipt = log.tx(
        s.securities.listSecurity("ACME", b"US0000000001", 0, cash("0.01"), 10, 0, sender=r.issuer),
        "list ACME",
    )
    ctx.security_id = int(receipt.return_value or s.securities.securityCount())
    for name, holder in ctx.holders().items():
        amount = CLIENT_CASH if name == "client_a" else MEMBER_CASH
        log.tx(s.cash.issue(holder, amount, sender=r.bank), f"issue cash to {name}")
        receipt = s.securities.issue(ctx.security_id, holder, MEMBER_UNITS, sender=r.issuer)
        log.tx(receipt, f"issue ACME to {name}")
        log.line(f"{name}: {fmt_cash(amount)} cash, {MEMBER_UNITS:,} ACME")
    log.line(f"ACME listed as security id {ctx.security_id} (tick 0.010000 cash, lot 10 units)")


@DEMO_STEPS.step("transfer", "Permitted transfers: member_a pays member_b, which delivers ACME")
def transfer(ctx: DemoContext, log: StepLog) -> None:
    r, s = ctx.roles, _system(ctx)
    receipt = s.cash.transfer(r.member_b, TRANSFER_CASH, sender=r.member_a)
    log.tx(receipt, "cash member_a -> member_b")
    receipt = s.securities.safeTransferFrom(
        r.member_b, r.member_a, ctx.security_id, TRANSFER_UNITS, b"", sender=r.member_b
    )
    log.tx(receipt, "ACME member_b -> member_a")
    log.line(f"member_a -> member_b: {fmt_cash(TRANSFER_CASH)} cash (both admitted: allowed)")
    log.line(f"member_b -> member_a: {TRANSFER_UNITS} ACME")


@DEMO_STEPS.step("refused", "A refused transfer: cash and ACME to an account never admitted")
def refused(ctx: DemoContext, log: StepLog) -> None:
    r, s = ctx.roles, _system(ctx)
    ctx.outsider = str(r.outsider.address) if r.outsider is not None else Account.create().address
    attempts = {
        "cash": (s.cash.transfer, (ctx.outsider, cash(1))),
        "ACME": (
            s.securities.safeTransferFrom,
            (r.member_a, ctx.outsider, ctx.security_id, 1, b""),
        ),
    }
    log.line(f"outsider {ctx.outsider}: never admitted")
    for what, (method, args) in attempts.items():
        error = refusal_text(method, *args, sender=r.member_a)
        if error is None:
            raise AssertionError(f"a {what} transfer to non-member {ctx.outsider} was NOT refused")
        log.line(f"{what} member_a -> outsider: refused, {error}")
        log.data[f"refused_{what.lower()}"] = error
    log.line("(run by eth_call against the ledger, as a client checks first: nothing mined)")


@DEMO_STEPS.step("balances", "Balances and the double-entry check")
def balances(ctx: DemoContext, log: StepLog) -> None:
    s = _system(ctx)
    rows, book = [], {}
    for name, holder in ctx.holders().items():
        cash_units = int(s.cash.balanceOf(holder))
        units = int(s.securities.balanceOf(holder, ctx.security_id))
        rows.append([name, fmt_cash(cash_units), f"{units:,}"])
        book[name] = {"cash": cash_units, "ACME": units}
    outsider_cash = int(s.cash.balanceOf(ctx.outsider))
    outsider_units = int(s.securities.balanceOf(ctx.outsider, ctx.security_id))
    rows.append(["outsider", fmt_cash(outsider_cash), f"{outsider_units:,}"])
    for name, holder in ctx.data.get("other_holders", {}).items():  # risk contracts, CCP treasury, close-out
        c, u = int(s.cash.balanceOf(holder)), int(s.securities.balanceOf(holder, ctx.security_id))
        rows.append([name, fmt_cash(c), f"{u:,}"])
        book[name] = {"cash": c, "ACME": u}
    cash_supply = int(s.cash.totalSupply())
    units_supply = int(s.securities.totalSupply(ctx.security_id))
    rows.append(["total supply", fmt_cash(cash_supply), f"{units_supply:,}"])
    log.lines.extend(render_table(["holder", "cash", "ACME"], rows).splitlines())
    balanced = (
        sum(b["cash"] for b in book.values()) == cash_supply
        and sum(b["ACME"] for b in book.values()) == units_supply
        and outsider_cash == outsider_units == 0
    )
    verdict = "yes" if balanced else "NO"
    log.line(f"double entry: balances sum to the supply, the outsider holds nothing: {verdict}")
    if not balanced:
        raise AssertionError("balances do not sum to the total supply")
    log.data.update(balances=book, cash_supply=cash_supply, security_supply=units_supply)
    ctx.data["balances"] = book


# ─── Running ─────────────────────────────────────────────────────────────────────────────────


def run_demo(roles: Roles, *, out: Path | None = DEMO_JSON, quiet: bool = True, spec: Path | None = None,
             registry: Path | None = None) -> Report:
    """Run every registered demo step on the connected network; write ``out`` unless None.

    ``spec`` is the deployment file (default :data:`DEMO_SPEC` on ape's local chain, else
    :data:`DEMO_SPEC_REALTIME`); ``registry`` where the deployment is recorded (default: the
    network's). ``quiet`` hides ape's per-transaction log lines. Returns the report (check
    ``report.ok``).
    """
    missing = [n for n in ("member_a", "member_b", "client_a") if getattr(roles, n) is None]
    if missing:
        raise RuntimeError(
            f"the demo needs accounts for {missing} (SMARTCCP_<ROLE>_KEY, see smartccp.chain.accounts)"
        )
    ctx = DemoContext(roles=roles, spec=spec or (DEMO_SPEC if can_warp() else DEMO_SPEC_REALTIME), registry=registry)
    net = networks.provider.network
    start = time.perf_counter()
    with logger.at_level(LogLevel.WARNING if quiet else logger.level):
        report = run_steps(
            TITLE,
            DEMO_STEPS,
            ctx,
            network=f"{net.ecosystem.name}:{net.name}:{networks.provider.name}",
            pending=[p for p in PLANNED_STEPS if p not in DEMO_STEPS.names()],
        )
    report.summary = {
        "wall_s": round(time.perf_counter() - start, 3),
        "addresses": ctx.system.addresses() if ctx.system else {},
        "security_id": ctx.security_id,
        "balances": ctx.data.get("balances", {}),
    }
    if out is not None:
        report.write_json(out)
    return report


def fmt_delay(seconds: int) -> str:
    """A delay as days, hours or seconds (``2 days``, ``6 s``)."""
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400} day{'s' if seconds != 86_400 else ''}"
    if seconds % 3_600 == 0:
        return f"{seconds // 3_600} h"
    return f"{seconds:,} s"


def _system(ctx: DemoContext) -> System:
    if ctx.system is None:
        raise RuntimeError("the deploy step has not run")
    return ctx.system
