"""`ape run bench_scale [--members N --clients N --securities N --orders N --venues 3 --out
reports/scale.json] [--network URL]`: the scale day (issue #18) with a progress bar; writes the
report and its chart (``reports/scale.png``). Logic lives in :mod:`smartccp.scale`.

Without ``--network`` it starts an anvil of its own (no step tracing: ape's embedded anvil keeps
every opcode step in memory, gigabytes at this size; see :mod:`smartccp.scale.node`) and stops
it at the end. ``--network`` takes the URL of a development node (anvil, chain id 31337: the
roles are its well-known accounts).
"""

from pathlib import Path

import click
from ape import networks

from smartccp.chain.accounts import role_accounts
from smartccp.chain.receipts import use_lean_client
from smartccp.scale.day import run_day
from smartccp.scale.market import ScaleSpec
from smartccp.scale.node import scale_node
from smartccp.scale.report import BarProgress, render, write_report

FULL = ScaleSpec()


@click.command()
@click.option("--members", default=FULL.members, show_default=True, help="Clearing members")
@click.option("--clients", default=FULL.clients, show_default=True, help="Clients, spread over the members")
@click.option("--securities", default=FULL.securities, show_default=True,
              help="Securities, spread over the venues in turn")
@click.option("--orders", default=FULL.orders, show_default=True, help="Orders placed in the continuous session (its cancels come on top)")
@click.option("--venues", default=FULL.venues, show_default=True)
@click.option("--min-positions", default=FULL.min_positions, show_default=True, help="Book of the smallest member")
@click.option("--max-positions", default=FULL.max_positions, show_default=True, help="Book of the largest member")
@click.option("--cycles", default=FULL.cycles, show_default=True,
              help="Settlement cycles the session spreads over (hour-long when more than one)")
@click.option("--seed", default=FULL.seed, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports/scale.json"), show_default=True)
@click.option("--network", "url", default=None, help="URL of a development node (default: start one)")
def cli(members: int, clients: int, securities: int, orders: int, venues: int, min_positions: int,
        max_positions: int, cycles: int, seed: int, out: Path, url: str | None) -> None:
    """Run one scale day; print the figures, write the JSON report and the PNG chart."""
    spec = ScaleSpec(members=members, clients=clients, securities=securities, orders=orders, venues=venues,
                     min_positions=min_positions, max_positions=max_positions, cycles=cycles, seed=seed)
    if url is not None:
        report = _run(spec, url)
    else:
        with scale_node(log=out.with_suffix(".anvil.log")) as node:
            report = _run(spec, node)
    json_path, png_path = write_report(report, out)
    click.echo(render(report))
    click.echo(f"\nreport: {json_path}\nchart: {png_path}")


def _run(spec: ScaleSpec, url: str) -> dict:
    with networks.parse_network_choice(url):
        use_lean_client()
        with BarProgress() as progress:
            return run_day(spec, role_accounts(), progress=progress)
