"""Gas benchmark of CCP settlement, measured with ``receipt.gas_used`` on the connected chain.

``measure_clearing_gas`` deploys a fresh CCP and a bare recorder (``MockSettlementSink``) next to
an existing system, admits ``n_members`` funded clearing members, and measures:

- novation + netting per trade above a bare recorded instruction (goal <= 25k), both for a trade
  netting into existing obligations (steady state) and for the first trade of two accounts in a
  cycle (two new obligations listed);
- the same, amortised over a venue batch of ``large`` trades;
- gross DVP (``Route.Direct``) per trade;
- settlement gas per non-zero obligation (goal <= 60k);
- settlement of a cycle of ``large`` trades vs one of ``small`` trades among the same members
  (goal ratio <= 1.1: settlement costs O(accounts x securities), not O(trades));
- cash transfers per account in the large cycle, measured on the cash token's ``Transfer`` logs
  (DVP model 3: one per account, however many securities it settled), beside what netting per
  (security, account) would have moved.

Local chains only (it moves time forward to settle).
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from ape import accounts, chain, project

from smartccp.chain.system import System, admit, fund
from smartccp.clearing.ccp import (
    Rules,
    cash_legs,
    deploy_ccp,
    obligations,
    register_venue,
    run_cycle,
    set_rules,
    settle_instruction,
    warp_past,
)
from smartccp.types import MAX_UINT, Route
from smartccp.units import cash

BATCH = 100  # trades per venue transaction


@dataclass
class ClearingGas:
    """Gas figures (units of gas). ``*_above_sink`` subtract the bare recorder's cost."""

    sink_per_trade: int
    novation_steady: int
    novation_steady_above_sink: int
    novation_first_touch: int
    novation_first_touch_above_sink: int
    novation_batch_avg_above_sink: int
    direct_dvp_per_trade: int
    settle_per_obligation_small: int
    settle_per_obligation_large: int
    settle_total_small: int
    settle_total_large: int
    obligations: int
    small_trades: int
    large_trades: int
    accounts: int  # accounts with an obligation in the large cycle
    securities_per_account_max: int  # most securities one account settled in the large cycle
    cash_legs_per_account_max: int  # most cash transfers between the CCP and one account in it
    cash_legs_per_security_max: int  # the same had cash been netted per (security, account)

    @property
    def large_vs_small_ratio(self) -> float:
        return self.settle_total_large / self.settle_total_small

    def report(self) -> str:
        lines = [f"{k:<34} {v:>12,}" for k, v in asdict(self).items()]
        lines.append(f"{'large_vs_small_ratio':<34} {self.large_vs_small_ratio:>12.3f}")
        return "\n".join(lines)


def fund_members(system: System, operator: Any, bank: Any, issuer: Any, ccp: Any, security_ids: list[int],
                 n: int) -> list[Any]:
    """``n`` new clearing members (generated test accounts with keys, so they can sign orders),
    each with 10,000,000 cash, 100,000 units of every security, and unlimited approval of ``ccp``
    on both ledgers (local networks only: accounts are funded with gas by ``operator``)."""
    members = [accounts.test_accounts.generate_test_account() for _ in range(n)]
    for m in members:
        operator.transfer(m, 10**18)
    admit(system, operator, members)
    fund(system, members, bank=bank, issuer=issuer, cash=cash(10_000_000), units=dict.fromkeys(security_ids, 100_000))
    for m in members:
        system.cash.approve(ccp, MAX_UINT, sender=m)
        system.securities.setApprovalForAll(ccp, True, sender=m)
    return members


def _trades(members: list[Any], security_ids: list[int], count: int, rng: random.Random) -> list[tuple]:
    """(buyer, seller, security, quantity, price): the first ones make every member trade every
    security once, the rest are random."""
    n = len(members)
    out = []
    for sid in security_ids:
        out += [(members[i], members[(i + 1) % n], sid, 10, cash(100)) for i in range(n)]
    while len(out) < count:
        buyer, seller = rng.sample(members, 2)
        out.append((buyer, seller, rng.choice(security_ids), rng.randint(1, 50), cash(100) + rng.randint(-500, 500) * 10_000))
    return out[:count]


def _batches(venue: Any, sender: Any, instructions: list[tuple]) -> list[int]:
    return [venue.settleBatch(instructions[i:i + BATCH], sender=sender).gas_used
            for i in range(0, len(instructions), BATCH)]


def measure_clearing_gas(system: System, operator: Any, *, bank: Any, issuer: Any, security_ids: list[int],
                         n_members: int = 20, small: int = 100, large: int = 1_000, seed: int = 7) -> ClearingGas:
    """Run the benchmark described in the module docstring; ``security_ids`` are listed
    securities the ``issuer`` may issue. Returns the figures."""
    rng = random.Random(seed)
    ccp = deploy_ccp(system, operator)
    sink = project.MockSettlementSink.deploy(sender=operator)
    venue = project.MockVenue.deploy(ccp, sender=operator)
    sink_venue = project.MockVenue.deploy(sink, sender=operator)
    register_venue(ccp, venue, operator)
    register_venue(ccp, operator, operator)  # the operator account also acts as an EOA venue
    for sid in security_ids:
        set_rules(ccp, sid, operator, Rules(settlement_lag=1))
    members = fund_members(system, operator, bank, issuer, ccp, security_ids, n_members)
    length = int(ccp.cycleLength())
    today = chain.pending_timestamp // length
    small_deadline, large_deadline = (today + 1) * length + 100, (today + 2) * length + 100
    ids = iter(range(1, 10**9))

    def instr(t: tuple, deadline: int, route: Route = Route.CCP) -> tuple:
        buyer, seller, sid, qty, price = t
        return settle_instruction(next(ids), buyer, seller, sid, qty, price, deadline, route)

    # Cycle S: `small` trades; cycle L: `large` trades, through a batching venue.
    small_set = [instr(t, small_deadline) for t in _trades(members, security_ids, small, rng)]
    large_set = [instr(t, large_deadline) for t in _trades(members, security_ids, large, rng)]
    _batches(venue, operator, small_set)
    large_gas = sum(_batches(venue, operator, large_set))
    sink_gas = sum(_batches(sink_venue, operator, large_set))
    batch_avg_above = (large_gas - sink_gas) // large

    # Single trades from an EOA venue: first touch (new cycle), then steady state.
    a, b = members[0], members[1]
    first_deadline = (today + 3) * length + 100
    first = ccp.settle(instr((a, b, security_ids[0], 10, cash(100)), first_deadline), sender=operator).gas_used
    steady = ccp.settle(instr((a, b, security_ids[0], 10, cash(101)), first_deadline), sender=operator).gas_used
    baseline = sink.settle(instr((a, b, security_ids[0], 10, cash(101)), first_deadline), sender=operator).gas_used
    direct = ccp.settle(instr((a, b, security_ids[0], 10, cash(100)), 0, Route.DIRECT), sender=operator).gas_used

    warp_past(ccp, today + 2)
    small_report = run_cycle(ccp, today + 1, operator, chunk=1_000)
    large_report = run_cycle(ccp, today + 2, operator, chunk=1_000)
    large_obs = obligations(ccp, today + 2)
    by_account: dict[str, set[int]] = {}
    for o in large_obs:
        by_account.setdefault(o.account, set()).add(o.security_id)
    cash_by_account: dict[str, int] = {}
    for o in large_obs:
        cash_by_account[o.account] = cash_by_account.get(o.account, 0) + (o.cash != 0)
    moved = large_report.cash_legs(system.cash, ccp)
    assert large_report.failures == 0 and set(moved) == {a for a, v in cash_legs(large_obs).items() if v != 0}
    n_obligations = large_report.obligations
    return ClearingGas(
        sink_per_trade=baseline,
        novation_steady=steady,
        novation_steady_above_sink=steady - baseline,
        novation_first_touch=first,
        novation_first_touch_above_sink=first - baseline,
        novation_batch_avg_above_sink=batch_avg_above,
        direct_dvp_per_trade=direct,
        settle_per_obligation_small=small_report.total_gas // max(small_report.obligations, 1),
        settle_per_obligation_large=large_report.total_gas // max(n_obligations, 1),
        settle_total_small=small_report.total_gas,
        settle_total_large=large_report.total_gas,
        obligations=n_obligations,
        small_trades=small,
        large_trades=large,
        accounts=len(by_account),
        securities_per_account_max=max(len(v) for v in by_account.values()),
        cash_legs_per_account_max=max(moved.values()),
        cash_legs_per_security_max=max(cash_by_account.values()),
    )
