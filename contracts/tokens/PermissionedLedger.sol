// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IMembership} from "../interfaces/IMembership.sol";
import {IPermissionedLedger} from "../interfaces/IPermissionedLedger.sol";
import {IRegisterSubscriber} from "../interfaces/IRegisterSubscriber.sol";
import {Member, MemberKind, MemberStatus} from "../types/Member.sol";

/// @title PermissionedLedger — holder checks shared by the cash and security tokens
/// @notice Keeps a copy of the membership register, pushed by the register on every change, so a
/// restricted transfer reads two storage slots and makes no external call. The copy can only be
/// written by the register; KYC expiry is compared with the block time at each transfer.
abstract contract PermissionedLedger is IPermissionedLedger {
    address private immutable _membership;
    mapping(address account => Member) private _holders;

    constructor(address membership_) {
        if (membership_ == address(0)) revert IMembership.ZeroAddress();
        _membership = membership_;
    }

    /// @inheritdoc IRegisterSubscriber
    function syncHolder(address account, Member calldata entry) external {
        if (msg.sender != _membership) revert OnlyMembership(msg.sender);
        _holders[account] = entry;
        emit HolderSynced(account, entry);
    }

    /// @inheritdoc IPermissionedLedger
    function holderOf(address account) external view returns (Member memory) {
        return _holders[account];
    }

    /// @inheritdoc IPermissionedLedger
    function membership() external view returns (address) {
        return _membership;
    }

    /// @dev Enforce the holder rules for one movement. Minting (`from` zero) and burning (`to`
    /// zero) are checked on the other side only; role checks for them live in the token.
    function _checkMovement(address operator, address from, address to) internal view {
        if (to != address(0)) _requireActive(to);
        // The owner must be in good standing, unless one of SmartCCP's own contracts moves the
        // owner's assets as an approved spender (e.g. the CCP closing out a suspended member).
        if (from != address(0) && (from == operator || !_isSystem(operator))) _requireActive(from);
    }

    /// @dev True for SmartCCP's own contracts.
    function _isSystem(address account) internal view returns (bool) {
        return _holders[account].kind == MemberKind.System;
    }

    /// @dev Revert with the precise reason unless `account` is active and KYC-valid. Reads the
    /// packed entry once; the common case (active, KYC valid) returns after two comparisons.
    function _requireActive(address account) internal view {
        Member storage entry = _holders[account];
        MemberStatus status = entry.status;
        uint64 kycExpiry = entry.kycExpiry;
        if (status == MemberStatus.Active && kycExpiry >= block.timestamp) return;
        if (status == MemberStatus.Active) revert IMembership.KycExpired(account, kycExpiry);
        if (status == MemberStatus.None) revert IMembership.NotAdmitted(account);
        if (status == MemberStatus.Suspended) revert IMembership.MemberSuspended(account);
        revert IMembership.MemberExpelled(account);
    }
}
