// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ICashToken} from "../interfaces/ICashToken.sol";
import {PermissionedLedger} from "./PermissionedLedger.sol";

/// @title CashToken — DLT-PS, the payment-system ledger (F2)
/// @notice ERC-20 cash with 6 decimals and EIP-2612 permits. Issuance and redemption by the
/// settlement bank; every movement restricted to admitted holders (see PermissionedLedger).
contract CashToken is ICashToken, ERC20Permit, AccessControl, PermissionedLedger {
    /// @notice Issues and redeems cash.
    bytes32 public constant SETTLEMENT_BANK_ROLE = keccak256("SETTLEMENT_BANK_ROLE");

    /// @param name_ Token name, e.g. "SmartCCP Cash USD".
    /// @param symbol_ Token symbol, e.g. "sUSD".
    /// @param membership_ The membership register.
    /// @param admin Receives the admin role (grants the settlement bank role).
    constructor(string memory name_, string memory symbol_, address membership_, address admin)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
        PermissionedLedger(membership_)
    {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Cash has 6 decimals.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @inheritdoc ICashToken
    function issue(address to, uint256 amount) external onlyRole(SETTLEMENT_BANK_ROLE) {
        if (amount == 0) revert ZeroAmount();
        _mint(to, amount);
        emit Issued(to, amount);
    }

    /// @inheritdoc ICashToken
    function redeem(address from, uint256 amount) external onlyRole(SETTLEMENT_BANK_ROLE) {
        if (amount == 0) revert ZeroAmount();
        if (from != msg.sender) _spendAllowance(from, msg.sender, amount);
        _burn(from, amount);
        emit Redeemed(from, amount);
    }

    /// @dev Every balance change passes the holder rules.
    function _update(address from, address to, uint256 value) internal override {
        _checkMovement(_msgSender(), from, to);
        super._update(from, to, value);
    }
}
