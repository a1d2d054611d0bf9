// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IMembership} from "../interfaces/IMembership.sol";
import {IRegisterSubscriber} from "../interfaces/IRegisterSubscriber.sol";
import {ISecuritySubscriber} from "../interfaces/ISecuritySubscriber.sol";
import {ISecurityToken} from "../interfaces/ISecurityToken.sol";
import {ISettlement} from "../interfaces/ISettlement.sol";
import {ITradeVenue} from "../interfaces/ITradeVenue.sol";
import {OrderBook} from "../libraries/OrderBook.sol";
import {OrderHashing} from "../libraries/OrderHashing.sol";
import {TickBitmap} from "../libraries/TickBitmap.sol";
import {Member, MemberKind, MemberStatus} from "../types/Member.sol";
import {Order, OrderType, Phase, Side, TimeInForce} from "../types/Order.sol";
import {Route} from "../types/Settle.sol";
import {VenueAdmin} from "./VenueAdmin.sol";
import {VenueAuctions} from "./VenueAuctions.sol";
import {VenueCore} from "./VenueCore.sol";

/// @title TradeVenue — an exchange venue with an on-chain order book (F3, F4)
/// @notice See ITradeVenue. Order entry, continuous matching, cancellation and the book views
/// live here; call auctions and stop triggering run from VenueAuctions on this contract's
/// storage (delegatecall); listing, phases, halts, the hook settings with their sweep,
/// market-maker quotes and purging run from VenueAdmin the same way, after this contract
/// verified any signatures involved.
contract TradeVenue is ITradeVenue, IRegisterSubscriber, ISecuritySubscriber, VenueCore, EIP712, ReentrancyGuardTransient {
    using OrderBook for OrderBook.Book;
    using OrderBook for OrderBook.Level;
    using TickBitmap for TickBitmap.Bitmap;

    /// @dev Where listing, phases, halts and the hook settings run (by delegatecall).
    address private immutable _admin_module;

    /// @param name EIP-712 domain name of this venue (e.g. "SmartCCP Venue A").
    /// @param auctionsModule A VenueAuctions deployed with the same membership, securities and
    /// settlement (they are immutables of every code part).
    /// @param adminModule A VenueAdmin deployed with the same membership, securities and settlement.
    constructor(
        string memory name,
        address membership_,
        address securities_,
        address settlement_,
        address auctionsModule,
        address adminModule,
        address operator
    ) VenueCore(membership_, securities_, settlement_, auctionsModule, operator) EIP712(name, "1") {
        _admin_module = adminModule;
    }

    // ─── Orders ─────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ITradeVenue
    function placeOrder(Order calldata order, bytes calldata signature, uint256 maxMakers)
        external
        nonReentrant
        returns (uint256 orderId, uint256 filled)
    {
        return _place(order, _verifySigned(order, signature), maxMakers);
    }

    /// @inheritdoc ITradeVenue
    function placeTrusted(Order calldata order, uint256 maxMakers)
        external
        nonReentrant
        returns (uint256 orderId, uint256 filled)
    {
        if (order.owner == msg.sender) {
            // The owner's own transaction authenticates the order as its signature would. Its
            // nonce is used as a signed order's is (a signed copy cannot place it a second time);
            // system contracts trade without nonces.
            if (_traders[msg.sender].kind != MemberKind.System) _useNonce(msg.sender, order.nonce);
        } else if (!hasRole(ROUTER_ROLE, msg.sender)) {
            revert NotTrusted(msg.sender, order.owner);
        }
        return _place(order, _hashTypedDataV4(OrderHashing.hashStruct(order)), maxMakers);
    }


    /// @inheritdoc ITradeVenue
    function quote(Order[2] calldata orders, bytes[2] calldata signatures)
        external
        nonReentrant
        returns (uint256 bidOrderId, uint256 askOrderId)
    {
        bytes32[2] memory hashes;
        for (uint256 i; i < 2; ++i) {
            hashes[i] = _verifySigned(orders[i], signatures[i]);
        }
        bytes memory result = _delegate(_admin_module, abi.encodeCall(VenueAdmin.placeQuote, (orders, hashes)));
        (bidOrderId, askOrderId) = abi.decode(result, (uint256, uint256));
    }

    /// @inheritdoc ITradeVenue
    function purge(uint256[] calldata) external nonReentrant {
        _delegate(_admin_module, msg.data);
    }

    /// @inheritdoc ITradeVenue
    /// @dev Refused inside any other venue operation (a token callback during a match must not
    /// change a level the match holds in memory), but it does not take the guard itself: its
    /// only outward call, the push to the admin-set quote sink, comes after its last write.
    /// A resting order is taken off by `_withdraw`; the market word is read only to publish (an
    /// order that rested while a sink was set) or when the level empties.
    function cancelOrder(uint256 orderId) external {
        if (_reentrancyGuardEntered()) revert ReentrancyGuardReentrantCall();
        OrderBook.Book storage book = _bookOf(orderId);
        (uint64 k, uint256 node, uint256 levelWord) = _liveEntry(book, orderId);
        address owner = address(uint160(node));
        if (owner == address(0)) revert UnknownOrder(orderId);
        if (owner != msg.sender) revert NotOrderOwner(orderId, msg.sender);
        if (orderId & PARKED_BIT != 0) return _unpark(book, orderId, k, OrderBook.unpackNode(node));
        _withdraw(orderId, book, k, node, levelWord);
        if (uint8(node >> 232) & OrderBook.FLAG_PUBLISHED != 0) _publishById(orderId >> ID_SECURITY_AT);
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
    function triggerOrders(uint256 securityId, uint256, /* maxOrders */ uint256 /* maxMakers */ )
        external
        nonReentrant
        returns (uint256 triggered)
    {
        triggered = abi.decode(_delegate(_auctions_module, msg.data), (uint256));
        _publishById(securityId);
    }

    /// @notice Only for the venue's own calls into its VenueAuctions code (a released stop-type
    /// order runs in a call frame of its own, see VenueAuctions.runReleased); anyone else reverts.
    fallback() external {
        if (msg.sender != address(this)) revert NotTrusted(msg.sender, address(this));
        _delegate(_auctions_module, msg.data);
    }

    // ─── Operator ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ITradeVenue
    /// @dev Runs in VenueAdmin (OPERATOR_ROLE checked there).
    function listSecurity(uint256, uint24) external {
        _delegate(_admin_module, msg.data);
    }

    /// @inheritdoc ITradeVenue
    /// @dev Runs in VenueAdmin (OPERATOR_ROLE checked there).
    function setPhase(uint256, Phase) external {
        _delegate(_admin_module, msg.data);
    }

    /// @inheritdoc ITradeVenue
    function uncross(uint256 securityId, uint256 /* maxFills */ ) external nonReentrant returns (bool done) {
        done = abi.decode(_delegate(_auctions_module, msg.data), (bool));
        _publishById(securityId);
    }

    /// @inheritdoc ITradeVenue
    function setSessionEnd(uint64 sessionEnd) external onlyRole(OPERATOR_ROLE) {
        _sessionEnd = sessionEnd;
        emit SessionEndSet(sessionEnd);
    }

    /// @inheritdoc IRegisterSubscriber
    function syncHolder(address account, Member calldata entry) external {
        if (msg.sender != address(_membership)) revert OnlyMembership(msg.sender);
        Trader storage t = _traders[account];
        (t.kind, t.status, t.kycExpiry, t.clearingMember) = (entry.kind, entry.status, entry.kycExpiry, entry.clearingMember);
    }

    /// @inheritdoc ITradeVenue
    /// @dev Runs in VenueAdmin (DEFAULT_ADMIN_ROLE checked there).
    function setOrderGate(address) external {
        _delegate(_admin_module, msg.data);
    }

    /// @inheritdoc ITradeVenue
    /// @dev Runs in VenueAdmin (DEFAULT_ADMIN_ROLE checked there).
    function setQuoteSink(address) external {
        _delegate(_admin_module, msg.data);
    }

    /// @inheritdoc ITradeVenue
    /// @dev Runs in VenueAdmin. It makes no outward call; guarded all the same.
    function syncHooks(uint256) external nonReentrant returns (bool) {
        return abi.decode(_delegate(_admin_module, msg.data), (bool));
    }

    /// @inheritdoc ITradeVenue
    function registerMarketMaker(address maker, uint256 securityId, uint64 maxSpread, uint64 minSize)
        external
        onlyRole(OPERATOR_ROLE)
    {
        _listed(securityId);
        _obligations[securityId][maker] = MakerObligation(maxSpread, minSize);
        emit MarketMakerRegistered(maker, securityId, maxSpread, minSize);
    }

    /// @inheritdoc ISecuritySubscriber
    /// @dev Runs in VenueAdmin (the security token checked there). Tells the quote sink at once:
    /// an empty top while halted, the top of book when the halt is lifted in continuous trading.
    function syncHalt(uint256, bool) external {
        _delegate(_admin_module, msg.data);
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
        OrderBook.Book storage book = _bookOf(orderId);
        (uint64 k, uint256 w,) = _liveEntry(book, orderId);
        if (w == 0) return (address(0), 0, 0, 0, 0, bytes32(0));
        OrderBook.Node memory node = OrderBook.unpackNode(w);
        return (node.owner, node.remaining, node.expiry, node.flags, node.counter, book.entries[k].orderHash);
    }

    /// @inheritdoc ITradeVenue
    function quoteStatus(address maker, uint256 securityId)
        external
        view
        returns (bool compliant, uint256 bidSize, uint256 askSize, uint256 spread)
    {
        Quote memory q = _quotes[securityId][maker];
        MakerObligation memory ob = _obligations[securityId][maker];
        (uint256 bidTick, uint256 bidLeft) = _liveQuoteSide(q.bidId, maker);
        (uint256 askTick, uint256 askLeft) = _liveQuoteSide(q.askId, maker);
        uint256 tickSize = _loadMarket(securityId).tickSize;
        spread = askTick > bidTick ? (askTick - bidTick) * tickSize : 0;
        compliant = ob.maxSpread != 0 && bidLeft >= ob.minSize && askLeft >= ob.minSize && bidLeft != 0
            && askLeft != 0 && spread <= ob.maxSpread;
        return (compliant, bidLeft, askLeft, spread);
    }

    /// @inheritdoc ITradeVenue
    function lastPrice(uint256 securityId) external view returns (uint256) {
        Market memory m = _loadMarket(securityId);
        return uint256(m.lastTick) * m.tickSize;
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

    /// @inheritdoc ITradeVenue
    function hookSync() external view returns (address gate, address sink, uint256 cursor, uint256 listed, bool sweeping) {
        HookSync memory h = _hookSync;
        gate = h.gatePending ? h.pendingGate : address(_orderGate);
        sink = _sinkPending ? _pendingSink : address(_quoteSink);
        return (gate, sink, h.cursor, _listedIds.length, h.sweeping);
    }

    /// @notice The settlement contract instructions go to.
    function settlement() external view returns (address) {
        return address(_settlement);
    }

    /// @notice The VenueAuctions code this venue runs its auctions and stop triggers with.
    function auctionsModule() external view returns (address) {
        return _auctions_module;
    }

    /// @notice The VenueAdmin code this venue runs its listing, phases and hook settings with.
    function adminModule() external view returns (address) {
        return _admin_module;
    }

    /// @notice The pre-trade risk gate orders must pass now (zero: none; a gate set where none
    /// was shows here once its sweep completed, see `hookSync`).
    function orderGate() external view returns (address) {
        return address(_orderGate);
    }

    /// @notice The contract told of top-of-book changes now (zero: none; see `orderGate`).
    function quoteSink() external view returns (address) {
        return address(_quoteSink);
    }

    /// @notice The session end day orders expire at.
    function sessionEnd() external view returns (uint64) {
        return _sessionEnd;
    }

    // ─── Placement ─────────────────────────────────────────────────────────────────────────────

    /// @dev Verify the owner's signature of `order` (65 bytes r, s, v or 64 bytes EIP-2098 r, vs)
    /// and use its nonce; returns the order hash.
    function _verifySigned(Order calldata order, bytes calldata signature) private returns (bytes32 orderHash) {
        orderHash = _hashTypedDataV4(OrderHashing.hashStruct(order));
        address signer = signature.length == 64
            ? ECDSA.recover(orderHash, bytes32(signature[:32]), bytes32(signature[32:]))
            : ECDSA.recoverCalldata(orderHash, signature);
        if (signer != order.owner) revert SignerNotOwner(signer, order.owner);
        _useNonce(order.owner, order.nonce);
    }

    function _useNonce(address owner, uint256 nonce) private {
        mapping(uint256 word => uint256) storage words = _nonceBits[owner];
        uint256 bit = 1 << (nonce & 0xff);
        uint256 word = words[nonce >> 8];
        if (word & bit != 0) revert NonceUsed(owner, nonce);
        words[nonce >> 8] = word | bit;
    }

    // ─── Parking, removal, depth ────────────────────────────────────────────────────────────────


    /// @dev Cancel the live parked stop-type order `parkedId` (entry `k` of `book`).
    function _unpark(OrderBook.Book storage book, uint256 parkedId, uint64 k, OrderBook.Node memory node) private {
        uint24 tick = OrderBook.tickOf(k);
        OrderBook.Level memory level = book.loadLevel(tick);
        delete _parkedTerms[book.entries[k].orderHash];
        level.shrink(k, node.remaining);
        book.erase(k);
        emit OrderWithdrawn(parkedId, node.remaining); // the live id: its epoch is the level's
        book.settleIfEmpty(level, tick);
        book.storeLevel(tick, level);
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

    /// @dev Run `data` on a module's code (VenueAuctions or VenueAdmin) against this contract's
    /// storage and return its result, or bubble up its revert data (custom errors included).
    function _delegate(address module, bytes memory data) private returns (bytes memory result) {
        bool ok;
        (ok, result) = module.delegatecall(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }
}
