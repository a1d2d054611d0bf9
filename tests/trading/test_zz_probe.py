from collections import Counter
from smartccp.orders import Side
from smartccp.units import cash

def test_probe(venue, client, place, member_a, member_b, market, chain):
    for i in range(10):
        place(member_a, Side.SELL, 100, cash("20.00") + (i % 5) * cash("0.01"))
    r = place(member_a, Side.SELL, 100, cash("20.01"))
    print("gas", r.gas_used)
    tr = chain.provider.make_request("debug_traceTransaction", [r.txn_hash, {"enableMemory": False, "disableStack": False}])
    logs = tr["structLogs"]
    by = Counter(); cnt = Counter()
    for l in logs:
        by[l["op"]] += l["gasCost"]; cnt[l["op"]] += 1
    print("exec total", sum(by.values()), "steps", len(logs))
    for op, g in by.most_common(18):
        print(f"{op:14s} {g:7d} x{cnt[op]}")
    # sstore detail
    for idx, l in enumerate(logs):
        if l["op"] in ("SSTORE", "SLOAD") and l["gasCost"] >= 2100:
            print(l["op"], l["gasCost"], "slot", l["stack"][-1][-8:], "pc", l["pc"], "depth", l["depth"])
        if l["op"] in ("STATICCALL", "CALL", "DELEGATECALL"):
            print(l["op"], "to", l["stack"][-2][-8:], "depth", l["depth"])

def test_calldata(venue, client, place, member_a, market, chain):
    r = place(member_a, Side.SELL, 100, cash("20.01"))
    tx = chain.provider.web3.eth.get_transaction(r.txn_hash)
    data = bytes(tx["input"])
    nz = sum(1 for b in data if b); z = len(data) - nz
    print("len", len(data), "nonzero", nz, "zero", z, "cost", nz*16 + z*4, "type", tx.get("type"), "accessList", tx.get("accessList"))
