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
            try venue.placeOrder(orders[i], signatures[i], maxMakers) returns (uint256 orderId, uint256 filled) {
                results[i] = Result(true, orderId, filled);
            } catch (bytes memory reason) {
                if (atomic) revert RelayedOrderFailed(i, reason);
                emit OrderSkipped(i, orders[i].owner, orders[i].nonce, reason);
            }
        }
    }
}
