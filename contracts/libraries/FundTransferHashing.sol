// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FundTransfer} from "../interfaces/IMargin.sol";

/// @title FundTransferHashing — the EIP-712 struct hash of a FundTransfer
/// @notice The on-chain definition of the signed deposit's typed data (the struct is in
/// `interfaces/IMargin.sol`, the domain is Margin's). Its Python twin is `FUND_TRANSFER_FIELDS` in `src/smartccp/risk/chain.py`;
/// a deposit signed in Python is accepted by `Margin.depositWithSignature` only if the two
/// agree (the margin tests sign and submit one).
library FundTransferHashing {
    bytes32 internal constant FUND_TRANSFER_TYPEHASH = keccak256(
        "FundTransfer(address member,uint256 marginAmount,uint256 fundAmount,uint256 nonce,uint256 deadline)"
    );

    function hashStruct(FundTransfer calldata t) internal pure returns (bytes32) {
        return keccak256(abi.encode(FUND_TRANSFER_TYPEHASH, t.member, t.marginAmount, t.fundAmount, t.nonce, t.deadline));
    }
}
