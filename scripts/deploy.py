"""`ape run deploy --network <ecosystem:network:provider>`: deploy SmartCCP and record it.

Accounts come from :func:`smartccp.chain.accounts.role_accounts` (test accounts on a local network,
``SMARTCCP_<ROLE>_KEY`` / ``SMARTCCP_<ROLE>_ALIAS`` elsewhere). The addresses are written to the
per-network registry ``deployments/<ecosystem>-<network>.json`` (see :mod:`smartccp.chain.registry`).
"""

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand

from smartccp.chain.accounts import role_accounts
from smartccp.chain.system import deploy_system


@click.command(cls=ConnectedProviderCommand)
@click.option("--registry", type=click.Path(path_type=Path), help="Default: per network")
@click.option("--cash-symbol", default="sUSD", show_default=True, help="DLT-PS cash symbol")
def cli(registry: Path | None, cash_symbol: str) -> None:
    """Deploy the register and both ledgers, save the registry and print the addresses."""
    roles = role_accounts()
    system = deploy_system(
        roles.operator, settlement_bank=roles.bank, issuer=roles.issuer, cash_symbol=cash_symbol
    )
    path = system.save(registry)
    for name, address in system.addresses().items():
        click.echo(f"{name:<14} {address}")
    click.echo(f"registry: {path}")
