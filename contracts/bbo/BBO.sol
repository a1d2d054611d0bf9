// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IBBO} from "../interfaces/IBBO.sol";
import {IQuoteSink} from "../interfaces/IQuoteSink.sol";
import {ISecurityToken} from "../interfaces/ISecurityToken.sol";
import {ITradeVenue} from "../interfaces/ITradeVenue.sol";
import {RoutedOrderHashing} from "../libraries/RoutedOrderHashing.sol";
import {Order, OrderType, Phase, Side, TimeInForce} from "../types/Order.sol";
import {RoutedOrder, RouteTimeInForce} from "../types/RoutedOrder.sol";
import {Route} from "../types/Settle.sol";
import {QuoteLib} from "./QuoteLib.sol";

/// @title IVenuePhase — ITradeVenue.phaseOf, the phase read as its raw value (Phase is a uint8 enum)
/// @dev Only for `syncQuote` and `consolidatedDepth`, which test a venue for Continuous. Declared
/// apart so that their calls do not share the return decoder of routing's ITradeVenue.phaseOf call:
/// with a second user the compiler (via-IR) stops inlining routing's call, some 45 gas per venue
/// on every route (bbo.route_3_venues_gas +135).
interface IVenuePhase {
    /// @notice See ITradeVenue.phaseOf.
    function phaseOf(uint256 securityId) external view returns (uint8);
}

/// @title BBO — consolidated best bid and offer across venues, and best-price order routing (F5)
/// @notice See IBBO. Quotes are kept from the venues' pushes; routing reads the venues live.
/// @dev Quote design (issue #4's budget of 15k gas of publishing per venue operation): a push
/// touches exactly one storage word here, `_tops[securityId][msg.sender]` (read, and written only
/// on a change), and emits one three-word event. It reads no registry (a caller can only write
/// its own word, and only registered venues' words are read), does no consolidation (quoteOf
/// consolidates the registered venues' words on read) and never reverts. The venue keeps no copy
/// of its last push, so the top is stored once, here. The consolidated quote's time is the
/// latest change of a registered venue's word: telling on each push whether the consolidated
/// best moved would need every other venue's word (or one more summary word) on every push.
/// Only quotes that can be traded against now count (#23): a venue pushes an empty top when the
/// security leaves continuous trading there (closed, call auction) or is halted, and its top
/// again when trading resumes; `syncQuote` and `consolidatedDepth` apply the same rule from
/// the venues' `phaseOf` and the DLT-CSD halt, since a venue's `topOfBook` and `depth` views
/// show its book whatever the phase.
contract BBO is IBBO, AccessControl, EIP712, ReentrancyGuardTransient {
    using QuoteLib for uint256;

    /// @notice Registers and removes venues.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice Most venues registered at once (venue slots 0..7; masks are 8 bits).
    uint256 public constant MAX_VENUES = 8;
    /// @notice Most child orders one `route` call may send.
    uint256 public constant MAX_CHILDREN = 16;
    /// @notice Most price levels per side `consolidatedDepth` returns.
    uint256 public constant MAX_DEPTH_LEVELS = 32;
    /// @notice Resting entries one child may match or step over on its venue.
    uint256 public constant MAKERS_PER_CHILD = 32;

    uint256 private constant STATUS_ACTIVE = 1;
    uint256 private constant STATUS_REMOVED = 2;
    /// @dev The top's fields of a QuoteLib word (all but changedAt).
    uint256 private constant TOP_MASK = (1 << 224) - 1;

    /// @dev A venue's recorded top for one security (a struct so one storage reference serves
    /// both the read and the write).
    struct Top {
        uint256 word; // QuoteLib layout
    }

    /// @dev A routable venue during one `route`: its slot and its live top of book.
    struct VenueTop {
        address venue;
        uint256 bidPrice;
        uint256 bidSize;
        uint256 askPrice;
        uint256 askSize;
    }

    ISecurityToken private immutable _securities;
    /// @dev One word: activeMask (8) | changedAt (40). changedAt: the last add or remove.
    uint256 private _registry;
    /// @dev Per slot: venue (160) | registeredAt (40), the time the venue took the slot.
    uint256[MAX_VENUES] private _venueAt;
    /// @dev slot (8) | status (8): 0 never registered, 1 active, 2 removed.
    mapping(address venue => uint256) private _venueInfo;
    /// @dev Each caller's last pushed top (QuoteLib word), keyed by the caller itself: a push
    /// writes only its sender's own word, so it needs no registry read. Only registered venues'
    /// words are ever read, and only those written since the venue's registration (older ones may
    /// be stale: pushed before a removal, with the venue's sink unset since).
    mapping(uint256 securityId => mapping(address venue => Top)) private _tops;
    mapping(address owner => mapping(uint256 word => uint256)) private _nonceBits;

    /// @param securities_ The DLT-CSD security token (tick, lot and halt of each security).
    /// @param operator Admin and operator of this contract.
    constructor(address securities_, address operator) EIP712("SmartCCP BBO", "1") {
        _securities = ISecurityToken(securities_);
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
    }

    // ─── Routing ────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IBBO
    function route(RoutedOrder calldata order, bytes calldata signature, uint256 maxChildren)
        external
        nonReentrant
        returns (RouteResult memory result)
    {
        bytes32 orderHash = _checkRouted(order, signature, maxChildren);
        _useNonce(order.owner, order.nonce);
        result.orderHash = orderHash;
        result.fills = new ChildFill[](maxChildren);
        VenueTop[] memory tops = _routable(order.securityId);
        uint256 remaining = order.quantity;
        uint256 n; // children sent
        bool crossing;
        uint256 best;
        while (remaining != 0) {
            (crossing, best) = _bestOpposite(tops, order.side, order.limitPrice);
            if (!crossing || n == maxChildren) break;
            VenueTop memory v = tops[best];
            uint256 price = order.side == Side.Buy ? v.askPrice : v.bidPrice;
            (, uint256 filled) = _sendChild(order, orderHash, n, v.venue, price, remaining, TimeInForce.ImmediateOrCancel, 0);
            result.fills[n] = ChildFill(v.venue, childNonce(orderHash, n), price, filled);
            emit ChildRouted(orderHash, v.venue, n, childNonce(orderHash, n), price, filled);
            remaining -= filled;
            ++n;
            (v.bidPrice, v.bidSize, v.askPrice, v.askSize) = ITradeVenue(v.venue).topOfBook(order.securityId);
        }
        uint256 fillCount = n;
        // The rest may rest only if no routable venue crosses its limit any more.
        if (remaining != 0 && order.timeInForce == RouteTimeInForce.RestOnBestVenue && !crossing && n < maxChildren) {
            result.restVenue = tops[_restVenue(tops, order.side)].venue;
            TimeInForce tif = order.expiry == 0 ? TimeInForce.GoodTillCancel : TimeInForce.GoodTillDate;
            (result.restingOrderId,) =
                _sendChild(order, orderHash, n, result.restVenue, order.limitPrice, remaining, tif, order.expiry);
        }
        ChildFill[] memory fills = result.fills;
        assembly ("memory-safe") {
            // Trim the fills to the children sent (the array was allocated for maxChildren).
            mstore(fills, fillCount)
        }
        result.filled = order.quantity - remaining;
        emit OrderRouted(
            orderHash, order.owner, order.securityId, order.side, order.quantity, result.filled, result.restVenue, result.restingOrderId
        );
    }

    /// @inheritdoc IBBO
    function invalidateNonce(uint256 nonce) external {
        _useNonce(msg.sender, nonce);
        emit NonceInvalidated(msg.sender, nonce);
    }

    // ─── Venues and quotes ──────────────────────────────────────────────────────────────────────

    /// @inheritdoc IQuoteSink
    /// @dev The whole cost of a push on this side: one storage word (the sender's own top for
    /// `securityId`, read to drop a repeat and written on a change) and one event. There is no
    /// registry read (a caller can only write its own word; only registered venues' words are
    /// read) and no consolidation (quoteOf consolidates on read). Never reverts, so a removed or
    /// unknown caller's trading is never stopped. Not behind the reentrancy guard: venues push
    /// from inside `route`'s children.
    function pushTopOfBook(uint256 securityId, uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize)
        external
    {
        uint256 fresh = QuoteLib.pack(bidPrice, bidSize, askPrice, askSize, block.timestamp);
        bytes32 topic = VenueQuoteUpdated.selector;
        assembly ("memory-safe") {
            // slot of _tops[securityId][caller()].word; the same as _record's, written out so a
            // push costs one hash pair, one read and (on a change) one write and one log.
            mstore(0x00, securityId)
            mstore(0x20, _tops.slot)
            mstore(0x20, keccak256(0x00, 0x40))
            mstore(0x00, caller())
            let slot := keccak256(0x00, 0x40)
            if and(xor(sload(slot), fresh), TOP_MASK) {
                sstore(slot, fresh)
                let p := mload(0x40)
                mstore(p, securityId)
                mstore(add(p, 0x20), caller())
                mstore(add(p, 0x40), fresh)
                log1(p, 0x60, topic) // VenueQuoteUpdated(securityId, caller(), fresh)
            }
        }
    }

    /// @inheritdoc IBBO
    function addVenue(address venue) external onlyRole(OPERATOR_ROLE) {
        if (venue == address(0)) revert ZeroAddress();
        if (_venueInfo[venue] >> 8 == STATUS_ACTIVE) revert VenueAlreadyRegistered(venue);
        uint256 r = _registry;
        uint8 mask = uint8(r);
        uint8 slot;
        while (slot < MAX_VENUES && mask & (1 << slot) != 0) ++slot;
        if (slot == MAX_VENUES) revert TooManyVenues(MAX_VENUES);
        _registry = _withMaskAndTime(mask | uint8(1 << slot));
        _venueAt[slot] = uint256(uint160(venue)) | (uint256(uint40(block.timestamp)) << 160);
        _venueInfo[venue] = (STATUS_ACTIVE << 8) | slot;
        emit VenueAdded(venue, slot);
    }

    /// @inheritdoc IBBO
    function removeVenue(address venue) external onlyRole(OPERATOR_ROLE) {
        uint256 info = _venueInfo[venue];
        if (info >> 8 != STATUS_ACTIVE) revert VenueNotRegistered(venue);
        uint8 slot = uint8(info);
        _registry = _withMaskAndTime(uint8(_registry) & ~uint8(1 << slot));
        delete _venueAt[slot];
        _venueInfo[venue] = STATUS_REMOVED << 8;
        emit VenueRemoved(venue, slot);
    }

    /// @inheritdoc IBBO
    /// @dev A venue's `topOfBook` shows its book whatever the phase, so a venue not trading the
    /// security continuously, or a halted security, is recorded with an empty top: the same word
    /// the venue itself pushes then, so a sync never brings back a quote the venue withdrew.
    function syncQuote(uint256 securityId) external nonReentrant {
        bool halted = _halted(securityId);
        uint8 mask = uint8(_registry);
        for (uint256 slot; slot < MAX_VENUES; ++slot) {
            if (mask & (1 << slot) == 0) continue;
            uint256 entry = _venueAt[slot];
            address venue = address(uint160(entry));
            (uint256 bp, uint256 bs, uint256 ap, uint256 as_) = (0, 0, 0, 0);
            if (!halted && IVenuePhase(venue).phaseOf(securityId) == uint8(Phase.Continuous)) {
                (bp, bs, ap, as_) = ITradeVenue(venue).topOfBook(securityId);
            }
            _record(venue, securityId, QuoteLib.pack(bp, bs, ap, as_, block.timestamp), uint40(entry >> 160));
        }
    }

    // ─── Views ──────────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IBBO
    function quoteOf(uint256 securityId) external view returns (ConsolidatedQuote memory quote) {
        uint256 r = _registry;
        (uint256[MAX_VENUES] memory words, uint64 updatedAt) = _loadTops(uint8(r), securityId);
        if (uint40(r >> 8) > updatedAt) updatedAt = uint40(r >> 8);
        QuoteLib.Best memory b = QuoteLib.consolidate(words, uint8(r));
        quote.securityId = securityId;
        (quote.bidPrice, quote.bidSize, quote.bidVenues) = (b.bidPrice, b.bidSize, _venuesIn(b.bidMask));
        (quote.askPrice, quote.askSize, quote.askVenues) = (b.askPrice, b.askSize, _venuesIn(b.askMask));
        quote.updatedAt = updatedAt;
    }

    /// @inheritdoc IBBO
    function consolidatedDepth(uint256 securityId, uint256 levels)
        external
        view
        returns (uint256[] memory bidPrices, uint256[] memory bidSizes, uint256[] memory askPrices, uint256[] memory askSizes)
    {
        if (levels == 0 || levels > MAX_DEPTH_LEVELS) revert TooManyLevels(levels, MAX_DEPTH_LEVELS);
        address[] memory vs = _venuesIn(uint8(_registry));
        uint256[][] memory bp = new uint256[][](vs.length);
        uint256[][] memory bs = new uint256[][](vs.length);
        uint256[][] memory ap = new uint256[][](vs.length);
        uint256[][] memory as_ = new uint256[][](vs.length);
        // Halted, or on a venue not trading it continuously, the book shows nothing (see quoteOf).
        bool halted = _halted(securityId);
        for (uint256 i; i < vs.length && !halted; ++i) {
            if (IVenuePhase(vs[i]).phaseOf(securityId) != uint8(Phase.Continuous)) continue;
            (bp[i], bs[i], ap[i], as_[i]) = ITradeVenue(vs[i]).depth(securityId, levels);
        }
        (bidPrices, bidSizes) = QuoteLib.mergeSide(bp, bs, levels, true);
        (askPrices, askSizes) = QuoteLib.mergeSide(ap, as_, levels, false);
    }

    /// @inheritdoc IBBO
    function venueQuote(address venue, uint256 securityId)
        external
        view
        returns (uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize, uint64 changedAt)
    {
        uint256 info = _venueInfo[venue];
        if (info >> 8 != STATUS_ACTIVE) return (0, 0, 0, 0, 0);
        uint256 w = _current(_venueAt[uint8(info)], _tops[securityId][venue].word);
        return (w.bidPrice(), w.bidSize(), w.askPrice(), w.askSize(), w.changedAt());
    }

    /// @inheritdoc IBBO
    function venues() external view returns (address[] memory) {
        return _venuesIn(uint8(_registry));
    }

    /// @inheritdoc IBBO
    function slotOf(address venue) external view returns (uint8) {
        uint256 info = _venueInfo[venue];
        if (info >> 8 != STATUS_ACTIVE) revert VenueNotRegistered(venue);
        return uint8(info);
    }

    /// @inheritdoc IBBO
    function hashRoutedOrder(RoutedOrder calldata order) external view returns (bytes32) {
        return _hashTypedDataV4(RoutedOrderHashing.hashStruct(order));
    }

    /// @inheritdoc IBBO
    function childNonce(bytes32 orderHash, uint256 childIndex) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(orderHash, childIndex)));
    }

    /// @inheritdoc IBBO
    function nonceUsed(address owner, uint256 nonce) external view returns (bool) {
        return _nonceBits[owner][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @notice The DLT-CSD security token routed orders are checked against.
    function securities() external view returns (address) {
        return address(_securities);
    }

    // ─── Quotes (internal) ──────────────────────────────────────────────────────────────────────

    /// @dev Whether `securityId` is halted on DLT-CSD (reverts UnknownSecurity for an id it never
    /// listed). The venues mirror this halt (ISecuritySubscriber) and push an empty top while it lasts.
    function _halted(uint256 securityId) private view returns (bool halted) {
        (,, halted) = _securities.tradingTerms(securityId);
    }

    /// @dev Record `venue`'s top `fresh` (stamped now) unless it repeats the recorded one and
    /// that one is stamped at or after `registeredAt` (0 for a push: any repeat is dropped).
    function _record(address venue, uint256 securityId, uint256 fresh, uint256 registeredAt) private {
        Top storage top = _tops[securityId][venue];
        uint256 w = top.word;
        if (QuoteLib.sameTop(w, fresh) && w.changedAt() >= registeredAt) return;
        top.word = fresh;
        emit VenueQuoteUpdated(securityId, venue, fresh);
    }

    /// @dev The current tops of the registered venues by slot (zero for free slots and for words
    /// not written since the venue's registration) and the latest time one of them changed.
    function _loadTops(uint8 mask, uint256 securityId)
        private
        view
        returns (uint256[MAX_VENUES] memory words, uint64 latest)
    {
        mapping(address => Top) storage tops = _tops[securityId];
        for (uint256 slot; mask >> slot != 0; ++slot) {
            if (mask & (1 << slot) == 0) continue;
            uint256 entry = _venueAt[slot];
            uint256 w = _current(entry, tops[address(uint160(entry))].word);
            words[slot] = w;
            if (w.changedAt() > latest) latest = w.changedAt();
        }
    }

    /// @dev `w` if it was written since the registration recorded in slot entry `entry`, else 0.
    function _current(uint256 entry, uint256 w) private pure returns (uint256) {
        return w.changedAt() < uint40(entry >> 160) ? 0 : w;
    }

    /// @dev The registry word with a new active mask, stamped now (a registry change is a quote
    /// change for every security).
    function _withMaskAndTime(uint8 mask) private view returns (uint256) {
        return uint256(mask) | (uint256(uint40(block.timestamp)) << 8);
    }

    function _venuesIn(uint8 mask) private view returns (address[] memory list) {
        list = new address[](MAX_VENUES);
        uint256 n;
        for (uint256 slot; slot < MAX_VENUES; ++slot) {
            if (mask & (1 << slot) != 0) list[n++] = address(uint160(_venueAt[slot]));
        }
        assembly ("memory-safe") {
            mstore(list, n)
        }
    }

    // ─── Routing (internal) ─────────────────────────────────────────────────────────────────────

    /// @dev Every check on a routed order before anything changes; returns its EIP-712 digest.
    function _checkRouted(RoutedOrder calldata order, bytes calldata signature, uint256 maxChildren)
        private
        view
        returns (bytes32 orderHash)
    {
        if (maxChildren == 0 || maxChildren > MAX_CHILDREN) revert TooManyChildren(maxChildren, MAX_CHILDREN);
        if (order.quantity == 0) revert ZeroQuantity();
        if (order.limitPrice == 0) revert ZeroPrice();
        if (order.expiry != 0 && order.expiry < block.timestamp) revert OrderExpired(order.expiry);
        orderHash = _hashTypedDataV4(RoutedOrderHashing.hashStruct(order));
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(orderHash, signature);
        if (err != ECDSA.RecoverError.NoError || signer != order.owner) revert SignerNotOwner(signer, order.owner);
        if (_nonceBits[order.owner][order.nonce >> 8] & (1 << (order.nonce & 0xff)) != 0) {
            revert NonceUsed(order.owner, order.nonce);
        }
        (uint64 tickSize, uint32 lotSize, bool halted) = _securities.tradingTerms(order.securityId);
        if (halted) revert SecurityHalted(order.securityId);
        if (order.limitPrice % tickSize != 0) revert OffTick(order.limitPrice, tickSize);
        if (order.quantity % lotSize != 0) revert OffLot(order.quantity, lotSize);
    }

    function _useNonce(address owner, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 word = _nonceBits[owner][nonce >> 8];
        if (word & bit != 0) revert NonceUsed(owner, nonce);
        _nonceBits[owner][nonce >> 8] = word | bit;
    }

    /// @dev The registered venues trading `securityId` continuously, in slot order, with their
    /// live top of book. Venues in another phase (closed, call auction) are skipped.
    function _routable(uint256 securityId) private view returns (VenueTop[] memory tops) {
        address[] memory vs = _venuesIn(uint8(_registry));
        tops = new VenueTop[](vs.length);
        uint256 n;
        for (uint256 i; i < vs.length; ++i) {
            ITradeVenue venue = ITradeVenue(vs[i]);
            if (venue.phaseOf(securityId) != Phase.Continuous) continue;
            VenueTop memory t = tops[n++];
            t.venue = vs[i];
            (t.bidPrice, t.bidSize, t.askPrice, t.askSize) = venue.topOfBook(securityId);
        }
        if (n == 0) revert NoTradingVenue(securityId);
        assembly ("memory-safe") {
            mstore(tops, n)
        }
    }

    /// @dev The venue with the best opposite price within `limit`: lowest offer for a buy,
    /// highest bid for a sell; at equal prices the larger displayed size, then the lower slot.
    function _bestOpposite(VenueTop[] memory tops, Side side, uint256 limit)
        private
        pure
        returns (bool found, uint256 best)
    {
        bool buy = side == Side.Buy;
        uint256 bestPrice;
        uint256 bestSize;
        for (uint256 i; i < tops.length; ++i) {
            (uint256 p, uint256 s) = buy ? (tops[i].askPrice, tops[i].askSize) : (tops[i].bidPrice, tops[i].bidSize);
            if (p == 0 || (buy ? p > limit : p < limit)) continue;
            if (!found || (buy ? p < bestPrice : p > bestPrice) || (p == bestPrice && s > bestSize)) {
                (found, best, bestPrice, bestSize) = (true, i, p, s);
            }
        }
    }

    /// @dev Where the rest of a RestOnBestVenue order rests: the venue with the best price on the
    /// order's own side (then larger size, then lower slot); the first routable venue if none
    /// shows that side.
    function _restVenue(VenueTop[] memory tops, Side side) private pure returns (uint256 best) {
        bool buy = side == Side.Buy;
        uint256 bestPrice;
        uint256 bestSize;
        for (uint256 i; i < tops.length; ++i) {
            (uint256 p, uint256 s) = buy ? (tops[i].bidPrice, tops[i].bidSize) : (tops[i].askPrice, tops[i].askSize);
            if (p == 0) continue;
            if (bestPrice == 0 || (buy ? p > bestPrice : p < bestPrice) || (p == bestPrice && s > bestSize)) {
                (best, bestPrice, bestSize) = (i, p, s);
            }
        }
    }

    /// @dev Place child `index` of the routed order on `venue` in the owner's name (ROUTER_ROLE).
    /// Its nonce derives from the parent hash and the index, so every child hash is unique.
    function _sendChild(
        RoutedOrder calldata order,
        bytes32 orderHash,
        uint256 index,
        address venue,
        uint256 price,
        uint256 quantity,
        TimeInForce tif,
        uint64 expiry
    ) private returns (uint256 orderId, uint256 filled) {
        Order memory child = Order({
            owner: order.owner,
            securityId: order.securityId,
            side: order.side,
            orderType: OrderType.Limit,
            timeInForce: tif,
            route: Route.Ccp,
            price: SafeCast.toUint64(price),
            triggerPrice: 0,
            quantity: SafeCast.toUint64(quantity),
            displayQuantity: 0,
            validFrom: 0,
            expiry: expiry,
            cashWallet: order.owner,
            securitiesWallet: order.owner,
            nonce: childNonce(orderHash, index),
            counter: ITradeVenue(venue).counterOf(order.owner)
        });
        return ITradeVenue(venue).placeTrusted(child, MAKERS_PER_CHILD);
    }
}
