// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IDefaultHandler} from "../interfaces/IDefaultHandler.sol";

/// @notice Test double of the risk layer: covers shortfalls from its own cash, up to `cap` per
/// call, and records what it was charged per member. Lends liquidity from its own cash and sets
/// the loan off against what it covers, as DefaultFund does. Must be a registered system account.
contract MockDefaultHandler is IDefaultHandler {
    event ShortfallCovered(address indexed member, uint256 requested, uint256 covered);

    IERC20 public immutable cash;
    uint256 public cap = type(uint256).max;
    mapping(address member => uint256) public charged;
    uint256 public liquidityLent;

    constructor(address cash_) {
        cash = IERC20(cash_);
    }

    function setCap(uint256 cap_) external {
        cap = cap_;
    }

    function coverShortfall(address member, address, uint256 cashAmount) external returns (uint256 covered) {
        covered = cashAmount < cap ? cashAmount : cap;
        uint256 setOff = covered < liquidityLent ? covered : liquidityLent;
        liquidityLent -= setOff;
        uint256 pay = covered - setOff;
        uint256 balance = cash.balanceOf(address(this));
        if (pay > balance) (pay, covered) = (balance, setOff + balance);
        charged[member] += cashAmount;
        emit ShortfallCovered(member, cashAmount, covered);
        if (pay != 0) require(cash.transfer(msg.sender, pay), "cash");
    }

    function lendLiquidity(uint256 amount) external returns (uint256 lent) {
        uint256 balance = cash.balanceOf(address(this));
        lent = amount < balance ? amount : balance;
        liquidityLent += lent;
        if (lent != 0) require(cash.transfer(msg.sender, lent), "cash");
    }

    function repayLiquidity(uint256 amount) external {
        if (amount > liquidityLent) amount = liquidityLent;
        liquidityLent -= amount;
        if (amount != 0) require(cash.transferFrom(msg.sender, address(this), amount), "cash");
    }
}
