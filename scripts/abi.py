"""`ape run abi [--out DIR] [--check]`: write the contracts' interfaces for clients outside
Python into ``abi/`` (what ``make abi`` runs after compiling); `ape run abi order ...`: write an
order's EIP-712 typed data for ``cast wallet sign --data --from-file``.

Needs a compiled build (``ape compile``), no network. Logic lives in :mod:`smartccp.chain.abi`
and :mod:`smartccp.trading.external`; docs/clients.md shows the files in use with cast.
"""

import json
import sys
from pathlib import Path

import click

from smartccp.chain import abi
from smartccp.trading.external import client_files, order_typed_json
from smartccp.trading.orders import Domain, Order
from smartccp.types import OrderType, Route, Side, TimeInForce


def _enum(kind: type) -> click.Choice:
    return click.Choice([m.name.lower() for m in kind], case_sensitive=False)


@click.group(invoke_without_command=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("abi"), show_default=True)
@click.option("--check", is_flag=True, help="Write nothing; fail if the files differ from the build")
@click.pass_context
def cli(ctx: click.Context, out: Path, check: bool) -> None:
    """Write abi/<Contract>.json, errors.json, signatures.json and the Order typed-data template."""
    if ctx.invoked_subcommand is not None:
        return
    files = client_files(abi.load_manifest())
    if check:
        stale = abi.stale_files(out, files)
        if stale:
            raise click.ClickException(f"{out}/ is out of date ({', '.join(stale)}): run `make abi`")
        click.echo(f"{out}/ matches the build ({len(files)} files)")
        return
    for path in abi.write_files(out, files):
        click.echo(str(path))


@cli.command()
@click.option("--venue", required=True, help="The venue's address (its EIP-712 verifyingContract)")
@click.option("--venue-name", required=True, help="The venue's EIP-712 name, e.g. 'SmartCCP Venue A'")
@click.option("--chain-id", type=int, required=True)
@click.option("--owner", required=True, help="The signer's address")
@click.option("--security-id", type=int, required=True)
@click.option("--side", type=_enum(Side), required=True)
@click.option("--quantity", type=int, required=True, help="Whole units")
@click.option("--price", type=int, required=True, help="Cash base units (6 decimals) per unit")
@click.option("--nonce", type=int, required=True, help="Any nonce the owner has not used on this venue")
@click.option("--order-type", type=_enum(OrderType), default="limit", show_default=True)
@click.option("--time-in-force", type=_enum(TimeInForce), default="gtc", show_default=True)
@click.option("--route", type=_enum(Route), default="ccp", show_default=True)
@click.option("--trigger-price", type=int, default=0, show_default=True)
@click.option("--display-quantity", type=int, default=0, show_default=True)
@click.option("--valid-from", type=int, default=0, show_default=True, help="Unix seconds")
@click.option("--expiry", type=int, default=0, show_default=True, help="Unix seconds")
@click.option("--counter", type=int, default=0, show_default=True, help="The owner's counterOf on the venue")
@click.option("--out", type=click.Path(path_type=Path), help="Default: standard output")
def order(venue: str, venue_name: str, chain_id: int, owner: str, security_id: int, side: str, quantity: int,
          price: int, nonce: int, order_type: str, time_in_force: str, route: str, trigger_price: int,
          display_quantity: int, valid_from: int, expiry: int, counter: int, out: Path | None) -> None:
    """Write one order's EIP-712 typed data (JSON, integers as strings) for cast to sign."""
    o = Order(owner=owner, securityId=security_id, side=Side[side.upper()], quantity=quantity, price=price,
              orderType=OrderType[order_type.upper()], timeInForce=TimeInForce[time_in_force.upper()],
              route=Route[route.upper()], triggerPrice=trigger_price, displayQuantity=display_quantity,
              validFrom=valid_from, expiry=expiry, nonce=nonce, counter=counter)
    text = json.dumps(order_typed_json(o, Domain(venue_name, chain_id, venue)), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)
