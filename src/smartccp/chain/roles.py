"""Access-control role identifiers, as the contracts define them (keccak256 of the name)."""

from __future__ import annotations

from eth_utils import keccak

DEFAULT_ADMIN_ROLE = b"\x00" * 32


def role(name: str) -> bytes:
    """The bytes32 id of role ``name`` (e.g. ``"OPERATOR_ROLE"``)."""
    return keccak(text=name)


OPERATOR_ROLE = role("OPERATOR_ROLE")
DEFAULT_MANAGER_ROLE = role("DEFAULT_MANAGER_ROLE")
SETTLEMENT_BANK_ROLE = role("SETTLEMENT_BANK_ROLE")
ISSUER_ROLE = role("ISSUER_ROLE")
VENUE_ROLE = role("VENUE_ROLE")
RISK_ROLE = role("RISK_ROLE")
PRICE_ROLE = role("PRICE_ROLE")
GUARDIAN_ROLE = role("GUARDIAN_ROLE")
RECORD_ROLE = role("RECORD_ROLE")
#: TimelockController's roles (SmartCCPTimelock).
PROPOSER_ROLE = role("PROPOSER_ROLE")
CANCELLER_ROLE = role("CANCELLER_ROLE")
EXECUTOR_ROLE = role("EXECUTOR_ROLE")
