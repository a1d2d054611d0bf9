// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IQuoteSink} from "../interfaces/IQuoteSink.sol";

/// @notice Test double: accepts every push and does nothing, to measure a venue's own share of
/// top-of-book publishing (the BBO's share is the rest).
contract MockNullQuoteSink is IQuoteSink {
    function pushTopOfBook(uint256, uint256, uint256, uint256, uint256) external {}
}
