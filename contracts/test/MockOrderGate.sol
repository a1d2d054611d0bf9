// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOrderGate} from "../interfaces/IOrderGate.sol";
import {Side} from "../types/Order.sol";

/// @notice Test double: approves orders whose notional (quantity x price) fits the owner's
/// limit, refuses others with InsufficientMargin; counts approvals.
contract MockOrderGate is IOrderGate {
    error InsufficientMargin(address member, uint256 required, uint256 posted);

    mapping(address => uint256) public limitOf;
    uint256 public approvals;

    function setLimit(address owner, uint256 limit) external {
        limitOf[owner] = limit;
    }

    function checkOrder(address owner, uint256, Side, uint256 quantity, uint256 price) external {
        uint256 required = quantity * price;
        if (required > limitOf[owner]) revert InsufficientMargin(owner, required, limitOf[owner]);
        ++approvals;
    }
}
