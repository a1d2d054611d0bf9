// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Member} from "../types/Member.sol";
import {IRegisterSubscriber} from "./IRegisterSubscriber.sol";

/// @title IPermissionedLedger — a token whose holders must be in the membership register
/// @notice Rules, identical for DLT-PS cash and DLT-CSD securities:
/// - a receiver must be a system account, or admitted, active and KYC-valid;
/// - a sender must be a system account, or admitted, active and KYC-valid, unless the transfer is
///   made by a system contract (the CCP closing out a suspended member moves its assets);
/// - issuance and redemption are by the issuer role only and never of zero.
interface IPermissionedLedger is IRegisterSubscriber {
    /// @notice The register pushed a new copy of `account`'s entry.
    event HolderSynced(address indexed account, Member entry);

    /// @notice Only the membership register may call this.
    error OnlyMembership(address caller);
    /// @notice An amount of zero where a positive amount is required.
    error ZeroAmount();

    /// @notice The copy of the register entry this ledger checks transfers against.
    function holderOf(address account) external view returns (Member memory);
    /// @notice The membership register this ledger follows.
    function membership() external view returns (address);
}
