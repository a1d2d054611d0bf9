// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IQuoteSink} from "../interfaces/IQuoteSink.sol";

/// @notice Test double: records the last top of book each venue published. Like the BBO, it
/// drops a push that repeats the venue's recorded top (venues push after every book operation and
/// keep no copy of their last push): `calls` counts the pushes that changed a recorded top,
/// `pushes` every push received.
contract MockQuoteSink is IQuoteSink {
    struct Top {
        uint256 bidPrice;
        uint256 bidSize;
        uint256 askPrice;
        uint256 askSize;
    }

    mapping(address venue => mapping(uint256 securityId => Top)) public tops;
    uint256 public calls;
    uint256 public pushes;

    function pushTopOfBook(uint256 securityId, uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize)
        external
    {
        ++pushes;
        Top storage t = tops[msg.sender][securityId];
        if (t.bidPrice == bidPrice && t.bidSize == bidSize && t.askPrice == askPrice && t.askSize == askSize) return;
        tops[msg.sender][securityId] = Top(bidPrice, bidSize, askPrice, askSize);
        ++calls;
    }
}
