"""The state machine's world as its model sees it (``MarketModel``): the deployed system, the model
books, the orders placed and parked, each trader's counter, standing, allowances and vault, the
obligations netted per cycle; the clock; and the prediction of a Direct pair's gross DVP. Also
``TALLY``, what a run covered, and ``expect_refusal``, the check of a predicted refusal."""

from __future__ import annotations

import functools
from collections import Counter, defaultdict

import ape
from proof_world import FastSender, World
from sm_model_book import ModelBook, Parked, Placed

from smartccp.chain.errors import refusal
from smartccp.chain.multicall import Multicall
from smartccp.chain.rpc import Rpc
from smartccp.proof.invariants import InvariantSuite, SignedOrder
from smartccp.trading.matching import Entry, Fill
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY


class RunTally:
    """What one test's run covered, over all its examples: examples started, states checked (the
    invariant counts them) and ``stats`` (trades, settled cycles, failures, refusals...), printed
    by ``_run``. Shared by the market and the risk machine; ``_run`` resets it."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.steps = 0
        self.examples = 0
        self.stats: Counter = Counter()


TALLY = RunTally()


def expect_refusal(error: str, contract, method: str, *args, sender) -> None:  # noqa: ANN001
    """``contract.method(*args)`` from ``sender`` must revert with the custom error ``error``.
    Simulated (``eth_call``): a refusal changes nothing by definition, and sending it through ape
    would cost a call trace per refusal; the bad-input catalogue sends real reverting
    transactions instead and checks that nothing changed."""
    got = refusal(contract, method, *args, sender=sender)
    assert got == error, f"{method}: expected refusal {error}, got {got}"


class MarketModel:
    """One example = one trading history from the snapshot of the freshly funded world. The
    model's state and the helpers that read and move it; the rules (``sm_rules_*``) and the
    checks (``sm_invariants``) are the other parts of ``MarketMachine``."""

    world: World  # set by the test before running

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.snapshot = ape.chain.snapshot()
        TALLY.examples += 1
        self.sys = w.system
        self.venue = w.system.venue
        self.ccp = w.system.ccp
        self.client = VenueClient(self.venue)
        self.sec = {s.sid: s for s in w.securities}
        self.addr = [str(t.address) for t in w.traders]
        self.rpc = Rpc.connected()
        self.suite = InvariantSuite(w.system, w.sids, start_block=0, provider=self.rpc)
        self.tx = FastSender(self.rpc)
        self.suite.poll()  # holders and issuance of the setup
        self.books = {sid: ModelBook(self._dead, functools.partial(self._cross_failure, sid),
                                     functools.partial(self._fill_failure, sid)) for sid in w.sids}
        self.wallets: dict[str, list[int]] = {}  # cash, units of the security being uncrossed or matched
        self.wallets_read = False  # whether `wallets` holds this transaction's wallets yet
        self.placed: dict[bytes, Placed] = {}
        self.signed: dict[bytes, SignedOrder] = {}
        self.route: dict[bytes, bool] = {}  # order hash -> Direct route
        self.parked: dict[int, dict[str, dict[int, list[bytes]]]] = {sid: {"rising": {}, "falling": {}} for sid in w.sids}
        self.parked_info: dict[bytes, Parked] = {}
        self.last = dict.fromkeys(w.sids, 0)  # last trade tick per security (what triggers stops)
        self.counter = dict.fromkeys(self.addr, 0)
        self.active = dict.fromkeys(self.addr, True)
        self.mid = {s.sid: s.base_tick for s in w.securities}
        self.obligations: dict[int, dict[tuple[int, str], list[int]]] = defaultdict(dict)
        self.settled: set[int] = set()
        self.cash_approved = dict.fromkeys(self.addr, True)
        self.units_approved = dict.fromkeys(self.addr, True)
        self.in_vault: dict[str, dict[str, int]] = {a: defaultdict(int) for a in self.addr}
        self.session_end = int(self.venue.sessionEnd())
        self.auction = dict.fromkeys(w.sids, False)  # in a call auction (PreOpen) collecting orders

    def teardown(self) -> None:
        ape.chain.restore(self.snapshot)

    # ── model helpers ──

    def now(self) -> int:
        """The time the next transaction lands at (to the hour: see the timing note)."""
        return int(self.rpc.call("eth_getBlockByNumber", ["latest", False])["timestamp"], 16) + 1

    def _dead(self, ref: bytes) -> bool:
        p = self.placed[ref]
        return ((p.expiry != 0 and p.expiry < self.t) or p.counter != self.counter[p.owner]
                or not self.active[p.owner])

    def _cycle(self, sid: int) -> int:
        return self.t // DAY + self.sec[sid].lag_days

    def _book_fill(self, sid: int, f: Fill) -> None:
        cycle = self._cycle(sid)
        amount = f.quantity * f.tick * self.sec[sid].tick
        for account, q, c in ((f.buyer, f.quantity, -amount), (f.seller, -f.quantity, amount)):
            pos = self.obligations[cycle].setdefault((sid, account), [0, 0])
            pos[0] += q
            pos[1] += c

    # ── gross DVP of a Direct pair ──

    def _fill_failure(self, sid: int, fill: Fill, bid: bytes, offer: bytes) -> tuple[str, str] | None:
        """In continuous trading a Direct pair settles gross inside the match, one fill after the
        other: the side whose token refuses (VenueCore._trySettle) and the token's error. The
        venue withdraws a maker that fails and refuses a taker that does. The wallets are read
        once per transaction (``wallets_read`` is reset by each rule that sends one)."""
        if not (self.route[bid] and self.route[offer]):
            return None
        if not self.wallets_read:
            self.wallets, self.wallets_read = self._read_wallets(sid), True
        why = self._gross_refusal(self.wallets, sid, fill)
        if why is None:
            return None
        TALLY.stats[f"direct fills refused ({why})"] += 1
        return ("buy" if why.startswith("ERC20") else "sell"), why

    def _read_wallets(self, sid: int) -> dict[str, list[int]]:
        m = Multicall(self.rpc)
        for a in self.addr:
            m.add(self.sys.cash, "balanceOf", a)
            m.add(self.sys.securities, "balanceOf", a, sid)
        out = iter(m.run())
        return {a: [next(out), next(out)] for a in self.addr}

    def _gross_refusal(self, wallet: dict[str, list[int]], sid: int, f: Fill) -> str | None:
        """The token error a gross DVP of ``f`` meets (cash leg first), or None: then ``wallet``
        is moved by it."""
        amount = f.quantity * f.tick * self.sec[sid].tick
        if not self.cash_approved[f.buyer]:
            return "ERC20InsufficientAllowance"
        if wallet[f.buyer][0] < amount:
            return "ERC20InsufficientBalance"
        if not self.units_approved[f.seller]:
            return "ERC1155MissingApprovalForAll"
        if wallet[f.seller][1] < f.quantity:
            return "ERC1155InsufficientBalance"
        wallet[f.buyer][0] -= amount
        wallet[f.seller][0] += amount
        wallet[f.seller][1] -= f.quantity
        wallet[f.buyer][1] += f.quantity
        return None

    def _cross_failure(self, sid: int, fill: Fill, bid: Entry, offer: Entry) -> str | None:
        """In an uncross a Direct pair settles gross; the party whose token refuses has its order
        withdrawn (VenueCore._trySettle)."""
        if not (self.route[bid.ref] and self.route[offer.ref]):
            return None
        why = self._gross_refusal(self.wallets, sid, fill)
        if why is None:
            return None
        TALLY.stats[f"auction orders withdrawn ({why})"] += 1
        return "buy" if why.startswith("ERC20") else "sell"

