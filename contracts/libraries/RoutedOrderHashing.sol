// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {RoutedOrder} from "../types/RoutedOrder.sol";

/// @title RoutedOrderHashing — the EIP-712 struct hash of a RoutedOrder
/// @notice The on-chain definition of the routed order's typed data (the struct is in
/// `types/RoutedOrder.sol`); `smartccp.trading.bbo.ROUTED_ORDER_FIELDS` is its Python twin, and
/// `test_routed_order_typehash__matches_python` (tests/bbo/test_routing.py) checks the BBO's
/// `hashRoutedOrder` digest against the Python one.
library RoutedOrderHashing {
    bytes32 internal constant ROUTED_ORDER_TYPEHASH = keccak256(
        "RoutedOrder(address owner,uint256 securityId,uint8 side,uint64 quantity,uint64 limitPrice,"
        "uint8 timeInForce,uint64 expiry,uint256 nonce)"
    );

    /// @dev All fields are static, so the struct encodes inline after the type hash.
    function hashStruct(RoutedOrder calldata order) internal pure returns (bytes32) {
        return keccak256(abi.encode(ROUTED_ORDER_TYPEHASH, order));
    }
}
