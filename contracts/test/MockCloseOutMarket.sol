// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";

/// @notice Test double of the close-out market: a dealer holding cash and securities inventory
/// that trades with the caller at a fixed price per security, within the caller's limit, up to
/// `maxFill` units per call. `broken` makes every call revert. Must be a registered system
/// account to hold and move assets.
contract MockCloseOutMarket is ICloseOutMarket, ERC1155Holder {
    IERC20 public immutable cash;
    IERC1155 public immutable securities;
    mapping(uint256 securityId => uint256) public price;
    uint256 public maxFill = type(uint256).max;
    bool public broken;

    constructor(address cash_, address securities_) {
        cash = IERC20(cash_);
        securities = IERC1155(securities_);
    }

    function setPrice(uint256 securityId, uint256 price_) external {
        price[securityId] = price_;
    }

    function setMaxFill(uint256 maxFill_) external {
        maxFill = maxFill_;
    }

    function setBroken(bool broken_) external {
        broken = broken_;
    }

    function sell(uint256 securityId, uint256 quantity, uint256 minPrice)
        external
        returns (uint256 sold, uint256 proceeds)
    {
        require(!broken, "market broken");
        uint256 p = price[securityId];
        if (p < minPrice) return (0, 0);
        sold = quantity < maxFill ? quantity : maxFill;
        proceeds = sold * p;
        securities.safeTransferFrom(msg.sender, address(this), securityId, sold, "");
        require(cash.transfer(msg.sender, proceeds), "cash");
    }

    function quoteBuy(uint256 securityId, uint256 quantity) external view returns (uint256) {
        uint256 inventory = securities.balanceOf(address(this), securityId);
        uint256 q = quantity < maxFill ? quantity : maxFill;
        return (q < inventory ? q : inventory) * price[securityId];
    }

    function buy(uint256 securityId, uint256 quantity, uint256 maxPrice) external returns (uint256 bought, uint256 cost) {
        require(!broken, "market broken");
        uint256 p = price[securityId];
        if (p > maxPrice) return (0, 0);
        bought = quantity < maxFill ? quantity : maxFill;
        uint256 inventory = securities.balanceOf(address(this), securityId);
        if (bought > inventory) bought = inventory;
        cost = bought * p;
        require(cash.transferFrom(msg.sender, address(this), cost), "cash");
        securities.safeTransferFrom(address(this), msg.sender, securityId, bought, "");
    }
}
