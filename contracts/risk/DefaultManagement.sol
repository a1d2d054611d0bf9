// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ICCPSettlement, CyclePhase, MovedObligation} from "../interfaces/ICCPSettlement.sol";
import {IDefaultFund, DefaultReason} from "../interfaces/IDefaultFund.sol";
import {Bid, CasePhase, IDefaultManagement, LotState, LotView} from "../interfaces/IDefaultManagement.sol";
import {IMargin} from "../interfaces/IMargin.sol";
import {IMembership} from "../interfaces/IMembership.sol";
import {IOrderGate} from "../interfaces/IOrderGate.sol";
import {ISecurityToken} from "../interfaces/ISecurityToken.sol";
import {ITradeVenue} from "../interfaces/ITradeVenue.sol";
import {RiskMath} from "../libraries/RiskMath.sol";
import {Member, MemberKind, MemberStatus} from "../types/Member.sol";
import {Order, OrderType, Side, TimeInForce} from "../types/Order.sol";
import {Route} from "../types/Settle.sol";

/// @title DefaultManagement — a defaulter's portfolio taken over, auctioned, closed out and charged (F12)
/// @notice See IDefaultManagement. This contract is the default-management account: a registered
/// system account that holds the defaulter's open obligations between take-over and disposal,
/// the residual cash legs after an award (the difference between what the defaulter owed and
/// what the winner pays), and the waterfall's cash that pays them at settlement. Trusted: the
/// CCP (moves obligations for it: DEFAULT_MANAGEMENT_ROLE), the fund (charges its losses:
/// DEFAULT_MANAGEMENT_ROLE), Margin (gates bids: VENUE_ROLE; lets its close-out orders pass:
/// DEFAULT_MANAGEMENT_ROLE), the venue it closes out on.
/// @dev Every call is bounded: a take-over by its page of securities times their lag + 2
/// cycles, a disposal by the lot's legs (one per open cycle) or by `maxMakers` fills, a charge by
/// its page of accounts. Nothing loops over members, bidders or lots.
contract DefaultManagement is IDefaultManagement, AccessControl, EIP712, ReentrancyGuardTransient, ERC1155Holder {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;
    using SafeCast for int256;

    /// @notice Starts auctions.
    bytes32 public constant DEFAULT_MANAGER_ROLE = keccak256("DEFAULT_MANAGER_ROLE");
    /// @notice Bound on one take-over's page of securities.
    uint256 public constant MAX_BATCH = 50;
    /// @notice Rounds an auction may be reopened for, after its first: then its lots without
    /// an acceptable bid are closed out (a bound on one case's process, not on the market).
    uint8 public constant MAX_ROUNDS = 8;
    /// @notice A hedge trades no further than this from the settlement price (bps).
    uint16 public constant MAX_HEDGE_BAND_BPS = 2_000;
    /// @notice EIP-712 type of a bid.
    bytes32 public constant BID_TYPEHASH = keccak256("Bid(address bidder,uint256 lot,uint64 price,uint256 salt)");

    /// @dev One slot: phase (1) | bidding ends (5) | reveal ends (5) | band (2) | lots open (4) |
    /// accounts charged so far (4) | auction round (1: 0 the first, one more per reopening).
    struct Case {
        CasePhase phase;
        uint40 biddingEnds;
        uint40 revealEnds;
        uint16 bandBps;
        uint32 openLots;
        uint32 charged;
        uint8 round;
    }

    /// @dev What is left of a lot to dispose of, and its best bid.
    struct Lot {
        address defaulter;
        uint88 securityId;
        LotState state;
        address account;
        address leader;
        uint64 leadingPrice;
        int128 quantity;
        int128 cash;
    }

    /// @dev One open obligation of a lot (a cycle's part), as taken over.
    struct Leg {
        uint64 cycleId;
        int128 cash;
        int128 quantity;
    }

    /// @dev A case's bridge (5b; two slots): the close-out proceeds that arrive in a later cycle
    /// than their lot's earliest leg (16) | the latest such cycle (8); what the fund lent (0 once
    /// repaid).
    struct Bridge {
        uint128 needed;
        uint64 cycleId;
        uint256 lent;
    }

    /// @dev An account's place in a case: the wallet its losses are charged through (the first
    /// one taken over), the losses of its lots that lost (charged through the waterfall), and the
    /// gains of those that gained (owed to it once this account's obligations have settled).
    struct AccountCase {
        address wallet;
        uint128 loss;
        uint128 owed;
    }

    ICCPSettlement private immutable _ccp;
    IDefaultFund private immutable _fund;
    IMargin private immutable _margin;
    IMembership private immutable _membership;
    IERC20 private immutable _cash;
    ITradeVenue private immutable _venue;
    ISecurityToken private immutable _terms;

    uint256 private _lotCount;
    uint256 private _orderNonce;
    mapping(address defaulter => Case) private _cases;
    mapping(address defaulter => uint256[]) private _caseLots;
    mapping(address defaulter => address[]) private _caseAccounts;
    mapping(address defaulter => int256) private _caseLoss;
    mapping(address defaulter => uint256) private _caseCovered;
    mapping(address defaulter => mapping(address account => AccountCase)) private _accounts;
    mapping(uint256 lotId => Lot) private _lots;
    mapping(uint256 lotId => Leg[]) private _legs;
    mapping(address defaulter => mapping(address account => mapping(uint256 securityId => uint256))) private _lotIds;
    /// @dev Keyed by `_commitKey(lot, round)`: a reopened round starts with no commitments.
    mapping(uint256 lotRound => mapping(address bidder => bytes32)) private _commitments;
    mapping(address defaulter => Bridge) private _bridges;

    /// @param ccp The CCP (this contract needs its DEFAULT_MANAGEMENT_ROLE).
    /// @param fund The default fund (this contract needs its DEFAULT_MANAGEMENT_ROLE).
    /// @param margin Margin (VENUE_ROLE and DEFAULT_MANAGEMENT_ROLE for this contract).
    /// @param venue The venue unsold lots are closed out on.
    /// @param operator Admin and default manager.
    constructor(
        address ccp,
        address fund,
        address margin,
        address membership,
        address cash,
        address securities,
        address venue,
        address operator
    ) EIP712("SmartCCP DefaultManagement", "1") {
        if (
            ccp == address(0) || fund == address(0) || margin == address(0) || membership == address(0)
                || cash == address(0) || securities == address(0) || venue == address(0) || operator == address(0)
        ) revert BadParameter();
        (_ccp, _fund, _margin, _membership) =
            (ICCPSettlement(ccp), IDefaultFund(fund), IMargin(margin), IMembership(membership));
        (_cash, _venue, _terms) = (IERC20(cash), ITradeVenue(venue), ISecurityToken(securities));
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(DEFAULT_MANAGER_ROLE, operator);
        // The CCP pulls this account's pay-ins: residual cash legs and close-out deliveries.
        IERC20(cash).forceApprove(ccp, type(uint256).max);
        IERC1155(securities).setApprovalForAll(ccp, true);
    }

    // ─── The case ────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultManagement
    function openCase(address defaulter) external {
        (DefaultReason reason,, bool closed) = _fund.defaultOf(defaulter);
        if (reason == DefaultReason.None || closed) revert NotInDefault(defaulter);
        Case storage c = _cases[defaulter];
        if (c.phase != CasePhase.None) revert WrongPhase(defaulter, CasePhase.None, c.phase);
        c.phase = CasePhase.Open;
        emit CaseOpened(defaulter, _fund.portDeadline(defaulter));
    }

    /// @inheritdoc IDefaultManagement
    function takeOver(address defaulter, address wallet, uint256[] calldata securityIds) external nonReentrant {
        _requirePhase(defaulter, CasePhase.Open);
        if (securityIds.length > MAX_BATCH) revert BadParameter();
        (address account, address member,) = _margin.accountOf(wallet);
        if (member != defaulter) revert NotDefaultersWallet(wallet, defaulter);
        if (account != defaulter) {
            // A client account: its member's default offers it to a backup first.
            uint64 deadline = _fund.portDeadline(defaulter);
            if (block.timestamp <= deadline) revert PortWindowOpen(wallet, deadline);
        }
        AccountCase storage ac = _accounts[defaulter][account];
        for (uint256 i; i < securityIds.length; ++i) {
            uint256 sid = securityIds[i];
            MovedObligation[] memory moved = _ccp.takeOverObligations(wallet, address(this), sid);
            if (moved.length == 0) continue;
            if (ac.wallet == address(0)) {
                ac.wallet = wallet;
                _caseAccounts[defaulter].push(account);
            }
            uint256 id = _lotFor(defaulter, account, sid);
            (int256 q, int256 c) = _addLegs(id, moved);
            emit ObligationsTakenOver(defaulter, id, wallet, sid, q, c);
        }
    }

    /// @inheritdoc IDefaultManagement
    function hedge(uint256 lotId, uint256 units, uint256 limitPrice, uint256 maxMakers)
        external
        onlyRole(DEFAULT_MANAGER_ROLE)
        nonReentrant
    {
        Lot storage l = _lot(lotId);
        _requirePhase(l.defaulter, CasePhase.Open);
        int256 q = l.quantity;
        // Within limits: it only reduces the lot (never past flat), at no worse than the hedge
        // band around the settlement price.
        if (units == 0 || units > _abs(q)) revert HedgeTooLarge(lotId, units, _abs(q));
        uint256 worst = _bandLimit(l.securityId, q > 0, MAX_HEDGE_BAND_BPS);
        if (q > 0 ? limitPrice < worst : limitPrice > worst) revert HedgeOutsideBand(lotId, limitPrice, worst);
        (uint64 cycleId, int256 dq, int256 dc, uint256 limit) = _trade(l.securityId, q > 0, units, limitPrice, maxMakers);
        if (dq == 0) return;
        MovedObligation[] memory fill = new MovedObligation[](1);
        fill[0] = MovedObligation(cycleId, dq, dc);
        _addLegs(lotId, fill); // the hedge is part of the lot: its winner takes it over with the rest
        emit Hedged(lotId, dq, dc, uint64(limit));
    }

    /// @inheritdoc IDefaultManagement
    function startAuction(address defaulter, uint32 biddingWindow, uint32 revealWindow, uint16 bandBps)
        external
        onlyRole(DEFAULT_MANAGER_ROLE)
    {
        Case storage c = _requirePhase(defaulter, CasePhase.Open);
        if (biddingWindow == 0 || revealWindow == 0 || bandBps >= RiskMath.BPS) revert BadParameter();
        if (c.openLots == 0) revert NoLots(defaulter);
        uint40 biddingEnds = uint40(block.timestamp + biddingWindow);
        uint40 revealEnds = biddingEnds + revealWindow;
        (c.phase, c.biddingEnds, c.revealEnds, c.bandBps) = (CasePhase.Auction, biddingEnds, revealEnds, bandBps);
        emit AuctionStarted(defaulter, c.openLots, biddingEnds, revealEnds, bandBps);
    }

    /// @inheritdoc IDefaultManagement
    function reopenAuction(address defaulter, uint32 biddingWindow, uint32 revealWindow, uint16 bandBps)
        external
        onlyRole(DEFAULT_MANAGER_ROLE)
    {
        Case storage c = _requirePhase(defaulter, CasePhase.Auction);
        if (block.timestamp <= c.revealEnds) revert RoundNotOver(defaulter, c.revealEnds);
        if (c.round >= MAX_ROUNDS) revert TooManyRounds(defaulter, MAX_ROUNDS);
        if (biddingWindow == 0 || revealWindow == 0 || bandBps >= RiskMath.BPS) revert BadParameter();
        if (c.openLots == 0) revert NoLots(defaulter);
        uint40 biddingEnds = uint40(block.timestamp + biddingWindow);
        uint40 revealEnds = biddingEnds + revealWindow;
        uint8 round = c.round + 1;
        (c.biddingEnds, c.revealEnds, c.bandBps, c.round) = (biddingEnds, revealEnds, bandBps, round);
        emit AuctionReopened(defaulter, round, c.openLots, biddingEnds, revealEnds, bandBps);
    }

    // ─── Bids ────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultManagement
    function commitBid(uint256 lotId, bytes32 commitment) external {
        Lot storage l = _lot(lotId);
        Case memory c = _cases[l.defaulter];
        if (c.phase != CasePhase.Auction || block.timestamp > c.biddingEnds) revert BiddingClosed(lotId, c.biddingEnds);
        _requireEligible(msg.sender);
        uint256 key = _commitKey(lotId, c.round);
        if (_commitments[key][msg.sender] != bytes32(0)) revert DuplicateBid(lotId, msg.sender);
        if (commitment == bytes32(0)) revert BadParameter();
        _commitments[key][msg.sender] = commitment;
        emit BidCommitted(lotId, msg.sender);
    }

    /// @inheritdoc IDefaultManagement
    function revealBid(Bid calldata bid, bytes calldata signature) external nonReentrant {
        Lot storage l = _lot(bid.lot);
        Case memory c = _cases[l.defaulter];
        if (c.phase != CasePhase.Auction || block.timestamp <= c.biddingEnds || block.timestamp > c.revealEnds) {
            revert NotRevealing(bid.lot, c.biddingEnds, c.revealEnds);
        }
        bytes32 digest = _bidDigest(bid);
        uint256 key = _commitKey(bid.lot, c.round);
        if (_commitments[key][bid.bidder] != digest) revert NoCommitment(bid.lot, bid.bidder);
        if (!SignatureChecker.isValidSignatureNow(bid.bidder, digest, signature)) revert BadBidSignature(bid.bidder);
        _requireEligible(bid.bidder);
        delete _commitments[key][bid.bidder];
        int256 q = l.quantity;
        uint256 sid = l.securityId;
        uint256 limit = _bandLimit(sid, q > 0, c.bandBps);
        if (bid.price == 0 || (q > 0 ? bid.price < limit : bid.price > limit)) revert BidOutsideBand(bid.lot, bid.price, limit);
        // Bounded by the bidder's margin, as its order would be: refused (InsufficientMargin)
        // above it; an accepted bid holds margin until its account is next revalued.
        if (q != 0) {
            IOrderGate(address(_margin)).checkOrder(bid.bidder, sid, q > 0 ? Side.Buy : Side.Sell, _abs(q), bid.price);
        }
        bool leading = l.leader == address(0) || (q > 0 ? bid.price > l.leadingPrice : bid.price < l.leadingPrice);
        if (leading) (l.leader, l.leadingPrice) = (bid.bidder, bid.price);
        emit BidRevealed(bid.lot, bid.bidder, bid.price, leading);
    }

    // ─── Disposal ────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultManagement
    function disposeLot(uint256 lotId, uint256 maxMakers) external nonReentrant {
        Lot storage l = _lot(lotId);
        if (l.state != LotState.Open) revert LotDisposedAlready(lotId);
        Case storage c = _cases[l.defaulter];
        if (c.phase != CasePhase.Auction || block.timestamp <= c.revealEnds) revert AuctionNotOver(lotId, c.revealEnds);
        // A leader that has since defaulted or been suspended does not take the lot: it is closed out.
        if (l.leader != address(0) && _eligible(l.leader)) _award(lotId, l);
        else _closeOut(lotId, l, c.bandBps, maxMakers);
        if (l.quantity != 0) return; // partly closed out: call again
        int256 loss = -int256(l.cash);
        --c.openLots;
        _caseLoss[l.defaulter] += loss;
        // A lot's loss is paid by this account at its earliest cycle, a gain received at it: the
        // losses are charged (this account must hold their cash before any of its cycles
        // settles), the gains owed back once they have arrived. Netting them would leave this
        // account short whenever a loss settles before a gain.
        AccountCase storage ac = _accounts[l.defaulter][l.account];
        if (loss > 0) ac.loss += uint256(loss).toUint128();
        else ac.owed += uint256(-loss).toUint128();
        emit LotDisposed(lotId, l.account, loss);
    }

    /// @dev Novate every leg to the leader as the defaulter held it, the earliest one adjusted
    /// by the lot's loss `-(cash + quantity * price)`: the winner pays (or receives)
    /// `quantity * price` in all, and this account keeps one cash-only obligation, the loss, in
    /// the earliest cycle (paid from the waterfall's cash before anything of the lot settles).
    function _award(uint256 lotId, Lot storage l) private {
        (address winner, uint64 price, uint256 sid) = (l.leader, l.leadingPrice, l.securityId);
        int256 q = l.quantity;
        int256 loss = -(int256(l.cash) + q * int256(uint256(price)));
        Leg[] storage legs = _legs[lotId];
        uint256 first = _firstLeg(legs);
        for (uint256 i; i < legs.length; ++i) {
            Leg memory g = legs[i];
            int256 cash = i == first ? int256(g.cash) + loss : int256(g.cash);
            if (g.quantity == 0 && cash == 0) continue;
            _ccp.moveObligation(g.cycleId, sid, address(this), winner, g.quantity, cash);
        }
        l.cash = (int256(l.cash) + q * int256(uint256(price))).toInt128();
        (l.quantity, l.state) = (0, LotState.Awarded);
        (uint256 mark,,) = _margin.securityRisk(sid);
        emit LotAwarded(lotId, winner, price, mark, -int256(l.cash));
    }

    /// @dev Trade what is left of the lot away on the venue at the band's limit; its fills stay
    /// with this account (the lot is gone once its quantity is).
    function _closeOut(uint256 lotId, Lot storage l, uint16 bandBps, uint256 maxMakers) private {
        int256 q = l.quantity;
        if (q != 0) {
            (uint64 cycleId, int256 dq, int256 dc, uint256 limit) =
                _trade(l.securityId, q > 0, _abs(q), _bandLimit(l.securityId, q > 0, bandBps), maxMakers);
            l.quantity = (q + dq).toInt128();
            l.cash = (int256(l.cash) + dc).toInt128();
            emit LotClosedOut(lotId, dq, dc, l.quantity, uint64(limit));
            Leg[] storage legs = _legs[lotId];
            if (dc > 0 && legs[_firstLeg(legs)].cycleId < cycleId) {
                // Sold for a later cycle than the lot pays in: its proceeds need a bridge (5b).
                Bridge storage b = _bridges[l.defaulter];
                b.needed += uint256(dc).toUint128();
                if (cycleId > b.cycleId) b.cycleId = cycleId;
            }
        }
        if (l.quantity == 0) l.state = LotState.ClosedOut;
    }

    /// @dev One IOC order of this account on the venue (CCP route, novated like anyone's into the
    /// security's trading cycle): `sell` (else buy) up to `units` (rounded down to the lot) at
    /// `limit` put on the tick on the CCP's side (a sell's up, a buy's down). Returns the trading
    /// cycle, the fills (CCP sign convention, measured on this account's obligation there) and the
    /// limit used.
    function _trade(uint256 sid, bool sell, uint256 units, uint256 limit, uint256 maxMakers)
        private
        returns (uint64 cycleId, int256 dq, int256 dc, uint256 ticked)
    {
        (uint64 tickSize, uint32 lotSize,) = _terms.tradingTerms(sid);
        uint256 ticks = sell ? (limit + tickSize - 1) / tickSize : limit / tickSize;
        ticked = (ticks == 0 ? 1 : ticks) * tickSize;
        units -= units % lotSize;
        (cycleId,) = _ccp.settlementCycle(sid);
        (int256 q0, int256 c0) = _ccp.obligation(cycleId, sid, address(this));
        if (units != 0) _venue.placeTrusted(_order(sid, sell ? Side.Sell : Side.Buy, ticked, units), maxMakers);
        (int256 q1, int256 c1) = _ccp.obligation(cycleId, sid, address(this));
        (dq, dc) = (q1 - q0, c1 - c0);
    }

    // ─── The loss ────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultManagement
    function chargeLosses(address defaulter, uint256 maxAccounts) external nonReentrant {
        Case storage c = _requirePhase(defaulter, CasePhase.Auction);
        if (c.openLots != 0) revert LotsOpen(defaulter, c.openLots);
        if (maxAccounts == 0) revert BadParameter();
        address[] storage accounts = _caseAccounts[defaulter];
        uint256 i = c.charged;
        uint256 end = i + maxAccounts < accounts.length ? i + maxAccounts : accounts.length;
        for (; i < end; ++i) {
            address account = accounts[i];
            AccountCase storage ac = _accounts[defaulter][account];
            uint256 loss = ac.loss;
            if (loss != 0) {
                uint256 before = _cash.balanceOf(address(this));
                _fund.coverShortfall(defaulter, ac.wallet, loss);
                uint256 covered = _cash.balanceOf(address(this)) - before;
                _caseCovered[defaulter] += covered;
                emit LossCharged(defaulter, account, loss, covered);
            }
            if (ac.owed != 0) emit GainOwed(defaulter, account, ac.owed);
        }
        c.charged = uint32(end);
        if (end == accounts.length) {
            c.phase = CasePhase.Closed;
            emit CaseClosed(defaulter, _caseLoss[defaulter], _caseCovered[defaulter]);
            Bridge storage b = _bridges[defaulter];
            if (b.needed != 0) {
                // After the waterfall took what it needed of the fund's cash: the rest lends.
                b.lent = _fund.lendBridge(b.needed);
                emit LiquidityBridged(defaulter, b.cycleId, b.needed, b.lent);
            }
        }
    }

    /// @inheritdoc IDefaultManagement
    function settleBridge(address defaulter) external nonReentrant {
        Bridge storage b = _bridges[defaulter];
        uint256 amount = b.lent;
        if (amount == 0) revert NothingOwed(defaulter);
        (CyclePhase phase,,,,) = _ccp.cycleInfo(b.cycleId);
        if (phase != CyclePhase.Settled) revert CycleNotSettled(b.cycleId);
        b.lent = 0;
        emit BridgeSettled(defaulter, amount);
        _cash.forceApprove(address(_fund), amount);
        _fund.repayBridge(amount);
    }

    /// @inheritdoc IDefaultManagement
    function payGain(address defaulter, address account) external nonReentrant {
        AccountCase storage ac = _accounts[defaulter][account];
        uint256 owed = ac.owed;
        if (owed == 0) revert NothingOwed(account);
        (,, uint256 open) = _ccp.prefunded(address(this));
        if (open != 0) revert ObligationsOpen(open);
        ac.owed = 0;
        emit GainPaid(account, owed);
        // The house's gain first returns what others' resources paid for the default (layers
        // 2-5, in reverse order); a client's gain is the client's own.
        uint256 recovered;
        if (account == defaulter) {
            (uint256 survivors, uint256 skin, uint256 own) = _fund.unrecovered(defaulter);
            recovered = owed < survivors + skin + own ? owed : survivors + skin + own;
        }
        if (recovered != 0) {
            _cash.forceApprove(address(_fund), recovered);
            _fund.recoverLoss(defaulter, recovered);
        }
        if (owed != recovered) {
            _cash.forceApprove(address(_margin), owed - recovered);
            _margin.depositCashTo(account, owed - recovered);
        }
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDefaultManagement
    function caseOf(address defaulter)
        external
        view
        returns (CasePhase, uint64, uint64, uint16, uint256, uint256, int256, uint256)
    {
        Case memory c = _cases[defaulter];
        return (
            c.phase,
            c.biddingEnds,
            c.revealEnds,
            c.bandBps,
            _caseLots[defaulter].length,
            c.openLots,
            _caseLoss[defaulter],
            _caseCovered[defaulter]
        );
    }

    /// @inheritdoc IDefaultManagement
    function auctionRound(address defaulter) external view returns (uint8) {
        return _cases[defaulter].round;
    }

    /// @inheritdoc IDefaultManagement
    function lotsOf(address defaulter) external view returns (uint256[] memory) {
        return _caseLots[defaulter];
    }

    /// @inheritdoc IDefaultManagement
    function lot(uint256 lotId) external view returns (LotView memory v) {
        Lot memory l = _lots[lotId];
        return LotView(
            l.defaulter,
            l.account,
            l.securityId,
            l.quantity,
            l.cash,
            l.state,
            l.leader,
            l.leadingPrice,
            _legs[lotId].length
        );
    }

    /// @inheritdoc IDefaultManagement
    function bridgeOf(address defaulter) external view returns (uint256, uint256, uint64) {
        Bridge memory b = _bridges[defaulter];
        return (b.needed, b.lent, b.cycleId);
    }

    /// @inheritdoc IDefaultManagement
    function accountResult(address defaulter, address account) external view returns (uint256, uint256) {
        AccountCase memory ac = _accounts[defaulter][account];
        return (ac.loss, ac.owed);
    }

    /// @inheritdoc IDefaultManagement
    function bidDigest(Bid calldata bid) external view returns (bytes32) {
        return _bidDigest(bid);
    }

    /// @notice The EIP-712 domain separator bids are signed under.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @inheritdoc AccessControl
    function supportsInterface(bytes4 interfaceId) public view override(AccessControl, ERC1155Holder) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────────

    function _requirePhase(address defaulter, CasePhase phase) private view returns (Case storage c) {
        c = _cases[defaulter];
        if (c.phase != phase) revert WrongPhase(defaulter, phase, c.phase);
    }

    /// @dev The commitments' key of `lotId` in auction round `round` (lot ids are far below 2^248).
    function _commitKey(uint256 lotId, uint8 round) private pure returns (uint256) {
        return lotId | (uint256(round) << 248);
    }

    function _lot(uint256 lotId) private view returns (Lot storage l) {
        l = _lots[lotId];
        if (l.defaulter == address(0)) revert UnknownLot(lotId);
    }

    /// @dev A bidder is an active clearing member not in default (a declaration suspends it).
    function _requireEligible(address bidder) private view {
        if (!_eligible(bidder)) revert NotEligibleBidder(bidder);
    }

    function _eligible(address bidder) private view returns (bool) {
        Member memory m = _membership.memberOf(bidder);
        if (m.kind != MemberKind.ClearingMember || m.status != MemberStatus.Active) return false;
        (DefaultReason reason,,) = _fund.defaultOf(bidder);
        return reason == DefaultReason.None;
    }

    /// @dev The lot of `account` in `securityId`, formed on first use.
    function _lotFor(address defaulter, address account, uint256 sid) private returns (uint256 id) {
        id = _lotIds[defaulter][account][sid];
        if (id != 0) return id;
        id = ++_lotCount;
        _lotIds[defaulter][account][sid] = id;
        Lot storage l = _lots[id];
        (l.defaulter, l.securityId, l.account) = (defaulter, sid.toUint88(), account);
        _caseLots[defaulter].push(id);
        ++_cases[defaulter].openLots;
    }

    /// @dev Add the moved obligations to the lot's legs (one per cycle) and its totals.
    function _addLegs(uint256 id, MovedObligation[] memory moved) private returns (int256 q, int256 c) {
        Leg[] storage legs = _legs[id];
        for (uint256 i; i < moved.length; ++i) {
            MovedObligation memory m = moved[i];
            q += m.quantity;
            c += m.cashAmount;
            uint256 k;
            while (k < legs.length && legs[k].cycleId != m.cycleId) ++k; // at most lag + 2 legs
            if (k == legs.length) legs.push(Leg(m.cycleId, 0, 0));
            Leg storage g = legs[k];
            g.quantity = (int256(g.quantity) + m.quantity).toInt128();
            g.cash = (int256(g.cash) + m.cashAmount).toInt128();
        }
        Lot storage l = _lots[id];
        l.quantity = (int256(l.quantity) + q).toInt128();
        l.cash = (int256(l.cash) + c).toInt128();
    }

    /// @dev The band's worst acceptable price around the last settlement price: for a lot the
    /// winner buys (`buy`), the lowest it may bid, rounded up; for one it sells, the highest,
    /// rounded down (both in the CCP's favour).
    function _bandLimit(uint256 sid, bool buy, uint16 bandBps) private view returns (uint256) {
        (uint256 mark,,) = _margin.securityRisk(sid);
        if (buy) return (mark * (RiskMath.BPS - bandBps) + RiskMath.BPS - 1) / RiskMath.BPS;
        return (mark * (RiskMath.BPS + bandBps)) / RiskMath.BPS;
    }

    function _bidDigest(Bid calldata bid) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(BID_TYPEHASH, bid.bidder, bid.lot, bid.price, bid.salt)));
    }

    /// @dev A Limit ImmediateOrCancel order of this account, CCP route (novated like anyone's).
    function _order(uint256 sid, Side side, uint256 price, uint256 quantity) private returns (Order memory) {
        return Order({
            owner: address(this),
            securityId: sid,
            side: side,
            orderType: OrderType.Limit,
            timeInForce: TimeInForce.ImmediateOrCancel,
            route: Route.Ccp,
            price: price.toUint64(),
            triggerPrice: 0,
            quantity: quantity.toUint64(),
            displayQuantity: 0,
            validFrom: 0,
            expiry: 0,
            cashWallet: address(0),
            securitiesWallet: address(0),
            nonce: ++_orderNonce,
            counter: _venue.counterOf(address(this))
        });
    }

    /// @dev The index of the lot's earliest leg (its first cycle).
    function _firstLeg(Leg[] storage legs) private view returns (uint256 first) {
        for (uint256 i = 1; i < legs.length; ++i) {
            if (legs[i].cycleId < legs[first].cycleId) first = i;
        }
    }

    function _abs(int256 x) private pure returns (uint256) {
        return uint256(x < 0 ? -x : x);
    }
}
