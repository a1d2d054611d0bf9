// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ITradeVenue} from "../interfaces/ITradeVenue.sol";
import {Order} from "../types/Order.sol";

/// @title OrderRelay — many signed orders in one transaction
/// @notice A gateway, broker or sequencer collects EIP-712 signed orders from its members and
/// submits them together: one transaction's base cost (21,000 gas) and the first touch of the
/// venue's, the register's and the CCP's shared state are paid once per batch instead of once
/// per order. Each order goes through the venue's own `placeOrder`, in the batch's order, exactly
/// as if submitted alone: the signature is what authorises it, so the relay needs no role, holds
/// nothing and keeps no state, and anyone may use it for any venue.
/// @dev An order the venue refuses is skipped (`OrderSkipped`, with the venue's custom error) and
/// the rest go on, or, with `atomic`, the whole batch reverts with `RelayedOrderFailed`. A
/// skipped order changed nothing (its `placeOrder` call reverted as a whole). The batch is
/// bounded by `MAX_BATCH`. A token callback during one order cannot re-enter the venue through
/// the relay: the venue's own guard refuses it.
contract OrderRelay {
    /// @notice Most orders in one batch (the batch is one loop; each order may match up to
    /// `maxMakers` resting entries).
    uint256 public constant MAX_BATCH = 64;

    /// @notice What became of one order of a batch.
    /// @param placed False if the venue refused it (then the other two are zero).
    /// @param orderId The resting or parked order's id (0 if nothing rests).
    /// @param filled Units executed.
    struct Result {
        bool placed;
        uint256 orderId;
        uint256 filled;
    }

    /// @notice The batch has no orders.
    error EmptyBatch();
    /// @notice `orders` and `signatures` differ in length.
    error LengthMismatch(uint256 orders, uint256 signatures);
    /// @notice More than `max` orders in one batch.
    error BatchTooLarge(uint256 orders, uint256 max);
    /// @notice In an atomic batch, the venue refused order `index` with `reason` (its custom
    /// error, ABI-encoded); nothing of the batch happened.
    error RelayedOrderFailed(uint256 index, bytes reason);

    /// @notice The venue refused order `index` of a batch with `reason` (its custom error,
    /// ABI-encoded); the order changed nothing and the batch went on.
    event OrderSkipped(uint256 indexed index, address indexed owner, uint256 nonce, bytes reason);

    /// @notice Submit `orders` with their owners' `signatures` to `venue`, one `placeOrder` each,
    /// in order, each matching at most `maxMakers` resting entries.
    /// @param atomic Revert the whole batch if any order is refused (else skip it).
    /// @return results One per order, in order.
    function placeOrders(
        ITradeVenue venue,
        Order[] calldata orders,
        bytes[] calldata signatures,
        uint256 maxMakers,
        bool atomic
    ) external returns (Result[] memory results) {
        uint256 n = orders.length;
        if (n == 0) revert EmptyBatch();
        if (signatures.length != n) revert LengthMismatch(n, signatures.length);
        if (n > MAX_BATCH) revert BatchTooLarge(n, MAX_BATCH);
        results = new Result[](n);
        for (uint256 i; i < n; ++i) {
            (bool ok, bytes memory returned) = address(venue).call(_placeOrderCall(orders[i], signatures[i], maxMakers));
            if (ok) {
                (uint256 orderId, uint256 filled) = abi.decode(returned, (uint256, uint256));
                results[i] = Result(true, orderId, filled);
            } else {
                if (atomic) revert RelayedOrderFailed(i, returned);
                emit OrderSkipped(i, orders[i].owner, orders[i].nonce, returned);
            }
        }
    }

    /// @dev `placeOrder(order, signature, maxMakers)` calldata, copied from this call's calldata:
    /// the Order is 16 static words, so its words go across as they came (the venue checks every
    /// field itself) instead of being decoded and encoded again, which cost 1.4k gas more an order
    /// (bench: relayed all-in 69,363 -> 68,142). A `venue` without code returns nothing: the
    /// decode of the empty success then reverts the batch.
    function _placeOrderCall(Order calldata order, bytes calldata signature, uint256 maxMakers)
        private
        pure
        returns (bytes memory data)
    {
        bytes4 selector = ITradeVenue.placeOrder.selector;
        assembly ("memory-safe") {
            let padded := and(add(signature.length, 31), not(31))
            let size := add(612, padded) // selector, 16 order words, signature offset, maxMakers, length
            data := mload(0x40)
            mstore(data, size)
            let body := add(data, 32)
            mstore(body, selector)
            calldatacopy(add(body, 4), order, 512)
            mstore(add(body, 516), 576) // the signature's offset: after the 18 head words
            mstore(add(body, 548), maxMakers)
            mstore(add(body, 580), signature.length)
            mstore(add(add(body, 580), padded), 0) // zero the last word's padding
            calldatacopy(add(body, 612), signature.offset, signature.length)
            mstore(0x40, add(body, add(size, 28))) // size + 28 keeps the free pointer word-aligned
        }
    }
}
