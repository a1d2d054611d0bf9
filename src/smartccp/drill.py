"""Scenario-driven drills: a trading day (or several) on the real contracts, from a YAML scenario.

Per day: open → continuous session (scripted and simulated orders on every venue) → closing
auction → settlement prices → margin cycle (hook) → events before settlement → netting cycle and
DVP settlement (sell-outs and buy-ins on the pluggable close-out market) → events after
settlement (e.g. the default waterfall) → invariant checks. Then final balances, the JSON report
and the charts (:mod:`smartccp.drill_charts`).

Pluggable parts, chosen by the scenario (the built-in entries are in :mod:`smartccp.drill_events`):

- :data:`MARGIN_CYCLES` (``@margin_cycle("model")``, ``@margin_cycle("chain")``): the margin
  step, chosen by ``risk.margin``;
- :data:`EVENT_HANDLERS` (``@event_handler("default")``): one :class:`EventHandler` per event
  type, with ``before_settlement`` / ``after_settlement``; a handler registered as
  ``"<type>:<risk.margin>"`` (``"default:chain"``) takes precedence for that risk basis;
- :data:`smartccp.closeout.CLOSE_OUT_MARKETS`: the market for sell-outs and buy-ins.

Two risk bases, and every report says which one ran (``notices.risk``):

- ``risk.margin: chain`` — the **Margin and DefaultFund contracts** (``smartccp.risk_chain``):
  every order passes the pre-trade gate, members post margin and contributions on chain, the
  daily cycle publishes settlement prices and refreshes margin (calls), cover-2 contributions
  are re-published from the models, and a default runs the waterfall on chain (the CCP charges
  its close-out shortfall to the DefaultFund; each ``LayerUsed`` event is in the report);
- ``risk.margin: model`` — margin and the waterfall as **models (off chain)** from
  :mod:`smartccp.risk`; shortfalls are paid by the ``MockDefaultHandler`` test double.

The close-out market is the ``mock`` test double unless the scenario names another; the bundled
scenarios name ``venue`` (``VenueCloseOut`` on venue 0). With ``risk.margin: chain`` a settlement
failure's shortfall goes to the DefaultFund (``missed_payment:chain``, ``failed_delivery:chain``),
which declares the charged clearing member in default and covers it through the waterfall; a
member whose own margin covered its whole loss makes good and is cured (reinstated) after
settlement.

Idempotency: every step has a key (``setup``, ``day0:auction``, ...) and a journal; re-running a
finished step returns its recorded result and sends nothing. Steps that act on chain also check
the chain first (phase already set, auction already uncrossed, cycle already settled), so even a
forced re-run (:meth:`DrillRunner.rerun`) of those is a no-op.

Units: cash in base units (6 decimals), prices in base units per unit, quantities in units.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ape import chain, networks

from smartccp import risk
from smartccp.clearing import (
    Phase as CyclePhase,
    check_ccp_empty,
    check_flat,
    liquidity,
    member_aggregates,
    obligations,
    run_cycle,
    supplies,
    warp_past,
)
from smartccp.accounts import seeded_account
from smartccp.bbo import BboClient, deploy_bbo
from smartccp.closeout import CloseOutMarket, make_close_out
from smartccp.orders import Order, OrderType, Phase, Side, TimeInForce
from smartccp.drill_report import render
from smartccp.risk_chain import (
    Risk,
    deploy_risk,
    layer_events,
    margin_status,
    publish_contributions,
    publish_prices,
    publish_scenarios,
    sign_fund_transfer,
)
from smartccp.scenario import EventSpec, Scenario
from smartccp.simulator import FlowDriver, FlowStats, MarketSimulator, OrderIntent, price_paths
from smartccp.system import DAY, System, deploy_system, kyc_expiry, list_security
from smartccp.trading import VenueClient
from smartccp.units import fmt_cash

MODEL_NOTICE = "model (off chain, smartccp.risk); shortfalls paid by the MockDefaultHandler test double"
CHAIN_NOTICE = "on chain (Margin + DefaultFund contracts; scenarios, prices and cover-2 contributions from smartccp.risk)"
MAX_UINT = 2**256 - 1
UNCROSS_FILLS = 40
TREASURY_MULTIPLE = 4  # the CCP's treasury holds this many times its skin in the game (refills)


# ─── Registries ──────────────────────────────────────────────────────────────────────────────


class EventHandler:
    """What an event does around the settlement of its day. ``basis`` says whether it runs on
    chain or as a model; subclasses override the hooks they need."""

    basis = "on chain"

    def before_settlement(self, run: "DrillRunner", event: EventSpec, day: "DayState") -> dict[str, Any]:
        return {}

    def after_settlement(self, run: "DrillRunner", event: EventSpec, day: "DayState") -> dict[str, Any]:
        return {}

    def close_out_moves(self, run: "DrillRunner", event: EventSpec, day: "DayState") -> dict[int, int]:
        """Price moves (bps, by security id) the close-out market should trade at."""
        return {}


EVENT_HANDLERS: dict[str, EventHandler] = {}
MARGIN_CYCLES: dict[str, Callable[["DrillRunner", "DayState"], dict[str, Any]]] = {}


def event_handler(name: str) -> Callable[[type[EventHandler]], type[EventHandler]]:
    """Register (or replace) the handler of event type ``name``."""

    def register(cls: type[EventHandler]) -> type[EventHandler]:
        EVENT_HANDLERS[name] = cls()
        return cls

    return register


def margin_cycle(name: str) -> Callable:
    """Register (or replace) a margin cycle ``fn(run, day) -> {"basis", "calls": [...]}``."""

    def register(fn: Callable) -> Callable:
        MARGIN_CYCLES[name] = fn
        return fn

    return register


# ─── State ───────────────────────────────────────────────────────────────────────────────────


@dataclass
class Check:
    """One invariant check and its outcome."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class DayState:
    """What one trading day produced (the per-cycle entry of the report)."""

    day: int
    cycle_id: int = 0
    start_block: int = 0
    flow: dict[str, Any] = field(default_factory=dict)
    auctions: list[dict[str, Any]] = field(default_factory=list)
    settlement_prices: dict[str, int] = field(default_factory=dict)
    margin: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    gross: dict[str, Any] = field(default_factory=dict)
    net: dict[str, Any] = field(default_factory=dict)
    obligations: list[dict[str, Any]] = field(default_factory=list)
    settlement: dict[str, Any] = field(default_factory=dict)
    sell_outs: list[dict[str, Any]] = field(default_factory=list)
    buy_ins: list[dict[str, Any]] = field(default_factory=list)
    shortfalls: list[dict[str, Any]] = field(default_factory=list)
    layers_used: list[dict[str, Any]] = field(default_factory=list)
    defaults: list[dict[str, Any]] = field(default_factory=list)
    bbo: dict[str, Any] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "checks"}
        d["checks"] = [c.__dict__ for c in self.checks]
        return d


@dataclass
class StepRecord:
    key: str
    wall_s: float
    txs: int
    gas: int
    reruns: int = 0


# ─── Runner ──────────────────────────────────────────────────────────────────────────────────


class DrillRunner:
    """Runs one scenario on the connected network.

    Args:
        scenario: a resolved :class:`smartccp.scenario.Scenario`.
        roles: :class:`smartccp.accounts.Roles` (operator, bank, issuer).
        out: directory for ``drill_<name>.json`` and the charts (None: write nothing).
        progress: called with one line of progress text (e.g. ``click.echo``).
    """

    def __init__(self, scenario: Scenario, roles: Any, *, out: Path | None = None,
                 progress: Callable[[str], None] | None = None):
        self.sc = scenario
        self.roles = roles
        self.out = out
        self.say = progress or (lambda _msg: None)
        self.journal: dict[str, Any] = {}
        self.steps: list[StepRecord] = []
        self.days: list[DayState] = []
        self.system: System | None = None
        self.accounts: dict[str, Any] = {}
        self.sids: list[int] = []
        self.clients: list[VenueClient] = []
        self.driver: FlowDriver | None = None
        self.close_out: CloseOutMarket | None = None
        self.risk: Risk | None = None
        self.bbo: BboClient | None = None
        self.defaulted: set[str] = set()
        self.supply0: dict[str, int] = {}
        self.names: dict[str, str] = {}
        path, history = price_paths(scenario.prices, scenario.securities, scenario.days + 1, scenario.seed)
        self.path, self.history = path, history
        self.shocks = self._calibrate(history)
        self.sim = MarketSimulator([m.name for m in scenario.members if m.trades], scenario.securities,
                                   scenario.flow, scenario.seed)
        self.report: dict[str, Any] = {}
        self.journal_extra: dict[str, Any] = {}

    # ─── journal ───

    def step(self, key: str, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` once under ``key``; later calls return the recorded result, sending nothing."""
        if key in self.journal:
            rec = next(s for s in self.steps if s.key == key)
            rec.reruns += 1
            return self.journal[key]
        self.say(f"  {key} ...")
        start_block, t0 = chain.blocks.head.number, time.perf_counter()
        result = fn()
        txs, gas = self._block_stats(start_block)
        rec = StepRecord(key, round(time.perf_counter() - t0, 3), txs, gas)
        self.steps.append(rec)
        self.journal[key] = result
        self.say(f"  {key}: {rec.txs} txs, {rec.gas:,} gas, {rec.wall_s:.1f} s")
        return result

    def rerun(self, key: str) -> int:
        """Force a chain-guarded step to run again, ignoring the journal; returns the number of
        transactions it sent (0: the chain already had it done). Only for steps whose key ends in
        ``open``, ``auction`` or ``settle``."""
        day_s, name = key.split(":")
        day = self.days[int(day_s[3:])]
        fn = {"open": self._open, "auction": self._auction, "settle": self._settle}[name]
        start = chain.blocks.head.number
        fn(day)
        return chain.blocks.head.number - start

    def _block_stats(self, start_block: int) -> tuple[int, int]:
        head = chain.blocks.head.number
        web3 = networks.provider.web3
        gas = sum(int(web3.eth.get_block(n)["gasUsed"]) for n in range(start_block + 1, head + 1))
        return head - start_block, gas

    # ─── the run ───

    def run(self) -> dict[str, Any]:
        """Run every step (each once); returns the report (also written to ``out``)."""
        t0 = time.perf_counter()
        self.say(f"drill {self.sc.name} ({self.sc.profile}): {self.sc.days} day(s), {self.sc.venues} venue(s), "
                 f"{len(self.sc.members)} members, {len(self.sc.securities)} securities")
        self.step("setup", self._setup)
        for d in range(self.sc.days):
            if len(self.days) <= d:
                self.days.append(DayState(day=d))
            day = self.days[d]
            self.say(f"day {d}")
            for name, fn in (("open", self._open), ("continuous", self._continuous), ("auction", self._auction),
                             ("prices", self._prices), ("margin", self._margin), ("events", self._events_before),
                             ("settle", self._settle), ("after", self._events_after), ("checks", self._checks)):
                self.step(f"day{d}:{name}", lambda fn=fn, day=day: fn(day))
        self.step("final", self._final)
        wall = time.perf_counter() - t0
        if "wall_s" not in self.report:
            self.report["wall_s"] = round(wall, 3)
            if self.out is not None:  # the JSON written by the final step gets the run's wall time too
                path = self.out / f"drill_{self.sc.name}.json"
                path.write_text(json.dumps(self.report, indent=2, default=str) + "\n")
        return self.report

    # ─── setup ───

    def _account(self, name: str) -> Any:
        return seeded_account(f"smartccp-drill:{self.sc.name}:{self.sc.seed}:{name}", self.roles.operator)

    def _setup(self) -> dict[str, Any]:
        sc, r = self.sc, self.roles
        self.system = s = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer, n_venues=sc.venues)
        if self.on_chain_risk:  # before anyone is admitted: Margin's copy of the register is complete
            self.risk = deploy_risk(s, r.operator)
        if sc.bbo:
            self.bbo = BboClient(deploy_bbo(s, r.operator))
        for sec in sc.securities:
            receipt = s.securities.listSecurity(sec.symbol, sec.isin.encode()[:12], 0, sec.tick, sec.lot, 0,
                                                sender=r.issuer)
            self.sids.append(int(receipt.return_value or s.securities.securityCount()))
        expiry = kyc_expiry()
        for m in sorted(sc.members, key=lambda m: m.kind != "clearing"):
            acct = self.accounts[m.name] = self._account(m.name)
            self.names[str(acct.address)] = m.name
            if m.kind == "clearing":
                s.membership.admitClearingMember(acct, expiry, sender=r.operator)
            else:
                s.membership.admitParticipant(acct, self.accounts[m.clearing_member], expiry, sender=r.operator)
            if m.cash:
                s.cash.issue(acct, m.cash, sender=r.bank)
            for sym, units in m.holdings.items():
                if units:
                    s.securities.issue(self.sids[self._sec_index(sym)], acct, units, sender=r.issuer)
            s.cash.approve(s.ccp, MAX_UINT, sender=acct)
            s.securities.setApprovalForAll(s.ccp, True, sender=acct)
        for sid in self.sids:
            list_security(s, r.operator, sid, lag_days=sc.settlement_lag)
        self.close_out = make_close_out(sc.close_out)
        self.close_out.deploy(s, r.operator, bank=r.bank, issuer=r.issuer, security_ids=self.sids)
        risk_setup = self._setup_risk() if self.on_chain_risk else {"basis": MODEL_NOTICE}
        self.clients = [VenueClient(v) for v in s.venues]
        sources = [s.ccp] + ([self.risk.margin] if self.risk is not None else [])  # to name gate refusals
        self.driver = FlowDriver(self.clients, self.accounts, self.sids, error_sources=sources)
        self.supply0 = supplies(s, self.sids)
        self.names[str(s.ccp.address)] = "CCP"
        return {"addresses": s.addresses(), "security_ids": dict(zip([x.symbol for x in sc.securities], self.sids)),
                "members": {n: str(a.address) for n, a in self.accounts.items()}, "close_out": self.close_out_label(),
                "supplies": dict(self.supply0), "risk": risk_setup}

    @property
    def on_chain_risk(self) -> bool:
        """Margin and the waterfall run on the risk contracts (``risk.margin: chain``)."""
        return self.sc.risk.margin == "chain"

    def risk_notice(self) -> str:
        return f"margin calls and default waterfall: {CHAIN_NOTICE if self.on_chain_risk else MODEL_NOTICE}"

    def close_out_label(self) -> str:
        label = self.close_out.label if self.close_out else "none"
        if self.on_chain_risk and "DefaultFund" not in label:
            label += "; shortfalls charged on chain to the DefaultFund (the mock handler is not used)"
        return label

    def _setup_risk(self) -> dict[str, Any]:
        """On-chain risk: scenarios (calibrated shocks) and start prices published; the
        DefaultFund replaces the close-out's shortfall handler; every clearing member posts its
        margin and the minimum fund contribution in one signed ``FundTransfer``; the CCP's skin in
        the game is paid in by the settlement bank (standing in for the CCP's treasury)."""
        s, r, rk, risk_ = self._sys(), self.roles, self.sc.risk, self._risk()
        s.ccp.setDefaultHandler(risk_.fund, sender=r.operator)
        shocks = {sid: [int(x) for x in self.shocks[i]] for i, sid in enumerate(self.sids)}
        publish_scenarios(risk_.margin, shocks, r.operator)
        publish_prices(risk_.margin, {sid: sec.start_price for sid, sec in zip(self.sids, self.sc.securities)},
                       r.operator)
        clearing = [m for m in self.sc.members if m.kind == "clearing"]
        publish_contributions(risk_.fund, {self.accounts[m.name]: rk.default_fund_minimum for m in clearing},
                              r.operator)
        deadline = chain.pending_timestamp + DAY
        deposits = {}
        for m in clearing:
            acct = self.accounts[m.name]
            posted = m.margin if m.margin is not None else m.cash * rk.deposit_bps // 10_000
            s.cash.approve(risk_.margin, MAX_UINT, sender=acct)
            s.cash.approve(risk_.fund, MAX_UINT, sender=acct)
            transfer, signature = sign_fund_transfer(risk_.margin, acct, posted, rk.default_fund_minimum, deadline)
            risk_.margin.depositWithSignature(transfer, signature, sender=r.operator)  # anyone may submit
            deposits[m.name] = {"margin": posted, "contribution": rk.default_fund_minimum}
        # The CCP's treasury (held by the bank): the skin in the game and reserves to refill it.
        s.cash.issue(r.bank, TREASURY_MULTIPLE * rk.skin_in_the_game, sender=r.bank)
        s.cash.approve(risk_.fund, MAX_UINT, sender=r.bank)
        risk_.fund.fundSkinInTheGame(rk.skin_in_the_game, sender=r.bank)
        return {"basis": CHAIN_NOTICE, "shocks_bps": {self._sym(k): v for k, v in shocks.items()},
                "deposits": deposits, "skin_in_the_game": rk.skin_in_the_game,
                "margin": str(risk_.margin.address), "default_fund": str(risk_.fund.address)}

    def _sec_index(self, symbol: str) -> int:
        return [s.symbol for s in self.sc.securities].index(symbol)

    # ─── day steps ───

    def _open(self, day: DayState) -> dict[str, Any]:
        s, op = self._sys(), self.roles.operator
        session_end = (chain.pending_timestamp // DAY + 1) * DAY - 1
        for v in s.venues:
            if int(v.sessionEnd()) != session_end:
                v.setSessionEnd(session_end, sender=op)
            for sid in self.sids:
                if Phase(int(v.phaseOf(sid))) == Phase.CLOSED:
                    v.setPhase(sid, int(Phase.CONTINUOUS), sender=op)
        if not day.start_block:
            day.start_block = chain.blocks.head.number
            day.cycle_id = int(s.ccp.settlementCycle(self.sids[0])[0])
        return {"cycle_id": day.cycle_id, "session_end": session_end}

    def _scripted(self, day: int, phase: str) -> list[OrderIntent]:
        types = {"limit": OrderType.LIMIT, "market": OrderType.MARKET, "hidden": OrderType.HIDDEN,
                 "iceberg": OrderType.ICEBERG}
        tifs = {"gtc": TimeInForce.GTC, "day": TimeInForce.DAY, "ioc": TimeInForce.IOC, "fok": TimeInForce.FOK}
        return [OrderIntent(o.member, o.venue, self._sec_index(o.security), "place",
                            Side.BUY if o.side == "buy" else Side.SELL, types[o.type], tifs[o.tif], o.quantity,
                            o.price, o.display, f"scripted {o.type}")
                for o in self.sc.orders if o.day == day and o.phase == phase and o.member not in self.defaulted]

    def _active(self, intents: list[OrderIntent]) -> list[OrderIntent]:
        return [i for i in intents if i.member not in self.defaulted]

    def _continuous(self, day: DayState) -> dict[str, Any]:
        d = day.day
        intents = self._scripted(d, "continuous") + self._active(
            self.sim.continuous(d, [int(x) for x in self.path[d]], [int(x) for x in self.path[d + 1]]))
        stats = self._driver().run(intents, progress=self._flow_progress)
        day.flow = stats.as_dict()
        if self.defaulted:
            day.flow["refused_defaulters"] = self._defaulter_refusals()
        if self.bbo is not None:
            day.bbo = self._bbo_quotes()
        return day.flow

    def _bbo_quotes(self) -> dict[str, Any]:
        """The BBO's consolidated quote per security at the end of the continuous session."""
        assert self.bbo is not None
        names = {str(a): f"V{i}" for i, a in enumerate(self.bbo.bbo.venues())}
        out = {}
        for sid in self.sids:
            q = self.bbo.quote(sid)
            out[self._sym(sid)] = {"bid": q.bid_price, "bid_size": q.bid_size,
                                   "bid_venues": [names.get(v, v) for v in q.bid_venues],
                                   "ask": q.ask_price, "ask_size": q.ask_size,
                                   "ask_venues": [names.get(v, v) for v in q.ask_venues],
                                   "matches_venues": q.core() == self.bbo.quote_from_venues(sid).core()}
        return out

    def _flow_progress(self, i: int, n: int, st: FlowStats) -> None:
        self.say(f"    orders {i}/{n}: {st.trades} trades, {st.rested} rested, {st.cancelled} cancelled, "
                 f"{sum(st.rejected.values())} refused")

    def _auction(self, day: DayState) -> list[dict[str, Any]]:
        s, op = self._sys(), self.roles.operator
        head = chain.blocks.head.number + 1
        to_open = [(vi, v, sid) for vi, v in enumerate(s.venues) for sid in self.sids
                   if Phase(int(v.phaseOf(sid))) == Phase.CONTINUOUS
                   and not any(int(e.securityId) == sid for e in v.AuctionUncrossed.range(day.start_block, head))]
        if not to_open:
            return day.auctions  # already uncrossed (the venue may have reopened since): nothing to do
        for _, v, sid in to_open:
            v.setPhase(sid, int(Phase.PRE_CLOSE), sender=op)
        d = day.day
        intents = self._scripted(d, "auction") + self._active(
            self.sim.auction(d, [int(x) for x in self.path[d + 1]], self.sc.venues))
        stats = self._driver().run(intents)
        day.flow["auction_orders"] = stats.as_dict()
        for vi, v, sid in to_open:
            price = volume = 0
            while Phase(int(v.phaseOf(sid))) == Phase.PRE_CLOSE:
                receipt = v.uncross(sid, UNCROSS_FILLS, sender=op)
                for log in receipt.decode_logs(v.AuctionUncrossed):
                    price, volume = int(log.price), int(log.volume)
            day.auctions.append({"venue": vi, "security": self._sym(sid), "price": price, "volume": volume,
                                 "last_price": int(v.lastPrice(sid))})
        return day.auctions

    def _prices(self, day: DayState) -> dict[str, int]:
        """Settlement price per security: the closing auction with the most volume, else the
        last trade of the first venue that traded, else the reference price."""
        s = self._sys()
        for i, sid in enumerate(self.sids):
            sym = self.sc.securities[i].symbol
            auctions = sorted((a for a in day.auctions if a["security"] == sym and a["volume"]), key=lambda a: -a["volume"])
            last = [int(v.lastPrice(sid)) for v in s.venues if int(v.lastPrice(sid))]
            day.settlement_prices[sym] = auctions[0]["price"] if auctions else (last[0] if last else int(self.path[day.day + 1][i]))
        return day.settlement_prices

    def _margin(self, day: DayState) -> dict[str, Any]:
        fn = MARGIN_CYCLES[self.sc.risk.margin]
        day.margin = fn(self, day)
        return day.margin

    def _events_before(self, day: DayState) -> list[dict[str, Any]]:
        moves: dict[int, int] = {}
        for e in self.sc.events_on(day.day):
            handler = self.handler(e)
            moves.update(handler.close_out_moves(self, e, day))
            result = handler.before_settlement(self, e, day)
            day.events.append({"day": e.day, "type": e.type, "member": e.member, "basis": handler.basis, **result})
        prices = {sid: day.settlement_prices[self._sym(sid)] for sid in self.sids}
        used = self.close_out.set_prices(prices, self.roles.operator, moves_bps=moves)
        day.settlement["close_out_prices"] = {self._sym(k): v for k, v in used.items()}
        return day.events

    def _settle(self, day: DayState) -> dict[str, Any]:
        ccp = self._sys().ccp
        info = ccp.cycleInfo(day.cycle_id)
        if CyclePhase(int(info[0])) == CyclePhase.UNKNOWN:
            day.settlement.update(phase="NO_TRADES")
            return day.settlement
        if not day.obligations:
            obs = obligations(ccp, day.cycle_id)
            day.obligations = [{"account": self.names.get(o.account, o.account), "security": self._sym(o.security_id),
                                "quantity": o.quantity, "cash": o.cash} for o in obs]
            liq = liquidity(ccp, day.cycle_id, start_block=day.start_block)
            day.gross = {"trades": liq.trades, "cash": liq.gross_cash, "units": liq.gross_units}
            day.net = {"cash": liq.net_cash, "units": liq.net_units, "cash_saving": round(liq.cash_saving, 4),
                       "units_saving": round(liq.units_saving, 4)}
        warp_past(ccp, day.cycle_id)
        rep = run_cycle(ccp, day.cycle_id, self.roles.operator, chunk=40)
        if rep.transactions == 0:
            return day.settlement  # settled already: nothing sent
        day.settlement.update(phase=rep.phase.name, obligations=rep.obligations, failures=rep.failures,
                              txs=rep.transactions, gas=rep.total_gas, events=rep.events)
        for log in rep.logs(ccp.SoldOut):
            day.sell_outs.append({"account": self._name(log.account), "security": self._sym(log.securityId),
                                  "offered": int(log.offered), "sold": int(log.sold), "proceeds": int(log.proceeds)})
        for log in rep.logs(ccp.BoughtIn):
            day.buy_ins.append({"account": self._name(log.account), "security": self._sym(log.securityId),
                                "wanted": int(log.wanted), "bought": int(log.bought), "cost": int(log.cost)})
        for log in rep.logs(ccp.ShortfallCharged):
            day.shortfalls.append({"account": self._name(log.account), "clearing_member": self._name(log.clearingMember),
                                   "shortfall": int(log.shortfall), "covered": int(log.covered)})
        if self.risk is not None:
            day.layers_used = [{"defaulter": self._name(d), "layer": layer, "amount": amount}
                               for d, layer, amount in layer_events(self.risk.fund, rep.receipts)]
        return day.settlement

    def handler(self, event: EventSpec) -> EventHandler:
        """The handler of ``event``: one registered for this risk basis (``default:chain``) first."""
        return EVENT_HANDLERS.get(f"{event.type}:{self.sc.risk.margin}") or EVENT_HANDLERS[event.type]

    def _events_after(self, day: DayState) -> list[dict[str, Any]]:
        for entry, e in zip(day.events, self.sc.events_on(day.day)):
            entry.update(self.handler(e).after_settlement(self, e, day))
        return day.events

    # ─── invariants ───

    def _checks(self, day: DayState) -> list[dict[str, Any]]:
        s = self._sys()
        checks = day.checks
        checks.clear()

        def check(name: str, fn: Callable[[], tuple[bool, str]]) -> None:
            try:
                ok, detail = fn()
            except AssertionError as err:
                ok, detail = False, str(err)
            checks.append(Check(name, bool(ok), detail))

        traded = day.settlement.get("phase") != "NO_TRADES"
        if traded:
            check("cycle settled", lambda: (CyclePhase(int(s.ccp.cycleInfo(day.cycle_id)[0])) == CyclePhase.SETTLED,
                                            f"cycle {day.cycle_id}"))
            check("CCP flat (net quantities and cash sum to zero per security)",
                  lambda: (check_flat(s.ccp, day.cycle_id, self.sids) is None, "netSums == (0, 0)"))
            check("net pay-in <= gross", lambda: (day.net["cash"] <= day.gross["cash"] and day.net["units"] <= day.gross["units"],
                                                  f"cash {fmt_cash(day.net['cash'])} <= {fmt_cash(day.gross['cash'])}"))
            check("every novated trade has two signed orders behind it", lambda: self._signed_trades(day))
        check("CCP holds nothing beyond custody", lambda: (check_ccp_empty(s.ccp, s, self.sids) is None, "pool == (0, 0)"))
        check("supply conserved (nothing created or lost)",
              lambda: (supplies(s, self.sids) == self.supply0, f"{supplies(s, self.sids)}"))
        check("double entry: holders' balances sum to the supply", self._double_entry)
        for ev in day.events:
            if "waterfall" in ev:
                check("waterfall covers the loss, layers in order", lambda ev=ev: _waterfall_ok(ev["waterfall"]))
        for ev in day.events:
            if "cure" in ev:
                check("cured member active again, default flag cleared, gate accepts its order",
                      lambda ev=ev: _cure_ok(self, ev))
        if "refused_defaulters" in day.flow:
            check("defaulter refused, market keeps running",
                  lambda: (all(day.flow["refused_defaulters"].values()) and day.flow["trades"] > 0,
                           f"{day.flow['refused_defaulters']}, {day.flow['trades']} trades"))
        return [c.__dict__ for c in checks]

    def _signed_trades(self, day: DayState) -> tuple[bool, str]:
        """Every venue trade carries both orders' hashes; every one except the close-out
        market's own fills (direct DVP, never novated) has two novated legs in the cycle."""
        head = chain.blocks.head.number + 1
        traded = [log for v in self._sys().venues for log in v.Traded.range(day.start_block, head)]
        legs = [log for log in self._sys().ccp.TradeNovated.range(day.start_block, head)
                if int(log.cycleId) == day.cycle_id]
        market = str(getattr(self.close_out.market, "address", "")) if self.close_out else ""
        close_out = [t for t in traded if market and market in (str(t.buyer), str(t.seller))]
        signed = all(int.from_bytes(bytes(t.bidOrderHash), "big") and int.from_bytes(bytes(t.offerOrderHash), "big")
                     for t in traded)
        novated = len(traded) - len(close_out)
        return signed and len(legs) == 2 * novated, (f"{novated} trades, {len(legs)} novated legs"
                                                     + (f"; {len(close_out)} close-out fills (direct DVP)"
                                                        if close_out else ""))

    def _holders(self) -> dict[str, Any]:
        s = self._sys()
        named = {n: a for n, a in self.accounts.items()}
        named.update({"CCP": s.ccp, "bank": self.roles.bank, "issuer": self.roles.issuer})
        named.update(self.close_out.holders())
        if self.risk is not None:
            named.update({"Margin": self.risk.margin, "DefaultFund": self.risk.fund})
        return named

    def _double_entry(self) -> tuple[bool, str]:
        s = self._sys()
        holders = {str(a.address): a for a in self._holders().values()}.values()
        cash_sum = sum(int(s.cash.balanceOf(a)) for a in holders)
        ok = cash_sum == int(s.cash.totalSupply())
        for sid in self.sids:
            ok &= sum(int(s.securities.balanceOf(a, sid)) for a in holders) == int(s.securities.totalSupply(sid))
        return ok, f"{len(holders)} holders, cash {fmt_cash(cash_sum)}"

    def _defaulter_refusals(self) -> dict[str, bool]:
        """An order of each defaulter, tried by eth_call on the first venue: refused?"""
        from smartccp.demo import refusal

        out = {}
        client, sid = self.clients[0], self.sids[0]
        for name in sorted(self.defaulted):
            acct = self.accounts[name]
            order = client.with_nonce(Order(owner=str(acct.address), securityId=sid, side=Side.BUY,
                                            quantity=self.sc.securities[0].lot, price=int(self.path[0][0])))
            err = refusal(client.venue.placeOrder, order.as_tuple(), client.sign(order, acct), 16, sender=acct)
            out[name] = err is not None
        return out

    # ─── final ───

    def _final(self) -> dict[str, Any]:
        s = self._sys()
        balances = {}
        for name, acct in self._holders().items():
            balances[name] = {"cash": int(s.cash.balanceOf(acct)),
                              **{sec.symbol: int(s.securities.balanceOf(acct, sid))
                                 for sec, sid in zip(self.sc.securities, self.sids)}}
        checks = [c for d in self.days for c in d.checks]
        self.report = {
            "scenario": self.sc.name,
            "description": self.sc.description,
            "profile": self.sc.profile,
            "seed": self.sc.seed,
            "network": _network_name(),
            "notices": {"risk": self.risk_notice(), "close_out": self.close_out_label(),
                        "bbo": "BBO contract: consolidated quote of every venue" if self.bbo else "no BBO"},
            "setup": self.journal["setup"],
            "reference_prices": {sec.symbol: [int(x) for x in self.path[:, i]] for i, sec in enumerate(self.sc.securities)},
            "cycles": [d.as_dict() for d in self.days],
            "final_balances": balances,
            "checks": {"passed": sum(c.ok for c in checks), "failed": [c.name for c in checks if not c.ok]},
            "ok": all(c.ok for c in checks),
            "steps": [s.__dict__ for s in self.steps],
        }
        if self.out is not None:
            self.write(self.out)
        return self.report

    def write(self, out: Path) -> dict[str, Path]:
        """Write the JSON report and the charts into ``out``; returns the paths."""
        from smartccp.drill_charts import write_charts

        out.mkdir(parents=True, exist_ok=True)
        charts = write_charts(self.report, out, prefix=f"drill_{self.sc.name}")
        self.report["charts"] = {k: str(v) for k, v in charts.items()}
        path = out / f"drill_{self.sc.name}.json"
        path.write_text(json.dumps(self.report, indent=2, default=str) + "\n")
        return {"json": path, **charts}

    # ─── helpers ───

    def _risk(self) -> Risk:
        if self.risk is None:
            raise RuntimeError("this scenario runs the risk model (risk.margin: model), not the contracts")
        return self.risk

    def _sys(self) -> System:
        if self.system is None:
            raise RuntimeError("the setup step has not run")
        return self.system

    def _driver(self) -> FlowDriver:
        assert self.driver is not None
        return self.driver

    def _sym(self, sid: int) -> str:
        return self.sc.securities[self.sids.index(int(sid))].symbol

    def _name(self, address: Any) -> str:
        return self.names.get(str(address), str(address))

    def _calibrate(self, history: np.ndarray) -> np.ndarray:
        r = self.sc.risk
        return risk.calibrate_shocks(history, horizon_days=r.horizon_days, confidence=r.confidence,
                                     n_scenarios=r.n_scenarios).reshape(len(self.sc.securities), -1)

    def member_positions(self, day: DayState) -> dict[str, tuple[list[int], int]]:
        """Clearing member name -> (net quantity per security, net cash) of the day's cycle,
        clients included (what margin is computed on)."""
        s = self._sys()
        if CyclePhase(int(s.ccp.cycleInfo(day.cycle_id)[0])) == CyclePhase.UNKNOWN:
            return {}
        agg = member_aggregates(obligations(s.ccp, day.cycle_id), s.membership)
        out: dict[str, tuple[list[int], int]] = {}
        for (cm, sid), (q, c) in agg.items():
            name = self._name(cm)
            qs, cash_sum = out.get(name, ([0] * len(self.sids), 0))
            qs[self.sids.index(sid)] += q
            out[name] = (qs, cash_sum + c)
        return out

    def prices_list(self, day: DayState) -> list[int]:
        return [day.settlement_prices[s.symbol] for s in self.sc.securities]


def _waterfall_ok(w: dict[str, Any]) -> tuple[bool, str]:
    layers = w["layers"]
    total = sum(a for _, a in layers)
    available = w["available"]
    in_order = all(layers[k][1] == 0 or all(layers[j][1] >= available.get(layers[j][0], 0) for j in range(k))
                   for k in range(len(layers)))
    return total == w["loss"] and in_order, f"loss {fmt_cash(w['loss'])} = sum of layers; uncovered {fmt_cash(w['uncovered'])}"


def _cure_ok(run: DrillRunner, ev: dict[str, Any]) -> tuple[bool, str]:
    s, rk = run._sys(), run._risk()
    acct = run.accounts[ev["cure"]["event"]["member"]]
    reason, loss, closed = rk.fund.defaultOf(acct)
    status = int(s.membership.memberOf(acct).status)
    ok = (status == 1 and not margin_status(rk.margin, acct).defaulted and (int(reason), int(loss), closed) == (0, 0, False)
          and ev["cure"]["gate_refusal"] is None)
    return ok, f"{ev['cure']['event']['member']}: Active, DefaultCured loss {fmt_cash(ev['cure']['event']['loss'])}"


def _network_name() -> str:
    net = networks.provider.network
    return f"{net.ecosystem.name}:{net.name}:{networks.provider.name}"


def run_drill(scenario: Scenario, roles: Any, *, out: Path | None = None,
              progress: Callable[[str], None] | None = None) -> tuple[DrillRunner, dict[str, Any]]:
    """Run ``scenario``; returns the runner (for re-runs) and the report."""
    runner = DrillRunner(scenario, roles, out=out, progress=progress)
    report = runner.run()
    return runner, report


__all__ = ["DrillRunner", "EVENT_HANDLERS", "EventHandler", "MARGIN_CYCLES", "MODEL_NOTICE", "event_handler",
           "margin_cycle", "render", "run_drill"]


# The built-in event handlers and margin cycles register themselves on import (after everything
# above is defined, so the circular import finds the names it needs).
from smartccp import drill_events as _drill_events  # noqa: E402,F401
