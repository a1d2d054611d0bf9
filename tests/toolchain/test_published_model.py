"""Every path that publishes scenarios uses the back-tested model: one entry point,
:func:`smartccp.risk.model.published_scenarios` (issue #22). Read from the source (AST), no chain."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "smartccp"
#: The calibrations that are not the published model; only the risk models may call them.
OTHER_CALIBRATIONS = {"calibrate_shocks", "calibrate_joint_shocks"}
PUBLISHING = {"publishScenarios", "publish_scenarios"}
#: The paths that publish scenarios today (issue #22): each calls the entry point itself.
PUBLISHERS = ["ops/deploy.py", "drill/runner.py", "scale/market.py", "sim/market.py", "demo/trade.py", "bench/risk.py"]


def _called_names(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            f = node.func
            names.add(f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", ""))
    return names


def _sources() -> list[Path]:
    return sorted([*PACKAGE.rglob("*.py"), *(ROOT / "scripts").rglob("*.py")])


def test_other_calibrations__called_only_inside_the_risk_models():
    offenders = [f"{p.relative_to(ROOT)}: {sorted(_called_names(p) & OTHER_CALIBRATIONS)}" for p in _sources()
                 if _called_names(p) & OTHER_CALIBRATIONS and p.parent != PACKAGE / "risk"]
    assert not offenders, f"publishing paths must use published_scenarios: {offenders}"


def test_known_publishers__call_the_entry_point():
    missing = [p for p in PUBLISHERS if "published_scenarios" not in _called_names(PACKAGE / p)]
    assert not missing


def test_every_layer_that_publishes__calibrates_through_the_entry_point():
    # A new publishing path (a module sending publishScenarios / publish_scenarios) must have the
    # entry point called in its own subpackage (drill/setup.py publishes what drill/runner.py
    # calibrated). risk/chain.py defines the publisher and is exempt.
    by_package: dict[Path, set[str]] = {}
    for p in _sources():
        by_package.setdefault(p.parent, set()).update(_called_names(p))
    bad = [str(p.relative_to(ROOT)) for p in _sources()
           if p != PACKAGE / "risk" / "chain.py" and _called_names(p) & PUBLISHING
           and "published_scenarios" not in by_package[p.parent]]
    assert not bad, f"these publish scenarios without published_scenarios in their package: {bad}"
