"""Pseudonymous trading addresses on a deployed system: attest, admit, reveal (issue #24).

The flow, with the roles a real register would have:

1. the owner (a clearing member, or a client with its member's consent) derives a fresh stealth
   address for a day or a desk (:func:`smartccp.privacy.stealth.derive_own`) and asks the
   register, off chain, to attest it;
2. the register checks who asks, picks the tag's salt, seals the identity record to the CCP's
   and the regulator's keys (:func:`smartccp.privacy.records.seal`) and signs the attestation
   (EIP-712, :class:`Attestation`) with its attester key;
3. anyone submits ``admitPseudonym`` (here the pseudonym itself): the address becomes an
   individually segregated account under the register's pseudonymous sponsor, with no public
   trace of its owner;
4. on a default the default manager opens the tag (``revealPseudonym``) and the address becomes
   an ordinary client account of the member behind it.

The pseudonym's gas comes from a gas station that is nobody's member (:func:`fund_gas`), and
its cash from the settlement bank (issued against the owner's bank account off chain), so no
public flow runs back to the owner.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from ape import chain
from coincurve import PublicKey

from smartccp.chain import eip712
from smartccp.chain.accounts import account_from_key, fund_gas
from smartccp.chain.system import System
from smartccp.privacy.records import Identity, RecipientKey, SealedRecord, seal
from smartccp.privacy.stealth import StealthAddress, StealthKeys, derive_own
from smartccp.types import MemberStatus

REGISTER_DOMAIN_NAME = "SmartCCP Membership"


@dataclass(frozen=True)
class Attestation(eip712.TypedStruct):
    """The register's signed statement that ``pseudonym`` may trade until ``expiresAt``."""

    pseudonym: str
    ownerTag: bytes
    expiresAt: int
    recordHash: bytes

    FIELDS: ClassVar[eip712.Fields] = (("pseudonym", "address"), ("ownerTag", "bytes32"),
                                       ("expiresAt", "uint64"), ("recordHash", "bytes32"))

    def payload(self, membership: Any) -> dict[str, Any]:
        return eip712.payload("PseudonymAttestation", self.FIELDS,
                              eip712.domain(REGISTER_DOMAIN_NAME, chain.chain_id, str(membership.address)), self.message())


@dataclass(frozen=True)
class Pseudonym:
    """An admitted pseudonym: the ape account that signs for it and who stands behind it."""

    account: Any
    identity: Identity
    stealth: StealthAddress
    admission: Any = None  # the receipt of its admitPseudonym

    @property
    def address(self) -> str:
        return str(self.account.address)


def set_record_keys(system: System, admin: Any, ccp: RecipientKey, regulator: RecipientKey) -> Any:
    """Tell the register which keys identity records are encrypted to (its admin)."""
    return system.membership.setRecordKeys(ccp.id, regulator.id, sender=admin)


def attest(system: System, attester: Any, identity: Identity, record: SealedRecord,
           expires_at: int) -> tuple[Attestation, bytes]:
    """The register's attestation of ``identity.pseudonym`` for ``record``, and its signature."""
    a = Attestation(identity.pseudonym, identity.tag, expires_at, record.hash)
    return a, eip712.sign(a.payload(system.membership), attester)


def admit(system: System, attestation: Attestation, record: SealedRecord, signature: bytes, sender: Any) -> Any:
    """Submit an attested admission (anyone may: ``sender`` pays the gas)."""
    return system.membership.admitPseudonym(attestation.as_tuple(), record.as_tuple(), signature, sender=sender)


def new_pseudonym(system: System, attester: Any, *, keys: StealthKeys, label: str, owner: str,
                  clearing_member: str, ccp: PublicKey, regulator: PublicKey, expires_at: int,
                  gas_station: Any, salt: bytes | None = None) -> Pseudonym:
    """Derive ``owner``'s stealth address for ``label``, have the register attest it (sealing
    the record to ``ccp`` and ``regulator``), give it gas from ``gas_station`` and admit it.
    The salt is fresh per pseudonym unless given, so no two tags of one owner are alike."""
    stealth, private = derive_own(keys, label)
    identity = Identity(stealth.address, str(clearing_member), str(owner), salt or os.urandom(32))
    record = seal(identity, ccp, regulator)
    attestation, signature = attest(system, attester, identity, record, expires_at)
    account = account_from_key(private.secret.hex())
    fund_gas(account, gas_station)
    receipt = admit(system, attestation, record, signature, account)
    return Pseudonym(account, identity, stealth, receipt)


def reveal(system: System, manager: Any, identity: Identity) -> Any:
    """Open a pseudonym's tag on chain (the default manager, on a default)."""
    return system.membership.revealPseudonym(identity.pseudonym, identity.clearing_member, identity.owner,
                                             identity.salt, sender=manager)


def stop_owner(system: System, manager: Any, identities: Iterable[Identity], *, open_them: bool = True) -> list[Any]:
    """Stop an owner's pseudonyms (the register and the default manager, on its suspension or
    default): every tag suspended, so no attestation still in flight admits another; every
    admitted pseudonym suspended and, with ``open_them``, opened on chain, so its positions and
    collateral join its member's default case. ``identities`` are the register's own records of
    the owner's pseudonyms (the chain cannot list them). Returns the receipts."""
    m, receipts, identities = system.membership, [], list(identities)
    for tag in dict.fromkeys(i.tag for i in identities):
        if not m.ownerSuspended(tag):
            receipts.append(m.suspendOwner(tag, sender=manager))
    for i in identities:
        entry = m.memberOf(i.pseudonym)
        if int(entry.status) == MemberStatus.ACTIVE:
            receipts.append(m.suspend(i.pseudonym, sender=manager))
        if open_them and int(entry.status) and str(entry.clearingMember) == str(m.pseudonymSponsor()):
            receipts.append(reveal(system, manager, i))
    return receipts
