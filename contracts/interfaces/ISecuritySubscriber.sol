// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ISecuritySubscriber — a venue that keeps a copy of each security's trading halt
/// @notice The security token pushes every halt and resumption to its subscribers, so a venue
/// checks the halt in its own storage at order entry instead of calling the token.
interface ISecuritySubscriber {
    /// @notice Record that trading in `securityId` is halted (`halted` true) or resumed.
    /// Callable by the security token only.
    function syncHalt(uint256 securityId, bool halted) external;
}
