"""Per-network registry of deployed addresses: ``deployments/<ecosystem>-<network>.json``.

The file maps contract names (``Membership``, ``TradeVenue0``, ``Margin``, ...) to addresses, so
``jq -r .TradeVenue0 deployments/ethereum-sepolia.json`` gives a venue's address; one reserved
key, ``meta``, holds what the deployment recorded about itself (chain id, the deployment file,
the cycle length, security ids, the stages done; see :mod:`smartccp.ops.deploy`). The local
network's file is rewritten on every deployment (anvil starts empty each time); for any other
network it is the record of what is live there and is worth committing. A node reached by URL
(ape's ``custom`` network) gets one file per chain id: ``ethereum-custom-<chain id>.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DEPLOYMENTS_DIR = Path("deployments")
META = "meta"


def registry_path(ecosystem: str, network: str, root: Path | None = None, *, chain_id: int | None = None) -> Path:
    """Where the addresses for ``ecosystem``/``network`` are kept (``chain_id`` for a URL's
    ``custom`` network, so two nodes never share a file)."""
    suffix = f"-{chain_id}" if network == "custom" and chain_id is not None else ""
    return (root or DEPLOYMENTS_DIR) / f"{ecosystem}-{network}{suffix}.json"


def save(path: Path, addresses: dict[str, str | list[str]], meta: dict[str, Any] | None = None) -> None:
    """Write the name -> address map and ``meta`` (sorted, stable diffs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = dict(addresses)
    if meta is not None:
        data[META] = meta
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read(path: Path) -> dict[str, Any]:
    """The whole file; a clear error if nothing was deployed there yet."""
    if not path.exists():
        raise FileNotFoundError(f"no deployment recorded at {path}: run `ape run deploy` first")
    return json.loads(path.read_text())


def load(path: Path) -> dict[str, str | list[str]]:
    """Read the name -> address map (without ``meta``)."""
    return {k: v for k, v in read(path).items() if k != META}


def load_meta(path: Path) -> dict[str, Any]:
    """What the deployment recorded about itself (empty for a registry written before ``meta``)."""
    return dict(read(path).get(META, {}))
