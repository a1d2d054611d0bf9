// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title QuoteLib — packed venue tops, their consolidation, and merging venues' depth
/// @notice A venue's top of book for one security is one storage word:
/// bidPrice (64) | bidSize (48) | askPrice (64) | askSize (48) | changedAt (32), low bits first.
/// `changedAt` is the last time the venue's recorded top changed (a push that repeats the
/// recorded top is dropped); the consolidated quote's time is the latest of these over the
/// registered venues (and the last registry change).
library QuoteLib {
    uint256 internal constant MAX_PRICE = type(uint64).max;
    uint256 internal constant MAX_SIZE = type(uint48).max;

    /// @dev The consolidated best of one security. Masks: bit i = the venue in slot i holds it.
    struct Best {
        uint256 bidPrice;
        uint256 bidSize;
        uint256 askPrice;
        uint256 askSize;
        uint8 bidMask;
        uint8 askMask;
    }

    // ─── Packing ────────────────────────────────────────────────────────────────────────────
    /// @dev Pack a top; prices and sizes beyond their fields are clamped (a venue's push must
    /// never revert, see IBBO).
    function pack(uint256 bidPrice, uint256 bidSize, uint256 askPrice, uint256 askSize, uint256 changedAt)
        internal
        pure
        returns (uint256)
    {
        return _min(bidPrice, MAX_PRICE) | (_min(bidSize, MAX_SIZE) << 64) | (_min(askPrice, MAX_PRICE) << 112)
            | (_min(askSize, MAX_SIZE) << 176) | (uint256(uint32(changedAt)) << 224);
    }

    function bidPrice(uint256 w) internal pure returns (uint256) {
        return uint64(w);
    }

    function bidSize(uint256 w) internal pure returns (uint256) {
        return uint48(w >> 64);
    }

    function askPrice(uint256 w) internal pure returns (uint256) {
        return uint64(w >> 112);
    }

    function askSize(uint256 w) internal pure returns (uint256) {
        return uint48(w >> 176);
    }

    function changedAt(uint256 w) internal pure returns (uint64) {
        return uint64(w >> 224);
    }

    /// @dev True if `a` and `b` hold the same top (their changedAt aside).
    function sameTop(uint256 a, uint256 b) internal pure returns (bool) {
        return (a ^ b) & ((uint256(1) << 224) - 1) == 0;
    }

    // ─── Consolidation ──────────────────────────────────────────────────────────────────────
    /// @dev Highest bid and lowest offer over the slots in `mask`, sizes summed at those prices.
    /// Visits slots up to the highest set bit only.
    function consolidate(uint256[8] memory words, uint8 mask) internal pure returns (Best memory b) {
        for (uint256 i; mask >> i != 0; ++i) {
            if (mask & (1 << i) == 0) continue;
            uint256 w = words[i];
            uint256 bp = bidPrice(w);
            if (bp != 0) {
                if (bp > b.bidPrice) (b.bidPrice, b.bidSize, b.bidMask) = (bp, bidSize(w), uint8(1 << i));
                else if (bp == b.bidPrice) (b.bidSize, b.bidMask) = (b.bidSize + bidSize(w), b.bidMask | uint8(1 << i));
            }
            uint256 ap = askPrice(w);
            if (ap != 0) {
                if (b.askPrice == 0 || ap < b.askPrice) (b.askPrice, b.askSize, b.askMask) = (ap, askSize(w), uint8(1 << i));
                else if (ap == b.askPrice) (b.askSize, b.askMask) = (b.askSize + askSize(w), b.askMask | uint8(1 << i));
            }
        }
    }

    // ─── Depth ──────────────────────────────────────────────────────────────────────────────
    /// @dev Merge venues' depth on one side (each best first) into at most `levels` levels,
    /// summing sizes at equal prices. `descending` for bids. At most levels * venues steps.
    function mergeSide(uint256[][] memory prices, uint256[][] memory sizes, uint256 levels, bool descending)
        internal
        pure
        returns (uint256[] memory outPrices, uint256[] memory outSizes)
    {
        outPrices = new uint256[](levels);
        outSizes = new uint256[](levels);
        uint256[] memory cursor = new uint256[](prices.length);
        uint256 n;
        while (n < levels) {
            uint256 best;
            for (uint256 v; v < prices.length; ++v) {
                if (cursor[v] == prices[v].length) continue;
                uint256 p = prices[v][cursor[v]];
                if (best == 0 || (descending ? p > best : p < best)) best = p;
            }
            if (best == 0) break;
            uint256 size;
            for (uint256 v; v < prices.length; ++v) {
                if (cursor[v] != prices[v].length && prices[v][cursor[v]] == best) size += sizes[v][cursor[v]++];
            }
            (outPrices[n], outSizes[n]) = (best, size);
            ++n;
        }
        assembly ("memory-safe") {
            // Trim the arrays to the levels found.
            mstore(outPrices, n)
            mstore(outSizes, n)
        }
    }

    /// @dev min(a, b) without a branch (every push packs four fields).
    function _min(uint256 a, uint256 b) private pure returns (uint256 r) {
        assembly ("memory-safe") {
            r := xor(b, mul(xor(a, b), lt(a, b)))
        }
    }
}
