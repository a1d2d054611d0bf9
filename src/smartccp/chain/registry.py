"""Per-network registry of deployed addresses: ``deployments/<ecosystem>-<network>.json``.

The local network's file is rewritten on every deployment (anvil starts empty each time); for
any other network it is the record of what is live there and is worth committing.
"""

from __future__ import annotations

import json
from pathlib import Path

DEPLOYMENTS_DIR = Path("deployments")


def registry_path(ecosystem: str, network: str, root: Path | None = None) -> Path:
    """Where the addresses for ``ecosystem``/``network`` are kept."""
    return (root or DEPLOYMENTS_DIR) / f"{ecosystem}-{network}.json"


def save(path: Path, addresses: dict[str, str | list[str]]) -> None:
    """Write the name -> address map (sorted, stable diffs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(addresses, indent=2, sort_keys=True) + "\n")


def load(path: Path) -> dict[str, str | list[str]]:
    """Read a name -> address map; a clear error if nothing was deployed there yet."""
    if not path.exists():
        raise FileNotFoundError(f"no deployment recorded at {path}: run `ape run deploy` first")
    return json.loads(path.read_text())
