"""`ape console` with SmartCCP at hand.

ape 0.8 reads this file (``ape_console_extras.py`` at the project root) when the console first
looks up a name it does not know, calls :func:`ape_init_extras` with the ape objects its
arguments are named after, and adds the returned dict and this module's public names to the
namespace. On a local network the whole system of ``deployments/local.yaml`` is deployed fresh
(anvil starts empty); on any other it is reattached from the registry written by
``ape run deploy``.

At hand: ``dep`` (the deployment: ``dep.spec``, ``dep.security_ids``, ``dep.risk``), ``system``
(``system.membership``, ``.cash``, ``.securities``, ``.venues``, ``.ccp``, ``.extra["BBO"]``...),
``ops`` (the daily operations: ``ops.status()``, ``ops.settle()``, ...), ``roles`` and each role
account by name (``operator``, ``bank``, ``issuer``, ``member_a``, ...), ``cash`` ("12.5" ->
12_500_000 base units), ``fmt_cash``, ``kyc_expiry``, ``balances(account)``, and ``run_demo`` /
``run_bench``. Privacy (#24): ``pseudonyms`` (``pseudonyms.new_pseudonym(system, operator, ...)``,
``reveal``, ``stop_owner``), ``link(system)`` (what an outsider names) and
``reconstruct(system, key)`` (every trade with both owners, for the CCP's or the regulator's key;
``DEV_REGULATOR_KEY`` on the development deployments).
"""

from typing import Any

from smartccp.bench.core import run_bench
from smartccp.chain.accounts import role_accounts
from smartccp.chain.system import kyc_expiry
from smartccp.demo.core import run_demo
from smartccp.ops.daily import Operations
from smartccp.ops.deploy import attach, deploy
from smartccp.ops.spec import load_spec
from smartccp.privacy import pseudonyms
from smartccp.privacy.linkage import link
from smartccp.privacy.records import DEV_REGULATOR_KEY
from smartccp.privacy.regulator import reconstruct
from smartccp.units import cash, fmt_cash

__all__ = ["DEV_REGULATOR_KEY", "ape_init_extras", "cash", "fmt_cash", "kyc_expiry", "link", "pseudonyms",
           "reconstruct", "run_bench", "run_demo"]


def ape_init_extras(networks: Any) -> dict[str, Any]:
    """The SmartCCP names for the console: the deployment, system, ops, roles, one name per role
    account, balances."""
    roles = role_accounts()
    if networks.provider.network.is_local:
        dep = deploy(load_spec(), fresh=True, say=lambda _line: None)
        origin = "deployed fresh from deployments/local.yaml"
    else:
        dep = attach()
        origin = f"reattached from {dep.path}"
    system = dep.system
    print(f"SmartCCP {origin}: {system.addresses()}; securities {dep.security_ids}")

    def balances(account: Any, security_id: int = 1) -> dict[str, str | int]:
        """Cash (formatted, 6 decimals) and units of ``security_id`` held by ``account``."""
        listed = security_id <= system.securities.securityCount()
        units = system.securities.balanceOf(account, security_id) if listed else 0
        return {"cash": fmt_cash(system.cash.balanceOf(account)), "units": int(units)}

    return {"dep": dep, "system": system, "ops": Operations(dep), "roles": roles, "balances": balances,
            **roles.as_dict()}
