"""A participant's process for the external-node day test (tests/e2e/test_external_nodes.py):
``python tests/e2e/day_client.py <node url> <registry>``.

It reattaches to the deployment from its registry (a process of its own, as a member's system
would be), onboards two clearing members (the operator admits them, the bank and the issuer fund
them, they approve the CCP and the risk contracts and post margin and their fund contribution),
waits until the keeper has opened the session, crosses one trade in continuous trading, and
once the closing auction collects, sends one crossing pair into it. It prints one JSON line of
what it did. It never moves the node's clock: it only waits and polls.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ape import networks

TIMEOUT_S = 90


def main(url: str, registry: str) -> dict:
    from smartccp.chain.accounts import named_account
    from smartccp.chain.receipts import use_lean_client
    from smartccp.chain.system import admit, approve_settlement, fund
    from smartccp.ops.deploy import attach
    from smartccp.trading.orders import Order
    from smartccp.trading.venue import VenueClient
    from smartccp.types import Side, TradingPhase
    from smartccp.units import cash

    use_lean_client()
    dep = attach(Path(registry))
    s, r, sid = dep.system, dep.risk, dep.security_ids["ACME"]
    op, bank, issuer = dep.account("operator"), dep.account("bank"), dep.account("issuer")
    a, b = named_account("member_a"), named_account("member_b")
    admit(s, op, [a, b])
    fund(s, [a, b], bank=bank, issuer=issuer, cash=cash(1_000_000), units={sid: 10_000})
    approve_settlement(s, [a, b], r.margin, r.fund)
    r.fund.setRequiredContributions([a.address, b.address], [cash(100)] * 2, sender=dep.account("risk"))
    for m in (a, b):
        r.margin.depositCash(cash(50_000), sender=m)
        r.fund.contribute(cash(100), sender=m)
    venue, client = s.venues[0], VenueClient(s.venues[0])

    def phase() -> TradingPhase:
        return TradingPhase(int(venue.phaseOf(sid)))

    def wait_for(*wanted: TradingPhase) -> TradingPhase:
        deadline = time.time() + TIMEOUT_S
        while (p := phase()) not in wanted:
            if time.time() > deadline:
                raise TimeoutError(f"the venue stayed {p.name}; wanted {[w.name for w in wanted]}")
            time.sleep(0.2)
        return p

    def order(who, side: Side, qty: int, price: str) -> Order:
        return Order(owner=str(who.address), securityId=sid, side=side, quantity=qty, price=cash(price))

    done = {"members": [str(a.address), str(b.address)], "continuous": None, "auction": None}
    seen = wait_for(TradingPhase.CONTINUOUS, TradingPhase.PRE_CLOSE)
    client.place(order(b, Side.SELL, 100, "12.50"), b)
    receipt = client.place(order(a, Side.BUY, 100, "12.50"), a)
    done["continuous" if seen == TradingPhase.CONTINUOUS else "auction"] = len(client.trades(receipt))
    if phase() != TradingPhase.PRE_CLOSE:
        wait_for(TradingPhase.PRE_CLOSE, TradingPhase.CLOSED)
    if phase() == TradingPhase.PRE_CLOSE:
        client.place(order(a, Side.BUY, 50, "12.60"), a)
        client.place(order(b, Side.SELL, 50, "12.40"), b)
        done["auction"] = "sent"
    done["balances"] = {str(m.address): int(s.cash.balanceOf(m)) for m in (a, b)}
    return done


if __name__ == "__main__":
    url, registry = sys.argv[1], sys.argv[2]
    with networks.parse_network_choice(url):
        print(json.dumps(main(url, registry)))
