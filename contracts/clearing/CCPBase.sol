// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1155} from "@openzeppelin/contracts/token/ERC1155/IERC1155.sol";
import {ERC1155Holder} from "@openzeppelin/contracts/token/ERC1155/utils/ERC1155Holder.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ICCPSettlementEvents, CyclePhase, SecurityRules} from "../interfaces/ICCPSettlement.sol";
import {ICloseOutMarket} from "../interfaces/ICloseOutMarket.sol";
import {IDefaultHandler} from "../interfaces/IDefaultHandler.sol";
import {IDistributions} from "../interfaces/IDistributions.sol";
import {IInterestSource} from "../interfaces/IInterestSource.sol";
import {IMembership} from "../interfaces/IMembership.sol";
import {Entry, Position, Shortfall} from "../libraries/NettingLib.sol";
import {OmnibusAccount} from "../libraries/OmnibusAccount.sol";
import {Member, MemberKind, PSEUDONYM_SPONSOR, Segregation} from "../types/Member.sol";

/// @title CCPBase — the CCP's storage, and paying out from the cycle pool
/// @notice Shared by the CCP (CCPSettlement) and its cycle settlement module (CCPCycleSettlement,
/// with the close-out pass CCPCloseOut), which runs by delegatecall on the CCP's storage: every
/// base with storage is here, so the two layouts are one by construction.
/// @dev Custody: the CCP's token balances = accounts' pre-funded and deferred balances
/// (`_custodyCash`, `_custodySecurities`) + the pool of the cycle being settled, which includes
/// cash borrowed from the default handler for its buy-ins (`_liquidityBorrowed`) until repaid.
abstract contract CCPBase is ICCPSettlementEvents, AccessControl, ReentrancyGuardTransient, ERC1155Holder {
    /// @notice Longest settlement lag (T+N) and furthest cycle a deadline may name, in cycles.
    uint16 public constant MAX_SETTLEMENT_LAG = 30;
    /// @notice `settleCycle` starts a step only with at least this much gas left, so no step's
    /// token call can be starved into a false "failed to pay" by a caller choosing the gas.
    uint256 public constant MIN_STEP_GAS = 400_000;
    /// @notice A close-out step (pass 2) starts only with this much gas left: its market call
    /// may trade on a venue (VenueCloseOut: about 390k-430k gas with two fills, ~70k per more
    /// fill), and a keeper must not be able to starve it into a false "nothing traded". Covers
    /// a venue close-out of up to about 8 fills plus the handler's charge.
    uint256 public constant MIN_CLOSE_OUT_GAS = 1_000_000;
    /// @notice Gas given to each token call during settlement (caps a receiver's hook).
    uint256 public constant CALL_GAS = 200_000;
    uint16 internal constant BPS = 10_000;
    /// @dev The security id the settlement events give an account's cash leg (ids start at 1).
    uint256 internal constant CASH_LEG = 0;

    /// @dev One slot: phase (1 byte) | cursor (8 bytes) | flags (1 byte) | cash withheld from
    /// deliveries that rolled into this cycle (16 bytes). A cycle's obligation list has no bound
    /// (one entry per account and security traded in it); the cursor walks it, and pass 2 walks
    /// twice the failures, in pages of `settleCycle`. The flags (ROLLED_OUT) and
    /// the rolled-in cash ride in the slot `settleCycle` reads anyway, so a cycle without fails
    /// pays nothing for rolling.
    struct Cycle {
        CyclePhase phase;
        uint64 cursor;
        uint8 flags;
        uint128 rolledInCash;
    }

    /// @dev Cycle flag: a delivery rolled out of this cycle, so pass 3 rolls the receipts the
    /// pool cannot pay.
    uint8 internal constant ROLLED_OUT = 1;

    /// @dev Units of a security a cycle's pool lacks because deliveries rolled out of it (pass 3
    /// rolls that many receipts into the next cycle), and the distribution per unit that cycle
    /// will book again as market claims (the roll's correction). One slot.
    struct Undelivered {
        uint128 units;
        uint128 claimPerUnit;
    }

    /// @dev Where an account's cash leg is in the settlement of its cycle: Summed (its
    /// obligations' cash added up in pass 1a; a credit stays so until pass 3), PaidIn (its debit
    /// collected in pass 1b), PaidOut (pass 3 reached it: its credit paid).
    enum LegStage {
        None,
        Summed,
        PaidIn,
        PaidOut
    }

    /// @dev An account's cash leg (DVP model 3) in the cycle being settled: the net cash of all
    /// its obligations of the cycle, whatever the securities, less the cash its short deliveries
    /// withheld; after pass 1b, for a debit, minus the part it failed to pay that is not yet
    /// charged to an obligation. One slot per account, reused by every cycle (tagged with the
    /// cycle id; one cycle settles at a time): written at settlement only, never at novation,
    /// and created once per account, not once per cycle. The account's count of obligations not
    /// yet paid in (all cycles; up at listing, down in pass 1b) lives here too, so that pass 1b
    /// writes one slot per obligation, as pass 1 always did; and flags: whether pre-funded buys
    /// reserved cash (released when the last obligation is paid in), and whether the account is
    /// a client (a participant: its clearing member pays and receives its cash leg), read from
    /// the register once, at the account's first obligation ever. cash (16) | cycle (8) |
    /// stage (1) | open obligations (4) | flags (1).
    struct CashLeg {
        int128 cash;
        uint64 cycleId;
        LegStage stage;
        uint32 openObligations;
        uint8 flags;
    }

    /// @dev CashLeg flags: the account's kind was read from the register; it is a client;
    /// pre-funded buys reserved cash; its cash joins the leg of the settlement account it trades
    /// for (an omnibus client's: its member's omnibus account; a desk's: its member's house), so
    /// that each settlement account has one cash leg per cycle however many wallets trade for it.
    uint8 internal constant KIND_KNOWN = 1;
    uint8 internal constant CLIENT = 2;
    uint8 internal constant RESERVING = 4;
    uint8 internal constant POOLED = 8;

    /// @dev A pooled wallet's settlement account (one slot, reused): the account (20) | the cycle
    /// (8). `_legAccounts`: read from the register at novation, at the wallet's first obligation
    /// of each cycle (so the settlement module never calls the register); `_settlingLegAccounts`:
    /// copied from it at the wallet's first obligation in pass 1a and kept for the cycle's passes,
    /// so a client ported while its cycle settles keeps one leg account throughout.
    struct LegAccount {
        address account;
        uint64 cycleId;
    }

    /// @dev Interest on an account's pre-funded cash (one slot): accrued and unpaid (12) | the
    /// source's index when last accrued (8; 0: never) | the pre-funded cash booked then (12).
    struct Earning {
        uint96 accrued;
        uint64 index;
        uint96 base;
    }

    /// @dev One slot: cash held for the account (16 bytes) | cash reserved by pre-funded buys
    /// (12 bytes).
    struct Funds {
        uint128 cash;
        uint96 reserved;
    }

    IMembership internal immutable _membership;
    IERC20 internal immutable _cash;
    IERC1155 internal immutable _securities;
    uint64 internal immutable _cycleLength;

    ICloseOutMarket internal _market;
    /// @dev The risk layer's liquidation market (Margin's, for securities collateral), admitted
    /// like `_market` as a party of re-entrant direct fills while a shortfall is charged.
    address internal _liquidationMarket;
    /// @dev Set while pass 2 waits on the close-out market, or on the default handler (whose
    /// layer 1 may sell collateral on `_liquidationMarket`): their own direct fills on a venue
    /// come back to `settle` inside `settleCycle` (see CCPSettlement.settle). Transient: one call.
    bool internal transient _awaitingMarket;
    IDefaultHandler internal _handler;
    uint256 internal _custodyCash;
    mapping(uint256 securityId => uint256) internal _custodySecurities;
    mapping(uint256 securityId => SecurityRules) internal _rules;
    mapping(uint64 cycleId => mapping(uint256 securityId => mapping(address account => Position))) internal _positions;
    mapping(uint64 cycleId => Cycle) internal _cycles;
    mapping(uint64 cycleId => Entry[]) internal _obligations;
    /// @dev Indexes into `_obligations[cycleId]` of the obligations that failed to pay in.
    mapping(uint64 cycleId => uint64[]) internal _failures;
    mapping(uint64 cycleId => mapping(uint256 index => Shortfall)) internal _shortfalls;
    mapping(address account => Funds) internal _funds;
    mapping(address account => mapping(uint256 securityId => uint256)) internal _prefundSecurities;
    mapping(uint64 cycleId => uint256) internal _liquidityBorrowed;
    mapping(address account => CashLeg) internal _cashLegs;
    /// @dev Compression: units of an account's receipt in a cycle that pay-out keeps in its
    /// pre-funded custody (read only when the position's `kept` flag is set) ...
    mapping(uint64 cycleId => mapping(uint256 securityId => mapping(address account => uint256))) internal _kept;
    /// @dev ... and units of its delivery in a later cycle those kept units are for.
    mapping(uint64 cycleId => mapping(uint256 securityId => mapping(address account => uint256))) internal _keptFor;
    mapping(address wallet => LegAccount) internal _legAccounts;
    mapping(address wallet => LegAccount) internal _settlingLegAccounts;
    /// @dev The cycle whose settlement has started and not finished, plus one (0: none). One at
    /// a time, so that the accounts' cash legs can reuse one slot each.
    uint64 internal _settlingCycle;
    /// @dev Each security's settlement lag again, one byte per security and 32 consecutive ids
    /// per slot (id `i` in byte `i % 32` of word `i / 32`), written with `_rules` (a copy: the
    /// lag is at most MAX_SETTLEMENT_LAG). The revaluation reads a page of positions' lags
    /// here, one cold slot per 32 ids instead of one per security.
    mapping(uint256 word => uint256) internal _lags;
    /// @dev Coupons and dividends that become market claims at pay-in (zero: none).
    IDistributions internal _distributions;
    /// @dev Rolled fails: times an account's failed delivery has rolled into a cycle ...
    mapping(uint64 cycleId => mapping(uint256 securityId => mapping(address account => uint8))) internal _failAges;
    /// @dev ... and what a cycle's pool lacks for its receivers because of them.
    mapping(uint64 cycleId => mapping(uint256 securityId => Undelivered)) internal _undelivered;
    /// @dev An account failed to pay cash in the cycle (pass 1b): then no delivery of it rolls,
    /// every failure is closed out (the sell-outs need the pool whole). Written on that failure
    /// path only.
    mapping(uint64 cycleId => bool) internal _cashFailed;
    /// @dev The rate on pre-funded cash (Margin's index and interest account; zero: none) ...
    IInterestSource internal _interestSource;
    /// @dev ... and each account's interest on its pre-funded cash.
    mapping(address account => Earning) internal _prefundEarnings;

    constructor(address membership_, address cash_, address securities_, uint64 cycleLength_) {
        if (membership_ == address(0) || cash_ == address(0) || securities_ == address(0) || cycleLength_ == 0) {
            revert ZeroAddress();
        }
        _membership = IMembership(membership_);
        _cash = IERC20(cash_);
        _securities = IERC1155(securities_);
        _cycleLength = cycleLength_;
    }

    /// @inheritdoc AccessControl
    function supportsInterface(bytes4 interfaceId) public view virtual override(AccessControl, ERC1155Holder) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // ─── Paying out ──────────────────────────────────────────────────────────────────────────

    /// @dev Pay out from the cycle pool: units to the account's wallet, cash to `payee` (the
    /// account, or a client's clearing member); whatever cannot be paid (receiver refused or
    /// inactive, pool short) is credited to the receiver's balance in the CCP.
    function _deliver(uint64 cycleId, address account, address payee, uint256 securityId, uint256 units, uint256 amount)
        internal
    {
        uint256 unitsLate;
        uint256 amountLate;
        if (units != 0) {
            uint256 paid = _poolSecurities(securityId);
            if (paid > units) paid = units;
            if (paid != 0) {
                try _securities.safeTransferFrom{gas: CALL_GAS}(address(this), account, securityId, paid, "") {}
                catch {
                    paid = 0;
                }
            }
            unitsLate = units - paid;
        }
        if (amount != 0) {
            uint256 paid = _increase(_custodyCash, _cash.balanceOf(address(this)));
            if (paid > amount) paid = amount;
            if (paid != 0) {
                try _cash.transfer{gas: CALL_GAS}(payee, paid) returns (bool ok) {
                    if (!ok) paid = 0;
                } catch {
                    paid = 0;
                }
            }
            amountLate = amount - paid;
        }
        if (unitsLate != 0 || amountLate != 0) {
            _credit(account, securityId, unitsLate, 0);
            _credit(payee, securityId, 0, amountLate);
            emit PayOutDeferred(cycleId, account, securityId, unitsLate, amountLate);
        }
        emit ObligationPaidOut(cycleId, account, securityId, units - unitsLate, amount - amountLate);
    }

    /// @dev Book units and cash as held by the CCP for `account` (withdrawable later).
    function _credit(address account, uint256 securityId, uint256 units, uint256 amount) internal {
        if (units != 0) {
            _prefundSecurities[account][securityId] += units;
            _custodySecurities[securityId] += units;
            emit SecuritiesPrefunded(account, securityId, SafeCast.toInt256(units));
        }
        if (amount != 0) {
            _funds[account].cash += SafeCast.toUint128(amount);
            _custodyCash += amount;
            emit CashPrefunded(account, SafeCast.toInt256(amount));
        }
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────────

    /// @dev Append a new obligation to the cycle's list; the first one opens the cycle. The list
    /// has no bound: `settleCycle` walks it in pages anyone may advance.
    function _list(uint64 cycleId, address account, uint256 securityId) internal {
        Entry[] storage list = _obligations[cycleId];
        uint256 n = list.length;
        // Cast is safe: setSecurityRules admits only ids below 2^88.
        list.push(Entry(account, uint88(securityId), false));
        CashLeg storage leg = _cashLegs[account];
        uint8 flags = leg.flags;
        bool known = flags & KIND_KNOWN != 0;
        // The register is read once per account ever (its kind), and once per cycle for a pooled
        // wallet (its settlement account, which follows a port): one call when both are due.
        if (!known || (flags & POOLED != 0 && _legAccounts[account].cycleId != cycleId)) {
            Member memory m = _membership.memberOf(account);
            if (!known) {
                // A participant's cash leg is its clearing member's to pay; an omnibus client's
                // or a desk's cash joins its settlement account's leg. A pseudonym (#24), whose
                // member is hidden behind the sponsor, pays and is paid its own, as a member is.
                flags = KIND_KNOWN;
                if (m.kind == MemberKind.Participant && m.clearingMember != PSEUDONYM_SPONSOR) {
                    flags |= m.segregation == Segregation.Omnibus || m.segregation == Segregation.House
                        ? CLIENT | POOLED
                        : CLIENT;
                }
                leg.flags |= flags;
            }
            if (flags & POOLED != 0) {
                address legAccount = m.segregation == Segregation.House
                    ? m.clearingMember
                    : OmnibusAccount.omnibusOf(m.clearingMember);
                _legAccounts[account] = LegAccount(legAccount, cycleId);
            }
        }
        ++leg.openObligations;
        if (n == 0) {
            _cycles[cycleId].phase = CyclePhase.Open;
            emit CyclePhaseChanged(cycleId, CyclePhase.Open);
        }
    }


    function _settlesFrom(uint64 cycleId) internal view returns (uint64) {
        return (cycleId + 1) * _cycleLength;
    }

    /// @dev Units of `securityId` the CCP holds beyond what it keeps for accounts: the pool.
    function _poolSecurities(uint256 securityId) internal view returns (uint256) {
        return _increase(_custodySecurities[securityId], _securities.balanceOf(address(this), securityId));
    }

    /// @dev Who pays and receives `account`'s cash: its clearing member if it is a client.
    function _payerOf(address account) internal view returns (address) {
        return _payer(account, _cashLegs[account].flags);
    }

    /// @dev `_payerOf` for a leg already read (its `flags`): the register is asked only for a client.
    function _payer(address account, uint8 flags) internal view returns (address) {
        return flags & CLIENT != 0 ? _membership.clearingMemberOf(account) : account;
    }

    function _handlerOr(address account) internal view returns (address) {
        address handler = address(_handler);
        return handler == address(0) ? account : handler;
    }

    /// @dev `to - from` if positive, else zero.
    function _increase(uint256 from, uint256 to) internal pure returns (uint256) {
        return to > from ? to - from : 0;
    }
}
