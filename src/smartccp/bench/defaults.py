"""Benchmark of default management (DefaultFund.portClients, DefaultManagement), on the complete
system with the risk market of :mod:`smartccp.bench.risk`.

- ``risk.port_client_gas``: ``DefaultFund.portClients`` of one individually segregated client of
  a defaulted member, holding open positions in 10 securities, to a backup member that accepted
  it: its margin account moves whole (only the account's owner changes), so the cost does not
  grow with its positions; ``risk.port_client_gas_per_position`` is that over its 10 positions,
  ``risk.port_client_gas_10_vs_1_positions_ratio`` against a client with one position.
- ``risk.port_omnibus_collateral_gas``: ``Margin.portOmnibusCollateral`` after the defaulter's
  only omnibus client (a position in one security) was ported to the same backup: the omnibus
  account's cash and its 3 securities collateral lines move to the backup's omnibus account in
  one call (``_per_line`` the cost over the lines).
- ``risk.default_auction_gas``: the whole default management of a house portfolio of 10
  securities (10 units of each bought T+1 from a dealer, the prices then 5 % lower), from
  ``openCase`` to the last ``chargeLosses``: the take-over of the 10 positions (one call), the
  auction's start, two sealed bids per lot for 8 lots (each committed and revealed: 32
  transactions), the disposal of every lot (8 awarded, 2 without bids closed out on the venue
  against a member's resting bids) and the charge through the waterfall; summed.
  ``_largest_tx_gas`` its largest transaction, ``_txs`` their number; ``risk.default_auction_take_over_gas_per_security``
  the take-over over 10; ``risk.default_auction_commit_gas`` / ``_reveal_gas`` the medians of a
  bid's two steps; ``risk.default_auction_award_gas`` / ``_close_out_gas`` the medians of a lot's
  disposal each way.

Gas is ``receipt.gas_used`` of the whole transaction, medians where repeated.
"""

from __future__ import annotations

import statistics
from typing import Any

from ape import accounts, chain

from smartccp.bench.core import BenchContext, Figures, measurement
from smartccp.bench.risk import limit_order, margined_members, risk_market, trade_pair
from smartccp.chain.system import kyc_expiry
from smartccp.risk import management as mg
from smartccp.risk.chain import publish_prices
from smartccp.types import MAX_UINT, Segregation, Side
from smartccp.units import cash

PORT_POSITIONS = 10


@measurement("risk.port")
def port_client(ctx: BenchContext) -> Figures:
    """Individually segregated clients of member a, one with an open position in each of 10
    securities and one in a single security (each bought 1 unit from a dealer, T+1, through the
    gate, margined on its own account); a is declared in default and both are ported to b, which
    accepted a's clients. ``portClients`` of each, one client per call."""
    op = ctx.roles.operator
    m = risk_market(ctx, PORT_POSITIONS)
    system, fund = m.system, m.risk.fund
    a, b, dealer = margined_members(m, ctx, 3)
    # a's omnibus account first in its list of client accounts, so the individual clients' ports
    # find that list as before it existed.
    omnibus = _omnibus_client(ctx, m, a, dealer)
    # A first client ported alone warms what every port after it finds (the backup's list of
    # client accounts); then the two measured ones, in the same state.
    clients = [accounts.test_accounts.generate_test_account() for _ in range(3)]
    for c, n in zip(clients, (1, PORT_POSITIONS, 1), strict=True):
        op.transfer(c, 10**18)
        system.membership.admitParticipant(c, a, kyc_expiry(), int(Segregation.INDIVIDUAL), sender=op)
        system.cash.issue(c, cash(1_000_000), sender=ctx.roles.bank)
        system.cash.approve(system.ccp, MAX_UINT, sender=c)
        system.cash.approve(m.risk.margin, MAX_UINT, sender=c)
        m.risk.margin.depositCash(cash(100_000), sender=c)
        for sid in m.sids[:n]:
            trade_pair(m, c, dealer, sid, 1, m.prices[sid])
    fund.declareDefault(a, sender=op)
    fund.setBackupMember(a, b, sender=op)
    system.membership.acceptPortsFrom(a, True, sender=b)
    _, wide, narrow = (int(fund.portClients(a, [c], sender=op).gas_used) for c in clients)
    if any(str(m.risk.margin.accountOf(c)[1]) != str(b.address) for c in clients):
        raise RuntimeError("a ported client's account is not under the backup member")
    fund.portClients(a, [omnibus], sender=op)
    collective = int(m.risk.margin.portOmnibusCollateral(a, 50, sender=op).gas_used)
    if int(m.risk.margin.collateralUnits(m.risk.margin.omnibusAccountOf(b), m.sids[0])) != OMNIBUS_UNITS:
        raise RuntimeError("the omnibus collateral did not follow its client")
    return {"risk.port_client_gas": wide, "risk.port_client_gas_per_position": wide // PORT_POSITIONS,
            "risk.port_client_gas_10_vs_1_positions_ratio": round(wide / narrow, 3),
            "risk.port_omnibus_collateral_gas": collective,
            "risk.port_omnibus_collateral_gas_per_line": collective // OMNIBUS_LINES}


OMNIBUS_LINES, OMNIBUS_UNITS = 3, 10


def _omnibus_client(ctx: BenchContext, m: Any, member: Any, dealer: Any) -> Any:
    """An omnibus client of ``member`` that posts cash and ``OMNIBUS_UNITS`` of each of the first
    ``OMNIBUS_LINES`` securities into the omnibus account and buys one unit of the first."""
    r, system, margin = ctx.roles, m.system, m.risk.margin
    c = accounts.test_accounts.generate_test_account()
    r.operator.transfer(c, 10**18)
    system.membership.admitParticipant(c, member, kyc_expiry(), int(Segregation.OMNIBUS), sender=r.operator)
    system.cash.issue(c, cash(1_000_000), sender=r.bank)
    system.cash.approve(system.ccp, MAX_UINT, sender=c)
    system.cash.approve(margin, MAX_UINT, sender=c)
    margin.depositCash(cash(100_000), sender=c)
    system.securities.setApprovalForAll(margin, True, sender=c)
    for sid in m.sids[:OMNIBUS_LINES]:
        system.securities.issue(sid, c, OMNIBUS_UNITS, sender=r.issuer)
        margin.depositSecurities(sid, OMNIBUS_UNITS, sender=c)
    trade_pair(m, c, dealer, m.sids[0], 1, m.prices[m.sids[0]])
    return c


AUCTION_SECURITIES, AUCTION_UNSOLD = 10, 2


@measurement("risk.auction")
def default_auction(ctx: BenchContext) -> Figures:
    """Member a buys 10 units of each of 10 securities; the prices fall 5 %; a is declared in
    default and its house portfolio is taken over, auctioned (b and c bid on 8 lots, b best) and
    disposed of (2 lots closed out against d's resting bids), and the loss charged."""
    op = ctx.roles.operator
    m = risk_market(ctx, AUCTION_SECURITIES)
    margin, fund, dm = m.risk.margin, m.risk.fund, m.risk.management
    a, b, c, d, dealer = margined_members(m, ctx, 5)
    for sid in m.sids:
        trade_pair(m, a, dealer, sid, 10, m.prices[sid])
    marks = {sid: p * 95 // 100 for sid, p in m.prices.items()}
    unsold = m.sids[-AUCTION_UNSOLD:]
    for sid in unsold:
        m.client.place(limit_order(d, sid, Side.BUY, 10, marks[sid] - cash("0.10")), d)
    publish_prices(margin, marks, op)
    fund.declareDefault(a, sender=op)
    steps: list[tuple[str, int]] = []  # (step, gas) of every transaction of the case

    def sent(step: str, receipt: Any) -> None:
        steps.append((step, int(receipt.gas_used)))

    sent("open", dm.openCase(a, sender=op))
    sent("take_over", dm.takeOver(a, a, m.sids, sender=op))
    sent("start", dm.startAuction(a, 3_600, 3_600, 2_000, sender=op))
    lots = {lt.security_id: lt.id for lt in mg.lots_of(dm, a)}
    bidders = {str(b.address): b, str(c.address): c}
    bids = [mg.sign_bid(dm, bidder, lots[sid], marks[sid] - step)
            for sid in m.sids if sid not in unsold for bidder, step in ((b, cash("0.02")), (c, cash("0.05")))]
    for x in bids:
        sent("commit", dm.commitBid(x.lot, x.digest, sender=bidders[x.bidder]))
    chain.pending_timestamp = int(dm.caseOf(a)[1]) + 1
    chain.mine()
    for x in bids:
        sent("reveal", dm.revealBid(x.bid, x.signature, sender=op))
    chain.pending_timestamp = int(dm.caseOf(a)[2]) + 1
    chain.mine()
    for sid in m.sids:
        sent("close_out" if sid in unsold else "award", dm.disposeLot(lots[sid], 4, sender=op))
    for r in mg.charge(dm, a, op):
        sent("charge", r)
    disposed = mg.lots_of(dm, a)
    if sum(lt.state == mg.LotState.CLOSED_OUT for lt in disposed) != AUCTION_UNSOLD or any(
            lt.leader != str(b.address) for lt in disposed if lt.state == mg.LotState.AWARDED):
        raise RuntimeError("the auction did not dispose of every lot as planned (best bid, close-outs)")
    if int(dm.caseOf(a)[0]) != mg.CasePhase.CLOSED:
        raise RuntimeError("the case did not close")

    def median(step: str) -> int:
        return int(statistics.median(g for k, g in steps if k == step))

    return {
        "risk.default_auction_gas": sum(g for _, g in steps),
        "risk.default_auction_largest_tx_gas": max(g for _, g in steps),
        "risk.default_auction_txs": len(steps),
        "risk.default_auction_take_over_gas_per_security": median("take_over") // AUCTION_SECURITIES,
        "risk.default_auction_commit_gas": median("commit"),
        "risk.default_auction_reveal_gas": median("reveal"),
        "risk.default_auction_award_gas": median("award"),
        "risk.default_auction_close_out_gas": median("close_out"),
    }
