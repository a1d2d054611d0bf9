"""Margin at sizes the old ceilings refused (8 securities, 7 clients, 4 collateral lines per
member): the gate lists them all, a revaluation in pages equals the one-call refresh and the
Python model, the account waits (named error) while a run spans transactions, a ported omnibus
client takes its positions to its new member's omnibus account, and bad page sizes are refused."""

from __future__ import annotations

import ape
import numpy as np
import pytest

from smartccp.chain.system import kyc_expiry
from smartccp.risk.chain import margin_status, publish_prices, publish_scenarios
from smartccp.risk.margin import initial_margin
from smartccp.types import Segregation, Side, TradingPhase
from smartccp.units import cash

N_SECURITIES = 12  # > the old 8 positions per member
N_CLIENTS = 9  # > the old 7 clients per member
N_LINES = 6  # > the old 4 collateral securities
CLIENT_SECURITIES = 3  # each client orders in three securities


@pytest.fixture(scope="module")
def wide(risk_unit, system, members, member_c, operator, issuer, accounts, chain, order):
    """member_c with orders in twelve securities and six securities posted as collateral in its
    house account, and nine omnibus clients with orders in three each (one omnibus account that
    member_c funds)."""
    u = risk_unit
    venue = system.venue
    sids = list(u.sids)
    while len(sids) < N_SECURITIES:
        k = len(sids)
        system.securities.listSecurity(f"WX{k}", f"US1000000{k:03d}".encode(), 0, cash("0.01"), 1, 0, sender=issuer)
        sid = int(system.securities.securityCount())
        u.source.setLag(sid, 1, sender=operator)
        venue.listSecurity(sid, 86_400, sender=operator)
        venue.setPhase(sid, TradingPhase.CONTINUOUS, sender=operator)
        u.shocks[sid] = u.shocks[u.sids[k % len(u.sids)]]
        u.prices[sid] = cash(3 + k)
        publish_scenarios(u.margin, {sid: u.shocks[sid]}, operator)
        publish_prices(u.margin, {sid: u.prices[sid]}, operator)
        sids.append(sid)
    m = member_c
    u.margin.depositCash(cash(3_000_000), sender=m)
    for sid in sids:
        lot = 10 if sid == u.sids[0] else 1
        u.client.place(order(m, sid, Side.BUY, lot, u.prices[sid] // 2), m)
    clients = []
    for i in range(N_CLIENTS):
        c = accounts.generate_test_account()
        operator.transfer(c, 10**18)
        system.membership.admitParticipant(c, m, kyc_expiry(), int(Segregation.OMNIBUS), sender=operator)
        if i == 0:  # the omnibus account exists from its first client's admission
            u.margin.depositCashTo(u.margin.omnibusAccountOf(m), cash(1_000_000), sender=m)
        for sid in sids[1 + i % 8:1 + i % 8 + CLIENT_SECURITIES]:
            u.client.place(order(c, sid, Side.SELL, 1, u.prices[sid] * 2), c)
        clients.append(c)
    for sid in sids[1:1 + N_LINES]:
        system.securities.issue(sid, m, 1_000, sender=issuer)
        u.margin.depositSecurities(sid, 1_000, sender=m)
    u.margin.startMarginDay(sender=operator)
    return u, sids, m, clients


def _book(u, account, cycle, rng):
    """Random obligations for every listed position of every wallet of the margin ``account``;
    returns the aggregate quantity per security (positions are per wallet, IM is per account)."""
    total: dict[int, int] = {}
    for wallet in u.margin.walletsOf(account):
        ids, *_ = u.margin.positionsOf(wallet)
        for sid in map(int, ids):
            q = int(rng.integers(-500, 500))
            u.source.setObligation(cycle, sid, wallet, q, -q * u.prices[sid], sender=u.ccp)
            total[sid] = total.get(sid, 0) + q
    return total


def _model_im(u, total):
    ids = sorted(total)
    return initial_margin([total[i] for i in ids], [u.prices[i] for i in ids], [u.shocks[i] for i in ids])


def test_no_ceiling__twelve_positions_nine_clients_six_collateral_lines(wide):
    u, sids, m, clients = wide
    omnibus = str(u.margin.omnibusAccountOf(m))
    assert [str(a) for a in u.margin.accountsOf(m)] == [m.address, omnibus]
    assert [str(a) for a in u.margin.walletsOf(omnibus)] == [omnibus, *(c.address for c in clients)]
    assert [str(a) for a in u.margin.walletsOf(m)] == [m.address]
    assert tuple(u.margin.accountOf(clients[0])) == (omnibus, m.address, Segregation.OMNIBUS)
    ids, *_ = u.margin.positionsOf(m)
    assert sorted(map(int, ids)) == sorted(sids)
    status = margin_status(u.margin, m)
    lines = 0
    for sid in sids[1:1 + N_LINES]:
        assert int(u.margin.collateralUnits(m, sid)) == 1_000
        price, _, haircut = u.margin.securityRisk(sid)
        lines += 1_000 * int(price) * (10_000 - int(haircut)) // 10_000
    assert status.posted == status.cash + lines  # posted is cash plus each line's valuation


@pytest.mark.parametrize("which", ["house", "omnibus"])
def test_revalue_in_pages__equals_the_model__account_waits_meanwhile(wide, order, which):
    u, sids, m, clients = wide
    account = m.address if which == "house" else str(u.margin.omnibusAccountOf(m))
    trader = m if which == "house" else clients[0]
    # Items: the house's 12 positions and 6 lines; the omnibus account's own address (no
    # positions: one step) and its clients' 27 positions.
    steps = N_SECURITIES + N_LINES if which == "house" else 1 + N_CLIENTS * CLIENT_SECURITIES
    cycle = int(u.source.currentCycle()) + 1
    total = _book(u, account, cycle, np.random.default_rng(18))
    expected = _model_im(u, total)
    assert int(u.margin.previewInitialMargin(account)) == expected
    running, _, _, items = u.margin.revaluationOf(account)
    assert not running and int(items) == steps

    receipt = u.margin.revalue(account, 7, sender=u.ccp)
    assert [e.done for e in receipt.decode_logs(u.margin.RevaluationAdvanced)] == [7 if which == "house" else 6]
    running, _, done, _ = u.margin.revaluationOf(account)
    assert running
    before = margin_status(u.margin, account)
    with ape.reverts(u.margin.RevaluationPending, account=account, done=int(done)):
        u.client.place(order(trader, sids[1], Side.BUY, 1, u.prices[sids[1]] // 2), trader)
    with ape.reverts(u.margin.RevaluationPending, account=account, done=int(done)):
        u.margin.withdrawCashFrom(account, 1, sender=m)
    assert margin_status(u.margin, account) == before

    pages = 1
    while not u.margin.revalue(account, 7, sender=u.ccp).decode_logs(u.margin.MarginRefreshed):
        pages += 1
    pages += 1
    assert pages == -(-steps // 7)
    paged = margin_status(u.margin, account)
    assert paged.initial_margin == expected
    u.margin.refreshMargin(account, sender=u.ccp)  # the same in one call
    assert margin_status(u.margin, account).initial_margin == expected
    assert margin_status(u.margin, account).variation_margin == paged.variation_margin


def test_revalue__page_of_one_always_advances__zero_refused(wide):
    u, _, m, _ = wide
    with ape.reverts(u.margin.BadParameter, value=0):
        u.margin.revalue(m, 0, sender=u.ccp)
    items = int(u.margin.revaluationOf(m)[3])
    pages = 0
    while True:
        pages += 1
        receipt = u.margin.revalue(m, 1, sender=u.ccp)
        if receipt.decode_logs(u.margin.MarginRefreshed):
            break
        assert int(u.margin.revaluationOf(m)[2]) == pages  # one more item each page
    assert pages == items


def test_ported_omnibus_client__its_positions_follow_it__a_run_in_progress_restarts(wide, system, members, operator):
    u, _, m, clients = wide
    member_b = members[1]
    c = clients[0]
    omnibus_m, omnibus_b = str(u.margin.omnibusAccountOf(m)), str(u.margin.omnibusAccountOf(member_b))
    cycle = int(u.source.currentCycle()) + 1
    ids, *_ = u.margin.positionsOf(c)
    for sid in map(int, ids):
        u.source.setObligation(cycle, sid, c, 400, -400 * u.prices[sid], sender=u.ccp)
    u.margin.revalue(omnibus_m, 3, sender=u.ccp)
    assert u.margin.revaluationOf(omnibus_m)[0]

    system.membership.acceptPort(c, True, sender=member_b)
    receipt = system.membership.portClient(c, member_b, sender=operator)
    assert [e.account for e in receipt.decode_logs(u.margin.RevaluationRestarted)] == [omnibus_m]
    assert c.address not in [str(a) for a in u.margin.walletsOf(omnibus_m)]
    assert [str(a) for a in u.margin.walletsOf(omnibus_b)] == [omnibus_b, c.address]
    assert omnibus_b in [str(a) for a in u.margin.accountsOf(member_b)]
    assert not u.margin.revaluationOf(omnibus_m)[0]

    total: dict[int, int] = {}
    for wallet in u.margin.walletsOf(omnibus_b):
        pids, qty, *_ = u.margin.positionsOf(wallet)
        for sid in map(int, pids):
            q, *_ = u.source.openObligation(wallet, sid)
            total[sid] = total.get(sid, 0) + int(q)
    assert all(total[int(s)] >= 400 for s in ids)
    u.margin.refreshMargin(omnibus_b, sender=u.ccp)
    assert margin_status(u.margin, omnibus_b).initial_margin == _model_im(u, total) > 0

