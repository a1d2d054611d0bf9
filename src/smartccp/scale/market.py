"""The market of the scale day, built on a fresh system: many securities spread over the venues,
clearing members and their clients admitted, funded, approved, margined and in the default fund.

The contracts are deployed through ape (:func:`smartccp.chain.system.deploy_system`,
:func:`smartccp.risk.chain.deploy_risk`: a few dozen transactions); everything that repeats per
security or per account (tens of thousands of transactions at full size) goes through
:class:`smartccp.scale.raw.RawSender` in waves.

Shape (see :class:`ScaleSpec`): clearing member ``i`` trades a *book* of securities, from
``max_positions`` for member 0 (the largest) down to ``min_positions`` for the last, drawn from
the listed securities by the seed; each client trades part of its clearing member's book. Every
account holds ``units`` of each security of its book (issued to the issuer and handed out in
ERC-1155 batches), so that a net seller can deliver at settlement.

Units: cash in base units (6 decimals), prices in base units per unit, quantities in units.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ape import chain, project

from smartccp.chain.rpc import Rpc
from smartccp.chain.system import System, deploy_system, kyc_expiry
from smartccp.risk.chain import DEFAULT_SCENARIOS, Risk, deploy_risk
from smartccp.risk.model import PUBLISHED, published_scenarios
from smartccp.scale.raw import Abi, Phase, RawSender, Tx
from smartccp.sim.scenario import PriceSpec, SecuritySpec
from smartccp.sim.simulator import price_paths
from smartccp.types import DAY, MAX_UINT, TradingPhase
from smartccp.units import cash

#: Price history of the scale day's securities (simulated, so no data file is needed).
SCALE_PRICES = PriceSpec(source="simulated", vol=0.30, drift=0.0, lookback_days=250)
#: Items per Margin / DefaultFund batch call (their ``MAX_BATCH``).
RISK_BATCH = 50
#: Security ids per ERC-1155 batch transfer when handing out holdings (about 30k gas each).
HOLDINGS_BATCH = 150
#: Gas limits of the setup's transactions (set, not estimated: there are thousands).
SETUP_GAS = 2_000_000


@dataclass(frozen=True)
class ScaleSpec:
    """The size of a scale day. Cash in base units."""

    members: int = 200
    clients: int = 2_000
    securities: int = 1_000
    orders: int = 100_000  # placed in the continuous session; the simulator's cancels come on top
    venues: int = 3
    min_positions: int = 50
    max_positions: int = 500
    #: Securities a client trades (from its clearing member's book).
    client_positions: int = 20
    #: Orders per OrderRelay transaction (the relay takes at most 64).
    relay_batch: int = 32
    #: Orders per wave (signed, sent and mined together; a cancel needs an order rested in an
    #: earlier wave), at most an eighth of the day.
    wave_orders: int = 4_000
    #: Closing-auction orders per security and venue.
    auction_orders: int = 2
    units: int = 100_000
    member_cash: int = cash(50_000_000)
    client_cash: int = cash(5_000_000)
    member_margin: int = cash(20_000_000)
    #: Margin each client posts in its own (individually segregated) account.
    client_margin: int = cash(2_000_000)
    contribution: int = cash(10_000)
    skin_in_the_game: int = cash(1_000)
    seed: int = 18
    #: Settlement cycles the continuous session spreads over (hour-long cycles when more than
    #: one; a day of 100,000 orders over these books makes about 65,000 obligations, which took
    #: two while ``CCPSettlement.MAX_OBLIGATIONS`` was 50,000).
    cycles: int = 1

    @property
    def cycle_length(self) -> int:
        """Seconds per settlement cycle: a day, or an hour when the day has several cycles."""
        return DAY if self.cycles == 1 else 3_600

    def book_size(self, i: int) -> int:
        """Securities in clearing member ``i``'s book: linear from the largest (member 0) down."""
        hi, lo = min(self.max_positions, self.securities), min(self.min_positions, self.securities)
        if self.members == 1:
            return hi
        return round(hi - (hi - lo) * i / (self.members - 1))

    @property
    def wave(self) -> int:
        return max(min(self.wave_orders, self.orders // 8), 100)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass
class Account:
    """One trading account: its address, name, clearing member (itself for a member) and book
    (on-chain security ids)."""

    name: str
    address: str
    member: str
    book: list[int]

    @property
    def is_member(self) -> bool:
        return self.member == self.address


@dataclass
class ScaleMarket:
    """The deployed system with the scale day's securities and accounts, and the raw sender."""

    spec: ScaleSpec
    system: System
    risk: Risk
    raw: RawSender
    operator: str
    bank: str
    issuer: str
    securities: list[SecuritySpec]
    sids: list[int]
    path: np.ndarray
    members: list[Account] = field(default_factory=list)
    clients: list[Account] = field(default_factory=list)
    abi: dict[str, Abi] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)

    @property
    def accounts(self) -> list[Account]:
        return self.members + self.clients

    def venue_of(self, sid: int) -> int:
        """The venue (index) that lists ``sid``: the securities are spread over the venues in turn."""
        return (sid - self.sids[0]) % len(self.system.venues)

    def holders(self) -> dict[int, list[Account]]:
        """Security id -> the accounts whose book holds it."""
        out: dict[int, list[Account]] = {sid: [] for sid in self.sids}
        for a in self.accounts:
            for sid in a.book:
                out[sid].append(a)
        return out

    def tx(self, sender: str, contract: Any, fn: str, *args: Any, gas: int = SETUP_GAS, tag: Any = None) -> Tx:
        """A raw transaction calling ``fn(*args)`` on ``contract`` (an ape instance)."""
        name = type(contract).__name__ if not hasattr(contract, "contract_type") else contract.contract_type.name
        abi = self.abi.setdefault(name, Abi.of(contract))
        return Tx(sender, str(contract.address), abi.call(fn, *args), gas, (fn, sender) if tag is None else tag)

    def phase(self, name: str, txs: list[Tx | None], progress: Callable[[int], None] | None = None,
              wave: int = 2_000) -> Phase:
        """Send ``txs`` in waves of ``wave`` as phase ``name`` (its gas and wall time recorded);
        raises if any reverted. A ``None`` in ``txs`` is a barrier: what comes after it is sent
        once what came before is mined (the node orders one block's transactions of different
        senders by its own rule, so a transaction that needs another sender's must wait)."""
        import time

        start = time.perf_counter()
        ph = Phase(name)
        groups: list[list[Tx]] = [[]]
        for tx in txs:
            if tx is None:
                groups.append([])
            else:
                groups[-1].append(tx)
        for group in groups:
            for i in range(0, len(group), wave):
                receipts = self.raw.wave(group[i:i + wave])
                ph.add(receipts)
                bad = [r for r in receipts if not r.status]
                if bad:
                    raise RuntimeError(f"{name}: {len(bad)} of {len(receipts)} transactions reverted "
                                       f"(first: {bad[0].tag}, {bad[0].tx_hash})")
                if progress is not None:
                    progress(len(receipts))
        ph.wall_s = time.perf_counter() - start
        self.phases.append(ph)
        return ph


def security_specs(n: int, seed: int) -> list[SecuritySpec]:
    """``n`` equities with start prices between 10 and 500 (tick 0.01, lot 1 to 10)."""
    rng = np.random.default_rng([seed, 7])
    out = []
    for i in range(n):
        price = int(rng.uniform(10, 500) * 100) * cash("0.01")
        lot = int(rng.choice([1, 5, 10]))
        out.append(SecuritySpec(f"S{i + 1:04d}", f"XS{i + 1:010d}", cash("0.01"), lot, price,
                                float(rng.uniform(0.6, 1.5))))
    return out


def build_market(spec: ScaleSpec, roles: Any, *, progress: Callable[[str, int, int], None] | None = None) -> ScaleMarket:
    """Deploy the system and risk contracts and set up the scale day's market (see the module
    docstring). ``progress(phase, done, total)`` is told of each wave."""
    op = roles.operator
    rpc = Rpc.connected()
    # The day starts at 01:00 UTC of the node's next day, whatever the hour of the run: a session
    # of several hour-long cycles ends before midnight.
    start = (int(rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16) // DAY + 1) * DAY + 3_600
    rpc.call("evm_setNextBlockTimestamp", [hex(start)])
    rpc.call("evm_mine", [])
    system = deploy_system(op, settlement_bank=roles.bank, issuer=roles.issuer, n_venues=spec.venues,
                           cycle_length=spec.cycle_length)
    risk = deploy_risk(system, op, n_scenarios=DEFAULT_SCENARIOS)
    session_end = (chain.pending_timestamp // DAY + 1) * DAY - 1
    for v in system.venues:
        v.setSessionEnd(session_end, sender=op)
    raw = RawSender(rpc, chain.chain_id)
    operator, bank, issuer = (raw.add_account(a) for a in (op, roles.bank, roles.issuer))
    specs = security_specs(spec.securities, spec.seed)
    path, history = price_paths(SCALE_PRICES, specs, 4, spec.seed)
    m = ScaleMarket(spec, system, risk, raw, operator, bank, issuer, specs, [], path)
    raw.bulk_mode(True)
    try:
        _list(m, history, progress)
        _accounts(m, progress)
    finally:
        raw.bulk_mode(False)
    return m


def _say(progress: Callable[[str, int, int], None] | None, name: str, total: int) -> Callable[[int], None]:
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(name, done[0], total)

    return tick


def _list(m: ScaleMarket, history: np.ndarray, progress: Any) -> None:
    """List every security on DLT-CSD, the CCP and its venue (continuous trading); publish its
    scenarios and start price to Margin."""
    s, spec = m.system, m.spec
    first = int(s.securities.securityCount()) + 1
    txs = [m.tx(m.issuer, s.securities, "listSecurity", sec.symbol, sec.isin.encode()[:12], 0, sec.tick, sec.lot, 0)
           for sec in m.securities]
    m.sids = list(range(first, first + len(m.securities)))
    m.phase("setup.list_securities", txs, _say(progress, "list securities", len(txs)))
    lag = spec.cycle_length
    txs = [m.tx(m.operator, s.ccp, "setSecurityRules", sid, (True, False, 0, 1, 0, 0)) for sid in m.sids]
    for sid in m.sids:
        v = s.venues[m.venue_of(sid)]
        txs += [m.tx(m.operator, v, "listSecurity", sid, lag), m.tx(m.operator, v, "setPhase", sid,
                                                                     int(TradingPhase.CONTINUOUS))]
    m.phase("setup.list_on_venues", txs, _say(progress, "list on venues", len(txs)))
    shocks = published_scenarios(history, PUBLISHED.with_(n_scenarios=DEFAULT_SCENARIOS)).shocks_bps
    txs = [m.tx(m.operator, m.risk.margin, "publishScenarios", sid, [int(x) for x in shocks[i]])
           for i, sid in enumerate(m.sids)]
    txs += publish_prices_txs(m, {sid: int(m.path[0][i]) for i, sid in enumerate(m.sids)})
    m.phase("setup.risk_parameters", txs, _say(progress, "scenarios and prices", len(txs)))


def publish_prices_txs(m: ScaleMarket, prices: dict[int, int]) -> list[Tx]:
    """``Margin.publishPrices`` in batches of :data:`RISK_BATCH`."""
    sids = list(prices)
    return [m.tx(m.operator, m.risk.margin, "publishPrices", sids[i:i + RISK_BATCH],
                 [prices[x] for x in sids[i:i + RISK_BATCH]]) for i in range(0, len(sids), RISK_BATCH)]


def _accounts(m: ScaleMarket, progress: Any) -> None:
    """Admit, fund, hand out holdings, approve, margin and contribute."""
    s, spec, raw = m.system, m.spec, m.raw
    rng = np.random.default_rng([spec.seed, 11])
    member_addrs = raw.new_accounts(f"smartccp-scale:{spec.seed}:member", spec.members)
    client_addrs = raw.new_accounts(f"smartccp-scale:{spec.seed}:client", spec.clients)
    sids = np.array(m.sids)
    for i, addr in enumerate(member_addrs):
        book = sorted(int(x) for x in rng.choice(sids, spec.book_size(i), replace=False))
        m.members.append(Account(f"cm{i:03d}", addr, addr, book))
    for j, addr in enumerate(client_addrs):
        cm = m.members[j % spec.members]
        k = min(spec.client_positions, len(cm.book))
        book = sorted(int(x) for x in rng.choice(cm.book, k, replace=False))
        m.clients.append(Account(f"cl{j:04d}", addr, cm.address, book))
    expiry = kyc_expiry()
    txs = [m.tx(m.operator, s.membership, "admitClearingMember", a.address, expiry) for a in m.members]
    txs += [m.tx(m.operator, s.membership, "admitParticipant", a.address, a.member, expiry, 1) for a in m.clients]
    txs += [None]
    txs += [m.tx(m.bank, s.cash, "issue", a.address, spec.member_cash if a.is_member else spec.client_cash)
            for a in m.accounts]
    m.phase("setup.admit_and_fund", txs, _say(progress, "admit and fund", len(txs)))

    holders = m.holders()
    txs = [m.tx(m.issuer, s.securities, "issue", sid, m.issuer, spec.units * len(holders[sid]))
           for sid in m.sids if holders[sid]]
    for a in m.accounts:
        for i in range(0, len(a.book), HOLDINGS_BATCH):
            ids = a.book[i:i + HOLDINGS_BATCH]
            txs.append(m.tx(m.issuer, s.securities, "safeBatchTransferFrom", m.issuer, a.address, ids,
                            [spec.units] * len(ids), b"", gas=40_000 * len(ids) + 200_000))
    m.phase("setup.holdings", txs, _say(progress, "holdings", len(txs)))

    txs = []
    for a in m.accounts:
        txs.append(m.tx(a.address, s.cash, "approve", str(s.ccp.address), MAX_UINT))
        txs.append(m.tx(a.address, s.securities, "setApprovalForAll", str(s.ccp.address), True))
        txs.append(m.tx(a.address, s.cash, "approve", str(m.risk.margin.address), MAX_UINT))
        if a.is_member:
            txs.append(m.tx(a.address, s.cash, "approve", str(m.risk.fund.address), MAX_UINT))
    m.phase("setup.approvals", txs, _say(progress, "approvals", len(txs)))

    members = [a.address for a in m.members]
    txs = [m.tx(m.operator, m.risk.fund, "setRequiredContributions", members[i:i + RISK_BATCH],
                [spec.contribution] * len(members[i:i + RISK_BATCH]), gas=300_000 + 200_000 * RISK_BATCH)
           for i in range(0, len(members), RISK_BATCH)]
    txs += [m.tx(a.address, m.risk.margin, "depositCash", spec.member_margin) for a in m.members]
    txs += [m.tx(a.address, m.risk.margin, "depositCash", spec.client_margin) for a in m.clients]
    txs.append(m.tx(m.bank, s.cash, "issue", m.bank, spec.skin_in_the_game))
    txs.append(m.tx(m.bank, s.cash, "approve", str(m.risk.fund.address), spec.skin_in_the_game))
    txs.append(m.tx(m.bank, m.risk.fund, "fundSkinInTheGame", spec.skin_in_the_game))
    txs += [None] + [m.tx(a.address, m.risk.fund, "contribute", spec.contribution) for a in m.members]
    m.phase("setup.margin_and_fund", txs, _say(progress, "margin and fund", len(txs)))


def deploy_close_out_dealer(m: ScaleMarket, operator: Any) -> Any:
    """A ``MockCloseOutMarket`` dealer as the CCP's close-out market (registered as a system
    account), holding cash to buy a defaulter's purchases: the close-out side of the default."""
    s = m.system
    dealer = project.MockCloseOutMarket.deploy(s.cash, s.securities, sender=operator)
    s.membership.registerSystem(dealer, sender=operator)
    s.ccp.setCloseOutMarket(dealer, sender=operator)
    return dealer
