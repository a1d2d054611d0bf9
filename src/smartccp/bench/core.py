"""Benchmark: gas and throughput as one FLAT JSON object of numbers, ``reports/bench.json``.

A *measurement* is a function ``(ctx: BenchContext) -> dict[str, number | None]`` registered
under a name with :func:`measurement`; :func:`run_bench` runs each one in an isolated chain
snapshot (on dev networks) and merges the figures into one flat dict that always holds every key
of :data:`REQUIRED_KEYS` (``None`` until someone measures it). To add one, write it in a
module of this package and import that module in ``smartccp/bench/__init__.py``::

    from smartccp.bench.core import goal, measurement, median_gas

    goal("trade.cancel_gas", "<=", 60_000)

    @measurement("trade.cancel")
    def cancel(ctx):
        ...  # deploy what you need with ctx.roles
        gas = median_gas(lambda i: venue.cancel(order_ids[i], sender=owner), ctx.repeats)
        return {"trade.cancel_gas": gas}

Conventions: gas is ``receipt.gas_used`` of the whole transaction (21,000 intrinsic and calldata
included), the median over ``ctx.repeats`` repeated operations; rates are per wall-clock second
seen by the Python client; ratios are plain floats; keys are ``<area>.<figure>_<unit>``.
"""

from __future__ import annotations

import json
import math
import statistics
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ape import chain, networks, project
from ape.logging import LogLevel, logger

from smartccp.chain.accounts import Roles
from smartccp.chain.receipts import use_lean_client
from smartccp.chain.report import render_table
from smartccp.chain.system import deploy_system, kyc_expiry
from smartccp.units import cash

Number = int | float | None
Figures = dict[str, Number]
Measurement = Callable[["BenchContext"], Figures]

BENCH_JSON = Path("reports/bench.json")

#: Every figure the proof (#8), the risk issue (#6) and the scale issue (#18, those measured so
#: far) ask for, and the default cure's gas;
#: ``None`` in the JSON until a measurement provides it.
REQUIRED_KEYS: tuple[str, ...] = (
    "ledger.cash_transfer_gas",
    "ledger.plain_erc20_transfer_gas",
    "ledger.cash_restriction_overhead_gas",
    "ledger.security_transfer_gas",
    "ledger.plain_erc1155_transfer_gas",
    "ledger.security_restriction_overhead_gas",
    "trade.place_resting_gas",
    "trade.fill_one_maker_gas",
    "trade.fill_extra_maker_gas",
    "trade.cancel_gas",
    "trade.place_depth_1000_ratio",
    "bbo.route_3_venues_gas",
    "bbo.publish_overhead_gas",
    "ccp.novation_gas",
    "ccp.settle_per_obligation_gas",
    "ccp.cycle_1000_vs_100_ratio",
    "gross.dvp_per_trade_gas",
    "all_in_gas_per_trade",
    "all_in.own_order_gas_per_trade",
    "all_in.relayed_gas_per_trade",
    "risk.check_order_gas",
    "risk.refresh_margin_gas",
    "risk.default_drill_two_defaulters_gas",
    "risk.default_drill_chunks",
    "risk.default_drill_max_chunk_gas",
    "risk.cure_default_gas",
    "risk.port_client_gas",
    "life.declare_distribution_10000_vs_10_holders_ratio",
    "life.claim_gas",
    "life.claim_gas_per_further_event",
    "life.interest_accrual_gas_per_touch",
    "privacy.fill_overhead_gas",
    "scale.gate_gas_500_vs_5_positions_ratio",
    "scale.fill_gas_500_vs_5_positions_ratio",
    "scale.fill_gas_200_vs_20_members_ratio",
    "scale.eod_margin_gas_per_position",
    "e2e.raw_transfers_per_s",
    "e2e.orders_per_s",
    "e2e.ratio",
    "demo.wall_s",
)


@dataclass(frozen=True)
class Goal:
    """A target for one figure: ``value <op> target`` (op is ``<=`` or ``>=``)."""

    op: str
    target: float

    def met(self, value: Number) -> bool | None:
        """True/False once measured, None while the figure is missing."""
        if value is None:
            return None
        return value <= self.target if self.op == "<=" else value >= self.target

    def __str__(self) -> str:
        return f"{self.op} {self.target:,g}"


GOALS: dict[str, Goal] = {}
MEASUREMENTS: dict[str, Measurement] = {}


def goal(key: str, op: str, target: float) -> None:
    """Set the goal printed next to figure ``key``."""
    if op not in ("<=", ">="):
        raise ValueError(f"goal operator must be '<=' or '>=', not {op!r}")
    GOALS[key] = Goal(op, target)


def measurement(name: str) -> Callable[[Measurement], Measurement]:
    """Register a measurement under ``name`` (decorator)."""

    def register(fn: Measurement) -> Measurement:
        if name in MEASUREMENTS:
            raise ValueError(f"measurement {name!r} is already registered")
        MEASUREMENTS[name] = fn
        return fn

    return register


@dataclass
class BenchContext:
    """What measurements get: role accounts, repetitions and sizes. Measurements deploy what
    they need themselves (each runs in its own snapshot on dev networks)."""

    roles: Roles
    repeats: int = 11
    e2e_transfers: int = 100
    errors: dict[str, str] = field(default_factory=dict)


# ─── Helpers for measurements ────────────────────────────────────────────────────────────────


def median_gas(send: Callable[[int], Any], repeats: int) -> int:
    """Median ``gas_used`` of ``send(i)`` for i in 0..repeats-1 (each call sends one tx)."""
    return int(statistics.median(int(send(i).gas_used) for i in range(repeats)))


def funded_ledgers(
    roles: Roles, *, units: int = 10_000, amount: int = cash(1_000_000)
) -> dict[str, Any]:
    """A fresh system with member_a and member_b admitted and funded (cash base units and
    security units), plus plain ERC-20/ERC-1155 mocks holding the same balances."""
    r = roles
    system = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer)
    expiry = kyc_expiry()
    tx = {"sender": r.operator}
    system.membership.admitClearingMember(r.member_a, expiry, **tx)
    system.membership.admitClearingMember(r.member_b, expiry, **tx)
    system.securities.listSecurity("BENCH", b"XS0000000001", 0, 1, 1, 0, sender=r.issuer)
    security_id = int(system.securities.securityCount())
    plain20 = project.MockPlainERC20.deploy(**tx)
    plain1155 = project.MockPlainERC1155.deploy(**tx)
    for holder in (r.member_a, r.member_b):
        system.cash.issue(holder, amount, sender=r.bank)
        system.securities.issue(security_id, holder, units, sender=r.issuer)
        plain20.mint(holder, amount, **tx)
        plain1155.mint(holder, security_id, units, **tx)
    return {
        "system": system,
        "security_id": security_id,
        "plain20": plain20,
        "plain1155": plain1155,
    }


# ─── Measurements ────────────────────────────────────────────────────────────────────────────

goal("ledger.cash_restriction_overhead_gas", "<=", 5_000)
goal("ledger.security_restriction_overhead_gas", "<=", 5_000)


@measurement("ledger")
def ledger_transfers(ctx: BenchContext) -> Figures:
    """Restricted vs plain transfers between two holders that both already hold a balance
    (no zero-to-non-zero storage writes on either side)."""
    a, b = ctx.roles.member_a, ctx.roles.member_b
    f = funded_ledgers(ctx.roles)
    cash_token, plain20 = f["system"].cash, f["plain20"]
    securities, plain1155 = f["system"].securities, f["plain1155"]
    sid, amount, n = f["security_id"], cash(1), ctx.repeats
    move = (a, b, sid, 1, b"")  # from, to, id, units, data
    restricted_cash = median_gas(lambda _: cash_token.transfer(b, amount, sender=a), n)
    plain_cash = median_gas(lambda _: plain20.transfer(b, amount, sender=a), n)
    restricted_sec = median_gas(lambda _: securities.safeTransferFrom(*move, sender=a), n)
    plain_sec = median_gas(lambda _: plain1155.safeTransferFrom(*move, sender=a), n)
    return {
        "ledger.cash_transfer_gas": restricted_cash,
        "ledger.plain_erc20_transfer_gas": plain_cash,
        "ledger.cash_restriction_overhead_gas": restricted_cash - plain_cash,
        "ledger.security_transfer_gas": restricted_sec,
        "ledger.plain_erc1155_transfer_gas": plain_sec,
        "ledger.security_restriction_overhead_gas": restricted_sec - plain_sec,
    }


@measurement("demo")
def demo_wall_time(ctx: BenchContext) -> Figures:
    """Wall time of every demo step run in-process (deployment included), in seconds."""
    from smartccp.demo.core import run_demo

    start = time.perf_counter()
    report = run_demo(ctx.roles, out=None)
    if not report.ok:
        raise RuntimeError(f"demo failed: {[s.error for s in report.steps if s.error]}")
    return {"demo.wall_s": round(time.perf_counter() - start, 3)}


# ─── Running and output ──────────────────────────────────────────────────────────────────────


def run_bench(ctx: BenchContext, only: list[str] | None = None) -> Figures:
    """Run the registered measurements (all, or those whose name starts with one of ``only``);
    returns the flat figures with every required key. Failures go to ``ctx.errors``."""
    results: Figures = dict.fromkeys(REQUIRED_KEYS)
    use_lean_client()  # the client's receipt poll, not the chain, would set the e2e rates
    isolate = networks.provider.network.is_dev
    with logger.at_level(LogLevel.WARNING):
        for name, fn in MEASUREMENTS.items():
            if only and not any(name.startswith(prefix) for prefix in only):
                continue
            snapshot = chain.snapshot() if isolate else None
            try:
                results.update(fn(ctx))
            except Exception:  # one broken measurement must not hide the others
                ctx.errors[name] = traceback.format_exc(limit=3)
            finally:
                if snapshot is not None:
                    chain.restore(snapshot)
    check_figures_flat(results)
    return results


def check_figures_flat(figures: dict[str, Any]) -> None:
    """Raise unless ``figures`` is flat: str keys, int/float/None values, finite numbers."""
    for key, value in figures.items():
        if not isinstance(key, str):
            raise TypeError(f"bench key {key!r} is not a string")
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"bench figure {key} = {value!r} is not a number or null")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"bench figure {key} = {value!r} is not finite")


def merged(figures: Figures, path: Path = BENCH_JSON) -> Figures:
    """The figures already in ``path`` (if any), updated with every measured one of ``figures``
    (a figure still ``None`` here keeps its old value)."""
    old = json.loads(path.read_text()) if path.exists() else {}
    return old | {k: v for k, v in figures.items() if v is not None or k not in old}


def write_json(figures: Figures, path: Path = BENCH_JSON) -> Path:
    """Write the flat figures (checked, keys sorted) to ``path``; returns it."""
    check_figures_flat(figures)
    missing = [k for k in REQUIRED_KEYS if k not in figures]
    if missing:
        raise KeyError(f"bench figures lack required keys: {missing}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return path


def render(figures: Figures) -> str:
    """The figures as a table, with the goal and whether it is met where one is set."""
    rows = []
    for key in sorted(figures):
        value, target = figures[key], GOALS.get(key)
        if value is None:
            shown = "not measured yet"
        else:
            shown = f"{value:,}" if isinstance(value, int) else f"{value:,.3f}"
        met = target.met(value) if target else None
        verdict = {True: "ok", False: "MISSED"}.get(met, "")
        rows.append([key, shown, str(target) if target else "", verdict])
    return render_table(["figure", "value", "goal", ""], rows)
