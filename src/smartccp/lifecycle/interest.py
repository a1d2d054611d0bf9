"""Interest on cash collateral (``Margin``: ``setInterestRate``, ``claimInterest``), the same
integer arithmetic in Python.

The CCP publishes a yearly rate in bps; one index of a unit of cash grows from ``INTEREST_INDEX_ONE`` by
simple interest per second between publications (``index + index * bps * seconds / (10,000 *
YEAR)``, rounded down), and each publication starts again from the index it reached. An account's
interest since it was last touched is ``cash * (index now - index then) // index then`` (rounded
down: against the member). Nothing loops over accounts: a touch (deposit, withdrawal, claim,
seizure, release) reads the index once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from smartccp.units import BPS

__all__ = ["INTEREST_INDEX_ONE", "YEAR", "InterestBook"]

INTEREST_INDEX_ONE = 10**12
YEAR = 365 * 86_400


@dataclass
class InterestBook:
    """The rate, the index and every account's cash, interest owed and booked index."""

    index: int = INTEREST_INDEX_ONE
    updated_at: int = 0
    rate_bps: int = 0
    accounts: dict[str, list[int]] = field(default_factory=dict)  # cash, interest, booked index

    def index_at(self, t: int) -> int:
        """The index at time ``t`` (seconds)."""
        return self.index + self.index * self.rate_bps * (t - self.updated_at) // (BPS * YEAR)

    def set_rate(self, rate_bps: int, t: int) -> None:
        """``setInterestRate`` at ``t``."""
        self.index, self.updated_at, self.rate_bps = self.index_at(t), t, rate_bps

    def touch(self, account: str, t: int) -> list[int]:
        """Accrue ``account`` to ``t``; returns its ``[cash, interest, booked index]``."""
        a = self.accounts.setdefault(account, [0, 0, 0])
        now = self.index_at(t)
        if a[0] and a[2] and now > a[2]:
            a[1] += a[0] * (now - a[2]) // a[2]
        a[2] = now
        return a

    def deposit(self, account: str, amount: int, t: int) -> None:
        self.touch(account, t)[0] += amount

    def withdraw(self, account: str, amount: int, t: int) -> int:
        """Withdraw ``amount``; returns the interest paid with it."""
        a = self.touch(account, t)
        a[0] -= amount
        paid, a[1] = a[1], 0
        return paid

    def claim(self, account: str, t: int) -> int:
        """``claimInterest``; returns what is paid."""
        a = self.touch(account, t)
        paid, a[1] = a[1], 0
        return paid
