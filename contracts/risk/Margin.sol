// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {CyclePhase} from "../interfaces/ICCPSettlement.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";
import {IDefaultFund} from "../interfaces/IDefaultFund.sol";
import {IMargin, FundTransfer, MarginStatus} from "../interfaces/IMargin.sol";
import {IOrderGate} from "../interfaces/IOrderGate.sol";
import {IRegisterSubscriber} from "../interfaces/IRegisterSubscriber.sol";
import {FundTransferHashing} from "../libraries/FundTransferHashing.sol";
import {Exposure, RiskMath} from "../libraries/RiskMath.sol";
import {Member, MemberKind} from "../types/Member.sol";
import {Side} from "../types/Order.sol";
import {MarginBase} from "./MarginBase.sol";

/// @title Margin — collateral, scenario IM, VM, margin calls and the pre-trade gate (F8, F10)
/// @notice See IMargin. Trusted: the membership register (pushes entries to this contract's
/// copy), the CCP (read for obligations), the default fund (seizes, flags defaults, reports
/// contribution status), registered venues (call the gate), the risk and price roles.
/// This contract is a registered system account, so it may hold cash and securities.
/// @dev Storage, structs and bounds are in MarginBase, the last base: its variables follow
/// the OpenZeppelin bases' in the layout.
contract Margin is
    IMargin,
    IRegisterSubscriber,
    AccessControl,
    EIP712,
    Nonces,
    ReentrancyGuardTransient,
    ERC1155Holder,
    MarginBase
{
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

    int16 private constant MIN_SHOCK = -10_000;

    /// @param ccp The CCP whose obligations are margined.
    /// @param membership The register (this contract must be added as a subscriber).
    /// @param nScenarios Scenarios per security (1 to 16), fixed.
    /// @param operator Admin, risk and price roles.
    constructor(address ccp, address membership, address cash, address securities, uint8 nScenarios, address operator)
        EIP712("SmartCCP Margin", "1")
        MarginBase(ccp, membership, cash, securities, nScenarios, operator)
    {
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
            SecurityRisk storage r = _risk[securityIds[i]];
            (r.price, r.priceDay) = (uint64(prices[i]), day);
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
    /// @dev Steady state (position already listed): the register copy, the member's account
    /// slot, the security's risk slot and the position slot are read; the account and the
    /// position are written. The order's margin is its stand-alone worst case, rounded up.
    function checkOrder(address owner, uint256 securityId, Side side, uint256 quantity, uint256 price)
        external
        onlyRole(VENUE_ROLE)
    {
        Holder memory holder = _members[owner];
        address member = holder.clearingMember;
        if (member == address(0)) revert NoClearingMember(owner);
        Account memory a = _accounts[member];
        if (a.flags & DEFAULTED != 0) revert MemberInDefault(member);
        if (a.flags & CONTRIBUTION_UNPAID != 0) {
            (uint256 required, uint256 paid) = _fund.contributionOf(member);
            revert ContributionNotPaid(member, required, paid);
        }
        SecurityRisk memory r = _risk[securityId];
        if (!r.hasScenarios || r.price == 0) revert SecurityNotMargined(securityId);
        bool buy = side == Side.Buy;
        uint256 orderMargin = RiskMath.orderMargin(quantity, price, r.price, buy ? r.worstDown : r.worstUp, buy);
        uint256 need = uint256(a.required) + a.pending + orderMargin;
        if (need > a.posted) revert InsufficientMargin(member, need, a.posted);

        a.pending = (uint256(a.pending) + orderMargin).toUint80();
        _accounts[member] = a;
        Position storage p = _positions[member][securityId];
        if (p.securityId == 0) _listPosition(member, securityId);
        if (buy) p.openBuy = (uint256(p.openBuy) + quantity).toUint64();
        else p.openSell = (uint256(p.openSell) + quantity).toUint64();
        if (owner != member && !holder.listedAsClient) {
            _addClient(member, owner, true);
            _members[owner].listedAsClient = true;
        }
        emit OrderMargined(member, owner, securityId, orderMargin);
    }

    // ─── Collateral ──────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMargin
    function depositCash(uint256 amount) external nonReentrant {
        _requireClearingMember(msg.sender);
        _creditCash(msg.sender, amount);
        _cash.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IMargin
    function depositSecurities(uint256 securityId, uint256 units) external nonReentrant {
        _requireClearingMember(msg.sender);
        if (units == 0) revert ZeroInput();
        SecurityRisk memory r = _risk[securityId];
        if (r.price == 0) revert SecurityNotMargined(securityId);
        if (!_isCollateralId(msg.sender, securityId)) {
            if (_collateralIds[msg.sender].length == MAX_COLLATERAL) {
                revert TooManyCollateralSecurities(msg.sender, MAX_COLLATERAL);
            }
            _collateralIds[msg.sender].push(securityId);
        }
        _collateral[msg.sender][securityId] += units;
        Account storage a = _accounts[msg.sender];
        a.posted = (uint256(a.posted) + RiskMath.haircutValue(units, r.price, r.haircutBps)).toUint80();
        emit SecuritiesCollateralMoved(msg.sender, securityId, units.toInt256());
        _releaseCallIfCovered(msg.sender);
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
        Account memory a = _accounts[msg.sender];
        if (a.flags & DEFAULTED != 0) revert MemberInDefault(msg.sender);
        uint256 held = _cashHeld[msg.sender];
        if (amount == 0 || amount > held) revert InsufficientCollateral(msg.sender, held, amount);
        uint256 need = uint256(a.required) + a.pending;
        if (a.posted < need + amount) revert InsufficientMargin(msg.sender, need + amount, a.posted);
        _cashHeld[msg.sender] = held - amount;
        a.posted -= uint80(amount);
        _accounts[msg.sender] = a;
        emit CashCollateralMoved(msg.sender, -amount.toInt256());
        _cash.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IMargin
    function withdrawSecurities(uint256 securityId, uint256 units) external nonReentrant {
        Account memory a = _accounts[msg.sender];
        if (a.flags & DEFAULTED != 0) revert MemberInDefault(msg.sender);
        uint256 held = _collateral[msg.sender][securityId];
        if (units == 0 || units > held) revert InsufficientCollateral(msg.sender, held, units);
        _collateral[msg.sender][securityId] = held - units;
        uint256 posted = _collateralValue(msg.sender);
        uint256 need = uint256(a.required) + a.pending;
        if (posted < need) revert InsufficientMargin(msg.sender, need, posted);
        _accounts[msg.sender].posted = posted.toUint80();
        emit SecuritiesCollateralMoved(msg.sender, securityId, -units.toInt256());
        _securities.safeTransferFrom(address(this), msg.sender, securityId, units, "");
    }

    // ─── Margin cycle ────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IMargin
    function refreshMargin(address member) external nonReentrant {
        _requireClearingMember(member);
        Requirement memory q = _requirements[member];
        bool newDay = q.day < _marginDay;
        (uint256[] memory ids, int256[] memory qty, int256[] memory traded, int256 markToMarket) =
            _readObligations(member);
        Exposure[] memory xs = new Exposure[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            Position storage p = _positions[member][ids[i]];
            p.quantity = SafeCast.toInt64(qty[i]);
            _releaseFilled(member, ids[i], traded[i], p, newDay);
            xs[i] = _exposure(ids[i], qty[i], p.openBuy, p.openSell);
        }
        uint256 im = RiskMath.initialMargin(xs, _nScenarios);
        uint256 vm = markToMarket < 0 ? uint256(-markToMarket) : 0;
        _requirements[member] = Requirement(im.toUint96(), vm.toUint96(), newDay ? _marginDay : q.day);
        Account storage a = _accounts[member];
        uint256 posted = _collateralValue(member);
        (a.posted, a.required, a.pending) = (posted.toUint80(), (im + vm).toUint80(), 0);
        emit MarginRefreshed(member, im, vm, posted);

        Call storage c = _calls[member];
        if (posted < im + vm) {
            c.amount = (im + vm - posted).toUint128();
            if (c.deadline == 0) c.deadline = uint64(block.timestamp) + _callWindow;
            emit MarginCalled(member, c.amount, c.deadline);
        } else if (c.deadline != 0) {
            delete _calls[member];
            emit MarginCallMet(member);
        }
    }

    // ─── Default fund hooks ──────────────────────────────────────────────────────────────────

    /// @inheritdoc IMargin
    /// @dev Cash first; if it does not cover `amount`, the securities collateral is sold on the
    /// liquidation market, security by security (at most MAX_COLLATERAL), each at no less than
    /// its haircut value per unit `floor(price * (1 - haircut))`, only as many units as the rest
    /// needs at that floor. The proceeds join the member's cash, then the cash is taken. What
    /// the market paid and took is measured on this contract's balances; a failed or refused
    /// sale leaves the units in place.
    function seizeMargin(address member, uint256 amount, address to)
        external
        onlyRole(FUND_ROLE)
        nonReentrant
        returns (uint256 taken)
    {
        uint256 held = _cashHeld[member];
        if (held < amount) held += _liquidate(member, amount - held);
        taken = amount < held ? amount : held;
        _cashHeld[member] = held - taken;
        _accounts[member].posted = _collateralValue(member).toUint80();
        if (taken == 0) return 0;
        emit MarginSeized(member, taken, to);
        _cash.safeTransfer(to, taken);
    }

    /// @inheritdoc IMargin
    function releaseCollateral(address member, address to, bool withSecurities)
        external
        onlyRole(FUND_ROLE)
        nonReentrant
        returns (uint256 cashReturned)
    {
        if (_accounts[member].flags & DEFAULTED == 0 || to == address(0)) revert ZeroInput();
        cashReturned = _cashHeld[member];
        _cashHeld[member] = 0;
        uint256[] memory ids = _collateralIds[member];
        uint256[] memory units = new uint256[](ids.length);
        if (withSecurities) {
            for (uint256 i; i < ids.length; ++i) {
                units[i] = _collateral[member][ids[i]];
                _collateral[member][ids[i]] = 0;
            }
        }
        _accounts[member].posted = _collateralValue(member).toUint80();
        emit CollateralReleased(member, to, cashReturned);
        if (cashReturned != 0) _cash.safeTransfer(to, cashReturned);
        for (uint256 i; i < ids.length; ++i) {
            if (units[i] == 0) continue;
            emit SecuritiesCollateralMoved(member, ids[i], -units[i].toInt256());
            _securities.safeTransferFrom(address(this), to, ids[i], units[i], "");
        }
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
    /// @dev A client moved to another clearing member joins that member's accounts together with
    /// the securities its former member held positions in (as far as the bounds allow), so the
    /// new member's next refresh margins the ported obligations. Never reverts on bounds.
    function syncHolder(address account, Member calldata entry) external {
        if (msg.sender != _membership) revert ZeroInput();
        address from = _members[account].clearingMember;
        address to = entry.clearingMember;
        if (entry.kind == MemberKind.Participant && from != address(0) && from != to && !_isClient[to][account]) {
            _addClient(to, account, false);
            uint256[] storage ids = _positionIds[from];
            for (uint256 i; i < ids.length && _positionIds[to].length < MAX_POSITIONS; ++i) {
                if (_positions[to][ids[i]].securityId == 0) _listPosition(to, ids[i]);
            }
        }
        _members[account] = Holder(entry.kind, to, _isClient[to][account]);
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
            cash: _cashHeld[member],
            callAmount: c.amount,
            callDeadline: c.deadline,
            defaulted: a.flags & DEFAULTED != 0,
            contributionPaid: a.flags & CONTRIBUTION_UNPAID == 0
        });
    }

    /// @inheritdoc IMargin
    function callOverdue(address member) external view returns (bool) {
        Call memory c = _calls[member];
        Account memory a = _accounts[member];
        return c.deadline != 0 && block.timestamp > c.deadline && a.posted < a.required;
    }

    /// @inheritdoc IMargin
    function positionsOf(address member)
        external
        view
        returns (uint256[] memory ids, int256[] memory quantities, uint256[] memory openBuys, uint256[] memory openSells)
    {
        ids = _positionIds[member];
        (quantities, openBuys, openSells) = (new int256[](ids.length), new uint256[](ids.length), new uint256[](ids.length));
        for (uint256 i; i < ids.length; ++i) {
            Position memory p = _positions[member][ids[i]];
            (quantities[i], openBuys[i], openSells[i]) = (p.quantity, p.openBuy, p.openSell);
        }
    }

    /// @inheritdoc IMargin
    function accountsOf(address member) public view returns (address[] memory accounts) {
        address[] storage clients = _clients[member];
        accounts = new address[](clients.length + 1);
        accounts[0] = member;
        for (uint256 i; i < clients.length; ++i) {
            accounts[i + 1] = clients[i];
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
    function previewInitialMargin(address member) external view returns (uint256) {
        (uint256[] memory ids, int256[] memory qty,,) = _readObligations(member);
        bool newDay = _requirements[member].day < _marginDay;
        Exposure[] memory xs = new Exposure[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            Position memory p = _positions[member][ids[i]];
            xs[i] = newDay ? _exposure(ids[i], qty[i], 0, 0) : _exposure(ids[i], qty[i], p.openBuy, p.openSell);
        }
        return RiskMath.initialMargin(xs, _nScenarios);
    }

    /// @inheritdoc IMargin
    function collateralUnits(address member, uint256 securityId) external view returns (uint256) {
        return _collateral[member][securityId];
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

    /// @inheritdoc ERC1155Holder
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, ERC1155Holder) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────────

    /// @dev Net obligation quantity per listed security over the member's accounts and the
    /// open cycles `[today - 1, today + lag]` (settled cycles skipped), and the portfolio's
    /// mark-to-market `sum q P + c` at settlement prices. Bounded: 8 securities x 8 accounts x
    /// (lag + 2) cycles.
    /// `traded` is the part in the trading cycle (today + lag), where today's fills go.
    function _readObligations(address member)
        internal
        view
        returns (uint256[] memory ids, int256[] memory qty, int256[] memory traded, int256 markToMarket)
    {
        ids = _positionIds[member];
        qty = new int256[](ids.length);
        traded = new int256[](ids.length);
        address[] memory accounts = _currentAccounts(member);
        uint64 today = uint64(block.timestamp / _cycleLength);
        for (uint256 i; i < ids.length; ++i) {
            uint64 last = today + _ccp.securityRules(ids[i]).settlementLag;
            int256 cashSum;
            for (uint64 c = today == 0 ? 0 : today - 1; c <= last; ++c) {
                (CyclePhase phase,,,,) = _ccp.cycleInfo(c);
                if (phase == CyclePhase.Unknown || phase == CyclePhase.Settled) continue;
                for (uint256 k; k < accounts.length; ++k) {
                    (int256 q, int256 cashAmount) = _ccp.obligation(c, ids[i], accounts[k]);
                    qty[i] += q;
                    cashSum += cashAmount;
                    if (c == last) traded[i] += q;
                }
            }
            markToMarket += qty[i] * int256(uint256(_risk[ids[i]].price)) + cashSum;
        }
    }

    /// @dev Resting quantities that have filled since the last refresh are released: the net
    /// change of the trading cycle's quantity `d` is at most the buys filled (d > 0) or the
    /// sells filled (d < 0), so releasing `|d|` never releases more than filled (conservative:
    /// a buy and a sell that both filled stay counted until the next margin day).
    /// On a new margin day every resting quantity is dropped instead.
    function _releaseFilled(address member, uint256 securityId, int256 traded, Position storage p, bool newDay)
        internal
    {
        uint64 cycleId = uint64(block.timestamp / _cycleLength) + _ccp.securityRules(securityId).settlementLag;
        Fills memory f = _fills[member][securityId];
        int256 d = f.cycleId == cycleId ? traded - f.quantity : traded;
        if (newDay) (p.openBuy, p.openSell) = (0, 0);
        else if (d > 0) p.openBuy -= uint64(_min(uint256(d), p.openBuy));
        else if (d < 0) p.openSell -= uint64(_min(uint256(-d), p.openSell));
        _fills[member][securityId] = Fills(cycleId, SafeCast.toInt64(traded));
    }

    /// @dev Layer 1's securities part: sell `member`'s collateral until `short` cash is raised
    /// (or nothing is left); returns the proceeds, not yet credited to the member's cash.
    /// Bounded: MAX_COLLATERAL market calls.
    function _liquidate(address member, uint256 short) internal returns (uint256 proceeds) {
        ICloseOutMarket market = _liquidationMarket;
        if (address(market) == address(0)) return 0;
        uint256[] memory ids = _collateralIds[member];
        for (uint256 i; i < ids.length && proceeds < short; ++i) {
            uint256 sid = ids[i];
            uint256 held = _collateral[member][sid];
            SecurityRisk memory r = _risk[sid];
            uint256 floorPrice = RiskMath.haircutValue(1, r.price, r.haircutBps);
            if (held == 0 || floorPrice == 0) continue;
            uint256 offered = _min(held, Math.ceilDiv(short - proceeds, floorPrice));
            uint256 cashBefore = _cash.balanceOf(address(this));
            uint256 unitsBefore = _securities.balanceOf(address(this), sid);
            try market.sell(sid, offered, floorPrice) {} catch {}
            uint256 cashAfter = _cash.balanceOf(address(this));
            uint256 unitsAfter = _securities.balanceOf(address(this), sid);
            uint256 got = cashAfter > cashBefore ? cashAfter - cashBefore : 0;
            uint256 sold = unitsBefore > unitsAfter ? unitsBefore - unitsAfter : 0;
            if (sold > offered || cashAfter < cashBefore) revert MarketOverdrew(sid, sold, offered);
            if (sold == 0 && got == 0) continue;
            _collateral[member][sid] = held - sold;
            proceeds += got;
            emit CollateralLiquidated(member, sid, sold, got);
        }
    }

    function _isCollateralId(address member, uint256 securityId) internal view returns (bool) {
        uint256[] storage ids = _collateralIds[member];
        for (uint256 i; i < ids.length; ++i) {
            if (ids[i] == securityId) return true;
        }
        return false;
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// @dev The member and those of its recorded clients that still clear through it.
    function _currentAccounts(address member) internal view returns (address[] memory accounts) {
        address[] memory all = accountsOf(member);
        uint256 n = 1;
        for (uint256 i = 1; i < all.length; ++i) {
            if (_members[all[i]].clearingMember == member) all[n++] = all[i];
        }
        accounts = all;
        // Shrink in place: the dropped entries (ported clients) are past `n`.
        assembly ("memory-safe") {
            mstore(accounts, n)
        }
    }

    function _exposure(uint256 securityId, int256 quantity, uint256 openBuy, uint256 openSell)
        internal
        view
        returns (Exposure memory)
    {
        return Exposure({
            longQty: quantity + int256(openBuy),
            shortQty: quantity - int256(openSell),
            price: _risk[securityId].price,
            shocks: _shocks[securityId]
        });
    }

    /// @dev Cash plus securities at settlement prices less haircuts (rounded down).
    function _collateralValue(address member) internal view returns (uint256 value) {
        value = _cashHeld[member];
        uint256[] storage ids = _collateralIds[member];
        for (uint256 i; i < ids.length; ++i) {
            SecurityRisk memory r = _risk[ids[i]];
            value += RiskMath.haircutValue(_collateral[member][ids[i]], r.price, r.haircutBps);
        }
    }

    function _creditCash(address member, uint256 amount) internal {
        if (amount == 0) revert ZeroInput();
        _cashHeld[member] += amount;
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

    function _listPosition(address member, uint256 securityId) internal {
        if (_positionIds[member].length == MAX_POSITIONS) revert TooManyPositions(member, MAX_POSITIONS);
        _positionIds[member].push(securityId);
        _positions[member][securityId].securityId = securityId.toUint64();
    }

    function _addClient(address member, address client, bool strict) internal {
        if (_clients[member].length == MAX_CLIENTS) {
            if (strict) revert TooManyAccounts(member, MAX_CLIENTS);
            return;
        }
        _clients[member].push(client);
        _isClient[member][client] = true;
    }

    function _requireClearingMember(address account) internal view {
        if (_members[account].kind != MemberKind.ClearingMember) revert NotClearingMember(account);
    }
}
