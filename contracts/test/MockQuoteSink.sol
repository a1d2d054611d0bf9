// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IQuoteSink} from "../interfaces/IQuoteSink.sol";

/// @notice Test double: records the last top of book each venue published, and counts calls.
contract MockQuoteSink is IQuoteSink {
    struct Top {
        uint256 bidPrice;
        uint256 bidSize;
        uint256 askPrice;
        uint256 askSize;
    }

    mapping(address venue => mapping(uint256 securityId => Top)) public tops;
    uint256 public calls;

    function onTopOfBook(uint256 securityId, uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize)
        external
    {
        tops[msg.sender][securityId] = Top(bidPrice, bidSize, askPrice, askSize);
        ++calls;
    }
}
