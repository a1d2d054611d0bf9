"""A simulated market on a deployed system: many seeded members trading several securities on
every venue, driven by :mod:`smartccp.sim.simulator`. The demo (``demo_sim``) and the benchmark
(``bench_sim``) both use it.

:meth:`SimMarket.setup` lists the securities on every venue and the CCP, admits the members
(clearing members and clients under them, accounts derived from the seed), issues their cash and
holdings, approves the CCP and, when the system has the risk contracts, publishes the
securities' scenarios (calibrated on their simulated history) and start prices and lets every
clearing member deposit margin (one member may post a thin margin, so the gate refuses some of
its orders). :meth:`SimMarket.burst` sends a burst of simulated flow (the same seed and burst
number give the same orders) and returns what happened: placements, fills, volume, refusals
by custom error name, gas and wall time.

Units: cash in base units (6 decimals), prices in base units per unit, quantities in units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ape import chain

from smartccp.chain.accounts import seeded_account
from smartccp.chain.system import System, kyc_expiry, list_security
from smartccp.risk.chain import Risk, publish_prices, publish_scenarios
from smartccp.risk.model import published_scenarios
from smartccp.sim.scenario import FlowSpec, PriceSpec, SecuritySpec
from smartccp.sim.simulator import FlowDriver, FlowStats, MarketSimulator, price_paths
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY, MAX_UINT, Segregation
from smartccp.units import cash

#: Three securities of the simulated market (tick and price in cash base units, lot in units).
SIM_SECURITIES: tuple[SecuritySpec, ...] = (
    SecuritySpec("BOLT", "US0000000002", cash("0.01"), 10, cash("42.50"), 0.8),
    SecuritySpec("CORE", "US0000000003", cash("0.05"), 1, cash("250.00"), 1.0),
    SecuritySpec("DYNA", "US0000000004", cash("0.01"), 10, cash("18.20"), 1.3),
)
#: Simulated flow on three venues (the burst size is given to :meth:`SimMarket.burst`).
SIM_FLOW = FlowSpec(orders_per_day=0, auction_orders=0, venue_weights=(0.5, 0.3, 0.2))
SIM_PRICES = PriceSpec(source="simulated", vol=0.30, drift=0.0, lookback_days=500)


@dataclass(frozen=True)
class SimMember:
    """One simulated participant: ``clearing_member`` is empty for a clearing member; a client's
    ``segregation`` says which margin account it trades for."""

    name: str
    account: Any
    clearing_member: str = ""
    segregation: Segregation = Segregation.NONE


@dataclass
class BurstResult:
    """What one burst did: :class:`smartccp.sim.simulator.FlowStats` plus the block range and the
    volume per security symbol (units, cash base units)."""

    stats: FlowStats
    orders: int
    start_block: int
    end_block: int
    volume: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def refusals(self) -> dict[str, int]:
        """Refused orders by the custom error's name (``InsufficientMargin``, ...)."""
        return dict(sorted(self.stats.rejected.items()))

    def as_dict(self) -> dict[str, Any]:
        return {"orders": self.orders, "start_block": self.start_block, "end_block": self.end_block,
                "volume": {k: list(v) for k, v in self.volume.items()}, **self.stats.as_dict()}


class SimMarket:
    """Seeded simulated members trading ``securities`` on every venue of ``system``.

    Args:
        system: the deployed :class:`smartccp.chain.system.System` (its venues and CCP).
        roles: role accounts (:class:`smartccp.chain.accounts.Roles`): the operator lists and
            admits, the bank and the issuer fund, the keeper opens sessions, the risk and price
            keys publish scenarios and prices (each the operator where the roles name no key).
        risk: the risk contracts if the venues are gated by Margin (margin is then deposited).
        clearing: number of clearing members; ``clients``: clients, spread over them.
        thin_margin: the last clearing member posts only this much margin (0: like the others),
            so the pre-trade gate refuses part of its and its clients' flow.
        seed: accounts, prices and flow all follow from it.
    """

    def __init__(self, system: System, roles: Any, *, risk: Risk | None = None,
                 securities: Sequence[SecuritySpec] = SIM_SECURITIES, flow: FlowSpec = SIM_FLOW,
                 clearing: int = 6, clients: int = 2, seed: int = 2024, member_cash: int = cash(2_000_000),
                 member_units: int = 20_000, margin: int = cash(400_000), thin_margin: int = 0,
                 lag_days: int = 1):
        self.system, self.roles, self.risk = system, roles, risk
        self.securities = list(securities)
        self.seed = seed
        weights = tuple(flow.venue_weights[:len(system.venues)]) or (1.0,) * len(system.venues)
        self.flow = replace(flow, venue_weights=weights)
        self.clearing, self.clients = clearing, clients
        self.member_cash, self.member_units = member_cash, member_units
        self.margin, self.thin_margin, self.lag_days = margin, thin_margin, lag_days
        self.sids: list[int] = []
        self.driver: FlowDriver | None = None
        self.path, self.history = price_paths(SIM_PRICES, self.securities, 8, seed)
        self.bursts = 0
        names = [f"sim{i + 1:02d}" for i in range(clearing)]
        self.members = [SimMember(name, self._account(name)) for name in names]
        # Clients alternate: individually segregated, then omnibus (both account kinds in every run).
        self.members += [SimMember(f"simc{j + 1}", self._account(f"simc{j + 1}"), names[j % clearing],
                                   Segregation.INDIVIDUAL if j % 2 == 0 else Segregation.OMNIBUS)
                         for j in range(clients)]

    # ─── setup ───

    def _account(self, name: str) -> Any:
        return seeded_account(f"smartccp-sim:{self.seed}:{name}", self.roles.operator)

    def setup(self) -> dict[str, Any]:
        """List, admit, fund, approve and margin; returns what was set up. (The members'
        accounts exist from construction, :attr:`members`, so callers can watch what they send.)"""
        s, r = self.system, self.roles
        for sec in self.securities:
            receipt = s.securities.listSecurity(sec.symbol, sec.isin.encode()[:12], 0, sec.tick, sec.lot, 0,
                                                sender=r.issuer)
            sid = int(receipt.return_value or s.securities.securityCount())
            self.sids.append(sid)
            list_security(s, r.operator, sid, lag_days=self.lag_days, keeper=r.key("keeper"))
        shocks = None
        if self.risk is not None:
            shocks = published_scenarios(self.history).shocks_bps
            publish_scenarios(self.risk.margin, {sid: [int(x) for x in shocks[i]] for i, sid in enumerate(self.sids)},
                              r.key("risk"))
            publish_prices(self.risk.margin, {sid: sec.start_price for sid, sec in zip(self.sids, self.securities)},
                           r.key("price"))
        expiry = kyc_expiry()
        names = [m.name for m in self.members if not m.clearing_member]
        by_name = {m.name: m for m in self.members}
        margins = {}
        for m in self.members:
            acct = m.account
            if m.clearing_member:
                s.membership.admitParticipant(acct, by_name[m.clearing_member].account, expiry, int(m.segregation),
                                              sender=r.operator)
            else:
                s.membership.admitClearingMember(acct, expiry, sender=r.operator)
            s.cash.issue(acct, self.member_cash, sender=r.bank)
            for sid in self.sids:
                s.securities.issue(sid, acct, self.member_units, sender=r.issuer)
            s.cash.approve(s.ccp, MAX_UINT, sender=acct)
            s.securities.setApprovalForAll(s.ccp, True, sender=acct)
            if self.risk is not None:
                # Every account posts its own margin: the house, an individual client's account, and
                # each omnibus client its share of its member's omnibus account.
                posted = self.thin_margin if (self.thin_margin and m.name == names[-1]) else self.margin
                s.cash.approve(self.risk.margin, MAX_UINT, sender=acct)
                self.risk.margin.depositCash(posted, sender=acct)
                margins[m.name] = posted
        clients = [VenueClient(v) for v in s.venues]
        sources = [s.ccp] + ([self.risk.margin] if self.risk is not None else [])
        self.driver = FlowDriver(clients, {m.name: m.account for m in self.members}, self.sids,
                                 error_sources=sources)
        return {"security_ids": dict(zip(self.symbols, self.sids)),
                "members": {m.name: str(m.account.address) for m in self.members},
                "clients_of": {m.name: m.clearing_member for m in self.members if m.clearing_member},
                "margin_posted": margins,
                "shocks_bps": None if shocks is None else {sym: [int(shocks[i].min()), int(shocks[i].max())]
                                                           for i, sym in enumerate(self.symbols)}}

    @property
    def symbols(self) -> list[str]:
        return [s.symbol for s in self.securities]

    def holders(self) -> dict[str, Any]:
        """Name -> account of every simulated participant."""
        return {m.name: m.account for m in self.members}

    # ─── flow ───

    def open_session(self) -> int:
        """Day orders expire at the end of the current day (UTC): set every venue's session end
        to it if it is not already; returns it (unix seconds)."""
        session_end = (chain.pending_timestamp // DAY + 1) * DAY - 1
        for v in self.system.venues:
            if int(v.sessionEnd()) != session_end:
                v.setSessionEnd(session_end, sender=self.roles.key("keeper"))
        return session_end

    def intents(self, orders: int, burst: int) -> list:
        """The seeded intents of burst number ``burst`` (``orders`` actions; pure)."""
        sim = MarketSimulator([m.name for m in self.members], self.securities,
                              replace(self.flow, orders_per_day=orders), self.seed)
        day = burst % (len(self.path) - 1)
        return sim.continuous(burst, [int(x) for x in self.path[day]], [int(x) for x in self.path[day + 1]])

    def burst(self, orders: int, *, progress: Callable[[int, int, FlowStats], None] | None = None,
              every: int = 50, relay: tuple[Any, Any, int] | None = None) -> BurstResult:
        """Send the next burst of ``orders`` simulated actions (places and cancels) on the venues:
        each its own transaction, or with ``relay = (OrderRelay, gateway, block)`` the
        placements of every ``block`` actions batched per venue through the relay by the
        gateway (:meth:`FlowDriver.run_relayed`)."""
        if self.driver is None:
            raise RuntimeError("SimMarket.setup() has not run")
        intents = self.intents(orders, self.bursts)
        self.bursts += 1
        start = chain.blocks.head.number
        self.open_session()
        if relay is None:
            stats = self.driver.run(intents, progress=progress, every=every)
        else:
            stats = self.driver.run_relayed(intents, relay[0], relay[1], block=relay[2], progress=progress,
                                            every=every)
        volume = {sym: (stats.units_by_security.get(sid, 0), stats.cash_by_security.get(sid, 0))
                  for sym, sid in zip(self.symbols, self.sids)}
        end = chain.blocks.head.number
        return BurstResult(stats, len(intents), start, end, volume)
