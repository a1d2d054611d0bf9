// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice The kind of a listed security.
enum SecurityKind {
    Equity,
    Bond,
    Fund,
    Other
}

/// @notice On-chain reference data of one security (one ERC-1155 id).
/// Slot 0: issuer (20) | tickSize (8) | lotSize (4). Slot 1: kind (1) | halted (1) | maturity (8)
/// | isin (12). Slot 2: symbol.
/// @dev `tickSize` is the price increment in cash base units (6 decimals) per one unit of the
/// security; `lotSize` the quantity increment in units; `maturity` is zero for equities.
struct Security {
    address issuer;
    uint64 tickSize;
    uint32 lotSize;
    SecurityKind kind;
    bool halted;
    uint64 maturity;
    bytes12 isin;
    string symbol;
}
