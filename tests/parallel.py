"""The suite on several pytest-xdist workers: ``ape test tests -n 2`` (``make test`` does this).

Each worker is a pytest process of its own: ape connects it to its own anvil (``foundry.host:
auto`` in ``ape-config.yaml`` starts one on a free port per process), the session fixtures deploy
once per worker, and ape's snapshot/revert isolation works inside each worker exactly as in a
serial run. Compile before the workers start (``ape compile``, as ``make test`` does), so that
they only read ``.build``.

How the tests are handed out, under ``-n N`` with xdist's default ``--dist load`` (an explicit
``--dist loadfile``, ``loadscope``, ... gives xdist's own scheduler instead):

- A **test module is one unit of work**, as under ``--dist loadfile``: a module's module-scoped
  deployments happen once, on one worker, and module-level state shared by its tests (a
  catalogue that the last test checks, say) stays together. Plain ``--dist load`` would deploy a
  module's fixtures again on every worker that receives one of its tests.
- Modules named in ``SPLIT`` are **one unit per test**: their tests share no module state and each
  is long (the two state machines build separate worlds), so they can run side by side.
- Whenever a worker is about to run out of work it gets the **costliest unit left** (longest
  processing time first, which keeps the workers' finishing times close). The cost of a test is
  its duration in the last run (setup + call + teardown, kept in pytest's cache under
  ``smartccp/durations``), else a hint from ``COST_HINTS`` (seconds measured on this 2-core
  machine; they only steer the order), else ``DEFAULT_COST``.

Tests are matched by file name and test name, not by folder, so that moving a module between
folders keeps its hints.
"""

from __future__ import annotations

import os

import pytest

#: Modules split into one unit of work per test (file names): long tests that share no
#: module-scoped fixture or module-level state.
SPLIT = frozenset({"test_state_machine.py", "test_toolchain.py", "test_sim_market.py", "test_external_nodes.py"})

#: Seconds a test takes (setup, module fixtures included, + call + teardown), measured serially on
#: this 2-core machine under load; they only steer the order. A key is "file.py::test_name" (that
#: test) or "file.py" (each test of the module).
COST_HINTS: dict[str, float] = {
    "test_external_nodes.py::test_day__deploy_keeper_and_a_participant__settle_after_the_cycles_real_end": 45.0,
    "test_external_nodes.py::test_demo__runs_through_in_real_time": 40.0,
    "test_drill_normal_day.py::test_drill__fast_profile__every_invariant_check_passes": 45.0,
    "test_drill_member_default.py::test_drill__fast_profile__every_invariant_check_passes": 40.0,
    "test_drill_settlement_failures.py::test_drill__fast_profile__every_invariant_check_passes": 30.0,
    "test_drill_life_cycle.py::test_drill__every_invariant_check_passes__both_cycles_settle_when_due": 16.0,
    "test_state_machine.py::test_risk_state_machine": 70.0,
    "test_state_machine.py::test_market_state_machine": 60.0,
    "test_toolchain.py::test_demo__every_step_runs__and_writes_the_report": 60.0,
    "test_auction_reference.py::test_uncross_matches_reference": 38.0,
    "test_clearing_gas.py::test_gas__report": 37.0,
    "test_risk_bench.py::test_bench__refresh_default_drill_and_cure__numbers": 32.0,
    "test_risk_bench.py::test_bench_scale__small_sizes__gate_fill_and_eod_figures": 12.0,
    "test_sim_market.py::test_bench_sim__figures__flow_fills_and_the_cycle_nets": 28.0,
    "test_sim_market.py::test_sim_market__burst__trades_on_every_venue_refuses_the_thin_member_by_error_name__same_through_a_gateway": 26.0,
    "test_reference_matcher.py::test_venue_matches_reference": 14.0,
    "test_quote_property.py::test_consolidated_quote__equals_the_models_over_random_steps": 12.0,
    "test_bad_input_catalogue.py::test_signatures_and_replay": 10.0,
    "test_scale_day_small.py": 25.0,
    "test_gate.py": 2.5,
    "test_default_management.py": 2.5,
    "test_default_settlement.py": 1.5,
    "test_margin.py": 2.0,
    "test_default_drill.py": 6.0,
    "test_layer1_collateral.py": 2.5,
    "test_venue_liquidation.py": 8.0,
    "test_hooks.py": 1.2,
    "test_market_claims.py": 4.0,
    "test_redemption.py": 5.0,
    "test_resignation.py": 6.0,
    "test_interest.py": 3.0,
    "test_distributions.py": 2.0,
    "test_life_state_machine.py": 40.0,
    "test_compression.py": 7.0,
    "test_prefund_interest.py": 8.0,
    "test_fail_roll.py": 6.0,
    "test_fund_interest.py": 12.0,
    "test_pseudonyms.py": 1.0,  # per test; the module's deployment is about 4 s
    "test_stealth_records.py": 0.1,
}
DEFAULT_COST = 0.7
CACHE_KEY = "smartccp/durations"


def _short(nodeid: str) -> tuple[str, str]:
    """("file.py", "test_name[param]") of a node id, without its folders."""
    path, _, name = nodeid.partition("::")
    return os.path.basename(path), name


def cost_of(nodeid: str, measured: dict[str, float]) -> float:
    if nodeid in measured:
        return measured[nodeid]
    file, name = _short(nodeid)
    return COST_HINTS.get(f"{file}::{name}", COST_HINTS.get(file, DEFAULT_COST))


def _scheduler_class():  # noqa: ANN202
    from xdist.scheduler import LoadScopeScheduling

    class PlannedScheduling(LoadScopeScheduling):
        """``--dist loadfile`` with SPLIT modules per test and the costliest unit first."""

        def __init__(self, config: pytest.Config, log=None) -> None:  # noqa: ANN001
            super().__init__(config, log)
            cache = getattr(config, "cache", None)
            self.measured: dict[str, float] = dict(cache.get(CACHE_KEY, {})) if cache is not None else {}

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return nodeid if os.path.basename(path) in SPLIT else path

        def _unit_cost(self, unit: dict[str, bool]) -> float:
            return sum(cost_of(nodeid, self.measured) for nodeid, done in unit.items() if not done)

        def _assign_work_unit(self, node) -> None:  # noqa: ANN001
            # Put the costliest unit at the head of the queue; the base class pops the head.
            scope = max(self.workqueue, key=lambda s: self._unit_cost(self.workqueue[s]))
            self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

        def _reschedule(self, node) -> None:  # noqa: ANN001
            # Hand out the next unit only when the worker holds its last test (it needs one more
            # test queued, or shutdown, to run that one): a worker busy with a long unit does not
            # hoard work that the other worker could run meanwhile.
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
                return
            if self._pending_of(self.assigned_work[node]) > 1:
                return
            self._assign_work_unit(node)

    return PlannedScheduling


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN001, ANN201
    if config.getvalue("dist") != "load":
        return None
    return _scheduler_class()(config, log)


class DurationRecorder:
    """On the controller (or a serial run): record each test's setup + call + teardown time and
    store them in pytest's cache at the end, for the next run's plan."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.durations: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + float(report.duration)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        cache = getattr(self.config, "cache", None)
        if cache is None or not self.durations:
            return
        known = dict(cache.get(CACHE_KEY, {}))
        known.update({k: round(v, 3) for k, v in self.durations.items()})
        cache.set(CACHE_KEY, known)


def register(config: pytest.Config) -> None:
    """Called from ``pytest_configure`` of ``tests/conftest.py``."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller records
        return
    if not config.pluginmanager.has_plugin("smartccp-durations"):
        config.pluginmanager.register(DurationRecorder(config), "smartccp-durations")
