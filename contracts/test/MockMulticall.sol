// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Test helper: many view calls in one `eth_call`, so the invariant checks can read the
/// whole system after every step of a property test. Never deployed: `smartccp.proof.invariants` runs
/// its runtime code by state override at a fixed address. Any failing call fails the whole read.
contract MockMulticall {
    struct Call {
        address target;
        bytes data;
    }

    /// @notice Call `index` reverted with `reason`.
    error CallFailed(uint256 index, bytes reason);

    /// @notice The return data of every call, in order.
    function aggregate(Call[] calldata calls) external view returns (bytes[] memory results) {
        results = new bytes[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            (bool ok, bytes memory result) = calls[i].target.staticcall(calls[i].data);
            if (!ok) revert CallFailed(i, result);
            results[i] = result;
        }
    }
}
