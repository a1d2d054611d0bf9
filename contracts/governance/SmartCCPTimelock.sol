// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title SmartCCPTimelock — the admin of every SmartCCP contract, with a public delay
/// @notice OpenZeppelin's TimelockController, named so the deployment can deploy it. It holds
/// DEFAULT_ADMIN_ROLE of the register, both ledgers, the CCP, the venues, the BBO and the risk
/// contracts: granting or revoking any role (a venue on the CCP, a system account, an issuer,
/// the settlement bank, the risk role), the CCP's markets and default handler, looser risk
/// parameters and settlement rules take effect only `getMinDelay()` seconds after they were
/// proposed (`CallScheduled`, public on chain), so members can see them coming and act.
/// Proposers (and cancellers) are the governance key; executors may be anyone (zero address).
/// @dev No state or logic of its own: see OpenZeppelin's TimelockController.
contract SmartCCPTimelock is TimelockController {
    /// @param minDelay Seconds between a proposal and its earliest execution.
    /// @param proposers Accounts that may propose and cancel.
    /// @param executors Accounts that may execute after the delay (the zero address: anyone).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors)
        TimelockController(minDelay, proposers, executors, address(0))
    {}
}
