// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ICCPSettlement} from "../interfaces/ICCPSettlement.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";
import {IDefaultFund} from "../interfaces/IDefaultFund.sol";
import {IMargin} from "../interfaces/IMargin.sol";
import {RiskMath} from "../libraries/RiskMath.sol";
import {MemberKind} from "../types/Member.sol";

/// @title MarginBase — Margin's storage: bounds, packed records, immutables and state
/// @notice Holds what Margin keeps (as CCPBase does for the CCP); the logic is in Margin. Margin
/// lists it as its last base, so its variables come after the OpenZeppelin bases' in the layout.
abstract contract MarginBase is IMargin {
    /// @notice Securities a member may hold positions in (bounds refresh and IM loops).
    uint256 public constant MAX_POSITIONS = 8;
    /// @notice Clients a member may clear for through the gate (plus itself).
    uint256 public constant MAX_CLIENTS = 7;
    /// @notice Securities a member may post as collateral.
    uint256 public constant MAX_COLLATERAL = 4;
    /// @notice Largest price batch.
    uint256 public constant MAX_BATCH = 50;

    uint8 internal constant DEFAULTED = 1;
    uint8 internal constant CONTRIBUTION_UNPAID = 2;

    /// @dev One slot: price (8) | price day (4) | haircut (2) | worst down (2) | worst up (2) |
    /// has scenarios (1).
    struct SecurityRisk {
        uint64 price;
        uint32 priceDay;
        uint16 haircutBps;
        int16 worstDown;
        int16 worstUp;
        bool hasScenarios;
    }

    /// @dev One slot, all the gate reads: collateral value (10) | IM + VM (10) | pending (10) |
    /// flags (1).
    struct Account {
        uint80 posted;
        uint80 required;
        uint80 pending;
        uint8 flags;
    }

    /// @dev One slot: last IM (12) | last VM (12) | margin day of the last refresh (4).
    struct Requirement {
        uint96 im;
        uint96 vm;
        uint32 day;
    }

    /// @dev One slot: outstanding call (16) | deadline (8).
    struct Call {
        uint128 amount;
        uint64 deadline;
    }

    /// @dev One slot: the trading cycle (today + lag) at the last refresh (8) | the net quantity
    /// the member's accounts had in it then (8). The change since is the net of new fills.
    struct Fills {
        uint64 cycleId;
        int64 quantity;
    }

    /// @dev The register entry as Margin needs it (one slot): the holder's kind, its clearing
    /// member, and whether it is on that member's client list already (so the gate reads one slot
    /// for a client's order, not two).
    struct Holder {
        MemberKind kind;
        address clearingMember;
        bool listedAsClient;
    }

    /// @dev One slot: security id (8) | net obligation quantity (8) | resting buys (8) | resting
    /// sells (8). A non-zero id marks the position as listed for the member.
    struct Position {
        uint64 securityId;
        int64 quantity;
        uint64 openBuy;
        uint64 openSell;
    }

    IERC20 internal immutable _cash;
    IERC1155 internal immutable _securities;
    ICCPSettlement internal immutable _ccp;
    address internal immutable _membership;
    uint64 internal immutable _cycleLength;
    uint8 internal immutable _nScenarios;

    IDefaultFund internal _fund;
    uint16 internal _confidenceBps = 9_900;
    uint8 internal _horizonDays = 5;
    uint32 internal _callWindow = 1 hours;
    uint32 internal _marginDay;
    ICloseOutMarket internal _liquidationMarket;

    mapping(uint256 securityId => SecurityRisk) internal _risk;
    mapping(uint256 securityId => uint256) internal _shocks;
    mapping(address account => Holder) internal _members;
    mapping(address member => Account) internal _accounts;
    mapping(address member => Requirement) internal _requirements;
    mapping(address member => Call) internal _calls;
    mapping(address member => uint256) internal _cashHeld;
    mapping(address member => uint256[]) internal _collateralIds;
    mapping(address member => mapping(uint256 securityId => uint256)) internal _collateral;
    mapping(address member => uint256[]) internal _positionIds;
    mapping(address member => mapping(uint256 securityId => Position)) internal _positions;
    mapping(address member => mapping(uint256 securityId => Fills)) internal _fills;
    mapping(address member => address[]) internal _clients;
    mapping(address member => mapping(address client => bool)) internal _isClient;

    /// @dev Checks the deployment inputs (`operator` only for being set: Margin grants it the
    /// roles) and fixes the immutables; reads the CCP's cycle length once.
    constructor(address ccp, address membership, address cash, address securities, uint8 nScenarios, address operator) {
        if (ccp == address(0) || membership == address(0) || operator == address(0)) revert ZeroInput();
        if (nScenarios == 0 || nScenarios > RiskMath.MAX_SCENARIOS) {
            revert BadScenarioVector(nScenarios, RiskMath.MAX_SCENARIOS);
        }
        _ccp = ICCPSettlement(ccp);
        _cycleLength = ICCPSettlement(ccp).cycleLength();
        _membership = membership;
        _cash = IERC20(cash);
        _securities = IERC1155(securities);
        _nScenarios = nScenarios;
    }
}
