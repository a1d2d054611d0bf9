"""Role accounts for a run: who operates, banks, issues and trades.

On a local network (anvil) the roles are ape's funded test accounts, in the same order as the
test fixtures (``tests/conftest.py``). On any other network they come from the environment,
without prompts, in one of two ways per role (``<ROLE>`` is ``OPERATOR``, ``BANK``, ...):

- ``SMARTCCP_<ROLE>_KEY``: a hex private key, held in memory only by ape's ``ApeSigner``
  (``ape_accounts.accounts.ApeSigner``, an ``AccountAPI`` that signs without asking);
- ``SMARTCCP_<ROLE>_ALIAS``: the alias of an account imported once with
  ``ape accounts import <alias>``; its passphrase is read by ape itself from
  ``APE_ACCOUNTS_<alias>_PASSPHRASE`` and the account is set to sign without prompting;
- ``SMARTCCP_MNEMONIC``: a BIP-39 mnemonic; a role without a key or alias of its own is the
  account at its test index (:data:`LOCAL_INDEX`) on the path ``m/44'/60'/0'/0/<index>``.

A node reached by URL whose chain id is 31337 (anvil's and Hardhat's development chains) with
none of these set uses their well-known test mnemonic (:data:`DEV_MNEMONIC`), so
``ape run demo --network http://127.0.0.1:8545`` works against a node started by hand.

Only the operator is required; the bank and the issuer default to the operator, and the member
and client roles are optional (``None`` when not set). The separated roles of a governed
deployment (:data:`KEY_ROLES`: keeper, risk, price, ...) come from its deployment file
(:meth:`smartccp.ops.deploy.Deployment.keys`); where they are not set (the test fixtures: a
single key) :meth:`Roles.key` answers with the operator.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ape import accounts, networks

ENV_PREFIX = "SMARTCCP_"
MNEMONIC_ENV = f"{ENV_PREFIX}MNEMONIC"
#: The mnemonic of anvil's and Hardhat's funded development accounts (public knowledge: for
#: development chains only).
DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_CHAIN_ID = 31337

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
#: The separated roles a deployment file names besides the operator, the bank and the issuer
#: (``roles:`` in ``deployments/*.yaml``; ``docs/security.md``, "Keys and roles").
KEY_ROLES = ("keeper", "risk", "price", "default_manager", "guardian", "governor")


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
    keeper: Any = None  # sessions: open, close, uncross; margin runs and settlement
    risk: Any = None  # scenarios, haircuts, margin model, fund parameters and contributions
    price: Any = None  # settlement prices
    default_manager: Any = None  # declares, ports, cures and closes defaults
    guardian: Any = None  # emergency path: halts, stricter risk parameters
    governor: Any = None  # proposes the timelock's admin changes

    def key(self, role: str) -> Any:
        """The account that sends ``role``'s transactions (one of :data:`KEY_ROLES`, or a field
        such as ``operator``): its own key if set, else the operator (a single-key setup)."""
        return getattr(self, role) or self.operator

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
    else:
        fund_gas(account, funder)
    return account


def fund_gas(account: Any, funder: Any) -> None:
    """Give ``account`` gas money (:data:`GAS_FUNDING`): set outright on a local chain; elsewhere
    ``funder`` sends a thousandth of it if the balance is below that (a role key the dev
    mnemonic names beyond a node's funded accounts, a seeded account)."""
    if networks.provider.network.is_local:
        if account.balance < GAS_FUNDING // 1000:
            networks.provider.set_balance(account.address, GAS_FUNDING)
    elif account.balance < GAS_FUNDING // 1000:
        funder.transfer(account, GAS_FUNDING // 1000)


def account_from_alias(alias: str) -> Any:
    """An imported ape account, unlocked from ``APE_ACCOUNTS_<alias>_PASSPHRASE``, autosigning."""
    account = accounts.load(alias)
    account.set_autosign(True)  # ape reads the passphrase from the environment, else prompts
    return account


def account_from_mnemonic(mnemonic: str, index: int, hd_path: str = "m/44'/60'/0'/0") -> Any:
    """The account at ``<hd_path>/<index>`` of ``mnemonic``, signing without prompting."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    key = Account.from_mnemonic(mnemonic, account_path=f"{hd_path}/{index}").key
    return account_from_key(key.hex())


def local_test_account(index: int) -> Any:
    """ape's test account ``index`` on a local chain; beyond the configured ones
    (``test.number_of_accounts``) the account at that index of the same mnemonic, given gas (a
    deployment file's ``test12``: the demo's and drills' role keys). Keeping the configured
    number keeps the addresses of the accounts the tests and the bench generate."""
    from ape import config

    if index < len(accounts.test_accounts):
        return accounts.test_accounts[index]
    cfg = config.get_config("test")
    account = account_from_mnemonic(cfg.mnemonic, index, cfg.hd_path)
    fund_gas(account, None)
    return account


def role_index(role: str) -> int | None:
    """The test index of ``role``: :data:`LOCAL_INDEX`, or ``<i>`` in ``test<i>``."""
    if role in LOCAL_INDEX:
        return LOCAL_INDEX[role]
    digits = role.removeprefix("test")
    return int(digits) if role.startswith("test") and digits.isdigit() else None


def env_account(role: str, env: Mapping[str, str] | None = None) -> Any | None:
    """The account for ``role`` from ``SMARTCCP_<ROLE>_KEY``, ``SMARTCCP_<ROLE>_ALIAS`` or its
    index in ``SMARTCCP_MNEMONIC``."""
    env = os.environ if env is None else env
    name = f"{ENV_PREFIX}{role.upper()}"
    if key := env.get(f"{name}_KEY"):
        return account_from_key(key)
    if alias := env.get(f"{name}_ALIAS"):
        return account_from_alias(alias)
    index = role_index(role)
    if (mnemonic := env.get(MNEMONIC_ENV)) and index is not None:
        return account_from_mnemonic(mnemonic, index)
    return None


def account_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment accounts are read from: with no account variable at all
    (``SMARTCCP_*_KEY``, ``SMARTCCP_*_ALIAS``, ``SMARTCCP_MNEMONIC``) on a development chain
    (chain id 31337, a node reached by URL), the dev mnemonic."""
    env = dict(os.environ if env is None else env)
    remote = not networks.provider.network.is_local
    configured = any(k.startswith(ENV_PREFIX) and k.endswith(("_KEY", "_ALIAS", "MNEMONIC")) for k in env)
    if remote and not configured and networks.provider.chain_id == DEV_CHAIN_ID:
        env[MNEMONIC_ENV] = DEV_MNEMONIC
    return env


def env_roles(env: Mapping[str, str] | None = None) -> Roles:
    """Roles from the environment; raises if the operator is missing."""
    env = account_env(env)
    found = {name: env_account(name, env) for name in LOCAL_INDEX}
    if found["operator"] is None:
        raise RuntimeError(
            f"no operator account: set {ENV_PREFIX}OPERATOR_KEY (hex private key), "
            f"{ENV_PREFIX}OPERATOR_ALIAS (an `ape accounts import` alias) or {MNEMONIC_ENV}"
        )
    found["bank"] = found["bank"] or found["operator"]
    found["issuer"] = found["issuer"] or found["operator"]
    return Roles(**found)


def role_accounts() -> Roles:
    """Roles for the connected network: test accounts when local, else the environment."""
    return local_roles() if networks.provider.network.is_local else env_roles()


def named_account(name: str, roles: Roles | None = None) -> Any:
    """The account a deployment file names (``operator``, ``bank``, ``member_a``, ``test7``, or
    any name with ``SMARTCCP_<NAME>_KEY`` / ``_ALIAS`` set): from ``roles`` if it is one of its
    fields, else a test account (local networks), else the environment. Raises ``LookupError``."""
    if roles is not None and (found := roles.as_dict().get(name)) is not None:
        return found
    if networks.provider.network.is_local and (index := role_index(name)) is not None:
        return local_test_account(index)
    if not networks.provider.network.is_local and (found := env_account(name, account_env())) is not None:
        return found
    raise LookupError(f"no account for {name!r}: set {ENV_PREFIX}{name.upper()}_KEY or _ALIAS, or {MNEMONIC_ENV}")
