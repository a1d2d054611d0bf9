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
///
/// Liquidity: a buy-in is paid from the failing seller's withheld cash, which may include cash a
/// failing buyer of the same cycle never paid in (its shortfall is charged only at its own
/// sell-out, later in pass 2). The CCP then borrows the missing liquidity from the handler
/// (`lendLiquidity`) and repays it when the cycle ends (`repayLiquidity`). A loan is not a
/// charge: it changes no member's loss. While cash is lent, the handler pays what it owes the
/// CCP (`coverShortfall`) by reducing the loan first.
interface IDefaultHandler {
    /// @notice Cover a settlement shortfall of `cashAmount` base units caused by the obligations
    /// of `wallet` (a client or the member itself); `member` is the responsible clearing member.
    /// The wallet's account decides which collateral may pay (segregation).
    /// @return covered Cash base units transferred to the caller (at most `cashAmount`).
    function coverShortfall(address member, address wallet, uint256 cashAmount) external returns (uint256 covered);

    /// @notice Lend the caller (the CCP) up to `amount` cash base units for the rest of a
    /// settlement cycle; transferred before returning.
    /// @return lent What was transferred (at most `amount`; less if the handler holds less).
    function lendLiquidity(uint256 amount) external returns (uint256 lent);

    /// @notice Take back up to `amount` of the cash lent to the caller, by `transferFrom` on the
    /// caller's allowance (at most what is outstanding).
    function repayLiquidity(uint256 amount) external;

    /// @notice Cash base units lent to the CCP and not yet repaid or set off.
    function liquidityLent() external view returns (uint256);
}
