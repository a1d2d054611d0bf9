// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {OpenObligation} from "../interfaces/ICCPSettlement.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";
import {IDefaultFund} from "../interfaces/IDefaultFund.sol";
import {IMargin, FundTransfer, MarginStatus} from "../interfaces/IMargin.sol";
import {IOrderGate} from "../interfaces/IOrderGate.sol";
import {IRegisterSubscriber} from "../interfaces/IRegisterSubscriber.sol";
import {FundTransferHashing} from "../libraries/FundTransferHashing.sol";
import {RiskMath} from "../libraries/RiskMath.sol";
import {Member, MemberKind} from "../types/Member.sol";
import {Side} from "../types/Order.sol";
import {MarginBase} from "./MarginBase.sol";
import {MarginRevaluation} from "./MarginRevaluation.sol";

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

    int16 private constant MIN_SHOCK = -10_000;

    /// @dev The revaluation module, created with this contract and described by the same
    /// immutables (see MarginRevaluation).
    address private immutable _revaluation;

    /// @param ccp The CCP whose obligations are margined.
    /// @param membership The register (this contract must be added as a subscriber).
    /// @param nScenarios Scenarios per security (1 to 16), fixed.
    /// @param operator Admin, risk and price roles.
    constructor(address ccp, address membership, address cash, address securities, uint8 nScenarios, address operator)
        MarginBase(ccp, membership, cash, securities, nScenarios, operator)
    {
        _revaluation = address(new MarginRevaluation(ccp, membership, cash, securities, nScenarios, operator));
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
    /// @dev Steady state (position already listed): the register copy, the member's account
    /// slot, the security's risk slot and the owner's position slot are read; the account and
    /// the position are written, whatever the number of positions, clients or members. The
    /// order's margin is its stand-alone worst case, rounded up.
    function checkOrder(address owner, uint256 securityId, Side side, uint256 quantity, uint256 price)
        external
        onlyRole(VENUE_ROLE)
    {
        Holder memory holder = _members[owner];
        address member = holder.clearingMember;
        if (member == address(0)) revert NoClearingMember(owner);
        Account memory a = _accounts[member];
        if (a.flags != 0) _refuseFlagged(member, a.flags);
        SecurityRisk memory r = _risk[securityId];
        if (!r.hasScenarios || r.price == 0) revert SecurityNotMargined(securityId);
        bool buy = side == Side.Buy;
        uint256 orderMargin = RiskMath.orderMargin(quantity, price, r.price, buy ? r.worstDown : r.worstUp, buy);
        uint256 need = uint256(a.required) + a.pending + orderMargin;
        if (need > a.posted) revert InsufficientMargin(member, need, a.posted);

        a.pending = (uint256(a.pending) + orderMargin).toUint80();
        _accounts[member] = a;
        Position storage p = _positions[owner][securityId];
        if (!p.listed) _listPosition(owner, securityId);
        if (buy) p.openBuy = (uint256(p.openBuy) + quantity).toUint48();
        else p.openSell = (uint256(p.openSell) + quantity).toUint48();
        if (owner != member && !holder.listedAsClient) {
            _addClient(member, owner);
            _members[owner].listedAsClient = true;
        }
        emit OrderMargined(member, owner, securityId, orderMargin);
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
        _requireClearingMember(msg.sender);
        _creditCash(msg.sender, amount);
        _cash.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IMargin
    /// @dev The line is valued afresh at today's price with the new units (touching a line marks
    /// it to market); other lines keep their last valuation.
    function depositSecurities(uint256 securityId, uint256 units) external nonReentrant {
        _requireClearingMember(msg.sender);
        if (units == 0) revert ZeroInput();
        if (_risk[securityId].price == 0) revert SecurityNotMargined(securityId);
        CollateralLine storage l = _lines[msg.sender][securityId];
        if (!l.listed) {
            _collateralIds[msg.sender].push(securityId.toUint64());
            l.listed = true;
        }
        _revalueLine(msg.sender, securityId, uint256(l.units) + units);
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
        _refuseWithdrawal(msg.sender, a.flags);
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
        _refuseWithdrawal(msg.sender, _accounts[msg.sender].flags);
        uint256 held = _lines[msg.sender][securityId].units;
        if (units == 0 || units > held) revert InsufficientCollateral(msg.sender, held, units);
        _revalueLine(msg.sender, securityId, held - units);
        Account memory a = _accounts[msg.sender];
        uint256 need = uint256(a.required) + a.pending;
        if (a.posted < need) revert InsufficientMargin(msg.sender, need, a.posted);
        emit SecuritiesCollateralMoved(msg.sender, securityId, -units.toInt256());
        _securities.safeTransferFrom(address(this), msg.sender, securityId, units, "");
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
        (bool ok, bytes memory result) =
            _revaluation.delegatecall(abi.encodeCall(MarginRevaluation.revalue, (member, maxItems)));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
        return abi.decode(result, (bool));
    }

    /// @notice The MarginRevaluation code this contract runs its revaluations with.
    function revaluationModule() external view returns (address) {
        return _revaluation;
    }

    // ─── Default fund hooks ──────────────────────────────────────────────────────────────────

    /// @inheritdoc IMargin
    /// @dev Cash first; if it does not cover `amount`, the securities collateral is sold on the
    /// liquidation market, line by line until the rest is raised (lines without units are
    /// skipped), each at no less than its haircut value per unit `floor(price * (1 - haircut))`,
    /// only as many units as the rest needs at that floor. The proceeds join the member's cash,
    /// then the cash is taken. What the market paid and took is measured on this contract's
    /// balances; a failed or refused sale leaves the units in place.
    function seizeMargin(address member, uint256 amount, address to)
        external
        onlyRole(FUND_ROLE)
        nonReentrant
        returns (uint256 taken)
    {
        _restartRun(member);
        uint256 held = _cashHeld[member];
        uint256 proceeds;
        if (held < amount) proceeds = _liquidate(member, amount - held);
        held += proceeds;
        taken = amount < held ? amount : held;
        _cashHeld[member] = held - taken;
        Account storage a = _accounts[member];
        a.posted = (uint256(a.posted) + proceeds - taken).toUint80();
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
        _restartRun(member);
        cashReturned = _cashHeld[member];
        _cashHeld[member] = 0;
        Account storage a = _accounts[member];
        a.posted = (uint256(a.posted) - cashReturned).toUint80();
        emit CollateralReleased(member, to, cashReturned);
        if (cashReturned != 0) _cash.safeTransfer(to, cashReturned);
        if (withSecurities) {
            (_releaseTo[member], _releaseCursor[member]) = (to, 0);
            _releaseLines(member, to, MAX_BATCH);
        }
    }

    /// @inheritdoc IMargin
    function releaseRemainingCollateral(address member, uint256 maxLines) external nonReentrant returns (bool done) {
        address to = _releaseTo[member];
        if (to == address(0) || maxLines == 0) revert ZeroInput();
        return _releaseLines(member, to, maxLines);
    }

    /// @dev Send up to `maxLines` of a closed default's securities collateral lines to `to`,
    /// from where the last call stopped; true once every line is sent.
    function _releaseLines(address member, address to, uint256 maxLines) private returns (bool done) {
        uint64[] storage ids = _collateralIds[member];
        uint256 i = _releaseCursor[member];
        uint256 end = ids.length - i > maxLines ? i + maxLines : ids.length;
        Account storage a = _accounts[member];
        for (; i < end; ++i) {
            uint256 sid = ids[i];
            CollateralLine storage l = _lines[member][sid];
            uint256 units = l.units;
            if (units == 0) continue;
            a.posted -= uint80(l.value);
            (l.units, l.value) = (0, 0);
            emit SecuritiesCollateralMoved(member, sid, -units.toInt256());
            _securities.safeTransferFrom(address(this), to, sid, units, "");
        }
        _releaseCursor[member] = i;
        done = i == ids.length;
        if (done) delete _releaseTo[member];
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
    /// @dev A client moved to another clearing member leaves its former member's accounts and
    /// joins the new member's with its positions (positions are kept per account), so the new
    /// member's next revaluation margins the ported obligations and the former's no longer
    /// does. Revaluations of either member in progress restart. O(1); never reverts.
    function syncHolder(address account, Member calldata entry) external {
        if (msg.sender != _membership) revert ZeroInput();
        address from = _members[account].clearingMember;
        address to = entry.clearingMember;
        if (from != to) {
            if (_clientSlot[from][account] != 0) _removeClient(from, account);
            if (entry.kind == MemberKind.Participant && from != address(0) && _clientSlot[to][account] == 0) {
                _addClient(to, account);
            }
        }
        _members[account] = Holder(entry.kind, to, _clientSlot[to][account] != 0);
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
    function revaluationOf(address member)
        external
        view
        returns (bool running, uint32 day, uint256 done, uint256 items)
    {
        Run memory run = _runs[member];
        address[] storage clients = _clients[member];
        items = _positionIds[member].length + _collateralIds[member].length;
        for (uint256 i; i < clients.length; ++i) {
            items += _positionIds[clients[i]].length;
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
    /// @dev A view over every account and position of the member (for clients and tests; the
    /// chain revalues in pages with `revalue`).
    function previewInitialMargin(address member) external view returns (uint256) {
        address[] memory accounts = accountsOf(member);
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

    /// @dev Layer 1's securities part: sell `member`'s collateral until `short` cash is raised
    /// (or no line is left); returns the proceeds, not yet credited to the member's cash. Each
    /// line sold is revalued with its remaining units (its change of value booked in `posted`).
    function _liquidate(address member, uint256 short) internal returns (uint256 proceeds) {
        ICloseOutMarket market = _liquidationMarket;
        if (address(market) == address(0)) return 0;
        uint64[] storage ids = _collateralIds[member];
        for (uint256 i; i < ids.length && proceeds < short; ++i) {
            uint256 sid = ids[i];
            uint256 held = _lines[member][sid].units;
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
            _revalueLine(member, sid, held - sold);
            proceeds += got;
            emit CollateralLiquidated(member, sid, sold, got);
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

    /// @dev List `securityId` among `account`'s positions (no bound: the revaluation pages).
    function _listPosition(address account, uint256 securityId) internal {
        _positionIds[account].push(securityId.toUint64());
        _positions[account][securityId].listed = true;
    }

    /// @dev Add `client` to `member`'s accounts; a revaluation of `member` in progress restarts.
    function _addClient(address member, address client) internal {
        _restartRun(member);
        _clients[member].push(client);
        _clientSlot[member][client] = _clients[member].length;
    }

    /// @dev Remove `client` from `member`'s accounts (swap with the last, pop).
    function _removeClient(address member, address client) internal {
        _restartRun(member);
        address[] storage clients = _clients[member];
        uint256 slot = _clientSlot[member][client];
        address last = clients[clients.length - 1];
        clients[slot - 1] = last;
        _clientSlot[member][last] = slot;
        clients.pop();
        delete _clientSlot[member][client];
    }

}
