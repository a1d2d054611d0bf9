"""Scenario-driven drills on the real contracts (:mod:`.runner`), their built-in events and margin
cycles (:mod:`.events`) and life-cycle events (:mod:`.life`), both registered on import (a new
plug-in module is imported here), the report (:mod:`.report`) and charts (:mod:`.charts`)."""

from smartccp.drill import (
    events,  # noqa: F401  (registers the built-in event handlers and margin cycles)
    life,  # noqa: F401  (registers the life-cycle events)
)
from smartccp.drill.report import render
from smartccp.drill.runner import DrillRunner, run_drill

__all__ = ["DrillRunner", "render", "run_drill"]
