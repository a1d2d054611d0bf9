"""Role accounts for a run: who operates, banks, issues and trades.

On a local network (anvil) the roles are ape's funded test accounts, in the same order as the
test fixtures (``tests/conftest.py``). On any other network they come from the environment,
without prompts, in one of two ways per role (``<ROLE>`` is ``OPERATOR``, ``BANK``, ...):

- ``SMARTCCP_<ROLE>_KEY``: a hex private key, held in memory only by ape's ``ApeSigner``
  (``ape_accounts.accounts.ApeSigner``, an ``AccountAPI`` that signs without asking);
- ``SMARTCCP_<ROLE>_ALIAS``: the alias of an account imported once with
  ``ape accounts import <alias>``; its passphrase is read by ape itself from
  ``APE_ACCOUNTS_<alias>_PASSPHRASE`` and the account is set to sign without prompting.

Only the operator is required; the bank and the issuer default to the operator, and the member
and client roles are optional (``None`` when not set).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ape import accounts, networks

ENV_PREFIX = "SMARTCCP_"

#: Index of each role among ape's test accounts, as in ``tests/conftest.py``.
LOCAL_INDEX = {
    "operator": 0,
    "bank": 1,
    "issuer": 2,
    "member_a": 3,
    "member_b": 4,
    "client_a": 5,
    "outsider": 9,
}


@dataclass(frozen=True)
class Roles:
    """The ape accounts playing each role. Optional roles are ``None`` when not configured."""

    operator: Any
    bank: Any
    issuer: Any
    member_a: Any = None
    member_b: Any = None
    client_a: Any = None
    outsider: Any = None

    def as_dict(self) -> dict[str, Any]:
        """Role name -> account, configured roles only."""
        named = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: account for name, account in named.items() if account is not None}


def local_roles() -> Roles:
    """ape's funded test accounts, one per role (local networks only)."""
    test_accounts = accounts.test_accounts
    return Roles(**{name: test_accounts[index] for name, index in LOCAL_INDEX.items()})


def account_from_key(private_key: str) -> Any:
    """An in-memory ape account for a hex private key; signs without prompting."""
    from ape_accounts.accounts import ApeSigner

    key = private_key if private_key.startswith("0x") else f"0x{private_key}"
    return ApeSigner(private_key=key)


#: Gas money of a seeded account: set outright on a local chain; elsewhere the funder sends a
#: thousandth of it whenever the balance falls below that.
GAS_FUNDING = 10**21


def seeded_account(seed: str, funder: Any) -> Any:
    """A reproducible account for drills and simulations: its key is keccak(``seed``), and it has
    gas to send transactions (see :data:`GAS_FUNDING`; ``funder`` pays on a remote network)."""
    from ape import networks
    from eth_utils import keccak

    account = account_from_key(keccak(text=seed).hex())
    if networks.provider.network.is_local:
        networks.provider.set_balance(account.address, GAS_FUNDING)
    elif account.balance < GAS_FUNDING // 1000:
        funder.transfer(account, GAS_FUNDING // 1000)
    return account


def account_from_alias(alias: str) -> Any:
    """An imported ape account, unlocked from ``APE_ACCOUNTS_<alias>_PASSPHRASE``, autosigning."""
    account = accounts.load(alias)
    account.set_autosign(True)  # ape reads the passphrase from the environment, else prompts
    return account


def env_account(role: str, env: Mapping[str, str] | None = None) -> Any | None:
    """The account for ``role`` from ``SMARTCCP_<ROLE>_KEY`` or ``SMARTCCP_<ROLE>_ALIAS``."""
    env = os.environ if env is None else env
    name = f"{ENV_PREFIX}{role.upper()}"
    if key := env.get(f"{name}_KEY"):
        return account_from_key(key)
    if alias := env.get(f"{name}_ALIAS"):
        return account_from_alias(alias)
    return None


def env_roles(env: Mapping[str, str] | None = None) -> Roles:
    """Roles from the environment; raises if the operator is missing."""
    found = {name: env_account(name, env) for name in LOCAL_INDEX}
    if found["operator"] is None:
        raise RuntimeError(
            f"no operator account: set {ENV_PREFIX}OPERATOR_KEY (hex private key) "
            f"or {ENV_PREFIX}OPERATOR_ALIAS (an `ape accounts import` alias)"
        )
    found["bank"] = found["bank"] or found["operator"]
    found["issuer"] = found["issuer"] or found["operator"]
    return Roles(**found)


def role_accounts() -> Roles:
    """Roles for the connected network: test accounts when local, else the environment."""
    return local_roles() if networks.provider.network.is_local else env_roles()
