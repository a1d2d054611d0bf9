// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {CyclePhase, OpenObligation, SecurityRules} from "../interfaces/ICCPSettlement.sol";

/// @notice Test double of the CCP's read side for the Margin contract: obligations per (cycle,
/// security, account) set directly, one settlement lag per security, and cycle phases (a cycle
/// with any obligation set is Open unless marked settled).
contract MockObligationSource {
    struct Obligation {
        int256 quantity;
        int256 cashAmount;
    }

    uint64 public cycleLength = 1 days;
    mapping(uint256 securityId => uint16) public lagOf;
    mapping(uint64 cycleId => CyclePhase) public phaseOf;
    mapping(uint64 cycleId => mapping(uint256 securityId => mapping(address account => Obligation))) private _obligations;

    function setLag(uint256 securityId, uint16 lag) external {
        lagOf[securityId] = lag;
    }

    function setObligation(uint64 cycleId, uint256 securityId, address account, int256 quantity, int256 cashAmount)
        external
    {
        _obligations[cycleId][securityId][account] = Obligation(quantity, cashAmount);
        if (phaseOf[cycleId] == CyclePhase.Unknown) phaseOf[cycleId] = CyclePhase.Open;
    }

    function setPhase(uint64 cycleId, CyclePhase phase) external {
        phaseOf[cycleId] = phase;
    }

    function securityRules(uint256 securityId) external view returns (SecurityRules memory) {
        return SecurityRules(true, false, 0, lagOf[securityId], 0, 0);
    }

    function cycleInfo(uint64 cycleId) external view returns (CyclePhase, uint256, uint256, uint256, uint64) {
        return (phaseOf[cycleId], 0, 0, 0, (cycleId + 1) * cycleLength);
    }

    function obligation(uint64 cycleId, uint256 securityId, address account) external view returns (int256, int256) {
        Obligation memory o = _obligations[cycleId][securityId][account];
        return (o.quantity, o.cashAmount);
    }

    function unsettledObligationsOf(address account, uint256[] calldata securityIds)
        external
        view
        returns (OpenObligation[] memory open)
    {
        open = new OpenObligation[](securityIds.length);
        for (uint256 i; i < securityIds.length; ++i) {
            OpenObligation memory o = open[i];
            (o.quantity, o.cashAmount, o.traded, o.tradingCycle) = openObligation(account, securityIds[i]);
        }
    }

    function openObligation(address account, uint256 securityId)
        public
        view
        returns (int256 quantity, int256 cashAmount, int256 traded, uint64 tradingCycle)
    {
        uint64 today = uint64(block.timestamp / cycleLength);
        tradingCycle = today + lagOf[securityId];
        for (uint64 c = today == 0 ? 0 : today - 1; c <= tradingCycle; ++c) {
            CyclePhase phase = phaseOf[c];
            if (phase == CyclePhase.Unknown || phase == CyclePhase.Settled) continue;
            Obligation memory o = _obligations[c][securityId][account];
            (quantity, cashAmount) = (quantity + o.quantity, cashAmount + o.cashAmount);
            if (c == tradingCycle) traded = o.quantity;
        }
    }

    function currentCycle() external view returns (uint64) {
        return uint64(block.timestamp / cycleLength);
    }
}
