// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IMembership} from "../interfaces/IMembership.sol";
import {IPseudonyms, PseudonymAttestation, PseudonymRecord} from "../interfaces/IPseudonyms.sol";
import {IRegisterSubscriber} from "../interfaces/IRegisterSubscriber.sol";
import {Member, MemberKind, MemberStatus, PSEUDONYM_SPONSOR, Segregation} from "../types/Member.sol";

/// @title Membership — the register of admitted participants (F1)
/// @notice Admission, KYC expiry, suspension, reinstatement, expulsion and client porting. Every
/// change is pushed to the subscribers (ledgers, venues) so they check holders locally.
/// Pseudonymous trading addresses (#24) are admitted on the register's signed attestation.
contract Membership is IMembership, IPseudonyms, AccessControl, EIP712 {
    /// @notice Admits members, renews KYC, reinstates, ports clients (system contracts: the admin).
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Suspends and expels (the operator, and the CCP's default management).
    bytes32 public constant DEFAULT_MANAGER_ROLE = keccak256("DEFAULT_MANAGER_ROLE");
    /// @notice Signs pseudonym attestations (the register's KYC desk; the operator at deployment).
    bytes32 public constant ATTESTER_ROLE = keccak256("ATTESTER_ROLE");
    /// @notice The EIP-712 type of a pseudonym attestation.
    bytes32 public constant ATTESTATION_TYPEHASH =
        keccak256("PseudonymAttestation(address pseudonym,bytes32 ownerTag,uint64 expiresAt,bytes32 recordHash)");
    /// @notice Shortest ciphertext an identity record may have: ECIES's ephemeral key (65 bytes),
    /// nonce (16) and tag (16) around at least one byte.
    uint256 public constant MIN_RECORD_LENGTH = 98;
    /// @notice At most this many contracts mirror the register (each change writes to all of them).
    uint256 public constant MAX_SUBSCRIBERS = 8;
    /// @notice Largest batch accepted by `resync`.
    uint256 public constant MAX_BATCH = 100;

    mapping(address account => Member) private _members;
    address[] private _subscribers;
    mapping(address clearingMember => mapping(address client => bool)) private _portConsent;
    mapping(address clearingMember => mapping(address fromClearingMember => bool)) private _portConsentFrom;
    mapping(address pseudonym => bytes32) private _ownerTags;
    mapping(bytes32 ownerTag => bool) private _suspendedOwners;
    mapping(bytes32 digest => bool) private _usedAttestations;
    bytes32 private _ccpKeyId;
    bytes32 private _regulatorKeyId;

    /// @param operator Receives the admin, operator and default-manager roles.
    constructor(address operator) EIP712("SmartCCP Membership", "1") {
        if (operator == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
        _grantRole(DEFAULT_MANAGER_ROLE, operator);
        _grantRole(ATTESTER_ROLE, operator);
    }

    // ─── Admission ───────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMembership
    function admitClearingMember(address account, uint64 kycExpiry) external onlyRole(OPERATOR_ROLE) {
        _admit(account, Member(MemberKind.ClearingMember, MemberStatus.Active, kycExpiry, account, Segregation.None));
    }

    /// @inheritdoc IMembership
    function admitParticipant(address account, address clearingMember, uint64 kycExpiry, Segregation segregation)
        external
        onlyRole(OPERATOR_ROLE)
    {
        _requireActiveClearingMember(clearingMember);
        if (segregation == Segregation.None) revert NoSegregation(account);
        _admit(account, Member(MemberKind.Participant, MemberStatus.Active, kycExpiry, clearingMember, segregation));
    }

    /// @inheritdoc IMembership
    function admitInstitution(address account, uint64 kycExpiry) external onlyRole(OPERATOR_ROLE) {
        _admit(account, Member(MemberKind.Institution, MemberStatus.Active, kycExpiry, address(0), Segregation.None));
    }

    /// @inheritdoc IMembership
    function registerSystem(address account) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _admit(account, Member(MemberKind.System, MemberStatus.Active, type(uint64).max, address(0), Segregation.None));
    }

    // ─── Status ──────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMembership
    function renewKyc(address account, uint64 kycExpiry) external onlyRole(OPERATOR_ROLE) {
        Member memory entry = _existing(account);
        if (entry.status == MemberStatus.Expelled) revert MemberExpelled(account);
        if (kycExpiry <= block.timestamp) revert KycExpiryInPast(kycExpiry);
        entry.kycExpiry = kycExpiry;
        _members[account] = entry;
        emit KycRenewed(account, kycExpiry);
        _push(account, entry);
    }

    /// @inheritdoc IMembership
    function suspend(address account) external onlyRole(DEFAULT_MANAGER_ROLE) {
        _transition(account, MemberStatus.Active, MemberStatus.Suspended);
    }

    /// @inheritdoc IMembership
    function reinstate(address account) external onlyRole(OPERATOR_ROLE) {
        _transition(account, MemberStatus.Suspended, MemberStatus.Active);
    }

    /// @inheritdoc IMembership
    function expel(address account) external onlyRole(DEFAULT_MANAGER_ROLE) {
        Member memory entry = _existing(account);
        if (entry.status == MemberStatus.Expelled) {
            revert InvalidStatusTransition(account, entry.status, MemberStatus.Expelled);
        }
        _setStatus(account, entry, MemberStatus.Expelled);
    }

    /// @inheritdoc IMembership
    function portClient(address client, address toClearingMember) external {
        if (msg.sender != client) _checkRole(OPERATOR_ROLE);
        Member memory entry = _existing(client);
        if (entry.kind != MemberKind.Participant) {
            revert WrongMemberKind(client, MemberKind.Participant, entry.kind);
        }
        if (entry.status == MemberStatus.Expelled) revert MemberExpelled(client);
        if (entry.segregation == Segregation.House) revert DeskNotPortable(client);
        if (entry.clearingMember == PSEUDONYM_SPONSOR) revert PseudonymNotOpened(client);
        _requireActiveClearingMember(toClearingMember);
        address from = entry.clearingMember;
        if (_portConsent[toClearingMember][client]) {
            _portConsent[toClearingMember][client] = false;
            emit PortConsent(toClearingMember, client, false);
        } else if (!_portConsentFrom[toClearingMember][from]) {
            revert PortNotAccepted(client, toClearingMember);
        }
        entry.clearingMember = toClearingMember;
        _members[client] = entry;
        emit ClientPorted(client, from, toClearingMember);
        _push(client, entry);
    }

    /// @inheritdoc IMembership
    function acceptPort(address client, bool accepted) external {
        _requireActiveClearingMember(msg.sender);
        _portConsent[msg.sender][client] = accepted;
        emit PortConsent(msg.sender, client, accepted);
    }

    /// @inheritdoc IMembership
    function acceptPortsFrom(address fromClearingMember, bool accepted) external {
        _requireActiveClearingMember(msg.sender);
        _portConsentFrom[msg.sender][fromClearingMember] = accepted;
        emit PortConsentFrom(msg.sender, fromClearingMember, accepted);
    }

    /// @inheritdoc IMembership
    function portAccepted(address client, address toClearingMember) external view returns (bool) {
        return _portConsent[toClearingMember][client]
            || _portConsentFrom[toClearingMember][_members[client].clearingMember];
    }

    // ─── Pseudonyms (#24) ────────────────────────────────────────────────────────────────────

    /// @inheritdoc IPseudonyms
    function setRecordKeys(bytes32 ccpKeyId, bytes32 regulatorKeyId) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (ccpKeyId == bytes32(0) || regulatorKeyId == bytes32(0)) revert RecordKeysNotSet();
        (_ccpKeyId, _regulatorKeyId) = (ccpKeyId, regulatorKeyId);
        emit RecordKeysSet(ccpKeyId, regulatorKeyId);
    }

    /// @inheritdoc IPseudonyms
    function admitPseudonym(PseudonymAttestation calldata a, PseudonymRecord calldata record, bytes calldata signature)
        external
    {
        bytes32 digest = attestationDigest(a);
        if (_usedAttestations[digest]) revert AttestationUsed(digest);
        address signer = ECDSA.recover(digest, signature);
        if (!hasRole(ATTESTER_ROLE, signer)) revert BadAttestation(signer);
        if (a.expiresAt <= block.timestamp) revert AttestationExpired(a.expiresAt);
        if (_suspendedOwners[a.ownerTag]) revert OwnerSuspended(a.ownerTag);
        _checkRecord(record, a);
        if (a.pseudonym == address(0)) revert ZeroAddress();
        if (_members[a.pseudonym].status != MemberStatus.None) revert AlreadyAdmitted(a.pseudonym);
        _usedAttestations[digest] = true;
        _ownerTags[a.pseudonym] = a.ownerTag;
        Member memory entry =
            Member(MemberKind.Participant, MemberStatus.Active, a.expiresAt, PSEUDONYM_SPONSOR, Segregation.Individual);
        _members[a.pseudonym] = entry;
        emit PseudonymAdmitted(
            a.pseudonym, a.ownerTag, a.expiresAt, record.ccpKeyId, record.regulatorKeyId, record.forCcp, record.forRegulator
        );
        if (_members[PSEUDONYM_SPONSOR].status == MemberStatus.None) {
            // The first pseudonym: the sponsor enters the register (and its subscribers' copies).
            _admit(
                PSEUDONYM_SPONSOR,
                Member(MemberKind.ClearingMember, MemberStatus.Active, type(uint64).max, PSEUDONYM_SPONSOR, Segregation.None)
            );
        }
        _push(a.pseudonym, entry);
    }

    /// @inheritdoc IPseudonyms
    function suspendOwner(bytes32 ownerTag) external onlyRole(DEFAULT_MANAGER_ROLE) {
        _suspendedOwners[ownerTag] = true;
        emit OwnerTagSuspended(ownerTag, true);
    }

    /// @inheritdoc IPseudonyms
    function reinstateOwner(bytes32 ownerTag) external onlyRole(OPERATOR_ROLE) {
        _suspendedOwners[ownerTag] = false;
        emit OwnerTagSuspended(ownerTag, false);
    }

    /// @inheritdoc IPseudonyms
    function revealPseudonym(address pseudonym, address clearingMember, address owner, bytes32 salt)
        external
        onlyRole(DEFAULT_MANAGER_ROLE)
    {
        Member memory entry = _members[pseudonym];
        if (entry.clearingMember != PSEUDONYM_SPONSOR || pseudonym == PSEUDONYM_SPONSOR) revert NotPseudonym(pseudonym);
        if (keccak256(abi.encode(clearingMember, owner, salt)) != _ownerTags[pseudonym]) {
            revert RevealMismatch(pseudonym);
        }
        // The member behind it may already be suspended (a default): admitted and a clearing
        // member is all that is required.
        MemberKind kind = _existing(clearingMember).kind;
        if (kind != MemberKind.ClearingMember) revert WrongMemberKind(clearingMember, MemberKind.ClearingMember, kind);
        entry.clearingMember = clearingMember;
        _members[pseudonym] = entry;
        emit PseudonymRevealed(pseudonym, clearingMember, owner);
        _push(pseudonym, entry);
    }

    /// @inheritdoc IPseudonyms
    function pseudonymSponsor() external pure returns (address) {
        return PSEUDONYM_SPONSOR;
    }

    /// @inheritdoc IPseudonyms
    function ownerTagOf(address pseudonym) external view returns (bytes32) {
        return _ownerTags[pseudonym];
    }

    /// @inheritdoc IPseudonyms
    function ownerSuspended(bytes32 ownerTag) external view returns (bool) {
        return _suspendedOwners[ownerTag];
    }

    /// @inheritdoc IPseudonyms
    function recordKeys() external view returns (bytes32 ccpKeyId, bytes32 regulatorKeyId) {
        return (_ccpKeyId, _regulatorKeyId);
    }

    /// @inheritdoc IPseudonyms
    function attestationDigest(PseudonymAttestation calldata a) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ATTESTATION_TYPEHASH, a.pseudonym, a.ownerTag, a.expiresAt, a.recordHash)));
    }

    /// @inheritdoc IPseudonyms
    function recordHash(PseudonymRecord calldata record) public pure returns (bytes32) {
        return keccak256(
            abi.encode(record.ccpKeyId, record.regulatorKeyId, keccak256(record.forCcp), keccak256(record.forRegulator))
        );
    }

    // ─── Subscribers ─────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMembership
    function addSubscriber(address subscriber) external onlyRole(OPERATOR_ROLE) {
        if (subscriber == address(0)) revert ZeroAddress();
        if (_subscribers.length == MAX_SUBSCRIBERS) revert TooManySubscribers(MAX_SUBSCRIBERS);
        _subscribers.push(subscriber);
        emit SubscriberAdded(subscriber);
    }

    /// @inheritdoc IMembership
    function resync(address[] calldata accounts) external onlyRole(OPERATOR_ROLE) {
        if (accounts.length > MAX_BATCH) revert BatchTooLarge(accounts.length, MAX_BATCH);
        for (uint256 i; i < accounts.length; ++i) {
            _push(accounts[i], _members[accounts[i]]);
        }
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMembership
    function memberOf(address account) external view returns (Member memory) {
        return _members[account];
    }

    /// @inheritdoc IMembership
    function isActive(address account) external view returns (bool) {
        Member memory entry = _members[account];
        return entry.status == MemberStatus.Active && entry.kycExpiry >= block.timestamp;
    }

    /// @inheritdoc IMembership
    function checkActive(address account) public view {
        Member memory entry = _members[account];
        if (entry.status == MemberStatus.None) revert NotAdmitted(account);
        if (entry.status == MemberStatus.Suspended) revert MemberSuspended(account);
        if (entry.status == MemberStatus.Expelled) revert MemberExpelled(account);
        if (entry.kycExpiry < block.timestamp) revert KycExpired(account, entry.kycExpiry);
    }

    /// @inheritdoc IMembership
    function clearingMemberOf(address account) external view returns (address) {
        return _members[account].clearingMember;
    }

    /// @inheritdoc IMembership
    function subscribers() external view returns (address[] memory) {
        return _subscribers;
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────────

    function _admit(address account, Member memory entry) private {
        if (account == address(0)) revert ZeroAddress();
        if (_members[account].status != MemberStatus.None) revert AlreadyAdmitted(account);
        if (entry.kycExpiry <= block.timestamp) revert KycExpiryInPast(entry.kycExpiry);
        _members[account] = entry;
        emit MemberAdmitted(account, entry.kind, entry.clearingMember, entry.kycExpiry, entry.segregation);
        _push(account, entry);
    }

    function _transition(address account, MemberStatus from, MemberStatus to) private {
        Member memory entry = _existing(account);
        if (entry.status != from) revert InvalidStatusTransition(account, entry.status, to);
        _setStatus(account, entry, to);
    }

    function _setStatus(address account, Member memory entry, MemberStatus to) private {
        MemberStatus from = entry.status;
        entry.status = to;
        _members[account] = entry;
        emit MemberStatusChanged(account, from, to);
        _push(account, entry);
    }

    /// @dev The record is for the register's current keys, well formed, and the one attested.
    function _checkRecord(PseudonymRecord calldata record, PseudonymAttestation calldata a) private view {
        (bytes32 ccpKey, bytes32 regulatorKey) = (_ccpKeyId, _regulatorKeyId);
        if (ccpKey == bytes32(0)) revert RecordKeysNotSet();
        if (record.ccpKeyId != ccpKey || record.regulatorKeyId != regulatorKey) {
            revert RecordKeyMismatch(record.ccpKeyId, record.regulatorKeyId);
        }
        if (
            record.forCcp.length < MIN_RECORD_LENGTH || record.forRegulator.length < MIN_RECORD_LENGTH
                || a.ownerTag == bytes32(0)
        ) revert RecordMalformed();
        if (recordHash(record) != a.recordHash) revert RecordNotAttested(recordHash(record));
    }

    function _requireActiveClearingMember(address account) private view {
        if (account == PSEUDONYM_SPONSOR) revert ReservedAccount(account);
        checkActive(account);
        MemberKind kind = _members[account].kind;
        if (kind != MemberKind.ClearingMember) revert WrongMemberKind(account, MemberKind.ClearingMember, kind);
    }

    function _existing(address account) private view returns (Member memory entry) {
        entry = _members[account];
        if (entry.status == MemberStatus.None) revert NotAdmitted(account);
    }

    /// @dev Bounded: at most MAX_SUBSCRIBERS calls. Subscribers are our own contracts (trusted).
    function _push(address account, Member memory entry) private {
        uint256 n = _subscribers.length;
        for (uint256 i; i < n; ++i) {
            IRegisterSubscriber(_subscribers[i]).syncHolder(account, entry);
        }
    }
}
