// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/// @notice Benchmark baseline: a plain OpenZeppelin ERC-1155 (no supply tracking, no holder rules,
/// no halt, no roles), open minting. Test and benchmark use only, never deployed for real.
contract MockPlainERC1155 is ERC1155 {
    constructor() ERC1155("mock://{id}") {}

    /// @notice Mint `amount` units of `id` to `to`; anyone may call.
    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }
}
