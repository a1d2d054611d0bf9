"""`ape run regulator [--network ...] [--registry PATH] [--from-block N] [--out PATH]`: every trade
with both owners, as the CCP's or the regulator's key sees it (issue #24). The key is read from
``SMARTCCP_RECORD_KEY`` (a hex secp256k1 private key, never a command-line argument; after a
rotation of the register's record keys, the current and the earlier ones, comma-separated). Each
pseudonym's identity record is opened and reconciled with its tag on chain; a record that does
not open or does not match is an error. Logic: :mod:`smartccp.privacy.regulator`."""

import json
import os
from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand
from coincurve import PrivateKey

from smartccp.ops.deploy import attach
from smartccp.ops.spec import SpecError
from smartccp.privacy.records import RecipientKey, RecordMismatch, RecordNotForKey
from smartccp.privacy.regulator import reconstruct

KEY_ENV = "SMARTCCP_RECORD_KEY"


@click.command(cls=ConnectedProviderCommand)
@click.option("--registry", type=click.Path(path_type=Path), help="Registry file (default: the network's)")
@click.option("--from-block", "start", type=int, default=0, show_default=True, help="First block of trades to read")
@click.option("--out", type=click.Path(path_type=Path), default=Path("reports/regulator.json"), show_default=True)
def cli(registry: Path | None, start: int, out: Path) -> None:
    raw = os.environ.get(KEY_ENV)
    if not raw:
        raise click.ClickException(f"set {KEY_ENV} to the CCP's or the regulator's record key (hex)")
    try:
        key = [RecipientKey(PrivateKey(bytes.fromhex(k.strip().removeprefix("0x")))) for k in raw.split(",")]
    except ValueError as e:
        raise click.ClickException(f"{KEY_ENV}: not a hex secp256k1 private key ({e})") from None
    try:
        dep = attach(registry)
        trades = reconstruct(dep.system, key, start)
    except (FileNotFoundError, LookupError, RuntimeError, SpecError, RecordNotForKey, RecordMismatch) as e:
        raise click.ClickException(str(e)) from e
    rows = [{"venue": t.venue, "trade_id": t.trade_id, "security_id": t.security_id, "quantity": t.quantity,
             "price": t.price, "buyer": vars(t.buyer), "seller": vars(t.seller)} for t in trades]
    for r in rows:
        click.echo(f"trade {r['trade_id']:>6} sec {r['security_id']}: {r['quantity']} @ {r['price']}  "
                   f"buyer {r['buyer']['owner']} (via {r['buyer']['address']})  "
                   f"seller {r['seller']['owner']} (via {r['seller']['address']})")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n")
    click.echo(f"{len(rows)} trades, {sum(r['buyer']['pseudonymous'] or r['seller']['pseudonymous'] for r in rows)} "
               f"with a pseudonymous side; written to {out}")
