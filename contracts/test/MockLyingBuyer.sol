// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ITradeVenue} from "../interfaces/ITradeVenue.sol";
import {Order} from "../types/Order.sol";

/// @notice Test double of a hostile member: a contract account that trades through
/// `placeTrusted` and, on receiving securities, reverts with revert data of its choice (for
/// instance a token error that names the seller), trying to make the venue withdraw honest
/// makers' orders or to freeze the book with its own resting bid.
contract MockLyingBuyer {
    bytes public lie;

    function approveCash(address cash, address ccp) external {
        IERC20(cash).approve(ccp, type(uint256).max);
    }

    function setLie(bytes calldata lie_) external {
        lie = lie_;
    }

    function place(address venue, Order calldata order, uint256 maxMakers) external returns (uint256 orderId, uint256 filled) {
        return ITradeVenue(venue).placeTrusted(order, maxMakers);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external view returns (bytes4) {
        bytes memory data = lie;
        if (data.length != 0) {
            assembly ("memory-safe") {
                revert(add(data, 32), mload(data))
            }
        }
        return this.onERC1155Received.selector;
    }
}
