"""`ape run bench [--network ...] [--repeats N] [--transfers N] [--only PREFIX ...] [--merge]`:
measure gas and throughput, print the table with goals and write the flat ``reports/bench.json``
(with ``--merge``, into the figures already there).

Logic lives in :mod:`smartccp.bench.core`.
"""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from smartccp.bench.core import BENCH_JSON, BenchContext, merged, render, run_bench, write_json
from smartccp.chain.accounts import role_accounts


@click.command(cls=ConnectedProviderCommand)
@click.option("--repeats", default=11, show_default=True, help="Repetitions per gas figure")
@click.option("--transfers", default=100, show_default=True, help="Transfers timed for e2e rate")
@click.option("--only", multiple=True, help="Measurement name prefix to run (repeatable)")
@click.option("--out", type=click.Path(path_type=Path), default=BENCH_JSON, show_default=True)
@click.option("--merge", is_flag=True, help="Keep the figures already in --out that this run did not measure")
def cli(repeats: int, transfers: int, only: tuple[str, ...], out: Path, merge: bool) -> None:
    """Run every registered measurement; unmeasured figures are written as null."""
    ctx = BenchContext(roles=role_accounts(), repeats=repeats, e2e_transfers=transfers)
    figures = run_bench(ctx, only=list(only) or None)
    if merge:
        figures = merged(figures, out)
    click.echo(render(figures))
    click.echo(f"\nwritten to {write_json(figures, out)}")
    for name, error in ctx.errors.items():
        click.echo(f"\nmeasurement {name} failed:\n{error}", err=True)
    if ctx.errors:
        raise click.ClickException(f"measurements failed: {', '.join(ctx.errors)}")
