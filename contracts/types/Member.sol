// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice What an admitted account is. Clearing members clear for themselves and their clients;
/// participants (non-clearing) trade and clear only through their clearing member; institutions
/// (issuers, the settlement bank) hold and issue but do not trade; system accounts are SmartCCP's
/// own contracts (CCP, venues, margin, default fund), which hold assets in custody.
enum MemberKind {
    None,
    ClearingMember,
    Participant,
    Institution,
    System
}

/// @notice Life-cycle status of an admitted account.
enum MemberStatus {
    None,
    Active,
    Suspended,
    Expelled
}

/// @notice Which margin account a participant's wallet trades for, chosen when it is admitted.
/// A client (EMIR Art. 39): its own account (`Individual`: its collateral answers only for its
/// own positions) or its clearing member's omnibus client account (`Omnibus`: shared with the
/// member's other omnibus clients, never with the house). `House`: not a client but a desk, one
/// more wallet of the clearing member trading for its house account (any number of them; they
/// cost nothing per trade). `None` for everyone else (a clearing member trades for its house).
enum Segregation {
    None,
    Individual,
    Omnibus,
    House
}

/// @notice One register entry. Packed in one storage slot:
/// kind (1 byte) | status (1 byte) | kycExpiry (8 bytes) | clearingMember (20 bytes) |
/// segregation (1 byte) = 31 bytes.
/// @dev `clearingMember` is the account itself for a clearing member, the clearing member for a
/// participant, and zero for institutions and system accounts. `segregation` is set for
/// participants only.
struct Member {
    MemberKind kind;
    MemberStatus status;
    uint64 kycExpiry;
    address clearingMember;
    Segregation segregation;
}

// The clearing member every unrevealed pseudonym (#24) is registered under: an address derived
// from a label, so nobody holds its key. It never trades, pays, deposits or signs; a pseudonym
// under it pays and receives its own cash, and the default manager opens the pseudonym
// (`revealPseudonym`) to put it under the member behind it.
address constant PSEUDONYM_SPONSOR = address(uint160(uint256(keccak256("SmartCCP.pseudonym-sponsor"))));
