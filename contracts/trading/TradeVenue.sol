// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IMembership} from "../interfaces/IMembership.sol";
import {IRegisterSubscriber} from "../interfaces/IRegisterSubscriber.sol";
import {ISecuritySubscriber} from "../interfaces/ISecuritySubscriber.sol";
import {ISecurityToken} from "../interfaces/ISecurityToken.sol";
import {IOrderGate} from "../interfaces/IOrderGate.sol";
import {IQuoteSink} from "../interfaces/IQuoteSink.sol";
import {ISettlement} from "../interfaces/ISettlement.sol";
import {ITradeVenue} from "../interfaces/ITradeVenue.sol";
import {OrderBook} from "../libraries/OrderBook.sol";
import {OrderHashing} from "../libraries/OrderHashing.sol";
import {TickBitmap} from "../libraries/TickBitmap.sol";
import {Member, MemberKind, MemberStatus} from "../types/Member.sol";
import {Order, OrderType, Phase, Side, TimeInForce} from "../types/Order.sol";
import {Route} from "../types/Settle.sol";
import {VenueCore} from "./VenueCore.sol";

/// @title TradeVenue — an exchange venue with an on-chain order book (F3, F4)
/// @notice See ITradeVenue. Order entry, continuous matching, cancellation and the book views
/// live here; call auctions and stop triggering run from VenueAuctions on this contract's storage.
contract TradeVenue is ITradeVenue, IRegisterSubscriber, ISecuritySubscriber, VenueCore, EIP712, ReentrancyGuardTransient {
    using OrderBook for OrderBook.Book;
    using OrderBook for OrderBook.Level;
    using TickBitmap for TickBitmap.Bitmap;

    /// @param name EIP-712 domain name of this venue (e.g. "SmartCCP Venue A").
    /// @param auctionsModule A VenueAuctions deployed with the same membership and securities.
    constructor(
        string memory name,
        address membership_,
        address securities_,
        address settlement_,
        address auctionsModule,
        address operator
    ) VenueCore(membership_, securities_, settlement_, auctionsModule, operator) EIP712(name, "1") {}

    // ─── Orders ─────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ITradeVenue
    function placeOrder(Order calldata order, bytes calldata signature, uint256 maxMakers)
        external
        nonReentrant
        returns (uint256 orderId, uint256 filled)
    {
        bytes32 orderHash = _hashTypedDataV4(OrderHashing.hashStruct(order));
        address signer = ECDSA.recover(orderHash, signature);
        if (signer != order.owner) revert SignerNotOwner(signer, order.owner);
        _useNonce(order.owner, order.nonce);
        return _place(order, orderHash, maxMakers);
    }

    /// @inheritdoc ITradeVenue
    function placeTrusted(Order calldata order, uint256 maxMakers)
        external
        nonReentrant
        returns (uint256 orderId, uint256 filled)
    {
        bool ownOrder = order.owner == msg.sender && _traders[msg.sender].kind == MemberKind.System;
        if (!ownOrder && !hasRole(ROUTER_ROLE, msg.sender)) revert NotTrusted(msg.sender, order.owner);
        return _place(order, _hashTypedDataV4(OrderHashing.hashStruct(order)), maxMakers);
    }

    /// @inheritdoc ITradeVenue
    function cancelOrder(uint256 orderId) external nonReentrant {
        (uint256 securityId, Side side, uint64 k) = _decode(orderId);
        bool parked = orderId & PARKED_BIT != 0;
        OrderBook.Book storage book = parked ? _parked[securityId][uint8(side)] : _books[securityId][uint8(side)];
        OrderBook.Node memory node = book.loadNode(k);
        if (node.owner == address(0)) revert UnknownOrder(orderId);
        if (node.owner != msg.sender) revert NotOrderOwner(orderId, msg.sender);
        if (parked) {
            _unpark(book, securityId, side, k, node);
        } else {
            _remove(securityId, side, k, node, REASON_OWNER);
            _publish(securityId, _loadMarket(securityId));
        }
    }

    /// @inheritdoc ITradeVenue
    function cancelAll() external {
        uint16 counter = ++_traders[msg.sender].counter;
        emit CounterIncremented(msg.sender, counter);
    }

    /// @inheritdoc ITradeVenue
    function invalidateNonce(uint256 nonce) external {
        _useNonce(msg.sender, nonce);
        emit NonceInvalidated(msg.sender, nonce);
    }

    /// @inheritdoc ITradeVenue
    function purge(uint256[] calldata orderIds) external nonReentrant {
        if (orderIds.length > MAX_BATCH) revert BatchTooLarge(orderIds.length, MAX_BATCH);
        for (uint256 i; i < orderIds.length; ++i) {
            (uint256 securityId, Side side, uint64 k) = _decode(orderIds[i]);
            OrderBook.Node memory node = _books[securityId][uint8(side)].loadNode(k);
            if (node.owner == address(0)) revert UnknownOrder(orderIds[i]);
            uint8 reason = _deadReason(node);
            if (reason == REASON_OWNER) revert OrderStillValid(orderIds[i]);
            _remove(securityId, side, k, node, reason);
            _publish(securityId, _loadMarket(securityId));
        }
    }

    /// @inheritdoc ITradeVenue
    function triggerOrders(uint256 securityId, uint256, /* maxOrders */ uint256 /* maxMakers */ )
        external
        nonReentrant
        returns (uint256 triggered)
    {
        triggered = abi.decode(_delegateToAuctions(), (uint256));
        _publish(securityId, _loadMarket(securityId));
    }

    // ─── Operator ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ITradeVenue
    function listSecurity(uint256 securityId, uint24 settlementLag) external onlyRole(OPERATOR_ROLE) {
        if (_loadMarket(securityId).listed) revert AlreadyListed(securityId);
        (uint64 tickSize, uint32 lotSize, bool halted) = _securities.tradingTerms(securityId);
        _storeMarket(securityId, Market(tickSize, lotSize, 0, 0, 0, Phase.Closed, true, halted, settlementLag));
        emit SecurityListed(securityId, tickSize, lotSize, settlementLag);
    }

    /// @inheritdoc ITradeVenue
    function setPhase(uint256 securityId, Phase phase) external onlyRole(OPERATOR_ROLE) {
        Market memory m = _listed(securityId);
        Phase from = m.phase;
        if (from == Phase.PreOpen || from == Phase.PreClose) revert WrongPhase(securityId, from);
        m.phase = phase;
        _storeMarket(securityId, m);
        emit PhaseChanged(securityId, from, phase);
    }

    /// @inheritdoc ITradeVenue
    function uncross(uint256 securityId, uint256 /* maxFills */ ) external nonReentrant returns (bool done) {
        done = abi.decode(_delegateToAuctions(), (bool));
        _publish(securityId, _loadMarket(securityId));
    }

    /// @inheritdoc ITradeVenue
    function setSessionEnd(uint64 sessionEnd) external onlyRole(OPERATOR_ROLE) {
        _sessionEnd = sessionEnd;
        emit SessionEndSet(sessionEnd);
    }

    /// @inheritdoc ITradeVenue
    function setSettlement(address settlement) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _settlement = ISettlement(settlement);
        emit SettlementSet(settlement);
    }

    /// @inheritdoc IRegisterSubscriber
    function syncHolder(address account, Member calldata entry) external {
        if (msg.sender != address(_membership)) revert OnlyMembership(msg.sender);
        Trader storage t = _traders[account];
        (t.kind, t.status, t.kycExpiry, t.clearingMember) = (entry.kind, entry.status, entry.kycExpiry, entry.clearingMember);
    }

    /// @inheritdoc ITradeVenue
    function setOrderGate(address gate) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _orderGate = IOrderGate(gate);
        emit OrderGateSet(gate);
    }

    /// @inheritdoc ITradeVenue
    function setQuoteSink(address sink) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _quoteSink = IQuoteSink(sink);
        emit QuoteSinkSet(sink);
    }

    /// @inheritdoc ISecuritySubscriber
    function syncHalt(uint256 securityId, bool halted) external {
        if (msg.sender != address(_securities)) revert OnlySecurityToken(msg.sender);
        Market memory m = _loadMarket(securityId);
        if (!m.listed) return; // listing reads the current halt
        m.halted = halted;
        _storeMarket(securityId, m);
        emit HaltSynced(securityId, halted);
    }

    // ─── Views ──────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ITradeVenue
    function hashOrder(Order calldata order) external view returns (bytes32) {
        return _hashTypedDataV4(OrderHashing.hashStruct(order));
    }

    /// @inheritdoc ITradeVenue
    function topOfBook(uint256 securityId)
        external
        view
        returns (uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize)
    {
        Market memory m = _loadMarket(securityId);
        // The best displayed level: a level holding only hidden orders reveals nothing.
        (uint256[] memory bp, uint256[] memory bs) = _depthSide(_books[securityId][0], m.bestBid, m.tickSize, 1, false);
        (uint256[] memory ap, uint256[] memory as_) = _depthSide(_books[securityId][1], m.bestAsk, m.tickSize, 1, true);
        if (bp.length != 0) (bidPrice, bidSize) = (bp[0], bs[0]);
        if (ap.length != 0) (askPrice, askSize) = (ap[0], as_[0]);
    }

    /// @inheritdoc ITradeVenue
    function depth(uint256 securityId, uint256 levels)
        external
        view
        returns (uint256[] memory bidPrices, uint256[] memory bidSizes, uint256[] memory askPrices, uint256[] memory askSizes)
    {
        Market memory m = _loadMarket(securityId);
        (bidPrices, bidSizes) = _depthSide(_books[securityId][0], m.bestBid, m.tickSize, levels, false);
        (askPrices, askSizes) = _depthSide(_books[securityId][1], m.bestAsk, m.tickSize, levels, true);
    }

    /// @inheritdoc ITradeVenue
    function orderOf(uint256 orderId)
        external
        view
        returns (address owner, uint256 remaining, uint64 expiry, uint8 flags, uint16 counter, bytes32 orderHash)
    {
        (uint256 securityId, Side side, uint64 k) = _decode(orderId);
        OrderBook.Book storage book = _books[securityId][uint8(side)];
        OrderBook.Node memory node = book.loadNode(k);
        return (node.owner, node.remaining, node.expiry, node.flags, node.counter, book.hashes[k]);
    }

    /// @inheritdoc ITradeVenue
    function lastPrice(uint256 securityId) external view returns (uint256) {
        return _loadMarket(securityId).lastPrice;
    }

    /// @inheritdoc ITradeVenue
    function phaseOf(uint256 securityId) external view returns (Phase) {
        return _loadMarket(securityId).phase;
    }

    /// @inheritdoc ITradeVenue
    function counterOf(address owner) external view returns (uint16) {
        return _traders[owner].counter;
    }

    /// @inheritdoc ITradeVenue
    function nonceUsed(address owner, uint256 nonce) external view returns (bool) {
        return _nonceBits[owner][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @notice The settlement contract instructions go to.
    function settlement() external view returns (address) {
        return address(_settlement);
    }

    /// @notice The VenueAuctions code this venue runs its auctions and stop triggers with.
    function auctionsModule() external view returns (address) {
        return _auctions_module;
    }

    /// @notice The pre-trade risk gate orders must pass (zero: none).
    function orderGate() external view returns (address) {
        return address(_orderGate);
    }

    /// @notice The session end day orders expire at.
    function sessionEnd() external view returns (uint64) {
        return _sessionEnd;
    }

    // ─── Placement ────────────────────────────────────────────────────────────────────────────

    /// @dev Validate an authorised order, pass the risk gate, then park, match and/or rest it.
    function _place(Order calldata order, bytes32 orderHash, uint256 maxMakers)
        private
        returns (uint256 orderId, uint256 filled)
    {
        if (maxMakers > MAX_MAKERS) revert TooManyMakers(maxMakers, MAX_MAKERS);
        Market memory m = _loadMarket(order.securityId);
        Taker memory t = _validate(order, orderHash, m);
        if (address(_orderGate) != address(0)) {
            _orderGate.checkOrder(order.owner, order.securityId, order.side, order.quantity, order.price);
        }
        if (_isTriggered(order.orderType)) {
            if (!_touched(order.side, order.orderType, order.triggerPrice, m.lastPrice)) {
                return (_park(order, t), 0);
            }
            _convertTriggered(t, order.orderType);
        }
        (orderId, filled) = _run(t, m, maxMakers);
        _storeMarket(order.securityId, m);
        _publish(order.securityId, m);
    }

    /// @dev Tell the quote sink the new top of book if it changed (one SLOAD when it did not).
    function _publish(uint256 securityId, Market memory m) private {
        if (address(_quoteSink) == address(0)) return;
        (uint24 bidTick, uint64 bidSize) = _bestDisplayed(_books[securityId][0], m.bestBid, false);
        (uint24 askTick, uint64 askSize) = _bestDisplayed(_books[securityId][1], m.bestAsk, true);
        uint256 top = uint256(bidTick) | (uint256(bidSize) << 24) | (uint256(askTick) << 88) | (uint256(askSize) << 112);
        if (_lastTop[securityId] == top) return;
        _lastTop[securityId] = top;
        _quoteSink.onTopOfBook(
            securityId, uint256(bidTick) * m.tickSize, bidSize, uint256(askTick) * m.tickSize, askSize
        );
    }

    /// @dev The best level with displayed size, from `tick` outwards (hidden-only levels are
    /// skipped, at most MAX_MAKERS of them); (0, 0) if none.
    function _bestDisplayed(OrderBook.Book storage book, uint24 tick, bool up) private view returns (uint24, uint64) {
        for (uint256 i; i < MAX_MAKERS && tick != 0; ++i) {
            uint64 shown = book.loadLevel(tick).displayed;
            if (shown != 0) return (tick, shown);
            if (up) tick = tick == MAX_TICK ? 0 : book.ticks.nextUp(tick + 1);
            else tick = book.ticks.nextDown(tick - 1);
        }
        return (0, 0);
    }

    // ─── Validation ─────────────────────────────────────────────────────────────────────────────

    /// @dev Every check on a signed order before it touches the book; returns it as a Taker.
    function _validate(Order calldata o, bytes32 orderHash, Market memory m) private view returns (Taker memory t) {
        if (!m.listed) revert NotListed(o.securityId);
        if (m.phase == Phase.Closed) revert WrongPhase(o.securityId, m.phase);
        if (o.quantity == 0) revert ZeroQuantity();
        if (o.quantity > MAX_QUANTITY) revert QuantityTooLarge(o.quantity, MAX_QUANTITY);
        if (o.quantity % m.lotSize != 0) revert OffLot(o.quantity, m.lotSize);
        _checkPrice(o.price, m.tickSize);
        if (_isTriggered(o.orderType)) _checkPrice(o.triggerPrice, m.tickSize);
        if (o.orderType == OrderType.Iceberg) {
            if (o.displayQuantity == 0 || o.displayQuantity >= o.quantity || o.displayQuantity % m.lotSize != 0) {
                revert InvalidDisplayQuantity(o.displayQuantity, o.quantity);
            }
        }
        if (o.cashWallet != o.owner) revert WalletNotOwner(o.cashWallet, o.owner);
        if (o.securitiesWallet != o.owner) revert WalletNotOwner(o.securitiesWallet, o.owner);
        if (o.validFrom > block.timestamp) revert OrderNotYetValid(o.validFrom);
        uint32 expiry = _expiryOf(o);
        if (_isImmediate(o.orderType, o.timeInForce) && m.phase != Phase.Continuous) revert ImmediateOrderInAuction();
        _checkTrader(o.owner, o.counter);
        if (m.halted) revert ISecurityToken.SecurityHalted(o.securityId);

        t.orderHash = orderHash;
        t.owner = o.owner;
        t.securityId = o.securityId;
        t.side = o.side;
        t.orderType = o.orderType;
        t.timeInForce = o.timeInForce;
        t.limitTick = uint24(o.price / m.tickSize);
        t.quantity = o.quantity;
        t.remaining = o.quantity;
        t.displayQuantity = o.displayQuantity;
        t.expiry = expiry;
        t.flags = o.route == Route.Direct ? OrderBook.FLAG_DIRECT : 0;
        t.counter = o.counter;
    }

    function _checkPrice(uint256 price, uint256 tickSize) private pure {
        if (price == 0) revert ZeroPrice();
        if (price % tickSize != 0) revert OffTick(price, tickSize);
        if (price / tickSize > MAX_TICK) revert PriceOutOfRange(price, MAX_TICK * tickSize);
    }

    /// @dev The last second the order may match (0 = no expiry), from its time in force.
    function _expiryOf(Order calldata o) private view returns (uint32 expiry) {
        uint256 e = o.expiry;
        if (o.timeInForce == TimeInForce.GoodTillDate && e == 0) revert MissingExpiry();
        if (o.timeInForce == TimeInForce.Day && (e == 0 || _sessionEnd < e)) e = _sessionEnd;
        if (o.timeInForce == TimeInForce.Day && e == 0) revert MissingExpiry();
        if (e != 0 && e < block.timestamp) revert OrderExpired(uint64(e));
        return e > type(uint32).max ? type(uint32).max : uint32(e);
    }

    /// @dev The owner must be active and KYC-valid, its counter current, and a participant's
    /// clearing member active too.
    function _checkTrader(address owner, uint16 counter) private view {
        Trader memory tr = _traders[owner];
        _requireActive(owner, tr);
        if (tr.counter != counter) revert StaleCounter(owner, counter, tr.counter);
        if (tr.kind == MemberKind.Participant) {
            Trader memory cm = _traders[tr.clearingMember];
            if (cm.status != MemberStatus.Active || cm.kycExpiry < block.timestamp) {
                revert ClearingMemberNotActive(owner, tr.clearingMember);
            }
        }
    }

    function _requireActive(address account, Trader memory tr) private view {
        if (tr.status == MemberStatus.Active) {
            if (tr.kycExpiry < block.timestamp) revert IMembership.KycExpired(account, tr.kycExpiry);
            // Institutions hold and issue but never trade. System contracts trade only in their
            // own name through placeTrusted (a contract cannot produce an ECDSA signature).
            if (tr.kind == MemberKind.Institution) {
                revert IMembership.WrongMemberKind(account, MemberKind.ClearingMember, tr.kind);
            }
            return;
        }
        if (tr.status == MemberStatus.None) revert IMembership.NotAdmitted(account);
        if (tr.status == MemberStatus.Suspended) revert IMembership.MemberSuspended(account);
        revert IMembership.MemberExpelled(account);
    }

    function _useNonce(address owner, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 word = _nonceBits[owner][nonce >> 8];
        if (word & bit != 0) revert NonceUsed(owner, nonce);
        _nonceBits[owner][nonce >> 8] = word | bit;
    }

    // ─── Parking, removal, depth ────────────────────────────────────────────────────────────────

    /// @dev Park a stop-type order until the last trade price reaches its trigger.
    function _park(Order calldata o, Taker memory t) private returns (uint256 parkedId) {
        uint8 dir = _direction(o.side, o.orderType);
        OrderBook.Book storage book = _parked[o.securityId][dir];
        uint24 tick = uint24(o.triggerPrice / _loadMarket(o.securityId).tickSize);
        OrderBook.Level memory level = book.loadLevel(tick);
        OrderBook.Node memory node = OrderBook.Node(t.owner, uint40(t.quantity), t.expiry, t.flags, t.counter);
        uint64 k = book.push(level, tick, false, node, t.orderHash);
        book.storeLevel(tick, level);
        _parkedTerms[t.orderHash] = ParkedTerms(o.price, o.displayQuantity, o.side, o.orderType, o.timeInForce);
        parkedId = _encode(o.securityId, Side(dir), k) | PARKED_BIT;
        emit OrderParked(parkedId, t.orderHash, o.triggerPrice);
    }

    /// @dev Cancel a parked stop-type order (`side` here is the trigger direction).
    function _unpark(OrderBook.Book storage book, uint256 securityId, Side side, uint64 k, OrderBook.Node memory node)
        private
    {
        uint24 tick = OrderBook.tickOf(k);
        OrderBook.Level memory level = book.loadLevel(tick);
        delete _parkedTerms[book.hashes[k]];
        _drop(book, level, k, node, REASON_OWNER, securityId, side);
        book.settleIfEmpty(level, tick);
        book.storeLevel(tick, level);
    }

    /// @dev Remove entry `k` outside matching (owner cancel, purge) and keep the best price true.
    function _remove(uint256 securityId, Side side, uint64 k, OrderBook.Node memory node, uint8 reason) private {
        OrderBook.Book storage book = _books[securityId][uint8(side)];
        uint24 tick = OrderBook.tickOf(k);
        OrderBook.Level memory level = book.loadLevel(tick);
        _drop(book, level, k, node, reason, securityId, side);
        bool empty = book.settleIfEmpty(level, tick);
        book.storeLevel(tick, level);
        if (!empty) return;
        Market memory m = _loadMarket(securityId);
        if (side == Side.Buy && m.bestBid == tick) m.bestBid = book.ticks.nextDown(tick);
        if (side == Side.Sell && m.bestAsk == tick) m.bestAsk = book.ticks.nextUp(tick);
        _storeMarket(securityId, m);
    }

    function _depthSide(OrderBook.Book storage book, uint24 best, uint64 tickSize, uint256 levels, bool up)
        private
        view
        returns (uint256[] memory prices, uint256[] memory sizes)
    {
        prices = new uint256[](levels);
        sizes = new uint256[](levels);
        uint256 n;
        uint24 tick = best;
        // Hidden-only levels are skipped; the scan is bounded so a view never runs away.
        for (uint256 i; i < levels + MAX_MAKERS && n < levels && tick != 0; ++i) {
            uint64 shown = book.loadLevel(tick).displayed;
            if (shown != 0) {
                prices[n] = uint256(tick) * tickSize;
                sizes[n++] = shown;
            }
            if (up) tick = tick == MAX_TICK ? 0 : book.ticks.nextUp(tick + 1);
            else tick = book.ticks.nextDown(tick - 1);
        }
        assembly ("memory-safe") {
            // Trim the arrays to the levels found.
            mstore(prices, n)
            mstore(sizes, n)
        }
    }

    /// @dev Run the same call on VenueAuctions' code against this contract's storage and return
    /// its result, or bubble up its revert data (custom errors included) unchanged.
    function _delegateToAuctions() private returns (bytes memory result) {
        bool ok;
        (ok, result) = _auctions_module.delegatecall(msg.data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }
}
