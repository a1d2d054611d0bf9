// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The register's attestation that `pseudonym` may trade: signed (EIP-712) by a holder of
/// the register's `ATTESTER_ROLE` after it has checked who stands behind the address. It names
/// no owner: `ownerTag` is a hiding commitment `keccak256(abi.encode(clearingMember, owner, salt))`
/// that only the owner, the register, the CCP and the regulator can open. `recordHash` binds the
/// encrypted identity record (`PseudonymRecord`) the attestation was given for.
struct PseudonymAttestation {
    address pseudonym;
    bytes32 ownerTag;
    uint64 expiresAt;
    bytes32 recordHash;
}

/// @notice Who stands behind a pseudonym (owner, its clearing member, the tag's salt), encrypted
/// (ECIES over secp256k1) once to the CCP's key and once to the regulator's. The key ids are the
/// keccak-256 of each recipient's 64-byte public key; they must be the register's current ones.
struct PseudonymRecord {
    bytes32 ccpKeyId;
    bytes32 regulatorKeyId;
    bytes forCcp;
    bytes forRegulator;
}

/// @title IPseudonyms — trading addresses the public cannot tie to their owner (#24)
/// @notice A member or client trades from fresh addresses (stealth addresses, ERC-5564) that the
/// register admits on its signed attestation. Such an address is an individually segregated
/// account of its own (its positions, collateral and settlement are its own), cleared under the
/// register's pseudonymous sponsor until the default manager opens its tag (`revealPseudonym`):
/// it then becomes an ordinary client account of the clearing member behind it, and default
/// management goes on as for any client. The CCP and the regulator read the owner from the
/// encrypted record in `PseudonymAdmitted`.
interface IPseudonyms {
    /// @notice A pseudonym was admitted until `expiresAt`, with its identity record encrypted to
    /// the CCP's and the regulator's keys.
    event PseudonymAdmitted(
        address indexed pseudonym,
        bytes32 ownerTag,
        uint64 expiresAt,
        bytes32 ccpKeyId,
        bytes32 regulatorKeyId,
        bytes forCcp,
        bytes forRegulator
    );
    /// @notice The default manager opened a pseudonym's tag: `owner`, cleared by `clearingMember`.
    event PseudonymRevealed(address indexed pseudonym, address indexed clearingMember, address owner);
    /// @notice No new pseudonym may be admitted for the owner behind `ownerTag` (or again may).
    event OwnerTagSuspended(bytes32 indexed ownerTag, bool suspended);
    /// @notice The keys identity records must be encrypted to.
    event RecordKeysSet(bytes32 ccpKeyId, bytes32 regulatorKeyId);

    /// @notice The attestation was not signed by a holder of `ATTESTER_ROLE` (`signer` recovered).
    error BadAttestation(address signer);
    /// @notice This attestation (EIP-712 digest) was already used.
    error AttestationUsed(bytes32 digest);
    /// @notice The attestation expired at `expiresAt`.
    error AttestationExpired(uint64 expiresAt);
    /// @notice The owner behind `ownerTag` is suspended: no new pseudonym for it.
    error OwnerSuspended(bytes32 ownerTag);
    /// @notice The record is encrypted to other keys than the register's current ones.
    error RecordKeyMismatch(bytes32 ccpKeyId, bytes32 regulatorKeyId);
    /// @notice The record given is not the one attested (its hash is `recordHash`).
    error RecordNotAttested(bytes32 recordHash);
    /// @notice No record keys are set yet: pseudonyms cannot be admitted.
    error RecordKeysNotSet();
    /// @notice A ciphertext shorter than an ECIES envelope (97 bytes) or an empty tag.
    error RecordMalformed();
    /// @notice `account` is not a pseudonym cleared by the sponsor (never was, or already revealed).
    error NotPseudonym(address account);
    /// @notice `pseudonym` is still unopened: a client's porting needs its clearing member known.
    error PseudonymNotOpened(address pseudonym);
    /// @notice The opening given does not match `pseudonym`'s tag.
    error RevealMismatch(address pseudonym);
    /// @notice `account` is reserved (the pseudonymous sponsor): it cannot be used as a clearing member.
    error ReservedAccount(address account);

    /// @notice Set the keys identity records are encrypted to (admin: the timelock).
    function setRecordKeys(bytes32 ccpKeyId, bytes32 regulatorKeyId) external;
    /// @notice Admit `a.pseudonym` as an individually segregated account under the pseudonymous
    /// sponsor, KYC-valid until `a.expiresAt`. Anyone may submit (a gateway, the pseudonym): the
    /// register's signature is what admits. Refused: `BadAttestation`, `AttestationUsed`,
    /// `AttestationExpired`, `OwnerSuspended`, `RecordKeyMismatch`, `RecordKeysNotSet`,
    /// `RecordMalformed`, `RecordNotAttested`, `AlreadyAdmitted`, `ZeroAddress`.
    function admitPseudonym(PseudonymAttestation calldata a, PseudonymRecord calldata record, bytes calldata signature)
        external;
    /// @notice No new pseudonym for the owner behind `ownerTag` (default manager). Its admitted
    /// pseudonyms are suspended one by one with `suspend` (the register knows them).
    function suspendOwner(bytes32 ownerTag) external;
    /// @notice Pseudonyms may again be admitted for `ownerTag` (operator).
    function reinstateOwner(bytes32 ownerTag) external;
    /// @notice Open `pseudonym`'s tag on chain (default manager; on a default): checks
    /// `keccak256(abi.encode(clearingMember, owner, salt))` against the tag, then makes the
    /// pseudonym an individual client account of `clearingMember` (Margin moves it whole).
    function revealPseudonym(address pseudonym, address clearingMember, address owner, bytes32 salt) external;

    /// @notice The clearing member every unrevealed pseudonym is registered under: an address
    /// nobody holds a key for, with no margin and no fund contribution of its own.
    function pseudonymSponsor() external view returns (address);
    /// @notice The owner tag `pseudonym` was admitted with (zero if none).
    function ownerTagOf(address pseudonym) external view returns (bytes32);
    /// @notice True if no new pseudonym may be admitted for `ownerTag`.
    function ownerSuspended(bytes32 ownerTag) external view returns (bool);
    /// @notice The current record keys (CCP, regulator).
    function recordKeys() external view returns (bytes32 ccpKeyId, bytes32 regulatorKeyId);
    /// @notice The EIP-712 digest the attester signs for `a`.
    function attestationDigest(PseudonymAttestation calldata a) external view returns (bytes32);
    /// @notice The `recordHash` an attestation must carry for `record`.
    function recordHash(PseudonymRecord calldata record) external pure returns (bytes32);
}
