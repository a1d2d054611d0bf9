// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";

/// @notice Test double of a hostile contract wallet: on receiving securities it sends the armed
/// call (any target, any calldata) and records how it failed; the units are accepted either way.
contract MockReentrantCaller {
    address public target;
    bytes public data;
    bool public reentered;
    bytes public lastError;
    uint256 public attempts;

    function approve(address cash, address securities, address spender) external {
        IERC20(cash).approve(spender, type(uint256).max);
        IERC1155(securities).setApprovalForAll(spender, true);
    }

    function arm(address target_, bytes calldata data_) external {
        target = target_;
        data = data_;
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        if (target != address(0)) {
            ++attempts;
            (bool ok, bytes memory reason) = target.call(data);
            if (ok) reentered = true;
            else lastError = reason;
        }
        return this.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return this.onERC1155BatchReceived.selector;
    }

    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == 0x4e2312e0 || interfaceId == 0x01ffc9a7;
    }
}
