"""The scale day (issue #18): one trading day of a market shaped like Eurex Clearing on the local
anvil, every phase on chain, and its figures (``reports/scale.json``).

Phases, in order (:func:`run_day`):

1. ``setup``: the system, the risk contracts and the market (:mod:`smartccp.scale.market`).
2. ``flow``: the seeded simulator's continuous session (:class:`smartccp.sim.simulator.
   MarketSimulator`: limit, market, IOC, hidden and iceberg orders and cancels), each intent's
   account drawn among those whose book holds the security, signed by the account and sent
   through the OrderRelay in batches to the venue that lists it (:mod:`smartccp.scale.flow`),
   every order through the Margin gate. Every ``probe_every`` orders a probe measures one resting placement by the
   largest member (gate included) and one fill against it, on a probe security of its own.
3. ``auction`` (:mod:`smartccp.scale.close`): the closing call auction of every security (PreClose, the simulator's auction
   orders through the relay, ``uncross`` until each book has left the call).
4. ``eod_margin``: the day's settlement prices (the first venue's closing price, else the
   simulator's close) published, then every clearing member (its accounts and its clients')
   revalued in pages (``Margin.revalue``), each until its ``MarginRefreshed``.
5. ``default`` (:mod:`smartccp.scale.settle`): the largest clearing member withdraws its margin down to its requirement,
   withholds its settlement cash and securities and is declared in default; the close-out dealer
   (``MockCloseOutMarket``) will buy its purchases at a fraction of the price and sell it what
   it did not deliver at a premium.
6. ``settlement``: netting is done (obligations per account and security, kept at novation);
   each cycle of the day is settled in chunks (``settleCycle``): pay-in, the defaulter's purchases sold out,
   the shortfall charged to the DefaultFund, whose waterfall reaches the survivors' layer; then
   every fund member is settled (``settleMembers`` in pages).

Figures are gas of whole transactions (``receipt.gasUsed``) and wall seconds; ``scale.*`` keys
are flat numbers, ``phases`` and ``samples`` hold the detail for the chart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from ape import chain

from smartccp.scale.close import closing_auction, end_of_day_margin
from smartccp.scale.flow import SCALE_FLOW, OrderSigner, RelayFlow, error_selectors
from smartccp.scale.market import ScaleMarket, ScaleSpec, build_market, deploy_close_out_dealer
from smartccp.scale.raw import Abi, Phase, Tx
from smartccp.scale.report import build_report
from smartccp.scale.settle import declare_default, settle_day
from smartccp.sim.simulator import MarketSimulator, OrderIntent
from smartccp.trading.orders import Domain
from smartccp.types import Side, TradingPhase

Progress = Callable[[str, int, int], None]

#: Gateways submitting relay batches in turn.
GATEWAYS = 8


def _noop(phase: str, done: int, total: int) -> None:
    return None


class ScaleDay:
    """One scale day on a fresh system; :meth:`run` returns the report."""

    def __init__(self, spec: ScaleSpec, roles: Any, *, progress: Progress | None = None, probe_every: int = 0):
        self.spec, self.roles = spec, roles
        self.progress = progress or _noop
        self.probe_every = probe_every or max(spec.orders // 8, 500)
        self.samples: list[dict[str, Any]] = []
        self.figures: dict[str, Any] = {}
        self.m: ScaleMarket
        self.flow: RelayFlow

    # ─── helpers ───

    def calls(self, calls: list[tuple[Any, str, tuple]]) -> list[bytes]:
        """Batched ``eth_call`` s of (contract, function, args); raw return data."""
        reqs = []
        for contract, fn, args in calls:
            abi = self.m.abi.setdefault(contract.contract_type.name, Abi.of(contract))
            reqs.append(("eth_call", [{"to": str(contract.address), "data": "0x" + abi.call(fn, *args).hex()}, "latest"]))
        out = []
        for i in range(0, len(reqs), 500):
            out += [bytes.fromhex(x[2:]) for x in self.m.raw.rpc.batch(reqs[i:i + 500])]
        return out

    def new_phase(self, name: str) -> Phase:
        ph = Phase(name)
        self.m.phases.append(ph)
        return ph

    # ─── the day ───

    def run(self) -> dict[str, Any]:
        spec, t0 = self.spec, time.perf_counter()
        self.m = build_market(spec, self.roles, progress=self.progress)
        self._setup_extras()
        self.figures["scale.setup_wall_s"] = round(time.perf_counter() - t0, 1)
        m = self.m
        m.raw.bulk_mode(True)
        try:
            t1 = time.perf_counter()
            self._continuous()
            closing_auction(self)
            end_of_day_margin(self)
            declare_default(self)
            settle_day(self)
            self.figures["scale.day_wall_s"] = round(time.perf_counter() - t1, 1)
        finally:
            m.raw.bulk_mode(False)
        self.figures["scale.total_wall_s"] = round(time.perf_counter() - t0, 1)
        return self.report()

    def _setup_extras(self) -> None:
        """Gateways, the order signer, the probe security and the close-out dealer."""
        m, op = self.m, self.roles.operator
        s = m.system
        self.gateways = m.raw.new_accounts(f"smartccp-scale:{self.spec.seed}:gateway", GATEWAYS)
        domains = [Domain(name=v.eip712Domain()[1], chain_id=chain.chain_id, verifying_contract=str(v.address))
                   for v in s.venues]
        self.signer = OrderSigner(domains, m.raw.keys)
        self.signer.check()
        self.flow = RelayFlow(s.venues, s.relay, self.signer, self.gateways, batch=self.spec.relay_batch,
                              errors=error_selectors(s.venue, s.ccp, m.risk.margin, m.risk.fund, s.membership))
        self.dealer = deploy_close_out_dealer(m, op)
        self.cycles: list[int] = []
        # The probe security: listed like the others, traded only by the probes on the first venue.
        s.securities.listSecurity("PROBE", b"XS9999999999", 0, 10_000, 1, 0, sender=self.roles.issuer)
        self.probe_sid = int(s.securities.securityCount())
        self.probe_price = 100_000_000
        s.ccp.setSecurityRules(self.probe_sid, (True, False, 0, 1, 0, 0), sender=op)
        s.venue.listSecurity(self.probe_sid, int(s.ccp.cycleLength()), sender=op)
        s.venue.setPhase(self.probe_sid, int(TradingPhase.CONTINUOUS), sender=op)
        m.risk.margin.publishScenarios(self.probe_sid, [-500, 500] * 8, sender=op)
        m.risk.margin.publishPrices([self.probe_sid], [self.probe_price], sender=op)
        self.probe_buyer, self.probe_seller = m.members[0], m.members[-1]
        s.securities.issue(self.probe_sid, self.probe_seller.address, 1_000_000, sender=self.roles.issuer)
        m.raw.resync(m.operator, m.bank, m.issuer)

    def _intents(self) -> tuple[list[OrderIntent], dict[str, str]]:
        """The simulator's continuous session over every listed security, each intent's account
        drawn (seeded) among the accounts whose book holds its security; name -> address."""
        spec, m = self.spec, self.m
        weights = SCALE_FLOW.venue_weights[:spec.venues] or (1.0,)
        # ``orders`` placements: the simulator's actions include its cancels (about 8 %)
        actions = int(spec.orders / (1 - SCALE_FLOW.cancel_rate) * 1.05) + 10
        flow = replace(SCALE_FLOW, orders_per_day=actions, venue_weights=weights)
        sim = MarketSimulator(["any"], m.securities, flow, spec.seed)
        raw = sim.continuous(0, [int(x) for x in m.path[0]], [int(x) for x in m.path[1]])
        places = np.cumsum([it.action == "place" for it in raw])
        raw = raw[:int(np.searchsorted(places, spec.orders)) + 1]
        holders = m.holders()
        by_index = [holders[sid] for sid in m.sids]
        rng = np.random.default_rng([spec.seed, 3])
        picks = rng.random(len(raw))
        intents = []
        for it, u in zip(raw, picks):
            who = by_index[it.security]
            if not who:
                continue
            sid = m.sids[it.security]
            intents.append(replace(it, member=who[int(u * len(who))].name, venue=m.venue_of(sid)))
        return intents, {a.name: a.address for a in m.accounts}

    def _continuous(self) -> None:
        spec, m, flow = self.spec, self.m, self.flow
        start = time.perf_counter()
        intents, owners = self._intents()
        ph = self.new_phase("flow")
        places = sum(it.action == "place" for it in intents)
        next_probe = 0
        per_cycle = -(-len(intents) // spec.cycles)
        for i in range(0, len(intents), spec.wave):
            if i // per_cycle >= len(self.cycles):
                self._next_cycle()
            if flow.tally.orders >= next_probe:
                self._probe(ph)
                next_probe += self.probe_every
            receipts = m.raw.wave(flow.transactions(intents[i:i + spec.wave], owners, m.sids))
            flow.record(receipts)
            ph.add(receipts)
            self.progress("flow", flow.tally.orders, places)
        self._probe(ph)
        ph.wall_s = time.perf_counter() - start
        t = flow.tally
        ph.extra.update(orders=t.orders, fills=t.fills, refused=sum(t.refused.values()))
        self.figures.update({
            "scale.flow_orders": t.orders,
            "scale.flow_orders_per_s": round(t.orders / ph.wall_s, 1),
            "scale.flow_fills": t.fills,
            "scale.flow_refused": sum(t.refused.values()),
            "scale.flow_placed": t.placed,
            "scale.flow_cancels": t.cancelled,
            "scale.flow_cancel_intents_without_resting_order": sum(it.action == "cancel" for it in intents) - t.cancels_sent,
            "scale.flow_relay_gas_per_order": t.relay_gas // max(t.orders, 1),
            "scale.flow_gas_per_fill": ph.gas // max(t.fills, 1),
        })

    def revert_reason(self, receipt: Any) -> str:
        """The custom error a reverted transaction gives when replayed now by ``eth_call``."""
        from smartccp.chain.rpc import RpcError

        tx = self.m.raw.rpc.call("eth_getTransactionByHash", [receipt.tx_hash])
        try:
            self.m.raw.rpc.call("eth_call", [{"from": tx["from"], "to": tx["to"], "data": tx["input"],
                                              "gas": tx["gas"]}, "latest"])
        except RpcError as err:
            return self.flow.errors.get(err.data[:4], err.message)
        return "succeeds when replayed"

    def now(self) -> int:
        return int(self.m.raw.rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def _next_cycle(self) -> None:
        """Move the clock to the next settlement cycle (after the first) and note its id."""
        m = self.m
        if self.cycles:
            self.m.raw.rpc.call("evm_setNextBlockTimestamp", [hex(self.now() + self.spec.cycle_length)])
            self.m.raw.rpc.call("evm_mine", [])
        data = self.calls([(m.system.ccp, "settlementCycle", (m.sids[0],))])[0]
        self.cycles.append(int.from_bytes(data[:32], "big"))

    def _probe(self, ph: Phase) -> None:
        """One resting buy of the largest member (gate + rest) and one sell filling it."""
        m, v = self.m, self.m.system.venue
        abi = m.abi.setdefault("TradeVenue", Abi.of(v))
        txs = []
        for owner, side in ((self.probe_buyer.address, Side.BUY), (self.probe_seller.address, Side.SELL)):
            order = self.signer.order(owner, self.probe_sid, int(side), 0, 0, self.probe_price, 1)
            data = abi.call("placeOrder", order, self.signer.sign(0, order), 4)
            txs.append(Tx(owner, str(v.address), data, 3_000_000, ("probe", 0)))
        rest, fill = m.raw.wave([txs[0]]) + m.raw.wave([txs[1]])
        if not (rest.status and fill.status and fill.logs_of(self.flow.t_traded)):
            raise RuntimeError(f"probe failed: rest {rest.status}, fill {fill.status}")
        ph.add([rest, fill])
        self.samples.append({"orders": self.flow.tally.orders, "fills": self.flow.tally.fills,
                             "largest_member_positions": len(self.flow.positions[self.probe_buyer.address]),
                             "rest_with_gate_gas": rest.gas_used, "fill_gas": fill.gas_used,
                             "relay_gas_per_order": self.flow.tally.relay_gas // max(self.flow.tally.orders, 1)})

    def positions_per_member(self) -> dict[str, int]:
        """Per clearing member: (account, security) positions of it and its clients (from the
        day's fills)."""
        out = {a.address: 0 for a in self.m.members}
        for a in self.m.accounts:
            out[a.member] += len(self.flow.positions.get(a.address, ()))
        return out

    def positions_per_account(self) -> dict[str, int]:
        """Per margin account (each member's house, each individually segregated client's own):
        its (security) positions from the day's fills."""
        return {a.address: len(self.flow.positions.get(a.address, ())) for a in self.m.accounts}

    def report(self) -> dict[str, Any]:
        """The day's report (:func:`smartccp.scale.report.build_report`)."""
        return build_report(self)


def run_day(spec: ScaleSpec, roles: Any, *, progress: Progress | None = None) -> dict[str, Any]:
    """Run one scale day of size ``spec`` on a fresh system; returns the report (see
    :meth:`ScaleDay.report`)."""
    return ScaleDay(spec, roles, progress=progress).run()
