// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {InterestMath} from "../libraries/InterestMath.sol";
import {IDefaultFund, DefaultReason, Layer} from "../interfaces/IDefaultFund.sol";
import {IDefaultHandler} from "../interfaces/IDefaultHandler.sol";
import {ICCPSettlement} from "../interfaces/ICCPSettlement.sol";
import {IMargin, MarginStatus} from "../interfaces/IMargin.sol";
import {IMembership} from "../interfaces/IMembership.sol";
import {RiskMath} from "../libraries/RiskMath.sol";
import {MemberStatus} from "../types/Member.sol";

/// @title DefaultFund — contributions, the default waterfall and default management (F9, F12)
/// @notice See IDefaultFund. Holds the members' contributions and the CCP's skin in the game in
/// cash; the defaulters' margin stays in the Margin contract until layer 1 seizes it. Trusted:
/// the CCP (charges shortfalls), the Margin contract, the register (this contract holds its
/// DEFAULT_MANAGER_ROLE to suspend and expel and its OPERATOR_ROLE to port clients and to
/// reinstate a cured defaulter).
/// This contract is a registered system account.
contract DefaultFund is IDefaultFund, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Publishes required contributions and fund parameters.
    bytes32 public constant RISK_ROLE = keccak256("RISK_ROLE");
    /// @notice Declares defaults at will, designates backups, closes defaults.
    bytes32 public constant DEFAULT_MANAGER_ROLE = keccak256("DEFAULT_MANAGER_ROLE");
    /// @notice The default-management contract: charges the loss its auction crystallised
    /// (`coverShortfall`, the cash paid to it).
    bytes32 public constant DEFAULT_MANAGEMENT_ROLE = keccak256("DEFAULT_MANAGEMENT_ROLE");
    /// @notice Bound on one call's batch (published contributions, ported clients): the work
    /// of a call, not the number of members, which is unbounded.
    uint256 public constant MAX_BATCH = 50;
    /// @dev Survivors' index bounds: it lives in (INDEX_FLOOR, INDEX_ONE] and is multiplied by
    /// INDEX_FLOOR (one scale up) when a charge takes it below the floor.
    uint256 private constant INDEX_ONE = 1e36;
    uint256 private constant INDEX_FLOOR = 1e18;
    /// @dev Assessment rates are per unit of required contribution, in RATE_ONE.
    uint256 private constant RATE_ONE = 1e27;

    /// @dev One slot: required (12) | paid (12) | top-up deadline (8).
    struct Contribution {
        uint96 required;
        uint96 paid;
        uint64 topUpDeadline;
    }

    /// @dev One slot: interest accrued and unpaid (12) | Margin's interest index when last
    /// accrued (16; 0: never).
    struct Earning {
        uint96 accrued;
        uint128 index;
    }

    /// @dev One slot: reason (1) | closed (1) | loss charged (12) | part of it beyond the
    /// defaulter's margin, layers 2-6 (12) | suspended by this contract at declaration (1) |
    /// end of the window in which its clients may be ported (5).
    struct Case {
        DefaultReason reason;
        bool closed;
        uint96 loss;
        uint96 beyondMargin;
        bool suspended;
        uint40 portDeadline;
    }

    /// @dev One slot: the survivors' index when `paid` was booked (0: outside the survivors'
    /// pool: not a fund member, or in default — `paid` is then absolute) | its scale | the number
    /// of layer-4 charges then.
    struct Stake {
        uint128 index;
        uint32 scale;
        uint32 charges;
    }

    /// @dev Per case, what layers 2-5 paid and recoveries have not yet returned (two slots).
    struct Unrecovered {
        uint96 own;
        uint96 skin;
        uint96 survivors;
    }

    /// @dev One slot: the cumulative assessment rate when `due` was booked (16) | unpaid (12).
    struct Assessment {
        uint128 rate;
        uint96 due;
    }

    IERC20 private immutable _cash;
    IMargin private immutable _margin;
    IMembership private immutable _membership;
    address private immutable _ccp;

    uint256 private _skinInTheGame;
    uint16 private _capBps = 10_000;
    uint32 private _topUpWindow = 1 days;
    uint32 private _portWindow = 1 days;
    uint64 private _episode;
    uint256[6] private _layerTotals;
    address[] private _members;
    mapping(address member => bool) private _listed;
    mapping(address member => Contribution) private _contributions;
    /// @dev Interest on each member's contribution (see `claimContributionInterest`).
    mapping(address member => Earning) private _earnings;
    mapping(address member => Stake) private _stakes;
    /// @dev Layer 4, O(1) per default: the survivors' contributions as booked (`_pool`, cash
    /// that backs them, including rounding dust their holders lost) and the index of a unit
    /// contributed (`_index` at scale `_scale`): a charge multiplies the index by what is left
    /// of the pool, a member's balance is read as `paid * index / index when booked`.
    uint128 private _pool;
    /// @dev Layer 5, O(1) per default: survivors' required contributions (beside `_pool`: a
    /// declaration or a cure updates both in one slot) and the cumulative assessment rate per
    /// unit of required contribution (`_assessRate`, never reset; `_episodeStart` is its value
    /// when the current episode began).
    uint128 private _requiredPool;
    uint128 private _index = uint128(INDEX_ONE);
    uint32 private _scale;
    uint32 private _charges;
    uint64 private _lastChargeAt;
    uint128 private _assessRate;
    uint128 private _episodeStart;
    mapping(address member => Case) private _cases;
    mapping(address member => Assessment) private _assessments;
    mapping(address member => address) private _backups;
    mapping(address member => address) private _estates;
    /// @dev Cash lent to the CCP for buy-ins (IDefaultHandler.lendLiquidity), not yet back.
    uint256 private _lent;
    /// @dev Cash lent to the default-management account until close-out proceeds arrive.
    uint256 private _bridged;
    mapping(address defaulter => Unrecovered) private _unrecovered;
    /// @dev Resignations: the notice period, and when each resigning member may complete.
    uint32 private _coolingOff = 30 days;
    mapping(address member => uint64) private _resignAt;

    /// @param ccp The CCP allowed to charge shortfalls (and paid assessments' recipient).
    /// @param margin The Margin contract (layer 1, default flags, contribution status).
    /// @param operator Admin, risk and default-manager roles.
    constructor(address ccp, address margin, address membership, address cash, address operator) {
        if (ccp == address(0) || margin == address(0) || membership == address(0) || operator == address(0)) {
            revert BadInput();
        }
        (_ccp, _margin, _membership, _cash) = (ccp, IMargin(margin), IMembership(membership), IERC20(cash));
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(RISK_ROLE, operator);
        _grantRole(DEFAULT_MANAGER_ROLE, operator);
    }

    // ─── Risk parameters ─────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultFund
    function setRequiredContributions(address[] calldata members_, uint256[] calldata amounts)
        external
        onlyRole(RISK_ROLE)
    {
        uint256 n = members_.length;
        if (n != amounts.length || n > MAX_BATCH) revert BadBatch(n, MAX_BATCH);
        bool[] memory paid = new bool[](n);
        for (uint256 i; i < n; ++i) {
            address m = members_[i];
            Contribution storage c = _contributions[m];
            uint96 required = amounts[i].toUint96();
            if (!_listed[m]) {
                _listed[m] = true;
                _members.push(m);
                _join(m, 0);
                emit FundMemberAdded(m, _members.length);
            } else {
                _settle(m);
            }
            if (_stakes[m].index != 0) _requiredPool = _requiredPool - c.required + required;
            c.required = required;
            emit ContributionRequired(m, amounts[i]);
            paid[i] = c.paid >= c.required;
            if (paid[i]) c.topUpDeadline = 0;
            else _callTopUp(m, c);
        }
        _margin.setContributionStatus(members_, paid);
    }

    /// @inheritdoc IDefaultFund
    function setFundParameters(uint16 assessmentCapBps, uint32 topUpWindow) external {
        if (!hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            _checkRole(RISK_ROLE);
            if (assessmentCapBps < _capBps || topUpWindow > _topUpWindow) revert FundChangeNeedsAdmin(msg.sender);
        }
        if (topUpWindow == 0) revert BadInput();
        (_capBps, _topUpWindow) = (assessmentCapBps, topUpWindow);
        emit FundParametersSet(assessmentCapBps, topUpWindow);
    }

    /// @inheritdoc IDefaultFund
    function setPortWindow(uint32 window) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (window == 0) revert BadInput();
        _portWindow = window;
        emit PortWindowSet(window);
    }

    /// @inheritdoc IDefaultFund
    function setBackupMember(address member, address backup) external onlyRole(DEFAULT_MANAGER_ROLE) {
        if (member == backup) revert BadInput();
        _backups[member] = backup;
        emit BackupMemberSet(member, backup);
    }

    /// @inheritdoc IDefaultFund
    function setEstate(address member, address estate) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (member == estate) revert BadInput();
        _estates[member] = estate;
        emit EstateSet(member, estate);
    }

    // ─── Money in and out ────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultFund
    function contribute(uint256 amount) external nonReentrant {
        _credit(msg.sender, amount);
        _cash.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IDefaultFund
    function recordContribution(address member, uint256 amount) external nonReentrant {
        if (msg.sender != address(_margin)) revert OnlyMargin(msg.sender);
        _credit(member, amount);
    }

    /// @inheritdoc IDefaultFund
    function withdrawContribution(uint256 amount) external nonReentrant {
        if (_cases[msg.sender].reason != DefaultReason.None) revert AlreadyInDefault(msg.sender);
        int256 moved = _settle(msg.sender);
        Contribution storage c = _contributions[msg.sender];
        uint256 excess = c.paid > c.required ? c.paid - c.required : 0;
        if (amount == 0 || amount > excess) revert InsufficientContribution(msg.sender, excess, amount);
        uint256 held = _cash.balanceOf(address(this));
        if (amount > held) revert FundCashLent(held, amount);
        c.paid -= uint96(amount);
        _pool -= uint128(amount); // a survivor: its balance (>= amount) is in the pool
        emit ContributionWithdrawn(msg.sender, amount);
        if (moved != 0) _setContributionStatus(msg.sender, moved > 0);
        _cash.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IDefaultFund
    function claimContributionInterest() external nonReentrant {
        Earning memory e = _accrued(msg.sender);
        uint256 amount = e.accrued;
        if (amount == 0) revert NoInterestAccrued(msg.sender);
        _earnings[msg.sender] = Earning(0, e.index); // paid, unless the transfer below fails
        address payer = _margin.interestPayer();
        if (payer != address(0) && SafeERC20.trySafeTransferFrom(_cash, payer, msg.sender, amount)) {
            emit ContributionInterestPaid(msg.sender, amount);
            return;
        }
        _earnings[msg.sender].accrued = e.accrued; // back on the books
        emit ContributionInterestUnpaid(msg.sender, amount);
    }

    /// @inheritdoc IDefaultFund
    function fundSkinInTheGame(uint256 amount) external nonReentrant {
        if (amount == 0) revert BadInput();
        _skinInTheGame += amount;
        emit SkinInTheGameFunded(amount, _skinInTheGame);
        _cash.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IDefaultFund
    function payAssessment(uint256 amount) external nonReentrant {
        int256 moved = _settle(msg.sender);
        Assessment storage a = _assessments[msg.sender];
        if (amount == 0 || amount > a.due) revert InsufficientContribution(msg.sender, a.due, amount);
        a.due -= uint96(amount);
        emit AssessmentPaid(msg.sender, amount);
        if (moved != 0) _setContributionStatus(msg.sender, moved > 0);
        _cash.safeTransferFrom(msg.sender, _ccp, amount);
    }

    // ─── Default management ──────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultFund
    function declareDefault(address account) external nonReentrant {
        (address marginAccount, address member,) = _margin.accountOf(account);
        DefaultReason reason;
        if (_margin.callOverdue(marginAccount)) {
            reason = DefaultReason.MissedMarginCall;
        } else {
            uint64 deadline = _deadlineOf(member);
            if (deadline != 0 && block.timestamp > deadline) reason = DefaultReason.MissedTopUp;
            else if (hasRole(DEFAULT_MANAGER_ROLE, msg.sender)) reason = DefaultReason.Declared;
            else revert NoDefaultEvent(member);
        }
        if (_cases[member].reason != DefaultReason.None) revert AlreadyInDefault(member);
        _declare(member, reason);
    }

    /// @inheritdoc IDefaultHandler
    /// @dev Declares the member in default if it is not yet, then runs the waterfall for
    /// `cashAmount`; layers 1-4 are paid to the caller (the CCP, or the default-management
    /// contract for a loss its auction crystallised) before returning.
    function coverShortfall(address member, address wallet, uint256 cashAmount)
        external
        nonReentrant
        returns (uint256 covered)
    {
        if (msg.sender != _ccp && !hasRole(DEFAULT_MANAGEMENT_ROLE, msg.sender)) revert OnlyCcp(msg.sender);
        // A system account (the default-management account short of assessments still to come,
        // a close-out market) has no member behind it: nobody's resources answer for it.
        if (member == address(0)) revert NoMemberToCharge(wallet);
        if (_cases[member].reason == DefaultReason.None) _declare(member, DefaultReason.SettlementShortfall);
        covered = _waterfall(member, wallet, cashAmount, msg.sender);
        emit ShortfallCovered(member, cashAmount, covered);
    }

    /// @inheritdoc IDefaultHandler
    /// @dev Lends from the cash the fund holds (contributions and skin in the game); the loan
    /// is an asset of the fund, so no contribution changes.
    function lendLiquidity(uint256 amount) external nonReentrant returns (uint256 lent) {
        if (msg.sender != _ccp) revert OnlyCcp(msg.sender);
        lent = _min(amount, _cash.balanceOf(address(this)));
        if (lent == 0) return 0;
        _lent += lent;
        emit LiquidityLent(lent, _lent);
        _cash.safeTransfer(msg.sender, lent);
    }

    /// @inheritdoc IDefaultHandler
    function repayLiquidity(uint256 amount) external nonReentrant {
        if (msg.sender != _ccp) revert OnlyCcp(msg.sender);
        amount = _min(amount, _lent);
        if (amount == 0) return;
        _lent -= amount;
        emit LiquidityReturned(amount, false, _lent);
        _cash.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IDefaultFund
    function lendBridge(uint256 amount) external onlyRole(DEFAULT_MANAGEMENT_ROLE) nonReentrant returns (uint256 lent) {
        lent = _min(amount, _cash.balanceOf(address(this)));
        if (lent == 0) return 0;
        _bridged += lent;
        emit BridgeLent(msg.sender, lent, _bridged);
        _cash.safeTransfer(msg.sender, lent);
    }

    /// @inheritdoc IDefaultFund
    function repayBridge(uint256 amount) external onlyRole(DEFAULT_MANAGEMENT_ROLE) nonReentrant {
        amount = _min(amount, _bridged);
        if (amount == 0) return;
        _bridged -= amount;
        emit BridgeRepaid(msg.sender, amount, _bridged);
        _cash.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IDefaultFund
    function bridgeLent() external view returns (uint256) {
        return _bridged;
    }

    /// @inheritdoc IDefaultHandler
    function liquidityLent() external view returns (uint256) {
        return _lent;
    }

    /// @inheritdoc IDefaultFund
    function portClients(address defaulter, address[] calldata clients) external nonReentrant {
        if (clients.length > MAX_BATCH) revert BadBatch(clients.length, MAX_BATCH);
        Case memory k = _cases[defaulter];
        if (k.reason == DefaultReason.None) revert NotInDefault(defaulter);
        if (block.timestamp > k.portDeadline) revert PortWindowClosed(defaulter, k.portDeadline);
        address backup = _backups[defaulter];
        if (backup == address(0)) revert NoBackupMember(defaulter);
        for (uint256 i; i < clients.length; ++i) {
            if (_membership.clearingMemberOf(clients[i]) != defaulter) revert NotClientOf(clients[i], defaulter);
            emit ClientPortedOut(defaulter, clients[i], backup);
            _membership.portClient(clients[i], backup);
        }
    }

    /// @inheritdoc IDefaultFund
    /// @dev The estate must be able to receive (an active holder in the register): the
    /// defaulter itself is suspended. Securities collateral is returned only if the defaulter's
    /// margin covered its whole loss; otherwise units the liquidation could not sell stay booked
    /// to it in Margin (not handed back while others' resources paid for its loss).
    function closeDefault(address member) external onlyRole(DEFAULT_MANAGER_ROLE) nonReentrant {
        Case storage c = _cases[member];
        if (c.reason == DefaultReason.None || c.closed) revert NotInDefault(member);
        c.closed = true;
        emit DefaultClosed(member, c.loss);
        address estate = _estates[member];
        if (estate != address(0)) {
            Contribution storage own = _contributions[member];
            uint256 contribution = own.paid;
            own.paid = 0;
            uint256 marginCash = _margin.releaseCollateral(member, estate, c.beyondMargin == 0);
            emit LeftoverReturned(member, estate, marginCash, contribution);
            if (contribution != 0) _cash.safeTransfer(estate, contribution);
        }
        _membership.expel(member);
    }

    // ─── Leaving the fund ────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultFund
    function resign() external nonReentrant {
        if (_stakes[msg.sender].index == 0) revert NotFundMember(msg.sender); // not listed, or in default
        uint64 pending = _resignAt[msg.sender];
        if (pending != 0) revert ResignationPending(msg.sender, pending);
        uint64 at = uint64(block.timestamp) + _coolingOff;
        _resignAt[msg.sender] = at;
        emit ResignationStarted(msg.sender, at);
    }

    /// @inheritdoc IDefaultFund
    function completeResignation(address member) external nonReentrant {
        uint64 at = _resignAt[member];
        if (at == 0) revert NotResigning(member);
        if (block.timestamp < at) revert CoolingOff(member, at);
        if (_cases[member].reason != DefaultReason.None) revert AlreadyInDefault(member);
        (,, uint256 open) = ICCPSettlement(_ccp).prefunded(member);
        _margin.refreshMargin(member);
        MarginStatus memory st = _margin.marginStatus(member);
        if (open != 0 || st.required != 0 || st.pending != 0) revert ExposureOpen(member, open, st.required + st.pending);
        _leave(member); // settled first: what defaults left of its contribution
        Contribution storage c = _contributions[member];
        uint256 returned = c.paid;
        uint256 held = _cash.balanceOf(address(this));
        if (returned > held) revert FundCashLent(held, returned);
        (c.paid, c.required, c.topUpDeadline) = (0, 0, 0);
        delete _resignAt[member];
        emit Resigned(member, returned);
        _setContributionStatus(member, false); // no more orders through the gate
        if (returned != 0) _cash.safeTransfer(member, returned);
    }

    /// @inheritdoc IDefaultFund
    function setCoolingOff(uint32 period) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _coolingOff = period;
        emit CoolingOffSet(period);
    }

    /// @inheritdoc IDefaultFund
    function recoverLoss(address defaulter, uint256 amount) external nonReentrant {
        uint256 toEstate = _recover(defaulter, amount);
        _cash.safeTransferFrom(msg.sender, address(this), amount);
        if (toEstate != 0) _cash.safeTransfer(_estates[defaulter], toEstate);
    }

    /// @inheritdoc IDefaultFund
    /// @dev The CCP credits the fund (its default handler) with bridge refunds it cannot tell
    /// apart by case; the default manager names the case from the CCP's close-out events.
    function recoverCcpCredit(address defaulter, uint256 amount)
        external
        onlyRole(DEFAULT_MANAGER_ROLE)
        nonReentrant
    {
        uint256 toEstate = _recover(defaulter, amount);
        ICCPSettlement(_ccp).withdrawCash(amount);
        if (toEstate != 0) _cash.safeTransfer(_estates[defaulter], toEstate);
    }

    /// @inheritdoc IDefaultFund
    /// @dev The case is deleted, not kept closed: every other path reads `reason != None` as
    /// "in default" (survivor weights of layers 4-5, withdrawals, declarations), and a cured
    /// member is a survivor again. The register reinstatement needs the register's OPERATOR_ROLE.
    function cureDefault(address member) external onlyRole(DEFAULT_MANAGER_ROLE) nonReentrant {
        Case memory c = _cases[member];
        if (c.reason == DefaultReason.None) revert NotInDefault(member);
        if (c.closed) revert DefaultAlreadyClosed(member);
        if (c.beyondMargin != 0) revert OthersResourcesUsed(member, c.beyondMargin);
        Contribution memory own = _contributions[member];
        if (own.paid < own.required) revert ContributionUnpaid(member, own.required, own.paid);
        _earnings[member] = _accrued(member); // in default: nothing accrued, the index moves on
        delete _cases[member]; // before the refresh (checks-effects); a refusal below reverts it
        _join(member, own.paid); // a survivor again: back in layers 4 and 5
        _margin.refreshMargin(member);
        MarginStatus memory s = _margin.marginStatus(member);
        if (s.callAmount != 0 || s.posted < s.required) revert StillUnderCollateralised(member, s.required, s.posted);
        emit DefaultCured(member, c.reason, c.loss);
        _margin.clearDefault(member);
        if (c.suspended && _membership.memberOf(member).status == MemberStatus.Suspended) {
            _membership.reinstate(member);
        }
    }

    /// @inheritdoc IDefaultFund
    function startEpisode() external onlyRole(DEFAULT_MANAGER_ROLE) {
        _episodeStart = _assessRate;
        emit EpisodeStarted(++_episode);
    }

    /// @inheritdoc IDefaultFund
    function settleMember(address member) external nonReentrant {
        if (!_listed[member]) revert NotFundMember(member);
        int256 moved = _settle(member);
        if (moved != 0) _setContributionStatus(member, moved > 0);
    }

    /// @inheritdoc IDefaultFund
    function settleMembers(uint256 start, uint256 count) external nonReentrant returns (uint256 next) {
        uint256 n = _members.length;
        if (count == 0 || start >= n) revert BadInput();
        next = start + count < n ? start + count : n;
        address[] memory moved = new address[](next - start);
        bool[] memory paid = new bool[](next - start);
        uint256 k;
        for (uint256 i = start; i < next; ++i) {
            int256 m = _settle(_members[i]);
            if (m != 0) (moved[k], paid[k++]) = (_members[i], m > 0);
        }
        if (k != 0) {
            assembly ("memory-safe") {
                mstore(moved, k)
                mstore(paid, k)
            }
            _margin.setContributionStatus(moved, paid); // one call for the page
        }
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultFund
    function contributionInterestOf(address member) external view returns (uint256) {
        return _accrued(member).accrued;
    }

    /// @inheritdoc IDefaultFund
    function contributionOf(address member) external view returns (uint256 required, uint256 paid) {
        Contribution memory c = _contributions[member];
        return (c.required, _balanceOf(c.paid, _stakes[member]));
    }

    /// @inheritdoc IDefaultFund
    function members() external view returns (address[] memory) {
        return _members;
    }

    /// @inheritdoc IDefaultFund
    function memberCount() external view returns (uint256) {
        return _members.length;
    }

    /// @inheritdoc IDefaultFund
    function membersPage(uint256 start, uint256 count) external view returns (address[] memory page) {
        uint256 n = _members.length;
        uint256 end = start >= n ? start : (count < n - start ? start + count : n);
        page = new address[](end - start);
        for (uint256 i = start; i < end; ++i) {
            page[i - start] = _members[i];
        }
    }

    /// @inheritdoc IDefaultFund
    function survivorPool()
        external
        view
        returns (uint256 pool, uint256 requiredTotal, uint256 index, uint256 scale, uint256 assessRate)
    {
        return (_pool, _requiredPool, _index, _scale, _assessRate - _episodeStart);
    }

    /// @inheritdoc IDefaultFund
    function skinInTheGame() external view returns (uint256) {
        return _skinInTheGame;
    }

    /// @inheritdoc IDefaultFund
    function defaultOf(address member) external view returns (DefaultReason, uint256, bool) {
        Case memory c = _cases[member];
        return (c.reason, c.loss, c.closed);
    }

    /// @inheritdoc IDefaultFund
    function assessmentDue(address member) external view returns (uint256) {
        return _assessments[member].due + _assessedSince(member);
    }

    /// @inheritdoc IDefaultFund
    function layerTotals() external view returns (uint256[6] memory) {
        return _layerTotals;
    }

    /// @inheritdoc IDefaultFund
    function estateOf(address member) external view returns (address) {
        return _estates[member];
    }

    /// @inheritdoc IDefaultFund
    /// @dev Without survivors left in the pool the survivors' part cannot be returned: 0.
    function unrecovered(address defaulter) external view returns (uint256 survivors, uint256 skin, uint256 own) {
        Unrecovered memory u = _unrecovered[defaulter];
        return (_pool == 0 ? 0 : u.survivors, u.skin, u.own);
    }

    /// @inheritdoc IDefaultFund
    function portDeadline(address member) external view returns (uint64) {
        return _cases[member].portDeadline;
    }

    /// @inheritdoc IDefaultFund
    function topUpDeadline(address member) external view returns (uint64) {
        return _deadlineOf(member);
    }

    // ─── Waterfall ───────────────────────────────────────────────────────────────────────────

    /// @dev Layers 1-6 for `amount` of `defaulter`'s loss; cash of layers 1-4 goes to `to`.
    /// O(1) in the number of members: layers 4 and 5 move indices that each survivor's balance
    /// reads when it is next settled.
    function _waterfall(address defaulter, address wallet, uint256 amount, address to)
        internal
        returns (uint256 covered)
    {
        Case storage k = _cases[defaulter];
        k.loss = (uint256(k.loss) + amount).toUint96();
        uint256 remaining = amount;
        // Layer 1: the margin of the account that caused the loss (a client's), then the
        // defaulter's house margin (cash, then securities collateral sold); never another
        // client's (segregation, kept by Margin). The Margin contract pays the CCP directly.
        uint256 used = _margin.seizeMargin(defaulter, wallet, remaining, to);
        remaining -= _use(defaulter, Layer.DefaulterMargin, used);
        k.beyondMargin = (uint256(k.beyondMargin) + remaining).toUint96();
        if (remaining == 0) return amount; // layer 1 covered it all
        // Layer 2: the defaulter's own contribution.
        Contribution storage own = _contributions[defaulter];
        Unrecovered memory u = _unrecovered[defaulter];
        used = _min(remaining, own.paid);
        own.paid -= uint96(used);
        u.own = (uint256(u.own) + used).toUint96();
        uint256 fromFund = _use(defaulter, Layer.DefaulterFund, used);
        remaining -= used;
        // Layer 3: the CCP's skin in the game.
        used = _min(remaining, _skinInTheGame);
        _skinInTheGame -= used;
        u.skin = (uint256(u.skin) + used).toUint96();
        fromFund += _use(defaulter, Layer.SkinInTheGame, used);
        remaining -= used;
        // Layer 4: the survivors' contributions, pro rata.
        uint256 fromSurvivors;
        if (remaining != 0) {
            fromSurvivors = _use(defaulter, Layer.SurvivorFund, _chargeSurvivors(remaining));
            fromFund += fromSurvivors;
            remaining -= fromSurvivors;
        }
        // Layer 5: assessments, capped; called now, paid to the CCP later.
        uint256 assessed;
        if (remaining != 0) {
            assessed = _use(defaulter, Layer.Assessments, _assess(remaining));
            remaining -= assessed;
        }
        u.survivors = (uint256(u.survivors) + fromSurvivors + assessed).toUint96();
        _unrecovered[defaulter] = u;
        // Layer 6: what nobody covers, recorded.
        _use(defaulter, Layer.Uncovered, remaining);
        covered = amount - remaining - assessed;
        // Cash lent to the CCP is set off first when the CCP is paid: it already holds it.
        uint256 setOff = to == _ccp ? _min(fromFund, _lent) : 0;
        if (setOff != 0) {
            _lent -= setOff;
            emit LiquidityReturned(setOff, true, _lent);
        }
        if (fromFund != setOff) _cash.safeTransfer(to, fromFund - setOff);
    }

    /// @dev Layer 4: charge `amount` (at most the pool) to the survivors pro rata to their
    /// balances, in O(1): the index is multiplied by `(pool - used) / pool`, rounded down, so
    /// every survivor's balance, read as `floor(paid * index / bookedIndex)`, falls at least by
    /// its exact pro-rata share (rounding against the members, never the CCP) and the pool still
    /// backs them all. Balances are settled lazily (`_settle`): events, top-up calls and the
    /// gate's contribution flag follow when a member is next touched or a keeper settles it.
    function _chargeSurvivors(uint256 amount) internal returns (uint256 used) {
        uint256 pool = _pool;
        used = _min(amount, pool);
        if (used == 0) return 0;
        uint256 next = (uint256(_index) * (pool - used)) / pool;
        uint32 scale = _scale;
        if (next == 0) {
            (next, scale) = (INDEX_ONE, scale + 2); // every balance reads 0 two scales on
        } else if (next <= INDEX_FLOOR) {
            (next, scale) = (next * INDEX_FLOOR, scale + 1);
        }
        _pool = uint128(pool - used);
        uint32 charge = _charges + 1;
        (_index, _scale, _charges, _lastChargeAt) = (uint128(next), scale, charge, uint64(block.timestamp));
        emit SurvivorsCharged(charge, used, pool - used, next, scale);
    }

    /// @dev Return `amount` to `defaulter`'s layers in reverse order of use (survivors, skin in
    /// the game, own contribution). Returns the part of the own contribution due to the estate
    /// now (the case closed); the caller moves the cash in after these effects.
    function _recover(address defaulter, uint256 amount) internal returns (uint256 toEstate) {
        Case memory k = _cases[defaulter];
        if (k.reason == DefaultReason.None) revert NotInDefault(defaulter);
        if (amount == 0) revert BadInput();
        Unrecovered memory u = _unrecovered[defaulter];
        uint256 toSurvivors = _refundSurvivors(_min(amount, u.survivors));
        uint256 toSkin = _min(amount - toSurvivors, u.skin);
        uint256 toOwn = _min(amount - toSurvivors - toSkin, u.own);
        if (toSurvivors + toSkin + toOwn != amount) {
            revert RecoveryTooLarge(defaulter, amount, toSurvivors + toSkin + toOwn);
        }
        // Casts are safe: each part is at most the uint96 it is taken from.
        (u.survivors, u.skin, u.own) =
            (u.survivors - uint96(toSurvivors), u.skin - uint96(toSkin), u.own - uint96(toOwn));
        _unrecovered[defaulter] = u;
        _skinInTheGame += toSkin;
        if (toSurvivors != 0) emit LayerRecovered(defaulter, Layer.SurvivorFund, toSurvivors);
        if (toSkin != 0) emit LayerRecovered(defaulter, Layer.SkinInTheGame, toSkin);
        if (toOwn != 0) {
            emit LayerRecovered(defaulter, Layer.DefaulterFund, toOwn);
            if (k.closed && _estates[defaulter] != address(0)) toEstate = toOwn;
            else _contributions[defaulter].paid = (uint256(_contributions[defaulter].paid) + toOwn).toUint96();
        }
    }

    /// @dev Layer 4 in reverse, O(1): the index is multiplied by `(pool + amount) / pool`,
    /// rounded down, so every survivor's balance rises by at most its pro-rata share (rounding
    /// against the members) and the pool, grown by `amount`, still backs them all. Survivors in
    /// the pool now share it, pro rata to their balances now. Returns what it refunded: 0 when
    /// no survivor is left or the index could not carry it.
    function _refundSurvivors(uint256 amount) internal returns (uint256) {
        uint256 pool = _pool;
        if (amount == 0 || pool == 0) return 0;
        uint256 next = (uint256(_index) * (pool + amount)) / pool;
        if (next > type(uint128).max) return 0;
        uint32 charge = _charges + 1;
        (_pool, _index, _charges) = ((pool + amount).toUint128(), uint128(next), charge);
        emit SurvivorsRefunded(charge, amount, pool + amount, next, _scale);
        return amount;
    }

    /// @dev Layer 5: call up to `amount` from the survivors pro rata to their required
    /// contributions, within the episode's cap of `capBps` per unit required, in O(1): the
    /// cumulative rate per unit required rises by `ceil(used / requiredPool)`; each survivor
    /// owes `ceil(required * rise)` when next settled (rounding against the members).
    function _assess(uint256 amount) internal returns (uint256 used) {
        uint256 requiredPool = _requiredPool;
        uint256 maxRate = (uint256(_capBps) * RATE_ONE) / RiskMath.BPS;
        uint256 inEpisode = _assessRate - _episodeStart;
        if (requiredPool == 0 || inEpisode >= maxRate) return 0;
        used = _min(amount, (requiredPool * (maxRate - inEpisode)) / RATE_ONE);
        if (used == 0) return 0;
        uint256 rise = Math.ceilDiv(used * RATE_ONE, requiredPool);
        _assessRate += uint128(rise);
        emit SurvivorsAssessed(_episode, used, inEpisode + rise);
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────────

    function _declare(address member, DefaultReason reason) internal {
        _leave(member);
        bool active = _membership.isActive(member);
        Case storage c = _cases[member];
        (c.reason, c.suspended, c.portDeadline) = (reason, active, uint40(block.timestamp + _portWindow));
        emit MemberDefaulted(member, reason);
        _margin.flagDefault(member);
        if (active) _membership.suspend(member);
    }

    function _credit(address member, uint256 amount) internal {
        if (!_listed[member]) revert NotFundMember(member);
        if (amount == 0) revert BadInput();
        int256 moved = _settle(member);
        Contribution storage c = _contributions[member];
        bool wasShort = c.paid < c.required;
        c.paid = (uint256(c.paid) + amount).toUint96();
        if (_stakes[member].index != 0) _pool += uint128(amount); // below 2^96: paid is a uint96
        emit ContributionPaid(member, amount, c.paid);
        if (wasShort && c.paid >= c.required) {
            c.topUpDeadline = 0;
            _setContributionStatus(member, true);
        } else if (moved != 0) {
            _setContributionStatus(member, moved > 0);
        }
    }

    function _setContributionStatus(address member, bool paid) internal {
        address[] memory one = new address[](1);
        bool[] memory status = new bool[](1);
        (one[0], status[0]) = (member, paid);
        _margin.setContributionStatus(one, status);
    }

    /// @dev `member` enters layers 4 and 5 with `paid` booked now (listing, cure).
    function _join(address member, uint256 paid) internal {
        _stakes[member] = Stake(_index, _scale, _charges);
        _assessments[member].rate = _assessRate;
        _pool += uint128(paid); // a uint96 balance
        _requiredPool += _contributions[member].required;
    }

    /// @dev `member` (defaulting) leaves layers 4 and 5: settled first, its balance then
    /// absolute. What its balance lost to rounding stays in the pool.
    function _leave(address member) internal {
        if (_stakes[member].index == 0) return; // not a fund member
        _settle(member);
        _pool -= _contributions[member].paid;
        _requiredPool -= _contributions[member].required;
        delete _stakes[member];
    }

    /// @dev Book what layers 4 and 5 did to a survivor since it was last settled: its balance
    /// at the current index (a charge that leaves it short calls a top-up; a refund that makes
    /// it whole again ends the call), and its assessment at the current rate. Returns how its
    /// contribution status moved (-1 newly short, 1 whole again, 0 neither): the caller tells
    /// the gate after its own effects (no external call here).
    function _settle(address member) internal returns (int256 moved) {
        _earnings[member] = _accrued(member); // interest to now, on the balance before this touch
        Stake memory s = _stakes[member];
        if (s.index == 0) return 0;
        Contribution storage c = _contributions[member];
        uint256 paid = c.paid;
        uint256 balance = _balanceOf(paid, s);
        if (balance < paid) {
            c.paid = uint96(balance);
            emit SurvivorCharged(member, paid - balance);
            if (balance < c.required) {
                if (c.topUpDeadline == 0) c.topUpDeadline = _lastChargeAt + _topUpWindow;
                emit TopUpCalled(member, c.required - balance, c.topUpDeadline);
                moved = -1;
            }
        } else if (balance > paid) {
            c.paid = balance.toUint96();
            emit SurvivorRefunded(member, balance - paid);
            if (paid < c.required && balance >= c.required) {
                c.topUpDeadline = 0;
                moved = 1;
            }
        }
        if (s.charges != _charges) _stakes[member] = Stake(_index, _scale, _charges);
        uint128 rate = _assessRate;
        if (rate == 0) return moved; // never assessed: every snapshot is 0 too
        uint256 assessed = _assessedSince(member);
        Assessment storage a = _assessments[member];
        a.rate = rate;
        if (assessed != 0) {
            a.due = (uint256(a.due) + assessed).toUint96();
            emit AssessmentCalled(member, assessed);
        }
    }

    /// @dev `member`'s interest accrued to now (not stored): on the smaller of its contribution as
    /// booked and as read through the survivors' index, times the growth of Margin's interest
    /// index since the last accrual, rounded down; nothing while it is in default.
    function _accrued(address member) internal view returns (Earning memory e) {
        uint256 index = _margin.interestIndex();
        e = _earnings[member];
        if (e.index != 0 && index > e.index && _cases[member].reason == DefaultReason.None) {
            Contribution memory c = _contributions[member];
            uint256 base = _balanceOf(c.paid, _stakes[member]);
            if (base > c.paid) base = c.paid;
            e.accrued = InterestMath.accrue(e.accrued, base, e.index, index);
        }
        e.index = index.toUint128();
    }

    /// @dev `paid` booked at `s`, read at the current index: `floor(paid * index / s.index)`,
    /// one scale apart also divided by INDEX_FLOOR, two or more apart 0 (below one base unit for
    /// any balance under 10^18 units; rounding against the member above). Outside the pool
    /// (`s.index == 0`) `paid` itself.
    function _balanceOf(uint256 paid, Stake memory s) internal view returns (uint256) {
        if (s.index == 0) return paid;
        if (s.scale == _scale) return (paid * _index) / s.index;
        if (s.scale + 1 == _scale) return (paid * _index) / s.index / INDEX_FLOOR;
        return 0;
    }

    /// @dev Assessment `member` owes since it was last settled: `ceil(required * rate rise)`.
    function _assessedSince(address member) internal view returns (uint256) {
        if (_stakes[member].index == 0) return 0;
        uint256 rise = _assessRate - _assessments[member].rate;
        return rise == 0 ? 0 : Math.ceilDiv(_contributions[member].required * rise, RATE_ONE);
    }

    /// @dev `member`'s top-up deadline, also for a charge not yet settled: the latest charge
    /// plus the top-up window.
    function _deadlineOf(address member) internal view returns (uint64) {
        Contribution memory c = _contributions[member];
        if (c.topUpDeadline != 0) return c.topUpDeadline;
        Stake memory s = _stakes[member];
        if (s.index == 0 || s.charges == _charges) return 0;
        uint256 balance = _balanceOf(c.paid, s);
        if (balance == c.paid || balance >= c.required) return 0;
        return _lastChargeAt + _topUpWindow;
    }

    function _callTopUp(address member, Contribution storage c) internal {
        if (c.topUpDeadline == 0) c.topUpDeadline = uint64(block.timestamp) + _topUpWindow;
        emit TopUpCalled(member, c.required - c.paid, c.topUpDeadline);
    }

    function _use(address defaulter, Layer layer, uint256 amount) internal returns (uint256) {
        if (amount != 0) {
            _layerTotals[uint8(layer)] += amount;
            emit LayerUsed(defaulter, layer, amount);
        }
        return amount;
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}
