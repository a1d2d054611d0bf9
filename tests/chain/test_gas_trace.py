"""The gas breakdown from the node's opcode trace (smartccp.chain.gas_trace), used by the benchmark."""

from __future__ import annotations

from ape import chain

from smartccp.chain import gas_trace


def step(op: str, gas: int, cost: int, depth: int = 1) -> dict:
    return {"op": op, "gas": gas, "gasCost": cost, "depth": depth}


def test_own_costs__call__counts_only_what_the_caller_pays():
    # The caller has 1,000 left, calls (the trace shows the 900 handed over as its cost), the
    # callee spends 2,100 + 3 in two steps, and the caller goes on with 1,000 - 2,700 - 2,103.
    steps = [
        step("PUSH1", 10_000, 3),
        step("CALL", 9_997, 9_000),
        step("SLOAD", 8_900, 2_100, depth=2),
        step("STOP", 6_800, 0, depth=2),
        step("POP", 9_997 - 2_700 - 2_100, 2),
    ]
    assert gas_trace.own_costs(steps) == [3, 2_700, 2_100, 0, 2]


def test_own_costs__precompile_call__counts_whole():
    steps = [step("STATICCALL", 5_000, 4_900), step("POP", 1_900, 2)]  # ecrecover: no callee steps
    assert gas_trace.own_costs(steps) == [3_100, 2]


def test_breakdown__erc20_transfers__parts_add_up_to_gas_used(project, operator, accounts):
    token = project.MockPlainERC20.deploy(sender=operator)
    holder, other = accounts[8], accounts[9]
    token.mint(holder, 100, sender=operator)
    first = token.transfer(other, 60, sender=holder)  # a new balance slot for `other`
    emptying = token.transfer(other, 40, sender=holder)  # clears `holder`'s slot: a refund
    for receipt in (first, emptying):
        parts = gas_trace.breakdown(chain.provider, receipt.txn_hash)
        assert parts is not None and set(parts) == set(gas_trace.CATEGORIES)
        spent = sum(v for k, v in parts.items() if k != "refund")
        assert spent - parts["refund"] == receipt.gas_used
        assert parts["logs"] > 0 and parts["storage_read"] > 0 and parts["compute"] > 0
    assert gas_trace.breakdown(chain.provider, first.txn_hash)["storage_write"] >= 20_000
    assert gas_trace.breakdown(chain.provider, emptying.txn_hash)["refund"] > 0


def test_attribute__callee_code_and_new_slots_apart__precompile_stays_with_the_caller():
    b = "0x" + "bb" * 20
    steps = [
        {**step("PUSH1", 50_000, 3), "stack": []},
        {**step("CALL", 49_997, 40_000), "stack": ["0x0", "0x0", "0x0", "0x0", "0x0", "0x" + "bb" * 20, "0x9c40"]},
        {**step("SSTORE", 39_000, 22_100, depth=2), "stack": []},  # a slot written from zero
        {**step("SSTORE", 16_900, 2_900, depth=2), "stack": []},
        {**step("STOP", 14_000, 0, depth=2), "stack": []},
        {**step("STATICCALL", 23_000, 20_000), "stack": ["0x0", "0x0", "0x0", "0x0", "0x1", "0x4e20"]},  # ecrecover
        {**step("POP", 20_000, 2), "stack": []},
    ]
    out = gas_trace.attribute(steps, "0x" + "aa" * 20, {b: "B"})
    assert out["B"] == {"storage_write": 25_000, "compute": 0, "new_slots": 1}
    assert out["0x" + "aa" * 20]["calls"] == (49_997 - 23_000 - 25_000) + 3_000
    assert gas_trace.spent(out["B"]) == 25_000
