"""The keeper's recalibration of the published scenarios with the members' books (issue #22).

After each day's margin run: every account's net position in the open cycles, at the last
settlement prices, is a book (:func:`smartccp.risk.recalibration.member_books`); the published
model is calibrated with those books on the securities' histories
(:func:`smartccp.ops.deploy.security_history`) continued by the deployment's own settlement
prices (:func:`history`). A change to the scenarios goes through the timelock (only it may narrow a
scenario): proposed by the governor and published by a later run once its delay has passed
(anyone may execute); without a timelock the operator publishes it at once. Nothing is sent
when the scenarios would not change. The proposals are kept in the ops journal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from smartccp.chain.governance import Proposal, admin_apply, call_proposal, execute, propose, ready_at
from smartccp.clearing.ccp import obligations
from smartccp.ops.daily import Operations, Outcome
from smartccp.ops.deploy import deployment_model, security_history
from smartccp.risk.recalibration import member_books, recalibration


def recalibrate(ops: Operations) -> Outcome:
    """Publish a proposed recalibration whose delay has passed, else propose (or, without a
    timelock, publish) cycle k's after its margin run (see the module docstring); once per
    cycle. Returns what it did or why it did nothing."""
    k, r, op = ops.today(), ops.dep.risk, "recalib"
    if r is None:
        return Outcome(op, False, "no risk contracts in this deployment")
    for c, rec in ops.journal.cycles.items():
        if rec.get("recalibration", {}).get("proposals") and not rec["recalibration"].get("published"):
            return _publish(ops, int(c), rec["recalibration"])
    day = ops.journal.cycle(k)
    if "recalibration" in day:
        return Outcome(op, False, f"cycle {k}'s recalibration already done")
    if "margin" not in day:
        return Outcome(op, False, f"waiting for cycle {k}'s margin run")
    sids = [ops.dep.security_ids[sec.symbol] for sec in ops.spec.securities]
    prices = {sid: int(r.margin.securityRisk(sid)[0]) for sid in sids}
    books = member_books(open_positions(ops), prices, sids)
    calls, _ = recalibration(r.margin, sids, history(ops, sids), books, deployment_model(ops.spec))
    calls = [c for c in calls if [int(x) for x in r.margin.scenariosOf(c[2][0])] != c[2][1]]
    day["recalibration"] = {"books": len(books), "changed": len(calls)}
    if not calls:
        ops.journal.save()
        return Outcome(op, False, f"{len(books)} books: the scenarios stay as published")
    timelock = ops.dep.timelock
    if timelock is None:
        admin_apply(ops.dep.account("operator"), calls)
        day["recalibration"]["published"] = True
        ops.journal.save()
        return Outcome(op, True, f"{len(books)} books: scenarios of {len(calls)} securities published", len(calls))
    proposals = [call_proposal(c, m, *a, salt=f"recalibration:{k}:{i}") for i, (c, m, a) in enumerate(calls)]
    for p in proposals:
        propose(timelock, p, ops.dep.account("governor"))
    ready = max(ready_at(timelock, p) for p in proposals)
    day["recalibration"].update(ready_at=ready, published=False, proposals=[
        {"target": p.target, "data": p.data.hex(), "salt": p.salt.hex()} for p in proposals])
    ops.journal.save()
    return Outcome(op, True, f"{len(books)} books: scenarios of {len(calls)} securities proposed, "
                             f"published from {ready}", len(proposals))


def _publish(ops: Operations, k: int, rec: dict[str, Any]) -> Outcome:
    """Execute cycle ``k``'s proposed recalibration once the timelock's delay has passed."""
    if not ops.clock.due(rec["ready_at"]):
        return ops._too_early("recalib", rec["ready_at"], f"cycle {k}'s recalibration is published")
    for p in rec["proposals"]:
        execute(ops.dep.timelock, Proposal(target=p["target"], data=bytes.fromhex(p["data"]),
                                            salt=bytes.fromhex(p["salt"])), ops.dep.account("keeper"))
    rec["published"] = True
    ops.journal.save()
    return Outcome("recalib", True, f"cycle {k}'s recalibration published ({len(rec['proposals'])} securities)",
                   len(rec["proposals"]))


def open_positions(ops: Operations) -> dict[str, dict[int, int]]:
    """Account -> security -> net quantity over the traded cycles not yet settled."""
    positions: dict[str, dict[int, int]] = {}
    for c, _ in ops.open_cycles():
        for o in obligations(ops.s.ccp, c):
            book = positions.setdefault(o.account, {})
            book[o.security_id] = book.get(o.security_id, 0) + o.quantity
    return positions


def history(ops: Operations, security_ids: list[int]) -> np.ndarray:
    """The securities' histories (:func:`smartccp.ops.deploy.security_history`) continued by
    the deployment's own settlement prices (the journal's, every cycle that published all of
    them, in order): each new row moves every column by its security's price ratio to the first
    such cycle, so the calibration sees the market's own moves since it opened."""
    base = security_history(ops.spec)
    rows = []
    for k in sorted(ops.journal.cycles, key=int):
        prices = ops.journal.cycles[k].get("prices", {})
        if all(str(sid) in prices for sid in security_ids):
            rows.append([int(prices[str(sid)]) for sid in security_ids])
    if not rows:
        return base
    live = np.asarray(rows, dtype=float)
    return np.vstack([base, base[-1] * live / live[0]])
