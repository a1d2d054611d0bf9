// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title TickBitmap — which price ticks have resting orders, in three levels
/// @notice A tick is a price divided by the security's tick size, in [1, 2^24). Level 0 holds one
/// bit per tick (256 ticks a word), level 1 one bit per non-empty level-0 word, level 2 one bit per
/// non-empty level-1 word. Setting or clearing a tick touches at most three words, and the next
/// non-empty tick in either direction is found in at most five word reads, however sparse the
/// book: no loop depends on the number of price levels.
library TickBitmap {
    struct Bitmap {
        mapping(uint256 => uint256) words; // tick >> 8
        mapping(uint256 => uint256) groups; // tick >> 16
        uint256 top; // bit (tick >> 16)
    }

    uint24 internal constant NONE = 0;

    /// @dev Mark `tick` non-empty.
    function set(Bitmap storage self, uint24 tick) internal {
        uint256 w = tick >> 8;
        uint256 word = self.words[w];
        if (word == 0) {
            uint256 g = tick >> 16;
            uint256 group = self.groups[g];
            if (group == 0) self.top |= 1 << g;
            self.groups[g] = group | (1 << (w & 0xff));
        }
        self.words[w] = word | (1 << (tick & 0xff));
    }

    /// @dev Mark `tick` empty.
    function clear(Bitmap storage self, uint24 tick) internal {
        uint256 w = tick >> 8;
        uint256 word = self.words[w] & ~(1 << (tick & 0xff));
        self.words[w] = word;
        if (word == 0) {
            uint256 g = tick >> 16;
            uint256 group = self.groups[g] & ~(1 << (w & 0xff));
            self.groups[g] = group;
            if (group == 0) self.top &= ~(1 << g);
        }
    }

    /// @dev The lowest non-empty tick at or above `tick`, or NONE.
    function nextUp(Bitmap storage self, uint24 tick) internal view returns (uint24) {
        uint256 w = tick >> 8;
        uint256 bits = self.words[w] & (type(uint256).max << (tick & 0xff));
        if (bits != 0) return uint24((w << 8) | _lowest(bits));
        uint256 g = w >> 8;
        uint256 groupBits = (w & 0xff) == 0xff ? 0 : self.groups[g] & (type(uint256).max << ((w & 0xff) + 1));
        if (groupBits == 0) {
            uint256 topBits = g == 0xff ? 0 : self.top & (type(uint256).max << (g + 1));
            if (topBits == 0) return NONE;
            g = _lowest(topBits);
            groupBits = self.groups[g];
        }
        w = (g << 8) | _lowest(groupBits);
        return uint24((w << 8) | _lowest(self.words[w]));
    }

    /// @dev The highest non-empty tick at or below `tick`, or NONE.
    function nextDown(Bitmap storage self, uint24 tick) internal view returns (uint24) {
        uint256 w = tick >> 8;
        uint256 bits = self.words[w] & (type(uint256).max >> (255 - (tick & 0xff)));
        if (bits != 0) return uint24((w << 8) | Math.log2(bits));
        uint256 g = w >> 8;
        uint256 groupBits = (w & 0xff) == 0 ? 0 : self.groups[g] & (type(uint256).max >> (256 - (w & 0xff)));
        if (groupBits == 0) {
            uint256 topBits = g == 0 ? 0 : self.top & (type(uint256).max >> (256 - g));
            if (topBits == 0) return NONE;
            g = Math.log2(topBits);
            groupBits = self.groups[g];
        }
        w = (g << 8) | Math.log2(groupBits);
        return uint24((w << 8) | Math.log2(self.words[w]));
    }

    /// @dev Index of the lowest set bit of a non-zero word.
    function _lowest(uint256 bits) private pure returns (uint256) {
        unchecked {
            // Two's complement isolates the lowest set bit; bits != 0, so no wrap surprises.
            return Math.log2(bits & (~bits + 1));
        }
    }
}
