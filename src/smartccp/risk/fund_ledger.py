"""Exact model of the default fund's survivors' layers at any size (``DefaultFund``, layers 4-5).

The contract charges the survivors of a default in O(1), whatever the number of fund members,
by moving two indices that each member's balance reads when it is next *settled*:

- **Layer 4, contributions.** The survivors' pool ``pool`` (their contributions as booked) and
  the index of a unit contributed, ``index`` at ``scale`` (``INDEX_ONE`` = 1e36 at scale 0). A
  charge of ``used`` sets ``index = floor(index * (pool - used) / pool)``; an index at or below
  ``INDEX_FLOOR`` (1e18) is multiplied by 1e18 and the scale goes up by one, an index of 0 restarts
  at 1e36 two scales up. A member's balance, booked as ``paid`` at ``(booked, its scale)``,
  reads ``floor(paid * index / booked)`` at the same scale, that divided by 1e18 one scale on, 0
  beyond. A recovery returned to the survivors (``refund_survivors``) runs it in reverse:
  ``index = floor(index * (pool + amount) / pool)``, shared by the survivors in the pool then.
- **Layer 5, assessments.** The survivors' total required contribution ``required_pool`` and the
  cumulative assessment rate per unit required (``RATE_ONE`` = 1e27 is one). An assessment of
  ``used`` (at most what the episode's cap ``cap_bps`` per unit required leaves) raises the rate
  by ``ceil(used * 1e27 / required_pool)``; a member owes ``ceil(required * rise / 1e27)``.

So every survivor loses at least its exact pro-rata share: rounding goes against the members,
never the CCP, and the dust stays in the pool (``pool`` >= the sum of the balances). Settling is
what books it: the balance, a ``SurvivorCharged`` event, a top-up call (deadline: the latest
charge plus the window) and the assessment due. Because a
settled balance is rounded down again from there, *when* a member is settled can move its
balance by rounding units, so the model is driven by the same touches as the chain.

Amounts are cash base units (Python ints); times are seconds.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from smartccp.units import BPS, ceil_div

__all__ = ["INDEX_FLOOR", "INDEX_ONE", "RATE_ONE", "FundLedger", "MemberStake"]

INDEX_ONE = 10**36
INDEX_FLOOR = 10**18
RATE_ONE = 10**27

MemberId = Hashable


@dataclass
class MemberStake:
    """One fund member: requirement, booked balance and where it was booked.

    ``booked`` is the index when ``paid`` was booked (``None``: outside the pool, in default,
    ``paid`` absolute); ``rate`` the cumulative assessment rate when ``due`` was booked."""

    required: int = 0
    paid: int = 0
    deadline: int = 0
    booked: int | None = None
    scale: int = 0
    charges: int = 0
    rate: int = 0
    due: int = 0


@dataclass
class FundLedger:
    """The survivors' layers of ``DefaultFund``, step for step (see the module docstring).

    ``events`` collects ``("SurvivorCharged", member, amount)``, ``("TopUpCalled", member,
    amount, deadline)`` and ``("AssessmentCalled", member, amount)`` in the order the contract
    emits them."""

    cap_bps: int = BPS
    window: int = 86_400
    members: dict[MemberId, MemberStake] = field(default_factory=dict)
    pool: int = 0
    index: int = INDEX_ONE
    scale: int = 0
    charges: int = 0
    last_charge_at: int = 0
    required_pool: int = 0
    rate: int = 0
    episode_start: int = 0
    events: list[tuple] = field(default_factory=list)

    # ── reads (current before settlement, like the contract's views) ──

    def balance(self, m: MemberId) -> int:
        """``m``'s contribution at the current index."""
        s = self.members[m]
        if s.booked is None:
            return s.paid
        if s.scale == self.scale:
            return s.paid * self.index // s.booked
        if s.scale + 1 == self.scale:
            return s.paid * self.index // s.booked // INDEX_FLOOR
        return 0

    def assessed_since(self, m: MemberId) -> int:
        """Assessment ``m`` owes since it was last settled."""
        s = self.members[m]
        if s.booked is None:
            return 0
        return ceil_div(s.required * (self.rate - s.rate), RATE_ONE)

    def assessment_due(self, m: MemberId) -> int:
        """Called and unpaid assessment of ``m``."""
        return self.members[m].due + self.assessed_since(m)

    def deadline(self, m: MemberId) -> int:
        """``m``'s top-up deadline (0: none), also for a charge not yet settled."""
        s = self.members[m]
        if s.deadline:
            return s.deadline
        if s.booked is None or s.charges == self.charges:
            return 0
        b = self.balance(m)
        if b == s.paid or b >= s.required:
            return 0
        return self.last_charge_at + self.window

    # ── the contract's steps ──

    def set_required(self, m: MemberId, required: int, now: int) -> None:
        """``setRequiredContributions`` for one member: short of it, a top-up call."""
        if m not in self.members:
            self.members[m] = MemberStake()
            self._join(m, 0)
        else:
            self.settle(m)
        s = self.members[m]
        if s.booked is not None:
            self.required_pool += required - s.required
        s.required = required
        if s.paid >= required:
            s.deadline = 0
        else:
            s.deadline = s.deadline or now + self.window
            self.events.append(("TopUpCalled", m, required - s.paid, s.deadline))

    def contribute(self, m: MemberId, amount: int) -> None:
        """``contribute`` / ``recordContribution``."""
        self.settle(m)
        s = self.members[m]
        s.paid += amount
        if s.booked is not None:
            self.pool += amount
        if s.paid >= s.required:
            s.deadline = 0

    def withdraw(self, m: MemberId, amount: int) -> None:
        """``withdrawContribution`` (a survivor; the contract checks the excess)."""
        self.settle(m)
        s = self.members[m]
        if amount > s.paid - s.required:
            raise ValueError(f"{m!r} has {s.paid - s.required} above its requirement, not {amount}")
        s.paid -= amount
        self.pool -= amount

    def pay_assessment(self, m: MemberId, amount: int) -> None:
        """``payAssessment``."""
        self.settle(m)
        s = self.members[m]
        if not 0 < amount <= s.due:
            raise ValueError(f"{m!r} owes {s.due}, not {amount}")
        s.due -= amount

    def declare(self, m: MemberId) -> None:
        """A default is declared: ``m`` is settled and leaves layers 4 and 5."""
        s = self.members.get(m)
        if s is None or s.booked is None:
            return
        self.settle(m)
        self.pool -= s.paid
        self.required_pool -= s.required
        s.booked, s.scale, s.charges = None, 0, 0

    def cure(self, m: MemberId) -> None:
        """A cured defaulter joins layers 4 and 5 again with its balance."""
        self._join(m, self.members[m].paid)

    def take_own(self, m: MemberId, amount: int) -> int:
        """Layer 2: up to ``amount`` of defaulter ``m``'s own contribution; returns it."""
        s = self.members[m]
        used = min(amount, s.paid)
        s.paid -= used
        return used

    def start_episode(self) -> None:
        """``startEpisode``: the assessment caps are available again."""
        self.episode_start = self.rate

    def charge_survivors(self, amount: int, now: int) -> int:
        """Layer 4: up to ``amount`` from the pool; returns what was used."""
        used = min(amount, self.pool)
        if used == 0:
            return 0
        nxt = self.index * (self.pool - used) // self.pool
        if nxt == 0:
            nxt, self.scale = INDEX_ONE, self.scale + 2
        elif nxt <= INDEX_FLOOR:
            nxt, self.scale = nxt * INDEX_FLOOR, self.scale + 1
        self.pool -= used
        self.index = nxt
        self.charges += 1
        self.last_charge_at = now
        return used

    def refund_survivors(self, amount: int) -> int:
        """Layer 4 in reverse (a recovery): the index rises by ``(pool + amount) / pool``, rounded
        down; returns what was refunded (0 with no survivor left or an index past 128 bits)."""
        if amount == 0 or self.pool == 0:
            return 0
        nxt = self.index * (self.pool + amount) // self.pool
        if nxt >= 1 << 128:
            return 0
        self.pool += amount
        self.index = nxt
        self.charges += 1
        return amount

    def assess(self, amount: int) -> int:
        """Layer 5: up to ``amount`` within the episode's cap; returns what was called."""
        max_rate = self.cap_bps * RATE_ONE // BPS
        in_episode = self.rate - self.episode_start
        if self.required_pool == 0 or in_episode >= max_rate:
            return 0
        used = min(amount, self.required_pool * (max_rate - in_episode) // RATE_ONE)
        if used == 0:
            return 0
        self.rate += ceil_div(used * RATE_ONE, self.required_pool)
        return used

    def settle(self, m: MemberId) -> None:
        """``settleMember``: book the balance, a top-up call if now short, and the assessment."""
        s = self.members[m]
        if s.booked is None:
            return
        b = self.balance(m)
        if b < s.paid:
            self.events.append(("SurvivorCharged", m, s.paid - b))
            s.paid = b
            if b < s.required:
                if not s.deadline:
                    s.deadline = self.last_charge_at + self.window
                self.events.append(("TopUpCalled", m, s.required - b, s.deadline))
        elif b > s.paid:
            self.events.append(("SurvivorRefunded", m, b - s.paid))
            if s.paid < s.required <= b:
                s.deadline = 0
            s.paid = b
        if s.charges != self.charges:
            s.booked, s.scale, s.charges = self.index, self.scale, self.charges
        assessed = self.assessed_since(m)
        s.rate = self.rate
        if assessed:
            s.due += assessed
            self.events.append(("AssessmentCalled", m, assessed))

    def _join(self, m: MemberId, paid: int) -> None:
        s = self.members[m]
        s.booked, s.scale, s.charges, s.rate = self.index, self.scale, self.charges, self.rate
        self.pool += paid
        self.required_pool += s.required
