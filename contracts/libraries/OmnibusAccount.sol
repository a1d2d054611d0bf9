// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title OmnibusAccount — the address of a clearing member's omnibus client account
/// @notice Margin keeps the omnibus clients' collateral and requirement under it, and the CCP
/// their one net cash leg per cycle: both derive it here, from the member's address. No key
/// controls it (it is a hash), so nothing can be sent from it; the member acts for it.
library OmnibusAccount {
    /// @notice `member`'s omnibus client account.
    function omnibusOf(address member) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked("SmartCCP omnibus account", member)))));
    }
}
