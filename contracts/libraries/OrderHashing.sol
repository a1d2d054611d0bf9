// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Order} from "../types/Order.sol";

/// @title OrderHashing — the EIP-712 struct hash of an Order
/// @notice The single on-chain definition of the order's typed data. Its Python twin is
/// `ORDER_FIELDS` in `src/smartccp/trading/orders.py` (the type string `ORDER_TYPE_STRING`, built
/// by `type_string` in `src/smartccp/chain/eip712.py`); `test_hash_order__python_equals_contract`
/// and `test_hash_order__every_field_counts` in `tests/trading/test_orders.py` check that the
/// venue's `hashOrder` digest equals the Python one, so the two type strings cannot differ.
library OrderHashing {
    bytes32 internal constant ORDER_TYPEHASH = keccak256(
        "Order(address owner,uint256 securityId,uint8 side,uint8 orderType,uint8 timeInForce,uint8 route,"
        "uint64 price,uint64 triggerPrice,uint64 quantity,uint64 displayQuantity,uint64 validFrom,"
        "uint64 expiry,address cashWallet,address securitiesWallet,uint256 nonce,uint16 counter)"
    );

    /// @dev All fields are static, so the struct encodes inline after the type hash: its 16
    /// calldata words are hashed as they are, after the same range checks the ABI decoder makes
    /// (addresses 160 bits, enums in range, uint64 and uint16 fields; a failure reverts without
    /// data, as `abi.encode(ORDER_TYPEHASH, order)` did), without copying field by field.
    function hashStruct(Order calldata order) internal pure returns (bytes32 h) {
        bytes32 typeHash = ORDER_TYPEHASH;
        assembly ("memory-safe") {
            let bad := or(shr(160, calldataload(order)), shr(160, calldataload(add(order, 0x180))))
            bad := or(bad, shr(160, calldataload(add(order, 0x1a0))))
            bad := or(bad, iszero(lt(calldataload(add(order, 0x40)), 2))) // Side
            bad := or(bad, iszero(lt(calldataload(add(order, 0x60)), 8))) // OrderType
            bad := or(bad, iszero(lt(calldataload(add(order, 0x80)), 5))) // TimeInForce
            bad := or(bad, iszero(lt(calldataload(add(order, 0xa0)), 2))) // Route
            let wide := or(calldataload(add(order, 0xc0)), calldataload(add(order, 0xe0))) // price, trigger
            wide := or(wide, or(calldataload(add(order, 0x100)), calldataload(add(order, 0x120)))) // quantities
            wide := or(wide, or(calldataload(add(order, 0x140)), calldataload(add(order, 0x160)))) // times
            bad := or(bad, shr(64, wide))
            bad := or(bad, shr(16, calldataload(add(order, 0x1e0)))) // counter
            if bad { revert(0, 0) }
            let p := mload(0x40)
            mstore(p, typeHash)
            calldatacopy(add(p, 0x20), order, 0x200)
            h := keccak256(p, 0x220)
        }
    }
}
