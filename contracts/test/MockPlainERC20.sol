// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Benchmark baseline: a plain OpenZeppelin ERC-20 with 6 decimals like CashToken, no
/// holder rules, no roles, open minting. Test and benchmark use only, never deployed for real.
contract MockPlainERC20 is ERC20 {
    constructor() ERC20("Mock Plain Cash", "mCASH") {}

    /// @notice 6 decimals, as CashToken.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mint `amount` base units to `to`; anyone may call.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
