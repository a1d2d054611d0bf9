"""The invariants of a running SmartCCP system, checked from outside the chain.

MISSION.md's "what must always hold", as code the property tests, the fault-recovery drill and
the demo share:

- **conservation**: per asset (cash and every security) the balances of every holder ever seen
  (the CCP, the close-out market and the risk layer included) sum to the total supply, and the
  total supply moved only by issuance and redemption (the tokens' own ``Issued``/``Redeemed``
  events);
- **CCP custody**: the CCP's token balances are at least what it holds for accounts
  (pre-funded and deferred balances), and those per-account balances sum to its custody totals;
- **flat CCP**: in every open cycle, per security, net quantities and net cash sum to zero;
- **signed trades**: every ``Traded`` names a bid and an offer hash of orders the driver signed,
  owned by the buyer and the seller, on the right sides, at a price both limits allow;
- **routes**: a trade of two Direct orders settled gross at once (``TradeSettledDirect`` with the
  trade's parties, security, quantity and cash), any other went to the CCP; no direct settlement
  without a trade behind it;
- **no overfill**: per order hash, units traded + units cancelled + units still resting never
  exceed the signed quantity (and equal it when the driver knows what rests and what is parked);
- **book = orders**: the displayed depth equals what the driver's model of resting orders shows,
  and each resting order the model knows is on chain with its owner, size and hash;
- **obligations = trades**: each cycle's obligations equal the driver's netting of its trades;
- **settled = empty**: after a cycle settles, the CCP holds nothing but custody.

Reading is cheap on purpose (the property test checks after every step): :class:`Multicall` runs
any number of view calls in one ``eth_call`` (the ``MockMulticall`` runtime by state override:
nothing is deployed), :class:`LogScanner` decodes every new log of the system's contracts with
one ``eth_getLogs``. Both need a node with ``eth_call`` state overrides (anvil, geth).

Extending: risk rules add their checks with ``InvariantSuite.add(name, check)``; a check takes
(:class:`ChainState`, :class:`Ledger`, :class:`Expectation`) and raises
:class:`InvariantViolation`. Units as everywhere: cash in base units (6 dp), whole security units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from smartccp.proof.ledger import Ledger, LogScanner
from smartccp.proof.state import ChainState, read_state
from smartccp.types import CyclePhase


class InvariantViolation(AssertionError):
    """An invariant does not hold; the message names it and gives the figures."""


# ─── What the driver expects ────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SignedOrder:
    """What the driver knows of an order it signed and the venue accepted."""

    owner: str
    security_id: int
    side: int  # 0 buy, 1 sell
    quantity: int
    limit_price: int  # the limit (protection) price, cash base units per unit
    route: int = 0  # 0 CCP, 1 Direct (the order's chosen settlement route)


@dataclass
class Expectation:
    """What the driver (a property test, a drill, the demo) expects. ``None`` = not modelled:
    the related invariant checks only what the chain itself can show."""

    security_ids: list[int]
    orders: dict[bytes, SignedOrder] = field(default_factory=dict)
    depth: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] | None = None
    resting: dict[bytes, tuple[int, str, int, int]] | None = None  # hash -> (order id, owner, shown, total left)
    obligations: dict[int, dict[tuple[int, str], tuple[int, int]]] | None = None  # cycle -> (sid, acct) -> (q, c)
    open_obligations: dict[str, int] | None = None
    parked: dict[bytes, int] | None = None  # hash -> units of a stop-type order waiting for its trigger


Check = Callable[[ChainState, Ledger, Expectation], None]


def check_conservation(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Per asset: holders' balances sum to the supply; the supply is what was issued net of
    redemptions."""
    for key, supply in state.supply.items():
        held = sum(state.balances[key].values())
        if held != supply:
            raise InvariantViolation(f"conservation: {key} held {held} != total supply {supply}")
        if ledger.issued.get(key, 0) != supply:
            raise InvariantViolation(f"conservation: {key} supply {supply} != issued net {ledger.issued.get(key, 0)}")


def check_custody(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """The CCP's books: per-account balances it holds (and, for cash, what failed deliveries
    that rolled withheld for cycles not yet paid in) sum to its custody totals, and its token
    balances cover custody (the pool of a cycle in settlement is never negative)."""
    ccp = state.ccp
    for key, total in state.custody.items():
        per_account = sum(state.prefunded[key].values()) + (state.rolled_cash if key == "cash" else 0)
        if per_account != total:
            raise InvariantViolation(f"custody: {key} per-account {per_account} != custody total {total}")
        if ccp is not None and state.balances[key].get(ccp, 0) < total:
            raise InvariantViolation(f"custody: CCP holds {state.balances[key].get(ccp, 0)} {key} < custody {total}")


def check_cycles_flat(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Every cycle read: per security, net quantity and net cash sum to zero; the cash of the
    whole cycle to what failed deliveries that rolled into it withheld (paid from custody)."""
    for cycle, obs in state.obligations.items():
        sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for o in obs:
            sums[o.security_id][0] += o.quantity
            sums[o.security_id][1] += o.cash
        rolled = state.rolled_in.get(cycle, 0)
        for sid, (q, c) in sums.items():
            if q != 0 or (c != 0 and rolled == 0):  # without rolls, each security's cash too
                raise InvariantViolation(f"flat: cycle {cycle} security {sid} sums qty {q} cash {c}")
        cash = sum(c for _q, c in sums.values())
        if cash != rolled:
            raise InvariantViolation(f"flat: cycle {cycle} sums cash {cash}, rolled in {rolled}")


def check_signed_trades(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Every new trade names two orders the driver signed and the venue accepted, owned by the
    buyer and the seller, bid a buy and offer a sell, at a price within both limits."""
    for t in ledger.new_trades:
        bid, offer = expect.orders.get(bytes(t["bidOrderHash"])), expect.orders.get(bytes(t["offerOrderHash"]))
        if bid is None or offer is None:
            raise InvariantViolation(f"signed trades: trade {t['tradeId']} has an order nobody signed")
        buyer, seller = to_checksum_address(t["buyer"]), to_checksum_address(t["seller"])
        if (bid.owner, bid.side, offer.owner, offer.side) != (buyer, 0, seller, 1):
            raise InvariantViolation(f"signed trades: trade {t['tradeId']} owners/sides do not match its orders")
        if bid.security_id != t["securityId"] or offer.security_id != t["securityId"]:
            raise InvariantViolation(f"signed trades: trade {t['tradeId']} security differs from its orders")
        if not offer.limit_price <= t["price"] <= bid.limit_price:
            raise InvariantViolation(f"signed trades: trade {t['tradeId']} price {t['price']} outside the limits")


def check_routes(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Routes: a trade between two Direct orders settled gross at once (its ``TradeSettledDirect``
    carries the trade's buyer, seller, security, quantity and cash), any other went to the CCP;
    and nothing settled directly without a trade of two signed orders behind it."""
    for t in ledger.new_trades:
        bid, offer = expect.orders.get(bytes(t["bidOrderHash"])), expect.orders.get(bytes(t["offerOrderHash"]))
        if bid is None or offer is None:
            continue  # check_signed_trades names it
        direct = int(t["tradeId"]) in ledger.direct
        if direct != (bid.route == 1 and offer.route == 1):
            raise InvariantViolation(f"routes: trade {t['tradeId']} (routes {bid.route}/{offer.route}) "
                                     f"{'settled directly' if direct else 'was not settled directly'}")
    for trade_id, d in ledger.direct.items():
        t = ledger.trades.get(trade_id)
        if t is None:
            raise InvariantViolation(f"routes: direct settlement of trade {trade_id} without a trade")
        same = (str(d["buyer"]).lower(), str(d["seller"]).lower(), d["securityId"], d["quantity"], d["cashAmount"]) == (
            str(t["buyer"]).lower(), str(t["seller"]).lower(), t["securityId"], t["quantity"], t["price"] * t["quantity"])
        if not same:
            raise InvariantViolation(f"routes: direct settlement of trade {trade_id} differs from the trade")


def check_no_overfill(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Per order: traded + cancelled (+ still resting, when modelled) <= quantity (== when modelled)."""
    for h, o in expect.orders.items():
        used = ledger.filled.get(h, 0) + ledger.cancelled.get(h, 0)
        if expect.resting is not None:
            left = expect.resting[h][3] if h in expect.resting else (expect.parked or {}).get(h, 0)
            if used + left != o.quantity:
                raise InvariantViolation(
                    f"no overfill: order {h.hex()[:10]} filled {ledger.filled.get(h, 0)} + cancelled "
                    f"{ledger.cancelled.get(h, 0)} + resting {left} != quantity {o.quantity}")
        elif used > o.quantity:
            raise InvariantViolation(f"no overfill: order {h.hex()[:10]} used {used} > quantity {o.quantity}")


def check_book(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Displayed depth equals the model's; every modelled resting order is on chain as modelled."""
    if expect.depth is not None:
        for sid, want in expect.depth.items():
            got = state.depth.get(sid)
            if got != want:
                raise InvariantViolation(f"book: security {sid} depth {got} != expected {want}")
    if expect.resting is not None:
        for h, (oid, owner, shown, _left) in expect.resting.items():
            on_chain = state.orders.get(oid)
            if on_chain != (owner, shown, h):
                raise InvariantViolation(f"book: order {oid} is {on_chain}, expected {(owner, shown, h.hex())}")


def check_obligations(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """Each read cycle's obligations equal the driver's netting of its trades; the CCP's count of
    unpaid obligations per account equals the model's."""
    if expect.obligations is not None:
        for cycle, obs in state.obligations.items():
            got = {(o.security_id, o.account): (o.quantity, o.cash) for o in obs}
            want = expect.obligations.get(cycle, {})
            if got != want:
                diff = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)}
                raise InvariantViolation(f"obligations: cycle {cycle} differs (chain, model): {diff}")
    if expect.open_obligations is not None:
        for account, n in state.open_obligations.items():
            if n != expect.open_obligations.get(account, 0):
                raise InvariantViolation(
                    f"obligations: {account} has {n} unpaid on chain, model {expect.open_obligations.get(account, 0)}")


def check_settled_empty(state: ChainState, ledger: Ledger, expect: Expectation) -> None:
    """When no cycle is being settled (all read cycles open or settled), the CCP holds exactly
    its custody: nothing is left in the pool."""
    ccp = state.ccp
    if ccp is None or any(p not in (CyclePhase.OPEN, CyclePhase.SETTLED) for p, _, _ in state.cycles.values()):
        return
    for key, total in state.custody.items():
        held = state.balances[key].get(ccp, 0)
        if held != total:
            raise InvariantViolation(f"settled = empty: CCP holds {held} {key}, custody {total}")


CORE_CHECKS: list[tuple[str, Check]] = [
    ("conservation", check_conservation),
    ("custody", check_custody),
    ("flat", check_cycles_flat),
    ("signed trades", check_signed_trades),
    ("routes", check_routes),
    ("no overfill", check_no_overfill),
    ("book", check_book),
    ("obligations", check_obligations),
    ("settled = empty", check_settled_empty),
]


class InvariantSuite:
    """Reads the system and runs the named checks. New rules (risk: margin, default fund) add
    theirs with :meth:`add`; :meth:`check` returns the state it read."""

    def __init__(self, system: Any, security_ids: Sequence[int], *, start_block: int = 0, provider: Any = None,
                 checks: Sequence[tuple[str, Check]] = CORE_CHECKS) -> None:
        self.system = system
        self.security_ids = list(security_ids)
        self.provider = provider
        self.checks = list(checks)
        self.scanner = LogScanner(system.contracts(), start_block, provider)
        self.ledger = Ledger()
        self.runs = 0

    def add(self, name: str, check: Check) -> None:
        self.checks.append((name, check))

    def poll(self) -> Ledger:
        """Absorb the new logs (holders, issuance, trades, fills, cancels) into the ledger."""
        self.ledger.absorb(self.scanner.poll())
        return self.ledger

    def read(self, *, cycles: Iterable[int] = (), order_ids: Iterable[int] = ()) -> ChainState:
        state = read_state(self.system, self.security_ids, self.ledger.holders, cycles=cycles,
                           order_ids=order_ids, provider=self.provider)
        return state

    def check(self, expect: Expectation, *, cycles: Iterable[int] = (), order_ids: Iterable[int] = ()) -> ChainState:
        """Poll the logs, read the chain, run every check; raises the first violation."""
        self.poll()
        if expect.resting is not None:
            order_ids = {*order_ids, *(v[0] for v in expect.resting.values())}
        state = self.read(cycles=cycles, order_ids=order_ids)
        for name, check in self.checks:
            try:
                check(state, self.ledger, expect)
            except InvariantViolation:
                raise
            except Exception as exc:  # a check that crashes is a failed check, named
                raise InvariantViolation(f"{name}: check crashed: {exc!r}") from exc
        self.runs += 1
        return state

