"""`ape run drill [SCENARIO] [--network ...] [--profile fast|full] [--out DIR]`: run a drill.

SCENARIO is a bundled scenario name (``normal_day``, ``member_default``,
``settlement_failures``) or a YAML file path; without it the default scenario runs, on the
embedded local anvil unless ``--network`` says otherwise. Logic lives in :mod:`smartccp.drill.runner`.
"""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from smartccp.chain.accounts import role_accounts
from smartccp.chain.receipts import use_lean_client
from smartccp.drill import render, run_drill
from smartccp.sim.scenario import DEFAULT_SCENARIO, PROFILES, load_scenario


@click.command(cls=ConnectedProviderCommand)
@click.argument("scenario", required=False, default=DEFAULT_SCENARIO)
@click.option("--profile", type=click.Choice(PROFILES), default="full", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports"), show_default=True)
@click.option("--quiet", is_flag=True, help="No progress lines")
def cli(scenario: str, profile: str, out: Path, quiet: bool) -> None:
    """Run a trading day (or several) from a scenario; print the report, write JSON and charts."""
    spec = load_scenario(scenario, profile=profile)
    use_lean_client()
    runner, report = run_drill(spec, role_accounts(), out=out, progress=None if quiet else click.echo)
    click.echo("")
    click.echo(render(report))
    click.echo(f"\nreport: {out / f'drill_{spec.name}.json'}")
    for name, path in report.get("charts", {}).items():
        click.echo(f"chart {name}: {path}")
    if not report["ok"]:
        raise click.ClickException(f"invariant checks failed: {report['checks']['failed']}")
