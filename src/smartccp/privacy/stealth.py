"""Stealth addresses (ERC-5564, scheme 1: secp256k1 with view tags): fresh trading addresses
that only their owner can spend from and that nobody else can tie to it.

A member or client publishes (or gives its register) a *stealth meta-address*: a spending public
key and a viewing public key. Whoever derives an address for it picks an ephemeral key ``r``:

- shared secret ``S = r * K_view`` (compressed point), hashed ``s = keccak256(S)``;
- stealth public key ``P = K_spend + s * G``, its Ethereum address the trading address;
- view tag: the first byte of ``s`` (lets the owner skip most announcements at one hash each).

The owner recomputes ``S = k_view * R`` from the ephemeral public key ``R`` and spends with the
private key ``k_spend + s`` (mod n). Here the owner derives its own addresses (one per day or per
desk) from a seed, so it announces nothing: the register learns the address from the owner's
attestation request and the CCP and the regulator from the encrypted identity record.

The curve arithmetic is coincurve's (libsecp256k1); nothing here implements elliptic curves.
"""

from __future__ import annotations

from dataclasses import dataclass

from coincurve import PrivateKey, PublicKey
from eth_utils import keccak, to_checksum_address

PREFIX = "st:eth:0x"
SCHEME_ID = 1  # ERC-5564's id for secp256k1 with view tags


def address_of(public_key: PublicKey) -> str:
    """The Ethereum address of a secp256k1 public key."""
    return to_checksum_address(keccak(public_key.format(compressed=False)[1:])[-20:])


@dataclass(frozen=True)
class StealthKeys:
    """An owner's two key pairs: spending (controls the stealth addresses) and viewing (finds them)."""

    spending: PrivateKey
    viewing: PrivateKey

    @classmethod
    def from_seed(cls, seed: bytes | str) -> "StealthKeys":
        """Reproducible keys (tests, drills): each key is keccak of the seed and its role."""
        s = seed.encode() if isinstance(seed, str) else seed
        return cls(PrivateKey(keccak(s + b"/spend")), PrivateKey(keccak(s + b"/view")))

    @property
    def meta_address(self) -> str:
        """The ERC-5564 stealth meta-address: ``st:eth:0x`` + both compressed public keys."""
        return PREFIX + (self.spending.public_key.format() + self.viewing.public_key.format()).hex()

    def private_key_for(self, ephemeral_public: bytes) -> PrivateKey:
        """The private key of the stealth address derived with ephemeral public key ``R``."""
        s = _hashed_secret(_ecdh(self.viewing, PublicKey(ephemeral_public)))
        return self.spending.add(s)

    def owns(self, stealth_address: str, ephemeral_public: bytes, view_tag: int) -> bool:
        """True if the announcement (address, R, view tag) is for these keys (view tag first)."""
        s = _hashed_secret(_ecdh(self.viewing, PublicKey(ephemeral_public)))
        if s[0] != view_tag:
            return False
        return address_of(self.spending.add(s).public_key) == to_checksum_address(stealth_address)


@dataclass(frozen=True)
class StealthAddress:
    """A derived address with what the owner needs to find and spend it."""

    address: str
    ephemeral_public: bytes  # R, compressed (33 bytes)
    view_tag: int


def parse_meta_address(meta: str) -> tuple[PublicKey, PublicKey]:
    """(spending, viewing) public keys of a stealth meta-address; ``ValueError`` if malformed."""
    if not meta.startswith(PREFIX) or len(meta) != len(PREFIX) + 132:
        raise ValueError(f"not an ERC-5564 secp256k1 meta-address: {meta!r}")
    raw = bytes.fromhex(meta[len(PREFIX):])
    return PublicKey(raw[:33]), PublicKey(raw[33:])


def generate(meta: str, ephemeral: PrivateKey) -> StealthAddress:
    """Derive the stealth address of ``meta`` for the ephemeral key ``ephemeral`` (fresh random
    for an outsider paying the owner; from the owner's seed when it derives its own)."""
    spending, viewing = parse_meta_address(meta)
    s = _hashed_secret(_ecdh(ephemeral, viewing))
    stealth = PublicKey.combine_keys([spending, PrivateKey(s).public_key])
    return StealthAddress(address_of(stealth), ephemeral.public_key.format(), s[0])


def derive_own(keys: StealthKeys, label: str) -> tuple[StealthAddress, PrivateKey]:
    """The owner's own address for ``label`` (a day, a desk): the ephemeral key is taken from
    the viewing key and the label, so the owner can derive it again and nobody else can."""
    ephemeral = PrivateKey(keccak(keys.viewing.secret + label.encode()))
    stealth = generate(keys.meta_address, ephemeral)
    return stealth, keys.private_key_for(stealth.ephemeral_public)


def _ecdh(private: PrivateKey, public: PublicKey) -> bytes:
    """The shared point ``private * public``, compressed (ERC-5564 hashes the point itself, not
    libsecp256k1's hashed ECDH output)."""
    return public.multiply(private.secret).format()


def _hashed_secret(shared_point: bytes) -> bytes:
    return keccak(shared_point)
