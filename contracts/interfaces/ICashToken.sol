// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ICashToken — DLT-PS cash (F2)
/// @notice An ERC-20 with 6 decimals (1.000000 = 1_000_000 base units), issued by the settlement
/// bank against deposits and redeemed against withdrawals. Only admitted holders may hold it.
interface ICashToken {
    /// @notice `amount` base units were issued to `to` against a deposit.
    event Issued(address indexed to, uint256 amount);
    /// @notice `amount` base units of `from` were redeemed (withdrawn off-ledger).
    event Redeemed(address indexed from, uint256 amount);

    /// @notice Issue `amount` base units to `to`. Settlement bank only; `to` must be active.
    function issue(address to, uint256 amount) external;
    /// @notice Redeem `amount` base units held by `from`; needs `from`'s allowance to the caller
    /// unless `from` is the caller. Settlement bank only.
    function redeem(address from, uint256 amount) external;
}
