// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TickBitmap} from "./TickBitmap.sol";

/// @title OrderBook — one side of one security's book: price levels with FIFO queues
/// @notice A level (one price tick) holds two queues: displayed orders, then hidden ones (hidden
/// orders trade after every displayed order at the same price). A queue is a range of sequence
/// numbers [head, tail); an order's place in it is its sequence number, so appending and taking
/// the front are O(1) and there are no links to maintain. Cancelling leaves a hole that the next
/// match steps over; a level whose live size drops to zero starts a new epoch, its queues
/// restarting at sequence 0, so holes never pile up and the entry slots of the old epoch are
/// written again rather than new ones. An owner's cancel leaves its entry's order-hash slot for the
/// next order at that place to overwrite (2,900 gas instead of a new slot's 20,000); an entry's
/// hash slot is read only while its node is live. Level slots are never deleted either: re-using a
/// price costs an update, not a new slot.
library OrderBook {
    using TickBitmap for TickBitmap.Bitmap;

    /// @dev One slot: head | tail | hiddenHead | hiddenTail (4 x 32 bits) | displayed (52) |
    /// hidden (52) | epoch (24). `displayed` counts what depth shows (an iceberg's current peak),
    /// `hidden` hidden orders; each is at most MAX_LEVEL_SIZE (4,096 orders of the largest size).
    /// `epoch` counts the times the level emptied (wrapping after 2^24); order ids carry it.
    struct Level {
        uint32 head;
        uint32 tail;
        uint32 hiddenHead;
        uint32 hiddenTail;
        uint64 displayed;
        uint64 hidden;
        uint24 epoch;
    }

    /// @dev One slot: owner (20) | remaining (5) | expiry (4) | flags (1) | counter (2).
    /// `remaining` is what this queue entry may still fill (an iceberg's current peak).
    /// `expiry` is the last second the order may match, 0 = none.
    struct Node {
        address owner;
        uint40 remaining;
        uint32 expiry;
        uint8 flags;
        uint16 counter;
    }

    /// @dev An iceberg's hidden reserve and its peak size, kept by order hash across refills.
    struct Reserve {
        uint64 reserve;
        uint64 peak;
    }

    /// @dev A resting entry: its packed Node and the order hash its Settle instructions carry,
    /// in two consecutive slots (one key hash finds both).
    struct Entry {
        uint256 node;
        bytes32 orderHash;
    }

    /// @dev Levels and nodes are kept as packed words (layouts above) and read and written
    /// whole through loadLevel/storeLevel and loadNode/storeNode: one SLOAD or SSTORE each,
    /// where assigning a struct would touch its slot once per field.
    struct Book {
        TickBitmap.Bitmap ticks;
        mapping(uint24 tick => uint256) levelWords;
        mapping(uint64 key => Entry) entries;
        mapping(bytes32 orderHash => Reserve) reserves;
    }

    uint8 internal constant FLAG_DIRECT = 1; // both-direct trades settle gross at once
    uint8 internal constant FLAG_ICEBERG = 2;
    /// @dev A SmartCCP system contract's own direct order (the CCP's close-out): its trades
    /// settle gross at once whatever the other side chose, so the CCP is paid or delivered now.
    uint8 internal constant FLAG_CLOSE_OUT = 4;
    /// @dev Removing the order may change a published top, so its owner's cancel reads the market
    /// word (and publishes if the quote is live); without the flag it need not. Set when it rested
    /// while its venue published, in a call auction, or released while halted (published later).
    uint8 internal constant FLAG_PUBLISHED = 8;

    /// @dev Bit positions and bound of the packed level word (layout at `Level`).
    uint256 internal constant DISPLAYED_AT = 128;
    uint256 internal constant HIDDEN_AT = 180;
    uint256 internal constant EPOCH_AT = 232;
    uint256 internal constant MAX_LEVEL_SIZE = (1 << 52) - 1;

    /// @notice A level's displayed or hidden size would pass MAX_LEVEL_SIZE.
    error LevelFull(uint24 tick);

    // ─── Keys ────────────────────────────────────────────────────────────────────────────────

    /// @dev key = tick (24 bits) | hidden (1 bit) | sequence (32 bits).
    function key(uint24 tick, bool hidden, uint32 seq) internal pure returns (uint64) {
        return (uint64(tick) << 33) | (hidden ? uint64(1) << 32 : 0) | seq;
    }

    function tickOf(uint64 k) internal pure returns (uint24) {
        return uint24(k >> 33);
    }

    function isHidden(uint64 k) internal pure returns (bool) {
        return (k >> 32) & 1 == 1;
    }

    function seqOf(uint64 k) internal pure returns (uint32) {
        return uint32(k);
    }

    // ─── Packed storage ─────────────────────────────────────────────────────────────────────

    function loadLevel(Book storage self, uint24 tick) internal view returns (Level memory l) {
        uint256 w = self.levelWords[tick];
        l.head = uint32(w);
        l.tail = uint32(w >> 32);
        l.hiddenHead = uint32(w >> 64);
        l.hiddenTail = uint32(w >> 96);
        l.displayed = uint64((w >> DISPLAYED_AT) & MAX_LEVEL_SIZE);
        l.hidden = uint64((w >> HIDDEN_AT) & MAX_LEVEL_SIZE);
        l.epoch = uint24(w >> EPOCH_AT);
    }

    function storeLevel(Book storage self, uint24 tick, Level memory l) internal {
        self.levelWords[tick] = uint256(l.head) | (uint256(l.tail) << 32) | (uint256(l.hiddenHead) << 64)
            | (uint256(l.hiddenTail) << 96) | (uint256(l.displayed) << DISPLAYED_AT) | (uint256(l.hidden) << HIDDEN_AT)
            | (uint256(l.epoch) << EPOCH_AT);
    }

    function loadNode(Book storage self, uint64 k) internal view returns (Node memory) {
        return unpackNode(self.entries[k].node);
    }

    /// @dev A Node from its packed word (layout above).
    function unpackNode(uint256 w) internal pure returns (Node memory n) {
        n.owner = address(uint160(w));
        n.remaining = uint40(w >> 160);
        n.expiry = uint32(w >> 200);
        n.flags = uint8(w >> 232);
        n.counter = uint16(w >> 240);
    }

    function storeNode(Book storage self, uint64 k, Node memory n) internal {
        self.entries[k].node = packNode(n);
    }

    function packNode(Node memory n) internal pure returns (uint256) {
        return packNode(n.owner, n.remaining, n.expiry, n.flags, n.counter);
    }

    /// @dev A Node's packed word from its fields (layout above).
    function packNode(address owner, uint40 remaining, uint32 expiry, uint8 flags, uint16 counter)
        internal
        pure
        returns (uint256)
    {
        return uint256(uint160(owner)) | (uint256(remaining) << 160) | (uint256(expiry) << 200)
            | (uint256(flags) << 232) | (uint256(counter) << 240);
    }

    /// @dev Write a new entry's packed node and order hash (one key hash for both slots).
    function storeEntry(Book storage self, uint64 k, uint256 node, bytes32 orderHash) internal {
        Entry storage e = self.entries[k];
        e.node = node;
        e.orderHash = orderHash;
    }

    // ─── Queues ──────────────────────────────────────────────────────────────────────────────

    /// @dev Append a node at the back of its queue; marks the tick non-empty if it was empty.
    function push(Book storage self, Level memory level, uint24 tick, bool hidden, Node memory node, bytes32 orderHash)
        internal
        returns (uint64 k)
    {
        if (level.displayed == 0 && level.hidden == 0) self.ticks.set(tick);
        if (hidden) {
            k = key(tick, true, level.hiddenTail++);
            level.hidden += node.remaining;
        } else {
            k = key(tick, false, level.tail++);
            level.displayed += node.remaining;
        }
        if ((level.hidden | level.displayed) > MAX_LEVEL_SIZE) revert LevelFull(tick);
        storeEntry(self, k, packNode(node), orderHash);
    }

    /// @dev `push` for a caller that holds no copy of the level: the level word is read and
    /// written once and updated in place (the same checked counters and sizes as `push` and
    /// `storeLevel`, without the level's six fields in memory). `node` is the packed Node
    /// (`packNode`) and `remaining` its remaining field. Returns the key and the level's epoch.
    function append(Book storage self, uint24 tick, bool hidden, uint256 node, uint256 remaining, bytes32 orderHash)
        internal
        returns (uint64 k, uint24 epoch)
    {
        uint256 w = self.levelWords[tick];
        if (uint104(w >> DISPLAYED_AT) == 0) self.ticks.set(tick); // displayed == 0 and hidden == 0
        uint256 tailAt = hidden ? 96 : 32; // tail or hiddenTail
        uint256 sizeAt = hidden ? HIDDEN_AT : DISPLAYED_AT;
        uint32 seq = uint32(w >> tailAt);
        k = key(tick, hidden, seq);
        uint32 nextSeq = seq + 1;
        uint256 size = ((w >> sizeAt) & MAX_LEVEL_SIZE) + remaining;
        if (size > MAX_LEVEL_SIZE) revert LevelFull(tick);
        w &= ~((uint256(type(uint32).max) << tailAt) | (MAX_LEVEL_SIZE << sizeAt));
        self.levelWords[tick] = w | (uint256(nextSeq) << tailAt) | (size << sizeAt);
        storeEntry(self, k, node, orderHash);
        epoch = uint24(w >> EPOCH_AT);
    }

    /// @dev Take `remaining` of a live entry off the level word `w` it rests in: the new word,
    /// or 0 when the level would be left empty (the caller then takes the full path: the level
    /// starts a new epoch and its tick is cleared).
    function withoutEntry(uint256 w, uint64 k, uint256 remaining) internal pure returns (uint256) {
        uint256 w2 = w - (remaining << (isHidden(k) ? HIDDEN_AT : DISPLAYED_AT));
        return uint104(w2 >> DISPLAYED_AT) == 0 ? 0 : w2;
    }

    /// @dev The key of the front of the level (displayed before hidden); `ok` false if empty.
    function front(Level memory level, uint24 tick) internal pure returns (uint64 k, bool ok) {
        if (level.head < level.tail) return (key(tick, false, level.head), true);
        if (level.hiddenHead < level.hiddenTail) return (key(tick, true, level.hiddenHead), true);
        return (0, false);
    }

    /// @dev Step past the front of the queue `k` belongs to.
    function advance(Level memory level, uint64 k) internal pure {
        if (isHidden(k)) ++level.hiddenHead;
        else ++level.head;
    }

    /// @dev Reduce the live size of the queue `k` belongs to by `amount`.
    function shrink(Level memory level, uint64 k, uint256 amount) internal pure {
        if (isHidden(k)) level.hidden -= uint64(amount);
        else level.displayed -= uint64(amount);
    }

    /// @dev Delete a node (its slots are refunded).
    function erase(Book storage self, uint64 k) internal {
        delete self.entries[k];
    }

    /// @dev True when no live order is left at the level; then it starts a new epoch with empty
    /// queues from sequence 0 (no holes survive) and the tick is marked empty.
    function settleIfEmpty(Book storage self, Level memory level, uint24 tick) internal returns (bool empty) {
        empty = level.displayed == 0 && level.hidden == 0;
        if (empty) {
            (level.head, level.tail, level.hiddenHead, level.hiddenTail) = (0, 0, 0, 0);
            unchecked {
                ++level.epoch; // wraps after 2^24 epochs
            }
            self.ticks.clear(tick);
        }
    }
}
