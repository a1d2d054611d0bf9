"""Deploy a whole SmartCCP from a deployment file, in stages, and reattach to it.

:func:`deploy` builds what the file asks for (:mod:`smartccp.ops.spec`): the core (register,
ledgers, CCP, venues, order relay), the risk contracts (Margin, DefaultFund, with the file's margin
model and fund parameters and the CCP's skin in the game), the BBO, the close-out market (a
``VenueCloseOut`` on venue 0 for the CCP's sell-outs and buy-ins and Margin's liquidations, its
shortfalls charged to the DefaultFund), each security (registered, listed on every venue, cleared,
scenarios calibrated on history and the reference price published), the role grants and, if the
file has ``governance:``, the handover to a timelock (stage ``governance``: a ``SmartCCPTimelock``
becomes admin of every contract, the deployer renounces its admin and the roles the file gives
to others; :mod:`smartccp.chain.governance` proposes and executes changes after it). After
each stage the registry is written with the stage recorded in its ``meta``, so a deployment that
stops half way resumes where it stopped, and a second deploy on the same network reports what
exists and sends nothing. :func:`attach` reattaches to a recorded deployment (a second process,
``ape console``, every ``ape run ops`` command).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from ape import chain, networks, project
from eth_utils import keccak

from smartccp.chain import registry
from smartccp.chain.accounts import KEY_ROLES, Roles, fund_gas, named_account, role_accounts
from smartccp.chain.governance import TimelockAdmin
from smartccp.chain.roles import (
    DEFAULT_ADMIN_ROLE,
    DEFAULT_MANAGER_ROLE,
    GUARDIAN_ROLE,
    OPERATOR_ROLE,
    PRICE_ROLE,
    RISK_ROLE,
)
from smartccp.chain.system import System, current_registry_path, deploy_system, list_security
from smartccp.clearing.ccp import deploy_venue_close_out
from smartccp.ops.spec import DeploymentSpec, SecuritySpec, SpecError, load_spec
from smartccp.privacy.records import key_id
from smartccp.risk.chain import (
    Risk,
    deploy_risk,
    deploy_venue_liquidation,
    publish_prices,
    publish_scenarios,
)
from smartccp.risk.model import PUBLISHED, MarginModel, published_scenarios
from smartccp.sim.simulator import sp500_history
from smartccp.trading.bbo import deploy_bbo
from smartccp.types import DAY, MAX_UINT, ZERO_ADDRESS

#: Registry name of the timelock that administers a governed deployment.
TIMELOCK = "SmartCCPTimelock"
#: Roles the deployer holds from the contracts' constructors and gives up at the handover when
#: the file names someone else for them (it keeps listings, sessions and halts: the operator's).
SEPARATED = (RISK_ROLE, PRICE_ROLE, DEFAULT_MANAGER_ROLE)


class DeploymentError(RuntimeError):
    """The registry and the chain or the deployment file disagree (the message says how)."""


@dataclass
class Deployment:
    """A deployed system with what its file and registry say about it: the handles, the
    security ids by symbol, the accounts holding each role, and where the registry lives."""

    spec: DeploymentSpec
    system: System
    meta: dict[str, Any]
    path: Path
    accounts: dict[str, Any] = field(default_factory=dict)

    @property
    def risk(self) -> Risk | None:
        """Margin, DefaultFund and DefaultManagement, if deployed."""
        margin, fund = self.system.extra.get("Margin"), self.system.extra.get("DefaultFund")
        if margin is None or fund is None:
            return None
        return Risk(margin=margin, fund=fund, management=self.system.extra.get("DefaultManagement"))

    @property
    def timelock(self) -> Any | None:
        """The timelock administering every contract, if the deployment was handed over."""
        return self.system.extra.get(TIMELOCK)

    @property
    def security_ids(self) -> dict[str, int]:
        """Symbol -> security id, for the securities the deployment listed."""
        return {k: int(v) for k, v in self.meta.get("securities", {}).items()}

    def account(self, role_name: str) -> Any:
        """The account holding ``role_name`` (``keeper``, ``price``, ...) per the deployment file."""
        if role_name not in self.accounts:
            self.accounts[role_name] = named_account(self.spec.roles[role_name], _roles_or_none())
        return self.accounts[role_name]

    def save(self) -> None:
        """Write the registry (addresses and ``meta``)."""
        self.system.save(self.path, self.meta)

    def keys(self, base: Roles, *, fund: bool = False) -> Roles:
        """``base`` (its participants: members, clients, outsider) with this deployment's key
        for every role its file names: the operator, the bank, the issuer and each of
        :data:`~smartccp.chain.accounts.KEY_ROLES`. ``fund``: the operator gives each key gas
        money first if it has little (a dev chain's keys beyond its funded accounts)."""
        keys = {r: self.account(r) for r in ("operator", "bank", "issuer", *KEY_ROLES)}
        if fund:
            for account in keys.values():
                fund_gas(account, keys["operator"])
        return replace(base, **keys)

    def admin(self, wait: Callable[[int, str], None]) -> Any:
        """Who makes admin changes (:func:`smartccp.chain.governance.admin_apply`): the timelock,
        its proposals sent by the governor and waited out with ``wait(t, what)``, if the
        deployment was handed over; else the operator's account."""
        if self.timelock is None:
            return self.account("operator")
        return TimelockAdmin(self.timelock, self.account("governor"), wait)


def _roles_or_none() -> Roles | None:
    try:
        return role_accounts()
    except RuntimeError:
        return None


def registry_for(path: Path | None) -> Path:
    """``path``, or the connected network's registry file."""
    return path or current_registry_path()


def attach(path: Path | None = None, spec: DeploymentSpec | None = None) -> Deployment:
    """Reattach to the deployment recorded for the connected network (or at ``path``); its
    deployment file is the one recorded in ``meta`` unless ``spec`` is given. Raises
    ``FileNotFoundError`` (nothing deployed) or ``LookupError`` (the contracts are gone)."""
    path = registry_for(path)
    meta = registry.load_meta(path)
    if meta.get("chain_id") not in (None, networks.provider.chain_id):
        raise DeploymentError(f"{path} records chain id {meta['chain_id']}, the node has {networks.provider.chain_id}: "
                              "the wrong network")
    system = System.load(path)
    if spec is None:
        source = meta.get("spec")
        if not source:
            raise DeploymentError(f"{path} records no deployment file: deploy with `ape run deploy --file ...`")
        spec = load_spec(source)
    if meta.get("cycle_length") not in (None, spec.cycle_length):
        raise DeploymentError(f"{path}: the deployed CCP's cycle is {meta['cycle_length']} s, the deployment file "
                              f"says {spec.cycle_length} s; a cycle length cannot change (deploy with --fresh)")
    return Deployment(spec=spec, system=system, meta=meta, path=path)


Say = Callable[[str], None]


def deploy(spec: DeploymentSpec, *, path: Path | None = None, fresh: bool = False, say: Say = print) -> Deployment:
    """Deploy what ``spec`` asks for and is not deployed yet; write the registry after each
    stage. ``fresh`` ignores an existing registry (a local chain always starts afresh when the
    recorded contracts are gone). Returns the deployment."""
    path = registry_for(path)
    dep = _existing(spec, path, fresh, say)
    if dep is None:
        dep = _core(spec, path, say)
    else:
        say(f"{'core':<18} exists")
    stages: list[tuple[str, Callable[[Deployment], None]]] = []
    if spec.has("risk"):
        stages.append(("risk", _risk))
    if spec.has("bbo"):
        stages.append(("bbo", _bbo))
    if spec.has("close_out"):
        stages.append(("close_out", _close_out))
    stages += [(f"security:{s.symbol}", _security_stage(s)) for s in spec.securities]
    if spec.privacy is not None:
        stages.append(("privacy", _privacy))
    stages.append(("roles", _grant_roles))
    if spec.governance.delay is not None:
        stages.append(("governance", _hand_over))
    for name, fn in stages:
        if name in dep.meta["stages"]:
            say(f"{name:<18} exists")
            continue
        fn(dep)
        dep.meta["stages"].append(name)
        dep.save()
        say(f"{name:<18} deployed")
    return dep


def _existing(spec: DeploymentSpec, path: Path, fresh: bool, say: Say) -> Deployment | None:
    """The deployment already recorded at ``path`` if it is live and matches ``spec``."""
    if fresh or not path.exists():
        return None
    try:
        dep = attach(path, spec)
    except LookupError as e:
        if networks.provider.network.is_local:
            say(f"{path}: recorded contracts are gone (a new local chain): deploying afresh")
            return None
        raise DeploymentError(f"{e}; pass --fresh to deploy a new system and overwrite {path}") from e
    if len(dep.system.venues) != len(spec.venues):
        raise DeploymentError(f"{path}: {len(dep.system.venues)} venues deployed, the file names {len(spec.venues)}; "
                              "adding venues to a deployed system is not supported (deploy with --fresh)")
    return dep


def _core(spec: DeploymentSpec, path: Path, say: Say) -> Deployment:
    dep = Deployment(spec=spec, system=None, meta={}, path=path)  # type: ignore[arg-type]
    op, bank, issuer = dep.account("operator"), dep.account("bank"), dep.account("issuer")
    start = chain.blocks.head.number
    dep.system = deploy_system(op, settlement_bank=bank, issuer=issuer, cash_symbol=spec.cash_symbol,
                               venue_names=list(spec.venues), cycle_length=spec.cycle_length)
    dep.meta = {"chain_id": networks.provider.chain_id, "name": spec.name,
                "spec": str(spec.source) if spec.source else None, "cycle_length": spec.cycle_length,
                "deployed_block": int(start), "securities": {}, "stages": ["core"],
                "roles": {r: str(dep.account(r).address) for r in spec.roles}}
    dep.save()
    say(f"{'core':<18} deployed (register, ledgers, CCP, {len(spec.venues)} venues, order relay)")
    return dep


def _risk(dep: Deployment) -> None:
    s, rk, op = dep.system, dep.spec.risk, dep.account("operator")
    r = deploy_risk(s, op, n_scenarios=rk.scenarios)
    r.margin.setMarginModel(rk.confidence_bps, rk.horizon_days, rk.call_window, sender=op)
    r.fund.setFundParameters(rk.assessment_cap_bps, rk.top_up_window, sender=op)
    if rk.port_window != DAY:  # the contract's default is a day
        r.fund.setPortWindow(rk.port_window, sender=op)
    if rk.skin_in_the_game:
        bank = dep.account("bank")
        s.cash.issue(bank, rk.skin_in_the_game, sender=bank)
        s.cash.approve(r.fund, MAX_UINT, sender=bank)
        r.fund.fundSkinInTheGame(rk.skin_in_the_game, sender=bank)


def _bbo(dep: Deployment) -> None:
    deploy_bbo(dep.system, dep.account("operator"))


def _close_out(dep: Deployment) -> None:
    s, op, r = dep.system, dep.account("operator"), dep.risk
    if r is None:
        raise SpecError("close_out needs the risk contracts")
    deploy_venue_close_out(s, op, handler=r.fund)
    deploy_venue_liquidation(s, r, op)


def _privacy(dep: Deployment) -> None:
    """The keys identity records of pseudonyms are sealed to (the admin, before the handover)."""
    keys = dep.spec.privacy
    dep.system.membership.setRecordKeys(key_id(keys.ccp_key), key_id(keys.regulator_key),
                                        sender=dep.account("operator"))


def _security_stage(sec: SecuritySpec) -> Callable[[Deployment], None]:
    def stage(dep: Deployment) -> None:
        s, op, issuer = dep.system, dep.account("operator"), dep.account("issuer")
        receipt = s.securities.listSecurity(sec.symbol, sec.isin.encode(), 0, sec.tick, sec.lot, 0, sender=issuer)
        sid = int(receipt.return_value or s.securities.securityCount())
        list_security(s, op, sid, lag_days=sec.lag, phase=None, cycle_length=dep.spec.cycle_length)
        if (r := dep.risk) is not None:
            publish_scenarios(r.margin, {sid: calibrated_shocks(dep.spec)[sec.symbol]}, op)
            if sec.haircut_bps:
                r.margin.setHaircut(sid, sec.haircut_bps, sender=op)
            if sec.reference_price:
                publish_prices(r.margin, {sid: sec.reference_price}, op)
        dep.meta["securities"][sec.symbol] = sid
    return stage


def security_history(spec: DeploymentSpec) -> np.ndarray:
    """Daily prices ``(n_dates, n_securities)`` of the file's securities for the margin model:
    the S&P 500's ``risk.calibration_days`` days to ``risk.calibration_end``, each security's
    column ``beta_bps`` times the index's daily log return plus its own normal noise of annual
    volatility ``idio_vol_bps`` (seeded by its ISIN, so a security's history does not depend on
    the others listed); a security with the defaults is the index itself."""
    rk = spec.risk
    dates, closes = sp500_history()
    cut = int((dates <= np.datetime64(rk.calibration_end)).sum())
    window = closes[max(0, cut - rk.calibration_days):cut]
    log_ret = np.diff(np.log(window))
    columns = []
    for sec in spec.securities:
        if sec.beta_bps == 10_000 and not sec.idio_vol_bps:
            columns.append(window)
            continue
        r = log_ret * sec.beta_bps / 10_000
        if sec.idio_vol_bps:
            rng = np.random.default_rng(int.from_bytes(keccak(text=sec.isin)[:8], "big"))
            r = r + rng.normal(0.0, sec.idio_vol_bps / 10_000 / np.sqrt(252), r.size)
        columns.append(window[0] * np.exp(np.concatenate([[0.0], np.cumsum(r)])))
    return np.column_stack(columns)


def deployment_model(spec: DeploymentSpec) -> MarginModel:
    """The published model at the file's scenario count, confidence and horizon."""
    rk = spec.risk
    return PUBLISHED.with_(horizon_days=rk.horizon_days, confidence=rk.confidence_bps / 10_000,
                           n_scenarios=rk.scenarios)


def calibrated_shocks(spec: DeploymentSpec) -> dict[str, list[int]]:
    """Scenario shocks (bps) per security symbol: the published model on the securities' joint
    history (:func:`security_history`), at the file's confidence and horizon. Securities with
    the same history share one column, so a file whose securities all follow the index
    calibrates exactly as on the index alone."""
    model = deployment_model(spec)
    history = security_history(spec)
    unique, column_of = np.unique(history, axis=1, return_inverse=True)
    shocks = published_scenarios(unique[:, 0] if unique.shape[1] == 1 else unique, model).shocks_bps
    return {sec.symbol: [int(x) for x in shocks[int(column_of.reshape(-1)[i])]]
            for i, sec in enumerate(spec.securities)}


def _role_grants(dep: Deployment) -> list[tuple[Any, bytes, str]]:
    """(contract, role, holder in the file) of every role given to its holder by the ``roles``
    stage: the keeper runs sessions (venue operator), the guardian halts securities and makes
    risk parameters stricter, the price role publishes settlement prices, the risk role sets the
    model (bounded), the default manager manages defaults (on the fund and the register)."""
    s = dep.system
    grants: list[tuple[Any, bytes, str]] = [(v, OPERATOR_ROLE, "keeper") for v in s.venues]
    grants += [(s.securities, GUARDIAN_ROLE, "guardian"), (s.membership, DEFAULT_MANAGER_ROLE, "default_manager")]
    if (r := dep.risk) is not None:
        grants += [(r.margin, PRICE_ROLE, "price"), (r.margin, RISK_ROLE, "risk"), (r.fund, RISK_ROLE, "risk"),
                   (r.margin, GUARDIAN_ROLE, "guardian"), (r.fund, DEFAULT_MANAGER_ROLE, "default_manager")]
        if r.management is not None:
            grants.append((r.management, DEFAULT_MANAGER_ROLE, "default_manager"))
    return grants


def _grant_roles(dep: Deployment) -> None:
    """Give each role's holder its powers where it is not the operator (who holds most of them
    from deployment): see :func:`_role_grants`."""
    op = dep.account("operator")
    for contract, role_id, holder in _role_grants(dep):
        account = dep.account(holder)
        if not contract.hasRole(role_id, account):
            contract.grantRole(role_id, account, sender=op)


def _access_controlled(contract: Any) -> bool:
    return any(getattr(a, "name", "") == "hasRole" for a in contract.contract_type.abi)


def _hand_over(dep: Deployment) -> None:
    """Deploy the timelock (``governance.delay``; the ``governor`` proposes and cancels, anyone
    executes), make it admin of every access-controlled contract, then the deployer renounces
    the roles the file gives to someone else (risk, price, default manager) and, last, its admin
    everywhere. Resumable: the timelock is recorded before the grants."""
    s, op = dep.system, dep.account("operator")
    if dep.timelock is None:
        s.extra[TIMELOCK] = project.SmartCCPTimelock.deploy(dep.spec.governance.delay, [dep.account("governor")],
                                                            [ZERO_ADDRESS], sender=op)
        dep.save()
    timelock = dep.timelock
    governed = [c for name, c in s.contracts().items() if name != TIMELOCK and _access_controlled(c)]
    for c in governed:
        if not c.hasRole(DEFAULT_ADMIN_ROLE, timelock):
            c.grantRole(DEFAULT_ADMIN_ROLE, timelock, sender=op)
    for contract, role_id, holder in _role_grants(dep):
        if role_id not in SEPARATED or str(dep.account(holder).address) == str(op.address):
            continue
        if contract.hasRole(role_id, op):
            contract.renounceRole(role_id, op, sender=op)
    for c in governed:
        if c.hasRole(DEFAULT_ADMIN_ROLE, op):
            c.renounceRole(DEFAULT_ADMIN_ROLE, op, sender=op)
