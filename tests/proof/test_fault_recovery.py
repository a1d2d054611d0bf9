"""Fault recovery: a node crash in the middle of a trading day.

The drill runs on an anvil process of its own (``smartccp.proof.recovery.AnvilNode``, a free port,
``--dump-state FILE``, chain id 1337), with ape connected to it by URL
(``networks.parse_network_choice("ethereum:local:<url>")``). Half a day of
orders is placed and checkpointed (``anvil_dumpState``, written to the state file); two more
orders go in and the node is killed with SIGKILL, which writes nothing: those two orders are
lost. The node restarts with ``--load-state``; ape reattaches to the system through the registry
(``System.load``); the drill resumes from what the chain says is done (an order step is done when
its nonce is used): the checkpointed half is skipped, the lost orders and the rest of the day are
placed, the cycles are settled, and every invariant holds — rebuilt from the logs of block 0,
which the dump keeps. Re-running the drill or a settled cycle sends nothing. Finally a graceful
stop (SIGTERM) dumps on exit and a restart finds the very same block.
"""

from __future__ import annotations

import signal
from dataclasses import replace
from pathlib import Path

from proof_world import HOUR, World, build_world

from smartccp.chain.system import System
from smartccp.clearing.ccp import check_ccp_empty, run_cycle, supplies
from smartccp.proof.invariants import Expectation, InvariantSuite, SignedOrder
from smartccp.proof.recovery import AnvilNode, order_step, run_drill, settle_step
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY, Side

NONCE_BASE = 7_000_000


def day_orders(world: World) -> list[tuple[str, Order, object]]:
    """The day's order flow: (step name, order with a fixed nonce, signer)."""
    a, b, x, c, d = world.traders
    acme, gov = world.securities
    flow = [
        (a, acme, Side.SELL, 100, 1_000), (b, acme, Side.BUY, 60, 1_000), (c, acme, Side.BUY, 50, 1_001),
        (x, acme, Side.SELL, 30, 999), (d, gov, Side.SELL, 40, 100), (b, gov, Side.BUY, 25, 101),
        # -- checkpoint here --
        (c, gov, Side.BUY, 20, 100), (a, acme, Side.SELL, 20, 1_002),  # lost in the crash
        (d, acme, Side.BUY, 40, 1_002), (x, gov, Side.BUY, 5, 102), (b, acme, Side.SELL, 10, 998),
    ]
    out = []
    for i, (who, sec, side, qty, ticks) in enumerate(flow):
        order = Order(owner=str(who.address), securityId=sec.sid, side=side, quantity=qty, price=ticks * sec.tick,
                      nonce=NONCE_BASE + i)
        out.append((f"order {i}", order, who))
    return out


def rebind(world: World, system: System) -> World:
    """The same world, with contract handles from the registry (after a restart)."""
    return replace(world, system=system, market=system.extra["MockCloseOutMarket"],
                   handler=system.extra["MockDefaultHandler"])


def invariants(world: World, orders) -> InvariantSuite:  # noqa: ANN001
    """Check every invariant the drill can state without a book model: conservation, custody,
    flat cycles, signed trades, no overfill, the CCP holding custody only."""
    client = VenueClient(world.system.venue)
    signed = {client.hash(o): SignedOrder(o.owner, o.securityId, int(o.side), o.quantity, o.price)
              for _, o, _ in orders}
    suite = InvariantSuite(world.system, world.sids, start_block=0)
    suite.check(Expectation(world.sids, orders=signed), cycles=cycles_of(world))
    return suite


def cycles_of(world: World) -> list[int]:
    ccp = world.system.ccp
    return [c for c in {int(ccp.settlementCycle(s)[0]) for s in world.sids} if int(ccp.cycleInfo(c)[2])]


def test_crash_mid_day__restart_from_dump__drill_resumes_and_settles(tmp_path: Path, accounts, chain, project, networks):
    state, registry_file = tmp_path / "anvil-state.json", tmp_path / "registry.json"
    # Periodic dumps every hour (in effect off during the test): only the explicit checkpoint
    # survives the crash, so what is lost is deterministic. A production node would dump often.
    node = AnvilNode(state, state_interval=3_600, log_file=tmp_path / "anvil.log").start()
    restarted = final = None
    try:
        # ── the morning, then a crash ──
        with networks.parse_network_choice(f"ethereum:local:{node.url}"):
            world = build_world(accounts, chain, project, warp=lambda ts: node.rpc.call("evm_mine", [ts]))
            world.system.save(registry_file)
            orders = day_orders(world)
            steps = [order_step(n, world.system.venue, o, s) for n, o, s in orders]
            assert run_drill(steps[:6]).performed == [n for n, _, _ in orders[:6]]
            checkpoint = node.checkpoint()
            assert run_drill(steps[6:8]).performed == ["order 6", "order 7"]
            supply = supplies(world.system, world.sids)
            invariants(world, orders[:8])
        assert node.block_number() > checkpoint
        node.stop(signal.SIGKILL)  # a crash: no dump on the way out

        # ── restart from the dump, reattach through the registry, resume ──
        restarted = AnvilNode(state, load=True, log_file=tmp_path / "anvil.log").start()
        assert restarted.block_number() == checkpoint, "the crash lost what came after the checkpoint"
        with networks.parse_network_choice(f"ethereum:local:{restarted.url}"):
            world = rebind(world, System.load(registry_file))
            steps = [order_step(n, world.system.venue, o, s) for n, o, s in orders]
            report = run_drill(steps)
            assert report.skipped == [n for n, _, _ in orders[:6]]  # done before the checkpoint
            assert report.performed == [n for n, _, _ in orders[6:]]  # lost, then the rest of the day
            invariants(world, orders)
            cycles = sorted(cycles_of(world))
            assert len(cycles) == 2  # ACME T+0, GOV5 T+1
            restarted.rpc.call("evm_mine", [(cycles[-1] + 1) * DAY + HOUR // 2])
            settle = [settle_step(f"settle {c}", world.system.ccp, c, world.keeper) for c in cycles]
            assert run_drill(settle).performed == [f"settle {c}" for c in cycles]
            invariants(world, orders)
            check_ccp_empty(world.system.ccp, world.system, world.sids)
            assert supplies(world.system, world.sids) == supply
            # Re-running the drill, a settlement step or a settled cycle sends nothing.
            block = restarted.block_number()
            assert run_drill(steps + settle).performed == []
            assert all(run_cycle(world.system.ccp, c, world.keeper).transactions == 0 for c in cycles)
            assert restarted.block_number() == block
        restarted.stop(signal.SIGTERM)  # graceful: anvil dumps its state on exit

        final = AnvilNode(state, load=True, log_file=tmp_path / "anvil.log").start()
        assert final.block_number() == block
        with networks.parse_network_choice(f"ethereum:local:{final.url}"):
            world = rebind(world, System.load(registry_file))
            invariants(world, orders)
            assert run_drill([order_step(n, world.system.venue, o, s) for n, o, s in orders]).performed == []
    finally:
        for n in (node, restarted, final):
            if n is not None:
                n.stop(signal.SIGKILL)
