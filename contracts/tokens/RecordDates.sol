// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IRecordDates} from "../interfaces/IRecordDates.sol";

/// @title RecordDates — holders' balances at each record date of a security, written lazily
/// @notice The depository's register of entitlements (issue #21): a security's record dates
/// (declared in the future, in increasing order, numbered 1, 2, ... per security) and, per holder,
/// its balance at every record date, without any work proportional to the number of holders.
/// @dev Snapshot on write, stored in OpenZeppelin `Checkpoints.Trace208`: per security the record
/// dates (key: the date, value: its ordinal); per (security, holder) checkpoints keyed by ordinal.
/// Before a holder's balance changes at time `t`, if record dates have passed (date < t) since its
/// last checkpoint, its balance before the change is pushed under the latest passed ordinal: the
/// balance it held at that record date and at every one since its previous change. A balance at
/// ordinal `k` is then the first checkpoint with key >= k, or the current balance when none is.
/// A security without record dates pays one storage read per transfer; a holder's first change
/// after a record date one new checkpoint (once per holder and record date at most).
abstract contract RecordDates is IRecordDates {
    using Checkpoints for Checkpoints.Trace208;

    mapping(uint256 id => Checkpoints.Trace208) private _recordDates;
    mapping(uint256 id => mapping(address holder => Checkpoints.Trace208)) private _atRecord;

    /// @inheritdoc IRecordDates
    function recordDates(uint256 id) public view returns (uint48 count, uint48 latest) {
        (, uint48 date, uint208 n) = _recordDates[id].latestCheckpoint();
        return (uint48(n), date); // n counts checkpoints: below 2^48
    }

    /// @inheritdoc IRecordDates
    function balanceAtRecord(uint256 id, address holder, uint48 ordinal) public view returns (uint256) {
        Checkpoints.Trace208 storage dates = _recordDates[id];
        uint256 n = dates.length();
        // Ordinal k is checkpoint k - 1; a date passes when the block time is beyond it.
        if (ordinal == 0 || ordinal > n || dates.at(uint32(ordinal - 1))._key >= block.timestamp) {
            revert RecordDateNotPassed(id, ordinal);
        }
        Checkpoints.Trace208 storage mine = _atRecord[id][holder];
        (bool exists, uint48 key,) = mine.latestCheckpoint();
        if (!exists || key < ordinal) return _balanceNow(holder, id);
        return mine.lowerLookup(ordinal);
    }

    /// @dev Append record date `date` to `id`; returns its ordinal.
    function _addRecordDate(uint256 id, uint48 date) internal returns (uint48 ordinal) {
        (uint48 count, uint48 latest) = recordDates(id);
        if (date <= block.timestamp || date <= latest) revert BadRecordDate(id, date, latest);
        ordinal = count + 1;
        _recordDates[id].push(date, ordinal);
        emit RecordDateSet(id, ordinal, date);
    }

    /// @dev Whether `id` has record dates: one storage read, all a security without them pays.
    function _hasRecordDates(uint256 id) internal view returns (bool) {
        return _recordDates[id]._checkpoints.length != 0;
    }

    /// @dev Before a movement of `id` from `from` to `to` (either zero for an issue or a
    /// redemption): keep each side's balance at the record dates passed since its last change.
    function _bookRecords(uint256 id, address from, address to) internal {
        uint48 passed = uint48(_recordDates[id].upperLookupRecent(SafeCast.toUint48(block.timestamp - 1)));
        if (passed == 0) return;
        if (from != address(0)) _bookRecord(id, from, passed);
        if (to != address(0)) _bookRecord(id, to, passed);
    }

    /// @dev Keep `holder`'s balance of `id` at the latest passed record date `passed` unless
    /// already kept (a checkpoint at `passed` or later).
    function _bookRecord(uint256 id, address holder, uint48 passed) private {
        Checkpoints.Trace208 storage mine = _atRecord[id][holder];
        (bool exists, uint48 key,) = mine.latestCheckpoint();
        if (exists && key >= passed) return;
        mine.push(passed, SafeCast.toUint208(_balanceNow(holder, id)));
    }

    /// @dev The holder's balance of `id` now (the token's own ledger).
    function _balanceNow(address holder, uint256 id) internal view virtual returns (uint256);
}
