"""The on-chain risk layer from Python: deploy and wire Margin and DefaultFund into a System,
publish scenarios, prices and contributions from the off-chain models, sign ``FundTransfer``
deposits, read margin status and the waterfall.

Units: cash in base units (6 decimals), prices in base units per unit, shocks and haircuts in
bps. The on-chain formulas mirror :mod:`smartccp.risk` exactly (see ``contracts/risk/README.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from ape import project

from smartccp.chain import eip712
from smartccp.chain.roles import DEFAULT_MANAGER_ROLE, OPERATOR_ROLE, role
from smartccp.chain.system import System, admit, approve_settlement, deploy_system, list_security
from smartccp.risk.margin import initial_margin
from smartccp.risk.waterfall import LAYERS
from smartccp.trading.venue import sync_hooks
from smartccp.units import BPS, cash, ceil_div

MARGIN_VENUE_ROLE = role("VENUE_ROLE")
DEFAULT_MANAGEMENT_ROLE = role("DEFAULT_MANAGEMENT_ROLE")
DEFAULT_SCENARIOS = 16
FUND_TRANSFER_FIELDS = (
    ("member", "address"),
    ("marginAmount", "uint256"),
    ("fundAmount", "uint256"),
    ("nonce", "uint256"),
    ("deadline", "uint256"),
)


@dataclass(frozen=True)
class Risk:
    """Handles to the risk contracts (ape ``ContractInstance``)."""

    margin: Any
    fund: Any
    management: Any = None


@dataclass(frozen=True)
class MarginStatus:
    """``IMargin.marginStatus``: cash base units; ``call_deadline`` unix seconds (0: no call)."""

    posted: int
    required: int
    pending: int
    initial_margin: int
    variation_margin: int
    cash: int
    call_amount: int
    call_deadline: int
    defaulted: bool
    contribution_paid: bool


def deploy_risk(
    system: System,
    operator: Any,
    *,
    ccp: Any = None,
    obligations: Any = None,
    n_scenarios: int = DEFAULT_SCENARIOS,
    resync: Iterable[Any] = (),
    gate_venues: bool = True,
    liquidation_market: Any = None,
) -> Risk:
    """Deploy Margin and DefaultFund for ``system`` and wire them in.

    ``ccp`` defaults to ``system.ccp`` (tests may pass an account standing in for the CCP that
    charges shortfalls); ``obligations`` is where Margin reads positions (default: ``ccp``; tests
    may pass a ``MockObligationSource``).
    Margin subscribes to the register (``resync`` pushes accounts admitted before, so its copy
    is complete); both contracts become system accounts; the fund gets the register's
    DEFAULT_MANAGER_ROLE (suspend, expel) and OPERATOR_ROLE (port clients); every venue gets the
    gate's VENUE_ROLE and, if ``gate_venues``, uses Margin as its order gate; the CCP (if it is
    ``system.ccp``) uses the fund as its default handler. ``operator`` gets every risk role.
    ``liquidation_market`` (an ``ICloseOutMarket`` that accepts Margin as seller, e.g.
    ``MockCloseOutMarket``; for a venue, ``deploy_venue_liquidation`` after this) is where
    waterfall layer 1 sells a defaulter's securities collateral; without one they stay in Margin.
    """
    tx = {"sender": operator}
    ccp = system.ccp if ccp is None else ccp
    source = ccp if obligations is None else obligations
    margin = project.Margin.deploy(source, system.membership, system.cash, system.securities, n_scenarios, operator, **tx)
    fund = project.DefaultFund.deploy(ccp, margin, system.membership, system.cash, operator, **tx)
    margin.setDefaultFund(fund, **tx)
    system.membership.addSubscriber(margin, **tx)
    system.membership.registerSystem(margin, **tx)
    system.membership.registerSystem(fund, **tx)
    accounts = [str(getattr(a, "address", a)) for a in resync]
    if accounts:
        system.membership.resync(accounts, **tx)
    system.membership.grantRole(DEFAULT_MANAGER_ROLE, fund, **tx)
    system.membership.grantRole(OPERATOR_ROLE, fund, **tx)
    for venue in system.venues:
        margin.grantRole(MARGIN_VENUE_ROLE, venue, **tx)
        if gate_venues:
            venue.setOrderGate(margin, **tx)
            sync_hooks(venue, operator)  # the gate is in effect once every listed market is swept
    if system.ccp is not None and ccp == system.ccp:
        system.ccp.setDefaultHandler(fund, **tx)
        system.ccp.setInterestSource(margin, **tx)  # pre-funded cash earns Margin's rate
    if liquidation_market is not None:
        margin.setLiquidationMarket(liquidation_market, **tx)
    system.extra["Margin"] = margin
    system.extra["DefaultFund"] = fund
    management = None
    if system.ccp is not None and ccp == system.ccp and system.venues:
        management = deploy_default_management(system, margin, fund, operator)
    return Risk(margin=margin, fund=fund, management=management)


def deploy_default_management(system: System, margin: Any, fund: Any, operator: Any, *, venue: Any = None) -> Any:
    """Deploy the default-management account (``DefaultManagement``: take-over, auction, close-out
    on ``venue``, default the first) and give it what it needs: a system account in the register,
    the CCP's and the fund's DEFAULT_MANAGEMENT_ROLE (move obligations, charge losses), Margin's
    VENUE_ROLE (gate bids) and DEFAULT_MANAGEMENT_ROLE (its close-out orders pass the gate)."""
    tx = {"sender": operator}
    venue = system.venue if venue is None else venue
    dm = project.DefaultManagement.deploy(system.ccp, fund, margin, system.membership, system.cash,
                                          system.securities, venue, operator, **tx)
    system.membership.registerSystem(dm, **tx)
    system.ccp.grantRole(DEFAULT_MANAGEMENT_ROLE, dm, **tx)
    fund.grantRole(DEFAULT_MANAGEMENT_ROLE, dm, **tx)
    margin.grantRole(MARGIN_VENUE_ROLE, dm, **tx)
    margin.grantRole(DEFAULT_MANAGEMENT_ROLE, dm, **tx)
    system.extra["DefaultManagement"] = dm
    return dm


# ─── Publishing from the off-chain models ────────────────────────────────────────────────────


def deploy_venue_liquidation(system: System, risk: Risk, operator: Any, *, venue: Any = None,
                             max_makers: int = 4) -> Any:
    """Let waterfall layer 1 sell a defaulter's securities collateral on a venue: a
    ``VenueCloseOut`` whose client is Margin (its IOC sell orders fill against the bids on
    ``venue``, default the system's first), registered as a system account, admitted by the CCP
    as a party of the fills it hands back while it charges a shortfall
    (``setLiquidationMarket``) and set as Margin's liquidation market. Returns the contract."""
    venue = system.venue if venue is None else venue
    market = project.VenueCloseOut.deploy(venue, system.ccp, risk.margin, system.cash, system.securities, max_makers,
                                          sender=operator)
    system.membership.registerSystem(market, sender=operator)
    system.ccp.setLiquidationMarket(market, sender=operator)
    risk.margin.setLiquidationMarket(market, sender=operator)
    system.extra["VenueLiquidation"] = market
    return market


def publish_scenarios(margin: Any, shocks_by_security: Mapping[int, Sequence[int]], sender: Any) -> None:
    """Publish each security's shock vector (integer bps, e.g. a row of
    :func:`smartccp.risk.scenarios.calibrate_joint_shocks`)."""
    for sid, shocks in shocks_by_security.items():
        margin.publishScenarios(sid, [int(s) for s in shocks], sender=sender)


def publish_prices(margin: Any, prices: Mapping[int, int], sender: Any) -> Any:
    """Publish daily settlement prices (cash base units per unit); returns the receipt."""
    sids = list(prices)
    return margin.publishPrices(sids, [int(prices[s]) for s in sids], sender=sender)


def closing_prices(system: System, security_ids: Iterable[int], venue: int = 0) -> dict[int, int]:
    """Settlement prices as the source defines them: the venue's last trade price after its
    closing auction (PreClose, then ``uncross``). Securities that never traded are left out."""
    out = {}
    for sid in security_ids:
        price = int(system.venues[venue].lastPrice(sid))
        if price:
            out[sid] = price
    return out


def publish_contributions(fund: Any, contributions: Mapping[Any, int], sender: Any) -> None:
    """Publish required contributions (e.g. :func:`smartccp.risk.default_fund.allocate_contributions`),
    in batches of the fund's ``MAX_BATCH``: a fund of any size."""
    members = [str(getattr(m, "address", m)) for m in contributions]
    amounts = [int(v) for v in contributions.values()]
    batch = int(fund.MAX_BATCH())
    for i in range(0, len(members), batch):
        fund.setRequiredContributions(members[i:i + batch], amounts[i:i + batch], sender=sender)


def one_security_fund(operator: Any, bank: Any, issuer: Any, members: Sequence[Any], contributions: Sequence[int],
                      *, symbol: str, isin: bytes, price: int, shocks: Sequence[int],
                      cash_each: int = cash(100_000)) -> tuple[System, Risk, int]:
    """A fresh system and risk layer around one security, listed T+1 (tick 0.01, lot 1) at
    ``price`` with ``shocks``: ``members`` admitted as clearing members, each issued ``cash_each``
    and approving settlement, and paying its ``contributions`` (published as its requirement).
    Returns the system, the risk layer and the security's id."""
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    system.securities.listSecurity(symbol, isin, 0, cash("0.01"), 1, 0, sender=issuer)
    sid = int(system.securities.securityCount())
    admit(system, operator, members)
    list_security(system, operator, sid, lag_days=1)
    risk = deploy_risk(system, operator, resync=list(members))
    approve_settlement(system, members, risk.margin, risk.fund)
    for m in members:
        system.cash.issue(m, cash_each, sender=bank)
    publish_scenarios(risk.margin, {sid: list(shocks)}, operator)
    publish_prices(risk.margin, {sid: price}, operator)
    publish_contributions(risk.fund, dict(zip(members, contributions, strict=True)), operator)
    for m, amount in zip(members, contributions, strict=True):
        risk.fund.contribute(amount, sender=m)
    return system, risk, sid


# ─── Signed deposits ─────────────────────────────────────────────────────────────────────────


def fund_transfer_typed_data(margin: Any, chain_id: int, transfer: Mapping[str, Any]) -> dict[str, Any]:
    """EIP-712 payload of a ``FundTransfer`` for ``margin`` (domain "SmartCCP Margin", "1")."""
    return eip712.payload(
        "FundTransfer", FUND_TRANSFER_FIELDS, eip712.domain("SmartCCP Margin", chain_id, margin.address), dict(transfer)
    )


def sign_fund_transfer(
    margin: Any, member: Any, margin_amount: int, fund_amount: int, deadline: int, *, nonce: int | None = None
) -> tuple[tuple, bytes]:
    """Sign a ``FundTransfer`` as ``member`` (its key, or the node for node-held accounts);
    returns (struct tuple, signature)."""
    from ape import chain

    transfer = {
        "member": str(member.address),
        "marginAmount": int(margin_amount),
        "fundAmount": int(fund_amount),
        "nonce": int(margin.transferNonce(member) if nonce is None else nonce),
        "deadline": int(deadline),
    }
    data = fund_transfer_typed_data(margin, chain.chain_id, transfer)
    return tuple(transfer[n] for n, _ in FUND_TRANSFER_FIELDS), eip712.sign(data, member)


# ─── Curing a default ────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class CureResult:
    """What :func:`cure_default` did: cash base units the member paid in (margin, contribution),
    the cured case's reason (``DefaultReason`` index) and loss, and the cure's gas."""

    margin_deposited: int
    contribution_paid: int
    reason: int
    loss: int
    gas: int
    cured: bool


def cure_default(risk: Risk, member: Any, manager: Any, *, deposit: int = 0) -> CureResult:
    """Make good and cure ``member``'s open default (``DefaultFund.cureDefault``, as
    ``manager``, the default manager). The member (allowances to Margin and the fund in place)
    first deposits ``deposit`` cash margin (e.g. what layer 1 took), pays any unpaid part of its
    required contribution, and — after a refresh — covers any margin call still open; then the
    fund cures the case: the contract refuses (named error) unless only the member's own margin
    paid its loss. Works while the member is suspended (Margin and the fund move its cash as
    system contracts)."""
    margin, fund = risk.margin, risk.fund
    deposited = paid_in = 0
    if deposit:
        margin.depositCash(int(deposit), sender=member)
        deposited += int(deposit)
    required, paid = (int(x) for x in fund.contributionOf(member))
    if paid < required:
        fund.contribute(required - paid, sender=member)
        paid_in = required - paid
    margin.refreshMargin(member, sender=manager)
    st = margin_status(margin, member)
    short = max(st.call_amount, st.required - st.posted, 0)
    if short:
        margin.depositCash(short, sender=member)
        deposited += short
    receipt = fund.cureDefault(member, sender=manager)
    events = receipt.decode_logs(fund.DefaultCured)
    reason, loss = (int(events[0].reason), int(events[0].loss)) if events else (0, 0)
    return CureResult(deposited, paid_in, reason, loss, int(receipt.gas_used), bool(events))


# ─── Reading ─────────────────────────────────────────────────────────────────────────────────


def margin_status(margin: Any, member: Any) -> MarginStatus:
    """The member's margin status as a dataclass."""
    s = margin.marginStatus(member)
    return MarginStatus(*(int(x) if not isinstance(x, bool) else x for x in s))


#: Items (positions, collateral lines, accounts without positions) per revaluation page: about
#: 20k gas each, so a page stays near 4 M gas whatever the member's size.
REVALUE_PAGE = 200
#: Fund members settled per ``settleMembers`` transaction (about 20k gas each when charged).
SETTLE_PAGE = 100


def revalue(margin: Any, member: Any, sender: Any, page: int = REVALUE_PAGE) -> list[Any]:
    """Revalue ``member`` in pages of ``page`` items (``Margin.revalue``) until its last page;
    returns the receipts. Resumes a run another caller left unfinished."""
    receipts = []
    while True:
        receipt = margin.revalue(member, page, sender=sender)
        receipts.append(receipt)
        if receipt.decode_logs(margin.MarginRefreshed):
            return receipts


def settle_fund_members(fund: Any, sender: Any, page: int = SETTLE_PAGE) -> list[Any]:
    """Settle every fund member in pages of ``page`` (``DefaultFund.settleMembers``): after a
    default reached the survivors' layers, this books each charge and assessment, calls the
    top-ups and flags the charged members unpaid to the gate. Returns the receipts."""
    receipts, start, n = [], 0, int(fund.memberCount())
    while start < n:
        receipts.append(fund.settleMembers(start, page, sender=sender))
        start += page
    return receipts


def layer_totals(fund: Any) -> dict[str, int]:
    """Waterfall layer name (as :data:`smartccp.risk.waterfall.LAYERS`) -> amount used so far."""
    return {name: int(v) for name, v in zip(LAYERS, fund.layerTotals(), strict=True)}


def layer_events(fund: Any, receipts: Iterable[Any]) -> list[tuple[str, str, int]]:
    """(defaulter, layer name, amount) of every ``LayerUsed`` event, in order."""
    return [(str(log.defaulter), LAYERS[int(log.layer)], int(log.amount))
            for r in receipts for log in r.decode_logs(fund.LayerUsed)]


# ─── The on-chain formula with resting orders, in Python ─────────────────────────────────────


def initial_margin_with_orders(
    quantities: Sequence[int], open_buys: Sequence[int], open_sells: Sequence[int], prices: Sequence[int],
    shocks_bps: Sequence[Sequence[int]],
) -> int:
    """``RiskMath.addScenarioPnl`` + ``marginOf``: in each scenario every security's resting orders fill in the
    direction that hurts (buys in down shocks, sells in up shocks). Equals the largest
    :func:`smartccp.risk.margin.initial_margin` over the portfolios where each security's orders
    all fill one way or the other (checked in the tests).
    """
    worst = 0
    for s in range(len(shocks_bps[0])):
        total = 0
        for q, b, x, p, row in zip(quantities, open_buys, open_sells, prices, shocks_bps, strict=True):
            shock = int(row[s])
            total += (q + b if shock < 0 else q - x) * p * shock
        worst = max(worst, -total)
    return ceil_div(worst, BPS)


def initial_margin_over_fills(
    quantities: Sequence[int], open_buys: Sequence[int], open_sells: Sequence[int], prices: Sequence[int],
    shocks_bps: Sequence[Sequence[int]],
) -> int:
    """Largest :func:`initial_margin` over the 2^n extreme fill states of the resting orders."""
    options = [(q + b, q - x) for q, b, x in zip(quantities, open_buys, open_sells, strict=True)]
    return max(initial_margin(list(c), list(prices), [list(r) for r in shocks_bps]) for c in product(*options))


def order_margin(quantity: int, limit_price: int, settlement_price: int, worst_shock_bps: int, buy: bool) -> int:
    """``RiskMath.orderMargin``: the stand-alone worst case the gate adds for one order."""
    margin = ceil_div(quantity * settlement_price * abs(worst_shock_bps), BPS)
    if buy and limit_price > settlement_price:
        margin += quantity * (limit_price - settlement_price)
    if not buy and limit_price < settlement_price:
        margin += quantity * (settlement_price - limit_price)
    return margin


def backtest_summary(prices: Any, *, window_days: int = 1_000, horizon_days: int = 5, confidence: float = 0.99) -> str:
    """One-paragraph report of :func:`smartccp.risk.backtest.backtest_var` on ``prices`` (the
    model whose scenarios the Margin contract is given): exceptions against the VaR and the
    scenario margin, Kupiec and Christoffersen tests on non-overlapping windows."""
    from smartccp.risk.backtest import backtest_var

    r = backtest_var(prices, window_days=window_days, horizon_days=horizon_days, confidence=confidence)
    return (
        f"back-test {confidence:.1%} / {horizon_days}-day VaR, {window_days}-day window: "
        f"{r.n_exceptions} exceptions in {r.n_observations} non-overlapping windows "
        f"(expected {r.expected_exceptions:.1f}); scenario-margin exceptions {r.margin_exceptions}; "
        f"Kupiec LR {r.kupiec.statistic:.2f} p={r.kupiec.p_value:.3f} "
        f"({'reject' if r.kupiec.reject else 'accept'}); Christoffersen LR {r.christoffersen.statistic:.2f} "
        f"p={r.christoffersen.p_value:.3f} ({'reject' if r.christoffersen.reject else 'accept'})"
    )
