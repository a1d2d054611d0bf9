// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {InterestMath} from "../libraries/InterestMath.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ICCPSettlement} from "../interfaces/ICCPSettlement.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";
import {IDefaultFund} from "../interfaces/IDefaultFund.sol";
import {IMarginEvents} from "../interfaces/IMargin.sol";
import {RiskMath} from "../libraries/RiskMath.sol";
import {MemberKind, Segregation} from "../types/Member.sol";

/// @title MarginBase — Margin's storage: packed records, immutables, state and shared internals
/// @notice Holds what Margin keeps (as CCPBase does for the CCP), with every base that has
/// storage, so that Margin and its revaluation module (MarginRevaluation, run by delegatecall on
/// Margin's storage) have one layout by construction. The logic is in Margin and the module.
abstract contract MarginBase is IMarginEvents, AccessControl, EIP712, Nonces, ReentrancyGuardTransient, ERC1155Holder {
    using SafeCast for uint256;

    /// @notice Largest price batch, and the most collateral lines one release sends.
    uint256 public constant MAX_BATCH = 50;

    uint64 internal constant INTEREST_INDEX_ONE = 1e12;
    uint256 internal constant YEAR = 365 days;
    uint8 internal constant DEFAULTED = 1;
    uint8 internal constant CONTRIBUTION_UNPAID = 2;
    /// @dev A revaluation spans transactions: the gate and withdrawals wait for it.
    uint8 internal constant REVALUING = 4;

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

    /// @dev One slot: cash collateral (12) | interest accrued and not yet paid (12) | the
    /// interest index when the account's cash was last touched (8; 0: never).
    struct CashHeld {
        uint96 cash;
        uint96 interest;
        uint64 index;
    }

    /// @dev One slot: the index of a unit of cash (8, `INTEREST_INDEX_ONE` at the start) at
    /// `updatedAt` (5), and the rate in force since then (2, bps a year, simple between updates).
    struct InterestRate {
        uint64 index;
        uint40 updatedAt;
        uint16 rateBps;
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

    /// @dev A trading wallet as Margin needs it (one slot, from the register): its kind, the
    /// margin account it trades for (`account`: the member's house account is the member's
    /// address, an individually segregated client's is the client's, an omnibus client's is its
    /// member's omnibus account `OmnibusAccount.omnibusOf(member)`), and whether it is on that account's wallet
    /// list (`_wallets`; an account's own address is never listed: it is wallet 0). The gate
    /// reads this one slot to find the account.
    struct Holder {
        MemberKind kind;
        address account;
        bool listed;
    }

    /// @dev A margin account's owner (one slot, read off the gate's path): the clearing member
    /// that answers for it, the segregation (None for the house), and 1 + its index in the
    /// member's list of client accounts (`_clientAccounts`; 0 for the house).
    struct AccountOwner {
        address member;
        Segregation mode;
        uint32 slot;
    }

    /// @dev One slot, per trading wallet (positions are the CCP's, per wallet) and security: net
    /// obligation quantity at the last revaluation (8) | resting buys (6) | resting sells (6) |
    /// the trading cycle (today + lag) at the last revaluation (4) | the net quantity the account
    /// had in it then (7; the change since is the net of new fills) | listed (1).
    struct Position {
        int64 quantity;
        uint48 openBuy;
        uint48 openSell;
        uint32 tradedCycle;
        int56 traded;
        bool listed;
    }

    /// @dev One slot per margin account and collateral security: units held (12) | the value they
    /// count for in `Account.posted`, at the price of their last valuation less the haircut (16) |
    /// on the account's list of collateral ids (1; a line emptied stays listed and is reused).
    struct CollateralLine {
        uint96 units;
        uint128 value;
        bool listed;
    }

    /// @dev A defaulter's omnibus account whose clients left it during the default (one slot): the
    /// omnibus account they went to (zero: none left yet), whether they went to more than one (or
    /// out of the CCP: then its collateral cannot follow them collectively), and the next
    /// collateral line to move to `to`.
    struct OmnibusPort {
        address to;
        bool split;
        uint64 cursor;
    }

    /// @dev An account's revaluation in progress (one slot, reused day after day): margin day it
    /// builds (4) | next wallet (4: 0 the account's own address, k its wallet k - 1; past the
    /// last, the collateral lines) | next position or line of it (4) | items done (4) | running
    /// (1) | new day (1). Between transactions the partial scenario P&L is in `_runPnl`, `_runMtm`.
    struct Run {
        uint32 day;
        uint32 wallet;
        uint32 item;
        uint32 done;
        bool running;
        bool newDay;
    }

    /// @dev This contract's own address (the module's, in a module): a module refuses calls
    /// that do not come by delegatecall.
    address private immutable _self = address(this);
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
    mapping(address wallet => Holder) internal _members;
    mapping(address account => AccountOwner) internal _owners;
    mapping(address account => Account) internal _accounts;
    mapping(address account => Requirement) internal _requirements;
    mapping(address account => Call) internal _calls;
    mapping(address account => CashHeld) internal _cashHeld;
    mapping(address account => uint64[]) internal _collateralIds;
    mapping(address account => mapping(uint256 securityId => CollateralLine)) internal _lines;
    mapping(address wallet => uint64[]) internal _positionIds;
    mapping(address wallet => mapping(uint256 securityId => Position)) internal _positions;
    /// @dev The wallets trading for an account other than its own address (an omnibus account's
    /// clients), and 1 + each one's index (0: not listed).
    mapping(address account => address[]) internal _wallets;
    mapping(address account => mapping(address wallet => uint256)) internal _walletSlot;
    /// @dev A clearing member's client accounts (individual clients and its omnibus account).
    mapping(address member => address[]) internal _clientAccounts;
    mapping(address account => Run) internal _runs;
    mapping(address account => int256[16]) internal _runPnl;
    mapping(address account => int256) internal _runMtm;
    /// @dev Where a closed default's remaining securities collateral goes, and the next line.
    mapping(address member => address) internal _releaseTo;
    mapping(address member => uint256) internal _releaseCursor;
    /// @dev Per omnibus account of a defaulter: where its clients were ported (#20).
    mapping(address account => OmnibusPort) internal _omnibusPorts;
    /// @dev Each security's settlement price again (`SecurityRisk.price`, written with it), four
    /// consecutive ids per slot (id `i` in bits `[64 (i % 4), 64 (i % 4) + 64)` of word `i / 4`):
    /// the revaluation reads a page's prices here, one cold slot per 4 ids instead of one per
    /// security (the gate keeps reading `_risk`, one slot with the worst shocks).
    mapping(uint256 word => uint256) internal _prices;
    /// @dev Interest on cash collateral (issue #21): the published rate and index, and the
    /// CCP's interest account that pays it (it approves this contract).
    InterestRate internal _interest;
    address internal _interestPayer;

    /// @dev Checks the deployment inputs (`operator` only for being set: Margin grants it the
    /// roles) and fixes the immutables; reads the CCP's cycle length once.
    constructor(address ccp, address membership, address cash, address securities, uint8 nScenarios, address operator)
        EIP712("SmartCCP Margin", "1")
    {
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

    /// @inheritdoc ERC1155Holder
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, ERC1155Holder) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // ─── Shared internals ────────────────────────────────────────────────────────────────────

    /// @dev In a module: refuse a direct call (a module runs only on Margin's storage).
    function _requireDelegated() internal view {
        if (address(this) == _self) revert OnlyDelegateCall();
    }

    /// @dev Restart `account`'s revaluation (its wallets or lines changed under it).
    function _restartRun(address account) internal {
        if (!_runs[account].running) return;
        _runs[account].running = false;
        _accounts[account].flags &= ~REVALUING;
        emit RevaluationRestarted(account);
    }

    /// @dev Call `account` for what `posted` lacks of `required` (the deadline set by the first
    /// call and kept until the call is met), or end a call `posted` now meets.
    function _callOrRelease(address account, uint256 posted, uint256 required) internal {
        Call storage c = _calls[account];
        if (posted < required) {
            c.amount = (required - posted).toUint128();
            if (c.deadline == 0) c.deadline = uint64(block.timestamp) + _callWindow;
            emit MarginCalled(account, c.amount, c.deadline);
        } else if (c.deadline != 0) {
            delete _calls[account];
            emit MarginCallMet(account);
        }
    }

    /// @dev The clearing member answering for `account`; refuses an account Margin does not know.
    function _memberOf(address account) internal view returns (address member) {
        member = _owners[account].member;
        if (member == address(0)) revert UnknownAccount(account);
    }

    /// @dev `securityId`'s settlement price, from the packed copy `_prices`.
    function _priceOf(uint256 securityId) internal view returns (uint256) {
        return uint64(_prices[securityId >> 2] >> ((securityId & 3) << 6));
    }

    /// @dev Set the line's units to `units` and value them at today's settlement price less the
    /// haircut (rounded down); `posted` moves by the change of the line's value.
    function _revalueLine(address account, uint256 securityId, uint256 units) internal {
        CollateralLine storage l = _lines[account][securityId];
        SecurityRisk memory r = _risk[securityId];
        uint256 value = RiskMath.haircutValue(units, r.price, r.haircutBps);
        Account storage a = _accounts[account];
        a.posted = (uint256(a.posted) + value - l.value).toUint80();
        (l.units, l.value) = (units.toUint96(), value.toUint128());
    }

    /// @dev The interest index now: the last published index grown at the rate in force since,
    /// simple interest per second, rounded down (against the members). No storage written: a
    /// touch costs one read.
    function _interestIndex() internal view returns (uint256 index) {
        InterestRate memory r = _interest;
        if (r.index == 0) return INTEREST_INDEX_ONE;
        index = r.index;
        if (r.rateBps != 0) index += (index * r.rateBps * (block.timestamp - r.updatedAt)) / (RiskMath.BPS * YEAR);
    }

    /// @dev `account`'s cash collateral with the interest accrued since its last touch added to
    /// `interest` (`cash * (index now - index then) / index then`, rounded down) and the index
    /// moved to now. The caller changes the cash and writes the slot back.
    function _touchCash(address account) internal view returns (CashHeld memory h) {
        h = _cashHeld[account];
        uint256 index = _interestIndex();
        if (h.cash != 0) h.interest = InterestMath.accrue(h.interest, h.cash, h.index, index);
        h.index = uint64(index);
    }

    /// @dev Pay `amount` of `account`'s interest (already taken off its books by the caller) to
    /// `to` from the CCP's interest account. If it cannot (no
    /// account, no allowance or cash), the interest stays owed (`InterestUnpaid`) and nothing
    /// else is held up: a withdrawal or a release goes through without it.
    function _payInterest(address account, address to, uint256 amount) internal {
        if (amount == 0) return;
        address payer = _interestPayer;
        if (payer != address(0) && SafeERC20.trySafeTransferFrom(_cash, payer, to, amount)) {
            emit InterestPaid(account, to, amount);
            return;
        }
        _cashHeld[account].interest = uint96(amount); // back on the books (cast: it came from a uint96)
        emit InterestUnpaid(account, amount);
    }

    function _requireClearingMember(address account) internal view {
        if (_members[account].kind != MemberKind.ClearingMember) revert NotClearingMember(account);
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
