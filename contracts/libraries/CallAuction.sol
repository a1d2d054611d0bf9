// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OrderBook} from "./OrderBook.sol";
import {TickBitmap} from "./TickBitmap.sol";

/// @title CallAuction — the single clearing price of a call auction
/// @notice The price is the tick that (1) maximises executable volume, then (2) minimises the
/// imbalance between demand and supply at it, then (3) is nearest the reference price (the last
/// trade price), then (4) is the lower tick. Demand at tick p is every bid at p or above, supply
/// every offer at p or below; sizes count displayed and hidden orders (an iceberg's reserve joins
/// as it refills, so it is not counted). Only levels inside the crossed range are read, at most
/// MAX_LEVELS per side.
library CallAuction {
    using TickBitmap for TickBitmap.Bitmap;

    /// @dev An uncross in progress: priced once, then filled in bounded chunks.
    struct State {
        bool priced;
        uint24 tick;
        uint64 volume;
    }

    uint256 internal constant MAX_LEVELS = 64;

    error AuctionTooDeep(uint256 max);

    /// @return tick The clearing tick (0 when the book does not cross).
    /// @return volume Units executable at it.
    function clearingTick(
        OrderBook.Book storage bids,
        OrderBook.Book storage asks,
        uint24 bestBid,
        uint24 bestAsk,
        uint24 refTick
    ) internal view returns (uint24 tick, uint256 volume) {
        if (bestBid == 0 || bestAsk == 0 || bestBid < bestAsk) return (0, 0);
        (uint24[] memory bidTicks, uint256[] memory bidQty) = _collect(bids, bestBid, bestAsk, false);
        (uint24[] memory askTicks, uint256[] memory askQty) = _collect(asks, bestAsk, bestBid, true);

        uint256 demand; // bids at or above the candidate: start with all, drop those below as we rise
        for (uint256 i; i < bidQty.length; ++i) demand += bidQty[i];
        uint256 supply;
        uint256 bestImbalance;
        uint256 bestDistance;
        // Candidates in ascending order: merge bid ticks (stored descending) with ask ticks.
        uint256 bi = bidTicks.length; // walk bids from the back (lowest first)
        uint256 ai;
        while (bi > 0 || ai < askTicks.length) {
            uint24 c;
            if (ai < askTicks.length && (bi == 0 || askTicks[ai] <= bidTicks[bi - 1])) c = askTicks[ai];
            else c = bidTicks[bi - 1];
            while (ai < askTicks.length && askTicks[ai] <= c) supply += askQty[ai++];
            uint256 exec = demand < supply ? demand : supply;
            uint256 imbalance = demand > supply ? demand - supply : supply - demand;
            uint256 distance = refTick == 0 ? 0 : (c > refTick ? c - refTick : refTick - c);
            if (
                exec > volume || (exec == volume && exec != 0
                    && (imbalance < bestImbalance || (imbalance == bestImbalance && distance < bestDistance)))
            ) {
                (tick, volume, bestImbalance, bestDistance) = (c, exec, imbalance, distance);
            }
            while (bi > 0 && bidTicks[bi - 1] <= c) demand -= bidQty[--bi];
        }
    }

    /// @dev Levels from `from` towards `to` (inclusive), best first, with their total sizes.
    function _collect(OrderBook.Book storage book, uint24 from, uint24 to, bool up)
        private
        view
        returns (uint24[] memory ticks, uint256[] memory qty)
    {
        ticks = new uint24[](MAX_LEVELS);
        qty = new uint256[](MAX_LEVELS);
        uint256 n;
        uint24 tick = from;
        while (tick != 0 && (up ? tick <= to : tick >= to)) {
            if (n == MAX_LEVELS) revert AuctionTooDeep(MAX_LEVELS);
            OrderBook.Level memory level = OrderBook.loadLevel(book, tick);
            ticks[n] = tick;
            qty[n++] = uint256(level.displayed) + level.hidden;
            tick = up ? book.ticks.nextUp(tick + 1) : book.ticks.nextDown(tick - 1);
        }
        assembly ("memory-safe") {
            // Trim the arrays to the levels found.
            mstore(ticks, n)
            mstore(qty, n)
        }
    }
}
