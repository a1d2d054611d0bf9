"""The scale day's default and settlement: the largest member defaults, every cycle of the day is
netted and settled in chunks, the shortfalls go down the DefaultFund's waterfall to the
survivors' layer, and every fund member is settled (:class:`smartccp.scale.day.ScaleDay` runs
them).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from smartccp.risk.chain import margin_status
from smartccp.risk.waterfall import LAYERS
from smartccp.scale.raw import Abi
from smartccp.types import CyclePhase

if TYPE_CHECKING:
    from smartccp.scale.day import ScaleDay

#: Settlement steps per ``settleCycle`` transaction (about 50k gas a step, a close-out more) ...
SETTLE_STEPS = 150
#: ... and its gas limit, which ends a chunk early (the first full run's chunk of 150 steps with
#: the defaulter's close-outs took 17.0M gas under a limit of 23.5M).
SETTLE_TX_GAS = 15_000_000
#: settleCycle transactions per wave once a cycle's first wave is mined.
SETTLE_WAVE = 24
#: Fund members per ``settleMembers`` page.
FUND_PAGE = 100
#: The close-out dealer buys the defaulter's purchases at this share of the closing price ...
CRASH_SHARE = 0.5
#: ... and sells it the units it failed to deliver at this multiple of the closing price.
SQUEEZE = 1.5


def declare_default(day: ScaleDay) -> None:
    """The largest member: margin down to its requirement, neither cash nor securities for
    settlement, declared in default. The close-out dealer buys its purchases at
    :data:`CRASH_SHARE` of the closing price and sells it what it failed to deliver at
    :data:`SQUEEZE` times that price: a loss well beyond its margin, its contribution and the
    CCP's skin in the game."""
    m = day.m
    s, defaulter = m.system, m.members[0]
    day.defaulter = defaulter
    st = margin_status(m.risk.margin, defaulter.address)
    spare = st.posted - st.required - st.pending
    txs = []
    if spare > 0:
        txs.append(m.tx(defaulter.address, m.risk.margin, "withdrawCash", spare))
    txs.append(m.tx(defaulter.address, s.cash, "approve", str(s.ccp.address), 0))
    txs.append(m.tx(defaulter.address, s.securities, "setApprovalForAll", str(s.ccp.address), False))
    sids = defaulter.book + [day.probe_sid]
    nets = [day.calls([(s.ccp, "obligation", (c, sid, defaulter.address)) for sid in sids]) for c in day.cycles]
    closing = {**day.closing, day.probe_sid: day.probe_price}
    for k, sid in enumerate(sids):
        quantities = [int.from_bytes(n[k][:32], "big", signed=True) for n in nets]
        quantity = max(quantities, key=abs)
        if quantity > 0:  # it buys: sold out in a crash
            txs.append(m.tx(m.operator, day.dealer, "setPrice", sid, max(int(closing[sid] * CRASH_SHARE), 1)))
        elif quantity < 0:  # it sells: bought in in a squeeze
            txs.append(m.tx(m.operator, day.dealer, "setPrice", sid, int(closing[sid] * SQUEEZE)))
            short = -sum(q for q in quantities if q < 0)
            txs.append(m.tx(m.issuer, s.securities, "issue", sid, str(day.dealer.address), short))
    txs.append(m.tx(m.bank, s.cash, "issue", str(day.dealer.address), 10**9 * 10**6))
    txs += [None, m.tx(m.operator, m.risk.fund, "declareDefault", defaulter.address)]
    ph = m.phase("default.declare", txs)
    day.figures["scale.default_margin_posted"] = st.required + st.pending
    day.figures["scale.default_declare_gas"] = ph.max_tx_gas
    day.default_positions = day.positions_per_member()[defaulter.address]


def _warp_past(day: ScaleDay, cycle: int) -> None:
    """Move the node's clock to the moment ``cycle`` may be settled (anvil)."""
    info = day.calls([(day.m.system.ccp, "cycleInfo", (cycle,))])[0]
    settles_from = int.from_bytes(info[128:160], "big")
    if day.now() <= settles_from:
        day.m.raw.rpc.call("evm_setNextBlockTimestamp", [hex(settles_from + 1)])
        day.m.raw.rpc.call("evm_mine", [])


def settle_day(day: ScaleDay) -> None:
    """Settle every cycle of the day in turn, in chunks; then settle every fund member."""
    m, ccp = day.m, day.m.system.ccp
    start = time.perf_counter()
    ph = day.new_phase("settlement")
    # A chunk's gas limit bounds its work: settleCycle stops before a step when less than
    # MIN_STEP_GAS (MIN_CLOSE_OUT_GAS before a close-out) is left, and the next one resumes.
    gas = SETTLE_TX_GAS
    obligations = overshoot = 0
    for cycle in day.cycles:
        _warp_past(day, cycle)
        info = day.calls([(ccp, "cycleInfo", (cycle,))])[0]
        n = int.from_bytes(info[64:96], "big")
        obligations += n
        settled, wave = False, max(SETTLE_WAVE, (3 * n) // (2 * SETTLE_STEPS))
        while not settled:
            # The first wave has three quarters of what pay-in and pay-out take (a step each per
            # obligation), then SETTLE_WAVE at a time: the node's own work per block (over 1 s
            # at this size) would otherwise cost more than the chunks.
            receipts = m.raw.wave([m.tx(m.operator, ccp, "settleCycle", cycle, SETTLE_STEPS, gas=gas)
                                   for _ in range(wave)])
            wave = SETTLE_WAVE
            ok = [r for r in receipts if r.status]
            overshoot += len(receipts) - len(ok)
            ph.add(ok)
            info = day.calls([(ccp, "cycleInfo", (cycle,))])[0]
            phase, cursor = int.from_bytes(info[:32], "big"), int.from_bytes(info[32:64], "big")
            settled = CyclePhase(phase) == CyclePhase.SETTLED
            day.progress(f"settlement {cycle}", n if settled else min(cursor, n), n)
            if not ok and not settled:
                raise RuntimeError(f"settlement of {cycle} made no progress (phase {CyclePhase(phase).name})")
    ph.finish()
    events = Abi.of(m.risk.fund).events
    layers = [int(x) for x in m.risk.fund.layerTotals()]
    fund_ph = day.new_phase("default.settle_fund_members")
    n = int(m.risk.fund.memberCount())
    receipts = m.raw.wave([m.tx(m.operator, m.risk.fund, "settleMembers", start_, FUND_PAGE, gas=15_000_000)
                           for start_ in range(0, n, FUND_PAGE)])
    fund_ph.add(receipts)
    fund_ph.finish()
    if any(not r.status for r in receipts):
        raise RuntimeError("settleMembers reverted")
    charged = sum(len(r.logs_of(events["SurvivorCharged"])) for r in receipts)
    _, loss, _ = m.risk.fund.defaultOf(day.defaulter.address)
    day.figures.update({
        "scale.obligations": obligations,
        "scale.cycles": len(day.cycles),
        "scale.settle_txs": ph.txs,
        "scale.settle_gas_per_obligation": ph.gas // max(obligations, 1),
        "scale.settle_overshoot_txs": overshoot,
        "scale.settle_wall_s": round(time.perf_counter() - start, 1),
        "scale.default_loss": int(loss),
        "scale.default_positions": day.default_positions,
        "scale.default_survivors_charged": charged,
        "scale.fund_members": n,
        "scale.fund_settle_gas_per_member": fund_ph.gas // max(n, 1),
        **{f"scale.layer_{name}": v for name, v in zip(LAYERS, layers)},
    })
    day.layers = dict(zip(LAYERS, layers))
