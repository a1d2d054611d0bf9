// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20Errors, IERC1155Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ICCPSettlement, ICCPSettlementEvents} from "../interfaces/ICCPSettlement.sol";
import {IMembership} from "../interfaces/IMembership.sol";
import {ISecurityToken} from "../interfaces/ISecurityToken.sol";
import {IOrderGate} from "../interfaces/IOrderGate.sol";
import {IQuoteSink} from "../interfaces/IQuoteSink.sol";
import {ISettlement} from "../interfaces/ISettlement.sol";
import {ITradeVenueEvents} from "../interfaces/ITradeVenue.sol";
import {CallAuction} from "../libraries/CallAuction.sol";
import {OrderBook} from "../libraries/OrderBook.sol";
import {TickBitmap} from "../libraries/TickBitmap.sol";
import {MemberKind, MemberStatus} from "../types/Member.sol";
import {CancelReason, Order, OrderType, Phase, Side, TimeInForce} from "../types/Order.sol";
import {Route, Settle} from "../types/Settle.sol";

/// @title VenueCore — the storage and the matching engine shared by a venue's code parts
/// @notice TradeVenue (order entry, continuous matching, views), VenueAuctions (call-auction
/// uncross, stop triggering, quotes, purge) and VenueAdmin (listing, phases, halts, the hook
/// settings and their sweep) all derive from this contract only, so their storage layouts are
/// the same by construction; TradeVenue runs the two modules' code by delegatecall on its own
/// storage. The split exists because one contract would exceed the 24 KiB code-size limit.
/// @dev Declarations first (constants, structs, then all storage in one block), then the
/// internal functions in the order an order runs through them: entry → validate → (park) →
/// run → match → hand-off to settlement → rest; then removal, publishing and helpers.
abstract contract VenueCore is ITradeVenueEvents, AccessControl {
    using OrderBook for OrderBook.Book;
    using OrderBook for OrderBook.Level;
    using TickBitmap for TickBitmap.Bitmap;

    /// @notice Lists securities, runs phases, auctions and sessions.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice May place orders for others without their signature (the BBO router).
    bytes32 public constant ROUTER_ROLE = keccak256("ROUTER_ROLE");
    /// @notice Upper bound on resting entries one call may match or step over.
    uint256 public constant MAX_MAKERS = 64;
    /// @notice Largest price tick a book can hold (prices are ticks times the tick size).
    uint256 public constant MAX_TICK = type(uint24).max;
    /// @notice Largest quantity one order may have.
    uint256 public constant MAX_QUANTITY = type(uint40).max;
    /// @notice Largest batch accepted by `purge`.
    uint256 public constant MAX_BATCH = 100;
    /// @dev Markets a hook setter sweeps itself before `syncHooks` takes over (see VenueAdmin).
    uint256 internal constant SETTER_SYNC_PAGE = 100;
    /// @dev OrderCancelled reasons, named by the CancelReason enum (types/Order.sol).
    uint8 internal constant REASON_OWNER = uint8(CancelReason.Owner);
    uint8 internal constant REASON_UNFILLED = uint8(CancelReason.Unfilled);
    uint8 internal constant REASON_EXPIRED = uint8(CancelReason.Expired);
    uint8 internal constant REASON_COUNTER = uint8(CancelReason.CounterBumped);
    uint8 internal constant REASON_INACTIVE = uint8(CancelReason.OwnerInactive);
    uint8 internal constant REASON_SELF_TRADE = uint8(CancelReason.SelfTrade);
    uint8 internal constant REASON_NOT_SETTLED = uint8(CancelReason.NotSettled);
    /// @dev Who could not settle a fill (`_trySettle`); 0 = settled.
    uint8 internal constant BUYER_FAILED = 1;
    uint8 internal constant SELLER_FAILED = 2;
    uint256 internal constant PARKED_BIT = 1 << 255; // marks a parked (stop-type) order's id
    uint256 internal constant ID_EPOCH_AT = 65; // an order id's level epoch (24 bits), see ITradeVenue
    uint256 internal constant ID_SECURITY_AT = 89; // an order id's security id
    uint8 internal constant RISING = 0; // parked: fires when the last price is at or above the trigger
    uint8 internal constant FALLING = 1; // parked: fires when the last price is at or below the trigger
    uint256 internal constant PUBLISHING_BIT = 219; // Market.publishing in the packed market word
    uint256 internal constant TRADE_SEQ_BITS = 40; // a trade id's per-security sequence, see ITradeVenue

    /// @dev One slot: tickSize (8) | lotSize (4) | bestBid (3) | bestAsk (3) | last tick (3) |
    /// trade count (5) | phase (1) | flags (1: listed, halted, gated, publishing) |
    /// settlementLag (3). Best ticks are 0 when the side is empty, the last tick before the first
    /// trade (every trade is at a tick; the last price is lastTick * tickSize). The trade count numbers the security's trades (trade
    /// ids, see `_nextTradeId`), so a fill writes no counter slot of its own: the market word is
    /// written anyway. `halted` is the DLT-CSD halt, pushed by the security token.
    /// `gated` mirrors "a risk gate is set" into every listed market, so an order on a venue
    /// without hooks reads no hook slot at all (the word is read anyway); a gated market asks
    /// the gate in effect (`_orderGate`), none while a newly set gate waits for its sweep.
    /// `publishing` says "the quote is live": a quote sink is set, and the security trades
    /// continuously here and is not halted (`_live`); only then does an operation push its top
    /// of book (#23). A change of hook setting rewrites both in every listed market by a sweep
    /// in pages (`_hookSync`, VenueAdmin); every change of phase or halt rewrites `publishing`
    /// and pushes the top, or an empty one, at once.
    struct Market {
        uint64 tickSize;
        uint32 lotSize;
        uint24 bestBid;
        uint24 bestAsk;
        uint24 lastTick;
        uint40 tradeCount;
        Phase phase;
        bool listed;
        bool halted;
        bool gated;
        bool publishing;
        uint24 settlementLag;
    }
    /// @dev One slot: the register entry pushed by Membership (30 bytes) and the owner's counter.
    struct Trader {
        MemberKind kind;
        MemberStatus status;
        uint64 kycExpiry;
        address clearingMember;
        uint16 counter;
    }
    /// @dev An order on its way through matching (from a signed order or a triggered one).
    struct Taker {
        bytes32 orderHash;
        address owner;
        uint256 securityId;
        Side side;
        OrderType orderType;
        TimeInForce timeInForce;
        uint24 limitTick;
        uint256 quantity;
        uint256 remaining;
        uint256 displayQuantity;
        uint32 expiry;
        uint8 flags;
        uint16 counter;
    }
    /// @dev What a parked stop-type order becomes when triggered. One slot.
    struct ParkedTerms {
        uint64 price;
        uint64 displayQuantity;
        Side side;
        OrderType orderType;
        TimeInForce timeInForce;
    }
    /// @dev A market maker's obligation in one security. One slot.
    struct MakerObligation {
        uint64 maxSpread;
        uint64 minSize;
    }
    /// @dev A market maker's current two-sided quote: its resting order ids (0 = none).
    struct Quote {
        uint256 bidId;
        uint256 askId;
    }
    /// @dev The sweep that brings every listed market's `gated` and `publishing` flags to the
    /// hook settings after one changed (VenueAdmin). One slot: a gate set while the markets are
    /// not all gated, waiting to take effect (20) | the next index into `_listedIds` (8) |
    /// whether a sweep is running | whether `pendingGate` waits. A waiting gate implies no gate
    /// in effect (`_orderGate` zero), as a waiting sink implies no sink in effect.
    struct HookSync {
        address pendingGate;
        uint64 cursor;
        bool sweeping;
        bool gatePending;
    }

    // ─── Storage (one block; VenueAuctions and VenueAdmin share it by deriving from this alone) ──
    IMembership internal immutable _membership;
    ISecurityToken internal immutable _securities;
    /// @dev Where call auctions, stop triggering, quotes and purging run (by delegatecall).
    address internal immutable _auctions_module;
    /// @dev Where Settle instructions go (fixed at deployment: no storage read per fill).
    ISettlement internal immutable _settlement;
    /// @dev Read only when a market's `gated` flag is set, and for day orders (session end).
    IOrderGate internal _orderGate; // the pre-trade risk gate (F10); none while unset
    uint64 internal _sessionEnd;
    IQuoteSink internal _quoteSink; // told of top-of-book changes (the BBO); read when publishing
    /// @dev A sink set where none was waits for its sweep (`_pendingSink`); packed with
    /// `_quoteSink`, so `_live` reads one slot.
    bool internal _sinkPending;
    /// @dev Every listed security, in listing order (the hook sweep rewrites their flags).
    uint256[] internal _listedIds;
    HookSync internal _hookSync;
    address internal _pendingSink;
    mapping(uint256 securityId => uint256) internal _marketWords; // packed Market, see _loadMarket
    mapping(uint256 securityId => OrderBook.Book[2]) internal _books; // [Side.Buy], [Side.Sell]
    mapping(uint256 securityId => OrderBook.Book[2]) internal _parked; // [RISING], [FALLING]
    mapping(bytes32 orderHash => ParkedTerms) internal _parkedTerms;
    mapping(uint256 securityId => CallAuction.State) internal _auctions;
    mapping(address owner => Trader) internal _traders;
    mapping(address owner => mapping(uint256 word => uint256)) internal _nonceBits;
    /// @dev Market makers' obligations and current quotes, per security.
    mapping(uint256 securityId => mapping(address maker => MakerObligation)) internal _obligations;
    mapping(uint256 securityId => mapping(address maker => Quote)) internal _quotes;

    constructor(address membership_, address securities_, address settlement_, address auctionsModule, address operator) {
        _membership = IMembership(membership_);
        _securities = ISecurityToken(securities_);
        _settlement = ISettlement(settlement_);
        _auctions_module = auctionsModule;
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(OPERATOR_ROLE, operator);
    }

    // ─── Entry: place an authorised order ────────────────────────────────────────────────────────
    /// @dev Validate an authorised order, pass the risk gate, then park, match and/or rest it.
    function _place(Order calldata order, bytes32 orderHash, uint256 maxMakers)
        internal
        returns (uint256 orderId, uint256 filled)
    {
        if (maxMakers > MAX_MAKERS) revert TooManyMakers(maxMakers, MAX_MAKERS);
        uint256 securityId = order.securityId;
        Market memory m = _loadMarket(securityId);
        Taker memory t = _validate(order, orderHash, m);
        // The CCP's own close-out orders are not margined: they are how it manages a default.
        if (m.gated && t.flags & OrderBook.FLAG_CLOSE_OUT == 0) {
            IOrderGate gate = _orderGate;
            // None in effect while a newly set gate waits for its sweep (see VenueAdmin).
            if (address(gate) != address(0)) gate.checkOrder(order.owner, securityId, order.side, order.quantity, order.price);
        }
        OrderType orderType = t.orderType;
        if (_isTriggered(orderType)) {
            if (!_touched(t.side, orderType, order.triggerPrice, uint256(m.lastTick) * m.tickSize)) {
                return (_park(order, t), 0);
            }
            _convertTriggered(t, orderType);
        }
        (uint24 bestBid, uint24 bestAsk) = (m.bestBid, m.bestAsk);
        (orderId, filled) = _run(t, m, maxMakers);
        // Matching and resting change only the best prices, the last price and the trade count:
        // an order that rests behind the best and trades nothing leaves the market word as it was.
        if (filled != 0 || m.bestBid != bestBid || m.bestAsk != bestAsk) _storeMarket(securityId, m);
        _publish(securityId, m);
    }

    // ─── Validate ────────────────────────────────────────────────────────────────────────────────
    /// @dev Every check on a signed order before it touches the book; returns it as a Taker.
    /// Each calldata field is read once into a local (a field read re-validates it).
    function _validate(Order calldata o, bytes32 orderHash, Market memory m) internal view returns (Taker memory t) {
        uint256 securityId = o.securityId;
        if (!m.listed) revert NotListed(securityId);
        Phase phase = m.phase;
        if (phase == Phase.Closed) revert WrongPhase(securityId, phase);
        uint256 quantity = o.quantity;
        uint256 lotSize = m.lotSize;
        uint256 tickSize = m.tickSize;
        if (quantity == 0) revert ZeroQuantity();
        if (quantity > MAX_QUANTITY) revert QuantityTooLarge(quantity, MAX_QUANTITY);
        if (quantity % lotSize != 0) revert OffLot(quantity, lotSize);
        uint256 price = o.price;
        _checkPrice(price, tickSize);
        OrderType orderType = o.orderType;
        TimeInForce timeInForce = o.timeInForce;
        if (_isTriggered(orderType)) _checkPrice(o.triggerPrice, tickSize);
        uint256 displayQuantity = o.displayQuantity;
        if (orderType == OrderType.Iceberg) {
            if (displayQuantity == 0 || displayQuantity >= quantity || displayQuantity % lotSize != 0) {
                revert InvalidDisplayQuantity(displayQuantity, quantity);
            }
        }
        address owner = o.owner;
        // A wallet is the owner's own account: the owner written out, or zero.
        address wallet = o.cashWallet;
        if (wallet != address(0) && wallet != owner) revert WalletNotOwner(wallet, owner);
        wallet = o.securitiesWallet;
        if (wallet != address(0) && wallet != owner) revert WalletNotOwner(wallet, owner);
        if (o.validFrom > block.timestamp) revert OrderNotYetValid(o.validFrom);
        uint32 expiry = _expiryOf(o.expiry, timeInForce);
        if (phase != Phase.Continuous && _isImmediate(orderType, timeInForce)) revert ImmediateOrderInAuction();
        uint16 counter = o.counter;
        MemberKind kind = _checkTrader(owner, counter);
        if (m.halted) revert ISecurityToken.SecurityHalted(securityId);

        bool direct = o.route == Route.Direct;
        t.orderHash = orderHash;
        t.owner = owner;
        t.securityId = securityId;
        t.side = o.side;
        t.orderType = orderType;
        t.timeInForce = timeInForce;
        t.limitTick = uint24(price / tickSize);
        t.quantity = quantity;
        t.remaining = quantity;
        t.displayQuantity = displayQuantity;
        t.expiry = expiry;
        // A system contract can only trade through placeTrusted in its own name (it cannot sign).
        t.flags = direct ? (kind == MemberKind.System ? OrderBook.FLAG_DIRECT | OrderBook.FLAG_CLOSE_OUT : OrderBook.FLAG_DIRECT) : 0;
        t.counter = counter;
    }

    function _checkPrice(uint256 price, uint256 tickSize) internal pure {
        if (price == 0) revert ZeroPrice();
        if (price % tickSize != 0) revert OffTick(price, tickSize);
        if (price / tickSize > MAX_TICK) revert PriceOutOfRange(price, MAX_TICK * tickSize);
    }

    /// @dev The last second the order may match (0 = no expiry), from its time in force.
    function _expiryOf(uint256 e, TimeInForce timeInForce) internal view returns (uint32 expiry) {
        if (timeInForce == TimeInForce.GoodTillDate && e == 0) revert MissingExpiry();
        if (timeInForce == TimeInForce.Day) {
            uint64 sessionEnd = _sessionEnd;
            if (e == 0 || sessionEnd < e) e = sessionEnd;
            if (e == 0) revert MissingExpiry();
        }
        if (e != 0 && e < block.timestamp) revert OrderExpired(uint64(e));
        return e > type(uint32).max ? type(uint32).max : uint32(e);
    }

    /// @dev The owner must be active and KYC-valid, its counter current, and a participant's
    /// clearing member active too.
    function _checkTrader(address owner, uint16 counter) internal view returns (MemberKind) {
        Trader memory tr = _traders[owner];
        _requireActive(owner, tr);
        if (tr.counter != counter) revert StaleCounter(owner, counter, tr.counter);
        MemberKind kind = tr.kind;
        if (kind == MemberKind.Participant) {
            Trader memory cm = _traders[tr.clearingMember];
            if (cm.status != MemberStatus.Active || cm.kycExpiry < block.timestamp) {
                revert ClearingMemberNotActive(owner, tr.clearingMember);
            }
        }
        return kind;
    }

    function _requireActive(address account, Trader memory tr) internal view {
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

    // ─── Park (a stop-type order waits for its trigger) ──────────────────────────────────────────
    /// @dev Park a stop-type order until the last trade price reaches its trigger.
    function _park(Order calldata o, Taker memory t) internal returns (uint256 parkedId) {
        uint8 dir = _direction(o.side, o.orderType);
        OrderBook.Book storage book = _parked[o.securityId][dir];
        uint24 tick = uint24(o.triggerPrice / _loadMarket(o.securityId).tickSize);
        OrderBook.Level memory level = book.loadLevel(tick);
        OrderBook.Node memory node = OrderBook.Node(t.owner, uint40(t.quantity), t.expiry, t.flags, t.counter);
        uint64 k = book.push(level, tick, false, node, t.orderHash);
        book.storeLevel(tick, level);
        _parkedTerms[t.orderHash] = ParkedTerms(o.price, o.displayQuantity, o.side, o.orderType, o.timeInForce);
        parkedId = _encode(o.securityId, Side(dir), k, level.epoch) | PARKED_BIT;
        emit OrderParked(parkedId, t.orderHash, o.triggerPrice);
    }

    // ─── Run: match, then apply the time in force ────────────────────────────────────────────────
    /// @dev Match the taker, then apply its time in force to what is left. A remainder never
    /// rests crossing the book: if the maker bound stopped matching while it still crosses, it is
    /// cancelled like an immediate order's.
    function _run(Taker memory t, Market memory m, uint256 maxMakers) internal returns (uint256 orderId, uint256 filled) {
        bool buy = t.side == Side.Buy;
        OrderType orderType = t.orderType;
        bool continuous = m.phase == Phase.Continuous;
        if (orderType == OrderType.MarketToLimit) {
            // Market-to-limit takes the best opposite price only; the rest becomes a limit there.
            uint24 best = buy ? m.bestAsk : m.bestBid;
            if (best != 0 && (buy ? best <= t.limitTick : best >= t.limitTick)) t.limitTick = best;
        }
        uint24 firstTick;
        uint24 opposite = buy ? m.bestAsk : m.bestBid;
        uint24 limitTick = t.limitTick;
        bool crosses;
        if (continuous) {
            // _match would stop at once when the best opposite price does not cross the limit.
            crosses = opposite != 0 && (buy ? opposite <= limitTick : opposite >= limitTick);
        } else {
            // Resting in a call auction, the order is not published (the quote is not live), but
            // its cancel after the auction must publish: FLAG_PUBLISHED whatever the sink.
            t.flags |= OrderBook.FLAG_PUBLISHED;
        }
        if (crosses) {
            (filled, firstTick) = _match(t, m, maxMakers);
            if (t.remaining == 0) return (0, filled);
            opposite = buy ? m.bestAsk : m.bestBid;
            crosses = opposite != 0 && (buy ? opposite <= limitTick : opposite >= limitTick);
        }
        TimeInForce timeInForce = t.timeInForce;
        if (timeInForce == TimeInForce.FillOrKill) revert FillOrKillNotFilled(t.quantity, filled);
        if (orderType == OrderType.MarketToLimit && firstTick != 0) t.orderType = orderType = OrderType.Limit;
        if (_isImmediate(orderType, timeInForce) || crosses) {
            emit OrderCancelled(t.orderHash, 0, t.remaining, REASON_UNFILLED);
            return (0, filled);
        }
        orderId = _rest(t, m, buy, orderType);
    }

    // ─── Match ───────────────────────────────────────────────────────────────────────────────────
    /// @dev Fill against the opposite side, best price first, oldest first, within the taker's
    /// limit and at most `maxMakers` queue entries. Makers that can no longer match are removed.
    function _match(Taker memory t, Market memory m, uint256 maxMakers) internal returns (uint256 filled, uint24 firstTick) {
        bool buy = t.side == Side.Buy;
        OrderBook.Book storage book = _books[t.securityId][buy ? 1 : 0];
        uint24 tick = buy ? m.bestAsk : m.bestBid;
        uint24 lastTick;
        uint256 steps;
        while (t.remaining != 0 && tick != 0 && (buy ? tick <= t.limitTick : tick >= t.limitTick) && steps < maxMakers) {
            OrderBook.Level memory level = book.loadLevel(tick);
            uint256 price = uint256(tick) * m.tickSize;
            while (t.remaining != 0 && steps < maxMakers) {
                (uint64 k, bool ok) = OrderBook.front(level, tick);
                if (!ok) break;
                ++steps;
                OrderBook.Node memory node = book.loadNode(k);
                if (node.owner == address(0)) {
                    level.advance(k); // a cancelled entry's hole
                    continue;
                }
                uint8 reason = _deadReason(node);
                if (reason != REASON_OWNER) {
                    level.advance(k);
                    _drop(book, level, k, node, reason, t.securityId, buy ? Side.Sell : Side.Buy);
                    continue;
                }
                if (node.owner == t.owner) revert SelfTrade(t.owner);
                uint256 qty = t.remaining < node.remaining ? t.remaining : node.remaining;
                bytes32 makerHash = book.entries[k].orderHash;
                if (_trySettle(
                    m,
                    _instruction(t.securityId, m, buy ? t.orderHash : makerHash, buy ? makerHash : t.orderHash,
                        buy ? t.owner : node.owner, buy ? node.owner : t.owner, price, qty, _routeFlags(t.flags, node.flags)),
                    buy ? SELLER_FAILED : BUYER_FAILED
                ) != 0) {
                    // The maker could not settle: withdrawn, and matching goes on.
                    level.advance(k);
                    _drop(book, level, k, node, REASON_NOT_SETTLED, t.securityId, buy ? Side.Sell : Side.Buy);
                    continue;
                }
                unchecked {
                    t.remaining -= qty; // qty <= t.remaining
                    filled += qty; // <= the taker's quantity
                }
                if (firstTick == 0) firstTick = tick;
                lastTick = tick;
                _consume(book, level, tick, k, node, qty, makerHash, t.securityId, buy ? Side.Sell : Side.Buy);
            }
            bool empty = book.settleIfEmpty(level, tick);
            book.storeLevel(tick, level);
            if (!empty) break;
            tick = buy ? book.ticks.nextUp(tick) : book.ticks.nextDown(tick);
        }
        if (buy) m.bestAsk = tick;
        else m.bestBid = tick;
        if (lastTick != 0) m.lastTick = lastTick;
    }

    /// @dev Take `qty` from the front entry `k` (order `makerHash`): shrink it, or pop it
    /// (refilling an iceberg at the back of the queue).
    function _consume(
        OrderBook.Book storage book,
        OrderBook.Level memory level,
        uint24 tick,
        uint64 k,
        OrderBook.Node memory node,
        uint256 qty,
        bytes32 makerHash,
        uint256 securityId,
        Side side
    ) internal {
        level.shrink(k, qty);
        unchecked {
            node.remaining -= uint40(qty); // qty <= node.remaining
        }
        if (node.remaining != 0) {
            book.storeNode(k, node);
            return;
        }
        level.advance(k);
        book.erase(k);
        if (node.flags & OrderBook.FLAG_ICEBERG != 0) {
            OrderBook.Reserve memory r = book.reserves[makerHash];
            if (r.reserve == 0) return;
            uint64 peak = r.reserve < r.peak ? r.reserve : r.peak;
            book.reserves[makerHash].reserve = r.reserve - peak;
            node.remaining = uint40(peak);
            uint64 nk = book.push(level, tick, false, node, makerHash);
            emit OrderRested(_encode(securityId, side, nk, level.epoch), makerHash, node.owner, uint256(tick) * _loadMarket(securityId).tickSize, peak);
        }
    }

    /// @dev Why a resting entry can no longer match (REASON_OWNER = it still can).
    function _deadReason(OrderBook.Node memory node) internal view returns (uint8) {
        if (node.expiry != 0 && node.expiry < block.timestamp) return REASON_EXPIRED;
        Trader memory tr = _traders[node.owner];
        if (tr.counter != node.counter) return REASON_COUNTER;
        if (tr.status != MemberStatus.Active || tr.kycExpiry < block.timestamp) return REASON_INACTIVE;
        return REASON_OWNER;
    }

    // ─── Hand-off to settlement ──────────────────────────────────────────────────────────────────
    /// @dev The Settle instruction for one fill. Both-direct trades settle gross at once; any
    /// other trade goes through the CCP.
    function _instruction(
        uint256 securityId,
        Market memory m,
        bytes32 bidHash,
        bytes32 offerHash,
        address buyer,
        address seller,
        uint256 price,
        uint256 qty,
        uint8 sharedFlags
    ) internal view returns (Settle memory) {
        return Settle({
            tradeId: 0,
            bidOrderHash: bidHash,
            offerOrderHash: offerHash,
            buyer: buyer,
            seller: seller,
            securityId: securityId,
            quantity: qty,
            price: price,
            cashAmount: _cashOf(qty, price),
            deadline: uint64(block.timestamp + m.settlementLag),
            route: sharedFlags & OrderBook.FLAG_DIRECT != 0 ? Route.Direct : Route.Ccp
        });
    }

    /// @dev `qty * price`: below 2^40 * 2^88 (MAX_QUANTITY, a 24-bit tick times a 64-bit tick
    /// size), so it cannot overflow.
    function _cashOf(uint256 qty, uint256 price) private pure returns (uint256 c) {
        unchecked {
            c = qty * price;
        }
    }

    /// @dev Both orders direct, or one a system close-out order: settle gross at once.
    function _routeFlags(uint8 a, uint8 b) internal pure returns (uint8) {
        return (a | b) & OrderBook.FLAG_CLOSE_OUT != 0 ? OrderBook.FLAG_DIRECT : a & b;
    }

    /// @dev Number the instruction and hand it to settlement (our own contract; the reentrancy
    /// guard covers any token callback it triggers); `Traded` follows once it settled. The caller
    /// stores `m`. One party that cannot settle the fill must not block everyone else's orders:
    /// if settlement refuses it for a reason that belongs to one side (its cash or units do not
    /// move gross, `NakedShortSale`, `CashNotPrefunded`), settlement's state is rolled back and
    /// the caller learns who failed (BUYER_FAILED, SELLER_FAILED) to withdraw that resting order
    /// (`NotSettled`), if it is among the `resting` sides (a mask of the two; in continuous
    /// trading the maker's side only: a taker's own failure reverts its order with the error, as
    /// does any other failure).
    function _trySettle(Market memory m, Settle memory s, uint8 resting) internal returns (uint8 failed) {
        s.tradeId = _nextTradeId(m, s.securityId);
        // A low-level call: settlement is our own contract with code (set at deployment), so
        // the code-size check a high-level call adds is spent for nothing on every fill.
        (bool ok, bytes memory err) = address(_settlement).call(abi.encodeCall(ISettlement.settle, (s)));
        if (ok) {
            ++m.tradeCount;
            emit Traded(s.tradeId, s.securityId, s.bidOrderHash, s.offerOrderHash, s.buyer, s.seller, s.price, s.quantity);
            return 0;
        }
        failed = _failedSide(_selector(err));
        // A Direct fill runs the buyer's ERC-1155 receiver hook, which may revert with any data:
        // a claim that the seller failed stands only if the seller's units or approval really
        // fall short; otherwise the buyer's own code refused the fill.
        if (failed == SELLER_FAILED && s.route == Route.Direct && _canDeliver(s)) failed = BUYER_FAILED;
        if (failed & resting == 0) {
            assembly ("memory-safe") {
                revert(add(err, 32), mload(err))
            }
        }
    }

    /// @dev Whether the seller of Direct fill `s` holds its units and has approved settlement.
    function _canDeliver(Settle memory s) private view returns (bool) {
        IERC1155 units = IERC1155(address(_securities));
        return units.isApprovedForAll(s.seller, address(_settlement)) && units.balanceOf(s.seller, s.securityId) >= s.quantity;
    }

    /// @dev Which side of a fill settlement's error `selector` blames: BUYER_FAILED (its cash
    /// does not move gross, its pre-funded cash does not cover the buy, or it cannot receive the
    /// units), SELLER_FAILED (its
    /// units do not move gross, or the sale would be naked), or 0 (anything else).
    function _failedSide(bytes4 selector) internal pure returns (uint8) {
        if (selector == IERC20Errors.ERC20InsufficientBalance.selector
            || selector == IERC20Errors.ERC20InsufficientAllowance.selector
            || selector == ICCPSettlementEvents.CashNotPrefunded.selector
            || selector == IERC1155Errors.ERC1155InvalidReceiver.selector) return BUYER_FAILED;
        if (selector == IERC1155Errors.ERC1155InsufficientBalance.selector
            || selector == IERC1155Errors.ERC1155MissingApprovalForAll.selector
            || selector == ICCPSettlementEvents.NakedShortSale.selector) return SELLER_FAILED;
        return 0;
    }

    /// @dev The custom error's selector in revert data `err` (0 if shorter than 4 bytes).
    function _selector(bytes memory err) internal pure returns (bytes4 selector) {
        if (err.length >= 4) {
            assembly ("memory-safe") {
                selector := mload(add(err, 32)) // the first four bytes
            }
        }
    }

    /// @dev The id the security's next trade gets: `securityId << 40 | n`, n = 1, 2, ... (unique
    /// on this venue; a security's 2^40th trade reverts).
    function _nextTradeId(Market memory m, uint256 securityId) internal pure returns (uint256) {
        return (securityId << TRADE_SEQ_BITS) | (uint256(m.tradeCount) + 1);
    }

    // ─── Rest ────────────────────────────────────────────────────────────────────────────────────
    /// @dev Put what is left of the taker on its side of the book at its limit tick.
    /// `buy` and `orderType` are the taker's side and (possibly converted) type, as `_run` has them.
    function _rest(Taker memory t, Market memory m, bool buy, OrderType orderType) internal returns (uint256 orderId) {
        OrderBook.Book storage book = _books[t.securityId][buy ? 0 : 1];
        uint24 tick = t.limitTick;
        uint256 visible = t.remaining;
        uint8 flags = m.publishing ? t.flags | OrderBook.FLAG_PUBLISHED : t.flags;
        if (orderType == OrderType.Iceberg && t.displayQuantity < visible) {
            visible = t.displayQuantity;
            flags |= OrderBook.FLAG_ICEBERG;
            book.reserves[t.orderHash] = OrderBook.Reserve(uint64(t.remaining - visible), uint64(t.displayQuantity));
        }
        bool hidden = orderType == OrderType.Hidden;
        uint256 node = OrderBook.packNode(t.owner, uint40(visible), t.expiry, flags, t.counter);
        (uint64 k, uint24 epoch) = book.append(tick, hidden, node, visible, t.orderHash);
        if (buy && tick > m.bestBid) m.bestBid = tick;
        if (!buy && (m.bestAsk == 0 || tick < m.bestAsk)) m.bestAsk = tick;
        orderId = _encode(t.securityId, buy ? Side.Buy : Side.Sell, k, epoch);
        uint256 price;
        unchecked {
            price = uint256(tick) * m.tickSize; // < 2^24 * 2^64
        }
        emit OrderRested(orderId, t.orderHash, t.owner, price, visible);
    }

    // ─── Removal (matching, purge, owner cancel, quotes) ─────────────────────────────────────────
    /// @dev Delete entry `k` (and an iceberg's reserve) and report what left the market.
    function _drop(
        OrderBook.Book storage book,
        OrderBook.Level memory level,
        uint64 k,
        OrderBook.Node memory node,
        uint8 reason,
        uint256 securityId,
        Side side
    ) internal {
        bytes32 orderHash = book.entries[k].orderHash;
        uint256 qty = node.remaining;
        level.shrink(k, qty);
        book.erase(k);
        if (node.flags & OrderBook.FLAG_ICEBERG != 0) {
            qty += book.reserves[orderHash].reserve;
            delete book.reserves[orderHash];
        }
        uint256 orderId = _encode(securityId, side, k, level.epoch);
        if (reason == REASON_OWNER) emit OrderWithdrawn(orderId, qty);
        else emit OrderCancelled(orderHash, orderId, qty, reason);
    }

    /// @dev Remove entry `k` outside matching (owner cancel, purge) and keep the best price true.
    /// An owner's removal (REASON_OWNER) emits OrderWithdrawn, any other OrderCancelled.
    function _remove(uint256 securityId, Side side, uint64 k, OrderBook.Node memory node, uint8 reason) internal {
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

    /// @dev Take a live resting entry off the book at its owner's request (`cancelOrder`, or a
    /// new quote replacing the old): OrderWithdrawn. The common case writes the node and the
    /// level word only; the entry's order-hash slot is left for the next order at that place to
    /// overwrite (see OrderBook), and no market word is read. An iceberg (its reserve goes too)
    /// or a level left empty (its tick and the best price change) take `_remove`. The caller
    /// publishes if the entry had FLAG_PUBLISHED.
    function _withdraw(uint256 orderId, OrderBook.Book storage book, uint64 k, uint256 node, uint256 levelWord)
        internal
    {
        uint256 remaining = uint40(node >> 160);
        uint256 w = uint8(node >> 232) & OrderBook.FLAG_ICEBERG == 0 ? OrderBook.withoutEntry(levelWord, k, remaining) : 0;
        if (w == 0) {
            (uint256 securityId, Side side,) = _decode(orderId);
            return _remove(securityId, side, k, OrderBook.unpackNode(node), REASON_OWNER);
        }
        delete book.entries[k].node;
        book.levelWords[OrderBook.tickOf(k)] = w;
        emit OrderWithdrawn(orderId, remaining);
    }

    /// @dev Cancel a previous quote order of `maker` if it still rests (it may have been filled).
    function _withdrawQuote(uint256 orderId, address maker) internal {
        if (orderId == 0) return;
        OrderBook.Book storage book = _bookOf(orderId);
        (uint64 k, uint256 node, uint256 levelWord) = _liveEntry(book, orderId);
        if (address(uint160(node)) != maker) return;
        _withdraw(orderId, book, k, node, levelWord);
    }

    /// @dev Tick and remaining size of a quote order if it still rests for `maker`.
    function _liveQuoteSide(uint256 orderId, address maker) internal view returns (uint256 tick, uint256 size) {
        if (orderId == 0) return (0, 0);
        (uint64 k, uint256 w,) = _liveEntry(_bookOf(orderId), orderId);
        OrderBook.Node memory node = OrderBook.unpackNode(w);
        if (node.owner != maker || _deadReason(node) != REASON_OWNER) return (0, 0);
        return (OrderBook.tickOf(k), node.remaining);
    }

    // ─── Publishing the top of book ──────────────────────────────────────────────────────────────
    /// @dev `_publish` after an operation that did not load the market word (loads it only when
    /// a quote sink is set).
    function _publishById(uint256 securityId) internal {
        if ((_marketWords[securityId] >> PUBLISHING_BIT) & 1 != 0) _publish(securityId, _loadMarket(securityId));
    }

    /// @dev Tell the quote sink the top of book (best displayed bid and offer) if the quote is
    /// live (`m.publishing`, see `_live`); while it is not, nothing is pushed and the sink keeps
    /// the empty top pushed when it stopped being live (`_requote`). The venue keeps
    /// no copy of its last push: the sink (the BBO) stores the top anyway and drops a repeat, so
    /// a copy here would cost a second storage word per push (see IQuoteSink). The call is
    /// encoded by hand (no code-size check: the sink is set by the admin); a revert is bubbled.
    function _publish(uint256 securityId, Market memory m) internal {
        if (!m.publishing) return;
        OrderBook.Book[2] storage books = _books[securityId];
        (uint256 bidTick, uint256 bidSize) = _bestDisplayed(books[0], m.bestBid, false);
        (uint256 askTick, uint256 askSize) = _bestDisplayed(books[1], m.bestAsk, true);
        address sink = address(_quoteSink);
        uint256 tickSize = m.tickSize;
        bytes4 selector = IQuoteSink.pushTopOfBook.selector;
        assembly ("memory-safe") {
            // pushTopOfBook(securityId, bidPrice, bidSize, askPrice, askSize) at the free pointer.
            let p := mload(0x40)
            mstore(p, selector)
            mstore(add(p, 0x04), securityId)
            mstore(add(p, 0x24), mul(bidTick, tickSize))
            mstore(add(p, 0x44), bidSize)
            mstore(add(p, 0x64), mul(askTick, tickSize))
            mstore(add(p, 0x84), askSize)
            if iszero(call(gas(), sink, 0, p, 0xa4, 0, 0)) {
                returndatacopy(p, 0, returndatasize())
                revert(p, returndatasize())
            }
        }
    }

    /// @dev The best level with displayed size, from `tick` outwards (hidden-only levels are
    /// skipped, at most MAX_MAKERS of them); (0, 0) if none. Reads only the level word's
    /// `displayed` field (see OrderBook.Level).
    function _bestDisplayed(OrderBook.Book storage book, uint24 tick, bool up) internal view returns (uint24, uint64) {
        for (uint256 i; i < MAX_MAKERS && tick != 0; ++i) {
            uint64 shown = uint64((book.levelWords[tick] >> OrderBook.DISPLAYED_AT) & OrderBook.MAX_LEVEL_SIZE);
            if (shown != 0) return (tick, shown);
            if (up) tick = tick == MAX_TICK ? 0 : book.ticks.nextUp(tick + 1);
            else tick = book.ticks.nextDown(tick - 1);
        }
        return (0, 0);
    }

    /// @dev Whether `m`'s quote is live (stored as `m.publishing`): a quote sink is set (in
    /// effect, or waiting for its sweep) and the security trades continuously and is not
    /// halted. Closed, in a call auction (PreOpen, PreClose) or halted, a venue shows no quote:
    /// its orders cannot be traded against now (#23). A market that publishes for a waiting
    /// sink pushes to no one (`_quoteSink` is zero: a call to an account without code) but its
    /// resting orders carry FLAG_PUBLISHED, so the sink misses no cancel once in effect.
    function _live(Market memory m) internal view returns (bool) {
        return (address(_quoteSink) != address(0) || _sinkPending) && m.phase == Phase.Continuous && !m.halted;
    }

    // ─── Helpers ─────────────────────────────────────────────────────────────────────────────────
    function _listed(uint256 securityId) internal view returns (Market memory m) {
        m = _loadMarket(securityId);
        if (!m.listed) revert NotListed(securityId);
    }

    /// @dev The Market of a security from its packed word (one SLOAD), in the layout of `Market`.
    function _loadMarket(uint256 securityId) internal view returns (Market memory m) {
        uint256 w = _marketWords[securityId];
        m.tickSize = uint64(w);
        m.lotSize = uint32(w >> 64);
        m.bestBid = uint24(w >> 96);
        m.bestAsk = uint24(w >> 120);
        m.lastTick = uint24(w >> 144);
        m.tradeCount = uint40(w >> 168);
        m.phase = Phase(uint8(w >> 208));
        m.listed = (w >> 216) & 1 != 0;
        m.halted = (w >> 217) & 1 != 0;
        m.gated = (w >> 218) & 1 != 0;
        m.publishing = (w >> PUBLISHING_BIT) & 1 != 0;
        m.settlementLag = uint24(w >> 224);
    }

    /// @dev Write a Market back as one word (one SSTORE; a no-op write costs 100 gas).
    function _storeMarket(uint256 securityId, Market memory m) internal {
        _marketWords[securityId] = uint256(m.tickSize) | (uint256(m.lotSize) << 64) | (uint256(m.bestBid) << 96)
            | (uint256(m.bestAsk) << 120) | (uint256(m.lastTick) << 144)
            | (uint256(m.tradeCount) << 168) | (uint256(uint8(m.phase)) << 208)
            | (m.listed ? uint256(1) << 216 : 0) | (m.halted ? uint256(1) << 217 : 0) | (m.gated ? uint256(1) << 218 : 0)
            | (m.publishing ? uint256(1) << PUBLISHING_BIT : 0) | (uint256(m.settlementLag) << 224);
    }

    /// @dev Stop, StopLimit or MarketIfTouched (a bit mask over the OrderType values).
    function _isTriggered(OrderType t) internal pure returns (bool) {
        return (1 << uint8(t)) & ((1 << uint8(OrderType.Stop)) | (1 << uint8(OrderType.StopLimit))
            | (1 << uint8(OrderType.MarketIfTouched))) != 0;
    }

    /// @dev ImmediateOrCancel, FillOrKill, Market or MarketToLimit (bit masks over the values).
    function _isImmediate(OrderType t, TimeInForce tif) internal pure returns (bool) {
        return (1 << uint8(tif)) & ((1 << uint8(TimeInForce.ImmediateOrCancel)) | (1 << uint8(TimeInForce.FillOrKill))) != 0
            || (1 << uint8(t)) & ((1 << uint8(OrderType.Market)) | (1 << uint8(OrderType.MarketToLimit))) != 0;
    }

    /// @dev Stops fire when the price moves through them (buy: up, sell: down); market-if-touched
    /// the other way (buy: down, sell: up).
    function _direction(Side side, OrderType t) internal pure returns (uint8) {
        bool buy = side == Side.Buy;
        if (t == OrderType.MarketIfTouched) return buy ? FALLING : RISING;
        return buy ? RISING : FALLING;
    }

    function _touched(Side side, OrderType t, uint256 trigger, uint256 last) internal pure returns (bool) {
        if (last == 0) return false;
        return _direction(side, t) == RISING ? last >= trigger : last <= trigger;
    }

    function _convertTriggered(Taker memory t, OrderType original) internal pure {
        t.orderType = original == OrderType.StopLimit ? OrderType.Limit : OrderType.Market;
    }

    /// @dev An order id (layout in ITradeVenue): where the entry rests and its level's epoch.
    function _encode(uint256 securityId, Side side, uint64 k, uint24 epoch) internal pure returns (uint256) {
        return (securityId << ID_SECURITY_AT) | (uint256(epoch) << ID_EPOCH_AT) | (uint256(uint8(side)) << 64) | k;
    }

    function _decode(uint256 orderId) internal pure returns (uint256 securityId, Side side, uint64 k) {
        return ((orderId & ~PARKED_BIT) >> ID_SECURITY_AT, Side(uint8((orderId >> 64) & 1)), uint64(orderId));
    }

    /// @dev The book an order id names: its security's resting book on its side, or for a parked
    /// id the parked book of its trigger direction.
    function _bookOf(uint256 orderId) internal view returns (OrderBook.Book storage) {
        uint256 securityId = (orderId & ~PARKED_BIT) >> ID_SECURITY_AT;
        uint256 side = (orderId >> 64) & 1;
        return orderId & PARKED_BIT != 0 ? _parked[securityId][side] : _books[securityId][side];
    }

    /// @dev The entry `orderId` names in `book` (its key, packed node and level word); `node` is 0
    /// if no order rests there, or if the id is of an earlier epoch of its level (another order
    /// may rest at that place now).
    function _liveEntry(OrderBook.Book storage book, uint256 orderId)
        internal
        view
        returns (uint64 k, uint256 node, uint256 levelWord)
    {
        k = uint64(orderId);
        levelWord = book.levelWords[OrderBook.tickOf(k)];
        if (uint24(levelWord >> OrderBook.EPOCH_AT) == uint24(orderId >> ID_EPOCH_AT)) node = book.entries[k].node;
    }
}
