"""Benchmark of pseudonymous trading (issue #24), and the linkage report before and after.

In the trading benchmark's warm book (20 members, 100 resting orders, every member already
trading in the open cycle; :mod:`smartccp.bench.trade`), 20 pseudonyms are admitted on the
register's attestation (one per member, its identity record sealed to the CCP's and the
regulator's keys), funded by the settlement bank and the issuer, and trade once in the cycle too.
Then, in the same book:

- ``privacy.fill_overhead_gas``: the median gas of a fill of one maker between pseudonyms minus
  the same fill between members (goal < 10,000);
- ``privacy.fill_one_maker_gas``: that fill between pseudonyms;
- ``privacy.admit_pseudonym_gas``: ``admitPseudonym`` (attestation check, two ~190-byte ECIES
  ciphertexts in the event, the register entry pushed to its subscribers), median;
- ``privacy.trades_linked_share_before`` / ``_after``: the share of trades whose two sides the
  linkage test names (:mod:`smartccp.privacy.linkage`), for the members' trades and for the
  pseudonyms' trades of the run; ``privacy.addresses_linked_share_before`` / ``_after`` the same
  for trading addresses. The two reports are written to ``reports/linkage.json``.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from ape import chain

from smartccp.bench.core import BenchContext, Figures, goal, measurement
from smartccp.bench.trade import Market, fill_gas, open_market, seed_book
from smartccp.chain.system import approve_settlement, fund
from smartccp.privacy import pseudonyms
from smartccp.privacy.linkage import link
from smartccp.privacy.records import RecipientKey
from smartccp.privacy.stealth import StealthKeys
from smartccp.types import DAY, Side
from smartccp.units import cash

goal("privacy.fill_overhead_gas", "<=", 10_000)

LINKAGE_JSON = Path("reports/linkage.json")
CCP_KEY, REGULATOR_KEY = RecipientKey.from_seed("bench-ccp"), RecipientKey.from_seed("bench-regulator")


@measurement("privacy")
def privacy_gas(ctx: BenchContext) -> Figures:
    r = ctx.roles
    m = open_market(ctx, symbol="PRIV")
    system, sid = m.system, m.security_id
    pseudonyms.set_record_keys(system, r.operator, CCP_KEY, REGULATOR_KEY)
    before_start = chain.blocks.head.number + 1
    seed_book(m)
    before = link(system, before_start)

    expires = chain.pending_timestamp + 30 * DAY
    admitted, admit_gas = [], []
    for member in m.members:
        p = pseudonyms.new_pseudonym(system, r.operator, keys=StealthKeys.from_seed(f"bench:{member.address}"),
                                     label="day-1", owner=str(member.address), clearing_member=str(member.address),
                                     ccp=CCP_KEY.public, regulator=REGULATOR_KEY.public, expires_at=expires,
                                     gas_station=r.operator)
        admit_gas.append(int(p.admission.gas_used))
        fund(system, [p.account], bank=r.bank, issuer=r.issuer, cash=cash(10_000_000), units={sid: 100_000})
        approve_settlement(system, [p.account])
        admitted.append(p)
    members_fill = fill_gas(m, 1, ctx.repeats)
    pm = Market(system, sid, [p.account for p in admitted], m.client)
    after_start = chain.blocks.head.number + 1
    n = len(pm.members)
    for i in range(n):  # each pseudonym trades once in the cycle, as the members did
        pm.place(i, Side.SELL, cash("15.00"), 1)
        pm.place((i + 1) % n, Side.BUY, cash("15.00"), 1)
    pseudonyms_fill = fill_gas(pm, 1, ctx.repeats)
    after = link(system, after_start)
    LINKAGE_JSON.parent.mkdir(parents=True, exist_ok=True)
    LINKAGE_JSON.write_text(json.dumps({"before (members trade as themselves)": before.figures(),
                                        "after (members trade from pseudonyms)": after.figures()}, indent=2) + "\n")
    return {
        "privacy.fill_one_maker_gas": pseudonyms_fill,
        "privacy.fill_overhead_gas": pseudonyms_fill - members_fill,
        "privacy.admit_pseudonym_gas": int(statistics.median(admit_gas)),
        "privacy.trades_linked_share_before": before.trade_share(),
        "privacy.trades_linked_share_after": after.trade_share(),
        "privacy.addresses_linked_share_before": before.address_share(),
        "privacy.addresses_linked_share_after": after.address_share(),
    }
