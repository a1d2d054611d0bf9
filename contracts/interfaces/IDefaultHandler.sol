// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IDefaultHandler — the risk layer's side of a settlement failure (F7 → F8/F9)
/// @notice After a sell-out or buy-in, whatever cash the failing account's own receivables did
/// not cover is charged here, to the clearing member that answers for the account. The risk
/// contracts implement it (margin of the member, then the default-fund waterfall); a mock stands
/// in for it in tests. Assumptions the CCP makes: the handler is set by the CCP operator, is a
/// registered system account, transfers the covered cash to the caller (the CCP) before
/// returning, and does not re-enter the CCP. The CCP checks its own cash balance and books only
/// what arrived.
interface IDefaultHandler {
    /// @notice Cover a settlement shortfall of `cashAmount` base units caused by a client or the
    /// member itself; `member` is the responsible clearing member.
    /// @return covered Cash base units transferred to the caller (at most `cashAmount`).
    function coverShortfall(address member, uint256 cashAmount) external returns (uint256 covered);
}
