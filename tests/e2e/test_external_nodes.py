"""SmartCCP on nodes started outside the test process: anvil at a URL and Hardhat's node (a second
EVM implementation), reached only through standard JSON-RPC.

Per node: ``ape run deploy`` from a deployment file with ten-second cycles (tests/ops/day.yaml);
a keeper process (``ape run ops keeper``) and a participant process (``day_client.py``) run a
trading day in real time (session opened, a continuous trade, the closing auction, prices, the
margin run, settlement after the cycle's real end), a third process reattaches the registry
(``ape run ops status`` / ``settle``); and the demo runs through (``ape run demo --network URL``,
a short burst of simulated flow). The node's own log shows that nothing moved its clock: no
``evm_*``, ``anvil_*`` or ``hardhat_*`` method was called.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from smartccp.privacy.records import DEV_REGULATOR_KEY

ROOT = Path(__file__).resolve().parents[2]
DAY_SPEC = ROOT / "tests" / "ops" / "day.yaml"
NODES = {
    "anvil": lambda port: [str(ROOT / "tools/bin/anvil"), "--port", str(port)],
    "hardhat": lambda port: [str(ROOT / "node_modules/.bin/hardhat"), "--config", "tools/hardhat/hardhat.config.js",
                             "node", "--port", str(port)],
}
#: JSON-RPC methods that would change a node's state outside of transactions (its clock above all).
FORBIDDEN = re.compile(r"\b(evm_\w+|anvil_\w+|hardhat_\w+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ready(url: str) -> bool:
    try:
        return requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                             timeout=1).ok
    except requests.RequestException:
        return False


@pytest.fixture(scope="module", params=sorted(NODES))
def node(request, tmp_path_factory):
    """A node process of its own (not ape's): (name, url, log file)."""
    port = _free_port()
    log = tmp_path_factory.mktemp(request.param) / "node.log"
    env = {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"}
    with log.open("w") as out:
        proc = subprocess.Popen(NODES[request.param](port), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while not _ready(url):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"{request.param} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.25)
    yield request.param, url, log
    proc.terminate()
    proc.wait(timeout=10)


APE = str(Path(sys.executable).with_name("ape"))


def _env(**extra: str) -> dict:
    """A child's environment: no SMARTCCP_ variables (so the dev mnemonic names the accounts)."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SMARTCCP_")}, **extra}


def _ape(*args: str, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([APE, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env or _env())


def _no_clock_moves(log: Path) -> None:
    text = ANSI.sub("", log.read_text())
    moved = sorted(set(FORBIDDEN.findall(text)))
    assert not moved, f"non-standard state-changing JSON-RPC methods were called: {moved}"
    assert "eth_sendRawTransaction" in text, "the node's log shows no transaction: is it the node the test used?"


def test_day__deploy_keeper_and_a_participant__settle_after_the_cycles_real_end(node, tmp_path):
    name, url, log = node
    registry = str(tmp_path / "registry.json")
    net = ("--network", url, "--registry", registry)
    deployed = _ape("run", "deploy", "--file", str(DAY_SPEC), *net)
    assert deployed.returncode == 0, deployed.stderr[-3000:]
    assert "security:ACME      deployed" in deployed.stdout
    again = _ape("run", "deploy", "--file", str(DAY_SPEC), *net)
    assert again.returncode == 0 and again.stdout.count("exists") == 6, again.stdout
    assert " deployed" not in again.stdout, f"a second deploy deployed something:\n{again.stdout}"

    keeper = subprocess.Popen([APE, "run", "ops", "keeper", "--until-settled", "all", *net], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    client = subprocess.run([sys.executable, str(ROOT / "tests/e2e/day_client.py"), url, registry], cwd=ROOT,
                            capture_output=True, text=True, timeout=150, env=_env())
    try:
        out, _ = keeper.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        keeper.kill()
        out, _ = keeper.communicate()
        pytest.fail(f"the keeper did not finish the day:\n{out[-4000:]}")
    assert client.returncode == 0, client.stderr[-3000:]
    did = json.loads(client.stdout.strip().splitlines()[-1])
    assert did["continuous"] or did["auction"], did
    assert keeper.returncode == 0, out[-4000:]
    for op in ("open", "close", "uncross", "prices", "margin", "settle"):
        assert re.search(rf"\] {op}\s+done", out), f"{name}: the keeper never ran {op}:\n{out[-4000:]}"
    assert "SETTLED" in out

    status = _ape("run", "ops", "status", *net)  # a further process reattaches
    assert status.returncode == 0 and "ops-test-day: chain time" in status.stdout, status.stderr[-2000:]
    assert "open, settles" not in status.stdout
    settle = _ape("run", "ops", "settle", *net)
    assert settle.returncode == 0 and "no traded cycle left to settle" in settle.stdout, settle.stdout
    missing = _ape("run", "ops", "keeper", "--network", url, "--registry", str(tmp_path / "none.json"))
    assert missing.returncode != 0 and "run `ape run deploy` first" in missing.stderr + missing.stdout
    _no_clock_moves(log)


def test_demo__runs_through_in_real_time(node, tmp_path):
    name, url, log = node
    out = tmp_path / "demo.json"
    run = _ape("run", "demo", "--network", url, "--out", str(out), "--registry", str(tmp_path / "registry.json"),
               timeout=300, env=_env(SMARTCCP_DEMO_SIM_ORDERS="30"))
    assert run.returncode == 0, f"{name}: {run.stdout[-4000:]}\n{run.stderr[-2000:]}"
    report = json.loads(out.read_text())
    assert report["ok"] and "real time" in run.stdout
    # The regulator's tool reattaches and names both owners of the demo's pseudonymous trade.
    private = DEV_REGULATOR_KEY.private.secret.hex()
    regulator = _ape("run", "regulator", "--network", url, "--registry", str(tmp_path / "registry.json"),
                     "--out", str(tmp_path / "regulator.json"), env=_env(SMARTCCP_RECORD_KEY=private))
    assert regulator.returncode == 0, regulator.stdout[-2000:] + regulator.stderr[-2000:]
    pseudonymous = [t for t in json.loads((tmp_path / "regulator.json").read_text()) if t["buyer"]["pseudonymous"]]
    privacy = next(st for st in report["steps"] if st["name"] == "privacy")["data"]["pseudonyms"]
    assert [(t["buyer"]["address"], t["seller"]["address"]) for t in pseudonymous] == \
        [(privacy["member_b"], privacy["member_a"])]
    _no_clock_moves(log)
