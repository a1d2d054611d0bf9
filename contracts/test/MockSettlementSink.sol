// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISettlement} from "../interfaces/ISettlement.sol";
import {Settle} from "../types/Settle.sol";

/// @notice Test double: records each instruction as an event and counts them, nothing else.
/// Also the "bare recorded instruction" baseline the benchmark compares novation against.
contract MockSettlementSink is ISettlement {
    event InstructionRecorded(uint256 indexed tradeId, bytes32 bidOrderHash, bytes32 offerOrderHash, Settle instruction);

    uint256 public count;

    function settle(Settle calldata instruction) external {
        ++count;
        emit InstructionRecorded(instruction.tradeId, instruction.bidOrderHash, instruction.offerOrderHash, instruction);
    }
}
