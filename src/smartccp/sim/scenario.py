"""Drill scenarios as files: load, validate and resolve a YAML scenario (format: docs/scenarios.md).

A scenario names the market (venues, settlement lag, securities), the people in it (clearing
members and their clients, with starting cash and holdings), how prices move (a window of the
real S&P 500 history from ``arch.data.sp500``, or a simulated path), the order flow (generated
by :mod:`smartccp.sim.simulator`, plus optional scripted orders), the close-out market, the risk
parameters of margin and the default fund (model, or the on-chain contracts), whether the BBO
is deployed, and the events (a missed payment, a failed
delivery, a default, and the life of a security: coupons and dividends, claims, compression,
interest on margin cash, redemption at maturity). Profiles (``fast``, ``full``) override parts of it.

Units: cash amounts and prices are written as decimal strings of cash (``"100.25"``) and held as
base units (6 decimals, :func:`smartccp.units.cash`); quantities are whole units; days count
trading days of the drill from 0.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from smartccp.types import Segregation
from smartccp.units import cash as to_cash

SCENARIO_DIR = Path(__file__).resolve().parents[3] / "scenarios"
DEFAULT_SCENARIO = "normal_day"
PROFILES = ("fast", "full")
#: Life-cycle events (``smartccp.drill.life``): issuer, keeper or risk actions, ``member`` optional.
LIFE_EVENT_TYPES = ("coupon", "dividend", "claim", "compression", "interest_rate", "interest_claim",
                    "stop_trading", "redemption", "redeem")
EVENT_TYPES = ("missed_payment", "failed_delivery", "default", *LIFE_EVENT_TYPES)
SECURITY_KINDS = ("equity", "bond", "fund")  # SecurityKind of the depository, in order
SETTLEMENT_MODES = ("each_day", "rolling")
ORDER_MIX_KEYS = ("limit", "market", "ioc", "hidden", "iceberg")
RISK_BASES = ("model", "chain")


class ScenarioError(ValueError):
    """A scenario file that does not follow the format (the message says where)."""


@dataclass(frozen=True)
class SecuritySpec:
    """One security: tick and start price in cash base units, lot in units. ``maturity_day``:
    a bond's maturity, the start of that drill day (``settlement: rolling`` only)."""

    symbol: str
    isin: str
    tick: int
    lot: int
    start_price: int
    beta: float = 1.0
    kind: str = "equity"
    maturity_day: int | None = None


@dataclass(frozen=True)
class MemberSpec:
    """A clearing member (``clearing_member`` empty), a client of one, or a pseudonym (#24): a
    stealth address that ``owner`` (the clearing member itself, or one of its clients) trades from,
    attested by the register and unknown to the public; cash in base units."""

    name: str
    kind: str
    cash: int
    holdings: dict[str, int]
    clearing_member: str = ""
    trades: bool = True
    margin: int | None = None  # cash deposited as margin at setup (on-chain risk); None: risk.deposit_bps of cash
    segregation: str = "none"  # a client's account: "individual" (its own), "omnibus" (its member's); "house": a desk
    owner: str = ""  # a pseudonym's owner: its clearing member (default) or a client of it

    @property
    def segregation_mode(self) -> Segregation:
        """The register's ``Segregation`` for this member."""
        return Segregation[self.segregation.upper()]


@dataclass(frozen=True)
class PriceSpec:
    """Where daily settlement reference prices come from: ``sp500`` (a window of the real index
    starting at ``start``, each security ``beta`` times its returns plus idiosyncratic noise) or
    ``simulated`` (geometric Brownian motion with ``vol`` and ``drift``, annualised)."""

    source: str = "sp500"
    start: str = "2008-09-02"
    vol: float = 0.25
    drift: float = 0.0
    idio_vol: float = 0.10
    lookback_days: int = 750


@dataclass(frozen=True)
class FlowSpec:
    """Generated order flow per trading day (see :class:`smartccp.sim.simulator.MarketSimulator`)."""

    orders_per_day: int = 120
    auction_orders: int = 4
    mix: dict[str, float] = field(default_factory=lambda: {"limit": 0.55, "market": 0.1, "ioc": 0.15,
                                                           "hidden": 0.1, "iceberg": 0.1})
    cancel_rate: float = 0.08
    aggressive: float = 0.35
    max_lots: int = 10
    venue_weights: tuple[float, ...] = ()


@dataclass(frozen=True)
class ScriptedOrder:
    """An order placed as written, on ``day`` in ``phase`` (continuous | auction)."""

    day: int
    member: str
    security: str
    side: str
    quantity: int
    price: int
    venue: int = 0
    type: str = "limit"
    tif: str = "gtc"
    phase: str = "continuous"
    display: int = 0


@dataclass(frozen=True)
class EventSpec:
    """Something that goes wrong on ``day``; ``params`` are the type's own keys."""

    day: int
    type: str
    member: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CloseOutSpec:
    """The market used for sell-outs and buy-ins: ``market`` names an entry of
    :data:`smartccp.clearing.closeout.CLOSE_OUT_MARKETS`; ``slippage_bps`` moves its price against the
    failing side; inventory and cash in units / base units."""

    market: str = "mock"
    slippage_bps: int = 100
    inventory: int = 5_000
    cash: int = to_cash(2_000_000)
    handler_cash: int = to_cash(2_000_000)


@dataclass(frozen=True)
class RiskSpec:
    """Margin and default fund: ``margin`` picks the margin cycle and default handling,
    ``model`` (off chain, :mod:`smartccp.risk`) or ``chain`` (the Margin and DefaultFund
    contracts, with scenarios, prices and cover-2 contributions published from the models).
    ``deposit_bps``: on chain, the share of its cash each clearing member deposits as margin at
    setup (unless the member gives ``margin``)."""

    margin: str = "model"
    confidence: float = 0.99
    horizon_days: int = 5
    n_scenarios: int = 16
    skin_in_the_game: int = to_cash(5_000)
    default_fund_minimum: int = to_cash(1_000)
    assessment_cap_bps: int = 10_000
    stress_moves_bps: tuple[int, ...] = (-3000, -2000, -1000, 1000, 2000, 3000)
    deposit_bps: int = 2000
    port_window: int = 86_400  # seconds after a declaration in which clients may be ported


@dataclass(frozen=True)
class Scenario:
    """A resolved scenario (profile applied)."""

    name: str
    description: str
    seed: int
    profile: str
    venues: int
    settlement_lag: int
    days: int
    securities: tuple[SecuritySpec, ...]
    members: tuple[MemberSpec, ...]
    prices: PriceSpec
    flow: FlowSpec
    orders: tuple[ScriptedOrder, ...]
    events: tuple[EventSpec, ...]
    close_out: CloseOutSpec
    risk: RiskSpec
    bbo: bool = False
    path: str = ""
    settlement: str = "each_day"  # each_day: a day's cycle settles before the next day; rolling: see docs

    @property
    def rolling(self) -> bool:
        """One trading day per calendar day, cycles settled when due (with T+N, N+1 open at once)."""
        return self.settlement == "rolling"

    def member(self, name: str) -> MemberSpec:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(name)

    def security(self, symbol: str) -> SecuritySpec:
        for s in self.securities:
            if s.symbol == symbol:
                return s
        raise KeyError(symbol)

    def events_on(self, day: int, kind: str | None = None) -> list[EventSpec]:
        return [e for e in self.events if e.day == day and (kind is None or e.type == kind)]

    def events_of(self, *kinds: str) -> list[EventSpec]:
        """The events of these types, on any day."""
        return [e for e in self.events if e.type in kinds]


# ─── Loading ─────────────────────────────────────────────────────────────────────────────────


def scenario_path(name_or_path: str | Path | None) -> Path:
    """A bundled scenario by name (``normal_day``) or any file path."""
    if name_or_path is None:
        name_or_path = DEFAULT_SCENARIO
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.exists():
        return p
    bundled = SCENARIO_DIR / f"{p.stem if p.suffix else p.name}.yaml"
    if bundled.exists():
        return bundled
    raise ScenarioError(f"no scenario {name_or_path!r} (bundled: {', '.join(bundled_names())})")


def bundled_names() -> list[str]:
    """Names of the scenarios shipped in ``scenarios/``."""
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


def load_scenario(name_or_path: str | Path | None = None, profile: str = "full") -> Scenario:
    """Read, apply ``profile`` and validate a scenario; raises :class:`ScenarioError`."""
    path = scenario_path(name_or_path)
    raw = yaml.safe_load(path.read_text())
    if not isinstance(raw, dict):
        raise ScenarioError(f"{path}: the top level must be a mapping")
    return parse_scenario(raw, profile=profile, path=str(path))


def parse_scenario(raw: dict[str, Any], *, profile: str = "full", path: str = "<dict>") -> Scenario:
    """Build a :class:`Scenario` from the YAML mapping (see docs/scenarios.md)."""
    if profile not in PROFILES:
        raise ScenarioError(f"profile must be one of {PROFILES}, not {profile!r}")
    raw = _apply_profile(copy.deepcopy(raw), profile, path)
    where = f"{path}"
    for key in ("name", "securities", "members"):
        if key not in raw:
            raise ScenarioError(f"{where}: missing required key {key!r}")
    securities = tuple(_security(s, f"{where}: securities[{i}]") for i, s in enumerate(raw["securities"]))
    symbols = {s.symbol for s in securities}
    members = tuple(_member(m, symbols, f"{where}: members[{i}]") for i, m in enumerate(raw["members"]))
    names = {m.name for m in members}
    if len(names) != len(members):
        raise ScenarioError(f"{where}: member names must be unique")
    clearing = {x.name for x in members if x.kind == "clearing"}
    for m in members:
        if m.kind in ("client", "pseudonym") and m.clearing_member not in clearing:
            raise ScenarioError(f"{where}: {m.kind} {m.name} names unknown clearing member {m.clearing_member!r}")
        if m.kind == "pseudonym" and m.owner != m.clearing_member and m.owner not in {
                x.name for x in members if x.kind == "client" and x.clearing_member == m.clearing_member}:
            raise ScenarioError(f"{where}: pseudonym {m.name}: owner {m.owner!r} is neither its clearing member "
                                f"nor a client of it")
    venues = int(raw.get("venues", 1))
    days = int(raw.get("days", 1))
    flow = _flow(raw.get("flow", {}), venues, f"{where}: flow")
    orders = tuple(_order(o, names, symbols, venues, f"{where}: orders[{i}]") for i, o in enumerate(raw.get("orders", [])))
    events = tuple(_event(e, names, f"{where}: events[{i}]") for i, e in enumerate(raw.get("events", [])))
    for e in events:
        if not 0 <= e.day < days:
            raise ScenarioError(f"{where}: event {e.type} on day {e.day}, but the drill has days 0..{days - 1}")
        if "security" in e.params and e.params["security"] not in symbols:
            raise ScenarioError(f"{where}: event {e.type} names unknown security {e.params['security']!r}")
    settlement = str(raw.get("settlement", "each_day"))
    if settlement not in SETTLEMENT_MODES:
        raise ScenarioError(f"{where}: settlement must be one of {SETTLEMENT_MODES}")
    for s in securities:
        if s.maturity_day is not None and (settlement != "rolling" or not 0 < s.maturity_day < days):
            raise ScenarioError(f"{where}: {s.symbol}: maturity_day needs settlement: rolling and a day in 1..{days - 1}")
    return Scenario(
        name=str(raw["name"]),
        description=str(raw.get("description", "")).strip(),
        seed=int(raw.get("seed", 1)),
        profile=profile,
        venues=venues,
        settlement_lag=int(raw.get("settlement_lag", 1)),
        days=days,
        securities=securities,
        members=members,
        prices=_prices(raw.get("prices", {}), f"{where}: prices"),
        flow=flow,
        orders=orders,
        events=events,
        close_out=_close_out(raw.get("close_out", {})),
        risk=_risk(raw.get("risk", {})),
        bbo=bool(raw.get("bbo", False)),
        path=path,
        settlement=settlement,
    )


def _apply_profile(raw: dict[str, Any], profile: str, where: str) -> dict[str, Any]:
    """Merge ``profiles[profile]`` over the top level (one level deep for mappings)."""
    profiles = raw.pop("profiles", {}) or {}
    unknown = set(profiles) - set(PROFILES)
    if unknown:
        raise ScenarioError(f"{where}: unknown profiles {sorted(unknown)}")
    for key, value in (profiles.get(profile) or {}).items():
        if isinstance(value, dict) and isinstance(raw.get(key), dict):
            raw[key] = {**raw[key], **value}
        else:
            raw[key] = value
    return raw


def _known(d: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = set(d) - allowed
    if extra:
        raise ScenarioError(f"{where}: unknown keys {sorted(extra)} (allowed: {sorted(allowed)})")


def _security(d: dict[str, Any], where: str) -> SecuritySpec:
    _known(d, {"symbol", "isin", "tick", "lot", "start_price", "beta", "kind", "maturity_day"}, where)
    try:
        spec = SecuritySpec(symbol=str(d["symbol"]), isin=str(d.get("isin", "")).ljust(12, "0")[:12],
                            tick=to_cash(d.get("tick", "0.01")), lot=int(d.get("lot", 1)),
                            start_price=to_cash(d["start_price"]), beta=float(d.get("beta", 1.0)),
                            kind=str(d.get("kind", "equity")),
                            maturity_day=int(d["maturity_day"]) if "maturity_day" in d else None)
    except KeyError as err:
        raise ScenarioError(f"{where}: missing {err}") from None
    if spec.kind not in SECURITY_KINDS:
        raise ScenarioError(f"{where}: kind must be one of {SECURITY_KINDS}")
    if spec.start_price % spec.tick:
        raise ScenarioError(f"{where}: start_price is not a multiple of the tick")
    return spec


def _member(d: dict[str, Any], symbols: set[str], where: str) -> MemberSpec:
    _known(d, {"name", "kind", "clearing_member", "cash", "holdings", "trades", "margin", "segregation", "owner"}, where)
    kind = d.get("kind", "clearing")
    if kind not in ("clearing", "client", "pseudonym"):
        raise ScenarioError(f"{where}: kind must be clearing, client or pseudonym")
    holdings = {str(k): int(v) for k, v in (d.get("holdings") or {}).items()}
    if set(holdings) - symbols:
        raise ScenarioError(f"{where}: holdings of unknown securities {sorted(set(holdings) - symbols)}")
    if kind in ("client", "pseudonym") and not d.get("clearing_member"):
        raise ScenarioError(f"{where}: a {kind} needs clearing_member")
    if "owner" in d and kind != "pseudonym":
        raise ScenarioError(f"{where}: owner is a pseudonym's")
    segregation = str(d.get("segregation", "individual" if kind == "client" else "none"))
    if kind == "client" and segregation not in ("individual", "omnibus", "house"):
        raise ScenarioError(f"{where}: segregation must be individual, omnibus or house (a desk of its member)")
    if kind != "client" and "segregation" in d:
        raise ScenarioError(f"{where}: segregation is a client's (a clearing member trades for its house, a "
                            f"pseudonym for its own account)")
    if kind == "pseudonym":
        segregation = "individual"
    return MemberSpec(name=str(d["name"]), kind=kind, cash=to_cash(d.get("cash", 0)), holdings=holdings,
                      clearing_member=str(d.get("clearing_member", "")), trades=bool(d.get("trades", True)),
                      margin=to_cash(d["margin"]) if "margin" in d else None, segregation=segregation,
                      owner=str(d.get("owner", d.get("clearing_member", ""))) if kind == "pseudonym" else "")


def _prices(d: dict[str, Any], where: str) -> PriceSpec:
    _known(d, {"source", "start", "vol", "drift", "idio_vol", "lookback_days"}, where)
    spec = PriceSpec(**{k: (str(v) if k in ("source", "start") else v) for k, v in d.items()})
    if spec.source not in ("sp500", "simulated"):
        raise ScenarioError(f"{where}: source must be sp500 or simulated")
    return spec


def _flow(d: dict[str, Any], venues: int, where: str) -> FlowSpec:
    _known(d, {"orders_per_day", "auction_orders", "mix", "cancel_rate", "aggressive", "max_lots",
               "venue_weights"}, where)
    kw = dict(d)
    if "mix" in kw:
        mix = {str(k): float(v) for k, v in kw["mix"].items()}
        if set(mix) - set(ORDER_MIX_KEYS) or sum(mix.values()) <= 0:
            raise ScenarioError(f"{where}: mix keys are {ORDER_MIX_KEYS} with positive weights")
        kw["mix"] = mix
    weights = tuple(float(w) for w in kw.get("venue_weights", ())) or tuple([1.0] * venues)
    if len(weights) != venues:
        raise ScenarioError(f"{where}: venue_weights needs one weight per venue ({venues})")
    kw["venue_weights"] = weights
    return FlowSpec(**kw)


def _order(d: dict[str, Any], names: set[str], symbols: set[str], venues: int, where: str) -> ScriptedOrder:
    _known(d, {"day", "member", "security", "side", "quantity", "price", "venue", "type", "tif", "phase",
               "display"}, where)
    o = ScriptedOrder(day=int(d.get("day", 0)), member=str(d["member"]), security=str(d["security"]),
                      side=str(d["side"]), quantity=int(d["quantity"]), price=to_cash(d["price"]),
                      venue=int(d.get("venue", 0)), type=str(d.get("type", "limit")), tif=str(d.get("tif", "gtc")),
                      phase=str(d.get("phase", "continuous")), display=int(d.get("display", 0)))
    if o.member not in names or o.security not in symbols:
        raise ScenarioError(f"{where}: unknown member or security")
    if o.side not in ("buy", "sell") or o.phase not in ("continuous", "auction") or not 0 <= o.venue < venues:
        raise ScenarioError(f"{where}: side buy|sell, phase continuous|auction, venue 0..{venues - 1}")
    return o


def _event(d: dict[str, Any], names: set[str], where: str) -> EventSpec:
    if "type" not in d or d["type"] not in EVENT_TYPES:
        raise ScenarioError(f"{where}: type must be one of {EVENT_TYPES}")
    life = d["type"] in LIFE_EVENT_TYPES  # the issuer's, a keeper's or the risk key's: a member only if it acts
    if d.get("member") not in names and not (life and "member" not in d):
        raise ScenarioError(f"{where}: unknown member {d.get('member')!r}")
    params = {k: v for k, v in d.items() if k not in ("day", "type", "member")}
    return EventSpec(day=int(d.get("day", 0)), type=str(d["type"]), member=str(d.get("member", "")), params=params)


def _close_out(d: dict[str, Any]) -> CloseOutSpec:
    _known(d, {"market", "slippage_bps", "inventory", "cash", "handler_cash"}, "close_out")
    kw = dict(d)
    for k in ("cash", "handler_cash"):
        if k in kw:
            kw[k] = to_cash(kw[k])
    return CloseOutSpec(**kw)


def _risk(d: dict[str, Any]) -> RiskSpec:
    _known(d, {"margin", "confidence", "horizon_days", "n_scenarios", "skin_in_the_game",
               "default_fund_minimum", "assessment_cap_bps", "stress_moves_bps", "deposit_bps", "port_window"}, "risk")
    kw = dict(d)
    for k in ("skin_in_the_game", "default_fund_minimum"):
        if k in kw:
            kw[k] = to_cash(kw[k])
    if "stress_moves_bps" in kw:
        kw["stress_moves_bps"] = tuple(int(x) for x in kw["stress_moves_bps"])
    if kw.get("margin", "model") not in RISK_BASES:
        raise ScenarioError(f"risk: margin must be one of {RISK_BASES}, not {kw['margin']!r}")
    return RiskSpec(**kw)
