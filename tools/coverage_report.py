#!/usr/bin/env python3
"""Line and branch coverage of `contracts/` from what `tools/coverage_tracer.py` recorded.

1. Compiles the contracts once more with exactly ape's standard-JSON input (ape-solidity builds
   it: via-IR, optimizer, remappings as in ape-config.yaml), asking in addition for the ASTs,
   both source maps and the immutable references; checks that the bytecode equals ape's
   `.build` artifacts, which the tests deployed, so the pcs mean the same instructions.
   Cached in `.build/coverage-solc.json` by a hash of the input.
2. Items, from the AST of every `contracts/**/*.sol` except the mocks in `contracts/test/`:
   - a **line** is the first line of a statement inside a function or modifier body; it is
     covered when an executed instruction maps (source map) into one of its statements;
   - each `if` (with or without `else`) and each `?:` has two **branches**. A side counts as
     taken when code of its own ran, or when a `JUMPI` that maps to the condition was followed
     (recorded pcs) into that side's code or the functions it calls; an `if` without `else`
     went false when such a jump led past the `if` instead.
   Only items the compiled code can show are counted: statements with at least one
   instruction of their own, branch points with a `JUMPI` on their condition (the via-IR
   optimizer merges or drops the rest); the report gives how many were left out.
3. Writes `reports/coverage.json` and `reports/coverage.lcov` (per file and line, with hit
   and miss details) and replaces the table between `<!-- coverage:begin -->` and
   `<!-- coverage:end -->` in `docs/testing.md`.

Usage: python tools/coverage_report.py [--raw reports/coverage] [--doc docs/testing.md]
"""
from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- coverage:begin -->", "<!-- coverage:end -->"
STATEMENTS = {"ExpressionStatement", "VariableDeclarationStatement", "Return", "EmitStatement",
              "RevertStatement", "IfStatement", "ForStatement", "WhileStatement",
              "DoWhileStatement", "TryStatement", "Break", "Continue", "InlineAssembly"}
SELECT = ["evm.bytecode.object", "evm.bytecode.sourceMap", "evm.deployedBytecode.object",
          "evm.deployedBytecode.sourceMap", "evm.deployedBytecode.immutableReferences"]

Src = tuple[int, int, int]  # start, length, source index (solc's `s:l:f`)


def inside(inner: Src, outer: Src) -> bool:
    return inner[2] == outer[2] and outer[0] <= inner[0] and inner[0] + inner[1] <= outer[0] + outer[1]


def parse_src(src: str) -> Src:
    s, l, f = src.split(":")[:3]
    return int(s), int(l), int(f)


# ─── Compiler output ─────────────────────────────────────────────────────────────────────────
def compile_project() -> dict[str, Any]:
    """solc output for the project, from ape-solidity's own standard-JSON input."""
    from ape import compilers, project
    from solcx import compile_standard
    from solcx.install import get_executable

    paths = sorted(project.contracts_folder.rglob("*.sol"))
    solidity = compilers.registered_compilers[".sol"]
    (version, std_input), = solidity.get_standard_input_json(paths, project=project).items()
    std_input["settings"]["outputSelection"] = {"*": {"*": SELECT, "": ["ast"]}}
    digest = hashlib.sha256(json.dumps([str(version), std_input], sort_keys=True).encode()).hexdigest()
    cache = ROOT / ".build" / "coverage-solc.json"
    if cache.is_file():
        cached = json.loads(cache.read_text())
        if cached.get("digest") == digest:
            return cached["output"]
    solc = get_executable(version=version.base_version)
    output = compile_standard(std_input, solc_binary=solc, base_path=str(project.path),
                              allow_empty=True)
    cache.write_text(json.dumps({"digest": digest, "output": output}))
    return output


def source_map(compressed: str) -> list[Src]:
    """Decompress a solc source map: one (start, length, file) per instruction."""
    out: list[Src] = []
    s, l, f = -1, -1, -1
    for entry in compressed.split(";"):
        parts = entry.split(":")
        if len(parts) > 0 and parts[0]:
            s = int(parts[0])
        if len(parts) > 1 and parts[1]:
            l = int(parts[1])
        if len(parts) > 2 and parts[2]:
            f = int(parts[2])
        out.append((s, l, f))
    return out


def pc_sources(code: bytes, smap: list[Src]) -> dict[int, Src]:
    """pc -> source location, walking the instructions (PUSHn carries n bytes)."""
    result: dict[int, Src] = {}
    pc = index = 0
    while pc < len(code) and index < len(smap):
        result[pc] = smap[index]
        op = code[pc]
        pc += 1 + (op - 0x5F if 0x60 <= op <= 0x7F else 0)
        index += 1
    return result


# ─── Items from the AST ──────────────────────────────────────────────────────────────────────
@dataclass
class Branch:
    node: Src  # the whole if / conditional
    true: Src
    false: Src | None
    line: int
    kind: str
    hits: set[bool] = field(default_factory=set)
    true_reach: list[Src] = field(default_factory=list)  # the true side and what it calls
    false_reach: list[Src] = field(default_factory=list)

    def decides(self, src: Src) -> bool:
        """A jump at `src` belongs to this branch point's condition (not to its bodies)."""
        return inside(src, self.node) and not inside(src, self.true) and not (
            self.false and inside(src, self.false))


@dataclass
class FileItems:
    path: str
    index: int
    line_starts: list[int]
    statements: list[tuple[int, Src]] = field(default_factory=list)  # (line, src)
    branches: list[Branch] = field(default_factory=list)

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)


def walk(node: Any, in_body: bool = False) -> Iterator[tuple[dict[str, Any], bool]]:
    if isinstance(node, dict):
        yield node, in_body
        body = in_body or node.get("nodeType") in ("FunctionDefinition", "ModifierDefinition")
        for value in node.values():
            yield from walk(value, body)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value, in_body)


def functions(output: dict[str, Any]) -> dict[int, Src]:
    """AST id -> source range of every function and modifier (all files, dependencies too)."""
    return {node["id"]: parse_src(node["src"]) for source in output["sources"].values()
            for node, _ in walk(source["ast"])
            if node.get("nodeType") in ("FunctionDefinition", "ModifierDefinition")}


def reach(node: dict[str, Any] | None, defs: dict[int, Src]) -> list[Src]:
    """A branch side's own range plus the bodies of the functions it calls directly (the
    optimizer inlines or jumps into them: `if (x) _check(y);` runs `_check`'s code only)."""
    if node is None:
        return []
    called = {n["expression"].get("referencedDeclaration") for n, _ in walk(node)
              if n.get("nodeType") == "FunctionCall"}
    return [parse_src(node["src"])] + [defs[i] for i in sorted(called - {None}) if i in defs]


def file_items(path: str, source: dict[str, Any], defs: dict[int, Src]) -> FileItems:
    text = (ROOT / path).read_bytes()
    starts = [0] + [i + 1 for i, b in enumerate(text) if b == 0x0A]
    items = FileItems(path, source["id"], starts)
    for node, in_body in walk(source["ast"]):
        kind = node.get("nodeType")
        if not in_body or kind not in STATEMENTS | {"Conditional"}:
            continue
        src = parse_src(node["src"])
        line = items.line_of(src[0])
        if kind in STATEMENTS:
            items.statements.append((line, src))
        if kind == "IfStatement":
            false = parse_src(node["falseBody"]["src"]) if node.get("falseBody") else None
            items.branches.append(Branch(src, parse_src(node["trueBody"]["src"]), false, line, "if",
                                         true_reach=reach(node["trueBody"], defs),
                                         false_reach=reach(node.get("falseBody"), defs)))
        elif kind == "Conditional":
            items.branches.append(Branch(src, parse_src(node["trueExpression"]["src"]),
                                         parse_src(node["falseExpression"]["src"]), line, "?:",
                                         true_reach=reach(node["trueExpression"], defs),
                                         false_reach=reach(node["falseExpression"], defs)))
    return items


# ─── Coverage ────────────────────────────────────────────────────────────────────────────────
def load_raw(raw_dir: Path) -> tuple[dict[str, set[int]], dict[str, set[tuple[int, ...]]], dict[str, float]]:
    pcs: dict[str, set[int]] = {}
    trails: dict[str, set[tuple[int, ...]]] = {}
    stats: dict[str, float] = {}
    files = sorted(raw_dir.glob("raw-*.json"))
    if not files:
        sys.exit(f"no raw coverage data in {raw_dir}: run the tests with -p coverage_tracer")
    for path in files:
        data = json.loads(path.read_text())
        for key, values in data["pcs"].items():
            pcs.setdefault(key, set()).update(values)
        for key, values in data["trails"].items():
            trails.setdefault(key, set()).update(tuple(t) for t in values)
        for key, value in data["stats"].items():
            stats[key] = stats.get(key, 0) + value
    return pcs, trails, stats


def sides(branch: Branch, trails: list[tuple[int, ...]], where: dict[int, Src],
          real: set[int]) -> set[bool]:
    """Which way(s) one edge of a JUMPI (all its recorded trails) sent `branch`. The optimizer
    shares code (one revert sequence for two equal errors), so a trail may pass through other
    places of the file before it reaches a body: a body anywhere in the trail decides; an `if`
    without `else` went false when no trail of the edge reaches the true body but one reaches
    source code (any file: an inlined library returns into its caller) past the `if`."""
    found: set[bool] = set()
    after = False
    for trail in trails:
        for pc in trail[1:]:
            src = where.get(pc)
            if src is None:
                continue
            if any(inside(src, r) for r in branch.true_reach):
                found.add(True)
            elif any(inside(src, r) for r in branch.false_reach):
                found.add(False)
            elif src[2] in real and not inside(src, branch.node):
                after = True  # generated code (ABI helpers, checks) does not count
    if not found and after and branch.kind == "if" and branch.false is None:
        found.add(False)
    return found


class Ranges:
    """Source ranges of one file, for "does any of them lie inside this node?"."""

    def __init__(self, ranges: set[Src]) -> None:
        self.ranges = sorted(ranges)
        self.starts = [r[0] for r in self.ranges]

    def any_inside(self, node: Src, where: Any = None) -> bool:
        i = bisect.bisect_left(self.starts, node[0])
        while i < len(self.ranges) and self.ranges[i][0] < node[0] + node[1]:
            if inside(self.ranges[i], node) and (where is None or where(self.ranges[i])):
                return True
            i += 1
        return False


def coverage(raw_dir: Path) -> dict[str, Any]:
    output = compile_project()
    manifest = json.loads((ROOT / ".build" / "__local__.json").read_text())["contractTypes"]
    defs = functions(output)
    files = {path: file_items(path, src, defs) for path, src in output["sources"].items()
             if path.startswith("contracts/") and not path.startswith("contracts/test/")}
    by_index = {items.index: items for items in files.values()}
    real = {source["id"] for source in output["sources"].values()}  # not generated Yul
    pcs, trails, stats = load_raw(raw_dir)

    mapped: dict[int, set[Src]] = {}  # file index -> ranges that own an instruction
    jumps: dict[int, set[Src]] = {}  # file index -> ranges that own a JUMPI
    executed: dict[int, set[Src]] = {}  # file index -> ranges of executed instructions
    mismatched: list[str] = []
    for contracts in output["contracts"].values():
        for name, out in contracts.items():
            for kind, evm in (("creation", out["evm"]["bytecode"]), ("runtime", out["evm"]["deployedBytecode"])):
                key = f"{name}:{kind}"
                code = bytes.fromhex(evm["object"])
                artifact = (manifest.get(name) or {}).get(
                    "deploymentBytecode" if kind == "creation" else "runtimeBytecode") or {}
                if name in manifest and artifact.get("bytecode", "0x")[2:] != evm["object"]:
                    mismatched.append(key)
                where = pc_sources(code, source_map(evm["sourceMap"]))
                for pc, src in where.items():
                    mapped.setdefault(src[2], set()).add(src)
                    if code[pc] == 0x57:  # JUMPI
                        jumps.setdefault(src[2], set()).add(src)
                for pc in pcs.get(key, ()):
                    if pc in where:
                        executed.setdefault(where[pc][2], set()).add(where[pc])
                edges: dict[tuple[int, int], list[tuple[int, ...]]] = {}
                for trail in trails.get(key, ()):
                    if len(trail) > 1:
                        edges.setdefault((trail[0], trail[1]), []).append(trail)
                for (jumpi, _), edge_trails in edges.items():
                    src = where.get(jumpi)
                    items = by_index.get(src[2]) if src else None
                    owners = [b for b in items.branches if b.decides(src)] if items else []
                    if owners:
                        branch = min(owners, key=lambda b: b.node[1])  # innermost
                        branch.hits |= sides(branch, edge_trails, where, real)
    if mismatched:
        sys.exit(f"bytecode differs from .build artifacts for {', '.join(mismatched)}: "
                 "run `ape compile` and the tests again")

    report: dict[str, Any] = {"files": {}, "stats": stats, "without_code": {"lines": 0, "branches": 0}}
    for path, items in sorted(files.items()):
        has_code = Ranges(mapped.get(items.index, set()))
        has_jump = Ranges(jumps.get(items.index, set()))
        ran = Ranges(executed.get(items.index, set()))
        lines: dict[int, bool] = {}
        for line, src in items.statements:
            if has_code.any_inside(src):
                lines[line] = lines.get(line, False) or ran.any_inside(src)
        branches = [b for b in items.branches if has_jump.any_inside(b.node, b.decides)]
        for branch in branches:  # a side whose own code ran was taken, whatever the jumps said
            if ran.any_inside(branch.true):
                branch.hits.add(True)
            if branch.false and ran.any_inside(branch.false):
                branch.hits.add(False)
        report["without_code"]["lines"] += len({line for line, _ in items.statements} - set(lines))
        report["without_code"]["branches"] += len(items.branches) - len(branches)
        if not lines and not branches:
            continue  # interfaces, types: no code
        report["files"][path] = {
            "lines": {str(k): v for k, v in sorted(lines.items())},
            "branches": [{"line": b.line, "kind": b.kind, "true": True in b.hits,
                          "false": False in b.hits} for b in branches],
        }
    return report


def summary(entry: dict[str, Any]) -> tuple[int, int, int, int]:
    lines = list(entry["lines"].values())
    branches = [v for b in entry["branches"] for v in (b["true"], b["false"])]
    return sum(lines), len(lines), sum(branches), len(branches)


def pct(hit: int, total: int) -> str:
    return f"{100 * hit / total:.1f} %" if total else "–"


def table(report: dict[str, Any]) -> str:
    rows = ["| File | Lines | % | Branches | % |", "|---|---:|---:|---:|---:|"]
    totals = [0, 0, 0, 0]
    for path, entry in report["files"].items():
        lh, lt, bh, bt = summary(entry)
        totals = [a + b for a, b in zip(totals, (lh, lt, bh, bt))]
        rows.append(f"| `{path.removeprefix('contracts/')}` | {lh}/{lt} | {pct(lh, lt)} | "
                    f"{bh}/{bt} | {pct(bh, bt)} |")
    lh, lt, bh, bt = totals
    rows.append(f"| **Total** | **{lh}/{lt}** | **{pct(lh, lt)}** | **{bh}/{bt}** | **{pct(bh, bt)}** |")
    report["total"] = {"lines_hit": lh, "lines": lt, "branches_hit": bh, "branches": bt}
    return "\n".join(rows)


def lcov(report: dict[str, Any]) -> str:
    out = []
    for path, entry in report["files"].items():
        out += ["TN:", f"SF:{path}"]
        out += [f"DA:{line},{int(hit)}" for line, hit in entry["lines"].items()]
        for i, b in enumerate(entry["branches"]):
            out += [f"BRDA:{b['line']},{i},0,{int(b['true'])}", f"BRDA:{b['line']},{i},1,{int(b['false'])}"]
        lh, lt, bh, bt = summary(entry)
        out += [f"LH:{lh}", f"LF:{lt}", f"BRH:{bh}", f"BRF:{bt}", "end_of_record"]
    return "\n".join(out) + "\n"


def update_doc(doc: Path, body: str) -> None:
    if not doc.is_file():
        doc.parent.mkdir(parents=True, exist_ok=True)
        doc.write_text(f"# Testing\n\n## Contract coverage\n\n{BEGIN}\n{END}\n")
    text = doc.read_text()
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n## Contract coverage\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{body}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--raw", type=Path, default=ROOT / "reports" / "coverage")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "testing.md")
    parser.add_argument("--note", default="", help="a line printed under the table (e.g. run time)")
    args = parser.parse_args()

    report = coverage(args.raw)
    body = table(report)
    (ROOT / "reports" / "coverage.json").write_text(json.dumps(report, indent=1) + "\n")
    (ROOT / "reports" / "coverage.lcov").write_text(lcov(report))
    s, left_out = report["stats"], report["without_code"]
    note = (f"\n\nLines: first lines of statements; branches: both sides of every `if` and `?:`. "
            f"From {int(s.get('transactions', 0)):,} transactions, {int(s.get('calls', 0)):,} "
            f"calls ({int(s.get('calls_sampled_out', 0)):,} repeats of an identical call skipped "
            f"once they added nothing) and {int(s.get('estimates', 0)):,} reverted gas estimates "
            f"of `ape test tests`, "
            f"replayed with the node's tracer (`make coverage`). Not counted: {left_out['lines']} "
            f"statement lines and {left_out['branches']} branch points that keep no instruction "
            f"of their own in the via-IR optimized bytecode. {args.note}").rstrip()
    update_doc(args.doc, body + note)
    print(body + note)


if __name__ == "__main__":
    main()
