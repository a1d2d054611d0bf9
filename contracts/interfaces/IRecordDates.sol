// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IRecordDates — the depository's balances at record dates (issue #21)
/// @notice A security's record dates are declared in the future, in increasing order, numbered
/// 1, 2, ... per security; a holder's balance at a record date is its balance after every
/// movement at or before that time. Kept lazily: see `RecordDates`.
interface IRecordDates {
    /// @notice Record date `ordinal` (counted from 1) of security `id` is `date`.
    event RecordDateSet(uint256 indexed id, uint48 indexed ordinal, uint48 date);

    /// @notice A record date must be in the future and after `id`'s latest one (`latest`).
    error BadRecordDate(uint256 id, uint48 date, uint48 latest);
    /// @notice `id` has no record date `ordinal` that has passed.
    error RecordDateNotPassed(uint256 id, uint48 ordinal);

    /// @notice Number of record dates of `id` and the latest of them (0 if none).
    function recordDates(uint256 id) external view returns (uint48 count, uint48 latest);
    /// @notice `holder`'s balance of `id` at record date `ordinal`, which must have passed.
    function balanceAtRecord(uint256 id, address holder, uint48 ordinal) external view returns (uint256);
}
