// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Member} from "../types/Member.sol";

/// @title IRegisterSubscriber — a contract that keeps a copy of the membership register
/// @notice The register pushes every change of an entry to its subscribers (the two ledgers and
/// every venue), so they check holders and traders with one local storage read.
interface IRegisterSubscriber {
    /// @notice Store the register's current entry for `account`. Callable by the register only.
    function syncHolder(address account, Member calldata entry) external;
}
