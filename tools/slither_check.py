#!/usr/bin/env python3
"""Static analysis gate: slither on the project's contracts, offline, failing on untriaged
High/Medium findings.

1. Writes a solc standard-JSON input (`.build/slither-input.json`) for every `contracts/**/*.sol`
   except the mocks under `contracts/test/`, with the compiler settings and remappings of
   `ape-config.yaml`. Only the ASTs are requested: slither works on the AST, and asking for
   bytecode would make solc-js run the via-IR optimizer for nothing (about 30 s, same findings).
2. Runs slither on it exactly as `slither .build/slither-input.json` would (same argument parsing,
   so `slither.config.json` applies): crytic-compile's `solc-json` platform pipes the input to the
   offline solc-js shim `.tools/solcx/solc-v<version>` (`--standard-json`); solc-select is
   never asked for a compiler.
3. Matches every High/Medium finding against the table in `docs/slither-triage.md`
   (detector + `Contract.function[.variable]` glob) and exits 1 if one is not triaged.

Usage: python tools/slither_check.py [--solc PATH] [--triage FILE]
"""
from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import logging
import os
import re
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
GATED = ("High", "Medium")


def standard_json_input(root: Path) -> dict:
    sol = yaml.safe_load((root / "ape-config.yaml").read_text()).get("solidity", {})
    sources = sorted(
        p for p in glob.glob("contracts/**/*.sol", root_dir=root, recursive=True)
        if not p.startswith("contracts/test/")
    )
    settings: dict = {
        "remappings": list(sol.get("import_remapping", [])),
        "optimizer": {"enabled": bool(sol.get("optimize", True)), "runs": int(sol.get("optimization_runs", 200))},
        "viaIR": bool(sol.get("via_ir", False)),
        # AST only: no code generation (see the module docstring).
        "outputSelection": {"*": {"": ["ast"]}},
    }
    if sol.get("evm_version"):
        settings["evmVersion"] = sol["evm_version"]
    return {"language": "Solidity", "sources": {p: {"urls": [p]} for p in sources}, "settings": settings}


def load_triage(path: Path) -> list[tuple[str, str, str]]:
    """Rows `| detector | impact | location glob | disposition |` of the triage table."""
    rows = []
    for line in path.read_text().splitlines():
        cells = [c.strip().strip("`").strip() for c in line.strip().strip("|").split("|")]
        if not line.lstrip().startswith("|") or len(cells) < 4:
            continue
        detector, _impact, location, disposition = cells[0], cells[1], cells[2], " ".join(cells[3:])
        if detector.lower() in ("detector", "") or set(detector) <= set("-: "):
            continue
        if not disposition:
            sys.exit(f"{path}: triage row for {detector} {location} has no written reason")
        rows.append((detector, location, disposition))
    return rows


def location_of(result: dict) -> tuple[str, str]:
    """`Contract.function[.variable]` of a finding's first element, and `file#lines`."""
    element = result["elements"][0] if result.get("elements") else {}
    where = ""
    sm = element.get("source_mapping") or {}
    if sm:
        lines = sm.get("lines") or [0]
        where = f"{sm.get('filename_relative', '?')}#{lines[0]}" + (f"-{lines[-1]}" if len(lines) > 1 else "")
    names = []
    node = element
    while node:
        if node.get("type") != "node":  # a statement: name it by its function instead
            names.append(node.get("name", "?").split("(")[0])
        node = (node.get("type_specific_fields") or {}).get("parent")
    return ".".join(reversed(names)) or where, where


class IRFailures(logging.Filter):
    """Collects slither's "Impossible to generate IR for X (file#lines)" errors instead of printing
    them: in dependencies they are a known slither limitation (OpenZeppelin 5's
    `using TransientSlot for *` in ReentrancyGuardTransient), in our code they would mean the
    analysis of that function is incomplete, which fails the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[tuple[str, str]] = []

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        m = re.match(r"Impossible to generate IR for (\S+) \(([^#)]+)", msg)
        if not m:
            return True
        self.items.append((m.group(1), m.group(2)))
        return False


def run_slither(input_path: Path, solc: str) -> tuple[list, list[dict]]:
    from slither.__main__ import choose_detectors, get_detectors_and_printers, parse_args, process_all

    detectors, printers = get_detectors_and_printers()
    argv = sys.argv
    sys.argv = ["slither", str(input_path), "--solc", solc]
    try:
        args = parse_args(detectors, printers)  # reads slither.config.json like the CLI does
    finally:
        sys.argv = argv
    chosen = [d for d in choose_detectors(args, detectors) if d.IMPACT.name.capitalize() in GATED]
    instances, results, _, _ = process_all(args.filename, args, chosen, [])
    return instances, results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--solc", help="solc executable (default: the offline shim .tools/solcx/solc-v<version>)")
    ap.add_argument("--triage", default="docs/slither-triage.md")
    opts = ap.parse_args()
    os.chdir(ROOT)
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")

    version = yaml.safe_load(Path("ape-config.yaml").read_text())["solidity"]["version"]
    solc = opts.solc or str(ROOT / ".tools" / "solcx" / f"solc-v{version}")
    if not os.access(solc, os.X_OK):
        sys.exit(f"no solc at {solc} (run `make setup`)")
    input_path = Path(".build/slither-input.json")
    input_path.parent.mkdir(exist_ok=True)
    spec = standard_json_input(ROOT)
    input_path.write_text(json.dumps(spec, indent=1) + "\n")

    ir_failures = IRFailures()
    logging.getLogger("ContractSolcParsing").addFilter(ir_failures)
    started = time.monotonic()
    from crytic_compile.platform.exceptions import InvalidCompilation

    try:
        instances, results = run_slither(input_path, solc)
    except InvalidCompilation as exc:
        print(f"error: the contracts do not compile for slither:\n{exc}")
        return 1
    elapsed = time.monotonic() - started

    contracts = [c for sl in instances for c in sl.contracts]
    ours = sorted({c.name for c in contracts if c.source_mapping.filename.relative.startswith("contracts/")})
    files = {c.source_mapping.filename.relative for c in contracts}
    declares = re.compile(r"^\s*(abstract\s+)?(contract|library|interface)\s+\w+", re.M)
    missing = [p for p in spec["sources"] if p not in files and declares.search(Path(p).read_text())]
    print(f"slither analysed {len(contracts)} contracts in {elapsed:.1f} s: {len(ours)} from contracts/ "
          f"({len(spec['sources'])} files, mocks in contracts/test excluded), the rest OpenZeppelin")
    if missing:
        print(f"error: slither saw no contract in {missing}")
        return 1
    dep_failures = sorted({f for f, path in ir_failures.items if "node_modules/" in path})
    own_failures = sorted({f"{f} ({path})" for f, path in ir_failures.items if "node_modules/" not in path})
    if dep_failures:
        print(f"note: slither could not build its IR for {len(dep_failures)} dependency function(s) "
              f"({', '.join(dep_failures)}); a known slither limitation, our code is unaffected")
    if own_failures:
        print("error: slither could not build its IR for our own code, the analysis would be incomplete:\n  "
              + "\n  ".join(own_failures))
        return 1

    triage = load_triage(Path(opts.triage))
    used: set[int] = set()
    rows, untriaged = [], 0
    for r in sorted(results, key=lambda r: (GATED.index(r["impact"]), r["check"], location_of(r))):
        loc, where = location_of(r)
        hit = next((i for i, (det, pat, _) in enumerate(triage)
                    if det == r["check"] and fnmatch.fnmatchcase(loc, pat)), None)
        if hit is None:
            untriaged += 1
            rows.append((r["check"], r["impact"], loc, where, "UNTRIAGED"))
            print(f"\nUNTRIAGED {r['impact']} {r['check']}:\n{r['description'].rstrip()}")
        else:
            used.add(hit)
            rows.append((r["check"], r["impact"], loc, where, "triaged"))

    if rows:
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        print()
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4])
    for i, (det, pat, _) in enumerate(triage):
        if i not in used:
            print(f"note: triage entry `{det}` `{pat}` matched nothing (stale?)")
    print(f"\n{len(rows)} High/Medium finding(s), {untriaged} untriaged "
          f"(triage: {opts.triage}; config: slither.config.json)")
    return 1 if untriaged else 0


if __name__ == "__main__":
    sys.exit(main())
