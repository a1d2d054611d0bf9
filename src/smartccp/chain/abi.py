"""The contracts' interfaces as plain files for clients outside Python (``make abi`` → ``abi/``).

Read from ape's build output (``.build/__local__.json``, written by ``ape compile``), so no
compiler or ape session is needed here:

- ``<Contract>.json``: the ABI (a JSON array) of every production contract: each contract under
  ``contracts/`` that deploys, leaving out mocks (``contracts/test/``), interfaces, libraries and
  abstract bases (their functions, events and errors are in the ABIs of the contracts that use them);
- ``errors.json``: selector (``0x`` + 8 hex) -> ``{name, signature, inputs, contracts}`` of every
  custom error those ABIs declare, OpenZeppelin's inherited ones included; ``contracts`` names
  the contracts whose ABI declares it (an error can also reach a caller through another
  contract, e.g. Margin's ``InsufficientMargin`` out of a venue's ``placeOrder``);
- ``signatures.json``: per contract, each function's full signature with tuples spelled out
  (``signature`` for ``cast send`` / ``cast calldata``, ``call`` with the return types for
  ``cast call``) and selector, and each event's signature and topic.

:func:`abi_files` builds them all as JSON values; :func:`write_files` writes them and
:func:`stale_files` says which files on disk differ (the check that ``abi/`` is current).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eth_utils import keccak

BUILD_MANIFEST = Path(".build") / "__local__.json"
ERRORS_FILE = "errors.json"
SIGNATURES_FILE = "signatures.json"
#: Sources under these folders never deploy as production contracts.
NOT_PRODUCTION = ("contracts/test/", "contracts/interfaces/", "contracts/libraries/", "contracts/types/")

Abi = list[dict[str, Any]]


class SelectorClash(ValueError):
    """Two different errors share a 4-byte selector: a client could not tell them apart."""


# ─── Reading the build ───────────────────────────────────────────────────────────────────────


def load_manifest(path: Path = BUILD_MANIFEST) -> dict[str, Any]:
    """ape's package manifest of the compiled project (``contractTypes``, ``sources``)."""
    if not path.exists():
        raise FileNotFoundError(f"no build output at {path}: run `ape compile` (or `make compile`) first")
    return json.loads(path.read_text())


def _is_library(name: str, source: str) -> bool:
    return re.search(rf"^\s*library\s+{re.escape(name)}\b", source, re.MULTILINE) is not None


def production_abis(manifest: Mapping[str, Any]) -> dict[str, Abi]:
    """Contract name -> ABI of every production contract, sorted by name: compiled from a source
    under ``contracts/`` outside ``NOT_PRODUCTION``, with creation code (so not abstract), and
    not a library."""
    sources = manifest.get("sources", {})
    out: dict[str, Abi] = {}
    for name, ct in sorted(manifest["contractTypes"].items()):
        source_id = ct.get("sourceId") or ""
        if not source_id.startswith("contracts/") or source_id.startswith(NOT_PRODUCTION):
            continue
        code = (ct.get("deploymentBytecode") or {}).get("bytecode") or "0x"
        if len(code) <= 2 or _is_library(name, sources.get(source_id, {}).get("content", "")):
            continue
        out[name] = ct["abi"]
    return out


# ─── Signatures ──────────────────────────────────────────────────────────────────────────────


def canonical_type(param: Mapping[str, Any]) -> str:
    """A parameter's canonical ABI type, tuples spelled out: ``(address,uint256)[]``."""
    kind = param["type"]
    if not kind.startswith("tuple"):
        return kind
    inner = ",".join(canonical_type(c) for c in param.get("components", []))
    return f"({inner}){kind[len('tuple'):]}"


def signature(item: Mapping[str, Any]) -> str:
    """``name(type1,type2)`` of a function, event or error (what its selector is taken of)."""
    return item["name"] + "(" + ",".join(canonical_type(p) for p in item.get("inputs", [])) + ")"


def call_signature(item: Mapping[str, Any]) -> str:
    """``name(inputs)(outputs)``: what ``cast call`` takes to decode a function's result."""
    return signature(item) + "(" + ",".join(canonical_type(p) for p in item.get("outputs", [])) + ")"


def selector(sig: str) -> str:
    """The 4-byte selector of a signature, as ``0x`` + 8 hex digits."""
    return "0x" + keccak(text=sig)[:4].hex()


def topic(sig: str) -> str:
    """An event's topic 0: the full keccak-256 of its signature."""
    return "0x" + keccak(text=sig).hex()


def _keyed(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Items by name, or by full signature for every overload of a name used twice."""
    names = [i["name"] for i in items]
    return {(i["name"] if names.count(i["name"]) == 1 else signature(i)): i for i in items}


def contract_signatures(abi: Abi) -> dict[str, Any]:
    """``{functions: {name: {signature, call, selector, stateMutability}}, events: {name:
    {signature, topic}}}`` of one ABI; an overloaded name is keyed by each full signature."""
    functions = _keyed([i for i in abi if i["type"] == "function"])
    events = _keyed([i for i in abi if i["type"] == "event"])
    return {
        "functions": {k: {"signature": signature(f), "call": call_signature(f), "selector": selector(signature(f)),
                          "stateMutability": f.get("stateMutability", "nonpayable")}
                      for k, f in sorted(functions.items())},
        "events": {k: {"signature": signature(e), "topic": topic(signature(e))} for k, e in sorted(events.items())},
    }


# ─── Errors ──────────────────────────────────────────────────────────────────────────────────


def error_table(abis: Mapping[str, Abi]) -> dict[str, dict[str, Any]]:
    """Selector -> ``{name, signature, inputs, contracts}`` over the custom errors of ``abis``
    (sorted by selector; ``contracts`` sorted). Raises :class:`SelectorClash` if two different
    errors share a selector."""
    table: dict[str, dict[str, Any]] = {}
    for contract, abi in abis.items():
        for item in abi:
            if item["type"] != "error":
                continue
            sig = signature(item)
            entry = table.setdefault(selector(sig), {"name": item["name"], "signature": sig,
                                                     "inputs": item.get("inputs", []), "contracts": []})
            if entry["signature"] != sig:
                raise SelectorClash(f"{entry['signature']} and {sig} share selector {selector(sig)}")
            if contract not in entry["contracts"]:
                entry["contracts"].append(contract)
    return {k: {**v, "contracts": sorted(v["contracts"])} for k, v in sorted(table.items())}


# ─── The files ───────────────────────────────────────────────────────────────────────────────


def abi_files(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """File name -> JSON value of everything in ``abi/`` that comes from the build:
    ``<Contract>.json`` per production contract, ``errors.json``, ``signatures.json``."""
    abis = production_abis(manifest)
    files: dict[str, Any] = {f"{name}.json": abi for name, abi in abis.items()}
    files[ERRORS_FILE] = error_table(abis)
    files[SIGNATURES_FILE] = {name: contract_signatures(abi) for name, abi in abis.items()}
    return files


def render(value: Any) -> str:
    """The text a file of ``value`` holds: two-space JSON, newline at the end (stable diffs)."""
    return json.dumps(value, indent=2) + "\n"


def write_files(out_dir: Path, files: Mapping[str, Any]) -> list[Path]:
    """Write ``files`` into ``out_dir`` and remove any other ``*.json`` there (a contract that
    no longer exists); returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.json"):
        if old.name not in files:
            old.unlink()
    written = []
    for name, value in files.items():
        path = out_dir / name
        path.write_text(render(value))
        written.append(path)
    return written


def stale_files(out_dir: Path, files: Mapping[str, Any]) -> list[str]:
    """Names of the files that ``write_files(out_dir, files)`` would change, add or remove."""
    present = {p.name for p in out_dir.glob("*.json")} if out_dir.is_dir() else set()
    changed = [name for name, value in files.items()
               if name not in present or (out_dir / name).read_text() != render(value)]
    return sorted(changed + [name for name in present if name not in files])

