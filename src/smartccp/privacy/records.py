"""Identity records: who stands behind a pseudonym, encrypted to the CCP and to the regulator.

A record is 92 bytes of plaintext: the pseudonym, its owner's clearing member, the owner (the
member itself, or its client) and the 32-byte salt of the owner tag. It is encrypted with ECIES
over secp256k1 (``eciespy``: an ephemeral key, ECDH, HKDF and AES-256-GCM; nothing here is
hand-written cryptography) once to each recipient's public key, and published in the register's
``PseudonymAdmitted`` event. The chain stores the hiding commitment
``owner_tag = keccak256(abi.encode(clearingMember, owner, salt))``; a record whose opening does
not hash to the pseudonym's tag on chain is detected (:class:`RecordMismatch`).

A recipient key is named by its id, ``keccak256`` of its 64-byte public key; the register
refuses a record for other ids than its current ones (``RecordKeyMismatch``).
"""

from __future__ import annotations

from dataclasses import dataclass

import ecies
from coincurve import PrivateKey, PublicKey
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

PLAINTEXT_LENGTH = 92


class RecordNotForKey(Exception):
    """The ciphertext does not open with this key: it was encrypted to another one."""


class RecordMismatch(Exception):
    """A record opened, but its owner and salt do not hash to the pseudonym's tag on chain."""


def key_id(public_key: PublicKey | bytes) -> bytes:
    """The id of a recipient key: keccak256 of its 64-byte (uncompressed, unprefixed) form."""
    pk = public_key if isinstance(public_key, PublicKey) else PublicKey(public_key)
    return keccak(pk.format(compressed=False)[1:])


@dataclass(frozen=True)
class RecipientKey:
    """A record recipient's key pair (the CCP's or the regulator's)."""

    private: PrivateKey

    @classmethod
    def from_seed(cls, seed: str) -> "RecipientKey":
        """A reproducible key for tests and drills (a real one comes from the holder's HSM)."""
        return cls(PrivateKey(keccak(text=f"smartccp.record-key/{seed}")))

    @property
    def public(self) -> PublicKey:
        return self.private.public_key

    @property
    def id(self) -> bytes:
        return key_id(self.public)


#: The development chains' record keys (the demo, the drills, ``deployments/local.yaml``): made
#: from public seeds, so their private halves are public knowledge, like anvil's test mnemonic.
#: A real deployment names its CCP's and regulator's public keys in its deployment file.
DEV_CCP_KEY, DEV_REGULATOR_KEY = RecipientKey.from_seed("dev-ccp"), RecipientKey.from_seed("dev-regulator")


def owner_tag(clearing_member: str, owner: str, salt: bytes) -> bytes:
    """The hiding commitment the register stores for a pseudonym (Solidity's
    ``keccak256(abi.encode(clearingMember, owner, salt))``)."""
    return keccak(encode(["address", "address", "bytes32"], [clearing_member, owner, salt]))


@dataclass(frozen=True)
class Identity:
    """Who stands behind ``pseudonym``: ``owner``, cleared by ``clearing_member``, and the salt
    that hides them in the tag."""

    pseudonym: str
    clearing_member: str
    owner: str
    salt: bytes

    @property
    def tag(self) -> bytes:
        return owner_tag(self.clearing_member, self.owner, self.salt)

    def plaintext(self) -> bytes:
        return (bytes.fromhex(self.pseudonym[2:]) + bytes.fromhex(self.clearing_member[2:])
                + bytes.fromhex(self.owner[2:]) + self.salt)

    @classmethod
    def from_plaintext(cls, raw: bytes) -> "Identity":
        if len(raw) != PLAINTEXT_LENGTH:
            raise RecordNotForKey(f"record plaintext of {len(raw)} bytes, expected {PLAINTEXT_LENGTH}")
        addr = [to_checksum_address(raw[i:i + 20]) for i in (0, 20, 40)]
        return cls(addr[0], addr[1], addr[2], raw[60:])


@dataclass(frozen=True)
class SealedRecord:
    """A record as the register takes it (``PseudonymRecord``): key ids and one ciphertext each."""

    ccp_key_id: bytes
    regulator_key_id: bytes
    for_ccp: bytes
    for_regulator: bytes

    def as_tuple(self) -> tuple:
        return (self.ccp_key_id, self.regulator_key_id, self.for_ccp, self.for_regulator)

    @property
    def hash(self) -> bytes:
        """The ``recordHash`` an attestation carries (the register's ``recordHash(record)``)."""
        return keccak(encode(["bytes32", "bytes32", "bytes32", "bytes32"],
                             [self.ccp_key_id, self.regulator_key_id, keccak(self.for_ccp),
                              keccak(self.for_regulator)]))


def seal(identity: Identity, ccp: PublicKey, regulator: PublicKey) -> SealedRecord:
    """Encrypt ``identity`` to the CCP's and the regulator's public keys."""
    raw = identity.plaintext()
    return SealedRecord(key_id(ccp), key_id(regulator),
                        ecies.encrypt(ccp.format(compressed=False), raw),
                        ecies.encrypt(regulator.format(compressed=False), raw))


def open_sealed(ciphertext: bytes, key: RecipientKey) -> Identity:
    """Decrypt one ciphertext with ``key``; :class:`RecordNotForKey` if it was not for it."""
    try:
        raw = ecies.decrypt(key.private.secret, bytes(ciphertext))
    except (ValueError, TypeError) as e:  # AES-GCM tag check failed: another key
        raise RecordNotForKey(str(e) or "authentication failed") from None
    return Identity.from_plaintext(raw)
