// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ISettlement} from "./ISettlement.sol";

/// @notice Where a settlement cycle is. Unknown: no trade was ever novated into it.
/// Open: trades are being netted (until its settlement date ends). PayingIn (units, each
/// account's cash summed), PayingInCash (one net cash debit per account), ClosingOut, PayingOut
/// (units, one net cash credit per account): `settleCycle` is working through the obligation
/// list. Settled: final.
enum CyclePhase {
    Unknown,
    Open,
    PayingIn,
    PayingInCash,
    ClosingOut,
    PayingOut,
    Settled
}

/// @notice Clearing rules of one security, set by the operator. One slot.
/// `cleared`: trades may be novated to the CCP. `settlementLag`: T+N in cycles (0 = T+0).
/// `noNakedShort`: a seller's net delivery in a cycle must be covered by holdings or pre-funding
/// at novation. `prefundClasses`: bit `k` set = buyers of MemberKind `k` must have pre-funded
/// the full cash of their buys. `closeOutBandBps`: sell-outs and buy-ins may not trade further
/// than this from the obligation's average price (0 = no limit). `failRolls`: how many times a
/// failed delivery rolls into the next open cycle's net, as NSCC's CNS does, before it is bought
/// in (0 = bought in at once; at most MAX_SETTLEMENT_LAG).
struct SecurityRules {
    bool cleared;
    bool noNakedShort;
    uint8 prefundClasses;
    uint16 settlementLag;
    uint16 closeOutBandBps;
    uint8 failRolls;
}

/// @notice One open obligation a default-management case took over (`takeOverObligations`):
/// its cycle and the amounts moved (sign convention of `obligation`).
struct MovedObligation {
    uint64 cycleId;
    int256 quantity;
    int256 cashAmount;
}

/// @notice An account's unsettled net obligation in one security over the open cycles
/// `[today - 1, today + lag]` (settled cycles skipped), as margin reads it: `quantity` and
/// `cashAmount` summed (sign convention of `obligation`), `traded` the part in the trading cycle
/// `tradingCycle = today + lag` (where today's fills go).
struct OpenObligation {
    int256 quantity;
    int256 cashAmount;
    int256 traded;
    uint64 tradingCycle;
}

/// @title ICCPSettlementEvents — the CCP's events and errors
/// @notice Apart from the functions, so that the CCP's storage base (CCPBase) and its cycle
/// settlement module (CCPCycleSettlement, run by delegatecall) emit and revert with them.
interface ICCPSettlementEvents {
    // ─── Events ──────────────────────────────────────────────────────────────────────────────
    /// @notice The clearing rules of `securityId` were set.
    event SecurityRulesSet(uint256 indexed securityId, SecurityRules rules);
    /// @notice The market used for sell-outs and buy-ins was set.
    event CloseOutMarketSet(address indexed market);
    /// @notice The risk-layer contract that covers shortfalls was set.
    event DefaultHandlerSet(address indexed handler);
    /// @notice The risk layer's liquidation market the CCP admits as a party of direct fills
    /// while it charges a shortfall (zero: none).
    event LiquidationMarketSet(address indexed market);
    /// @notice A direct trade settled gross, delivery versus payment.
    event TradeSettledDirect(
        address indexed venue,
        uint256 indexed tradeId,
        address indexed buyer,
        address seller,
        uint256 securityId,
        uint256 quantity,
        uint256 cashAmount
    );
    /// @notice One leg of a novated trade: `account` against the CCP. `quantity` > 0 buys
    /// (receives) securities, `cashAmount` > 0 receives cash.
    event TradeNovated(
        bytes32 indexed legId,
        address indexed account,
        uint256 indexed securityId,
        int256 quantity,
        int256 cashAmount,
        uint64 cycleId
    );
    /// @notice A cycle moved to `phase`.
    event CyclePhaseChanged(uint64 indexed cycleId, CyclePhase phase);
    /// @notice `account` paid in for its obligation (units; `cashAmount` and `cashShort` zero), or
    /// for its cash leg (`securityId` 0: the net cash of all its securities); a short > 0 = failed.
    event ObligationPaidIn(
        uint64 indexed cycleId,
        address indexed account,
        uint256 indexed securityId,
        uint256 securities,
        uint256 cashAmount,
        uint256 securitiesShort,
        uint256 cashShort
    );
    /// @notice The CCP paid out an obligation's units, a close-out's surplus, or (`securityId` 0)
    /// the net cash credit of the account's cash leg to `account`'s wallet.
    event ObligationPaidOut(
        uint64 indexed cycleId, address indexed account, uint256 indexed securityId, uint256 securities, uint256 cashAmount
    );
    /// @notice A pay-out could not be made to the wallet (receiver refused, inactive, or the CCP
    /// was short); it was credited to `account`'s balance in the CCP instead, to withdraw later.
    event PayOutDeferred(
        uint64 indexed cycleId, address indexed account, uint256 indexed securityId, uint256 securities, uint256 cashAmount
    );
    /// @notice Sell-out: withheld securities of `account` (a buyer that did not pay) were sold.
    event SoldOut(
        uint64 indexed cycleId, address indexed account, uint256 indexed securityId, uint256 offered, uint256 sold, uint256 proceeds
    );
    /// @notice Buy-in: securities `account` (a seller) did not deliver were bought in.
    event BoughtIn(
        uint64 indexed cycleId, address indexed account, uint256 indexed securityId, uint256 wanted, uint256 bought, uint256 cost
    );
    /// @notice A cash shortfall after close-out was charged to `clearingMember` via the handler.
    event ShortfallCharged(
        uint64 indexed cycleId, address indexed account, address indexed clearingMember, uint256 shortfall, uint256 covered
    );
    /// @notice A buy-in needed cash the pool lacked (a buyer of the cycle that failed to pay is
    /// charged only at its sell-out, later): `amount` was borrowed from the default handler.
    event LiquidityBorrowed(uint64 indexed cycleId, uint256 amount);
    /// @notice Borrowed liquidity came back to the handler, repaid at the cycle's end or set off
    /// against a shortfall it covered; `outstanding` is what the cycle still owes it.
    event LiquidityRepaid(uint64 indexed cycleId, uint256 amount, uint256 outstanding);
    /// @notice Every obligation of the cycle was paid in, closed out and paid out.
    event CycleSettled(uint64 indexed cycleId, uint256 obligations, uint256 failures);
    /// @notice `account` pre-funded (positive) or withdrew (negative) cash held by the CCP.
    event CashPrefunded(address indexed account, int256 amount);
    /// @notice `account` pre-funded (positive) or withdrew (negative) securities held by the CCP.
    event SecuritiesPrefunded(address indexed account, uint256 indexed securityId, int256 amount);

    // ─── Errors ──────────────────────────────────────────────────────────────────────────────
    /// @notice `caller` is not a registered venue.
    error UnauthorisedVenue(address caller);
    /// @notice A trade of zero quantity.
    error ZeroQuantity(uint256 tradeId);
    /// @notice A trade at a price of zero.
    error ZeroPrice(uint256 tradeId);
    /// @notice `cashAmount` differs from quantity * price = `expected`.
    error CashAmountMismatch(uint256 tradeId, uint256 cashAmount, uint256 expected);
    /// @notice Buyer and seller are the same account.
    error SelfTrade(uint256 tradeId, address account);
    /// @notice The zero address was given.
    error ZeroAddress();
    /// @notice `securityId` is not set up for CCP clearing.
    error SecurityNotCleared(uint256 securityId);
    /// @notice The deadline's cycle `cycleId` is before `earliest` (T+lag) or after `latest`.
    error SettlementCycleOutOfRange(uint256 securityId, uint64 cycleId, uint64 earliest, uint64 latest);
    /// @notice No short sale without holdings: `seller` must deliver `required` of `securityId`
    /// but holds and pre-funded only `available`.
    error NakedShortSale(address seller, uint256 securityId, uint256 required, uint256 available);
    /// @notice `buyer` must pre-fund `required` cash for its buys but pre-funded `available`.
    error CashNotPrefunded(address buyer, uint256 required, uint256 available);
    /// @notice No trade was ever novated into `cycleId`.
    error UnknownCycle(uint64 cycleId);
    /// @notice `cycleId` can be settled only from `settlesFrom` (unix seconds); now is `nowTime`.
    error CycleNotDue(uint64 cycleId, uint64 settlesFrom, uint256 nowTime);
    /// @notice `cycleId` is already settled: nothing changed.
    error CycleAlreadySettled(uint64 cycleId);
    /// @notice The settlement of `settlingCycle` has started and not finished: one cycle settles
    /// at a time (the accounts' cash legs use one slot each). Finish it first; nothing changed.
    error AnotherCycleSettling(uint64 settlingCycle);
    /// @notice A batch size of zero.
    error ZeroBatch();
    /// @notice An amount of zero.
    error ZeroAmount();
    /// @notice `account` has `available` where `requested` is needed.
    error InsufficientPrefund(address account, uint256 available, uint256 requested);
    /// @notice Pre-funded balances are locked while `account` has `openObligations` unsettled.
    error PrefundLocked(address account, uint256 openObligations);
    /// @notice Rules for a security id of zero or above 2^88, a settlement lag, close-out band or
    /// number of fail rolls out of bounds.
    error InvalidRules(uint256 securityId, uint16 settlementLag, uint16 closeOutBandBps);
    /// @notice The CCP accepts ERC-1155 transfers only that it initiated or from its close-out
    /// market; `operator` is neither.
    error UnexpectedTransfer(address operator);
    /// @notice The operator may list a security (first rules) or make its rules stricter only
    /// (stop clearing, no naked short, more pre-funded classes; lag and band unchanged): any
    /// other change of `securityId`'s rules needs the admin (the timelock, after its delay).
    error RulesChangeNeedsAdmin(uint256 securityId);
    /// @notice Default management may move an obligation only while its cycle is open (listed,
    /// settlement not started).
    error CycleNotOpen(uint64 cycleId, CyclePhase phase);
    /// @notice `account` has no obligation in `securityId` in `cycleId` to move.
    error NoObligation(uint64 cycleId, uint256 securityId, address account);
    /// @notice Default management moved (part of) an open obligation from one account to
    /// another (taken over from a defaulter, awarded to an auction's winner); the cycle's net
    /// sums are unchanged, so the CCP's books stay flat.
    event ObligationMoved(
        uint64 indexed cycleId,
        uint256 indexed securityId,
        address indexed from,
        address to,
        int256 quantity,
        int256 cashAmount
    );
    /// @notice A market claim joined `account`'s obligation in `securityId` of `cycleId` at pay-in:
    /// `cashAmount` (its net quantity times the distributions per unit whose record date fell
    /// between the trades and the settlement): a net buyer is owed it, a net seller pays it.
    event MarketClaimBooked(uint64 indexed cycleId, address indexed account, uint256 indexed securityId, int256 cashAmount);
    /// @notice The distributions contract read for market claims (zero: none).
    event DistributionsSet(address indexed distributions);
    /// @notice Of the units `account` receives in `receiveCycle` of `securityId`, `quantity` will
    /// stay in its pre-funded custody at pay-out for its delivery in the later `deliverCycle`
    /// (whose pay-in takes pre-funded units first): they never leave the CCP.
    event ObligationsCompressed(
        address indexed account,
        uint256 indexed securityId,
        uint64 receiveCycle,
        uint64 deliverCycle,
        uint256 quantity
    );
    /// @notice `account` has no units left to receive in `receiveCycle` and deliver in
    /// `deliverCycle` (a later cycle) of `securityId` that are not compressed already.
    error NothingToCompress(address account, uint256 securityId, uint64 receiveCycle, uint64 deliverCycle);
    /// @notice Only the account, the clearing member paying for it, or an OPERATOR_ROLE holder
    /// may compress its obligations.
    error NotCompressor(address caller, address account);
    /// @notice A coupon or dividend of `securityId` has a record date still to come: units kept in
    /// the CCP's custody over it would be entitled in the CCP's name, so compression waits.
    error RecordDateAhead(uint256 securityId);
    /// @notice The source of the rate on pre-funded cash (Margin: its interest index and account).
    event InterestSourceSet(address indexed source);
    /// @notice Interest on `account`'s pre-funded cash paid by the interest account.
    event PrefundInterestPaid(address indexed account, uint256 amount);
    /// @notice The interest account could not pay `amount` (or the account cannot receive it):
    /// it stays owed.
    event PrefundInterestUnpaid(address indexed account, uint256 amount);
    /// @notice `account` has no interest accrued on pre-funded cash to claim.
    error NoInterestAccrued(address account);
    /// @notice A failed delivery rolled into the next open cycle's net instead of being bought
    /// in (the security's `failRolls`): `account` now delivers `units` more in `toCycle` and is
    /// paid the `cashAmount` its short delivery withheld in `cycleId` (kept in the CCP's custody
    /// meanwhile, corrected for market claims the later cycle books again); `age` counts the
    /// rolls of this fail.
    event DeliveryRolled(
        uint64 indexed cycleId,
        uint64 toCycle,
        address indexed account,
        uint256 indexed securityId,
        uint256 units,
        int256 cashAmount,
        uint8 age
    );
    /// @notice A receipt the pool could not pay out because a delivery rolled: `account`
    /// receives `units` more in `toCycle` (already paid for in `cycleId`), `cashAmount` being
    /// the market-claim correction of the roll.
    event ReceiptRolled(
        uint64 indexed cycleId,
        uint64 toCycle,
        address indexed account,
        uint256 indexed securityId,
        uint256 units,
        int256 cashAmount
    );
}

/// @title ICCPSettlement — novation, multilateral netting per cycle, DVP, sell-out and buy-in (F6, F7)
/// @notice
/// ROUTES. A registered venue hands every match to `settle`. `Route.Direct`: gross delivery
/// versus payment between buyer and seller at once (both approved this contract), all or
/// nothing. `Route.Ccp`: NOVATION — the trade becomes two legs, buyer/CCP and CCP/seller, each
/// with its own id and a `TradeNovated` event naming only that account and the CCP; the legs are
/// netted at once into the cycle's packed position of each account.
///
/// CYCLES. Cycle ids are settlement dates: `cycleId = deadline / cycleLength` (with a cycle
/// length of one day, the number of days since 1970-01-01 UTC of the instruction's deadline).
/// A cycle may be settled by anyone once its date has ended, i.e. from
/// `(cycleId + 1) * cycleLength`. A security with settlement lag N accepts only deadlines whose
/// cycle is at least today's cycle + N and at most `MAX_SETTLEMENT_LAG` cycles ahead; a venue
/// gets the right deadline from `settlementCycle(securityId)`. No trade can enter a cycle after
/// its date has ended, so a cycle's obligation list is final when settlement starts.
///
/// SETTLEMENT (DVP model 3: net securities per security, net cash per account).
/// `settleCycle(cycleId, maxSteps)` in resumable chunks, four walks over the list: (1a) each
/// account delivers its net units of each security, pre-funded first, then from its wallet
/// (approval to the CCP), and each obligation's cash joins the account's one cash leg; (1b) each
/// account pays the net cash debit of its leg across all its securities in one transfer
/// (pre-funded cash first, then the wallet via allowance); partial pay-ins are taken and the rest
/// recorded as shortfalls; a leg's shortfall is charged to the account's obligations that pay
/// cash, in list order; (2) close-out of failed obligations — sell-out of withheld securities for
/// a buyer that did not pay, buy-in with the withheld cash for a seller that did not deliver, any
/// remaining cash shortfall charged to the account's clearing member through the default
/// handler; (3) pay-out of the units of every obligation paid in full and of each account's net
/// cash credit in one transfer. A short delivery withholds its own cash from the account's leg
/// (it pays the buy-in), so units are released only against cash and cash only against units.
/// Events give the cash leg the security id 0. The clearing member is the CCP's counterparty
/// for cash: a client's (a participant's) cash leg is paid in from, and paid out to, its
/// clearing member's wallet (after the client's own pre-funded cash); its units move in its
/// own wallet (direct holding). A client's cash shortfall is its member's.
///
/// PRIVACY. The CCP's events name one account per leg, but the chain still reveals who traded
/// with whom: the venue's match and the `settle` calldata carry both owners and order hashes,
/// both legs are emitted in the same transaction with the same security and magnitudes, and leg
/// ids are derivable from (venue, tradeId). Novation removes the counterparty credit exposure,
/// not the information. What hides the owners is trading from pseudonyms (IPseudonyms, #24): the
/// legs then name addresses nobody can tie to a member or client but the CCP and the regulator.
interface ICCPSettlement is ISettlement, ICCPSettlementEvents {
    // ─── Operator ────────────────────────────────────────────────────────────────────────────
    /// @notice Set the clearing rules of `securityId`. The admin (timelock) any rules; the
    /// operator a security's first rules, or stricter ones (else `RulesChangeNeedsAdmin`).
    function setSecurityRules(uint256 securityId, SecurityRules calldata rules) external;
    /// @notice Admit `market` (e.g. a VenueCloseOut whose client is Margin) as a party of the
    /// direct fills a venue hands back while the CCP charges a shortfall inside `settleCycle`:
    /// layer 1 of the waterfall may sell a defaulter's securities collateral there. Admin only
    /// (the timelock): the market becomes a party the CCP admits inside `settleCycle`.
    function setLiquidationMarket(address market) external;
    /// @notice Set the market for sell-outs and buy-ins (approved for the CCP's securities).
    /// Admin only (the timelock): the market is approved for the CCP's units; zero disables
    /// close-out (failures then go straight to the handler).
    function setCloseOutMarket(address market) external;
    /// @notice Set the risk-layer contract charged with shortfalls (it receives surpluses and
    /// lends the CCP cash). Admin only (the timelock).
    function setDefaultHandler(address handler) external;
    /// @notice Set the distributions contract whose coupons and dividends become market claims:
    /// at pay-in, an obligation's cash moves by its net quantity times the distributions per
    /// unit whose record date lies at or after the end of its trading day and before the pay-in
    /// (the seller held the units then and was paid; the buyer bought them cum). Admin only.
    function setDistributions(address distributions) external;

    // ─── Settlement ──────────────────────────────────────────────────────────────────────────
    /// @notice Work through up to `maxSteps` obligations of `cycleId` (pay-in, then close-out
    /// of failures, then pay-out), from where the last call stopped. Anyone may call once the
    /// cycle's date has ended. Stops early, resumable, when less than `MIN_STEP_GAS` is left.
    /// A cycle holds any number of obligations (one per account and security traded in it): its
    /// cursor and failure indexes are 64-bit, and each call does at most `maxSteps` of them.
    /// @return done True once the cycle is settled.
    function settleCycle(uint64 cycleId, uint256 maxSteps) external returns (bool done);

    // ─── Default management ──────────────────────────────────────────────────────────────────
    /// @notice Move `quantity` units and `cashAmount` cash (sign convention of `obligation`)
    /// of `from`'s obligation in `securityId` in `cycleId` to `to`: a defaulter's obligation to
    /// the default-management account, or a lot to the auction's winner at its bid price (the
    /// cash difference stays with the default-management account). DEFAULT_MANAGEMENT_ROLE only;
    /// the cycle must be open (`CycleNotOpen`) and `from` must have the obligation
    /// (`NoObligation`). Every cycle's net sums are unchanged: the CCP's books stay flat.
    function moveObligation(
        uint64 cycleId,
        uint256 securityId,
        address from,
        address to,
        int256 quantity,
        int256 cashAmount
    ) external;
    /// @notice Move all of `from`'s open obligations in `securityId` (every open cycle from
    /// yesterday's to the security's trading cycle; a cycle already settling is left to its
    /// settlement) to `to`. DEFAULT_MANAGEMENT_ROLE only. Bounded by the security's lag + 2.
    /// @return moved The obligations moved, one per cycle.
    function takeOverObligations(address from, address to, uint256 securityId)
        external
        returns (MovedObligation[] memory moved);

    // ─── Compression ─────────────────────────────────────────────────────────────────────────
    /// @notice Compress `account`'s offsetting obligations in `securityId` across two open
    /// cycles: of the units it receives in `receiveCycle`, as many as it delivers in the later
    /// `deliverCycle` (at most) stay in the CCP at pay-out, in its pre-funded custody, and its
    /// delivery takes them from there: the units' round trip (two transfers) is gone. Obligations,
    /// cash, netting, market claims and margin are exactly as without it; if the receipt is not
    /// paid out (the account failed to pay), nothing is kept and the delivery comes from the
    /// wallet as usual. The reverse (delivering first, receiving later) cannot be compressed
    /// without the CCP lending units. By the account, the clearing member paying for it or an
    /// OPERATOR_ROLE holder, a compression run by rule (`NotCompressor`); both cycles open
    /// (`CycleNotOpen`); no declared record date still to come (`RecordDateAhead`); something
    /// left to compress (`NothingToCompress`).
    /// @return quantity The units compressed.
    function compress(address account, uint256 securityId, uint64 receiveCycle, uint64 deliverCycle)
        external
        returns (uint256 quantity);
    /// @notice Units of `account`'s receipt in `cycleId` of `securityId` kept for later deliveries,
    /// and units of its delivery in `cycleId` that earlier receipts keep for it.
    function compressed(uint64 cycleId, uint256 securityId, address account)
        external
        view
        returns (uint256 keptFromReceipt, uint256 keptForDelivery);

    // ─── Pre-funding ─────────────────────────────────────────────────────────────────────────
    /// @notice Lock `amount` cash in the CCP for the caller's future pay-ins (needs allowance).
    function prefundCash(uint256 amount) external;
    /// @notice Lock `amount` of `securityId` in the CCP for future deliveries (needs approval).
    function prefundSecurities(uint256 securityId, uint256 amount) external;
    /// @notice Withdraw pre-funded (or deferred) cash; only with no unsettled obligation.
    function withdrawCash(uint256 amount) external;
    /// @notice Withdraw pre-funded (or deferred) securities; only with no unsettled obligation.
    function withdrawSecurities(uint256 securityId, uint256 amount) external;

    // ─── Views ───────────────────────────────────────────────────────────────────────────────
    /// @notice Pay the caller the interest its pre-funded cash has earned, from the CCP's
    /// interest account (the interest source's `interestPayer`, which approves this contract); if
    /// it cannot pay, the interest stays owed (`PrefundInterestUnpaid`). Pre-funded cash earns at
    /// the rate published for cash collateral (the source's index), accrued only when the
    /// account touches it (pre-funding, withdrawal, this claim), on the smaller of its balance
    /// as booked at the last touch and its balance now: settlement never accrues, and a pay-in
    /// between two touches earns nothing for the whole period (against the member). Rounded
    /// down. `NoInterestAccrued` if nothing is owed.
    /// @return amount The interest paid (0 when it stays owed).
    function claimPrefundInterest() external returns (uint256 amount);
    /// @notice Set the interest source (Margin), admin only; zero stops accruing (what was
    /// accrued stays owed).
    function setInterestSource(address source) external;
    /// @notice The interest source (zero: none).
    function interestSource() external view returns (address);
    /// @notice Interest `account`'s pre-funded cash has earned and not been paid, to now.
    function prefundInterestOf(address account) external view returns (uint256);
    /// @notice Length of one settlement cycle in seconds (one day in production).
    function cycleLength() external view returns (uint64);
    /// @notice Rolled fails (see `SecurityRules.failRolls`): how many times `account`'s failed
    /// delivery of `securityId` in `cycleId` has rolled into it (0: none); units of the
    /// security `cycleId` still owes receivers because a delivery rolled out of it (zero once
    /// paid out); cash withheld from rolled deliveries that `cycleId` pays (held in custody
    /// until its pay-in).
    function rolledFails(uint64 cycleId, uint256 securityId, address account)
        external
        view
        returns (uint8 age, uint256 undeliveredUnits, uint256 rolledInCash);
    /// @notice The cycle a deadline falls in: `deadline / cycleLength`.
    function cycleOf(uint64 deadline) external view returns (uint64);
    /// @notice The cycle a trade in `securityId` made now settles in (today + lag), and the
    /// deadline a venue should put in its instruction (the end of that date, minus one second).
    function settlementCycle(uint256 securityId) external view returns (uint64 cycleId, uint64 deadline);
    /// @notice Phase, step cursor, number of obligations and of failures of `cycleId`, and the
    /// time from which it may be settled.
    function cycleInfo(uint64 cycleId)
        external
        view
        returns (CyclePhase phase, uint256 cursor, uint256 obligations, uint256 failures, uint64 settlesFrom);
    /// @notice Net obligation of `account` in `securityId` for `cycleId` (sign convention above).
    function obligation(uint64 cycleId, uint256 securityId, address account)
        external
        view
        returns (int256 quantity, int256 cashAmount);
    /// @notice `account`'s unsettled net obligation in each of `securityIds` (see
    /// `OpenObligation`), in one call (a page of the margin revaluation): each cycle's phase is
    /// read once for the whole batch.
    function unsettledObligationsOf(address account, uint256[] calldata securityIds)
        external
        view
        returns (OpenObligation[] memory open);
    /// @notice The module `settleCycle` runs by delegatecall on this contract's storage (it
    /// refuses direct calls): created by the constructor, fixed.
    function cycleSettlementModule() external view returns (address);
    /// @notice The settlement account `account`'s cash leg in the last cycle whose settlement
    /// reached it: `cycleId`, `cash` (> 0: its net credit; < 0: its net debit, after its pay-in
    /// minus the part not paid and not yet charged to an obligation) and `stage` (1 summed in
    /// pass 1a, 2 debit paid in, 3 paid out). An omnibus client's and a desk's cash joins its
    /// member's omnibus account's or house's leg: ask for that account (`OmnibusAccount`), not
    /// the wallet. Before settlement a cycle's legs are the sums of the accounts' obligations'
    /// cash (`smartccp.clearing.ccp.cash_legs`).
    function cashLegOf(address account) external view returns (uint64 cycleId, int256 cash, uint8 stage);
    /// @notice The `index`-th obligation of `cycleId`.
    function obligationAt(uint64 cycleId, uint256 index)
        external
        view
        returns (address account, uint256 securityId, int256 quantity, int256 cashAmount, bool failed);
    /// @notice What the `index`-th obligation of `cycleId` failed to pay in (zero if it did not).
    function shortfallAt(uint64 cycleId, uint256 index) external view returns (uint256 securities, uint256 cashAmount);
    /// @notice Sum of net quantities and net cash in `securityId` over obligations
    /// [start, start+count) of `cycleId` (clipped). Over the whole list both are zero: the CCP is flat.
    function netSums(uint64 cycleId, uint256 securityId, uint256 start, uint256 count)
        external
        view
        returns (int256 quantity, int256 cashAmount);
    /// @notice For venues at order acceptance: reverts `NakedShortSale` unless `seller` holds or
    /// pre-funded `quantity` more of `securityId` than it already must deliver in the current
    /// settlement cycle. Always passes for securities without the rule.
    function checkShortSale(address seller, uint256 securityId, uint256 quantity) external view;
    /// @notice `account`'s cash held by the CCP, the part reserved for pre-funded buys, and the
    /// number of its obligations not yet paid in.
    function prefunded(address account) external view returns (uint256 cashAmount, uint256 reserved, uint256 openObligations);
    /// @notice `account`'s units of `securityId` held by the CCP.
    function prefundedSecurities(address account, uint256 securityId) external view returns (uint256);
    /// @notice Totals the CCP holds for accounts (pre-funded and deferred), cash and `securityId`.
    function custody(uint256 securityId) external view returns (uint256 cashAmount, uint256 securities);
    /// @notice The liquidation market admitted by `setLiquidationMarket` (zero: none).
    function liquidationMarket() external view returns (address);
    /// @notice Cash the CCP borrowed from the default handler for cycle `cycleId`'s buy-ins and
    /// has not yet repaid (zero once the cycle settled, unless the handler's cover fell short).
    function liquidityBorrowed(uint64 cycleId) external view returns (uint256);
    /// @notice The clearing rules of `securityId`.
    function securityRules(uint256 securityId) external view returns (SecurityRules memory);
    /// @notice The close-out market and the default handler.
    function closeOutSetup() external view returns (address market, address handler);
}
