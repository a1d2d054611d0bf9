// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {OrderBook} from "../libraries/OrderBook.sol";

/// @notice Test harness: one side of a book driven directly, to reach the level-size bound that
/// the venue would need 4,097 orders of the largest size for.
contract MockOrderBook {
    using OrderBook for OrderBook.Book;

    OrderBook.Book private _book;

    /// @notice Append an entry of `remaining` units (the word-updating path placements take).
    function append(uint24 tick, bool hidden, uint256 remaining) external returns (uint64 k, uint24 epoch) {
        return _book.append(tick, hidden, OrderBook.packNode(msg.sender, 1, 0, 0, 0), remaining, bytes32(0));
    }

    /// @notice Push an entry of `remaining` units (the in-memory path an iceberg refill takes).
    function push(uint24 tick, uint40 remaining) external returns (uint64 k) {
        OrderBook.Level memory level = _book.loadLevel(tick);
        k = _book.push(level, tick, false, OrderBook.Node(msg.sender, remaining, 0, 0, 0), bytes32(0));
        _book.storeLevel(tick, level);
    }

    /// @notice The level at `tick`.
    function level(uint24 tick) external view returns (OrderBook.Level memory) {
        return _book.loadLevel(tick);
    }
}
