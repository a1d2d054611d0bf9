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
