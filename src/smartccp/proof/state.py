"""What the chain holds now, read in one multicall: supplies and balances of every holder, the
CCP's custody and pre-funded balances, cycles and their obligations, book depth and orders.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from smartccp.chain.multicall import Multicall
from smartccp.chain.rpc import as_int, rpc_or_default
from smartccp.types import CyclePhase


@dataclass(frozen=True)
class Obl:
    """One listed obligation: (account, security) -> net quantity and cash, failed at pay-in."""

    account: str
    security_id: int
    quantity: int
    cash: int
    failed: bool


@dataclass
class ChainState:
    """A consistent read of the system at one block (all from one ``eth_call``, plus one for the
    obligation lists)."""

    supply: dict[str, int]
    balances: dict[str, dict[str, int]]  # asset key -> holder -> balance
    custody: dict[str, int]  # asset key -> total the CCP keeps for accounts
    prefunded: dict[str, dict[str, int]]  # asset key -> account -> held for it by the CCP
    open_obligations: dict[str, int]  # account -> obligations not yet paid in
    cycles: dict[int, tuple[CyclePhase, int, int]]  # cycle -> (phase, obligations, failures)
    obligations: dict[int, list[Obl]]
    depth: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]]  # sid -> (bids, asks)
    orders: dict[int, tuple[str, int, bytes]]  # order id -> (owner, remaining, hash)
    timestamp: int
    ccp: str | None = None  # the CCP's address, if the system has one
    #: Per read cycle, the cash withheld from deliveries that rolled into it (its positions'
    #: cash sums to this instead of zero: the CCP pays it from custody).
    rolled_in: dict[int, int] = field(default_factory=dict)

    @property
    def rolled_cash(self) -> int:
        """Cash withheld from failed deliveries that rolled into the read cycles not yet paid in
        (custody that belongs to no account's balance until that cycle pays it to the sellers)."""
        return sum(cash for c, cash in self.rolled_in.items()
                   if self.cycles[c][0] in (CyclePhase.UNKNOWN, CyclePhase.OPEN))


def asset_keys(security_ids: Iterable[int]) -> list[str]:
    return ["cash", *(f"security:{s}" for s in security_ids)]


def read_state(
    system: Any,
    security_ids: Sequence[int],
    holders: Iterable[str],
    *,
    cycles: Iterable[int] = (),
    order_ids: Iterable[int] = (),
    depth_levels: int = 100,
    provider: Any = None,
) -> ChainState:
    """Read supplies, every holder's balances, the CCP's custody and per-account balances, the
    given cycles and their obligations, the depth of every security and the given resting orders."""
    holders, cycles, order_ids = sorted(set(holders)), sorted(set(cycles)), sorted(set(order_ids))
    keys = asset_keys(security_ids)
    m = Multicall(provider)
    m.add(system.cash, "totalSupply")
    for sid in security_ids:
        m.add(system.securities, "totalSupply", sid)
    for h in holders:
        m.add(system.cash, "balanceOf", h)
        for sid in security_ids:
            m.add(system.securities, "balanceOf", h, sid)
    ccp = system.ccp
    if ccp is not None:
        for sid in security_ids:
            m.add(ccp, "custody", sid)
        for h in holders:
            m.add(ccp, "prefunded", h)
            for sid in security_ids:
                m.add(ccp, "prefundedSecurities", h, sid)
        for c in cycles:
            m.add(ccp, "cycleInfo", c)
            m.add(ccp, "rolledFails", c, 0, ccp.address)
    venue = system.venues[0] if system.venues else None
    if venue is not None:
        for sid in security_ids:
            m.add(venue, "depth", sid, depth_levels)
        for oid in order_ids:
            m.add(venue, "orderOf", oid)
    block = rpc_or_default(provider).make_request("eth_getBlockByNumber", ["latest", False])
    out = iter(m.run())

    supply = {k: next(out) for k in keys}
    balances: dict[str, dict[str, int]] = {k: {} for k in keys}
    for h in holders:
        for k in keys:
            balances[k][h] = next(out)
    custody: dict[str, int] = {k: 0 for k in keys}
    prefunded: dict[str, dict[str, int]] = {k: {} for k in keys}
    open_obs: dict[str, int] = {}
    cycle_info: dict[int, tuple[CyclePhase, int, int]] = {}
    rolled_in: dict[int, int] = {}
    if ccp is not None:
        for sid in security_ids:
            c_cash, c_units = next(out)
            custody["cash"], custody[f"security:{sid}"] = c_cash, c_units
        for h in holders:
            p_cash, _reserved, n_open = next(out)
            prefunded["cash"][h] = p_cash
            open_obs[h] = n_open
            for sid in security_ids:
                prefunded[f"security:{sid}"][h] = next(out)
        for c in cycles:
            phase, _cursor, n, failures, _from = next(out)
            cycle_info[c] = (CyclePhase(phase), n, failures)
            _age, _undelivered, rolled_in[c] = next(out)
    depth = {}
    orders = {}
    if venue is not None:
        for sid in security_ids:
            bp, bs, ap, as_ = next(out)
            depth[sid] = (list(zip(bp, bs)), list(zip(ap, as_)))
        for oid in order_ids:
            owner, remaining, _exp, _flags, _counter, h = next(out)
            orders[oid] = (to_checksum_address(owner), remaining, bytes(h))
    obligations: dict[int, list[Obl]] = {}
    if ccp is not None and cycles:
        m = Multicall(provider)
        for c in cycles:
            for i in range(cycle_info[c][1]):
                m.add(ccp, "obligationAt", c, i)
        res = iter(m.run())
        for c in cycles:
            obligations[c] = [Obl(to_checksum_address(a), s, q, cash, f)
                              for a, s, q, cash, f in (next(res) for _ in range(cycle_info[c][1]))]
    return ChainState(supply, balances, custody, prefunded, open_obs, cycle_info, obligations, depth, orders,
                      as_int(block["timestamp"]), str(ccp.address) if ccp is not None else None, rolled_in)



