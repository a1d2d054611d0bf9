// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ICCPSettlement} from "../interfaces/ICCPSettlement.sol";

/// @notice Test double of a hostile participant: a contract account that, on receiving
/// securities, calls back into the CCP (`settleCycle` on the cycle being settled, or
/// `withdrawCash`). With `bubble` the failure of the call-back is re-thrown (the transfer is
/// refused); without it the failure is recorded and the units accepted.
contract MockReentrantReceiver {
    ICCPSettlement public immutable ccp;
    uint64 public attackCycle;
    bool public attack;
    bool public bubble;
    bool public reentered;
    bytes public lastError;
    uint256 public attempts;

    constructor(address ccp_) {
        ccp = ICCPSettlement(ccp_);
    }

    function approveAll(address cash, address securities) external {
        IERC20(cash).approve(address(ccp), type(uint256).max);
        IERC1155(securities).setApprovalForAll(address(ccp), true);
    }

    function arm(uint64 cycleId, bool attack_, bool bubble_) external {
        attackCycle = cycleId;
        attack = attack_;
        bubble = bubble_;
    }

    function withdrawSecurities(uint256 securityId, uint256 amount) external {
        ccp.withdrawSecurities(securityId, amount);
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        if (attack) {
            ++attempts;
            try ccp.settleCycle(attackCycle, 100) {
                reentered = true;
            } catch (bytes memory reason) {
                lastError = reason;
                if (bubble) {
                    assembly {
                        revert(add(reason, 32), mload(reason))
                    }
                }
            }
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
