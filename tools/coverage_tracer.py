"""pytest plugin: which instructions of the project's contracts the test suite executes.

Loaded by `make coverage` as `ape test -p coverage_tracer` (with `tools/` on PYTHONPATH). It
watches every JSON-RPC request the test process sends to the node over HTTP (web3 through ape,
and SmartCCP's own `requests` client alike) and, right after the node answers, replays

- each sent transaction (`eth_sendRawTransaction`, `eth_sendTransaction`) with
  `debug_traceTransaction`, before a later `evm_revert` can throw it away;
- each `eth_call` with `debug_traceCall` on the same block and state overrides (refusal checks,
  views, the invariant multicall);
- each `eth_estimateGas` that fails (ape raises a reverting transaction from the estimate and
  never sends it, so `ape.reverts` paths run only there).

Each replay asks for the struct logs without stack, memory or storage, and for the call tree
(`callTracer`), which names the code of each frame the logs enter (the stack, ten times the data,
only if the two disagree). A frame's code is matched against the compiled artifacts in
`.build/__local__.json` (creation code by prefix, runtime code up to its immutables). A call
repeated with identical parameters is sampled once its traces stop adding anything. Per contract and per kind
(`creation`/`runtime`) it keeps the set of program counters executed and, for every `JUMPI`,
the pcs that followed it in the same frame (`TRAIL` of them), which tell the report which way
a branch went. At the end each process writes `reports/coverage/raw-<pid>.json` (xdist workers
each write their own); `tools/coverage_report.py` maps them to source lines and branches.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = Path(os.environ.get("COVERAGE_RAW_DIR", ROOT / "reports" / "coverage"))
TRAIL = 24  # pcs kept after each JUMPI (same frame)
# A call repeated with the same calldata (the invariant multicall after every state-machine step,
# the same view read again) is traced until SATURATED traces in a row add nothing, then only
# every RESAMPLE-th time: tracing it in full every time made the suite ten times slower.
SATURATED, RESAMPLE = 3, 25
TRACE_OPTS = {"disableMemory": True, "disableStorage": True, "disableStack": False,
              "enableReturnData": False}
CALL_OPS = {"CALL", "CALLCODE", "DELEGATECALL", "STATICCALL"}
CREATE_OPS = {"CREATE", "CREATE2"}


def params_extra(overrides: dict[str, Any]) -> dict[str, Any]:
    """Tracer options that carry an eth_call's state overrides."""
    return {"stateOverrides": overrides} if overrides else {}


class Artifacts:
    """The project's compiled contracts, to name the code a frame runs."""

    def __init__(self, manifest: Path) -> None:
        types = json.loads(manifest.read_text())["contractTypes"]
        self.creation: list[tuple[str, bytes]] = []
        self.runtime: dict[int, list[tuple[str, bytes]]] = {}
        for name, ct in types.items():
            init = bytes.fromhex((ct.get("deploymentBytecode") or {}).get("bytecode", "0x")[2:])
            code = bytes.fromhex((ct.get("runtimeBytecode") or {}).get("bytecode", "0x")[2:])
            if init:
                self.creation.append((name, init))
            if code:
                self.runtime.setdefault(len(code), []).append((name, code))
        self.creation.sort(key=lambda item: -len(item[1]))
        self._names: dict[bytes, str | None] = {}

    def name_runtime(self, code: bytes) -> str | None:
        """The contract whose runtime code this is: equal except where the artifact has zeros
        (immutables are filled in at deployment)."""
        if code not in self._names:
            found = None
            for name, art in self.runtime.get(len(code), []):
                if art == code or all(a == 0 for a, b in zip(art, code) if a != b):
                    found = name
                    break
            self._names[code] = found
        return self._names[code]

    def name_creation(self, data: bytes) -> str | None:
        """The contract a deployment's data (creation code + constructor arguments) creates."""
        for name, init in self.creation:
            if data.startswith(init):
                return name
        return None


class Recorder:
    """Collects executed pcs and JUMPI trails per (contract, kind)."""

    def __init__(self, url: str, artifacts: Artifacts) -> None:
        self.url = url
        self.artifacts = artifacts
        self.session = requests.Session()
        self.session.trust_env = False
        self.pcs: dict[str, set[int]] = {}
        self.trails: dict[str, set[tuple[int, ...]]] = {}
        self.stats = {"transactions": 0, "calls": 0, "estimates": 0, "failed": 0, "seconds": 0.0,
                      "calls_sampled_out": 0}
        self._repeats: dict[int, list[int]] = {}  # call key -> [seen, traces without news]
        self._news = 0
        self._code: dict[str, bytes] = {}

    def rpc(self, method: str, params: list[Any]) -> Any:
        reply = self.session.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method,
                                                  "params": params}, timeout=600).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def code_at(self, address: str, overrides: dict[str, Any]) -> bytes:
        address = address.lower()
        for key, value in (overrides or {}).items():
            if key.lower() == address and value.get("code"):
                return bytes.fromhex(value["code"][2:])
        if address not in self._code:  # addresses are fresh per deployment: cache is safe
            code = bytes.fromhex(self.rpc("eth_getCode", [address, "latest"])[2:])
            if not code:
                return code  # not cached: an address may get code later
            self._code[address] = code
        return self._code[address]

    def key_for(self, address: str | None, overrides: dict[str, Any], init: bytes = b"") -> str | None:
        if address is None:
            name = self.artifacts.name_creation(init)
            return f"{name}:creation" if name else None
        name = self.artifacts.name_runtime(self.code_at(address, overrides))
        return f"{name}:runtime" if name else None

    # ── tracing ──────────────────────────────────────────────────────────────────────────
    def entered(self, tree: dict[str, Any], overrides: dict[str, Any]) -> list[str | None]:
        """The code key of every frame that runs code below the root, in the order they are
        entered (preorder of the call tree): calls to precompiles and accounts without code
        open no frame in the struct logs, so they are left out."""
        keys: list[str | None] = []
        for child in tree.get("calls") or []:
            kind, to = child.get("type", "CALL"), child.get("to") or ""
            if kind in CREATE_OPS:
                keys.append(self.key_for(None, overrides, bytes.fromhex(child.get("input", "0x")[2:])))
            elif int(to, 16) > 0x100 and self.code_at(to, overrides):
                keys.append(self.key_for(to, overrides))
            else:
                continue
            keys.extend(self.entered(child, overrides))
        return keys

    def replay(self, method: str, params: list[Any], root: str | None, overrides: dict[str, Any]) -> None:
        """Struct logs without stack, memory or storage (a tenth of the data) and the call tree,
        which names each frame's code; with the stack as fallback if the two disagree."""
        tree = self.rpc(method, params + [{**params_extra(overrides), "tracer": "callTracer"}])
        logs = self.rpc(method, params + [{**params_extra(overrides), **TRACE_OPTS,
                                           "disableStack": True}])["structLogs"]
        frames = self.entered(tree, overrides)
        opened = sum(1 for a, b in zip(logs, logs[1:]) if b["depth"] > a["depth"])
        if opened != len(frames) or os.environ.get("COVERAGE_TRACER_STACK"):
            self.stats["stack_fallbacks"] = self.stats.get("stack_fallbacks", 0) + 1
            logs = self.rpc(method, params + [{**params_extra(overrides), **TRACE_OPTS}])["structLogs"]
            frames = None
        self.walk(logs, root, overrides, frames)

    def transaction(self, txn_hash: str) -> None:
        started = time.perf_counter()
        try:
            # The node answers eth_sendRawTransaction before it has mined the transaction (even
            # with automine): a trace asked for too early comes back empty.
            for _ in range(2000):
                if self.rpc("eth_getTransactionReceipt", [txn_hash]) is not None:
                    break
                time.sleep(0.005)
            tx = self.rpc("eth_getTransactionByHash", [txn_hash])
            root = self.key_for(tx.get("to"), {}, bytes.fromhex((tx.get("input") or "0x")[2:]))
            self.replay("debug_traceTransaction", [txn_hash], root, {})
            self.stats["transactions"] += 1
        except Exception:  # noqa: BLE001 - coverage must never fail a test
            self.stats["failed"] += 1
        self.stats["seconds"] += time.perf_counter() - started

    def call(self, tx: dict[str, Any], block: Any, overrides: dict[str, Any], kind: str) -> None:
        repeat = self._repeats.setdefault(hash(json.dumps([tx, overrides], sort_keys=True)), [0, 0])
        repeat[0] += 1
        if repeat[1] >= SATURATED and repeat[0] % RESAMPLE:
            self.stats["calls_sampled_out"] += 1
            return
        started = time.perf_counter()
        self._news = 0
        try:
            data = bytes.fromhex((tx.get("data") or tx.get("input") or "0x")[2:])
            root = self.key_for(tx.get("to"), overrides, data)
            self.replay("debug_traceCall", [tx, block], root, overrides)
            self.stats[kind] += 1
            repeat[1] = 0 if self._news else repeat[1] + 1
        except Exception:  # noqa: BLE001
            self.stats["failed"] += 1
        self.stats["seconds"] += time.perf_counter() - started

    def walk(self, logs: list[dict[str, Any]], root: str | None, overrides: dict[str, Any],
             entered: list[str | None] | None) -> None:
        """Split the struct logs into frames and record each frame's pcs and JUMPI trails. A new
        frame's code comes from `entered` (the call tree) or else from the call op's stack."""
        frames: list[tuple[str | None, list[list[int]]]] = [(root, [])]  # key, open trails
        queue = iter(entered or [])
        pending: str | None = None  # code key of the frame a call op is about to enter
        depth = logs[0]["depth"] if logs else 1
        for step in logs:
            d = step["depth"]
            if d > depth:
                frames.append((next(queue) if entered is not None else pending, []))
            elif d < depth:
                for _ in range(depth - d):
                    self._close(frames.pop())
            depth = d
            key, trails = frames[-1]
            pc, op = step["pc"], step["op"]
            if key is not None:
                seen = self.pcs.setdefault(key, set())
                if pc not in seen:
                    seen.add(pc)
                    self._news += 1
                for trail in trails:
                    trail.append(pc)
                if len(trails) and len(trails[0]) > TRAIL:
                    self._keep(key, trails.pop(0))
                if op == "JUMPI":
                    trails.append([pc])
            if entered is None and op in CALL_OPS:
                target = "0x" + step["stack"][-2][2:].rjust(40, "0")[-40:]
                pending = self.key_for(target, overrides)
            elif entered is None and op in CREATE_OPS:
                pending = None  # the project's contracts create none
        while frames:
            self._close(frames.pop())

    def _keep(self, key: str, trail: list[int]) -> None:
        kept = self.trails.setdefault(key, set())
        if (t := tuple(trail)) not in kept:
            kept.add(t)
            self._news += 1

    def _close(self, frame: tuple[str | None, list[list[int]]]) -> None:
        key, trails = frame
        if key is not None:
            for trail in trails:
                self._keep(key, trail)

    def dump(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "stats": self.stats,
            "pcs": {k: sorted(v) for k, v in sorted(self.pcs.items())},
            "trails": {k: sorted(v) for k, v in sorted(self.trails.items())},
        }))


_RECORDER: Recorder | None = None
_LOCAL = threading.local()
_ORIGINAL_SEND = requests.Session.send


TRACED = ("eth_sendRawTransaction", "eth_sendTransaction", "eth_call", "eth_estimateGas")


def _observe(url: str, request: dict[str, Any], reply: dict[str, Any]) -> None:
    global _RECORDER
    method, params = request["method"], request.get("params") or []
    if _RECORDER is None:
        _RECORDER = Recorder(url, Artifacts(ROOT / ".build" / "__local__.json"))
    if _RECORDER.url != url:
        return  # another node (a second anvil of a test): not traced
    block = params[1] if len(params) > 1 else "latest"
    if method in ("eth_sendRawTransaction", "eth_sendTransaction"):
        if "result" in reply:
            _RECORDER.transaction(reply["result"])
    elif method == "eth_call":
        _RECORDER.call(params[0], block, params[2] if len(params) > 2 else {}, "calls")
    elif "error" in reply:  # eth_estimateGas that reverts: the transaction is never sent
        _RECORDER.call(params[0], block, {}, "estimates")


def _send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
    response = _ORIGINAL_SEND(self, request, **kwargs)
    if getattr(_LOCAL, "busy", False) or request.method != "POST" or not request.body:
        return response
    try:
        _LOCAL.busy = True
        body = json.loads(request.body)
        if isinstance(body, dict) and body.get("method") in TRACED:
            _observe(request.url or "", body, response.json())
    except Exception:  # noqa: BLE001 - never disturb the test
        pass
    finally:
        _LOCAL.busy = False
    return response


def pytest_configure(config: pytest.Config) -> None:
    requests.Session.send = _send  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    requests.Session.send = _ORIGINAL_SEND  # type: ignore[method-assign]
    if _RECORDER is not None:
        _RECORDER.dump(OUT_DIR / f"raw-{os.getpid()}.json")
        s = _RECORDER.stats
        print(f"\ncoverage_tracer: traced {s['transactions']} transactions, {s['calls']} calls "
              f"({s['calls_sampled_out']} repeats skipped), {s['estimates']} failed estimates "
              f"({s['failed']} not traceable) in {s['seconds']:.0f} s")
