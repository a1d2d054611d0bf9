"""`ape run deploy [--file deployments/local.yaml] [--network ...]`: deploy SmartCCP from a
deployment file and record it.

Deploys what the file asks for and is not deployed yet (register, ledgers, CCP, venues, relay,
risk contracts, BBO, close-out market, securities, role grants), writing the registry
``deployments/<ecosystem>-<network>.json`` after each stage; run again, it says what exists and
sends nothing. Accounts: :mod:`smartccp.chain.accounts` (test accounts on a local network,
``SMARTCCP_<ROLE>_KEY`` / ``_ALIAS`` / ``SMARTCCP_MNEMONIC`` elsewhere). Logic: :mod:`smartccp.ops.deploy`.
"""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from smartccp.chain.receipts import use_lean_client
from smartccp.ops.deploy import DeploymentError, deploy
from smartccp.ops.spec import DEFAULT_SPEC, SpecError, load_spec


@click.command(cls=ConnectedProviderCommand)
@click.option("--file", "spec_file", type=click.Path(path_type=Path), default=DEFAULT_SPEC, show_default=True,
              help="Deployment file (YAML)")
@click.option("--registry", type=click.Path(path_type=Path), help="Registry file (default: the network's)")
@click.option("--fresh", is_flag=True, help="Deploy a new system even if one is recorded (overwrites the registry)")
def cli(spec_file: Path, registry: Path | None, fresh: bool) -> None:
    """Deploy the whole system from a deployment file; print the addresses and the registry."""
    use_lean_client()
    try:
        dep = deploy(load_spec(spec_file), path=registry, fresh=fresh, say=click.echo)
    except (SpecError, DeploymentError, LookupError) as e:
        raise click.ClickException(str(e)) from e
    for name, address in dep.system.addresses().items():
        click.echo(f"{name:<18} {address}")
    for symbol, sid in dep.security_ids.items():
        click.echo(f"{symbol:<18} security id {sid}")
    click.echo(f"registry: {dep.path}")
