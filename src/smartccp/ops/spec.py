"""The deployment file: what ``ape run deploy`` builds and how the daily operations are timed.

A YAML file (``deployments/local.yaml`` is the default; ``deployments/README.md`` documents every
key) names the settlement cycle, the trading session inside it, the venues, the securities, the
parts (risk contracts, BBO, close-out market) and which account holds each role.
:func:`load_spec` reads and checks it: a wrong key or value is a :class:`SpecError` naming the
key, before anything is sent.

Time: a settlement cycle is ``cycle_length`` seconds (86,400: one business day; a short cycle such
as 20 s runs a whole day in real time on a test node). Cycle ``k`` spans
``[k * cycle_length, (k + 1) * cycle_length)``; trading opens at its start, the closing call
auction starts ``session.close`` seconds in and is uncrossed ``session.auction`` seconds later.
Amounts: cash as decimal strings (``"12.50"``) in the file, base units (6 decimals) in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from coincurve import PublicKey

from smartccp.types import DAY
from smartccp.units import cash

DEFAULT_SPEC = Path("deployments/local.yaml")

#: The parts a deployment may include besides the core (register, ledgers, CCP, venues, order relay).
PARTS = ("risk", "bbo", "close_out")
#: The roles a deployment file assigns (``roles:``), and who holds them by default.
ROLES = {
    "operator": "operator",  # admin; sessions and listings on the venues; CCP rules
    "bank": "bank",  # the settlement bank: issues and redeems cash
    "issuer": "issuer",  # registers and issues securities
    "risk": "operator",  # scenarios, haircuts, margin model, fund parameters
    "price": "operator",  # settlement prices (Margin PRICE_ROLE)
    "default_manager": "operator",  # declares, cures and closes defaults; ports clients
    "keeper": "operator",  # runs whatever is due (sessions, auctions, margin, settlement)
    "guardian": "operator",  # emergency path: halts securities, makes risk parameters stricter
    "governor": "operator",  # proposes (and cancels) the timelock's admin changes
}
#: The timelock's default delay: two days between a proposal and its earliest execution.
DEFAULT_GOVERNANCE_DELAY = 2 * DAY


class SpecError(ValueError):
    """A deployment file with a missing, unknown or wrong key (the message names it)."""


@dataclass(frozen=True)
class SecuritySpec:
    """One security: registered on DLT-CSD, listed on every venue, cleared by the CCP."""

    symbol: str
    isin: str
    tick: int  # cash base units
    lot: int  # units
    lag: int = 1  # settlement cycles after the trade's (T+lag)
    reference_price: int = 0  # cash base units per unit; the first settlement price
    haircut_bps: int = 0  # collateral haircut (0: not accepted as collateral)
    # Its price history for the margin model (risk.calibration_*): beta times the S&P 500's
    # daily log return plus its own noise of this annual volatility (seeded by the ISIN), so
    # securities move together but not as one (a hedge between two is margined on its spread).
    # The defaults (1.0, none) give the S&P 500 itself.
    beta_bps: int = 10_000
    idio_vol_bps: int = 0


@dataclass(frozen=True)
class SessionSpec:
    """The trading session inside each cycle, in seconds from the cycle's start."""

    close: int  # the closing call auction starts (continuous trading ends)
    auction: int  # the auction's length; uncrossed after it


@dataclass(frozen=True)
class RiskSpec:
    """The risk contracts' parameters (Margin, DefaultFund)."""

    scenarios: int = 16
    confidence_bps: int = 9_900
    horizon_days: int = 5
    call_window: int = 3_600  # seconds a member has to meet a margin call
    top_up_window: int = DAY  # seconds to top up the default fund after a call
    port_window: int = DAY  # seconds after a declaration in which the defaulter's clients may be ported
    assessment_cap_bps: int = 10_000
    skin_in_the_game: int = 0  # cash base units paid in by the bank (CCP treasury) at deploy
    calibration_end: str = "2008-09-12"  # the S&P 500 history used ends here
    calibration_days: int = 750


@dataclass(frozen=True)
class GovernanceSpec:
    """The timelock that becomes admin of every contract (``governance:``); ``delay`` None: no
    timelock, the deployer stays admin (a single-key deployment)."""

    delay: int | None = None  # seconds between a proposal and its earliest execution


@dataclass(frozen=True)
class PrivacySpec:
    """The public keys identity records of pseudonyms are sealed to (``privacy:``, #24): the
    CCP's and the regulator's, compressed or uncompressed secp256k1 (33 or 65 bytes, hex)."""

    ccp_key: bytes
    regulator_key: bytes


@dataclass(frozen=True)
class DeploymentSpec:
    """A whole deployment, as read from its file (see the module docstring)."""

    name: str
    cycle_length: int
    session: SessionSpec
    cash_symbol: str = "sUSD"
    venues: tuple[str, ...] = ("SmartCCP Venue A",)
    securities: tuple[SecuritySpec, ...] = ()
    parts: frozenset[str] = frozenset(PARTS)
    risk: RiskSpec = field(default_factory=RiskSpec)
    roles: dict[str, str] = field(default_factory=lambda: dict(ROLES))
    governance: GovernanceSpec = field(default_factory=GovernanceSpec)
    privacy: PrivacySpec | None = None  # None: no record keys, no pseudonyms
    source: Path | None = None

    def close_time(self, cycle: int) -> int:
        """Unix time the closing auction of ``cycle`` starts."""
        return cycle * self.cycle_length + self.session.close

    def auction_end(self, cycle: int) -> int:
        """Unix time the closing auction of ``cycle`` may be uncrossed."""
        return self.close_time(cycle) + self.session.auction

    def cycle_of(self, timestamp: int) -> int:
        """The cycle (trading day) ``timestamp`` falls in."""
        return timestamp // self.cycle_length

    def has(self, part: str) -> bool:
        """Whether the deployment includes ``part`` (one of :data:`PARTS`)."""
        return part in self.parts

    def security(self, symbol: str) -> SecuritySpec:
        """The security called ``symbol``."""
        for s in self.securities:
            if s.symbol == symbol:
                return s
        raise SpecError(f"no security {symbol!r} in {self.source or 'the deployment file'}")


def load_spec(path: Path | str = DEFAULT_SPEC) -> DeploymentSpec:
    """Read and check a deployment file; :class:`SpecError` names the first bad key."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"no deployment file at {path}")
    raw = yaml.safe_load(path.read_text()) or {}
    return parse_spec(raw, source=path)


def parse_spec(raw: dict[str, Any], *, source: Path | None = None) -> DeploymentSpec:
    """A :class:`DeploymentSpec` from the file's mapping (see :func:`load_spec`)."""
    where = source or "deployment file"
    _only(raw, {"name", "cycle_length", "session", "cash_symbol", "venues", "securities", "parts", "risk", "roles",
                "governance", "privacy"}, "")
    cycle_length = _int(raw, "cycle_length", "", default=DAY, low=1)
    session_raw = raw.get("session", {}) or {}
    _only(session_raw, {"close", "auction"}, "session.")
    close = _int(session_raw, "close", "session.", default=cycle_length * 2 // 3, low=1)
    auction = _int(session_raw, "auction", "session.", default=max(1, cycle_length // 12), low=1)
    if close + auction >= cycle_length:
        raise SpecError(f"{where}: session.close + session.auction ({close + auction}) must end inside the cycle "
                        f"({cycle_length} s)")
    venues = tuple(str(v) for v in raw.get("venues", ["SmartCCP Venue A"]))
    if not venues:
        raise SpecError(f"{where}: venues: at least one venue")
    parts = raw.get("parts", list(PARTS))
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise SpecError(f"{where}: parts: unknown {sorted(unknown)} (known: {', '.join(PARTS)})")
    if "close_out" in parts and "risk" not in parts:
        raise SpecError(f"{where}: parts: close_out needs risk (the DefaultFund covers close-out shortfalls)")
    roles = dict(ROLES)
    roles_raw = raw.get("roles", {}) or {}
    _only(roles_raw, set(ROLES), "roles.")
    roles.update({k: str(v) for k, v in roles_raw.items()})
    return DeploymentSpec(
        name=str(raw.get("name", Path(str(source or "deployment")).stem)),
        cycle_length=cycle_length,
        session=SessionSpec(close=close, auction=auction),
        cash_symbol=str(raw.get("cash_symbol", "sUSD")),
        venues=venues,
        securities=tuple(_security(s, i) for i, s in enumerate(raw.get("securities", []) or [])),
        parts=frozenset(parts),
        risk=_risk(raw.get("risk", {}) or {}),
        roles=roles,
        governance=_governance(raw.get("governance")),
        privacy=_privacy(raw.get("privacy")),
        source=source,
    )


def _security(raw: dict[str, Any], i: int) -> SecuritySpec:
    prefix = f"securities[{i}]."
    _only(raw, {"symbol", "isin", "tick", "lot", "lag", "reference_price", "haircut_bps", "beta_bps",
                "idio_vol_bps"}, prefix)
    for key in ("symbol", "isin"):
        if not raw.get(key):
            raise SpecError(f"{prefix}{key}: required")
    isin = str(raw["isin"])
    if len(isin.encode()) > 12:
        raise SpecError(f"{prefix}isin: at most 12 bytes ({isin!r})")
    return SecuritySpec(
        symbol=str(raw["symbol"]), isin=isin,
        tick=_cash(raw, "tick", prefix, default="0.01"),
        lot=_int(raw, "lot", prefix, default=1, low=1),
        lag=_int(raw, "lag", prefix, default=1, low=0),
        reference_price=_cash(raw, "reference_price", prefix, default="0"),
        haircut_bps=_int(raw, "haircut_bps", prefix, default=0, low=0, high=10_000),
        beta_bps=_int(raw, "beta_bps", prefix, default=10_000, low=0, high=50_000),
        idio_vol_bps=_int(raw, "idio_vol_bps", prefix, default=0, low=0, high=20_000),
    )


def _risk(raw: dict[str, Any]) -> RiskSpec:
    d = RiskSpec()
    _only(raw, set(RiskSpec.__dataclass_fields__), "risk.")
    return RiskSpec(
        scenarios=_int(raw, "scenarios", "risk.", default=d.scenarios, low=1, high=32),
        confidence_bps=_int(raw, "confidence_bps", "risk.", default=d.confidence_bps, low=5_000, high=9_999),
        horizon_days=_int(raw, "horizon_days", "risk.", default=d.horizon_days, low=1, high=255),
        call_window=_int(raw, "call_window", "risk.", default=d.call_window, low=1),
        top_up_window=_int(raw, "top_up_window", "risk.", default=d.top_up_window, low=1),
        port_window=_int(raw, "port_window", "risk.", default=d.port_window, low=1, high=2**32 - 1),
        assessment_cap_bps=_int(raw, "assessment_cap_bps", "risk.", default=d.assessment_cap_bps, low=0),
        skin_in_the_game=_cash(raw, "skin_in_the_game", "risk.", default="0"),
        calibration_end=str(raw.get("calibration_end", d.calibration_end)),
        calibration_days=_int(raw, "calibration_days", "risk.", default=d.calibration_days, low=20),
    )


def _governance(raw: Any) -> GovernanceSpec:
    if raw is None:
        return GovernanceSpec()
    _only(raw, {"delay"}, "governance.")
    return GovernanceSpec(delay=_int(raw, "delay", "governance.", default=DEFAULT_GOVERNANCE_DELAY, low=1))


def _privacy(raw: Any) -> PrivacySpec | None:
    if raw is None:
        return None
    _only(raw, {"ccp_key", "regulator_key"}, "privacy.")
    keys = []
    for name in ("ccp_key", "regulator_key"):
        try:
            keys.append(PublicKey(bytes.fromhex(str(raw.get(name, "")).removeprefix("0x"))).format())
        except ValueError as e:
            raise SpecError(f"privacy.{name}: not a secp256k1 public key ({e})") from None
    return PrivacySpec(*keys)


def _only(raw: Any, allowed: set[str], prefix: str) -> None:
    if not isinstance(raw, dict):
        raise SpecError(f"{prefix.rstrip('.') or 'the file'}: expected a mapping, got {type(raw).__name__}")
    unknown = set(raw) - allowed
    if unknown:
        raise SpecError(f"{prefix}{sorted(unknown)[0]}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _int(raw: dict[str, Any], key: str, prefix: str, *, default: int, low: int | None = None,
         high: int | None = None) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{prefix}{key}: expected a whole number, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise SpecError(f"{prefix}{key}: {value} is outside [{low}, {high if high is not None else '...'}]")
    return value


def _cash(raw: dict[str, Any], key: str, prefix: str, *, default: str) -> int:
    value = raw.get(key, default)
    try:
        amount = cash(str(value))
    except (ValueError, ArithmeticError) as e:
        raise SpecError(f"{prefix}{key}: expected a cash amount such as \"12.50\", got {value!r}") from e
    if amount < 0:
        raise SpecError(f"{prefix}{key}: must not be negative")
    return amount
