"""Scenario-driven drills: a trading day (or several) on the real contracts, from a YAML scenario.

Per day: open → continuous session (scripted and simulated orders on every venue) → closing
auction → settlement prices → margin cycle (hook) → events before settlement → netting cycle and
DVP settlement (sell-outs and buy-ins on the pluggable close-out market) → events after
settlement (e.g. the default waterfall) → invariant checks. Then final balances, the JSON report
and the charts (:mod:`smartccp.drill.charts`).

Pluggable parts, chosen by the scenario (the built-in entries are in :mod:`smartccp.drill.events`):

- :data:`MARGIN_CYCLES` (``@margin_cycle("model")``, ``@margin_cycle("chain")``): the margin
  step, chosen by ``risk.margin``;
- :data:`EVENT_HANDLERS` (``@event_handler("default")``): one :class:`EventHandler` per event
  type, with ``before_settlement`` / ``after_settlement``; a handler registered as
  ``"<type>:<risk.margin>"`` (``"default:chain"``) takes precedence for that risk basis;
- :data:`smartccp.clearing.closeout.CLOSE_OUT_MARKETS`: the market for sell-outs and buy-ins.

Two risk bases, and every report says which one ran (``notices.risk``):

- ``risk.margin: chain`` — the **Margin and DefaultFund contracts** (``smartccp.risk.chain``):
  every order passes the pre-trade gate, members post margin and contributions on chain, the
  daily cycle publishes settlement prices and refreshes margin (calls), cover-2 contributions
  are re-published from the models, and a default runs the waterfall on chain (the CCP charges
  its close-out shortfall to the DefaultFund; each ``LayerUsed`` event is in the report);
- ``risk.margin: model`` — margin and the waterfall as **models (off chain)** from
  :mod:`smartccp.risk`; shortfalls are paid by the ``MockDefaultHandler`` test double.

The close-out market is the ``mock`` test double unless the scenario names another; the bundled
scenarios name ``venue`` (``VenueCloseOut`` on venue 0). With ``risk.margin: chain`` a settlement
failure's shortfall goes to the DefaultFund (``missed_payment:chain``, ``failed_delivery:chain``),
which declares the charged clearing member in default and covers it through the waterfall; a
member whose own margin covered its whole loss makes good and is cured (reinstated) after
settlement.

Idempotency: every step has a key (``setup``, ``day0:auction``, ...) and a journal; re-running a
finished step returns its recorded result and sends nothing. Steps that act on chain also check
the chain first (phase already set, auction already uncrossed, cycle already settled), so even a
forced re-run (:meth:`DrillRunner.rerun`) of those is a no-op.

Units: cash in base units (6 decimals), prices in base units per unit, quantities in units.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from ape import chain, networks

from smartccp.chain.system import System
from smartccp.clearing.ccp import (
    member_aggregates,
    obligations,
)
from smartccp.clearing.closeout import CloseOutMarket
from smartccp.drill.base import DayState, StepRecord
from smartccp.drill.checks import DayChecks
from smartccp.drill.day import TradingDay
from smartccp.drill.setup import DrillSetup
from smartccp.ops.clock import Clock, can_warp
from smartccp.risk.chain import Risk
from smartccp.risk.model import PUBLISHED, published_scenarios
from smartccp.sim.scenario import Scenario
from smartccp.sim.simulator import FlowDriver, MarketSimulator, price_paths, stress_history
from smartccp.trading.bbo import BboClient
from smartccp.trading.venue import VenueClient
from smartccp.types import CyclePhase


class DrillRunner(DrillSetup, TradingDay, DayChecks):
    """Runs one scenario on the connected network.

    Args:
        scenario: a resolved :class:`smartccp.sim.scenario.Scenario`.
        roles: :class:`smartccp.chain.accounts.Roles` (operator, bank, issuer); the setup step
            replaces them with the keys ``deployments/drill.yaml`` names (keeper, risk, price,
            default manager, guardian, governor: each its own), and every later step sends its
            transactions from the key whose role may send them.
        out: directory for ``drill_<name>.json`` and the charts (None: write nothing).
        progress: called with one line of progress text (e.g. ``click.echo``).
    """

    def __init__(self, scenario: Scenario, roles: Any, *, out: Path | None = None,
                 progress: Callable[[str], None] | None = None):
        self.sc = scenario
        self.roles = roles
        self.out = out
        self.say = progress or (lambda _msg: None)
        self.journal: dict[str, Any] = {}
        self.steps: list[StepRecord] = []
        self.days: list[DayState] = []
        self.system: System | None = None
        self.accounts: dict[str, Any] = {}
        self.pseudonyms: dict[str, Any] = {}  # name -> smartccp.privacy.pseudonyms.Pseudonym
        self.sids: list[int] = []
        self.clients: list[VenueClient] = []
        self.driver: FlowDriver | None = None
        self.close_out: CloseOutMarket | None = None
        self.risk: Risk | None = None
        self.admin: Any = None  # the timelock's proposer (smartccp.chain.governance.TimelockAdmin) after setup
        self.bbo: BboClient | None = None
        self.defaulted: set[str] = set()
        self.supply0: dict[str, int] = {}
        self.day0_cycle = 0  # a rolling drill's first trading day (a cycle id), fixed at setup
        self.life: dict[str, Any] = {}  # what the life-cycle events did (smartccp.drill.life)
        self.names: dict[str, str] = {}
        path, history = price_paths(scenario.prices, scenario.securities, scenario.days + 1, scenario.seed)
        self.path, self.history = path, history
        self.stress_history = stress_history(scenario.prices, scenario.securities, scenario.days + 1, history)
        self.shocks = self._calibrate(history)
        self.sim = MarketSimulator([m.name for m in scenario.members if m.trades], scenario.securities,
                                   scenario.flow, scenario.seed)
        self.report: dict[str, Any] = {}
        self.journal_extra: dict[str, Any] = {}
        # Waits (a cycle's end, a call's deadline) move a local test chain's clock, elsewhere wait.
        self.clock = Clock(warp=can_warp(), heartbeat=roles.operator, say=self.say)

    def step(self, key: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` once under ``key``; later calls return the recorded result, sending nothing."""
        if key in self.journal:
            rec = next(s for s in self.steps if s.key == key)
            rec.reruns += 1
            return self.journal[key]
        self.say(f"  {key} ...")
        start_block, t0 = chain.blocks.head.number, time.perf_counter()
        result = fn()
        txs, gas = self._block_stats(start_block)
        rec = StepRecord(key, round(time.perf_counter() - t0, 3), txs, gas)
        self.steps.append(rec)
        self.journal[key] = result
        self.say(f"  {key}: {rec.txs} txs, {rec.gas:,} gas, {rec.wall_s:.1f} s")
        return result

    def rerun(self, key: str) -> int:
        """Force a chain-guarded step to run again, ignoring the journal; returns the number of
        transactions it sent (0: the chain already had it done). Only for steps whose key ends in
        ``open``, ``auction`` or ``settle``."""
        day_s, name = key.split(":")
        day = self.days[int(day_s[3:])]
        fn = {"open": self._open, "auction": self._auction, "settle": self._settle}[name]
        start = chain.blocks.head.number
        fn(day)
        return chain.blocks.head.number - start

    def _block_stats(self, start_block: int) -> tuple[int, int]:
        head = chain.blocks.head.number
        web3 = networks.provider.web3
        gas = sum(int(web3.eth.get_block(n)["gasUsed"]) for n in range(start_block + 1, head + 1))
        return head - start_block, gas

    def run(self) -> dict[str, Any]:
        """Run every step (each once); returns the report (also written to ``out``)."""
        t0 = time.perf_counter()
        self.say(f"drill {self.sc.name} ({self.sc.profile}): {self.sc.days} day(s), {self.sc.venues} venue(s), "
                 f"{len(self.sc.members)} members, {len(self.sc.securities)} securities")
        self.step("setup", self._setup)
        for d in range(self.sc.days):
            if len(self.days) <= d:
                self.days.append(DayState(day=d))
            day = self.days[d]
            self.say(f"day {d}")
            for name, fn in (("open", self._open), ("continuous", self._continuous), ("auction", self._auction),
                             ("prices", self._prices), ("margin", self._margin), ("events", self._events_before),
                             ("settle", self._settle), ("after", self._events_after), ("checks", self._checks)):
                self.step(f"day{d}:{name}", lambda fn=fn, day=day: fn(day))
        self.step("final", self._final)
        wall = time.perf_counter() - t0
        if "wall_s" not in self.report:
            self.report["wall_s"] = round(wall, 3)
            if self.out is not None:  # the JSON written by the final step gets the run's wall time too
                path = self.out / f"drill_{self.sc.name}.json"
                path.write_text(json.dumps(self.report, indent=2, default=str) + "\n")
        return self.report

    def _risk(self) -> Risk:
        if self.risk is None:
            raise RuntimeError("this scenario runs the risk model (risk.margin: model), not the contracts")
        return self.risk

    def _sys(self) -> System:
        if self.system is None:
            raise RuntimeError("the setup step has not run")
        return self.system

    def _driver(self) -> FlowDriver:
        assert self.driver is not None
        return self.driver

    def _sym(self, sid: int) -> str:
        return self.sc.securities[self.sids.index(int(sid))].symbol

    def _name(self, address: Any) -> str:
        return self.names.get(str(address), str(address))

    def _calibrate(self, history: np.ndarray) -> np.ndarray:
        r = self.sc.risk
        model = PUBLISHED.with_(horizon_days=r.horizon_days, confidence=r.confidence, n_scenarios=r.n_scenarios)
        return published_scenarios(history, model).shocks_bps

    def member_positions(self, day: DayState) -> dict[str, tuple[list[int], int]]:
        """Clearing member name -> (net quantity per security, net cash) of the day's cycle,
        clients included (what margin is computed on)."""
        s = self._sys()
        if CyclePhase(int(s.ccp.cycleInfo(day.cycle_id)[0])) == CyclePhase.UNKNOWN:
            return {}
        agg = member_aggregates(obligations(s.ccp, day.cycle_id), s.membership)
        out: dict[str, tuple[list[int], int]] = {}
        for (cm, sid), (q, c) in agg.items():
            name = self._name(cm)
            qs, cash_sum = out.get(name, ([0] * len(self.sids), 0))
            qs[self.sids.index(sid)] += q
            out[name] = (qs, cash_sum + c)
        return out

    def prices_list(self, day: DayState) -> list[int]:
        return [day.settlement_prices[s.symbol] for s in self.sc.securities]


def run_drill(scenario: Scenario, roles: Any, *, out: Path | None = None,
              progress: Callable[[str], None] | None = None) -> tuple[DrillRunner, dict[str, Any]]:
    """Run ``scenario``; returns the runner (for re-runs) and the report."""
    runner = DrillRunner(scenario, roles, out=out, progress=progress)
    report = runner.run()
    return runner, report
