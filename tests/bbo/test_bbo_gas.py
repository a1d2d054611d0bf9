"""Gas of routing across three venues and of top-of-book publishing (printed; run with -s)."""

from __future__ import annotations

from smartccp.bench.bbo import BboMarket, publish_overhead_gas, route_3_venues_gas
from smartccp.units import cash


def as_bench(mkt) -> BboMarket:
    return BboMarket(mkt.system, mkt.sid, mkt.bbo, mkt.client, mkt.vclients)


def test_gas__route_fills_three_makers_on_three_venues(mkt, member_a, member_b, member_c, client_a):
    gas = route_3_venues_gas(as_bench(mkt), [member_a, member_c, client_a], member_b, repeats=2)
    print(f"\nbbo.route_3_venues_gas = {gas:,}")
    assert gas < 1_000_000


def test_gas__publish_overhead_per_venue_operation(mkt, project, operator, member_a, member_b, member_c, client_a, chain):
    makers = [member_a, member_c, client_a, member_b]
    snap = chain.snapshot()
    on, off = publish_overhead_gas(as_bench(mkt), makers, operator, repeats=1)
    chain.restore(snap)
    snap = chain.snapshot()
    on_v, off_v = publish_overhead_gas(as_bench(mkt), makers, operator, repeats=1, changes_quote=False)
    chain.restore(snap)
    snap = chain.snapshot()
    on_u, off_u = publish_overhead_gas(as_bench(mkt), makers, operator, repeats=1, price=cash("8.99"))
    chain.restore(snap)
    # The venue's own share: the same placement pushing to a sink that does nothing.
    mkt.venues[0].setQuoteSink(project.MockNullQuoteSink.deploy(sender=operator), sender=operator)
    on_n, off_n = publish_overhead_gas(as_bench(mkt), makers, operator, repeats=1)
    print(f"\nplacement with the BBO as sink {on:,}, without a sink {off:,}: bbo.publish_overhead_gas = {on - off:,}")
    print(f"  of which the venue's own share (empty sink): {on_n - off_n:,}; the BBO's: {on - on_n:,}")
    print(f"venue top changes, consolidated quote does not: overhead {on_v - off_v:,}")
    print(f"venue top unchanged (placement behind its best bid): overhead {on_u - off_u:,}")
    assert 0 < on_n - off_n < on - off <= 15_000 and 0 < on_v - off_v <= 15_000  # issue #4's goal
    assert 0 < on_u - off_u < on - off
