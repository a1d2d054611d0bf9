"""Benchmark of the life of a security (issue #21): cash distributions (``Distributions.sol``)
paid pull-based from the depository's record-date balances.

- ``life.declare_distribution_gas_10_holders`` / ``_10000_holders``: ``Distributions.declare`` on a
  security held by 10 and by 10,000 admitted holders (one unit each, issued in bulk raw
  transactions), and ``life.declare_distribution_10000_vs_10_holders_ratio`` (goal <= 1.05: a
  declaration touches no holder).
- ``life.claim_gas``: a holder's first claim of one distribution (its pointer written from zero,
  the cash paid into a balance it already has); the holder moved units after the record date, so
  its balance at it comes from a checkpoint. ``life.claim_gas_per_further_event``: the extra gas
  of a claim that collects 5 distributions over the claim of 1 (two holders in the same state but
  for the number of distributions), per further distribution (goal <= 10,000).
- ``life.transfer_first_after_record_gas`` / ``life.transfer_no_record_gas``: a holder's transfer
  of a security whose record date just passed (its balance at the record date kept: one
  checkpoint each side) against one of a security without record dates.

Gas is ``receipt.gas_used`` of the whole transaction.
"""

from __future__ import annotations

import statistics

from ape import chain
from eth_utils import keccak, to_checksum_address

from smartccp.bench.core import BenchContext, Figures, measurement
from smartccp.chain.rpc import Rpc
from smartccp.chain.system import (
    admit,
    approve_settlement,
    deploy_system,
    kyc_expiry,
    list_security,
)
from smartccp.lifecycle import distributions as ld
from smartccp.risk.chain import deploy_risk
from smartccp.scale.market import SETUP_GAS
from smartccp.scale.raw import Abi, RawSender, Tx
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY, MAX_UINT, ZERO_ADDRESS
from smartccp.units import cash

HOLDERS = (10, 10_000)
FURTHER = 5


def _holders(n: int, tag: str) -> list[str]:
    """``n`` reproducible addresses (no keys needed: they only hold)."""
    return [to_checksum_address(keccak(text=f"smartccp-life:{tag}:{i}")[-20:]) for i in range(n)]


@measurement("life")
def distributions(ctx: BenchContext) -> Figures:
    r = ctx.roles
    op, issuer, a, b = r.operator, r.issuer, r.member_a, r.member_b
    system = deploy_system(op, settlement_bank=r.bank, issuer=issuer)
    dist = ld.deploy_distributions(system, op)
    sec, cash_t, reg = system.securities, system.cash, system.membership
    sids = []
    for i, _ in enumerate(HOLDERS):
        sec.listSecurity(f"H{i}", f"LIFE0000000{i}".encode(), 0, cash("0.01"), 1, 0, sender=issuer)
        sids.append(int(sec.securityCount()))
    expiry = kyc_expiry()
    for m in (a, b):
        reg.admitClearingMember(m, expiry, sender=op)
    cash_t.issue(issuer, cash(100_000_000), sender=r.bank)
    for m in (a, b):
        cash_t.issue(m, cash(1_000), sender=r.bank)  # a cash balance already: a claim pays into it

    # 10 and 10,000 holders of one unit each, admitted and issued to in bulk.
    raw = RawSender(Rpc.connected(), chain.chain_id)
    sender_op, sender_issuer = raw.add_account(op), raw.add_account(issuer)
    reg_abi, sec_abi = Abi.of(reg), Abi.of(sec)
    everyone = _holders(max(HOLDERS), "holder")
    raw.bulk_mode(True)
    try:
        for i in range(0, len(everyone), 2_000):
            wave = [Tx(sender_op, str(reg.address), reg_abi.call("admitClearingMember", h, expiry), SETUP_GAS, None)
                    for h in everyone[i:i + 2_000]]
            if not all(x.status for x in raw.wave(wave)):
                raise RuntimeError("life: admitting the holders failed")
        for sid, n in zip(sids, HOLDERS, strict=True):
            for i in range(0, n, 2_000):
                wave = [Tx(sender_issuer, str(sec.address), sec_abi.call("issue", sid, h, 1), SETUP_GAS, None)
                        for h in everyone[i:min(n, i + 2_000)]]
                if not all(x.status for x in raw.wave(wave)):
                    raise RuntimeError("life: issuing to the holders failed")
    finally:
        raw.bulk_mode(False)
    for sid in sids:  # the two members hold some of each, to move and claim
        for m in (a, b):
            sec.issue(sid, m, 100, sender=issuer)

    now = chain.pending_timestamp
    # A first declaration on another security leaves the contract holding escrow: the measured
    # ones both find its cash balance non-zero.
    sec.listSecurity("WARM", b"LIFE00000098", 0, cash("0.01"), 1, 0, sender=issuer)
    warm = int(sec.securityCount())
    sec.issue(warm, a, 1, sender=issuer)
    ld.declare(dist, cash_t, issuer, warm, now + DAY, now + 2 * DAY, cash("0.10"), 1)
    declared = {}
    for sid, n in zip(sids, HOLDERS, strict=True):
        receipt = ld.declare(dist, cash_t, issuer, sid, now + DAY, now + 2 * DAY, cash("0.10"), n + 200)
        declared[n] = int(receipt.gas_used)

    # Claims: FURTHER distributions of the small security; a moves units after each record date
    # (its balances come from checkpoints), b after the first only.
    small = sids[0]
    chain.pending_timestamp = now + DAY + 1
    chain.mine()
    first_after = int(sec.safeTransferFrom(a, b, small, 1, b"", sender=a).gas_used)
    t = now + DAY + 1
    for k in range(1, FURTHER):
        t += 2 * DAY
        ld.declare(dist, cash_t, issuer, small, t, t + DAY // 2, cash("0.10"), int(sec.totalSupply(small)))
        chain.pending_timestamp = t + 1
        chain.mine()
        sec.safeTransferFrom(a, b, small, 1, b"", sender=a)
    chain.pending_timestamp = t + DAY
    chain.mine()
    one = int(dist.claim(small, b, 1, sender=b).gas_used)  # b collects the first only...
    many = int(dist.claim(small, a, FURTHER, sender=a).gas_used)  # ...a all five at once
    # A security without record dates, for the transfer's baseline.
    sec.listSecurity("PLAIN", b"LIFE00000099", 0, cash("0.01"), 1, 0, sender=issuer)
    plain = int(sec.securityCount())
    for m in (a, b):
        sec.issue(plain, m, 100, sender=issuer)
    no_record = int(sec.safeTransferFrom(a, b, plain, 1, b"", sender=a).gas_used)
    return {
        "life.declare_distribution_gas_10_holders": declared[HOLDERS[0]],
        "life.declare_distribution_gas_10000_holders": declared[HOLDERS[1]],
        "life.declare_distribution_10000_vs_10_holders_ratio": round(declared[HOLDERS[1]] / declared[HOLDERS[0]], 4),
        "life.claim_gas": one,
        "life.claim_gas_5_events": many,
        "life.claim_gas_per_further_event": round((many - one) / (FURTHER - 1)),
        "life.transfer_first_after_record_gas": first_after,
        "life.transfer_no_record_gas": no_record,
    }


@measurement("life.interest")
def interest(ctx: BenchContext) -> Figures:
    """Interest on cash collateral. ``life.interest_accrual_gas_per_touch``: a cash deposit into an
    account whose interest accrues (5 % a year published, 30 days since its last touch) against
    the same deposit into an account in the same state without interest (rate 0): the index
    growth, the accrual and its booking in the account's one cash slot. Both read the rate's one
    slot (2,100 gas cold, once per transaction, on top). ``life.claim_interest_gas``: a claim
    paid by the interest account. ``life.prefund_interest_accrual_gas``: the same for cash
    pre-funded in the CCP (``prefundCash``: the source's index read from Margin, one call, and
    the account's earning slot written), against a CCP without an interest source;
    ``life.claim_prefund_interest_gas``: its claim. Settlement never accrues (no figure moves)."""
    r = ctx.roles
    op, a, b = r.operator, r.member_a, r.member_b
    system = deploy_system(op, settlement_bank=r.bank, issuer=r.issuer)
    admit(system, op, (a, b))
    risk = deploy_risk(system, op, resync=[a, b])
    margin = risk.margin
    for m in (a, b, r.bank):
        system.cash.issue(m, cash(1_000_000), sender=r.bank)
        system.cash.approve(margin, MAX_UINT, sender=m)
        system.cash.approve(system.ccp, MAX_UINT, sender=m)
    margin.setInterestPayer(r.bank, sender=op)

    def deposits(rate_bps: int) -> list[int]:
        snap = chain.snapshot()
        margin.setInterestRate(rate_bps, sender=op)
        margin.depositCash(cash(100_000), sender=a)
        gas = []
        for _ in range(ctx.repeats):
            chain.pending_timestamp += 30 * DAY
            gas.append(int(margin.depositCash(cash(1_000), sender=a).gas_used))
        claim = int(margin.claimInterest(a, sender=a).gas_used) if rate_bps else None
        chain.restore(snap)
        return gas + [claim]

    def prefunds(source: bool) -> list[int]:
        snap = chain.snapshot()
        margin.setInterestRate(500, sender=op)
        if not source:
            system.ccp.setInterestSource(ZERO_ADDRESS, sender=op)
        system.ccp.prefundCash(cash(100_000), sender=a)
        gas = []
        for _ in range(ctx.repeats):
            chain.pending_timestamp += 30 * DAY
            gas.append(int(system.ccp.prefundCash(cash(1_000), sender=a).gas_used))
        claim = int(system.ccp.claimPrefundInterest(sender=a).gas_used) if source else None
        chain.restore(snap)
        return gas + [claim]

    with_interest, without = deposits(500), deposits(0)
    accruing = int(statistics.median(with_interest[:-1]))
    plain = int(statistics.median(without[:-1]))
    prefund_with, prefund_without = prefunds(True), prefunds(False)
    return {
        "life.interest_accrual_gas_per_touch": accruing - plain,
        "life.deposit_cash_with_interest_gas": accruing,
        "life.claim_interest_gas": with_interest[-1],
        "life.prefund_interest_accrual_gas": int(statistics.median(prefund_with[:-1]))
        - int(statistics.median(prefund_without[:-1])),
        "life.claim_prefund_interest_gas": prefund_with[-1],
    }


@measurement("life.compression")
def compression(ctx: BenchContext) -> Figures:
    """Compression across open cycles (``CCPSettlement.compress``). One T+2 security: on day D
    a and c each buy 10 from b (cycle D+2), on day D+1 each sells 6 back (cycle D+3).
    ``life.compress_gas``: a compression (the receipt's position flagged, the two kept counters
    written from zero; the median of a's and c's)."""
    r = ctx.roles
    op, a, b, c = r.operator, r.member_a, r.member_b, r.outsider  # c: a third member here
    day = chain.pending_timestamp // DAY + 1
    chain.pending_timestamp = day * DAY + 3_600
    chain.mine()
    system = deploy_system(op, settlement_bank=r.bank, issuer=r.issuer)
    admit(system, op, (a, b, c))
    system.securities.listSecurity("CMP", b"LIFECOMPRESS", 0, cash("0.01"), 1, 0, sender=r.issuer)
    sid = int(system.securities.securityCount())
    list_security(system, op, sid, lag_days=2)
    for m in (a, b, c):
        system.securities.issue(sid, m, 100, sender=r.issuer)
        system.cash.issue(m, cash(100_000), sender=r.bank)
    approve_settlement(system, (a, b, c))
    client = VenueClient(system.venue)
    for m in (a, c):
        client.cross(b, m, sid, 10, cash("100.00"))
    chain.pending_timestamp = (day + 1) * DAY + 3_600
    chain.mine()
    for m in (a, c):
        client.cross(m, b, sid, 6, cash("100.00"))
    gas = [int(system.ccp.compress(m, sid, day + 2, day + 3, sender=m).gas_used) for m in (a, c)]
    return {"life.compress_gas": int(statistics.median(gas))}
