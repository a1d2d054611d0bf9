// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IQuoteSink — receives a venue's top of book whenever it changes (F5)
/// @notice Implemented by the BBO contract. A venue calls `onTopOfBook` at the end of any
/// operation that changed its best displayed bid or offer (price or size) for a security, so the
/// consolidated quote is always current and cheap to read. Prices are cash base units per unit;
/// sizes are displayed units; a zero price means that side is empty.
interface IQuoteSink {
    /// @notice The venue's new best displayed bid and offer for `securityId`.
    function onTopOfBook(uint256 securityId, uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize)
        external;
}
