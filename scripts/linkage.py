"""`ape run linkage [--network ...] [--registry PATH] [--from-block N] [--out PATH]`: what an
outsider with only public chain data links on a deployed SmartCCP (issue #24's linkage test):
the share of trades whose two sides it names and of trading addresses whose owner it names,
per heuristic. Logic: :mod:`smartccp.privacy.linkage`."""

import json
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from smartccp.ops.deploy import attach
from smartccp.ops.spec import SpecError
from smartccp.privacy.linkage import link


@click.command(cls=ConnectedProviderCommand)
@click.option("--registry", type=click.Path(path_type=Path), help="Registry file (default: the network's)")
@click.option("--from-block", "start", type=int, default=0, show_default=True, help="First block of trades to read")
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports/linkage.json"), show_default=True)
def cli(registry: Path | None, start: int, out: Path) -> None:
    try:
        dep = attach(registry)
    except (FileNotFoundError, LookupError, RuntimeError, SpecError) as e:
        raise click.ClickException(str(e)) from e
    report = link(dep.system, start)
    click.echo(report.summary())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report.figures(), indent=2) + "\n")
    click.echo(f"written to {out}")
