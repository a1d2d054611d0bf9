// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @notice The net obligation of one account in one security for one settlement cycle, against
/// the CCP. Sign convention: `quantity` > 0 = the account receives securities, < 0 = delivers;
/// `cash` > 0 = the account receives cash, < 0 = pays. One storage slot:
/// cash (int128, 16 bytes) | quantity (int112, 14 bytes) | kept (bool, 1 byte) | listed (bool,
/// 1 byte) = 32 bytes. `listed` is set when the obligation enters the cycle's list, so an
/// obligation that nets back to zero and is traded again is never listed twice. `kept` is set
/// by a compression: part of the units the account receives stays in the CCP's custody for a
/// later cycle's delivery (`CCPBase._kept`).
struct Position {
    int128 cash;
    int112 quantity;
    bool kept;
    bool listed;
}

/// @notice One entry of a cycle's obligation list. One storage slot:
/// account (20 bytes) | securityId (uint88, 11 bytes) | failed (bool, 1 byte) = 32 bytes.
/// `failed` is set at pay-in when the account did not pay or deliver in full.
struct Entry {
    address account;
    uint88 securityId;
    bool failed;
}

/// @notice What an account failed to pay in for one obligation. One slot: securities | cash.
struct Shortfall {
    uint128 securities;
    uint128 cash;
}

/// @title NettingLib — multilateral netting arithmetic on packed positions
/// @notice Each novated leg adds a signed (quantity, cash) delta to its account's position; the
/// CCP's own position is the negation of the sum, so it is never stored (it is flat by
/// construction: every trade adds +q to the buyer and -q to the seller, and -c / +c in cash).
library NettingLib {
    /// @notice An amount does not fit the packed position (quantity < 2^111, cash < 2^127).
    error AmountTooLarge(uint256 quantity, uint256 cashAmount);

    /// @dev The `kept` byte of a packed position.
    uint256 private constant KEPT_BYTE = uint256(0xff) << 240;

    /// @notice Add a leg to `self`. Returns true if this is the first leg of the obligation
    /// (the caller must then append it to the cycle's list).
    /// @dev SafeCast reverts if a net amount leaves the packed range.
    /// The position is read once and written once (one slot).
    function book(Position storage self, int256 quantity, int256 cashAmount) internal returns (bool first) {
        uint256 old;
        assembly ("memory-safe") {
            old := sload(self.slot)
        }
        // The struct's own layout (cash | quantity | kept | listed), read and written as one word;
        // `kept` is carried over as it was.
        first = old >> 248 == 0;
        int128 newCash = SafeCast.toInt128(int256(int128(uint128(old))) + cashAmount);
        int112 newQuantity = SafeCast.toInt112(int256(int112(uint112(old >> 128))) + quantity);
        uint256 word = uint256(uint128(newCash)) | (uint256(uint112(newQuantity)) << 128) | (old & KEPT_BYTE)
            | (uint256(1) << 248);
        assembly ("memory-safe") {
            sstore(self.slot, word)
        }
    }

    /// @notice Check that one trade's quantity and cash fit a position, before booking it.
    function checkSize(uint256 quantity, uint256 cashAmount) internal pure {
        if (quantity >= 1 << 111 || cashAmount >= 1 << 127) revert AmountTooLarge(quantity, cashAmount);
    }

    /// @notice What the account owes the CCP: securities to deliver and cash to pay.
    function payables(Position memory p) internal pure returns (uint256 securities, uint256 cashAmount) {
        // Casting a negative int to its magnitude: the values are bounded by the packed types.
        securities = p.quantity < 0 ? uint256(-int256(p.quantity)) : 0;
        cashAmount = p.cash < 0 ? uint256(-int256(p.cash)) : 0;
    }

    /// @notice What the CCP owes the account: securities to receive and cash to receive.
    function receivables(Position memory p) internal pure returns (uint256 securities, uint256 cashAmount) {
        securities = p.quantity > 0 ? uint256(int256(p.quantity)) : 0;
        cashAmount = p.cash > 0 ? uint256(int256(p.cash)) : 0;
    }
}
