// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IDefaultFund, DefaultReason, Layer} from "../interfaces/IDefaultFund.sol";
import {IDefaultHandler} from "../interfaces/IDefaultHandler.sol";
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
    /// @notice Bound on fund members (the survivor layers loop over them).
    uint256 public constant MAX_MEMBERS = 16;
    /// @notice Bound on a client-porting batch.
    uint256 public constant MAX_BATCH = 50;

    /// @dev One slot: required (12) | paid (12) | top-up deadline (8).
    struct Contribution {
        uint96 required;
        uint96 paid;
        uint64 topUpDeadline;
    }

    /// @dev One slot: reason (1) | closed (1) | loss charged (16) | part of it beyond the
    /// defaulter's margin, layers 2-6 (12) | suspended by this contract at declaration (1).
    struct Case {
        DefaultReason reason;
        bool closed;
        uint128 loss;
        uint96 beyondMargin;
        bool suspended;
    }

    /// @dev One slot: episode of `assessed` (8) | assessed in that episode (12) | unpaid (12).
    struct Assessment {
        uint64 episode;
        uint96 assessed;
        uint96 due;
    }

    IERC20 private immutable _cash;
    IMargin private immutable _margin;
    IMembership private immutable _membership;
    address private immutable _ccp;

    uint256 private _skinInTheGame;
    uint16 private _capBps = 10_000;
    uint32 private _topUpWindow = 1 days;
    uint64 private _episode;
    uint256[6] private _layerTotals;
    address[] private _members;
    mapping(address member => bool) private _listed;
    mapping(address member => Contribution) private _contributions;
    mapping(address member => Case) private _cases;
    mapping(address member => Assessment) private _assessments;
    mapping(address member => address) private _backups;
    mapping(address member => address) private _estates;
    /// @dev Cash lent to the CCP for buy-ins (IDefaultHandler.lendLiquidity), not yet back.
    uint256 private _lent;

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
        if (n != amounts.length || n > MAX_MEMBERS) revert BadBatch(n, MAX_MEMBERS);
        bool[] memory paid = new bool[](n);
        for (uint256 i; i < n; ++i) {
            address m = members_[i];
            if (!_listed[m]) {
                if (_members.length == MAX_MEMBERS) revert TooManyMembers(MAX_MEMBERS);
                _listed[m] = true;
                _members.push(m);
            }
            Contribution storage c = _contributions[m];
            c.required = amounts[i].toUint96();
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
        Contribution storage c = _contributions[msg.sender];
        uint256 excess = c.paid > c.required ? c.paid - c.required : 0;
        if (amount == 0 || amount > excess) revert InsufficientContribution(msg.sender, excess, amount);
        uint256 held = _cash.balanceOf(address(this));
        if (amount > held) revert FundCashLent(held, amount);
        c.paid -= uint96(amount);
        emit ContributionWithdrawn(msg.sender, amount);
        _cash.safeTransfer(msg.sender, amount);
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
        Assessment storage a = _assessments[msg.sender];
        if (amount == 0 || amount > a.due) revert InsufficientContribution(msg.sender, a.due, amount);
        a.due -= uint96(amount);
        emit AssessmentPaid(msg.sender, amount);
        _cash.safeTransferFrom(msg.sender, _ccp, amount);
    }

    // ─── Default management ──────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultFund
    function declareDefault(address member) external nonReentrant {
        DefaultReason reason;
        if (_margin.callOverdue(member)) {
            reason = DefaultReason.MissedMarginCall;
        } else {
            uint64 deadline = _contributions[member].topUpDeadline;
            if (deadline != 0 && block.timestamp > deadline) reason = DefaultReason.MissedTopUp;
            else if (hasRole(DEFAULT_MANAGER_ROLE, msg.sender)) reason = DefaultReason.Declared;
            else revert NoDefaultEvent(member);
        }
        if (_cases[member].reason != DefaultReason.None) revert AlreadyInDefault(member);
        _declare(member, reason);
    }

    /// @inheritdoc IDefaultHandler
    /// @dev Declares the member in default if it is not yet, then runs the waterfall for
    /// `cashAmount`; layers 1-4 are paid to the CCP before returning.
    function coverShortfall(address member, uint256 cashAmount) external nonReentrant returns (uint256 covered) {
        if (msg.sender != _ccp) revert OnlyCcp(msg.sender);
        if (_cases[member].reason == DefaultReason.None) _declare(member, DefaultReason.SettlementShortfall);
        covered = _waterfall(member, cashAmount, msg.sender);
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

    /// @inheritdoc IDefaultHandler
    function liquidityLent() external view returns (uint256) {
        return _lent;
    }

    /// @inheritdoc IDefaultFund
    function portClients(address defaulter, address[] calldata clients) external nonReentrant {
        if (clients.length > MAX_BATCH) revert BadBatch(clients.length, MAX_BATCH);
        if (_cases[defaulter].reason == DefaultReason.None) revert NotInDefault(defaulter);
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
        delete _cases[member]; // before the refresh (checks-effects); a refusal below reverts it
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
        emit EpisodeStarted(++_episode);
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultFund
    function contributionOf(address member) external view returns (uint256 required, uint256 paid) {
        Contribution memory c = _contributions[member];
        return (c.required, c.paid);
    }

    /// @inheritdoc IDefaultFund
    function members() external view returns (address[] memory) {
        return _members;
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
        return _assessments[member].due;
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
    function topUpDeadline(address member) external view returns (uint64) {
        return _contributions[member].topUpDeadline;
    }

    // ─── Waterfall ───────────────────────────────────────────────────────────────────────────

    /// @dev Layers 1-6 for `amount` of `defaulter`'s loss; cash of layers 1-4 goes to `to`.
    /// Bounded: two loops over at most MAX_MEMBERS members.
    function _waterfall(address defaulter, uint256 amount, address to) internal returns (uint256 covered) {
        Case storage k = _cases[defaulter];
        k.loss = (uint256(k.loss) + amount).toUint128();
        uint256 remaining = amount;
        // Layer 1: the defaulter's whole margin (cash, then its securities collateral sold);
        // the Margin contract pays the CCP directly.
        uint256 used = _margin.seizeMargin(defaulter, remaining, to);
        remaining -= _use(defaulter, Layer.DefaulterMargin, used);
        k.beyondMargin = (uint256(k.beyondMargin) + remaining).toUint96();
        // Layer 2: the defaulter's own contribution.
        Contribution storage own = _contributions[defaulter];
        used = _min(remaining, own.paid);
        own.paid -= uint96(used);
        uint256 fromFund = _use(defaulter, Layer.DefaulterFund, used);
        remaining -= used;
        // Layer 3: the CCP's skin in the game.
        used = _min(remaining, _skinInTheGame);
        _skinInTheGame -= used;
        fromFund += _use(defaulter, Layer.SkinInTheGame, used);
        remaining -= used;
        // Layer 4: the survivors' contributions, pro rata.
        if (remaining != 0) {
            used = _chargeSurvivors(defaulter, remaining);
            fromFund += _use(defaulter, Layer.SurvivorFund, used);
            remaining -= used;
        }
        // Layer 5: assessments, capped; called now, paid to the CCP later.
        uint256 assessed;
        if (remaining != 0) {
            assessed = _use(defaulter, Layer.Assessments, _assess(defaulter, remaining));
            remaining -= assessed;
        }
        // Layer 6: what nobody covers, recorded.
        _use(defaulter, Layer.Uncovered, remaining);
        covered = amount - remaining - assessed;
        // Cash lent to the CCP is set off first: the CCP already holds it.
        uint256 setOff = _min(fromFund, _lent);
        if (setOff != 0) {
            _lent -= setOff;
            emit LiquidityReturned(setOff, true, _lent);
        }
        if (fromFund != setOff) _cash.safeTransfer(to, fromFund - setOff);
    }

    /// @dev Layer 4: charge `amount` (at most the survivors' paid contributions) pro rata to
    /// the survivors' paid contributions; each charged survivor gets a top-up call.
    function _chargeSurvivors(address defaulter, uint256 amount) internal returns (uint256 used) {
        address[] memory ms = _members;
        uint256[] memory weights = new uint256[](ms.length);
        uint256 total;
        for (uint256 i; i < ms.length; ++i) {
            if (_cases[ms[i]].reason == DefaultReason.None) weights[i] = _contributions[ms[i]].paid;
            total += weights[i];
        }
        used = _min(amount, total);
        uint256[] memory shares = RiskMath.proRata(used, weights);
        address[] memory charged = new address[](ms.length);
        uint256 n;
        for (uint256 i; i < ms.length; ++i) {
            if (shares[i] == 0) continue;
            Contribution storage c = _contributions[ms[i]];
            c.paid -= uint96(shares[i]);
            emit SurvivorCharged(defaulter, ms[i], shares[i]);
            if (c.paid < c.required) {
                _callTopUp(ms[i], c);
                charged[n++] = ms[i];
            }
        }
        if (n != 0) {
            assembly ("memory-safe") {
                mstore(charged, n)
            }
            _margin.setContributionStatus(charged, new bool[](n));
        }
    }

    /// @dev Layer 5: call up to `amount` from the survivors pro rata to their remaining caps
    /// `ceil(required * capBps / BPS)` in the current episode.
    function _assess(address defaulter, uint256 amount) internal returns (uint256 used) {
        address[] memory ms = _members;
        uint256[] memory caps = new uint256[](ms.length);
        uint256 total;
        for (uint256 i; i < ms.length; ++i) {
            if (_cases[ms[i]].reason != DefaultReason.None) continue;
            Assessment memory a = _assessments[ms[i]];
            uint256 assessed = a.episode == _episode ? a.assessed : 0;
            uint256 cap = RiskMath.capOf(_contributions[ms[i]].required, _capBps);
            caps[i] = cap > assessed ? cap - assessed : 0;
            total += caps[i];
        }
        used = _min(amount, total);
        uint256[] memory shares = RiskMath.proRata(used, caps);
        for (uint256 i; i < ms.length; ++i) {
            if (shares[i] == 0) continue;
            Assessment storage a = _assessments[ms[i]];
            if (a.episode != _episode) (a.episode, a.assessed) = (_episode, 0);
            a.assessed += uint96(shares[i]);
            a.due += uint96(shares[i]);
            emit AssessmentCalled(defaulter, ms[i], shares[i]);
        }
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────────

    function _declare(address member, DefaultReason reason) internal {
        bool active = _membership.isActive(member);
        Case storage c = _cases[member];
        (c.reason, c.suspended) = (reason, active);
        emit MemberDefaulted(member, reason);
        _margin.flagDefault(member);
        if (active) _membership.suspend(member);
    }

    function _credit(address member, uint256 amount) internal {
        if (!_listed[member]) revert NotFundMember(member);
        if (amount == 0) revert BadInput();
        Contribution storage c = _contributions[member];
        bool wasShort = c.paid < c.required;
        c.paid = (uint256(c.paid) + amount).toUint96();
        emit ContributionPaid(member, amount, c.paid);
        if (wasShort && c.paid >= c.required) {
            c.topUpDeadline = 0;
            address[] memory one = new address[](1);
            bool[] memory yes = new bool[](1);
            (one[0], yes[0]) = (member, true);
            _margin.setContributionStatus(one, yes);
        }
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
