"""The daily operations on ape's local chain: each refuses before its time (nothing sent), acts
when due, and does nothing when run twice. The test moves the chain's clock (``at``); the
operations never do (their Clock only reads it)."""

from __future__ import annotations

import pytest
from ape import chain

from smartccp.ops.clock import Clock
from smartccp.ops.daily import Operations
from smartccp.ops.keeper import Keeper
from smartccp.ops.recalibrate import open_positions, recalibrate
from smartccp.risk.chain import margin_status
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import CyclePhase, Side, TradingPhase
from smartccp.units import cash


def at(t: int) -> None:
    """Move the local chain's clock to ``t`` (the test's time travel, not the operations')."""
    if chain.pending_timestamp < t:
        chain.pending_timestamp = t
        chain.mine()


def start_of_next_cycle(ops: Operations) -> int:
    k = ops.today() + 1
    at(k * ops.spec.cycle_length)
    return k


@pytest.fixture
def ops(ops_deployed, tmp_path):
    return Operations(ops_deployed.attach(tmp_path), Clock(warp=False))


def head() -> int:
    return chain.blocks.head.number


def phases(ops: Operations) -> set[TradingPhase]:
    return {ops._phase(v, sid) for _, v, sid in ops._markets()}


def trade(ops: Operations, buyer, seller, qty: int = 100, price: str = "12.50") -> None:
    venue = VenueClient(ops.s.venues[0])
    sid = ops.dep.security_ids["ACME"]
    venue.place(Order(owner=str(seller.address), securityId=sid, side=Side.SELL, quantity=qty, price=cash(price)), seller)
    venue.place(Order(owner=str(buyer.address), securityId=sid, side=Side.BUY, quantity=qty, price=cash(price)), buyer)


def test_session__each_step_waits_for_its_time_and_runs_once(ops):
    k = start_of_next_cycle(ops)
    spec = ops.spec
    before = head()
    assert not ops.close().did and "too early" in ops.close().message
    assert not ops.uncross().did and not ops.prices().did and not ops.margin().did
    assert head() == before, "an operation before its time sent a transaction"

    assert ops.open().did
    assert phases(ops) == {TradingPhase.CONTINUOUS}
    again = head()
    assert not ops.open().did and head() == again, "a second open sent something"

    at(spec.close_time(k))
    assert ops.close().did and phases(ops) == {TradingPhase.PRE_CLOSE}
    assert not ops.close().did
    assert "too early" in ops.uncross().message
    assert "too early" in ops.prices().message

    at(spec.auction_end(k))
    assert ops.uncross().did and phases(ops) == {TradingPhase.CLOSED}
    assert not ops.uncross().did
    assert not ops.open().did, "reopened after the day's auction"
    assert ops.prices().did, "no settlement price published (the reference price stands when nothing traded)"
    assert ops.margin().did
    quiet = head()
    assert not ops.prices().did and not ops.margin().did and head() == quiet


def test_settle__refused_before_the_cycle_ends__settles_after__then_nothing(ops, ops_deployed):
    a, b = ops_deployed.members
    k = start_of_next_cycle(ops)
    ops.open()
    trade(ops, a, b)
    [(cycle, settles_from)] = ops.open_cycles()
    assert cycle == k + 1 and settles_from == (k + 2) * ops.spec.cycle_length
    before = head()
    out = ops.settle()
    assert not out.did and "too early" in out.message and head() == before
    at(settles_from)
    out = ops.settle()
    assert out.did and "SETTLED" in out.message
    assert CyclePhase(int(ops.s.ccp.cycleInfo(cycle)[0])) == CyclePhase.SETTLED
    quiet = head()
    assert not ops.settle().did and head() == quiet


def test_declare__only_after_a_missed_calls_deadline(ops, ops_deployed, operator):
    a, b = ops_deployed.members
    r, sid = ops.dep.risk, ops.dep.security_ids["ACME"]
    start_of_next_cycle(ops)
    ops.open()
    trade(ops, a, b, qty=5_000)
    r.margin.publishPrices([sid], [cash("2.00")], sender=operator)  # a crash: member_a loses 52,500 on 5,000 units
    r.margin.refreshMargin(a, sender=operator)
    st = margin_status(r.margin, a)
    assert st.call_amount > 0, "the crash did not call member_a"
    assert not ops.declare().did, "declared before the call's deadline"
    at(st.call_deadline + 1)
    out = ops.declare()
    assert out.did and str(a.address) in out.message
    assert int(r.fund.defaultOf(a)[0]) == 1  # MissedMarginCall
    assert not ops.declare().did
    assert not ops.declare(str(a.address)).did, "declared twice"


def test_keeper__runs_a_day_to_settlement_with_a_moved_clock(ops_deployed, tmp_path):
    a, b = ops_deployed.members
    ops = Operations(ops_deployed.attach(tmp_path), Clock(warp=True))
    k = start_of_next_cycle(ops)
    keeper = Keeper(ops)
    keeper.pass_once()
    assert [o.op for o in keeper.log.actions] == ["open"]
    trade(ops, a, b)
    log = keeper.run(until=lambda: not ops.open_cycles(), max_passes=20)
    done = [o.op for o in log.actions]
    for op in ("open", "close", "uncross", "prices", "margin", "settle"):
        assert op in done, f"the keeper never ran {op}: {done}"
    assert CyclePhase(int(ops.s.ccp.cycleInfo(k + 1)[0])) == CyclePhase.SETTLED
    assert ops.clock.now() >= (k + 2) * ops.spec.cycle_length


def test_ops__a_registry_from_another_chain__refused(ops_deployed, tmp_path):
    import json

    from smartccp.ops.deploy import DeploymentError, attach

    path = tmp_path / "other.json"
    data = json.loads(ops_deployed.registry.read_text())
    data["meta"]["chain_id"] = 1
    path.write_text(json.dumps(data))
    with pytest.raises(DeploymentError, match="wrong network"):
        attach(path)
    with pytest.raises(FileNotFoundError, match="ape run deploy"):
        attach(tmp_path / "missing.json")


def test_recalibrate__after_the_margin_run__books_and_the_days_price__published__then_unchanged_sends_nothing(
        ops, ops_deployed):
    from smartccp.ops import recalibrate as module
    from smartccp.ops.deploy import deployment_model, security_history
    from smartccp.risk.recalibration import member_books, recalibration

    a, b = ops_deployed.members
    r, sid = ops.dep.risk, ops.dep.security_ids["ACME"]
    original = [int(x) for x in r.margin.scenariosOf(sid)]
    k = start_of_next_cycle(ops)
    ops.open()
    assert not recalibrate(ops).did and "waiting for cycle" in recalibrate(ops).message
    before = open_positions(ops)
    trade(ops, a, b, qty=100)
    after = open_positions(ops)
    assert after[str(a.address)][sid] - before.get(str(a.address), {}).get(sid, 0) == 100
    assert after[str(b.address)][sid] - before.get(str(b.address), {}).get(sid, 0) == -100
    at(ops.spec.close_time(k))
    ops.close()
    at(ops.spec.auction_end(k))
    ops.uncross(), ops.prices(), ops.margin()
    try:
        # The history now goes on with the day's settlement price: a new calibration, published at
        # once by the operator (this deployment has no timelock).
        grown = module.history(ops, [sid])
        assert grown.shape[0] == security_history(ops.spec).shape[0] + 1
        out = recalibrate(ops)
        assert out.did and out.txs == 1 and "published" in out.message
        books = member_books(after, {sid: int(r.margin.securityRisk(sid)[0])}, [sid])
        _, shocks = recalibration(r.margin, [sid], grown, books, deployment_model(ops.spec))
        assert [int(x) for x in r.margin.scenariosOf(sid)] == [int(x) for x in shocks[0]]
        assert "already done" in recalibrate(ops).message
        ops.journal.cycle(k).pop("recalibration")
        quiet = head()
        out = recalibrate(ops)  # the same books and history: nothing to change, nothing sent
        assert not out.did and "stay as published" in out.message and head() == quiet
    finally:
        r.margin.publishScenarios(sid, original, sender=ops.dep.account("operator"))
