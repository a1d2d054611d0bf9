"""The deployed system: contract handles, the registry of addresses, and deployment.

``deploy_system`` deploys to whatever network ape is connected to and returns a :class:`System`;
``System.load`` reattaches to one recorded in the registry. Both scripts and tests use these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ape import chain, networks, project

from smartccp.chain import registry
from smartccp.chain.roles import (
    GUARDIAN_ROLE,
    ISSUER_ROLE,
    RECORD_ROLE,
    SETTLEMENT_BANK_ROLE,
    VENUE_ROLE,
)
from smartccp.types import DAY, MAX_UINT, ZERO_ADDRESS, Segregation

DEFAULT_KYC_DAYS = 365


@dataclass
class System:
    """Handles to the deployed SmartCCP contracts (ape ``ContractInstance`` objects)."""

    membership: Any
    cash: Any
    securities: Any
    venues: list[Any] = field(default_factory=list)
    ccp: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def venue(self) -> Any:
        """The first venue (most flows need just one)."""
        return self.venues[0]

    @property
    def relay(self) -> Any:
        """The OrderRelay (batches of signed orders for any venue), if deployed."""
        return self.extra.get("OrderRelay")

    def contracts(self) -> dict[str, Any]:
        """Registry name -> handle of every contract (``TradeVenue0``, ``CCPSettlement``, ...)."""
        named = {"Membership": self.membership, "CashToken": self.cash, "SecurityToken": self.securities}
        named.update({f"TradeVenue{i}": v for i, v in enumerate(self.venues)})
        if self.ccp is not None:
            named["CCPSettlement"] = self.ccp
        named.update(self.extra)
        return named

    def addresses(self) -> dict[str, str]:
        """Name -> address of every contract, as the registry stores it."""
        return {name: str(c.address) for name, c in self.contracts().items()}

    def save(self, path: Path | None = None, meta: dict[str, Any] | None = None) -> Path:
        """Record the addresses (and ``meta``) for the connected network; returns the file written."""
        path = path or current_registry_path()
        registry.save(path, self.addresses(), meta)
        return path

    @classmethod
    def load(cls, path: Path | None = None) -> "System":
        """Reattach to the system recorded for the connected network. Refuses (``LookupError``)
        a registry whose contracts have no code on this chain (a node restarted since, or
        another chain)."""
        path = path or current_registry_path()
        addrs = registry.load(path)
        missing = [name for name, addr in addrs.items() if not networks.provider.get_code(addr)]
        if missing:
            raise LookupError(f"{path} names contracts with no code on this chain ({', '.join(sorted(missing))}): "
                              "a fresh node or another chain; deploy again (ape run deploy --fresh)")
        handles = {name: contract_type(name).at(addr) for name, addr in addrs.items()}
        venues = [handles.pop(n) for n in sorted(handles, key=_venue_index) if n.startswith("TradeVenue")]
        return cls(
            membership=handles.pop("Membership"),
            cash=handles.pop("CashToken"),
            securities=handles.pop("SecurityToken"),
            venues=venues,
            ccp=handles.pop("CCPSettlement", None),
            extra=handles,
        )


#: Registry names whose contract type is not the name without its index digits.
REGISTRY_TYPES = {"VenueLiquidation": "VenueCloseOut"}


def contract_type(name: str) -> Any:
    """The ape contract container of registry entry ``name`` (``TradeVenue2`` -> TradeVenue)."""
    return project.get_contract(REGISTRY_TYPES.get(name, name.rstrip("0123456789")))


def _venue_index(name: str) -> int:
    digits = name[len("TradeVenue"):]
    return int(digits) if name.startswith("TradeVenue") and digits.isdigit() else -1


def current_registry_path() -> Path:
    """Registry file for the network ape is connected to."""
    net = networks.provider.network
    return registry.registry_path(net.ecosystem.name, net.name, chain_id=networks.provider.chain_id)


def kyc_expiry(days: int = DEFAULT_KYC_DAYS) -> int:
    """A KYC expiry ``days`` from the chain's next block time (unix seconds)."""
    return chain.pending_timestamp + days * DAY


def deploy_system(
    operator: Any,
    *,
    settlement_bank: Any,
    issuer: Any,
    cash_symbol: str = "sUSD",
    n_venues: int = 1,
    settlement: Any = None,
    cycle_length: int = DAY,
    venue_names: list[str] | None = None,
) -> System:
    """Deploy the register, both ledgers, the CCP, ``n_venues`` venues, the OrderRelay and
    Distributions (coupons and dividends, the CCP's market claims); wire them; admit the
    settlement bank and the issuer.

    ``operator`` becomes admin of everything; ``settlement_bank`` may issue and redeem cash;
    ``issuer`` may list, issue and redeem securities. All three are ape accounts. Venues hand
    their Settle instructions to the CCP, or to ``settlement`` if given (e.g. a bare recorder in
    venue-only tests; then no CCP is deployed). Venues subscribe to the register before anyone is
    admitted, so their trader copies are complete. ``cycle_length`` is the CCP's settlement cycle
    in seconds (one day: cycle id = settlement date). ``venue_names`` name the venues (default
    "SmartCCP Venue A", "B", ...; their number wins over ``n_venues``).
    """
    tx = {"sender": operator}
    membership = project.Membership.deploy(operator, **tx)
    cash = project.CashToken.deploy(f"SmartCCP Cash {cash_symbol}", cash_symbol, membership, operator, **tx)
    securities = project.SecurityToken.deploy("smartccp://security/{id}", membership, operator, **tx)
    membership.addSubscriber(cash, **tx)
    membership.addSubscriber(securities, **tx)
    ccp = None
    if settlement is None:
        ccp = project.CCPSettlement.deploy(membership, cash, securities, operator, cycle_length, **tx)
        membership.registerSystem(ccp, **tx)
        settlement = ccp
    names = venue_names or [f"SmartCCP Venue {chr(65 + i)}" for i in range(n_venues)]
    venues = [deploy_venue(membership, securities, operator, name, settlement) for name in names]
    for venue in venues if ccp is not None else ():
        ccp.grantRole(VENUE_ROLE, venue, **tx)
    cash.grantRole(SETTLEMENT_BANK_ROLE, settlement_bank, **tx)
    securities.grantRole(ISSUER_ROLE, issuer, **tx)
    expiry = kyc_expiry()
    for institution in {str(settlement_bank.address): settlement_bank, str(issuer.address): issuer}.values():
        membership.admitInstitution(institution, expiry, **tx)
    relay = project.OrderRelay.deploy(**tx)
    # Coupons and dividends: they set record dates, hold escrow, and become the CCP's market claims.
    distributions = project.Distributions.deploy(securities, cash, ccp if ccp is not None else ZERO_ADDRESS, **tx)
    membership.registerSystem(distributions, **tx)
    securities.grantRole(RECORD_ROLE, distributions, **tx)
    securities.grantRole(GUARDIAN_ROLE, distributions, **tx)  # halts a security at its last trading time
    if ccp is not None:
        ccp.setDistributions(distributions, **tx)
    return System(membership=membership, cash=cash, securities=securities, venues=venues, ccp=ccp,
                  extra={"OrderRelay": relay, "Distributions": distributions})


def list_security(system: System, operator: Any, security_id: int, *, lag_days: int = 1, phase: int | None = 2,
                  cycle_length: int | None = None, venues: Iterable[Any] | None = None,
                  keeper: Any = None) -> None:
    """List ``security_id`` on every venue (or on ``venues`` only) with a T+``lag_days``
    settlement and, if the system has a CCP, clear it there with the same lag; then open trading
    (``phase`` 2 = continuous, 1 = opening call auction, None = leave it closed), sent by
    ``keeper`` (default: the ``operator``). A "day" is one settlement cycle: ``cycle_length``
    seconds (default: the CCP's, else a calendar day)."""
    tx = {"sender": operator}
    if cycle_length is None:
        cycle_length = int(system.ccp.cycleLength()) if system.ccp is not None else DAY
    if system.ccp is not None:
        # (cleared, noNakedShort, prefundClasses, settlementLag cycles, closeOutBandBps)
        system.ccp.setSecurityRules(security_id, (True, False, 0, lag_days, 0, 0), **tx)
    for venue in system.venues if venues is None else venues:
        venue.listSecurity(security_id, lag_days * cycle_length, **tx)
        if phase is not None:
            venue.setPhase(security_id, phase, sender=keeper or operator)


def deploy_venue(membership: Any, securities: Any, operator: Any, name: str, settlement: Any = None) -> Any:
    """Deploy one venue (its auction and admin modules first) and subscribe it to the register.

    Accounts admitted before this call are not in the venue's copy of the register until
    ``membership.resync([...])`` pushes them.
    """
    tx = {"sender": operator}
    settlement = settlement or ZERO_ADDRESS
    auctions = project.VenueAuctions.deploy(membership, securities, settlement, **tx)
    admin = project.VenueAdmin.deploy(membership, securities, settlement, **tx)
    venue = project.TradeVenue.deploy(name, membership, securities, settlement, auctions, admin, operator, **tx)
    membership.addSubscriber(venue, **tx)
    securities.addSubscriber(venue, **tx)
    return venue


# ─── Onboarding: the few transactions every market setup repeats ────────────────────────────


def issue_equity(system: System, issuer: Any, symbol: str = "ACME", isin: bytes = b"US0000000001", *,
                 tick: int = 10_000, lot: int = 10) -> int:
    """Register an equity (no maturity) on DLT-CSD with a tick of ``tick`` cash base units
    (10_000 = 0.01) and a lot of ``lot`` units; returns its security id."""
    system.securities.listSecurity(symbol, isin, 0, tick, lot, 0, sender=issuer)
    return int(system.securities.securityCount())


def admit(system: System, operator: Any, members: Iterable[Any], clients: Iterable[tuple[Any, ...]] = ()) -> None:
    """Admit ``members`` as clearing members and each ``(client, member)`` or ``(client, member,
    segregation)`` of ``clients`` as a participant clearing through that member (individually
    segregated unless said), KYC valid for a year."""
    expiry = kyc_expiry()
    for m in members:
        system.membership.admitClearingMember(m, expiry, sender=operator)
    for client, member, *mode in clients:
        segregation = mode[0] if mode else Segregation.INDIVIDUAL
        system.membership.admitParticipant(client, member, expiry, int(segregation), sender=operator)


def fund(system: System, holders: Iterable[Any], *, bank: Any, issuer: Any, cash: int = 0,
         units: dict[int, int] | None = None) -> None:
    """Issue ``cash`` base units to each holder, and ``units[security_id]`` units of each security."""
    for h in holders:
        if cash:
            system.cash.issue(h, cash, sender=bank)
        for sid, n in (units or {}).items():
            system.securities.issue(sid, h, n, sender=issuer)


def approve_settlement(system: System, holders: Iterable[Any], *cash_spenders: Any) -> None:
    """Each holder lets the CCP move its cash and securities at settlement (unlimited DVP
    approvals), and each of ``cash_spenders`` (Margin, DefaultFund) its cash."""
    for h in holders:
        system.cash.approve(system.ccp, MAX_UINT, sender=h)
        system.securities.setApprovalForAll(system.ccp, True, sender=h)
        for spender in cash_spenders:
            system.cash.approve(spender, MAX_UINT, sender=h)


def onboard(system: System, operator: Any, members: Iterable[Any], clients: Iterable[tuple[Any, Any]] = (), *,
            bank: Any, issuer: Any, cash: int = 0, units: dict[int, int] | None = None) -> list[Any]:
    """Admit ``members`` and ``clients`` (:func:`admit`), fund them (:func:`fund`) and give the
    CCP their settlement approvals (:func:`approve_settlement`); returns the members, then the
    clients."""
    members, clients = list(members), list(clients)
    admit(system, operator, members, clients)
    traders = members + [c for c, _ in clients]
    fund(system, traders, bank=bank, issuer=issuer, cash=cash, units=units)
    approve_settlement(system, traders)
    return traders
