// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IInterestSource — the rate the CCP publishes for cash collateral (Margin)
/// @notice One index of a unit of cash, growing per second by the published rate (1e12 at the
/// start), and the CCP's interest account that pays interest in cash. Margin is the source:
/// the default fund and the CCP's pre-funded cash earn by the same index as margin cash.
interface IInterestSource {
    /// @notice The index now (grows by simple interest since the last publication).
    function interestIndex() external view returns (uint256);
    /// @notice The account that pays interest (it approves the payers' contracts); zero: none.
    function interestPayer() external view returns (address);
}
