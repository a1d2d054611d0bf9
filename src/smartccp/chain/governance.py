"""Timelocked changes: propose a call to the SmartCCP timelock, wait its public delay, execute.

The deployment hands ``DEFAULT_ADMIN_ROLE`` of every contract to a ``SmartCCPTimelock``
(OpenZeppelin's ``TimelockController``; :mod:`smartccp.ops.deploy`, stage ``governance``). Every
admin change then takes three steps, each a plain transaction:

1. :func:`propose` (a proposer): ``schedule`` the call; the timelock emits ``CallScheduled``, so
   the change is public from then on;
2. wait at least ``getMinDelay()`` seconds (on ape's local chain tests move the clock:
   :func:`wait_delay`);
3. :func:`execute` (anyone, the deployment names no executor): the timelock makes the call.

:func:`propose_grant` / :func:`propose_revoke` build the usual one, a role grant or revocation
on a SmartCCP contract. A :class:`Proposal` is the operation's identity: target, value, calldata,
predecessor and salt (``hashOperation`` of the timelock).

Scripts that must make admin changes on either kind of deployment (the demo, the drills) hold an
*admin*: the operator's account in a single-key setup, or a :class:`TimelockAdmin` (propose,
wait, execute) in a governed one, and send every admin call through :func:`admin_apply`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ape import chain
from eth_utils import keccak

ZERO32 = b"\x00" * 32


@dataclass(frozen=True)
class Proposal:
    """One timelocked call: ``target.call{value}(data)``, identified by ``salt`` (and
    ``predecessor``, an operation that must have run first, or zero)."""

    target: str
    data: bytes
    value: int = 0
    predecessor: bytes = ZERO32
    salt: bytes = ZERO32

    def args(self) -> tuple:
        """The arguments of ``schedule`` / ``execute`` without the delay."""
        return (self.target, self.value, self.data, self.predecessor, self.salt)

    def id(self, timelock: Any) -> bytes:
        """The operation id (``hashOperation``)."""
        return bytes(timelock.hashOperation(*self.args()))


def call_proposal(contract: Any, method: str, *args: Any, salt: bytes | str = ZERO32) -> Proposal:
    """A proposal to call ``contract.method(*args)`` through the timelock; ``salt`` (bytes32, or a
    text hashed to one) tells apart two proposals of the same call."""
    data = getattr(contract, method).encode_input(*args)
    salt_bytes = keccak(text=salt) if isinstance(salt, str) else salt
    return Proposal(target=str(contract.address), data=bytes(data), salt=salt_bytes)


def propose(timelock: Any, proposal: Proposal, proposer: Any, *, delay: int | None = None) -> Any:
    """Schedule ``proposal`` after ``delay`` seconds (default: the timelock's minimum, the
    shortest it accepts); returns the receipt (``CallScheduled``)."""
    wait = int(timelock.getMinDelay()) if delay is None else delay
    return timelock.schedule(*proposal.args(), wait, sender=proposer)


def execute(timelock: Any, proposal: Proposal, executor: Any) -> Any:
    """Execute a ready ``proposal`` (refused with ``TimelockUnexpectedOperationState`` before
    its time); returns the receipt (``CallExecuted``)."""
    return timelock.execute(*proposal.args(), sender=executor, value=proposal.value)


def ready_at(timelock: Any, proposal: Proposal) -> int:
    """Unix time from which ``proposal`` may be executed (0: not scheduled, 1: done)."""
    return int(timelock.getTimestamp(proposal.id(timelock)))


def wait_delay(timelock: Any, proposal: Proposal) -> None:
    """Move ape's local chain clock to the time ``proposal`` becomes ready (tests and local
    demos only; on a real network one waits)."""
    ready = ready_at(timelock, proposal)
    if ready > 1 and chain.pending_timestamp < ready:
        chain.pending_timestamp = ready
        chain.mine()


def propose_grant(timelock: Any, contract: Any, role_id: bytes, account: Any, proposer: Any) -> Proposal:
    """Propose ``contract.grantRole(role_id, account)``; returns the proposal to execute later."""
    p = call_proposal(contract, "grantRole", role_id, account)
    propose(timelock, p, proposer)
    return p


def propose_revoke(timelock: Any, contract: Any, role_id: bytes, account: Any, proposer: Any) -> Proposal:
    """Propose ``contract.revokeRole(role_id, account)``; returns the proposal to execute later."""
    p = call_proposal(contract, "revokeRole", role_id, account)
    propose(timelock, p, proposer)
    return p


def timelocked(timelock: Any, proposal: Proposal, proposer: Any, executor: Any | None = None) -> Any:
    """Propose, move the local clock past the delay, execute: the whole path in one call (the
    local demo and tests). Returns the execution's receipt."""
    propose(timelock, proposal, proposer)
    wait_delay(timelock, proposal)
    return execute(timelock, proposal, executor or proposer)


# ─── The admin of a governed deployment, for scripts ─────────────────────────────────────────

#: One admin call: (contract, method name, arguments).
AdminCall = tuple[Any, str, tuple]


@dataclass
class AdminChange:
    """What one :meth:`TimelockAdmin.apply` did: the proposals, the ``schedule`` receipts
    (``CallScheduled``), the earliest execution time and the ``execute`` receipts."""

    what: str
    proposals: list[Proposal]
    scheduled: list[Any]
    proposed_at: int
    ready_at: int
    executed: list[Any]


class TimelockAdmin:
    """The admin of a governed deployment as the demo and the drills use it: :meth:`apply`
    proposes admin calls (``proposer``, the governor's key), waits the timelock's public delay
    with ``wait(t, what)`` (a :class:`smartccp.ops.clock.Clock`'s ``wait_until``: the local chain's
    clock moved, a real node's waited out) and executes them (``executor``, default the proposer:
    the deployment lets anyone execute). Every change is kept in :attr:`changes`."""

    def __init__(self, timelock: Any, proposer: Any, wait: Any, *, executor: Any | None = None):
        self.timelock, self.proposer, self.wait = timelock, proposer, wait
        self.executor = executor or proposer
        self.changes: list[AdminChange] = []

    @property
    def delay(self) -> int:
        """The timelock's minimum delay, in seconds."""
        return int(self.timelock.getMinDelay())

    def propose(self, calls: list[AdminCall], what: str = "") -> AdminChange:
        """Schedule ``calls`` (one proposal each, salted apart); nothing is executed yet."""
        n = len(self.changes)
        proposals = [call_proposal(c, m, *args, salt=f"{what}:{n}:{i}:{chain.pending_timestamp}")
                     for i, (c, m, args) in enumerate(calls)]
        scheduled = [propose(self.timelock, p, self.proposer) for p in proposals]
        change = AdminChange(what, proposals, scheduled, int(chain.blocks.head.timestamp),
                             max(ready_at(self.timelock, p) for p in proposals), [])
        self.changes.append(change)
        return change

    def execute(self, change: AdminChange) -> AdminChange:
        """Wait until ``change`` is ready, then execute its proposals in order."""
        self.wait(change.ready_at, f"the timelock's delay ({change.what or 'admin change'})")
        change.executed = [execute(self.timelock, p, self.executor) for p in change.proposals]
        return change

    def apply(self, calls: list[AdminCall], what: str = "") -> AdminChange:
        """Propose ``calls``, wait the delay, execute them."""
        return self.execute(self.propose(calls, what))


class PendingAdmin:
    """An admin that only collects the calls it is asked to make (:attr:`calls`), so that a
    script can propose them itself later (the demo shows each stage of the delay)."""

    def __init__(self) -> None:
        self.calls: list[AdminCall] = []


def admin_apply(admin: Any, calls: list[AdminCall], what: str = "") -> list[Any]:
    """Make the admin ``calls`` as ``admin``: an account (a single-key setup, the test fixtures)
    sends each itself; a :class:`TimelockAdmin` proposes them, waits the delay and executes
    them; a :class:`PendingAdmin` keeps them for later. Returns the receipts of the calls (the
    executions; none for a :class:`PendingAdmin`)."""
    if not calls:
        return []
    if isinstance(admin, PendingAdmin):
        admin.calls += calls
        return []
    if isinstance(admin, TimelockAdmin):
        return admin.apply(calls, what).executed
    return [getattr(c, m)(*args, sender=admin) for c, m, args in calls]
