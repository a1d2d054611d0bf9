// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";

/// @notice Test double of a hostile contract wallet: on receiving securities it sends the armed
/// call (any target, any calldata) and records how it failed; the units are accepted either way.
contract MockReentrantCaller is ERC1155Holder {
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

    function onERC1155Received(address, address, uint256, uint256, bytes memory) public override returns (bytes4) {
        if (target != address(0)) {
            ++attempts;
            (bool ok, bytes memory reason) = target.call(data);
            if (ok) reentered = true;
            else lastError = reason;
        }
        return this.onERC1155Received.selector;
    }
}
