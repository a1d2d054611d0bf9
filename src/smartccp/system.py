"""The deployed system: contract handles, the registry of addresses, and deployment.

``deploy_system`` deploys to whatever network ape is connected to and returns a :class:`System`;
``System.load`` reattaches to one recorded in the registry. Both scripts and tests use these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ape import chain, networks, project

from smartccp import registry
from smartccp.roles import ISSUER_ROLE, SETTLEMENT_BANK_ROLE

#: Contract names, in deployment order, as they appear in the registry.
CORE_CONTRACTS = ("Membership", "CashToken", "SecurityToken")
DEFAULT_KYC_DAYS = 365


@dataclass
class System:
    """Handles to the deployed SmartCCP contracts (ape ``ContractInstance`` objects)."""

    membership: Any
    cash: Any
    securities: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def addresses(self) -> dict[str, str]:
        """Name -> address of every contract, as the registry stores it."""
        named = {"Membership": self.membership, "CashToken": self.cash, "SecurityToken": self.securities}
        named.update(self.extra)
        return {name: str(c.address) for name, c in named.items()}

    def save(self, path: Path | None = None) -> Path:
        """Record the addresses for the connected network; returns the file written."""
        path = path or current_registry_path()
        registry.save(path, self.addresses())
        return path

    @classmethod
    def load(cls, path: Path | None = None) -> "System":
        """Reattach to the system recorded for the connected network."""
        addrs = registry.load(path or current_registry_path())
        handles = {name: project.get_contract(name).at(addr) for name, addr in addrs.items()}
        return cls(
            membership=handles.pop("Membership"),
            cash=handles.pop("CashToken"),
            securities=handles.pop("SecurityToken"),
            extra=handles,
        )


def current_registry_path() -> Path:
    """Registry file for the network ape is connected to."""
    net = networks.provider.network
    return registry.registry_path(net.ecosystem.name, net.name)


def kyc_expiry(days: int = DEFAULT_KYC_DAYS) -> int:
    """A KYC expiry ``days`` from the chain's next block time (unix seconds)."""
    return chain.pending_timestamp + days * 86_400


def deploy_system(operator: Any, *, settlement_bank: Any, issuer: Any, cash_symbol: str = "sUSD") -> System:
    """Deploy the register and both ledgers, wire them, and admit the bank and the issuer.

    ``operator`` becomes admin of everything; ``settlement_bank`` may issue and redeem cash;
    ``issuer`` may list, issue and redeem securities. All three are ape accounts.
    """
    tx = {"sender": operator}
    membership = project.Membership.deploy(operator, **tx)
    cash = project.CashToken.deploy(f"SmartCCP Cash {cash_symbol}", cash_symbol, membership, operator, **tx)
    securities = project.SecurityToken.deploy("smartccp://security/{id}", membership, operator, **tx)
    membership.addSubscriber(cash, **tx)
    membership.addSubscriber(securities, **tx)
    cash.grantRole(SETTLEMENT_BANK_ROLE, settlement_bank, **tx)
    securities.grantRole(ISSUER_ROLE, issuer, **tx)
    expiry = kyc_expiry()
    for institution in {str(settlement_bank.address): settlement_bank, str(issuer.address): issuer}.values():
        membership.admitInstitution(institution, expiry, **tx)
    return System(membership=membership, cash=cash, securities=securities)
