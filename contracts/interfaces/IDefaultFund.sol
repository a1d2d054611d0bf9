// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDefaultHandler} from "./IDefaultHandler.sol";

/// @notice Waterfall layers, in order (names as in `smartccp.risk.waterfall.LAYERS`).
enum Layer {
    DefaulterMargin,
    DefaulterFund,
    SkinInTheGame,
    SurvivorFund,
    Assessments,
    Uncovered
}

/// @notice Why a member was declared in default.
enum DefaultReason {
    None,
    MissedMarginCall,
    MissedTopUp,
    SettlementShortfall,
    Declared
}

/// @title IDefaultFund — default fund contributions, the default waterfall and default
/// management (F9, F12), and the CCP's default handler (IDefaultHandler)
/// @notice
/// CONTRIBUTIONS. Sized off chain by cover 2 (`smartccp.risk.default_fund`) and published per
/// member by the risk role as its required contribution. A member below its requirement gets a
/// top-up call with a deadline; the gate refuses its orders until it is paid
/// (`ContributionNotPaid`). Only the excess over the requirement can be withdrawn.
///
/// DEFAULT. Declared on a margin call missed past its deadline, a top-up missed past its
/// deadline (anyone may trigger both), a settlement shortfall the CCP charges to the member
/// (`coverShortfall`), or by the default manager. Declaring suspends the member in the register,
/// so its resting orders stop matching and the gate refuses its clients' orders.
///
/// CLOSE-OUT. Market close-out through the CCP: the defaulter's unsettled obligations fail their
/// pay-in (it is suspended and its cash is in margin), the CCP sells out what it bought and buys
/// in what it sold on its close-out market (F7), and charges the remaining cash shortfall here.
/// The loss of a default is the sum of those charges.
///
/// WATERFALL, run on each charge, every layer used emitting `LayerUsed`: (1) the defaulter's
/// whole margin — its cash collateral, then its securities collateral sold on Margin's
/// liquidation market at no less than the haircut value per unit (`IMargin.seizeMargin`), (2)
/// its own contribution, (3) the CCP's skin in the game, (4) the survivors' contributions pro
/// rata to their balances, and (5) assessments on the survivors pro rata to their required
/// contributions, capped at `capBps` per unit required per default episode — called, paid later
/// to the CCP — and (6) the residual recorded as uncovered. Layers 1-4 are transferred to the
/// CCP before `coverShortfall` returns. Layer totals equal
/// `smartccp.risk.waterfall.run_waterfall` for the same losses.
///
/// ANY NUMBER OF MEMBERS. Layers 4 and 5 cost the same with 20 or 2,000 fund members: they move
/// two indices (`SurvivorsCharged`, `SurvivorsAssessed`) and each survivor's balance reads them
/// when it is next settled (`smartccp.risk.fund_ledger` is the exact model). Layer 4 multiplies
/// the index of a unit contributed by `(pool - used) / pool`, rounded down; a survivor's
/// balance is `floor(paid * index / index when booked)`. Layer 5 raises the rate per unit of
/// required contribution by `ceil(used / required total)`; a survivor owes
/// `ceil(required * rise)`. So every survivor loses at least its exact pro-rata share (rounding
/// against the members, never the CCP; the rounding dust stays in the fund's pool). Settling a
/// survivor (`settleMember`, `settleMembers` in pages: anyone, e.g. the keeper after a
/// default; also any contribution, withdrawal, assessment payment or declaration touching it)
/// books its balance (`SurvivorCharged`), its assessment (`AssessmentCalled`), and, if it is now
/// short, a top-up call whose deadline runs from the latest charge (not from the settlement)
/// and the gate's unpaid flag. `contributionOf`, `assessmentDue` and `topUpDeadline` read the indices,
/// so they are current before settlement; the gate refuses a charged member's orders only once
/// it is settled.
/// Replenishment: survivors charged in layer 4 get top-up calls; the skin in the game is
/// replenished with `fundSkinInTheGame`.
///
/// CURE. A default whose loss the defaulter's own margin covered in full (nothing beyond layer 1:
/// no one else paid) can be ended without expulsion once the member has made good:
/// `cureDefault` (default manager) requires the case open, no margin call and posted >= IM + VM
/// at a fresh `refreshMargin`, and the contribution paid; it deletes the case (`defaultOf` reads
/// None again: the member is a survivor for later defaults, a new default opens a new case),
/// clears Margin's default flag and reinstates the member in the register if the fund had
/// suspended it. The cured case stays in `DefaultCured` and in the layer totals.
///
/// CLOSING. `closeDefault` sends the defaulter's leftovers (cash margin, securities collateral
/// if its margin covered its whole loss, the rest of its own contribution) to the estate named
/// with `setEstate`, if any, then expels it.
interface IDefaultFund is IDefaultHandler {
    // ─── Events ──────────────────────────────────────────────────────────────────────────────
    /// @notice `member`'s required contribution was set.
    event ContributionRequired(address indexed member, uint256 required);
    /// @notice `member` paid `amount` into its contribution (now `paid`).
    event ContributionPaid(address indexed member, uint256 amount, uint256 paid);
    /// @notice `member` withdrew `amount` of its contribution's excess.
    event ContributionWithdrawn(address indexed member, uint256 amount);
    /// @notice Interest on `member`'s contribution paid to it by the CCP's interest account.
    event ContributionInterestPaid(address indexed member, uint256 amount);
    /// @notice The interest account could not pay `amount` of `member`'s interest: it stays owed.
    event ContributionInterestUnpaid(address indexed member, uint256 amount);
    /// @notice `member` must top up its contribution by `amount` before `deadline`.
    event TopUpCalled(address indexed member, uint256 amount, uint64 deadline);
    /// @notice The CCP's own capital in the waterfall changed to `balance`.
    event SkinInTheGameFunded(uint256 amount, uint256 balance);
    /// @notice Parameters changed.
    event FundParametersSet(uint16 assessmentCapBps, uint32 topUpWindow);
    /// @notice `backup` takes `member`'s clients if `member` defaults.
    event BackupMemberSet(address indexed member, address indexed backup);
    /// @notice How long after a declaration a defaulter's clients may be ported (seconds).
    event PortWindowSet(uint32 window);
    /// @notice `member` was declared in default.
    event MemberDefaulted(address indexed member, DefaultReason reason);
    /// @notice A waterfall layer was used for `defaulter`'s loss.
    event LayerUsed(address indexed defaulter, Layer indexed layer, uint256 amount);
    /// @notice `member` joined the fund (its first required contribution); `count` members now.
    event FundMemberAdded(address indexed member, uint256 count);
    /// @notice Layer 4 charge number `charge` took `amount` from the survivors' pool, leaving
    /// `pool`; the index of a unit contributed is now `index` at `scale`.
    event SurvivorsCharged(uint64 indexed charge, uint256 amount, uint256 pool, uint256 index, uint256 scale);
    /// @notice Layer 5 called `amount` from the survivors in `episode`; `rate` per unit of
    /// required contribution (1e27 = one) is now called in the episode.
    event SurvivorsAssessed(uint64 indexed episode, uint256 amount, uint256 rate);
    /// @notice Settling `member` booked `amount` of layer-4 charges on its contribution.
    event SurvivorCharged(address indexed member, uint256 amount);
    /// @notice Settling `member` booked `amount` of layer-5 assessments (payable to the CCP).
    event AssessmentCalled(address indexed member, uint256 amount);
    /// @notice `member` paid `amount` of its assessment to the CCP.
    event AssessmentPaid(address indexed member, uint256 amount);
    /// @notice `defaulter`'s shortfall of `amount` was covered by `covered` (the rest called or
    /// uncovered).
    event ShortfallCovered(address indexed defaulter, uint256 amount, uint256 covered);
    /// @notice A client of a defaulter was moved to the backup clearing member.
    event ClientPortedOut(address indexed defaulter, address indexed client, address indexed backup);
    /// @notice The default of `member` is closed (member expelled); `loss` was its total charge.
    event DefaultClosed(address indexed member, uint256 loss);
    /// @notice `estate` receives `member`'s leftover collateral and contribution when its default
    /// is closed.
    event EstateSet(address indexed member, address indexed estate);
    /// @notice A closed default's leftovers went to its estate: `marginCash` of cash collateral
    /// (securities in Margin's events) and `contribution` of its default fund contribution.
    event LeftoverReturned(address indexed member, address indexed estate, uint256 marginCash, uint256 contribution);
    /// @notice `member`'s default (`reason`, total `loss` charged, all covered by its own margin)
    /// was cured: the case is deleted, the member's default flag cleared and, if the fund had
    /// suspended it, the member reinstated.
    event DefaultCured(address indexed member, DefaultReason reason, uint256 loss);
    /// @notice A new default episode started: assessment caps are available again.
    event EpisodeStarted(uint64 episode);
    /// @notice Cash lent to the CCP for a buy-in whose funding a failing payer still owes
    /// (`outstanding` after the loan).
    event LiquidityLent(uint256 amount, uint256 outstanding);
    /// @notice Lent cash came back: repaid by the CCP, or set off against a payment the fund
    /// owed the CCP in the waterfall (`setOff`).
    event LiquidityReturned(uint256 amount, bool setOff, uint256 outstanding);
    /// @notice Cash lent to the default-management account (`to`) until a close-out's proceeds
    /// arrive in a later cycle than the lot's own (`outstanding` after the loan).
    event BridgeLent(address indexed to, uint256 amount, uint256 outstanding);
    /// @notice A bridge loan came back from `from` (`outstanding` after it).
    event BridgeRepaid(address indexed from, uint256 amount, uint256 outstanding);
    /// @notice `member` gave notice to leave the fund; it may complete from `completesAt`.
    event ResignationStarted(address indexed member, uint64 completesAt);
    /// @notice `member` left the fund; its contribution `returned` was paid back.
    event Resigned(address indexed member, uint256 returned);
    /// @notice The notice a resigning member gives is now `period` seconds.
    event CoolingOffSet(uint32 period);
    /// @notice A recovery on `defaulter`'s case returned `amount` to `layer` (layers in reverse
    /// order of use: survivors, skin in the game, the defaulter's own contribution).
    event LayerRecovered(address indexed defaulter, Layer indexed layer, uint256 amount);
    /// @notice Layer 4 refunded in O(1): the index of a unit contributed rose to `index` (at
    /// `scale`), the pool to `pool`; balances are read at the new index when next settled.
    event SurvivorsRefunded(uint64 indexed charge, uint256 amount, uint256 pool, uint256 index, uint256 scale);
    /// @notice A survivor's balance rose by `amount` from refunds since it was last settled.
    event SurvivorRefunded(address indexed member, uint256 amount);

    // ─── Errors ──────────────────────────────────────────────────────────────────────────────
    /// @notice `caller` is not the CCP.
    error OnlyCcp(address caller);
    /// @notice `caller` is not the margin contract.
    error OnlyMargin(address caller);
    /// @notice `member` has no contribution requirement (not a fund member).
    error NotFundMember(address member);
    /// @notice `member` is not in default.
    error NotInDefault(address member);
    /// @notice A shortfall of `account`, which no member answers for (a system account: the
    /// default-management account, a close-out market): no layer of the waterfall is used for
    /// it; the CCP defers the pay-outs it cannot make.
    error NoMemberToCharge(address account);
    /// @notice `member` is already in default.
    error AlreadyInDefault(address member);
    /// @notice Nothing makes `member` defaultable now (no overdue call or top-up).
    error NoDefaultEvent(address member);
    /// @notice `client` does not clear through `defaulter`.
    error NotClientOf(address client, address defaulter);
    /// @notice No backup clearing member designated for `member`.
    error NoBackupMember(address member);
    /// @notice `member` has `available` where `requested` is asked for.
    error InsufficientContribution(address member, uint256 available, uint256 requested);
    /// @notice `member` has no interest on its contribution to claim.
    error NoInterestAccrued(address member);
    /// @notice Arrays of different lengths, or a batch above `max`.
    error BadBatch(uint256 length, uint256 max);
    /// @notice A zero address or zero amount, or a parameter out of range.
    error BadInput();
    /// @notice `member`'s default is already closed (the member was expelled).
    error DefaultAlreadyClosed(address member);
    /// @notice `beyondMargin` of `member`'s loss was covered by layers beyond its own margin
    /// (others' resources): its default cannot be cured.
    error OthersResourcesUsed(address member, uint256 beyondMargin);
    /// @notice After a refresh `member`'s collateral `posted` does not cover `required` (IM + VM)
    /// or a margin call is open.
    error StillUnderCollateralised(address member, uint256 required, uint256 posted);
    /// @notice `member` has paid `paid` of its required contribution `required`.
    error ContributionUnpaid(address member, uint256 required, uint256 paid);
    /// @notice The fund's cash is lent to the CCP until its settlement cycle ends.
    error FundCashLent(uint256 available, uint256 requested);
    /// @notice `caller` (the risk role) may raise the assessment cap or shorten the top-up
    /// window only; anything else needs the admin (the timelock).
    error FundChangeNeedsAdmin(address caller);
    /// @notice The window to port `defaulter`'s clients ended at `deadline`: the clients still
    /// with it are closed out with its portfolio.
    error PortWindowClosed(address defaulter, uint64 deadline);
    /// @notice `member` has given notice already (completes at `completesAt`) / has not.
    error ResignationPending(address member, uint64 completesAt);
    error NotResigning(address member);
    /// @notice `member`'s notice runs until `completesAt`.
    error CoolingOff(address member, uint64 completesAt);
    /// @notice `member` still has `openObligations` unsettled in the CCP or `margin` required.
    error ExposureOpen(address member, uint256 openObligations, uint256 margin);
    /// @notice `amount` is more than layers 2-5 paid for `defaulter` and recoveries have not yet
    /// returned (`unrecovered`): what is beyond belongs to no layer.
    error RecoveryTooLarge(address defaulter, uint256 amount, uint256 unrecovered);

    // ─── Risk parameters ─────────────────────────────────────────────────────────────────────
    /// @notice Publish required contributions (cover-2 allocation, cash base units). Members
    /// below their new requirement get a top-up call. Risk role.
    function setRequiredContributions(address[] calldata members, uint256[] calldata amounts) external;
    /// @notice Assessment cap (bps of the required contribution, 0 = none) and top-up window
    /// (seconds). The admin (timelock) any; the risk role only a cap not lower and a window not
    /// longer (else `FundChangeNeedsAdmin`).
    function setFundParameters(uint16 assessmentCapBps, uint32 topUpWindow) external;
    /// @notice Set how long after a declaration the defaulter's clients may be ported (seconds,
    /// default one day); after it, default management closes them out with the defaulter's
    /// portfolio. Admin only (the timelock).
    function setPortWindow(uint32 window) external;
    /// @notice Designate `backup` to take `member`'s clients on its default. Default manager.
    function setBackupMember(address member, address backup) external;
    /// @notice Designate the account (an active holder: e.g. the insolvency administrator)
    /// that receives `member`'s leftovers when its default is closed. Admin only (the timelock,
    /// after its delay): the estate receives the member's margin cash and contribution.
    function setEstate(address member, address estate) external;

    // ─── Money in and out ────────────────────────────────────────────────────────────────────
    /// @notice Pay `amount` cash into the caller's contribution (needs allowance).
    function contribute(uint256 amount) external;
    /// @notice Book `amount` cash the margin contract forwarded from `member`'s signed transfer.
    function recordContribution(address member, uint256 amount) external;
    /// @notice Withdraw the excess of the caller's contribution over its requirement.
    function withdrawContribution(uint256 amount) external;
    /// @notice Pay the caller the interest accrued on its contribution, by the CCP's interest
    /// account (`Margin.interestPayer`; if it cannot pay, the interest stays owed:
    /// `ContributionInterestUnpaid`). A contribution earns at the rate published for cash
    /// collateral (`Margin.interestIndex`), on the smaller of its balance as last booked and as
    /// read through the survivors' index (a loss charged meanwhile earns nothing, rounded down:
    /// against the member), accrued at every touch of the member's balance in O(1); nothing while
    /// the member is in default. `NoInterestAccrued` if nothing is owed.
    function claimContributionInterest() external;
    /// @notice `member`'s interest on its contribution, accrued and not yet paid, to now.
    function contributionInterestOf(address member) external view returns (uint256);
    /// @notice Add `amount` of the CCP's own capital (skin in the game; needs allowance).
    function fundSkinInTheGame(uint256 amount) external;
    /// @notice Pay `amount` of the caller's called assessment; the cash goes to the CCP.
    function payAssessment(uint256 amount) external;

    // ─── Default management ──────────────────────────────────────────────────────────────────
    /// @notice Declare in default the clearing member that answers for `account` (the member
    /// itself, one of its client accounts, or a wallet trading for one): anyone if that margin
    /// account's call or the member's top-up is overdue (a client's unmet call is its member's
    /// failure), the default manager at any time. Flags the member in the margin contract and
    /// suspends it.
    function declareDefault(address account) external;
    /// @notice Port up to 50 `clients` of the defaulter to its backup clearing member, which must
    /// have accepted them in the register (`Membership.acceptPortsFrom` / `acceptPort`; else the
    /// register's `PortNotAccepted`, nothing ported), within the port window that opened at the
    /// declaration (`PortWindowClosed` after `portDeadline`).
    function portClients(address defaulter, address[] calldata clients) external;
    /// @notice Close `member`'s default: if an estate is set, send it the defaulter's leftover
    /// margin (cash, and its securities collateral if its margin covered its whole loss) and
    /// what is left of its contribution; then expel it from the register. Default manager.
    function closeDefault(address member) external;
    /// @notice Give notice to leave the fund (the caller, a fund member not in default). During
    /// the cooling-off period its contribution stays in the survivors' layers (it answers for
    /// defaults declared meanwhile).
    function resign() external;
    /// @notice Complete `member`'s resignation once its notice has run, its house account has no
    /// unsettled obligation in the CCP and no margin required (refreshed here): it leaves layers 4
    /// and 5, its contribution (what defaults left of it) is paid back, its requirement is zero,
    /// and the gate refuses its orders from now (contribution status unpaid). Anyone.
    function completeResignation(address member) external;
    /// @notice Set the notice period of a resignation (default 30 days). Admin.
    function setCoolingOff(uint32 period) external;
    /// @notice Return `amount` of cash recovered on `defaulter`'s case (anyone may pay it in:
    /// the default manager's gains of the defaulter's house, a recovery from the estate) to the
    /// layers it paid, in reverse order of use: the survivors (layers 4 and 5 together, pro
    /// rata to their balances through the index, rounded down), then the skin in the game, then
    /// the defaulter's own contribution (to its estate once the case is closed). At most what
    /// layers 2-5 paid and is not yet recovered (`RecoveryTooLarge`); pulled from the caller.
    function recoverLoss(address defaulter, uint256 amount) external;
    /// @notice Withdraw `amount` of the fund's cash credit in the CCP (bridge refunds of buy-ins)
    /// and return it to the layers of `defaulter`'s case, as `recoverLoss`. Default manager.
    function recoverCcpCredit(address defaulter, uint256 amount) external;
    /// @notice Lend the caller (the default-management account) up to `amount` cash base units
    /// to pay a cycle's cash before a close-out's proceeds arrive in a later one; transferred
    /// before returning. Kept apart from the CCP's buy-in loans (`liquidityLent`), never set off.
    /// DEFAULT_MANAGEMENT_ROLE.
    /// @return lent What was transferred (less than `amount` if the fund holds less).
    function lendBridge(uint256 amount) external returns (uint256 lent);
    /// @notice Take back up to `amount` of the bridge lent to the caller, by `transferFrom` on its
    /// allowance (at most what is outstanding). DEFAULT_MANAGEMENT_ROLE.
    function repayBridge(uint256 amount) external;
    /// @notice Bridge loans outstanding (`lendBridge`).
    function bridgeLent() external view returns (uint256);
    /// @notice Cure `member`'s open default without expulsion: only if no layer beyond its own
    /// margin was used, its margin is sufficient after a `refreshMargin` (no call, posted >=
    /// IM + VM) and its contribution is paid. Deletes the case, clears Margin's default flag,
    /// reinstates the member if the fund suspended it. Default manager.
    function cureDefault(address member) external;
    /// @notice Start a new default episode (assessment caps reset). Default manager.
    function startEpisode() external;
    /// @notice Book layers 4 and 5 on `member` since it was last settled (see ANY NUMBER OF
    /// MEMBERS). Anyone; `NotFundMember` if it never had a requirement.
    function settleMember(address member) external;
    /// @notice Settle fund members `start` to `start + count - 1` (fewer at the end of the list);
    /// returns where the next page starts (`memberCount()` when done). Anyone; `BadInput` for
    /// `count` 0 or `start` past the end.
    function settleMembers(uint256 start, uint256 count) external returns (uint256 next);

    // ─── Views ───────────────────────────────────────────────────────────────────────────────
    /// @notice `member`'s required and paid contribution (paid at the current index: current
    /// before the member is settled).
    function contributionOf(address member) external view returns (uint256 required, uint256 paid);
    /// @notice Every fund member, in the order they joined (see `membersPage` for large funds).
    function members() external view returns (address[] memory);
    /// @notice Number of fund members (expelled ones included: they keep their place).
    function memberCount() external view returns (uint256);
    /// @notice Fund members `start` to `start + count - 1`, fewer at the end of the list.
    function membersPage(uint256 start, uint256 count) external view returns (address[] memory);
    /// @notice Layers 4 and 5 now: the survivors' pool (their contributions as booked, the
    /// rounding dust their balances lost included), their total required contribution, the
    /// index of a unit contributed (1e36 at scale 0) and its scale, and the assessment rate per
    /// unit required called in the current episode (1e27 = one).
    function survivorPool()
        external
        view
        returns (uint256 pool, uint256 requiredTotal, uint256 index, uint256 scale, uint256 assessRate);
    /// @notice The CCP's skin in the game available now.
    function skinInTheGame() external view returns (uint256);
    /// @notice `member`'s default: reason (None if not in default), total loss charged, closed.
    function defaultOf(address member) external view returns (DefaultReason reason, uint256 loss, bool closed);
    /// @notice Assessment called and unpaid of `member`.
    function assessmentDue(address member) external view returns (uint256);
    /// @notice Total per layer used so far (index = Layer).
    function layerTotals() external view returns (uint256[6] memory);
    /// @notice Where `member`'s leftovers go when its default is closed (zero: they stay booked).
    function estateOf(address member) external view returns (address);
    /// @notice What layers 2-5 paid for `defaulter` and recoveries have not yet returned: the
    /// survivors' (layers 4 and 5), the skin in the game's, and its own contribution's.
    function unrecovered(address defaulter) external view returns (uint256 survivors, uint256 skin, uint256 own);
    /// @notice End of the window to port `member`'s clients (0: never declared in default).
    function portDeadline(address member) external view returns (uint64);
    /// @notice `member`'s top-up deadline (0: none).
    function topUpDeadline(address member) external view returns (uint64);
}
