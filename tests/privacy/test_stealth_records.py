"""Stealth addresses (ERC-5564 scheme 1) and sealed identity records, off chain: the owner and only
the owner controls and recognises its addresses; a record opens with the CCP's and the
regulator's keys and no other; the owner tag matches Solidity's ``abi.encode``."""

from __future__ import annotations

import pytest
from coincurve import PrivateKey
from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from smartccp.privacy.records import (
    Identity,
    RecipientKey,
    RecordNotForKey,
    key_id,
    open_sealed,
    owner_tag,
    seal,
)
from smartccp.privacy.stealth import (
    StealthKeys,
    address_of,
    derive_own,
    generate,
    parse_meta_address,
)

ALICE, BOB = StealthKeys.from_seed("alice"), StealthKeys.from_seed("bob")


def test_stealth__derived_key_controls_the_address__only_its_owner_recognises_it():
    ephemeral = PrivateKey(keccak(b"ephemeral"))
    sa = generate(ALICE.meta_address, ephemeral)
    assert address_of(ALICE.private_key_for(sa.ephemeral_public).public_key) == sa.address
    assert ALICE.owns(sa.address, sa.ephemeral_public, sa.view_tag)
    assert not BOB.owns(sa.address, sa.ephemeral_public, sa.view_tag)
    assert not ALICE.owns(sa.address, sa.ephemeral_public, (sa.view_tag + 1) % 256)  # view tag screens first
    # Neither the spending nor the viewing key's own address: nothing ties it to Alice's keys.
    assert sa.address not in (address_of(ALICE.spending.public_key), address_of(ALICE.viewing.public_key))
    assert generate(ALICE.meta_address, PrivateKey(keccak(b"another"))).address != sa.address


def test_stealth__own_addresses__reproducible_per_label__distinct_across_labels_and_owners():
    day1, key1 = derive_own(ALICE, "2026-12-07")
    again, _ = derive_own(ALICE, "2026-12-07")
    day2, _ = derive_own(ALICE, "2026-12-08")
    bobs, _ = derive_own(BOB, "2026-12-07")
    assert day1 == again and address_of(key1.public_key) == day1.address
    assert len({day1.address, day2.address, bobs.address}) == 3


def test_stealth__meta_address__round_trip__malformed_refused():
    spending, viewing = parse_meta_address(ALICE.meta_address)
    assert (spending.format(), viewing.format()) == (ALICE.spending.public_key.format(),
                                                     ALICE.viewing.public_key.format())
    for bad in ("st:eth:0x1234", ALICE.meta_address.replace("st:eth", "st:btc"), ALICE.meta_address[:-2]):
        with pytest.raises(ValueError):
            parse_meta_address(bad)


def test_records__sealed_to_ccp_and_regulator__open_with_their_keys_only():
    ccp, regulator, other = (RecipientKey.from_seed(s) for s in ("ccp", "regulator", "other"))
    identity = Identity(to_checksum_address("0x" + "11" * 20), to_checksum_address("0x" + "22" * 20),
                        to_checksum_address("0x" + "33" * 20), b"\x07" * 32)
    sealed = seal(identity, ccp.public, regulator.public)
    assert (sealed.ccp_key_id, sealed.regulator_key_id) == (ccp.id, regulator.id)
    assert open_sealed(sealed.for_ccp, ccp) == identity
    assert open_sealed(sealed.for_regulator, regulator) == identity
    for ciphertext, key in ((sealed.for_ccp, regulator), (sealed.for_regulator, ccp), (sealed.for_ccp, other)):
        with pytest.raises(RecordNotForKey):
            open_sealed(ciphertext, key)
    assert sealed.for_ccp != sealed.for_regulator  # one fresh ephemeral key per recipient
    assert len(sealed.for_ccp) == 65 + 16 + 16 + 92  # ECIES envelope around the 92-byte record


def test_records__owner_tag_and_key_id__as_solidity_computes_them():
    cm, owner, salt = "0x" + "ab" * 20, "0x" + "cd" * 20, b"\x01" * 32
    assert owner_tag(cm, owner, salt) == keccak(bytes(12) + bytes.fromhex("ab" * 20) + bytes(12)
                                                + bytes.fromhex("cd" * 20) + salt)
    assert owner_tag(cm, owner, salt) == keccak(encode(["address", "address", "bytes32"], [cm, owner, salt]))
    key = RecipientKey.from_seed("k")
    assert key_id(key.public) == keccak(key.public.format(compressed=False)[1:])
