// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IQuoteSink — receives a venue's top of book whenever it changes (F5)
/// @notice Implemented by the BBO contract. A venue calls `pushTopOfBook` at the end of every
/// operation that may have changed its best displayed bid or offer (price or size) for a
/// security, so the consolidated quote is always current and cheap to read. The venue keeps no
/// copy of what it last pushed: the sink stores the venue's top anyway and drops a repeat, so a
/// second copy in the venue (one more storage word per push) would only duplicate it. Prices are
/// cash base units per unit; sizes are displayed units; a zero price means that side is empty.
/// A venue pushes only quotes that can be traded against now (#23): when the security leaves
/// continuous trading there (closed, call auction) or is halted, it pushes an empty top (all
/// zeros) and nothing more until trading resumes, when it pushes its top again.
/// A sink should not revert: a revert stops the venue's operation. (The name is chosen so its
/// selector, 0x0d6a1c02, sorts near the front of the BBO's function dispatch.)
interface IQuoteSink {
    /// @notice The venue's new best displayed bid and offer for `securityId`.
    function pushTopOfBook(uint256 securityId, uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize)
        external;
}
