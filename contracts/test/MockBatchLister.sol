// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISecurityToken} from "../interfaces/ISecurityToken.sol";
import {ITradeVenue} from "../interfaces/ITradeVenue.sol";
import {Phase} from "../types/Order.sol";
import {SecurityKind} from "../types/Security.sol";

/// @notice Test helper: registers `count` equities on DLT-CSD and lists each on a venue (and
/// opens it for continuous trading) in one transaction, so a test can list hundreds of
/// securities in a few blocks. Needs the token's ISSUER_ROLE and the venue's OPERATOR_ROLE.
contract MockBatchLister {
    /// @notice List `count` equities (tick `tickSize`, lot `lotSize`, T+0) on `venue`; returns
    /// the first new id (the rest follow it).
    function listMany(ISecurityToken token, ITradeVenue venue, uint256 count, uint64 tickSize, uint32 lotSize, bool open)
        external
        returns (uint256 first)
    {
        for (uint256 i; i < count; ++i) {
            uint256 id = token.listSecurity("SCALE", bytes12(0), SecurityKind.Equity, tickSize, lotSize, 0);
            if (i == 0) first = id;
            venue.listSecurity(id, 0);
            if (open) venue.setPhase(id, Phase.Continuous);
        }
    }
}
