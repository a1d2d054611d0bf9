"""The scale day (issue #18): one trading day of a market shaped like Eurex Clearing on the local
anvil, every phase on chain, and its figures (``reports/scale.json``).

Phases, in order (:func:`run_day`):

1. ``setup``: the system, the risk contracts and the market (:mod:`smartccp.scale.market`).
2. ``flow``: the seeded simulator's continuous session (:class:`smartccp.sim.simulator.
   MarketSimulator`: limit, market, IOC, hidden and iceberg orders and cancels), each intent's
   account drawn among those whose book holds the security, signed by the account and sent
   through the OrderRelay in batches to the venue that lists it (:mod:`smartccp.scale.flow`), every order through the
   Margin gate. Every ``probe_every`` orders a probe measures one resting placement by the
   largest member (gate included) and one fill against it, on a probe security of its own.
3. ``auction``: the closing call auction of every security (PreClose, the simulator's auction
   orders through the relay, ``uncross`` until each book has left the call).
4. ``eod_margin``: the day's settlement prices (the first venue's closing price, else the
   simulator's close) published, then every clearing member (its accounts and its clients')
   revalued in pages (``Margin.revalue``), each until its ``MarginRefreshed``.
5. ``default``: the largest clearing member withdraws its margin down to its requirement,
   withholds its settlement cash and is declared in default; the close-out dealer
   (``MockCloseOutMarket``) will buy its purchases at a fraction of the price.
6. ``settlement``: netting is done (obligations per account and security, kept at novation);
   the cycle is settled in chunks (``settleCycle``): pay-in, the defaulter's purchases sold out,
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

from smartccp.risk.chain import margin_status
from smartccp.risk.waterfall import LAYERS
from smartccp.scale.flow import OrderSigner, RelayFlow, error_selectors
from smartccp.scale.market import (
    ScaleMarket,
    ScaleSpec,
    build_market,
    deploy_close_out_dealer,
    publish_prices_txs,
)
from smartccp.scale.raw import Abi, Phase, Tx
from smartccp.sim.scenario import FlowSpec
from smartccp.sim.simulator import MarketSimulator, OrderIntent
from smartccp.trading.orders import Domain
from smartccp.types import CyclePhase, Side, TradingPhase

Progress = Callable[[str, int, int], None]

#: Gateways submitting relay batches in turn.
GATEWAYS = 8
#: Settlement steps per ``settleCycle`` transaction (about 50k gas a step, a close-out more) ...
SETTLE_CHUNK = 150
#: ... and its gas limit, which ends a chunk early (the first full run's chunk of 150 steps with
#: the defaulter's close-outs took 17.0M gas under a limit of 23.5M).
SETTLE_TX_GAS = 15_000_000
#: settleCycle transactions per wave once the first wave is mined.
SETTLE_WAVE = 24
#: Items per ``Margin.revalue`` page.
REVALUE_PAGE = 200
#: Auction fills per ``uncross`` transaction.
UNCROSS_FILLS = 40
#: Fund members per ``settleMembers`` page.
FUND_PAGE = 100
#: The close-out dealer buys the defaulter's purchases at this share of the closing price.
CRASH_SHARE = 0.5
#: ... and sells it the units it failed to deliver at this multiple of the closing price.
SQUEEZE = 1.5
#: Continuous-session mix of the scale day: the simulator's usual order types.
SCALE_FLOW = FlowSpec(orders_per_day=0, auction_orders=0, venue_weights=(0.5, 0.3, 0.2))


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

    def _calls(self, calls: list[tuple[Any, str, tuple]]) -> list[bytes]:
        """Batched ``eth_call`` s of (contract, function, args); raw return data."""
        reqs = []
        for contract, fn, args in calls:
            abi = self.m.abi.setdefault(contract.contract_type.name, Abi.of(contract))
            reqs.append(("eth_call", [{"to": str(contract.address), "data": "0x" + abi.call(fn, *args).hex()}, "latest"]))
        out = []
        for i in range(0, len(reqs), 500):
            out += [bytes.fromhex(x[2:]) for x in self.m.raw.rpc.batch(reqs[i:i + 500])]
        return out

    def _phase(self, name: str) -> Phase:
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
            self._auction()
            self._eod_margin()
            self._default()
            self._settle()
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
        s.ccp.setSecurityRules(self.probe_sid, (True, False, 0, 1, 0), sender=op)
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
        ph = self._phase("flow")
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

    def _revert_reason(self, receipt: Any) -> str:
        """The custom error a reverted transaction gives when replayed now by ``eth_call``."""
        from smartccp.chain.rpc import RpcError

        tx = self.m.raw.rpc.call("eth_getTransactionByHash", [receipt.tx_hash])
        try:
            self.m.raw.rpc.call("eth_call", [{"from": tx["from"], "to": tx["to"], "data": tx["input"],
                                              "gas": tx["gas"]}, "latest"])
        except RpcError as err:
            return self.flow.errors.get(err.data[:4], err.message)
        return "succeeds when replayed"

    def _now(self) -> int:
        return int(self.m.raw.rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    def _next_cycle(self) -> None:
        """Move the clock to the next settlement cycle (after the first) and note its id."""
        m = self.m
        if self.cycles:
            self.m.raw.rpc.call("evm_setNextBlockTimestamp", [hex(self._now() + self.spec.cycle_length)])
            self.m.raw.rpc.call("evm_mine", [])
        data = self._calls([(m.system.ccp, "settlementCycle", (m.sids[0],))])[0]
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

    def _auction(self) -> None:
        spec, m, flow = self.spec, self.m, self.flow
        start = time.perf_counter()
        s = m.system
        books = [(s.venues[m.venue_of(sid)], sid) for sid in m.sids]
        ph = m.phase("auction.pre_close", [m.tx(m.operator, v, "setPhase", sid, int(TradingPhase.PRE_CLOSE))
                                           for v, sid in books])
        sim = MarketSimulator(["any"], m.securities, replace(SCALE_FLOW, auction_orders=spec.auction_orders),
                              spec.seed)
        raw = sim.auction(0, [int(x) for x in m.path[1]], 1)
        holders, rng = m.holders(), np.random.default_rng([spec.seed, 4])
        intents = []
        for it, u in zip(raw, rng.random(len(raw))):
            sid = m.sids[it.security]
            if holders[sid]:
                intents.append(replace(it, member=holders[sid][int(u * len(holders[sid]))].name, venue=m.venue_of(sid)))
        owners = {a.name: a.address for a in m.accounts}
        before = flow.tally.orders
        orders_ph = self._phase("auction.orders")
        for i in range(0, len(intents), spec.wave):
            receipts = m.raw.wave(flow.transactions(intents[i:i + spec.wave], owners, m.sids))
            flow.record(receipts)
            orders_ph.add(receipts)
        orders_ph.finish()
        self.progress("auction orders", flow.tally.orders - before, len(intents))
        fills_before = flow.tally.fills
        unc = self._phase("auction.uncross")
        pending = books
        uncrossed = 0
        while pending:
            txs = [m.tx(m.operator, v, "uncross", sid, UNCROSS_FILLS, gas=15_000_000, tag=("uncross", i))
                   for i, (v, sid) in enumerate(pending)]
            receipts = m.raw.wave(txs)
            failed = [r for r in receipts if not r.status]
            if failed:
                raise RuntimeError(f"{len(failed)} of {len(receipts)} uncross transactions reverted, first "
                                   f"{failed[0].tx_hash}: {self._revert_reason(failed[0])}")
            flow.record(receipts)
            unc.add(receipts)
            phases = self._calls([(v, "phaseOf", (sid,)) for v, sid in pending])
            left = [b for b, p in zip(pending, phases) if int.from_bytes(p, "big") == int(TradingPhase.PRE_CLOSE)]
            uncrossed += len(pending) - len(left)
            pending = left
            self.progress("uncross", uncrossed, len(books))
        unc.finish()
        ph.extra["books"] = len(books)
        self.figures.update({"scale.auction_orders": flow.tally.orders - before,
                             "scale.auction_books": len(books),
                             "scale.auction_fills": flow.tally.fills - fills_before,
                             "scale.auction_wall_s": round(time.perf_counter() - start, 1)})

    def _eod_margin(self) -> None:
        m = self.m
        start = time.perf_counter()
        last = self._calls([(m.system.venue, "lastPrice", (sid,)) for sid in m.sids])
        prices = {sid: (int.from_bytes(p, "big") or int(m.path[1][i])) for i, (sid, p) in enumerate(zip(m.sids, last))}
        self.closing = prices
        m.phase("eod.prices", publish_prices_txs(m, prices))
        ph = self._phase("eod.revalue")
        pending = list(m.members)
        per_member: dict[str, list[int]] = {a.address: [] for a in pending}
        topic = Abi.of(m.risk.margin).events["MarginRefreshed"]
        done = 0
        while pending:
            txs = [m.tx(a.address, m.risk.margin, "revalue", a.address, REVALUE_PAGE, gas=12_000_000, tag=a)
                   for a in pending]
            receipts = m.raw.wave(txs)
            ph.add(receipts)
            left = []
            for r in receipts:
                if not r.status:
                    raise RuntimeError(f"revalue of {r.tag.name} reverted ({r.tx_hash})")
                per_member[r.tag.address].append(r.gas_used)
                if r.logs_of(topic):
                    done += 1
                else:
                    left.append(r.tag)
            pending = left
            self.progress("end-of-day margin", done, len(m.members))
        ph.finish()
        positions = self._positions_per_member()
        items = {a.address: positions[a.address] for a in m.members}
        gas = {a: sum(g) for a, g in per_member.items()}
        total_items = sum(items.values())
        self.revalue_points = sorted((items[a], gas[a]) for a in gas)
        xs, ys = zip(*self.revalue_points)
        slope = float(np.polyfit(xs, ys, 1)[0]) if len(set(xs)) > 1 else 0.0
        self.figures.update({
            "scale.eod_members_revalued": done,
            "scale.eod_revalue_txs": ph.txs,
            "scale.eod_positions": total_items,
            "scale.eod_margin_gas_per_position": int(ph.gas / max(total_items, 1)),
            # the slope of a member's revaluation gas over its positions (least squares): what one
            # more position costs, without the per-member and per-transaction part
            "scale.eod_margin_marginal_gas_per_position": int(slope),
            "scale.eod_wall_s": round(time.perf_counter() - start, 1),
        })

    def _positions_per_member(self) -> dict[str, int]:
        """Per clearing member: (account, security) positions of it and its clients (from the
        day's fills)."""
        out = {a.address: 0 for a in self.m.members}
        for a in self.m.accounts:
            out[a.member] += len(self.flow.positions.get(a.address, ()))
        return out

    def _default(self) -> None:
        """The largest member: margin down to its requirement, neither cash nor securities for
        settlement, declared in default. The close-out dealer buys its purchases at
        :data:`CRASH_SHARE` of the closing price and sells it what it failed to deliver at
        :data:`SQUEEZE` times that price: a loss well beyond its margin, its contribution and the
        CCP's skin in the game."""
        m = self.m
        s, defaulter = m.system, m.members[0]
        self.defaulter = defaulter
        st = margin_status(m.risk.margin, defaulter.address)
        spare = st.posted - st.required - st.pending
        txs = []
        if spare > 0:
            txs.append(m.tx(defaulter.address, m.risk.margin, "withdrawCash", spare))
        txs.append(m.tx(defaulter.address, s.cash, "approve", str(s.ccp.address), 0))
        txs.append(m.tx(defaulter.address, s.securities, "setApprovalForAll", str(s.ccp.address), False))
        sids = defaulter.book + [self.probe_sid]
        nets = [self._calls([(s.ccp, "obligation", (c, sid, defaulter.address)) for sid in sids]) for c in self.cycles]
        closing = {**self.closing, self.probe_sid: self.probe_price}
        for k, sid in enumerate(sids):
            quantities = [int.from_bytes(n[k][:32], "big", signed=True) for n in nets]
            quantity = max(quantities, key=abs)
            if quantity > 0:  # it buys: sold out in a crash
                txs.append(m.tx(m.operator, self.dealer, "setPrice", sid, max(int(closing[sid] * CRASH_SHARE), 1)))
            elif quantity < 0:  # it sells: bought in in a squeeze
                txs.append(m.tx(m.operator, self.dealer, "setPrice", sid, int(closing[sid] * SQUEEZE)))
                short = -sum(q for q in quantities if q < 0)
                txs.append(m.tx(m.issuer, s.securities, "issue", sid, str(self.dealer.address), short))
        txs.append(m.tx(m.bank, s.cash, "issue", str(self.dealer.address), 10**9 * 10**6))
        txs += [None, m.tx(m.operator, m.risk.fund, "declareDefault", defaulter.address)]
        ph = m.phase("default.declare", txs)
        self.figures["scale.default_margin_posted"] = st.required + st.pending
        self.figures["scale.default_declare_gas"] = ph.max_tx_gas
        self.default_positions = self._positions_per_member()[defaulter.address]

    def _warp_past(self, cycle: int) -> None:
        """Move the node's clock to the moment ``cycle`` may be settled (anvil)."""
        info = self._calls([(self.m.system.ccp, "cycleInfo", (cycle,))])[0]
        settles_from = int.from_bytes(info[128:160], "big")
        if self._now() <= settles_from:
            self.m.raw.rpc.call("evm_setNextBlockTimestamp", [hex(settles_from + 1)])
            self.m.raw.rpc.call("evm_mine", [])

    def _settle(self) -> None:
        """Settle every cycle of the day in turn, in chunks; then settle every fund member."""
        m, ccp = self.m, self.m.system.ccp
        start = time.perf_counter()
        ph = self._phase("settlement")
        # A chunk's gas limit bounds its work: settleCycle stops before a step when less than
        # MIN_STEP_GAS (MIN_CLOSE_OUT_GAS before a close-out) is left, and the next one resumes.
        gas = SETTLE_TX_GAS
        obligations = overshoot = 0
        for cycle in self.cycles:
            self._warp_past(cycle)
            info = self._calls([(ccp, "cycleInfo", (cycle,))])[0]
            n = int.from_bytes(info[64:96], "big")
            obligations += n
            settled, wave = False, max(SETTLE_WAVE, (3 * n) // (2 * SETTLE_CHUNK))
            while not settled:
                # The first wave has three quarters of what pay-in and pay-out take (a step each per
                # obligation), then SETTLE_WAVE at a time: the node's own work per block (over 1 s
                # at this size) would otherwise cost more than the chunks.
                receipts = m.raw.wave([m.tx(m.operator, ccp, "settleCycle", cycle, SETTLE_CHUNK, gas=gas)
                                       for _ in range(wave)])
                wave = SETTLE_WAVE
                ok = [r for r in receipts if r.status]
                overshoot += len(receipts) - len(ok)
                ph.add(ok)
                info = self._calls([(ccp, "cycleInfo", (cycle,))])[0]
                phase, cursor = int.from_bytes(info[:32], "big"), int.from_bytes(info[32:64], "big")
                settled = CyclePhase(phase) == CyclePhase.SETTLED
                self.progress(f"settlement {cycle}", n if settled else min(cursor, n), n)
                if not ok and not settled:
                    raise RuntimeError(f"settlement of {cycle} made no progress (phase {CyclePhase(phase).name})")
        ph.finish()
        events = Abi.of(m.risk.fund).events
        layers = [int(x) for x in m.risk.fund.layerTotals()]
        fund_ph = self._phase("default.settle_fund_members")
        n = int(m.risk.fund.memberCount())
        receipts = m.raw.wave([m.tx(m.operator, m.risk.fund, "settleMembers", start_, FUND_PAGE, gas=15_000_000)
                               for start_ in range(0, n, FUND_PAGE)])
        fund_ph.add(receipts)
        fund_ph.finish()
        if any(not r.status for r in receipts):
            raise RuntimeError("settleMembers reverted")
        charged = sum(len(r.logs_of(events["SurvivorCharged"])) for r in receipts)
        _, loss, _ = m.risk.fund.defaultOf(self.defaulter.address)
        self.figures.update({
            "scale.obligations": obligations,
            "scale.cycles": len(self.cycles),
            "scale.settle_txs": ph.txs,
            "scale.settle_gas_per_obligation": ph.gas // max(obligations, 1),
            "scale.settle_overshoot_txs": overshoot,
            "scale.settle_wall_s": round(time.perf_counter() - start, 1),
            "scale.default_loss": int(loss),
            "scale.default_positions": self.default_positions,
            "scale.default_survivors_charged": charged,
            "scale.fund_members": n,
            "scale.fund_settle_gas_per_member": fund_ph.gas // max(n, 1),
            **{f"scale.layer_{name}": v for name, v in zip(LAYERS, layers)},
        })
        self.layers = dict(zip(LAYERS, layers))

    # ─── report ───

    def report(self) -> dict[str, Any]:
        m, f = self.m, dict(self.figures)
        day_phases = [p for p in m.phases if not p.name.startswith("setup")]
        positions = self._positions_per_member()
        member_positions = sorted(len(self.flow.positions.get(a.address, ())) for a in m.members)
        f.update({
            "scale.members": self.spec.members,
            "scale.clients": self.spec.clients,
            "scale.securities": self.spec.securities,
            "scale.venues": self.spec.venues,
            "scale.day_orders": self.flow.tally.orders,
            "scale.day_fills": self.flow.tally.fills,
            "scale.day_txs": sum(p.txs for p in day_phases),
            "scale.day_gas": sum(p.gas for p in day_phases),
            "scale.max_tx_gas": max(p.max_tx_gas for p in day_phases),
            "scale.setup_txs": sum(p.txs for p in m.phases if p.name.startswith("setup")),
            "scale.setup_max_tx_gas": max(p.max_tx_gas for p in m.phases if p.name.startswith("setup")),
            "scale.member_positions_min": member_positions[0],
            "scale.member_positions_median": int(np.median(member_positions)),
            "scale.member_positions_max": member_positions[-1],
            "scale.member_book_positions_max": max(positions.values()),
            "scale.day_orders_per_s": round(self.flow.tally.orders / f["scale.day_wall_s"], 1),
        })
        st = m.raw.stats
        return {
            "spec": self.spec.as_dict(),
            "figures": f,
            "phases": [{"name": p.name, "txs": p.txs, "gas": p.gas, "max_tx_gas": p.max_tx_gas,
                        "wall_s": round(p.wall_s, 2), **p.extra} for p in m.phases],
            "samples": self.samples,
            "revalue_by_member": [{"positions": a, "gas": g} for a, g in self.revalue_points],
            "refused": dict(sorted(self.flow.tally.refused.items())),
            "layers": self.layers,
            "client": {"txs": st.txs, "blocks": st.blocks, "sign_s": round(st.sign_s, 1),
                       "send_s": round(st.send_s, 1), "mine_s": round(st.mine_s, 1),
                       "receipts_s": round(st.receipts_s, 1)},
        }


def run_day(spec: ScaleSpec, roles: Any, *, progress: Progress | None = None) -> dict[str, Any]:
    """Run one scale day of size ``spec`` on a fresh system; returns the report (see
    :meth:`ScaleDay.report`)."""
    return ScaleDay(spec, roles, progress=progress).run()
