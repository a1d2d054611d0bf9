// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ERC1155Supply} from "@openzeppelin/contracts/token/ERC1155/extensions/ERC1155Supply.sol";
import {ISecuritySubscriber} from "../interfaces/ISecuritySubscriber.sol";
import {ISecurityToken} from "../interfaces/ISecurityToken.sol";
import {Security, SecurityKind} from "../types/Security.sol";
import {PermissionedLedger} from "./PermissionedLedger.sol";
import {RecordDates} from "./RecordDates.sol";

/// @title SecurityToken — DLT-CSD, the securities depository (F2)
/// @notice One ERC-1155 id per security with on-chain reference data, issuer-controlled issuance
/// and redemption, a per-security trading halt, and the holder rules of PermissionedLedger.
contract SecurityToken is ISecurityToken, ERC1155Supply, AccessControl, PermissionedLedger, RecordDates {
    /// @notice May list new securities (and then issue and redeem them).
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    /// @notice Halts and resumes trading.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Emergency path: may halt trading (never resume it, never move assets).
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Sets record dates (the corporate-actions contract, `Distributions`).
    bytes32 public constant RECORD_ROLE = keccak256("RECORD_ROLE");

    /// @notice At most this many venues mirror halts (each halt writes to all of them).
    uint256 public constant MAX_SUBSCRIBERS = 8;

    mapping(uint256 id => Security) private _securities;
    uint256 private _count;
    address[] private _subscribers;

    /// @param uri_ ERC-1155 metadata URI template.
    /// @param membership_ The membership register.
    /// @param admin Receives the admin and operator roles.
    constructor(string memory uri_, address membership_, address admin) ERC1155(uri_) PermissionedLedger(membership_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
    }

    // ─── Listing, issuance, redemption ───────────────────────────────────────────────────────

    /// @inheritdoc ISecurityToken
    function listSecurity(
        string calldata symbol,
        bytes12 isin,
        SecurityKind kind,
        uint64 tickSize,
        uint32 lotSize,
        uint64 maturity
    ) external onlyRole(ISSUER_ROLE) returns (uint256 id) {
        if (tickSize == 0 || lotSize == 0) revert InvalidTerms(tickSize, lotSize);
        id = ++_count;
        _securities[id] = Security(msg.sender, tickSize, lotSize, kind, false, maturity, isin, symbol);
        emit SecurityListed(id, msg.sender, symbol, isin, kind);
    }

    /// @inheritdoc ISecurityToken
    /// @dev Refused while a record date is pending: the supply at it is what was declared on.
    function issue(uint256 id, address to, uint256 amount) external {
        _requireIssuer(id);
        if (amount == 0) revert ZeroAmount();
        if (_securities[id].halted) revert SecurityHalted(id);
        _requireNoRecordPending(id);
        _mint(to, id, amount, "");
        emit SecuritiesIssued(id, to, amount);
    }

    /// @inheritdoc ISecurityToken
    /// @dev Refused while a record date is pending, as `issue`.
    function redeem(uint256 id, address holder, uint256 amount) external {
        _requireIssuer(id);
        if (amount == 0) revert ZeroAmount();
        _requireNoRecordPending(id);
        if (holder != msg.sender && !isApprovedForAll(holder, msg.sender)) {
            revert NotApprovedToRedeem(holder, msg.sender);
        }
        _burn(holder, id, amount);
        emit SecuritiesRedeemed(id, holder, amount);
    }

    /// @inheritdoc ISecurityToken
    /// @dev The guardian may only halt: resuming needs the operator.
    function setHalted(uint256 id, bool halted) external {
        if (!(halted && hasRole(GUARDIAN_ROLE, msg.sender))) _checkRole(OPERATOR_ROLE);
        _requireListed(id);
        _securities[id].halted = halted;
        emit TradingHaltChanged(id, halted);
        uint256 n = _subscribers.length; // bounded by MAX_SUBSCRIBERS; venues are our own contracts
        for (uint256 i; i < n; ++i) {
            ISecuritySubscriber(_subscribers[i]).syncHalt(id, halted);
        }
    }

    /// @inheritdoc ISecurityToken
    function pullToCustody(address from, uint256 id, uint256 amount) external {
        if (!_isSystem(msg.sender)) revert NotCustodian(msg.sender);
        if (from == address(0)) revert ERC1155InvalidSender(address(0));
        if (!isApprovedForAll(from, msg.sender)) revert ERC1155MissingApprovalForAll(msg.sender, from);
        uint256[] memory ids = new uint256[](1);
        uint256[] memory values = new uint256[](1);
        (ids[0], values[0]) = (id, amount);
        _update(from, msg.sender, ids, values);
    }

    /// @inheritdoc ISecurityToken
    /// @dev The holder rules let SmartCCP's own contracts move a suspended holder's units, so a
    /// matured security is redeemed from every holder alike.
    function burnMatured(uint256 id, address holder) external onlyRole(RECORD_ROLE) returns (uint256 units) {
        _requireListed(id);
        uint64 maturity = _securities[id].maturity;
        if (maturity == 0 || block.timestamp < maturity) revert NotMatured(id, maturity);
        units = balanceOf(holder, id);
        if (units != 0) {
            _burn(holder, id, units);
            emit SecuritiesRedeemed(id, holder, units);
        }
    }

    /// @inheritdoc ISecurityToken
    function addRecordDate(uint256 id, uint48 date) external onlyRole(RECORD_ROLE) returns (uint48) {
        _requireListed(id);
        return _addRecordDate(id, date);
    }

    /// @inheritdoc ISecurityToken
    function addSubscriber(address venue) external onlyRole(OPERATOR_ROLE) {
        if (_subscribers.length == MAX_SUBSCRIBERS) revert TooManySubscribers(MAX_SUBSCRIBERS);
        _subscribers.push(venue);
        emit SubscriberAdded(venue);
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISecurityToken
    function security(uint256 id) external view returns (Security memory) {
        _requireListed(id);
        return _securities[id];
    }

    /// @inheritdoc ISecurityToken
    function tradingTerms(uint256 id) external view returns (uint64 tickSize, uint32 lotSize, bool halted) {
        _requireListed(id);
        Security storage s = _securities[id];
        return (s.tickSize, s.lotSize, s.halted);
    }

    /// @inheritdoc ISecurityToken
    function totalSupply(uint256 id) public view override(ERC1155Supply, ISecurityToken) returns (uint256) {
        return super.totalSupply(id);
    }

    /// @inheritdoc ISecurityToken
    function securityCount() external view returns (uint256) {
        return _count;
    }

    /// @inheritdoc ERC1155
    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────────

    /// @dev Every balance change passes the holder rules. A trading halt does not freeze the
    /// depository: settlement and transfers between members go on (see ISecurityToken).
    /// Before it, each holder's balance at the record dates passed since its last change is kept
    /// (RecordDates: nothing but one read for a security without record dates).
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        _checkMovement(_msgSender(), from, to);
        uint256 n = ids.length;
        for (uint256 i; i < n;) {
            uint256 id = ids[i];
            if (_hasRecordDates(id)) _bookRecords(id, from, to);
            unchecked {
                ++i;
            }
        }
        super._update(from, to, ids, values);
    }

    function _balanceNow(address holder, uint256 id) internal view override returns (uint256) {
        return balanceOf(holder, id);
    }

    function _requireNoRecordPending(uint256 id) private view {
        (, uint48 latest) = recordDates(id);
        if (latest >= block.timestamp) revert RecordDatePending(id, latest);
    }

    function _requireListed(uint256 id) private view {
        if (id == 0 || id > _count) revert UnknownSecurity(id);
    }

    function _requireIssuer(uint256 id) private view {
        _requireListed(id);
        address issuer = _securities[id].issuer;
        if (msg.sender != issuer) revert NotIssuer(id, msg.sender, issuer);
    }
}
