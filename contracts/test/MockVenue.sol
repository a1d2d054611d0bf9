// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISettlement} from "../interfaces/ISettlement.sol";
import {Settle} from "../types/Settle.sol";

/// @notice Test double of a Trade venue: forwards instructions to settlement, one or many per
/// transaction (as a venue does when one order matches several resting orders).
contract MockVenue {
    ISettlement public immutable settlement;

    constructor(address settlement_) {
        settlement = ISettlement(settlement_);
    }

    function settleOne(Settle calldata instruction) external {
        settlement.settle(instruction);
    }

    function settleBatch(Settle[] calldata instructions) external {
        for (uint256 i; i < instructions.length; ++i) {
            settlement.settle(instructions[i]);
        }
    }
}
