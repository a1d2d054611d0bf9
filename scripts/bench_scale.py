"""`ape run bench_scale [--members N --clients N --securities N --orders N --venues 3 --out
reports/scale.json]`: the scale day (issue #18) on the embedded anvil, with a progress bar;
writes the report and its chart (``reports/scale.png``). Logic lives in :mod:`smartccp.scale`.
"""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from smartccp.chain.accounts import role_accounts
from smartccp.chain.receipts import use_lean_client
from smartccp.scale.day import run_day
from smartccp.scale.market import ScaleSpec
from smartccp.scale.report import BarProgress, render, write_report

FULL = ScaleSpec()


@click.command(cls=ConnectedProviderCommand)
@click.option("--members", default=FULL.members, show_default=True, help="Clearing members")
@click.option("--clients", default=FULL.clients, show_default=True, help="Clients, spread over the members")
@click.option("--securities", default=FULL.securities, show_default=True,
              help="Securities listed on every venue (a venue lists at most 256 until VenueCore.MAX_LISTED goes)")
@click.option("--orders", default=FULL.orders, show_default=True, help="Orders of the continuous session")
@click.option("--venues", default=FULL.venues, show_default=True)
@click.option("--min-positions", default=FULL.min_positions, show_default=True, help="Book of the smallest member")
@click.option("--max-positions", default=FULL.max_positions, show_default=True, help="Book of the largest member")
@click.option("--seed", default=FULL.seed, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports/scale.json"), show_default=True)
def cli(members: int, clients: int, securities: int, orders: int, venues: int, min_positions: int,
        max_positions: int, seed: int, out: Path) -> None:
    """Run one scale day; print the figures, write the JSON report and the PNG chart."""
    spec = ScaleSpec(members=members, clients=clients, securities=securities, orders=orders, venues=venues,
                     min_positions=min_positions, max_positions=max_positions, seed=seed)
    use_lean_client()
    with BarProgress() as progress:
        report = run_day(spec, role_accounts(), progress=progress)
    json_path, png_path = write_report(report, out)
    click.echo(render(report))
    click.echo(f"\nreport: {json_path}\nchart: {png_path}")
