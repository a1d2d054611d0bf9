// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IOrderGate} from "./IOrderGate.sol";
import {Segregation} from "../types/Member.sol";

/// @notice A signed deposit (EIP-712, domain "SmartCCP Margin" / "1"): `member` moves
/// `marginAmount` cash into its margin account and `fundAmount` into its default fund
/// contribution. Anyone may submit it; `nonce` is the member's next sequential nonce.
struct FundTransfer {
    address member;
    uint256 marginAmount;
    uint256 fundAmount;
    uint256 nonce;
    uint256 deadline;
}

/// @notice A clearing member's margin status (view only).
struct MarginStatus {
    uint256 posted; // collateral value: cash + securities at settlement price less haircut
    uint256 required; // IM + VM at the last refresh
    uint256 pending; // stand-alone margin of orders approved since the last refresh
    uint256 initialMargin;
    uint256 variationMargin;
    uint256 cash; // cash collateral held
    uint256 callAmount; // outstanding margin call (0: none)
    uint64 callDeadline;
    bool defaulted;
    bool contributionPaid;
}

/// @title IMarginEvents — the events and errors of Margin (shared with its revaluation module)
interface IMarginEvents {
    // ─── Events ──────────────────────────────────────────────────────────────────────────────
    /// @notice The shock vector of `securityId` was published (bps, one per scenario).
    event ScenariosPublished(uint256 indexed securityId, int16[] shocksBps);
    /// @notice The margin model the scenarios are calibrated for changed.
    event MarginModelSet(uint16 confidenceBps, uint8 horizonDays, uint32 callWindow);
    /// @notice The collateral haircut of `securityId` was set.
    event HaircutSet(uint256 indexed securityId, uint16 haircutBps);
    /// @notice A daily settlement price was published.
    event SettlementPricePublished(uint256 indexed securityId, uint256 price, uint32 day);
    /// @notice A new margin day started: resting-order quantities are dropped at each member's
    /// next refresh.
    event MarginDayStarted(uint32 day);
    /// @notice Cash collateral of the margin account `account` was deposited (> 0) or withdrawn (< 0).
    event CashCollateralMoved(address indexed account, int256 amount);
    /// @notice Interest on cash collateral: the rate is now `rateBps` a year, from index `index`
    /// (1e12 = one unit of cash deposited at the start).
    event InterestRateSet(uint16 rateBps, uint256 index);
    /// @notice The CCP's interest account, which pays the interest (approving this contract).
    event InterestPayerSet(address indexed payer);
    /// @notice `amount` of `account`'s accrued interest was paid to `to`.
    event InterestPaid(address indexed account, address indexed to, uint256 amount);
    /// @notice The interest account could not pay `account`'s `amount` of interest: it stays owed.
    event InterestUnpaid(address indexed account, uint256 amount);
    /// @notice Securities collateral of `account` was deposited (> 0) or withdrawn (< 0).
    event SecuritiesCollateralMoved(address indexed account, uint256 indexed securityId, int256 units);
    /// @notice The gate approved an order of `owner` on the margin account `account`;
    /// `orderMargin` was added to the account's pending margin.
    event OrderMargined(address indexed account, address indexed owner, uint256 indexed securityId, uint256 orderMargin);
    /// @notice `account`'s requirement was recomputed.
    event MarginRefreshed(address indexed account, uint256 initialMargin, uint256 variationMargin, uint256 posted);
    /// @notice `account` must bring `amount` more collateral by `deadline` (a client account's
    /// call is its clearing member's to meet if the client does not).
    event MarginCalled(address indexed account, uint256 amount, uint64 deadline);
    /// @notice `account`'s margin call is covered.
    event MarginCallMet(address indexed account);
    /// @notice The default fund took `amount` of `account`'s collateral in cash (waterfall
    /// layer 1: its cash and the proceeds of its liquidated securities).
    event MarginSeized(address indexed account, uint256 amount, address indexed to);
    /// @notice `units` of `account`'s securities collateral were sold on the liquidation
    /// market for `proceeds` cash (credited to its cash collateral, then seized).
    event CollateralLiquidated(address indexed account, uint256 indexed securityId, uint256 units, uint256 proceeds);
    /// @notice A closed default's leftover collateral went to `to` (`cash`; securities in
    /// `SecuritiesCollateralMoved` events).
    event CollateralReleased(address indexed member, address indexed to, uint256 cash);
    /// @notice The market layer 1 sells securities collateral on was set (zero: none).
    event LiquidationMarketSet(address indexed market);
    /// @notice `member` was flagged in default (no more orders, no withdrawals).
    event MemberFlaggedInDefault(address indexed member);
    /// @notice `member`'s default flag was cleared (its default was cured): orders and
    /// withdrawals are allowed again.
    event MemberDefaultCleared(address indexed member);
    /// @notice The default fund reported whether `member`'s contribution is fully paid.
    event ContributionStatusSet(address indexed member, bool paid);
    /// @notice A page of `account`'s revaluation for margin day `day` ended with `done` items
    /// revalued and more to go (the last page emits `MarginRefreshed` instead).
    event RevaluationAdvanced(address indexed account, uint32 day, uint256 done);
    /// @notice `account`'s revaluation in progress starts over (its wallets or collateral lines
    /// changed under it: a client ported, collateral seized or released).
    event RevaluationRestarted(address indexed account);
    /// @notice The client account `account` was put under `member` (a client admitted, or its
    /// account ported with what it holds); `segregation` Individual or Omnibus.
    event AccountAttached(address indexed account, address indexed member, Segregation segregation);
    /// @notice A defaulter's omnibus collateral followed its clients to `to` (the backup member's
    /// omnibus account): `cash` (with its unpaid interest) now, securities lines up to `done`.
    event OmnibusCollateralPorted(address indexed member, address indexed from, address indexed to, uint256 cash, bool done);

    // ─── Errors ──────────────────────────────────────────────────────────────────────────────
    /// @notice The margin account `account`'s collateral `posted` does not cover `required`
    /// (IM + VM + pending, including the new order's worst case).
    error InsufficientMargin(address account, uint256 required, uint256 posted);
    /// @notice `member` has paid `paid` of its required default fund contribution `required`.
    error ContributionNotPaid(address member, uint256 required, uint256 paid);
    /// @notice `member` is in default.
    error MemberInDefault(address member);
    /// @notice `owner` trades for no margin account (not a member or a client).
    error NoClearingMember(address owner);
    /// @notice No scenarios or no settlement price for `securityId`.
    error SecurityNotMargined(uint256 securityId);
    /// @notice More than `max` scenarios, or a vector not of the model's length `expected`.
    error BadScenarioVector(uint256 length, uint256 expected);
    /// @notice A shock below -100 % (`shock` bps).
    error ShockBelowMinusHundredPercent(int16 shock);
    /// @notice `account`'s revaluation spans transactions and is not finished (`done` items so
    /// far): its requirement is unknown until then, so its orders and withdrawals wait. Anyone
    /// may advance it with `revalue`.
    error RevaluationPending(address account, uint256 done);
    /// @notice Arrays of different lengths, or a batch above `max`.
    error BadBatch(uint256 length, uint256 max);
    /// @notice A haircut above 100 % or a price above 2^64.
    error BadParameter(uint256 value);
    /// @notice `caller` is not a clearing member.
    error NotClearingMember(address caller);
    /// @notice The signed transfer expired at `deadline`.
    error TransferExpired(uint256 deadline);
    /// @notice The signature is not `member`'s.
    error BadSignature(address member);
    /// @notice `account` holds `available` where `requested` is asked for.
    error InsufficientCollateral(address account, uint256 available, uint256 requested);
    /// @notice The liquidation market took `taken` units of `securityId` where `offered` were
    /// offered, or took cash.
    error MarketOverdrew(uint256 securityId, uint256 taken, uint256 offered);
    /// @notice The zero address or zero amount was given.
    error ZeroInput();
    /// @notice `caller` (the risk role or the guardian) may change scenarios, a haircut or the
    /// model (`securityId` 0) only in the stricter direction; anything else needs the admin.
    error RiskChangeNeedsAdmin(address caller, uint256 securityId);
    /// @notice `account` is no margin account and no wallet trading for one.
    error UnknownAccount(address account);
    /// @notice `caller` does not control `account`'s collateral (the member controls its house
    /// and omnibus accounts, an individually segregated client its own account).
    error NotAccountController(address caller, address account);
    /// @notice A Margin module (MarginRevaluation, MarginSeizure) was called directly instead of
    /// by delegatecall from Margin.
    error OnlyDelegateCall();
    /// @notice `member` is not flagged in default.
    error NotFlaggedInDefault(address member);
    /// @notice `clients` omnibus clients of `account` are not ported yet: its collateral stays.
    error OmnibusClientsLeft(address account, uint256 clients);
    /// @notice `member`'s omnibus clients were not ported during its default, or not all to one
    /// omnibus account: its omnibus collateral has nowhere to follow them.
    error OmnibusNotPorted(address member);
}

/// @title IMargin — collateral, scenario initial margin, variation margin, margin calls and the
/// pre-trade risk gate, per margin account of a clearing member (F8, F10)
/// @notice
/// ACCOUNTS (EMIR Art. 39). Each clearing member has a house account (its own address, and any
/// desks: more wallets of the member trading for it) and client accounts: an individually
/// segregated client's (the client's address) and one omnibus account for its omnibus clients
/// (`omnibusAccountOf(member)`). The register says which when a participant is admitted. Positions, IM, VM, calls and collateral are kept per account; a
/// wallet's orders are gated on its account only. Porting an individual client moves its
/// account whole (positions, collateral, requirement); an omnibus client moves to the new
/// member's omnibus account with its positions (omnibus collateral is commingled and stays).
///
/// COLLATERAL. Cash (DLT-PS) and securities (DLT-CSD) held by this contract, per account;
/// securities count at the settlement price less a per-security haircut (rounded down).
/// Deposits: approve-and-deposit (anyone may fund an account with `depositCashTo`), or a signed
/// `FundTransfer` of a member that also pays the default fund. Only the excess over the
/// requirement (IM + VM + pending) can be withdrawn, by the account's controller: the member for
/// its house and omnibus accounts, an individual client for its own (its member cannot take it).
/// On a default, waterfall layer 1 (`seizeMargin`) takes a loss from the account that caused it
/// (a client's account pays for its own positions only), then from the member's house account:
/// house margin may cover clients' losses, never the reverse, and one client's collateral never
/// pays for another's. Cash first, then securities sold on the liquidation market at no less
/// than their haircut value per unit; the house leftovers go to the defaulter's estate when its
/// default is closed (`releaseCollateral`).
///
/// INITIAL MARGIN. Scenario based: per security a vector of at most 16 price shocks (bps),
/// calibrated off chain (`smartccp.risk.scenarios`, historical simulation, 99 % / 5 days by
/// default; EMIR Art. 24-26 of RTS 153/2013: 99 % / 2 days for exchange-traded, 99.5 % / 5 days
/// for OTC) and published by the risk role. An account's IM is the worst loss over the scenarios
/// of its positions: its wallets' unsettled net obligations in the CCP plus the
/// resting-order quantities the gate recorded, filled in the direction that hurts
/// (`RiskMath.addScenarioPnl` and `marginOf`, equal to `smartccp.risk.margin.initial_margin`).
///
/// POSITIONS. Kept per wallet (the CCP's obligations are per wallet) and summed per account,
/// without limit on accounts, wallets, positions or collateral lines: the gate's cost does not
/// depend on them. A revaluation (`revalue`, in pages of items that anyone may advance, or
/// `refreshMargin` in one call) re-reads each position's unsettled obligations in the open
/// cycles `[today - 1, today + lag]` from the CCP (`unsettledObligationsOf`), sums the scenario P&L and
/// the mark-to-market in memory, revalues each collateral line at the settlement price, and on
/// its last page sets IM and VM and calls or releases margin. While a revaluation spans
/// transactions the account's requirement is not known: its orders and withdrawals are refused
/// (`RevaluationPending`) until it finishes. The gate between revaluations adds each order's
/// stand-alone worst case (`RiskMath.orderMargin`) to `pending`: conservative by
/// sub-additivity. Resting-order quantities are kept until the first revaluation of a new
/// margin day (`startMarginDay`, after the session end when day orders have expired).
/// Collateral lines count in `posted` at their last valuation; a deposit, withdrawal or sale
/// revalues its line at today's price.
///
/// VARIATION MARGIN. `VM = max(0, -sum_i (q_i P_i + c_i))`: the mark-to-market loss of the
/// unsettled obligations (quantity q, cash c at trade prices) at the settlement prices P,
/// published daily by the price role from the venues' closing auction. It is collected as
/// collateral (settlement itself is at trade prices in the CCP), gains offset losses.
///
/// MARGIN CALLS. A refresh that finds `posted < required` calls the difference with a deadline
/// (`callWindow` seconds); deposits that cover it release the call. A call still short after
/// its deadline lets anyone have the default fund declare the member in default (a client
/// account's call too: the member answers for its clients).
interface IMargin is IOrderGate, IMarginEvents {
    // ─── Risk parameters ─────────────────────────────────────────────────────────────────────
    /// @notice Publish `securityId`'s shock vector (bps, length = the model's scenario count,
    /// each >= -10 000). The admin (timelock) any vector; the risk role a security's first one;
    /// the risk role and the guardian a vector whose every shock is at least as large in
    /// magnitude, same sign (else `RiskChangeNeedsAdmin`).
    function publishScenarios(uint256 securityId, int16[] calldata shocksBps) external;
    /// @notice Set the market layer 1 sells a defaulter's securities collateral on (an
    /// `ICloseOutMarket` that accepts this contract as seller; zero: none, the securities then
    /// stay in place). Admin.
    function setLiquidationMarket(address market) external;
    /// @notice Set the collateral haircut of `securityId` (bps < 10 000). The admin (timelock)
    /// any; the risk role and the guardian only a haircut not lower (else `RiskChangeNeedsAdmin`).
    function setHaircut(uint256 securityId, uint16 haircutBps) external;
    /// @notice Set the model: confidence (bps, e.g. 9 900), horizon (days, e.g. 5) and the
    /// margin call window (seconds). The admin (timelock) any; the risk role and the guardian
    /// only confidence and horizon not lower and a window not longer. Scenario count is fixed.
    function setMarginModel(uint16 confidenceBps, uint8 horizonDays, uint32 callWindow) external;
    /// @notice Publish daily settlement prices (cash base units per unit), taken from the
    /// venues' closing auction. Price role.
    function publishPrices(uint256[] calldata securityIds, uint256[] calldata prices) external;
    /// @notice Start a new margin day: resting-order quantities recorded by the gate are dropped
    /// at each member's next refresh (day orders have expired). Price role.
    function startMarginDay() external;

    // ─── Collateral ──────────────────────────────────────────────────────────────────────────
    /// @notice Deposit `amount` cash into the margin account the caller trades for (needs
    /// allowance): a member's house, a client's own or omnibus account.
    function depositCash(uint256 amount) external;
    /// @notice Deposit `amount` cash into `account` (a member funding a client's account or its
    /// omnibus account). Anyone; the account must exist (`UnknownAccount`).
    function depositCashTo(address account, uint256 amount) external;
    /// @notice Deposit `units` of `securityId` into the margin account the caller trades for
    /// (needs approval).
    function depositSecurities(uint256 securityId, uint256 units) external;
    /// @notice Execute a member's signed `FundTransfer` (one allowance to this contract covers
    /// both amounts; the fund part is forwarded to the default fund).
    function depositWithSignature(FundTransfer calldata transfer, bytes calldata signature) external;
    /// @notice Withdraw cash collateral of the caller's own account (a member's house, an
    /// individual client's account); only the excess over IM + VM + pending.
    function withdrawCash(uint256 amount) external;
    /// @notice Withdraw cash collateral of `account` to the caller, its controller (the member
    /// for its house and omnibus accounts, else `NotAccountController`); only the excess.
    function withdrawCashFrom(address account, uint256 amount) external;
    /// @notice Pay `account`'s accrued interest on its cash collateral to the caller, its
    /// controller (as for withdrawals). Withdrawing cash pays it too. Interest accrues per
    /// second through one index (no loop over accounts), rounded down, and is paid by the CCP's
    /// interest account; if that cannot pay, it stays owed (`InterestUnpaid`).
    function claimInterest(address account) external;
    /// @notice Publish the yearly interest rate on cash collateral in bps (from now; what accrued
    /// at the old rate is kept in the index). Risk role.
    function setInterestRate(uint16 rateBps) external;
    /// @notice Set the CCP's interest account that pays interest. Admin.
    function setInterestPayer(address payer) external;
    /// @notice `account`'s interest accrued and not yet paid, to now.
    function interestOf(address account) external view returns (uint256);
    /// @notice The index of a unit of cash now (`1e12` at the start, grown by the published
    /// rates): the one source of interest on cash collateral (the default fund's contributions
    /// accrue by it too).
    function interestIndex() external view returns (uint256);
    /// @notice The CCP's interest account (zero: none set).
    function interestPayer() external view returns (address);
    /// @notice Withdraw securities collateral of the caller's own account (the line revalued at
    /// today's settlement price first); only the excess.
    function withdrawSecurities(uint256 securityId, uint256 units) external;

    // ─── Margin cycle ────────────────────────────────────────────────────────────────────────
    /// @notice Revalue the margin account `member` in one call: every position re-read from the CCP, IM, VM and the
    /// collateral value recomputed, margin called (or released). Anyone may call (keepers, the
    /// member itself). Its gas grows with the member's positions and lines; `revalue` pages it.
    function refreshMargin(address member) external;
    /// @notice Advance `member`'s revaluation by at most `maxItems` items (an account without
    /// positions, a position, or a collateral line), resuming where the last page stopped; the
    /// last page has `refreshMargin`'s effects. Anyone may call (the keeper's end-of-day run).
    /// @return finished True if this page finished the revaluation.
    function revalue(address member, uint256 maxItems) external returns (bool finished);

    // ─── Default fund hooks ──────────────────────────────────────────────────────────────────
    /// @notice Waterfall layer 1 for a loss of `member` caused by `wallet`'s obligations: take up
    /// to `amount` in cash and send it to `to`, from the client account `wallet` trades for (if
    /// it is one of `member`'s), then from `member`'s house account; never from another client
    /// account (segregation). From each: its cash collateral, then the proceeds of its
    /// securities collateral sold on the liquidation market at no less than the settlement
    /// price less the haircut per unit (rounded down), only as many units as needed. Default
    /// fund only.
    /// @return taken Cash base units sent.
    function seizeMargin(address member, address wallet, uint256 amount, address to) external returns (uint256 taken);
    /// @notice Send a defaulter's leftover collateral to `to` (its estate) when its default is
    /// closed: all its house cash and, if `withSecurities`, its securities collateral lines, the
    /// first `MAX_BATCH` at once and the rest by `releaseRemainingCollateral`. Its omnibus
    /// account's collateral too, cash and securities (its clients', for their account), unless
    /// every omnibus client was ported to one member (then it follows them:
    /// `portOmnibusCollateral`). Default fund only; `member` must be flagged in default.
    /// @return cashReturned Cash base units sent.
    function releaseCollateral(address member, address to, bool withSecurities) external returns (uint256 cashReturned);
    /// @notice Send up to `maxLines` more of a released defaulter's securities collateral lines
    /// to the estate `releaseCollateral` named: `member` its house, or its omnibus account
    /// (`omnibusAccountOf(member)`). Anyone may call.
    /// @return done True once every line is sent.
    function releaseRemainingCollateral(address member, uint256 maxLines) external returns (bool done);
    /// @notice Collective porting of a defaulter's omnibus account: once every omnibus client of
    /// `member` (flagged in default) has been ported, all to one member (`DefaultFund.portClients`
    /// to the backup), the commingled omnibus collateral follows them into that member's omnibus
    /// account: all its cash (with the interest it has earned and not been paid) at the first
    /// call, and up to `maxLines` securities collateral lines per call, from where the last call
    /// stopped (each valued afresh in its new account). Anyone may call. Refused while a client is left
    /// (`OmnibusClientsLeft`: that collateral still answers for it), and if none was ported during
    /// the default or they went to different members (`OmnibusNotPorted`).
    /// @return done True once every line has moved.
    function portOmnibusCollateral(address member, uint256 maxLines) external returns (bool done);
    /// @notice Flag `member` in default. Default fund only.
    function flagDefault(address member) external;
    /// @notice Clear `member`'s default flag when the default fund cures its default (the
    /// fund checks the conditions). Default fund only.
    function clearDefault(address member) external;
    /// @notice Record whether each member's default fund contribution is fully paid (read by
    /// the gate). Default fund only.
    function setContributionStatus(address[] calldata members, bool[] calldata paid) external;

    // ─── Views ───────────────────────────────────────────────────────────────────────────────
    /// @notice `member`'s collateral, requirement, call and flags.
    function marginStatus(address member) external view returns (MarginStatus memory);
    /// @notice True if `member` has a margin call still short after its deadline.
    function callOverdue(address member) external view returns (bool);
    /// @notice The margin account `member`'s revaluation: in progress, its margin day, positions
    /// and lines done so far, and the steps a whole revaluation takes (its wallets' positions, a
    /// wallet without positions counting one, plus collateral lines).
    function revaluationOf(address member)
        external
        view
        returns (bool running, uint32 day, uint256 done, uint256 items);
    /// @notice `account`'s positions (a member's house account or a client) as last revalued:
    /// security ids, net quantities, resting buy and sell quantities.
    function positionsOf(address account)
        external
        view
        returns (uint256[] memory securityIds, int256[] memory quantities, uint256[] memory openBuys, uint256[] memory openSells);
    /// @notice `member`'s margin accounts: its house account (its own address) first, then its
    /// client accounts (individually segregated clients and its omnibus account).
    function accountsOf(address member) external view returns (address[] memory);
    /// @notice The wallets whose positions count for `account`: its own address first, then
    /// the wallets trading for it (an omnibus account's clients).
    function walletsOf(address account) external view returns (address[] memory);
    /// @notice The margin account `walletOrAccount` trades for (or is), the clearing member that
    /// answers for it, and its segregation (None: a house account). `UnknownAccount` otherwise.
    function accountOf(address walletOrAccount)
        external
        view
        returns (address account, address member, Segregation segregation);
    /// @notice `member`'s omnibus client account (an address derived from the member's).
    function omnibusAccountOf(address member) external pure returns (address);
    /// @notice `securityId`'s shock vector (bps).
    function scenariosOf(uint256 securityId) external view returns (int16[] memory);
    /// @notice `securityId`'s settlement price, its day, and its haircut.
    function securityRisk(uint256 securityId) external view returns (uint256 price, uint32 day, uint16 haircutBps);
    /// @notice IM of `member`'s positions (all its accounts) as a revaluation would compute it
    /// now (no state change; a view over every position, for clients and tests).
    function previewInitialMargin(address member) external view returns (uint256);
    /// @notice Units of `securityId` `member` holds as collateral.
    function collateralUnits(address member, uint256 securityId) external view returns (uint256);
    /// @notice The market layer 1 sells securities collateral on (zero: none).
    function liquidationMarket() external view returns (address);
    /// @notice The member's next `FundTransfer` nonce.
    function transferNonce(address member) external view returns (uint256);
    /// @notice Scenario count, confidence (bps), horizon (days), call window (seconds).
    function marginModel() external view returns (uint8 scenarios, uint16 confidenceBps, uint8 horizonDays, uint32 callWindow);
}
