"""CCP settlement from Python: deploy and wire the CCP, run a settlement cycle, read obligations.

Units: quantities are whole security units; cash is in base units (6 decimals, see ``units``).
Sign convention (as on chain): ``quantity > 0`` = the account receives securities, ``< 0`` =
delivers; ``cash > 0`` = the account receives cash, ``< 0`` = pays.

Cycle rule (as on chain): ``cycle_id = deadline // cycle_length`` — with a one-day cycle, the
settlement date as days since 1970-01-01 UTC. A cycle may be settled by anyone from
``(cycle_id + 1) * cycle_length`` on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping

from ape import chain, project

from smartccp.chain.governance import admin_apply
from smartccp.chain.roles import VENUE_ROLE
from smartccp.chain.system import System
from smartccp.types import DAY, CyclePhase, MemberKind, Route
from smartccp.units import fmt_cash


@dataclass(frozen=True)
class Rules:
    """Clearing rules of one security (``SecurityRules`` on chain)."""

    cleared: bool = True
    no_naked_short: bool = False
    prefund_classes: tuple[MemberKind, ...] = ()
    settlement_lag: int = 1
    close_out_band_bps: int = 0
    #: How many times a failed delivery rolls into the next open cycle (CNS) before it is
    #: bought in; 0 buys in at once.
    fail_rolls: int = 0

    def as_tuple(self) -> tuple[bool, bool, int, int, int, int]:
        mask = sum(1 << int(k) for k in set(self.prefund_classes))
        return (self.cleared, self.no_naked_short, mask, self.settlement_lag, self.close_out_band_bps, self.fail_rolls)


@dataclass(frozen=True)
class Obligation:
    """One account's net obligation in one security for one cycle, against the CCP."""

    account: str
    security_id: int
    quantity: int
    cash: int
    failed: bool = False


@dataclass
class CycleReport:
    """What one ``run_cycle`` did: transactions, gas, and the cycle's final state."""

    cycle_id: int
    phase: CyclePhase
    obligations: int
    failures: int
    gas_used: list[int] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    receipts: list[Any] = field(default_factory=list, repr=False)

    def logs(self, event: Any) -> list[Any]:
        """Decoded logs of ``event`` (e.g. ``ccp.SoldOut``) over the run's transactions."""
        return [log for r in self.receipts for log in r.decode_logs(event)]

    @property
    def transactions(self) -> int:
        return len(self.gas_used)

    def cash_legs(self, cash_token: Any, ccp: Any) -> dict[str, int]:
        """Per wallet: how many cash transfers the run made between the CCP and it (pay-in and
        pay-out, measured on the cash token's ``Transfer`` logs). DVP model 3 moves one per
        account that pays or receives net cash, whatever the number of securities, in its own
        wallet or, for a client, its clearing member's (so a member's wallet counts its own leg
        and its clients'); a failure's close-out may add a refund of its surplus."""
        legs: dict[str, int] = defaultdict(int)
        for wallet, _amount in self._ccp_transfers(cash_token, ccp):
            legs[wallet] += 1
        return dict(legs)

    def cash_moved(self, cash_token: Any, ccp: Any) -> dict[str, int]:
        """Per wallet: the net cash the run moved between the CCP and it (> 0: received)."""
        moved: dict[str, int] = defaultdict(int)
        for wallet, amount in self._ccp_transfers(cash_token, ccp):
            moved[wallet] += amount
        return dict(moved)

    def _ccp_transfers(self, cash_token: Any, ccp: Any) -> Iterator[tuple[str, int]]:
        """(wallet, amount) of each cash transfer between the CCP and a wallet (> 0: to it)."""
        me = str(ccp).lower()
        for log in self.logs(cash_token.Transfer):
            sender, receiver = str(log["from"]).lower(), str(log["to"]).lower()
            if sender == me and receiver != me:
                yield str(log["to"]), int(log["value"])
            elif receiver == me and sender != me:
                yield str(log["from"]), -int(log["value"])

    @property
    def total_gas(self) -> int:
        return sum(self.gas_used)

    def summary(self) -> str:
        per = self.total_gas // max(self.obligations, 1)
        return (
            f"cycle {self.cycle_id}: {self.phase.name}, {self.obligations} obligations, "
            f"{self.failures} failed, {self.transactions} txs, {self.total_gas:,} gas "
            f"({per:,} per obligation), events {dict(sorted(self.events.items()))}"
        )


# ─── Deployment and wiring ───────────────────────────────────────────────────────────────────


def deploy_ccp(system: System, operator: Any, *, cycle_length: int = DAY) -> Any:
    """Deploy a (further) ``CCPSettlement`` for ``system`` and register it as a system account (so
    it may hold and move assets); ``operator`` gets admin and operator roles. Returns the contract.
    ``deploy_system`` already deploys one behind its venues; this one is for CCP-only tests."""
    ccp = project.CCPSettlement.deploy(
        system.membership, system.cash, system.securities, operator, cycle_length, sender=operator
    )
    system.membership.registerSystem(ccp, sender=operator)
    return ccp


def register_venue(ccp: Any, venue: Any, operator: Any) -> None:
    """Allow ``venue`` (a Trade contract or, in tests, an account) to call ``settle``."""
    ccp.grantRole(VENUE_ROLE, venue, sender=operator)


def set_rules(ccp: Any, security_id: int, operator: Any, rules: Rules = Rules()) -> None:
    """Set the clearing rules of ``security_id`` (default: cleared, T+1, no extra rules)."""
    ccp.setSecurityRules(security_id, rules.as_tuple(), sender=operator)


def wire_close_out(ccp: Any, system: System, admin: Any, *, market: Any, handler: Any) -> None:
    """Register the close-out market and the default handler as system accounts (if not yet)
    and set them on the CCP: admin changes, made by ``admin`` (the operator's account, or a
    :class:`smartccp.chain.governance.TimelockAdmin`: proposed, then executed after the delay)."""
    calls = [(system.membership, "registerSystem", (c,)) for c in (market, handler)
             if system.membership.memberOf(c).kind == MemberKind.NONE]
    calls += [(ccp, "setCloseOutMarket", (market,)), (ccp, "setDefaultHandler", (handler,))]
    admin_apply(admin, calls, "close-out market and default handler")


#: Resting orders one venue close-out order may match by default: each fill is a direct DVP
#: (~60k gas), so this bounds one close-out step well inside ``MIN_STEP_GAS``.
CLOSE_OUT_MAX_MAKERS = 4


def deploy_venue_close_out(system: System, operator: Any, *, venue: Any = None, handler: Any = None,
                           max_makers: int = CLOSE_OUT_MAX_MAKERS, admin: Any = None) -> Any:
    """Deploy a ``VenueCloseOut`` on ``venue`` (default: the system's first) for ``system.ccp``,
    register it as a system account (so it may hold assets and trade in its own name) and set it
    as the CCP's close-out market; set ``handler`` as the default handler if given. ``operator``
    deploys; ``admin`` (default: ``operator``; a ``TimelockAdmin`` in a governed deployment)
    makes the registration and the settings. The contract approves the CCP on both ledgers
    itself; makers it trades with must have approved the CCP too (members settling through it
    do). Returns the contract."""
    venue = system.venue if venue is None else venue
    admin = operator if admin is None else admin
    market = project.VenueCloseOut.deploy(venue, system.ccp, system.ccp, system.cash, system.securities, max_makers,
                                          sender=operator)
    if handler is None:
        admin_apply(admin, [(system.membership, "registerSystem", (market,)), (system.ccp, "setCloseOutMarket", (market,))],
                    "close-out market")
    else:
        wire_close_out(system.ccp, system, admin, market=market, handler=handler)
    system.extra["VenueCloseOut"] = market
    return market


def settle_instruction(
    trade_id: int,
    buyer: Any,
    seller: Any,
    security_id: int,
    quantity: int,
    price: int,
    deadline: int,
    route: Route = Route.CCP,
    *,
    cash_amount: int | None = None,
) -> tuple:
    """A ``Settle`` struct as a tuple; ``price`` in cash base units per unit. Order hashes are
    derived from the trade id (tests and benchmarks have no signed orders behind them)."""
    bid = trade_id.to_bytes(31, "big") + b"\x01"
    offer = trade_id.to_bytes(31, "big") + b"\x02"
    amount = quantity * price if cash_amount is None else cash_amount
    return (trade_id, bid, offer, str(buyer), str(seller), security_id, quantity, price, amount, deadline,
            int(route))


def settlement_deadline(ccp: Any, security_id: int) -> tuple[int, int]:
    """(cycle id, deadline) a trade in ``security_id`` made now must carry (today + lag)."""
    cycle_id, deadline = ccp.settlementCycle(security_id)
    return int(cycle_id), int(deadline)


def warp_past(ccp: Any, cycle_id: int) -> None:
    """Local chains only: move time to the moment ``cycle_id`` may be settled."""
    _, _, _, _, settles_from = ccp.cycleInfo(cycle_id)
    if chain.pending_timestamp < settles_from:
        chain.pending_timestamp = int(settles_from)
        chain.mine()


# ─── Running a cycle ─────────────────────────────────────────────────────────────────────────

_SETTLEMENT_EVENTS = (
    "ObligationPaidIn", "ObligationPaidOut", "PayOutDeferred", "SoldOut", "BoughtIn", "ShortfallCharged",
    "LiquidityBorrowed", "LiquidityRepaid", "DeliveryRolled", "ReceiptRolled",
    "CycleSettled",
)


#: Gas limit per settlement step used to size a chunk's transaction (a close-out step with a
#: market call is the most expensive; a plain obligation costs about 50k).
STEP_GAS_BUDGET = 150_000
MAX_TX_GAS = 25_000_000


def chunk_gas_limit(ccp: Any, chunk: int) -> int:
    """Gas limit for ``settleCycle(cycle, chunk)``. Set it explicitly: gas *estimation* finds a
    limit at which the call succeeds, and ``settleCycle`` succeeds with little gas by doing fewer
    steps (it stops when less than ``MIN_STEP_GAS``, or ``MIN_CLOSE_OUT_GAS`` before a close-out
    step, is left), so an estimate under-sizes chunks."""
    floor = max(int(ccp.MIN_STEP_GAS()), int(ccp.MIN_CLOSE_OUT_GAS()))  # a close-out step needs more
    return min(MAX_TX_GAS, floor + STEP_GAS_BUDGET * chunk)


def run_cycle(ccp: Any, cycle_id: int, sender: Any, *, chunk: int = 50, max_txs: int = 10_000) -> CycleReport:
    """Settle ``cycle_id`` in chunks of ``chunk`` steps until it is settled; returns the report
    (gas per transaction, counts of settlement events). Resumes a partly settled cycle; a no-op
    (zero transactions) on a settled one."""
    report = CycleReport(cycle_id, CyclePhase.UNKNOWN, 0, 0)
    counts: dict[str, int] = defaultdict(int)
    for _ in range(max_txs):
        phase = CyclePhase(ccp.cycleInfo(cycle_id)[0])
        if phase == CyclePhase.SETTLED:
            break
        receipt = ccp.settleCycle(cycle_id, chunk, sender=sender, gas_limit=chunk_gas_limit(ccp, chunk))
        report.gas_used.append(receipt.gas_used)
        report.receipts.append(receipt)
        for name in _SETTLEMENT_EVENTS:
            counts[name] += len(receipt.decode_logs(getattr(ccp, name)))
    phase, _, n, failures, _ = ccp.cycleInfo(cycle_id)
    report.phase, report.obligations, report.failures = CyclePhase(phase), int(n), int(failures)
    report.events = dict(counts)
    return report


# ─── Reading obligations ─────────────────────────────────────────────────────────────────────


def obligations(ccp: Any, cycle_id: int) -> list[Obligation]:
    """Every obligation of the cycle, in list order (zero ones included)."""
    n = int(ccp.cycleInfo(cycle_id)[2])
    out = []
    for i in range(n):
        account, sid, qty, cash_amount, failed = ccp.obligationAt(cycle_id, i)
        out.append(Obligation(str(account), int(sid), int(qty), int(cash_amount), bool(failed)))
    return out


def net_totals(obs: Iterable[Obligation]) -> dict[int, tuple[int, int]]:
    """Per security: (sum of net quantities, sum of net cash). Both zero when the CCP is flat."""
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for o in obs:
        sums[o.security_id][0] += o.quantity
        sums[o.security_id][1] += o.cash
    return {sid: (q, c) for sid, (q, c) in sums.items()}


def member_aggregates(obs: Iterable[Obligation], membership: Any) -> dict[tuple[str, int], tuple[int, int]]:
    """Per (clearing member, security): the sum of its own and its clients' net obligations.

    Derived, not stored: settlement runs per account (the wallet that pays and receives); the
    member aggregate is what the member answers for (shortfalls are charged to it) and what
    margin is computed on."""
    cm_of: dict[str, str] = {}
    agg: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for o in obs:
        if o.account not in cm_of:
            cm_of[o.account] = str(membership.clearingMemberOf(o.account))
        key = (cm_of[o.account], o.security_id)
        agg[key][0] += o.quantity
        agg[key][1] += o.cash
    return {k: (q, c) for k, (q, c) in agg.items()}


@dataclass(frozen=True)
class Liquidity:
    """Gross (trade by trade) vs net (after multilateral netting) settlement flows of a cycle."""

    trades: int
    gross_cash: int
    net_cash: int  # paid in: one net cash debit per account across its securities (DVP model 3)
    gross_units: int
    net_units: int
    net_cash_per_security: int = 0  # paid in had cash been netted per (security, account) only
    cash_legs: int = 0  # cash transfers of the net settlement: accounts paying or receiving cash
    cash_legs_per_security: int = 0  # the same, netted per (security, account)
    gross_cash_legs: int = 0  # the same, trade by trade: two per trade

    @property
    def cash_saving(self) -> float:
        """Share of cash that netting saves, 0..1."""
        return 1 - self.net_cash / self.gross_cash if self.gross_cash else 0.0

    @property
    def cash_saving_per_security(self) -> float:
        """Share of cash that netting per (security, account) alone would save, 0..1."""
        return 1 - self.net_cash_per_security / self.gross_cash if self.gross_cash else 0.0

    @property
    def units_saving(self) -> float:
        return 1 - self.net_units / self.gross_units if self.gross_units else 0.0

    def summary(self) -> str:
        return (
            f"{self.trades} trades: cash gross {fmt_cash(self.gross_cash)} -> net {fmt_cash(self.net_cash)} "
            f"({self.cash_saving:.1%} saved; {self.cash_saving_per_security:.1%} netted per security only), "
            f"{self.gross_cash_legs:,} -> {self.cash_legs:,} cash transfers; "
            f"units gross {self.gross_units:,} -> net {self.net_units:,} "
            f"({self.units_saving:.1%} saved)"
        )


def traded_cycles(ccp: Any, start_block: int = 0, stop_block: int | None = None) -> list[int]:
    """The cycles the CCP novated trades into from ``start_block`` (to ``stop_block``, exclusive;
    default: the head), in order. With a short cycle one session's trades may span several."""
    stop = chain.blocks.head.number + 1 if stop_block is None else stop_block
    return sorted({int(log.cycleId) for log in ccp.TradeNovated.range(start_block, stop)})


def liquidity(ccp: Any, cycles: int | Iterable[int], *, start_block: int = 0) -> Liquidity:
    """Gross flows from the ``TradeNovated`` legs of ``cycles`` (one cycle id or several, e.g. a
    session's trades spread over short cycles) vs net pay-ins from their obligations. Gross counts
    what each trade would move settled alone (DVP trade by trade: each buyer leg's cash and
    units); net counts what members actually pay in."""
    wanted = {cycles} if isinstance(cycles, int) else set(cycles)
    trades = gross_cash = gross_units = 0
    stop = chain.blocks.head.number + 1
    for log in ccp.TradeNovated.range(start_block, stop):
        if int(log.cycleId) not in wanted or int(log.quantity) <= 0:
            continue
        trades += 1
        gross_units += int(log.quantity)
        gross_cash += -int(log.cashAmount)
    per_cycle = [obligations(ccp, c) for c in sorted(wanted)]
    obs = [o for cycle_obs in per_cycle for o in cycle_obs]
    legs = [v for cycle_obs in per_cycle for v in cash_legs(cycle_obs).values()]
    net_units = sum(-o.quantity for o in obs if o.quantity < 0)
    return Liquidity(
        trades, gross_cash, sum(-v for v in legs if v < 0), gross_units, net_units,
        net_cash_per_security=sum(-o.cash for o in obs if o.cash < 0),
        cash_legs=sum(1 for v in legs if v != 0),
        cash_legs_per_security=sum(1 for o in obs if o.cash != 0),
        gross_cash_legs=2 * trades,
    )


def cash_legs(obs: Iterable[Obligation], accounts: Mapping[str, str] | None = None) -> dict[str, int]:
    """Per settlement account: the net cash of its cash leg (DVP model 3: the sum of its
    obligations' cash across every security of the cycle; > 0 receives). What the CCP collects
    in pass 1b and pays in pass 3 when every delivery arrives; keyed by account only, so pass
    one cycle's obligations. ``accounts`` maps a pooled wallet to the account whose leg its
    cash joins (an omnibus client's: :func:`smartccp.types.omnibus_account` of its member; a
    desk's: its member); any other wallet is its own settlement account."""
    legs: dict[str, int] = defaultdict(int)
    for o in obs:
        legs[(accounts or {}).get(o.account, o.account)] += o.cash
    return dict(legs)


# ─── Invariants ──────────────────────────────────────────────────────────────────────────────


def check_flat(ccp: Any, cycle_id: int, security_ids: Iterable[int], *, page: int = 500) -> None:
    """Assert via the on-chain ``netSums`` view, paged, that per security the net quantities sum
    to zero and the cycle's net cash over ``security_ids`` (all it settles) to the cash withheld
    from failed deliveries that rolled into it, which the CCP pays from custody (zero without
    rolls): the CCP is flat."""
    n = int(ccp.cycleInfo(cycle_id)[2])
    rolled = int(ccp.rolledFails(cycle_id, 0, ccp.address)[2])
    total = 0
    for sid in security_ids:
        q = c = 0
        for start in range(0, n, page):
            dq, dc = ccp.netSums(cycle_id, sid, start, page)
            q, c = q + int(dq), c + int(dc)
        if q != 0 or (c != 0 and rolled == 0):  # without rolls, each security's cash too
            raise AssertionError(f"cycle {cycle_id} security {sid}: CCP not flat, sums qty {q} cash {c}")
        total += c
    if total != rolled:
        raise AssertionError(f"cycle {cycle_id}: CCP not flat, cash sums {total}, rolled in {rolled}")


def pool(ccp: Any, system: System, security_id: int) -> tuple[int, int]:
    """(cash, units) the CCP holds beyond the custody it keeps for accounts (pre-funded and
    deferred balances). Zero after every settled cycle with all shortfalls covered."""
    custody_cash, custody_units = ccp.custody(security_id)
    return (int(system.cash.balanceOf(ccp)) - int(custody_cash),
            int(system.securities.balanceOf(ccp, security_id)) - int(custody_units))


def check_ccp_empty(ccp: Any, system: System, security_ids: Iterable[int]) -> None:
    """Assert the CCP holds nothing but custody (pre-funded balances not yet withdrawn)."""
    for sid in security_ids:
        cash_left, units_left = pool(ccp, system, sid)
        if (cash_left, units_left) != (0, 0):
            raise AssertionError(f"CCP holds {cash_left} cash and {units_left} units of {sid} beyond custody")


def supplies(system: System, security_ids: Iterable[int]) -> dict[str, int]:
    """Snapshot of total supplies: compare before and after to show nothing was created or lost."""
    snap = {"cash": int(system.cash.totalSupply())}
    snap.update({f"security:{sid}": int(system.securities.totalSupply(sid)) for sid in security_ids})
    return snap


def format_obligations(obs: Iterable[Obligation], names: dict[str, str] | None = None) -> str:
    """A table of obligations, one line each, with optional account names."""
    names = names or {}
    lines = [f"{'account':<12} {'security':>8} {'quantity':>10} {'cash':>22} failed"]
    for o in obs:
        who = names.get(o.account, o.account[:10])
        lines.append(f"{who:<12} {o.security_id:>8} {o.quantity:>10,} {fmt_cash(o.cash):>22} {o.failed}")
    return "\n".join(lines)
