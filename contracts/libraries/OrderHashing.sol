// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Order} from "../types/Order.sol";

/// @title OrderHashing — the EIP-712 struct hash of an Order
/// @notice The single on-chain definition of the order's typed data; `smartccp.orders.ORDER_TYPES`
/// is its Python twin and `test_order_typehash__matches_python` keeps them equal.
library OrderHashing {
    bytes32 internal constant ORDER_TYPEHASH = keccak256(
        "Order(address owner,uint256 securityId,uint8 side,uint8 orderType,uint8 timeInForce,uint8 route,"
        "uint64 price,uint64 triggerPrice,uint64 quantity,uint64 displayQuantity,uint64 validFrom,"
        "uint64 expiry,address cashWallet,address securitiesWallet,uint256 nonce,uint16 counter)"
    );

    /// @dev All fields are static, so the struct encodes inline after the type hash.
    function hashStruct(Order calldata order) internal pure returns (bytes32) {
        return keccak256(abi.encode(ORDER_TYPEHASH, order));
    }
}
