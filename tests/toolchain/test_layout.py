"""The Python package's shape, as facts anyone can check (``src/smartccp/__init__.py`` states the
rules): imports run one way through the layers, no circle, one definition of each constant and
enum, modules of at most 500 lines and classes of at most 250."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "smartccp"

#: Layer of each top-level part; a module may import only from its own layer or an earlier one.
LAYERS = {
    "types": 0, "units": 0,
    "chain": 1,
    "trading": 2, "clearing": 2, "risk": 2, "lifecycle": 2,
    "sim": 3, "proof": 3, "ops": 3, "privacy": 3,
    "drill": 4,
    "demo": 5,
    "bench": 6, "scale": 6,
}
MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 250


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _part(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path, module: str) -> set[str]:
    """The smartccp modules ``module`` imports (anywhere in it, functions included; not under
    ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
            for n in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("smartccp")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.startswith("smartccp"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in MODULES else node.module)
    found.discard(module)
    return {m for m in found if m in MODULES}


GRAPH = {m: _imports(p, m) for m, p in MODULES.items()}


def test_layers__every_part_has_a_layer():
    parts = {_part(m) for m in MODULES} - {""}
    assert parts <= set(LAYERS), f"parts without a layer: {sorted(parts - set(LAYERS))}"


def test_imports__never_from_a_later_layer():
    upward = [f"{m} -> {i}" for m, deps in GRAPH.items() if _part(m)
              for i in deps if _part(i) and LAYERS[_part(i)] > LAYERS[_part(m)]]
    assert upward == []


def test_imports__no_circle():
    """Tarjan's strongly connected components over the module graph: none larger than one. (A
    package's ``__init__`` importing its own modules is how plug-ins register; the edge from a
    module back to its own package ``__init__`` is Python's doing, not an import, and is left out.)"""
    graph = {m: {i for i in deps if not m.startswith(i + ".")} for m, deps in GRAPH.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    assert circles == []


def _definitions() -> dict[str, list[str]]:
    """Module-level UPPER_CASE constants and Enum classes -> the modules defining them."""
    defs: dict[str, list[str]] = defaultdict(list)
    for module, path in MODULES.items():
        for node in ast.parse(path.read_text()).body:
            targets: list[str] = []
            if isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                targets = [node.target.id]
            elif isinstance(node, ast.ClassDef) and any(
                    getattr(b, "id", "").endswith("Enum") for b in node.bases):
                targets = [node.name]
            defs.update({t: defs[t] + [module] for t in targets if t.isupper() or isinstance(node, ast.ClassDef)})
    return defs


def test_constants_and_enums__defined_once():
    twice = {name: mods for name, mods in _definitions().items() if len(mods) > 1}
    assert twice == {}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module__at_most_500_lines(module):
    assert len(MODULES[module].read_text().splitlines()) <= MAX_MODULE_LINES


def test_classes__at_most_250_lines():
    long = {f"{m}.{node.name}": node.end_lineno - node.lineno + 1
            for m, p in MODULES.items() for node in ast.walk(ast.parse(p.read_text()))
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES}
    assert long == {}


def test_layout_checks__catch_a_violation(tmp_path):
    """The checks above can fail: an upward import and a circle, planted in a copy of the graph."""
    graph = {m: set(d) for m, d in GRAPH.items()}
    graph["smartccp.chain.system"].add("smartccp.demo.core")
    upward = [f"{m} -> {i}" for m, deps in graph.items() if _part(m)
              for i in deps if _part(i) and LAYERS[_part(i)] > LAYERS[_part(m)]]
    assert upward == ["smartccp.chain.system -> smartccp.demo.core"]
    planted = tmp_path / "m.py"
    planted.write_text("from smartccp.demo.core import run_demo\nclass Big:\n" + "    x = 1\n" * 300)
    assert "smartccp.demo.core" in _imports(planted, "smartccp.chain.x")
    assert any(node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES
               for node in ast.walk(ast.parse(planted.read_text())) if isinstance(node, ast.ClassDef))


def test_contracts__never_log_to_the_console():
    """``smartccp.chain.receipts.skip_console_log_scan`` relies on it: no contract imports
    Hardhat's or Foundry's ``console.sol``."""
    contracts = PACKAGE.parents[1] / "contracts"
    logging = [str(p.relative_to(contracts)) for p in contracts.rglob("*.sol") if "console.sol" in p.read_text()]
    assert logging == []
