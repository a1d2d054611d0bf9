"""`ape console` with SmartCCP at hand.

ape 0.8 reads this file (``ape_console_extras.py`` at the project root) when the console first
looks up a name it does not know, calls :func:`ape_init_extras` with the ape objects its
arguments are named after, and adds the returned dict and this module's public names to the
namespace. On a local network a fresh system is deployed (anvil starts empty); on any other it
is loaded from the registry written by ``ape run deploy``.

At hand: ``system`` (``system.membership``, ``system.cash``, ``system.securities``), ``roles``
and each role account by name (``operator``, ``bank``, ``issuer``, ``member_a``, ...), ``cash``
("12.5" -> 12_500_000 base units), ``fmt_cash``, ``kyc_expiry``, ``balances(account)``, and
``run_demo`` / ``run_bench``.
"""

from typing import Any

from smartccp.bench.core import run_bench
from smartccp.chain.accounts import role_accounts
from smartccp.chain.system import System, deploy_system, kyc_expiry
from smartccp.demo.core import run_demo
from smartccp.units import cash, fmt_cash

__all__ = ["ape_init_extras", "cash", "fmt_cash", "kyc_expiry", "run_bench", "run_demo"]


def ape_init_extras(networks: Any) -> dict[str, Any]:
    """The SmartCCP names for the console: system, roles, one name per role account, balances."""
    roles = role_accounts()
    if networks.provider.network.is_local:
        system = deploy_system(roles.operator, settlement_bank=roles.bank, issuer=roles.issuer)
        origin = "deployed fresh"
    else:
        system = System.load()
        origin = "loaded from the registry"
    print(f"SmartCCP {origin}: {system.addresses()}")

    def balances(account: Any, security_id: int = 1) -> dict[str, str | int]:
        """Cash (formatted, 6 decimals) and units of ``security_id`` held by ``account``."""
        listed = security_id <= system.securities.securityCount()
        units = system.securities.balanceOf(account, security_id) if listed else 0
        return {"cash": fmt_cash(system.cash.balanceOf(account)), "units": int(units)}

    return {"system": system, "roles": roles, "balances": balances, **roles.as_dict()}
