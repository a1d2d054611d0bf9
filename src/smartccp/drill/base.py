"""What the drill runner and its plug-ins share: the notices, the registries of event handlers
and margin cycles (plug-ins register with :func:`event_handler` and :func:`margin_cycle`), and the
per-day state the report is built from.

Units: cash in base units (6 decimals), prices in base units per unit, quantities in units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smartccp.sim.scenario import EventSpec

if TYPE_CHECKING:
    from smartccp.drill.runner import DrillRunner

MODEL_NOTICE = "model (off chain, smartccp.risk); shortfalls paid by the MockDefaultHandler test double"
CHAIN_NOTICE = "on chain (Margin + DefaultFund contracts; scenarios, prices and cover-2 contributions from smartccp.risk)"
TREASURY_MULTIPLE = 4  # the CCP's treasury holds this many times its skin in the game (refills)


# ─── Registries ──────────────────────────────────────────────────────────────────────────────


class EventHandler:
    """What an event does around the settlement of its day. ``basis`` says whether it runs on
    chain or as a model; subclasses override the hooks they need."""

    basis = "on chain"

    def before_settlement(self, run: "DrillRunner", event: EventSpec, day: "DayState") -> dict[str, Any]:
        return {}

    def after_settlement(self, run: "DrillRunner", event: EventSpec, day: "DayState") -> dict[str, Any]:
        return {}

    def close_out_moves(self, run: "DrillRunner", event: EventSpec, day: "DayState") -> dict[int, int]:
        """Price moves (bps, by security id) the close-out market should trade at."""
        return {}


EVENT_HANDLERS: dict[str, EventHandler] = {}
MARGIN_CYCLES: dict[str, Callable[["DrillRunner", "DayState"], dict[str, Any]]] = {}


def event_handler(name: str) -> Callable[[type[EventHandler]], type[EventHandler]]:
    """Register (or replace) the handler of event type ``name``."""

    def register(cls: type[EventHandler]) -> type[EventHandler]:
        EVENT_HANDLERS[name] = cls()
        return cls

    return register


def margin_cycle(name: str) -> Callable:
    """Register (or replace) a margin cycle ``fn(run, day) -> {"basis", "calls": [...]}``."""

    def register(fn: Callable) -> Callable:
        MARGIN_CYCLES[name] = fn
        return fn

    return register


# ─── State ───────────────────────────────────────────────────────────────────────────────────


@dataclass
class Check:
    """One invariant check and its outcome."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class DayState:
    """What one trading day produced (the per-cycle entry of the report)."""

    day: int
    cycle_id: int = 0
    start_block: int = 0
    flow: dict[str, Any] = field(default_factory=dict)
    auctions: list[dict[str, Any]] = field(default_factory=list)
    settlement_prices: dict[str, int] = field(default_factory=dict)
    margin: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    gross: dict[str, Any] = field(default_factory=dict)
    net: dict[str, Any] = field(default_factory=dict)
    obligations: list[dict[str, Any]] = field(default_factory=list)
    settlement: dict[str, Any] = field(default_factory=dict)
    sell_outs: list[dict[str, Any]] = field(default_factory=list)
    buy_ins: list[dict[str, Any]] = field(default_factory=list)
    shortfalls: list[dict[str, Any]] = field(default_factory=list)
    layers_used: list[dict[str, Any]] = field(default_factory=list)
    market_claims: list[dict[str, Any]] = field(default_factory=list)
    custody: list[dict[str, Any]] = field(default_factory=list)
    defaults: list[dict[str, Any]] = field(default_factory=list)
    bbo: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "checks"}
        d["checks"] = [c.__dict__ for c in self.checks]
        return d


@dataclass
class StepRecord:
    key: str
    wall_s: float
    txs: int
    gas: int
    reruns: int = 0
