"""`ape run ops <command> [--network ...]`: the daily operations of a deployed SmartCCP.

Each command reattaches to the deployment recorded for the network (``ape run deploy``), checks
that its time has come and that it has not run yet, and says what it did or why it did nothing.
Nothing here moves the chain's clock. Logic: :mod:`smartccp.ops`.
"""

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from ape.cli import ConnectedProviderCommand

from smartccp.chain.receipts import use_lean_client
from smartccp.ops.clock import Clock
from smartccp.ops.daily import Operations, Outcome
from smartccp.ops.deploy import attach
from smartccp.ops.keeper import Keeper
from smartccp.ops.recalibrate import recalibrate as recalibrate_
from smartccp.ops.spec import SpecError
from smartccp.types import CyclePhase


def _command(fn: Callable[..., Any]) -> click.Command:
    """An ops command: connected, with ``--registry``, turning setup errors into clear messages."""

    @click.option("--registry", type=click.Path(path_type=Path), help="Registry file (default: the network's)")
    @wraps(fn)
    def run(registry: Path | None, **kw: Any) -> None:
        use_lean_client()
        try:
            dep = attach(registry)
            clock = Clock(warp=kw.pop("warp", False), heartbeat=dep.account("keeper"), say=click.echo)
        except (FileNotFoundError, LookupError, RuntimeError, SpecError) as e:  # DeploymentError included
            raise click.ClickException(str(e)) from e
        ops = Operations(dep, clock)
        result = fn(ops, **kw)
        for out in result if isinstance(result, list) else [result]:
            click.echo(out.line() if isinstance(out, Outcome) else out)

    return cli.command(cls=ConnectedProviderCommand, name=fn.__name__.rstrip("_"))(run)


@click.group()
def cli() -> None:
    """Daily operations of a deployed SmartCCP (see docs/operations.md)."""


@_command
def status(ops: Operations) -> list[str]:
    """Chain time, the cycle, every book's phase, open cycles and margin calls."""
    return ops.status()


@_command
def open_(ops: Operations) -> Outcome:
    """Open today's session: continuous trading on every venue until the closing auction."""
    return ops.open()


@_command
def close(ops: Operations) -> Outcome:
    """Start the closing call auction (from the session's close time)."""
    return ops.close()


@_command
def uncross(ops: Operations) -> Outcome:
    """Uncross the closing auctions (once their collection time is over)."""
    return ops.uncross()


@_command
def prices(ops: Operations) -> Outcome:
    """Publish today's settlement prices (after the closing auctions)."""
    return ops.prices()


@_command
def margin(ops: Operations) -> Outcome:
    """Refresh every member's margin at today's settlement prices (calls included)."""
    return ops.margin()


@_command
def recalibrate(ops: Operations) -> Outcome:
    """Recalibrate the scenarios with the members' books (the timelock publishes it after its delay)."""
    return recalibrate_(ops)


@_command
@click.option("--cycle", type=int, help="Only this cycle")
def settle(ops: Operations, cycle: int | None) -> Outcome:
    """Settle every traded cycle whose settlement time has passed."""
    return ops.settle(cycle)


@_command
@click.argument("member", required=False)
def declare(ops: Operations, member: str | None) -> Outcome:
    """Declare members with an overdue margin call in default; or MEMBER (default manager)."""
    return ops.declare(member)


@_command
@click.option("--once", is_flag=True, help="One pass, then stop")
@click.option("--until-settled", help="Stop once this cycle is settled; 'all': once it has settled a cycle "
              "and none is left open")
@click.option("--passes", type=int, default=10_000, show_default=True, help="Stop after this many passes")
@click.option("--warp", is_flag=True, help="Local test chain only: move the clock instead of waiting")
def keeper(ops: Operations, once: bool, until_settled: str | None, passes: int) -> list[str]:
    """Perform whatever is due, wait for the next due time, repeat."""
    k = Keeper(ops, say=click.echo)
    until = None
    if until_settled == "all":
        def until() -> bool:
            return bool(k.log.did("settle")) and not ops.open_cycles()
    elif until_settled is not None:
        def until() -> bool:
            return CyclePhase(int(ops.s.ccp.cycleInfo(int(until_settled))[0])) == CyclePhase.SETTLED
    k.run(until=until, max_passes=1 if once else passes)
    return [f"keeper: {k.log.passes} passes, {len(k.log.actions)} actions, {k.log.transactions} transactions, "
            f"{ops.clock.heartbeats} heartbeats"]
