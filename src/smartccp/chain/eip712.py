"""EIP-712 typed data shared by every message SmartCCP members sign: orders (venues), routed
orders (BBO) and fund transfers (margin). One payload builder, one digest, one signer.

A signed struct is a frozen dataclass mixing in :class:`TypedStruct` with ``FIELDS``, the
(name, EIP-712 type) pairs in the order of its Solidity struct.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any, ClassVar

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

Fields = tuple[tuple[str, str], ...]

DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def type_string(primary_type: str, fields: Fields) -> str:
    """``Name(type1 field1,...)``, the string the Solidity type hash is taken of."""
    return primary_type + "(" + ",".join(f"{t} {n}" for n, t in fields) + ")"


def domain(name: str, chain_id: int, verifying_contract: str, version: str = "1") -> dict[str, Any]:
    """An EIP-712 domain bound to a chain and a contract."""
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": str(verifying_contract)}


def payload(primary_type: str, fields: Fields, domain_: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    """The full typed-data payload (what ``eth_signTypedData_v4`` takes)."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, primary_type: [{"name": n, "type": t} for n, t in fields]},
        "primaryType": primary_type,
        "domain": domain_,
        "message": message,
    }


def json_payload(full_message: dict[str, Any]) -> dict[str, Any]:
    """A payload as JSON for signers that read a file (``cast wallet sign --data --from-file``):
    the same data with every integer of the domain and the message as a decimal string. cast
    rejects JSON numbers above 2^64 (a uint256 nonce), and JSON readers that parse numbers as
    doubles (jq 1.6, JavaScript) round them above 2^53; strings are exact everywhere."""

    def exact(values: dict[str, Any]) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in values.items()}

    return {**full_message, "domain": exact(full_message["domain"]), "message": exact(full_message["message"])}


def digest(full_message: dict[str, Any]) -> bytes:
    """The EIP-712 digest of a payload (equals the contract's ``_hashTypedDataV4``)."""
    signable = encode_typed_data(full_message=full_message)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def sign(full_message: dict[str, Any], signer: Any) -> bytes:
    """Sign a payload with an ape account (or anything with ``private_key``) or a raw key;
    accounts whose keys the node holds are signed over RPC with ``eth_signTypedData_v4``."""
    key = signer if isinstance(signer, (str, bytes)) else getattr(signer, "private_key", None)
    if key is not None:
        return bytes(Account.sign_typed_data(key, full_message=full_message).signature)
    from ape import networks  # node-managed account

    sig = networks.provider.make_request("eth_signTypedData_v4", [str(signer.address), full_message])
    return bytes.fromhex(sig[2:] if isinstance(sig, str) else sig.hex())


def compact(signature: bytes) -> bytes:
    """The EIP-2098 64-byte form (r, vs) of a 65-byte (r, s, v) signature: the top bit of ``vs``
    is ``v - 27``. The venue takes both forms; this one is 32 bytes less calldata."""
    if len(signature) != 65:
        raise ValueError(f"expected a 65-byte signature, got {len(signature)} bytes")
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    if v < 27:
        v += 27
    if v not in (27, 28):
        raise ValueError(f"signature v must be 27 or 28, got {v}")
    return r + (s | ((v - 27) << 255)).to_bytes(32, "big")


class TypedStruct:
    """Mixin for frozen dataclasses that are signed as EIP-712 structs."""

    FIELDS: ClassVar[Fields] = ()

    def message(self) -> dict[str, Any]:
        """The EIP-712 message (plain ints and address strings)."""
        if getattr(self, "nonce", 0) is None:
            raise ValueError(f"{type(self).__name__} has no nonce yet: assign one (the clients do)")
        d = asdict(self)  # type: ignore[call-overload]
        return {n: (str(d[n]) if t == "address" else bytes(d[n]) if t.startswith("bytes") else int(d[n]))
                for n, t in self.FIELDS}

    def as_tuple(self) -> tuple:
        """The struct as a tuple in field order, for contract calls."""
        m = self.message()
        return tuple(m[n] for n, _ in self.FIELDS)

    def but(self, **changes: Any) -> Any:
        """A copy with some fields changed (e.g. ``order.but(nonce=7)``)."""
        return replace(self, **changes)  # type: ignore[type-var]
