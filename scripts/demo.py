"""`ape run demo [--network ...] [--out reports/demo.json] [--verbose]`: run the SmartCCP demo.

With no options it runs on the embedded local anvil. Logic lives in :mod:`smartccp.demo.core`.
"""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from smartccp.chain.accounts import role_accounts
from smartccp.chain.receipts import use_lean_client
from smartccp.demo.core import DEMO_JSON, run_demo


@click.command(cls=ConnectedProviderCommand)
@click.option("--out", type=click.Path(path_type=Path), default=DEMO_JSON, show_default=True)
@click.option("--verbose", is_flag=True, help="Show ape's per-transaction log lines")
@click.option("--file", "spec", type=click.Path(path_type=Path), help="Deployment file (default: deployments/demo.yaml "
              "on the local chain, deployments/demo-realtime.yaml on a node reached by URL)")
@click.option("--registry", type=click.Path(path_type=Path), help="Registry file (default: the network's)")
def cli(out: Path, verbose: bool, spec: Path | None, registry: Path | None) -> None:
    """Deploy, trade, clear, settle, run a default drill and a burst of simulated flow; print and
    save the report."""
    use_lean_client()
    report = run_demo(role_accounts(), out=out, quiet=not verbose, spec=spec, registry=registry)
    click.echo(report.render())
    click.echo(f"\nreport written to {out}")
    if not report.ok:
        raise click.ClickException("a demo step failed (see above)")
