// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {OpenObligation} from "../interfaces/ICCPSettlement.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";
import {IDefaultFund} from "../interfaces/IDefaultFund.sol";
import {IMargin, FundTransfer, MarginStatus} from "../interfaces/IMargin.sol";
import {IOrderGate} from "../interfaces/IOrderGate.sol";
import {IRegisterSubscriber} from "../interfaces/IRegisterSubscriber.sol";
import {FundTransferHashing} from "../libraries/FundTransferHashing.sol";
import {OmnibusAccount} from "../libraries/OmnibusAccount.sol";
import {RiskMath} from "../libraries/RiskMath.sol";
import {Member, MemberKind, PSEUDONYM_SPONSOR, Segregation} from "../types/Member.sol";
import {Side} from "../types/Order.sol";
import {MarginBase} from "./MarginBase.sol";
import {MarginRevaluation} from "./MarginRevaluation.sol";
import {MarginSeizure} from "./MarginSeizure.sol";

/// @title Margin — collateral, scenario IM, VM, margin calls and the pre-trade gate (F8, F10)
/// @notice See IMargin. Trusted: the membership register (pushes entries to this contract's
/// copy), the CCP (read for obligations), the default fund (seizes, flags defaults, reports
/// contribution status), registered venues (call the gate), the risk and price roles.
/// This contract is a registered system account, so it may hold cash and securities.
/// @dev Storage, structs and the storage-bearing bases are in MarginBase, shared with the
/// revaluation module this contract creates and runs by delegatecall (MarginRevaluation).
/// No bound on accounts, positions or collateral lines: the gate is O(1), revaluations page.
contract Margin is IMargin, IRegisterSubscriber, MarginBase {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Publishes scenarios, haircuts and the margin model.
    bytes32 public constant RISK_ROLE = keccak256("RISK_ROLE");
    /// @notice Publishes daily settlement prices and starts margin days.
    bytes32 public constant PRICE_ROLE = keccak256("PRICE_ROLE");
    /// @notice Venues allowed to call the gate.
    bytes32 public constant VENUE_ROLE = keccak256("VENUE_ROLE");
    /// @notice The default fund (seizes margin, flags defaults, reports contributions).
    bytes32 public constant FUND_ROLE = keccak256("FUND_ROLE");
    /// @notice Emergency path: may make scenarios, haircuts and the model stricter, nothing else.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice The default-management account: its close-out orders pass the gate unmargined.
    bytes32 public constant DEFAULT_MANAGEMENT_ROLE = keccak256("DEFAULT_MANAGEMENT_ROLE");

    int16 private constant MIN_SHOCK = -10_000;

    /// @dev The revaluation module, created with this contract and described by the same
    /// immutables (see MarginRevaluation).
    address private immutable _revaluation;
    /// @dev The layer-1 module (seizure and release of a defaulter's collateral, MarginSeizure).
    address private immutable _seizure;

    /// @param ccp The CCP whose obligations are margined.
    /// @param membership The register (this contract must be added as a subscriber).
    /// @param nScenarios Scenarios per security (1 to 16), fixed.
    /// @param operator Admin, risk and price roles.
    constructor(address ccp, address membership, address cash, address securities, uint8 nScenarios, address operator)
        MarginBase(ccp, membership, cash, securities, nScenarios, operator)
    {
        _revaluation = address(new MarginRevaluation(ccp, membership, cash, securities, nScenarios, operator));
        _seizure = address(new MarginSeizure(ccp, membership, cash, securities, nScenarios, operator));
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(RISK_ROLE, operator);
        _grantRole(PRICE_ROLE, operator);
    }

    /// @notice Set the default fund (gets FUND_ROLE). Admin, once.
    function setDefaultFund(address fund) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (fund == address(0) || address(_fund) != address(0)) revert ZeroInput();
        _fund = IDefaultFund(fund);
        _grantRole(FUND_ROLE, fund);
    }

    /// @inheritdoc IMargin
    /// @dev The market is approved for all of this contract's units (it is a trusted system
    /// account, like the CCP's close-out market); each sale checks it took no more than offered.
    function setLiquidationMarket(address market) external onlyRole(DEFAULT_ADMIN_ROLE) {
        address old = address(_liquidationMarket);
        _liquidationMarket = ICloseOutMarket(market);
        emit LiquidationMarketSet(market);
        if (old != address(0)) _securities.setApprovalForAll(old, false);
        if (market != address(0)) _securities.setApprovalForAll(market, true);
    }

    // ─── Risk parameters ─────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMargin
    function publishScenarios(uint256 securityId, int16[] calldata shocksBps) external {
        SecurityRisk storage r = _risk[securityId];
        _authoriseRiskChange(
            securityId, r.hasScenarios ? _widens(_shocks[securityId], shocksBps) : hasRole(RISK_ROLE, msg.sender)
        );
        if (shocksBps.length != _nScenarios) revert BadScenarioVector(shocksBps.length, _nScenarios);
        (uint256 packed, int16 down, int16 up) = RiskMath.pack(shocksBps);
        if (down < MIN_SHOCK) revert ShockBelowMinusHundredPercent(down);
        (r.worstDown, r.worstUp, r.hasScenarios) = (down, up, true);
        _shocks[securityId] = packed;
        emit ScenariosPublished(securityId, shocksBps);
    }

    /// @inheritdoc IMargin
    function setHaircut(uint256 securityId, uint16 haircutBps) external {
        _authoriseRiskChange(securityId, haircutBps >= _risk[securityId].haircutBps);
        if (haircutBps >= RiskMath.BPS) revert BadParameter(haircutBps);
        _risk[securityId].haircutBps = haircutBps;
        emit HaircutSet(securityId, haircutBps);
    }

    /// @inheritdoc IMargin
    function setMarginModel(uint16 confidenceBps, uint8 horizonDays, uint32 callWindow) external {
        _authoriseRiskChange(
            0, confidenceBps >= _confidenceBps && horizonDays >= _horizonDays && callWindow <= _callWindow
        );
        if (confidenceBps == 0 || confidenceBps >= RiskMath.BPS || horizonDays == 0) revert BadParameter(confidenceBps);
        (_confidenceBps, _horizonDays, _callWindow) = (confidenceBps, horizonDays, callWindow);
        emit MarginModelSet(confidenceBps, horizonDays, callWindow);
    }

    /// @inheritdoc IMargin
    function publishPrices(uint256[] calldata securityIds, uint256[] calldata prices) external onlyRole(PRICE_ROLE) {
        uint256 n = securityIds.length;
        if (n != prices.length || n > MAX_BATCH) revert BadBatch(n, MAX_BATCH);
        uint32 day = uint32(block.timestamp / 1 days);
        for (uint256 i; i < n; ++i) {
            if (prices[i] == 0 || prices[i] > type(uint64).max) revert BadParameter(prices[i]);
            uint256 securityId = securityIds[i];
            SecurityRisk storage r = _risk[securityId];
            (r.price, r.priceDay) = (uint64(prices[i]), day);
            // Also in the packed word the revaluation reads (bits 64 (securityId % 4) on).
            uint256 shift = (securityId & 3) << 6;
            _prices[securityId >> 2] =
                _prices[securityId >> 2] & ~(uint256(type(uint64).max) << shift) | prices[i] << shift;
            emit SettlementPricePublished(securityIds[i], prices[i], day);
        }
    }

    /// @inheritdoc IMargin
    function startMarginDay() external onlyRole(PRICE_ROLE) {
        uint32 day = ++_marginDay;
        emit MarginDayStarted(day);
    }

    /// @dev The admin (the timelock, after its delay) may make any change; the risk role and
    /// the guardian only a `stricter` one. Access is checked first (outsiders get the access error).
    function _authoriseRiskChange(uint256 securityId, bool stricter) private view {
        if (hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) return;
        if (!hasRole(GUARDIAN_ROLE, msg.sender)) _checkRole(RISK_ROLE);
        if (!stricter) revert RiskChangeNeedsAdmin(msg.sender, securityId);
    }

    /// @dev True if no shock of `shocks` is smaller in magnitude than the published one of its
    /// scenario or of the other sign (a zero shock may become anything). Bounded by the vector's
    /// length (checked against the scenario count after this).
    function _widens(uint256 packed, int16[] calldata shocks) private pure returns (bool) {
        for (uint256 s; s < shocks.length; ++s) {
            int256 old = RiskMath.shockAt(packed, s);
            if ((old < 0 && shocks[s] > old) || (old > 0 && shocks[s] < old)) return false;
        }
        return true;
    }

    // ─── Gate ────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IOrderGate
    /// @dev Steady state (position already listed): the owner's register copy (which names its
    /// margin account), the account slot, the security's risk slot and the owner's position slot
    /// are read; the account and the position are written, whatever the number of positions,
    /// wallets, accounts or members. The order's margin is its stand-alone worst case, rounded up.
    /// A client's order is gated on its own account (individual) or its member's omnibus account,
    /// never on the house's collateral; its member's standing is the venue's check (a client of a
    /// suspended member does not trade).
    function checkOrder(address owner, uint256 securityId, Side side, uint256 quantity, uint256 price)
        external
        onlyRole(VENUE_ROLE)
    {
        address account = _members[owner].account;
        if (account == address(0)) {
            // The default-management account closes out unsold lots of a defaulter's portfolio
            // on a venue: its orders are the CCP's own (no margin account, nothing to gate).
            if (hasRole(DEFAULT_MANAGEMENT_ROLE, owner)) return;
            revert NoClearingMember(owner);
        }
        Account memory a = _accounts[account];
        if (a.flags != 0) _refuseFlagged(account, a.flags);
        SecurityRisk memory r = _risk[securityId];
        if (!r.hasScenarios || r.price == 0) revert SecurityNotMargined(securityId);
        bool buy = side == Side.Buy;
        uint256 orderMargin = RiskMath.orderMargin(quantity, price, r.price, buy ? r.worstDown : r.worstUp, buy);
        uint256 need = uint256(a.required) + a.pending + orderMargin;
        if (need > a.posted) revert InsufficientMargin(account, need, a.posted);

        a.pending = (uint256(a.pending) + orderMargin).toUint80();
        _accounts[account] = a;
        Position storage p = _positions[owner][securityId];
        if (!p.listed) _listPosition(owner, securityId);
        if (buy) p.openBuy = (uint256(p.openBuy) + quantity).toUint48();
        else p.openSell = (uint256(p.openSell) + quantity).toUint48();
        emit OrderMargined(account, owner, securityId, orderMargin);
    }

    /// @dev The gate's refusal for a flagged account: in default, contribution unpaid, or a
    /// revaluation spanning transactions not finished (its figure is not known yet; the safe
    /// one is none).
    function _refuseFlagged(address member, uint8 flags) private view {
        if (flags & DEFAULTED != 0) revert MemberInDefault(member);
        if (flags & REVALUING != 0) revert RevaluationPending(member, _runs[member].done);
        if (flags & CONTRIBUTION_UNPAID != 0) {
            (uint256 required, uint256 paid) = _fund.contributionOf(member);
            revert ContributionNotPaid(member, required, paid);
        }
    }

    // ─── Collateral ──────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMargin
    function depositCash(uint256 amount) external nonReentrant {
        _creditCash(_accountOfWallet(msg.sender), amount);
        _cash.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IMargin
    function depositCashTo(address account, uint256 amount) external nonReentrant {
        _memberOf(account);
        _creditCash(account, amount);
        _cash.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IMargin
    /// @dev The line is valued afresh at today's price with the new units (touching a line marks
    /// it to market); other lines keep their last valuation.
    function depositSecurities(uint256 securityId, uint256 units) external nonReentrant {
        address account = _accountOfWallet(msg.sender);
        if (units == 0) revert ZeroInput();
        if (_risk[securityId].price == 0) revert SecurityNotMargined(securityId);
        CollateralLine storage l = _lines[account][securityId];
        if (!l.listed) {
            _collateralIds[account].push(securityId.toUint64());
            l.listed = true;
        }
        _revalueLine(account, securityId, uint256(l.units) + units);
        emit SecuritiesCollateralMoved(account, securityId, units.toInt256());
        _releaseCallIfCovered(account);
        _securities.safeTransferFrom(msg.sender, address(this), securityId, units, "");
    }

    /// @inheritdoc IMargin
    function depositWithSignature(FundTransfer calldata t, bytes calldata signature) external nonReentrant {
        if (block.timestamp > t.deadline) revert TransferExpired(t.deadline);
        _requireClearingMember(t.member);
        bytes32 digest = _hashTypedDataV4(FundTransferHashing.hashStruct(t));
        if (ECDSA.recover(digest, signature) != t.member) revert BadSignature(t.member);
        _useCheckedNonce(t.member, t.nonce);
        if (t.marginAmount + t.fundAmount == 0) revert ZeroInput();
        if (t.marginAmount != 0) _creditCash(t.member, t.marginAmount);
        _cash.safeTransferFrom(t.member, address(this), t.marginAmount + t.fundAmount);
        if (t.fundAmount != 0) {
            _cash.safeTransfer(address(_fund), t.fundAmount);
            _fund.recordContribution(t.member, t.fundAmount);
        }
    }

    /// @inheritdoc IMargin
    function withdrawCash(uint256 amount) external nonReentrant {
        _withdrawCash(_controlledBy(msg.sender, _accountOfWallet(msg.sender)), amount);
    }

    /// @inheritdoc IMargin
    function withdrawCashFrom(address account, uint256 amount) external nonReentrant {
        _withdrawCash(_controlledBy(msg.sender, account), amount);
    }

    /// @dev Pay `amount` of `account`'s cash collateral to the caller (its controller), only
    /// the excess over its requirement.
    function _withdrawCash(address account, uint256 amount) private {
        Account memory a = _accounts[account];
        _refuseWithdrawal(account, a.flags);
        CashHeld memory h = _touchCash(account);
        if (amount == 0 || amount > h.cash) revert InsufficientCollateral(account, h.cash, amount);
        uint256 need = uint256(a.required) + a.pending;
        if (a.posted < need + amount) revert InsufficientMargin(account, need + amount, a.posted);
        uint256 interest = h.interest;
        (h.cash, h.interest) = (h.cash - uint96(amount), 0);
        _cashHeld[account] = h;
        a.posted -= uint80(amount);
        _accounts[account] = a;
        emit CashCollateralMoved(account, -amount.toInt256());
        _cash.safeTransfer(msg.sender, amount);
        _payInterest(account, msg.sender, interest);
    }

    /// @inheritdoc IMargin
    function claimInterest(address account) external nonReentrant {
        _controlledBy(msg.sender, account);
        CashHeld memory h = _touchCash(account);
        uint256 interest = h.interest;
        h.interest = 0;
        _cashHeld[account] = h;
        _payInterest(account, msg.sender, interest);
    }

    /// @inheritdoc IMargin
    function setInterestRate(uint16 rateBps) external onlyRole(RISK_ROLE) {
        uint256 index = _interestIndex();
        _interest = InterestRate(index.toUint64(), uint40(block.timestamp), rateBps);
        emit InterestRateSet(rateBps, index);
    }

    /// @inheritdoc IMargin
    function setInterestPayer(address payer) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _interestPayer = payer;
        emit InterestPayerSet(payer);
    }

    /// @inheritdoc IMargin
    function interestOf(address account) external view returns (uint256) {
        return _touchCash(account).interest;
    }

    /// @inheritdoc IMargin
    function interestIndex() external view returns (uint256) {
        return _interestIndex();
    }

    /// @inheritdoc IMargin
    function interestPayer() external view returns (address) {
        return _interestPayer;
    }

    /// @inheritdoc IMargin
    function withdrawSecurities(uint256 securityId, uint256 units) external nonReentrant {
        address account = _controlledBy(msg.sender, _accountOfWallet(msg.sender));
        _refuseWithdrawal(account, _accounts[account].flags);
        uint256 held = _lines[account][securityId].units;
        if (units == 0 || units > held) revert InsufficientCollateral(account, held, units);
        _revalueLine(account, securityId, held - units);
        Account memory a = _accounts[account];
        uint256 need = uint256(a.required) + a.pending;
        if (a.posted < need) revert InsufficientMargin(account, need, a.posted);
        emit SecuritiesCollateralMoved(account, securityId, -units.toInt256());
        _securities.safeTransferFrom(address(this), msg.sender, securityId, units, "");
    }

    /// @dev The margin account `wallet` trades for; refuses a wallet without one.
    function _accountOfWallet(address wallet) private view returns (address account) {
        account = _members[wallet].account;
        if (account == address(0)) revert UnknownAccount(wallet);
    }

    /// @dev `account`, if `caller` controls its collateral: the member its house and omnibus
    /// accounts, an individually segregated client its own (its member cannot take it out).
    function _controlledBy(address caller, address account) private view returns (address) {
        AccountOwner memory o = _owners[account];
        if (o.member == address(0)) revert UnknownAccount(account);
        if (caller != (o.mode == Segregation.Omnibus ? o.member : account)) {
            revert NotAccountController(caller, account);
        }
        return account;
    }

    /// @dev Withdrawals wait for a default's end and for a revaluation spanning transactions.
    function _refuseWithdrawal(address member, uint8 flags) private view {
        if (flags & DEFAULTED != 0) revert MemberInDefault(member);
        if (flags & REVALUING != 0) revert RevaluationPending(member, _runs[member].done);
    }

    // ─── Margin cycle ────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMargin
    function refreshMargin(address member) external nonReentrant {
        _delegateRevalue(member, type(uint256).max);
    }

    /// @inheritdoc IMargin
    function revalue(address member, uint256 maxItems) external nonReentrant returns (bool finished) {
        if (maxItems == 0) revert BadParameter(0);
        return _delegateRevalue(member, maxItems);
    }

    /// @dev Run a page of the revaluation on MarginRevaluation's code against this contract's
    /// storage; its refusals come back unchanged.
    function _delegateRevalue(address member, uint256 maxItems) private returns (bool finished) {
        return abi.decode(_delegate(_revaluation, abi.encodeCall(MarginRevaluation.revalue, (member, maxItems))), (bool));
    }

    /// @dev Run `data` on `module`'s code against this contract's storage; its refusals come
    /// back unchanged.
    function _delegate(address module, bytes memory data) private returns (bytes memory result) {
        bool ok;
        (ok, result) = module.delegatecall(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// @notice The MarginRevaluation code this contract runs its revaluations with.
    function revaluationModule() external view returns (address) {
        return _revaluation;
    }

    /// @notice The MarginSeizure code this contract runs waterfall layer 1 with.
    function seizureModule() external view returns (address) {
        return _seizure;
    }

    // ─── Default fund hooks ──────────────────────────────────────────────────────────────────

    /// @inheritdoc IMargin
    /// @dev Runs in MarginSeizure.
    function seizeMargin(address, address, uint256, address)
        external
        onlyRole(FUND_ROLE)
        nonReentrant
        returns (uint256 taken)
    {
        return abi.decode(_delegate(_seizure, msg.data), (uint256));
    }

    /// @inheritdoc IMargin
    /// @dev Runs in MarginSeizure.
    function releaseCollateral(address, address, bool)
        external
        onlyRole(FUND_ROLE)
        nonReentrant
        returns (uint256 cashReturned)
    {
        return abi.decode(_delegate(_seizure, msg.data), (uint256));
    }

    /// @inheritdoc IMargin
    /// @dev Runs in MarginSeizure.
    function releaseRemainingCollateral(address, uint256) external nonReentrant returns (bool done) {
        return abi.decode(_delegate(_seizure, msg.data), (bool));
    }

    /// @inheritdoc IMargin
    /// @dev Runs in MarginSeizure.
    function portOmnibusCollateral(address, uint256) external nonReentrant returns (bool done) {
        return abi.decode(_delegate(_seizure, msg.data), (bool));
    }

    /// @inheritdoc IMargin
    function flagDefault(address member) external onlyRole(FUND_ROLE) {
        _accounts[member].flags |= DEFAULTED;
        emit MemberFlaggedInDefault(member);
    }

    /// @inheritdoc IMargin
    function clearDefault(address member) external onlyRole(FUND_ROLE) {
        _accounts[member].flags &= ~DEFAULTED;
        emit MemberDefaultCleared(member);
    }

    /// @inheritdoc IMargin
    function setContributionStatus(address[] calldata members, bool[] calldata paid) external onlyRole(FUND_ROLE) {
        if (members.length != paid.length) revert BadBatch(members.length, paid.length);
        for (uint256 i; i < members.length; ++i) {
            Account storage a = _accounts[members[i]];
            a.flags = paid[i] ? a.flags & ~CONTRIBUTION_UNPAID : a.flags | CONTRIBUTION_UNPAID;
            emit ContributionStatusSet(members[i], paid[i]);
        }
    }

    // ─── Register copy ───────────────────────────────────────────────────────────────────────

    /// @inheritdoc IRegisterSubscriber
    /// @dev A clearing member's wallet trades for its house account (its own address), and so do
    /// its desks; a client's for its own account (individual) or its member's omnibus account. A client
    /// ported to another member takes its account with it: an individual account moves whole
    /// (positions, collateral, requirement and call: only its owner changes), an omnibus client's
    /// wallet moves to the new member's omnibus account with its positions (the omnibus
    /// collateral is commingled and stays). Revaluations of the accounts concerned restart.
    /// A pseudonym is its own account and its own member until opened; then it is attached to
    /// the member behind it as an individual client account, whole.
    /// O(1); never reverts.
    function syncHolder(address wallet, Member calldata entry) external {
        if (msg.sender != _membership) revert ZeroInput();
        Holder memory h = _members[wallet];
        address account;
        if (entry.kind == MemberKind.ClearingMember || entry.clearingMember == PSEUDONYM_SPONSOR) {
            // A member's house; and an unopened pseudonym (#24), which answers for itself: its
            // failures are its own case, never the sponsor's (that would stop every pseudonym).
            account = wallet;
            if (_owners[wallet].member == address(0)) _owners[wallet].member = wallet;
        } else if (entry.segregation == Segregation.House) {
            account = entry.clearingMember; // a desk: one more wallet of the house account
        } else if (entry.kind == MemberKind.Participant) {
            bool omnibus = entry.segregation == Segregation.Omnibus;
            account = omnibus ? OmnibusAccount.omnibusOf(entry.clearingMember) : wallet;
            _attach(account, entry.clearingMember, omnibus ? Segregation.Omnibus : Segregation.Individual);
        }
        if (h.account != account) {
            if (h.listed) {
                _unlistWallet(h.account, wallet);
                _notePort(h.account, account);
            }
            h.listed = account != wallet && account != address(0);
            if (h.listed) _listWallet(account, wallet);
        }
        _members[wallet] = Holder(entry.kind, account, h.listed);
    }

    /// @dev A client left the omnibus account `from` for the account `to`: if `from` is a
    /// defaulter's, note where its clients go (for `portOmnibusCollateral`): one destination, or
    /// split (several, or none: a client that left the CCP).
    function _notePort(address from, address to) private {
        AccountOwner memory o = _owners[from];
        if (o.mode != Segregation.Omnibus || _accounts[o.member].flags & DEFAULTED == 0) return;
        OmnibusPort storage p = _omnibusPorts[from];
        if (to == address(0)) p.split = true;
        else if (p.to == address(0)) p.to = to;
        else if (p.to != to) p.split = true;
    }

    /// @dev Put the client account `account` under `member` (new, or ported with what it holds).
    function _attach(address account, address member, Segregation mode) private {
        AccountOwner memory o = _owners[account];
        if (o.member == member) return;
        if (o.slot != 0) {
            address[] storage list = _clientAccounts[o.member];
            address last = list[list.length - 1];
            list[o.slot - 1] = last;
            _owners[last].slot = o.slot;
            list.pop();
        }
        _clientAccounts[member].push(account);
        _owners[account] = AccountOwner(member, mode, uint32(_clientAccounts[member].length));
        _restartRun(account);
        emit AccountAttached(account, member, mode);
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMargin
    function marginStatus(address member) external view returns (MarginStatus memory s) {
        Account memory a = _accounts[member];
        Requirement memory q = _requirements[member];
        Call memory c = _calls[member];
        s = MarginStatus({
            posted: a.posted,
            required: a.required,
            pending: a.pending,
            initialMargin: q.im,
            variationMargin: q.vm,
            cash: _cashHeld[member].cash,
            callAmount: c.amount,
            callDeadline: c.deadline,
            defaulted: a.flags & DEFAULTED != 0,
            contributionPaid: a.flags & CONTRIBUTION_UNPAID == 0
        });
    }

    /// @inheritdoc IMargin
    function revaluationOf(address member)
        external
        view
        returns (bool running, uint32 day, uint256 done, uint256 items)
    {
        Run memory run = _runs[member];
        address[] memory wallets = walletsOf(member);
        items = _collateralIds[member].length;
        for (uint256 i; i < wallets.length; ++i) {
            uint256 n = _positionIds[wallets[i]].length;
            items += n == 0 ? 1 : n; // a wallet without positions is a step of its own
        }
        return (run.running, run.day, run.done, items);
    }

    /// @inheritdoc IMargin
    function callOverdue(address member) external view returns (bool) {
        Call memory c = _calls[member];
        Account memory a = _accounts[member];
        return c.deadline != 0 && block.timestamp > c.deadline && a.posted < a.required;
    }

    /// @inheritdoc IMargin
    function positionsOf(address account)
        external
        view
        returns (uint256[] memory ids, int256[] memory quantities, uint256[] memory openBuys, uint256[] memory openSells)
    {
        uint64[] storage listed = _positionIds[account];
        uint256 n = listed.length;
        (ids, quantities, openBuys, openSells) = (new uint256[](n), new int256[](n), new uint256[](n), new uint256[](n));
        for (uint256 i; i < n; ++i) {
            Position memory p = _positions[account][listed[i]];
            (ids[i], quantities[i], openBuys[i], openSells[i]) = (listed[i], p.quantity, p.openBuy, p.openSell);
        }
    }

    /// @inheritdoc IMargin
    function accountsOf(address member) external view returns (address[] memory) {
        return _withFirst(member, _clientAccounts[member]);
    }

    /// @inheritdoc IMargin
    function walletsOf(address account) public view returns (address[] memory) {
        return _withFirst(account, _wallets[account]);
    }

    /// @inheritdoc IMargin
    function accountOf(address walletOrAccount)
        external
        view
        returns (address account, address member, Segregation segregation)
    {
        account = _members[walletOrAccount].account;
        if (account == address(0)) account = walletOrAccount;
        AccountOwner memory o = _owners[account];
        if (o.member == address(0)) revert UnknownAccount(walletOrAccount);
        return (account, o.member, o.mode);
    }

    /// @inheritdoc IMargin
    function omnibusAccountOf(address member) external pure returns (address) {
        return OmnibusAccount.omnibusOf(member);
    }

    function _withFirst(address first, address[] storage rest) private view returns (address[] memory list) {
        list = new address[](rest.length + 1);
        list[0] = first;
        for (uint256 i; i < rest.length; ++i) {
            list[i + 1] = rest[i];
        }
    }

    /// @inheritdoc IMargin
    function scenariosOf(uint256 securityId) external view returns (int16[] memory shocks) {
        shocks = new int16[](_nScenarios);
        uint256 packed = _shocks[securityId];
        for (uint256 s; s < shocks.length; ++s) {
            shocks[s] = int16(RiskMath.shockAt(packed, s));
        }
    }

    /// @inheritdoc IMargin
    function securityRisk(uint256 securityId) external view returns (uint256, uint32, uint16) {
        SecurityRisk memory r = _risk[securityId];
        return (r.price, r.priceDay, r.haircutBps);
    }

    /// @inheritdoc IMargin
    /// @dev A view over every account and position of the member (for clients and tests; the
    /// chain revalues in pages with `revalue`).
    function previewInitialMargin(address member) external view returns (uint256) {
        address[] memory accounts = walletsOf(member);
        bool newDay = _requirements[member].day < _marginDay;
        int256[16] memory pnl;
        for (uint256 k; k < accounts.length; ++k) {
            uint64[] storage listed = _positionIds[accounts[k]];
            uint256[] memory ids = new uint256[](listed.length);
            for (uint256 i; i < ids.length; ++i) {
                ids[i] = listed[i];
            }
            OpenObligation[] memory open = _ccp.unsettledObligationsOf(accounts[k], ids);
            for (uint256 i; i < ids.length; ++i) {
                Position memory p = _positions[accounts[k]][ids[i]];
                (uint256 buys, uint256 sells) = newDay ? (0, 0) : (uint256(p.openBuy), uint256(p.openSell));
                int256 q = open[i].quantity;
                RiskMath.addScenarioPnl(
                    pnl, q + int256(buys), q - int256(sells), _priceOf(ids[i]), _shocks[ids[i]]
                );
            }
        }
        return RiskMath.marginOf(pnl);
    }

    /// @inheritdoc IMargin
    function collateralUnits(address member, uint256 securityId) external view returns (uint256) {
        return _lines[member][securityId].units;
    }

    /// @inheritdoc IMargin
    function transferNonce(address member) external view returns (uint256) {
        return nonces(member);
    }

    /// @inheritdoc IMargin
    function marginModel() external view returns (uint8, uint16, uint8, uint32) {
        return (_nScenarios, _confidenceBps, _horizonDays, _callWindow);
    }

    /// @inheritdoc IMargin
    function liquidationMarket() external view returns (address) {
        return address(_liquidationMarket);
    }

    /// @notice The current margin day counter.
    function marginDay() external view returns (uint32) {
        return _marginDay;
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────────

    function _creditCash(address member, uint256 amount) internal {
        if (amount == 0) revert ZeroInput();
        CashHeld memory h = _touchCash(member);
        h.cash = (uint256(h.cash) + amount).toUint96();
        _cashHeld[member] = h;
        Account storage a = _accounts[member];
        a.posted = (uint256(a.posted) + amount).toUint80();
        emit CashCollateralMoved(member, amount.toInt256());
        _releaseCallIfCovered(member);
    }

    function _releaseCallIfCovered(address member) internal {
        if (_calls[member].deadline == 0) return;
        Account memory a = _accounts[member];
        if (a.posted >= a.required) {
            delete _calls[member];
            emit MarginCallMet(member);
        }
    }

    /// @dev List `securityId` among `account`'s positions (no bound: the revaluation pages).
    function _listPosition(address account, uint256 securityId) internal {
        _positionIds[account].push(securityId.toUint64());
        _positions[account][securityId].listed = true;
    }

    /// @dev Add `wallet` to `account`'s wallets; a revaluation of `account` in progress restarts.
    function _listWallet(address account, address wallet) internal {
        _restartRun(account);
        _wallets[account].push(wallet);
        _walletSlot[account][wallet] = _wallets[account].length;
    }

    /// @dev Remove `wallet` from `account`'s wallets (swap with the last, pop).
    function _unlistWallet(address account, address wallet) internal {
        _restartRun(account);
        address[] storage wallets = _wallets[account];
        uint256 slot = _walletSlot[account][wallet];
        address last = wallets[wallets.length - 1];
        wallets[slot - 1] = last;
        _walletSlot[account][last] = slot;
        wallets.pop();
        delete _walletSlot[account][wallet];
    }

}
