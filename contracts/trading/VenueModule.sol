// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {VenueCore} from "./VenueCore.sol";

/// @title VenueModule — what a venue's code module shares: it runs only by delegatecall
/// @notice A module (VenueAuctions, VenueAdmin) holds part of a venue's code; the venue runs it
/// by delegatecall on its own storage (both derive from VenueCore alone, so their layouts are
/// one). Called directly, a module refuses (OnlyDelegateCall).
abstract contract VenueModule is VenueCore {
    address private immutable _self = address(this);

    /// @notice Called directly instead of through a venue.
    error OnlyDelegateCall();

    /// @dev The immutables describe the venue it serves, its settlement contract included (this
    /// code reads them from its own bytecode when the venue runs it); roles are the venue's
    /// (storage).
    constructor(address membership_, address securities_, address settlement_)
        VenueCore(membership_, securities_, settlement_, address(0), address(0xdead))
    {}

    modifier onlyDelegated() {
        if (address(this) == _self) revert OnlyDelegateCall();
        _;
    }
}
