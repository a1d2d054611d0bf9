// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice Where a default-management case stands.
/// None: no case. Open: the case takes over the defaulter's open obligations (house at once,
/// clients not ported once the port window ended). Auction: lots frozen, sealed bids committed
/// until `biddingEnds`, revealed until `revealEnds`, then every lot is awarded or closed out.
/// Closed: every lot disposed and the loss charged through the waterfall.
enum CasePhase {
    None,
    Open,
    Auction,
    Closed
}

/// @notice A lot's fate: Open (in the case), Awarded (novated to the best bidder at its price),
/// ClosedOut (traded away on the venue by the default-management account).
enum LotState {
    Open,
    Awarded,
    ClosedOut
}

/// @notice A sealed bid for a lot (EIP-712, signed by `bidder`, a surviving clearing member):
/// `price` cash base units per unit at which the bidder takes the whole lot over (it buys a lot
/// whose net quantity is positive, sells one whose net quantity is negative). `salt` keeps the
/// commitment (the bid's EIP-712 digest) from revealing the price.
struct Bid {
    address bidder;
    uint256 lot;
    uint64 price;
    uint256 salt;
}

/// @notice One lot: a defaulter's open obligations in one security of one margin account (its
/// house, or a client account not ported), over every open cycle. `quantity` and `cash` are
/// what is still to be disposed of, in the CCP's sign convention (quantity > 0: units to
/// receive; cash > 0: cash to receive); once disposed, `quantity` is 0 and `-cash` is the loss.
struct LotView {
    address defaulter;
    address account;
    uint256 securityId;
    int256 quantity;
    int256 cash;
    LotState state;
    address leader;
    uint64 leadingPrice;
    uint256 legs;
}

/// @title IDefaultManagement — the default-management case: port, take over, auction, close out, charge (F12)
/// @notice From the declaration on, a case owns the defaulter's open obligations in every open
/// cycle and manages them at once, long before they would have settled:
///
/// 1. CLIENTS FIRST. During the port window (`IDefaultFund.portDeadline`) each client account
///    may be ported whole to the backup member that accepted it (`IDefaultFund.portClients`).
/// 2. TAKE OVER. `takeOver` moves a wallet's open obligations in a page of securities to this
///    contract, the default-management account (`ICCPSettlement.takeOverObligations`), into one
///    lot per margin account and security: the house's wallets at once, a client's once the port
///    window ended (it is closed out with the house portfolio, its loss charged to its own account
///    first).
/// 2b. HEDGE. Before the auction the default manager may hedge a lot (`hedge`): the
///    default-management account trades part of it away on the venue, within limits (only
///    reducing it, within a band of the settlement price); the fills become part of the lot.
/// 3. AUCTION. The default manager starts the auction (`startAuction`): surviving clearing members
///    commit sealed bids (`commitBid`: the EIP-712 digest of their signed `Bid`) until
///    `biddingEnds`, then anyone reveals them (`revealBid`) until `revealEnds`. A revealed bid
///    must lie within the band around the last settlement price and pass the bidder's margin
///    gate (`IOrderGate.checkOrder` on its house account: a bid above its margin is refused, an
///    accepted one holds margin like an order). The best price leads (highest for a lot the
///    winner buys, lowest for one it sells; earlier reveal on a tie).
/// 3b. SECOND ROUND. After `revealEnds`, before the lots without an acceptable bid are closed out,
///    the default manager may reopen the bidding for every lot still open (`reopenAuction`), with
///    new windows and band: commitments start afresh, a lot's leader so far stays unless a new
///    bid beats it. Lots already disposed of stay so.
/// 4. DISPOSAL. After `revealEnds`, anyone disposes of each lot (`disposeLot`): awarded to the
///    leader, whose obligations become the lot's at its bid price (`moveObligation`: the legs as
///    the defaulter held them, the earliest adjusted by the loss, which stays here as one
///    cash-only obligation); a lot without an acceptable bid is closed out on the venue by an IOC
///    order of this account at the band's limit (resumable until the lot is gone).
/// 4b. LOSS. A lot's loss is `-cash` once its quantity is gone: what the defaulter owed minus what
///    the winner or the venue pays for the units, i.e. the variation margin at the last
///    settlement price plus the auction's discount to it.
/// 5. CHARGE. Once every lot is disposed, anyone charges each account's losses through the
///    waterfall (`chargeLosses`, in pages; `IDefaultFund.coverShortfall` with the account's
///    wallet, so a client's loss takes its own margin first, then the house's, never another
///    client's; `LayerUsed` per layer). The cash comes here and pays each lot's residual cash
///    obligation (its loss, in its earliest cycle) at settlement. The gains of an account's lots
///    that gained are not netted against its losses (they arrive only when their cycles settle):
///    they are owed to the account and paid into its margin once this account's obligations
///    have settled (`payGain`).
/// 5b. BRIDGE. A lot closed out by a sale that lands in a later cycle than the lot's earliest leg
///    (a position from an earlier day, sold today for today's cycle) leaves this account to pay
///    the lot's cash before the sale's proceeds arrive. The last charge borrows the proceeds
///    still to come from the default fund (`IDefaultFund.lendBridge`, as much as it holds), so
///    the earlier cycle is paid in full; once the latest close-out cycle has settled, anyone
///    repays it from the proceeds (`settleBridge`). A lot to deliver whose cycle settles before
///    its close-out's would need the units lent instead: not built (its delivery fails and the
///    CCP buys in).
interface IDefaultManagement {
    // ─── Events ──────────────────────────────────────────────────────────────────────────────
    /// @notice A case opened for `defaulter` (declared in the default fund).
    event CaseOpened(address indexed defaulter, uint64 portDeadline);
    /// @notice `wallet`'s open obligations in `securityId` joined `lot` (`quantity`, `cash`
    /// summed over the cycles moved).
    event ObligationsTakenOver(
        address indexed defaulter, uint256 indexed lot, address wallet, uint256 securityId, int256 quantity, int256 cash
    );
    /// @notice The default manager hedged `lot` on the venue: `quantity` and `cash` the fills (CCP
    /// sign convention), now part of the lot.
    event Hedged(uint256 indexed lot, int256 quantity, int256 cash, uint64 limitPrice);
    /// @notice The auction of `defaulter`'s `lots` lots started.
    event AuctionStarted(address indexed defaulter, uint256 lots, uint64 biddingEnds, uint64 revealEnds, uint16 bandBps);
    /// @notice The bidding for `defaulter`'s `lots` lots still open was reopened: auction round
    /// `round` (the first is 0).
    event AuctionReopened(
        address indexed defaulter, uint8 round, uint256 lots, uint64 biddingEnds, uint64 revealEnds, uint16 bandBps
    );
    /// @notice `bidder` committed a sealed bid for `lot`.
    event BidCommitted(uint256 indexed lot, address indexed bidder);
    /// @notice `bidder`'s bid for `lot` was revealed at `price`; `leading` if it is now the best.
    event BidRevealed(uint256 indexed lot, address indexed bidder, uint64 price, bool leading);
    /// @notice `lot` was novated to `winner` at `price`: `loss` (negative: a gain) against what the
    /// defaulter owed, `markPrice` the last settlement price it is measured against.
    event LotAwarded(uint256 indexed lot, address indexed winner, uint64 price, uint256 markPrice, int256 loss);
    /// @notice Part of `lot` was closed out on the venue: `quantity` and `cash` the fills (CCP
    /// sign convention), `remaining` units still to dispose of.
    event LotClosedOut(uint256 indexed lot, int256 quantity, int256 cash, int256 remaining, uint64 limitPrice);
    /// @notice The case borrowed `lent` of the `needed` proceeds its close-outs receive only in
    /// `cycleId` (or earlier), to pay its earlier cycles in full.
    event LiquidityBridged(address indexed defaulter, uint64 cycleId, uint256 needed, uint256 lent);
    /// @notice The case's bridge loan went back to the default fund.
    event BridgeSettled(address indexed defaulter, uint256 amount);
    /// @notice A lot was disposed of with `loss` (negative: a gain) for `account`.
    event LotDisposed(uint256 indexed lot, address indexed account, int256 loss);
    /// @notice `account`'s losses were charged through the waterfall: `covered` arrived here.
    event LossCharged(address indexed defaulter, address indexed account, uint256 loss, uint256 covered);
    /// @notice `account`'s lots that gained gained `amount`: owed to its margin account.
    event GainOwed(address indexed defaulter, address indexed account, uint256 amount);
    /// @notice `amount` of a gain was paid into `account`'s margin.
    event GainPaid(address indexed account, uint256 amount);
    /// @notice `defaulter`'s case closed: every lot disposed, `loss` crystallised (net of gains,
    /// negative: a net gain), `covered` paid by the waterfall.
    event CaseClosed(address indexed defaulter, int256 loss, uint256 covered);

    // ─── Errors ──────────────────────────────────────────────────────────────────────────────
    /// @notice `defaulter` is not in default in the fund (or its default was closed or cured).
    error NotInDefault(address defaulter);
    /// @notice `defaulter`'s case is not in `expected` (it is in `actual`).
    error WrongPhase(address defaulter, CasePhase expected, CasePhase actual);
    /// @notice `wallet` does not trade for `defaulter` (its house or one of its clients).
    error NotDefaultersWallet(address wallet, address defaulter);
    /// @notice `client` may still be ported until `deadline`: it is taken over only after.
    error PortWindowOpen(address client, uint64 deadline);
    /// @notice The case has no lot to auction.
    error NoLots(address defaulter);
    /// @notice No such lot.
    error UnknownLot(uint256 lot);
    /// @notice Bids for `lot` are committed only until `biddingEnds`.
    error BiddingClosed(uint256 lot, uint64 biddingEnds);
    /// @notice Bids are revealed only after `biddingEnds` and until `revealEnds`.
    error NotRevealing(uint256 lot, uint64 biddingEnds, uint64 revealEnds);
    /// @notice Lots are disposed of only after `revealEnds`.
    error AuctionNotOver(uint256 lot, uint64 revealEnds);
    /// @notice The auction round's reveal runs until `revealEnds`: it is reopened only after.
    error RoundNotOver(address defaulter, uint64 revealEnds);
    /// @notice `defaulter`'s auction was reopened `maxRounds` times already: its lots without an
    /// acceptable bid are to be closed out.
    error TooManyRounds(address defaulter, uint8 maxRounds);
    /// @notice Cycle `cycleId` has not settled yet.
    error CycleNotSettled(uint64 cycleId);
    /// @notice `bidder` is not an active clearing member in good standing.
    error NotEligibleBidder(address bidder);
    /// @notice `bidder` already committed a bid for `lot`.
    error DuplicateBid(uint256 lot, address bidder);
    /// @notice No commitment of `bidder` for `lot` matches the revealed bid.
    error NoCommitment(uint256 lot, address bidder);
    /// @notice The signature is not `bidder`'s.
    error BadBidSignature(address bidder);
    /// @notice `price` lies outside the band: a buyer's bid must be at least, a seller's at most,
    /// `limit`.
    error BidOutsideBand(uint256 lot, uint64 price, uint256 limit);
    /// @notice `lot` was already disposed of.
    error LotDisposedAlready(uint256 lot);
    /// @notice Lots of `defaulter` are still open: losses are charged once all are disposed of.
    error LotsOpen(address defaulter, uint256 open);
    /// @notice Nothing is owed to `account`.
    error NothingOwed(address account);
    /// @notice This account still has open obligations: gains are paid once they settled.
    error ObligationsOpen(uint256 open);
    /// @notice A hedge of `units` would take `lot` past flat (it holds `available`), or is zero.
    error HedgeTooLarge(uint256 lot, uint256 units, uint256 available);
    /// @notice A hedge's `price` is worse than `limit`, the hedge band around the settlement price.
    error HedgeOutsideBand(uint256 lot, uint256 price, uint256 limit);
    /// @notice A parameter is zero or out of range.
    error BadParameter();

    // ─── Functions ───────────────────────────────────────────────────────────────────────────
    /// @notice Open `defaulter`'s case. Anyone, once the fund declared it in default.
    function openCase(address defaulter) external;
    /// @notice Take over `wallet`'s open obligations in `securityIds` (at most MAX_BATCH) into
    /// the case's lots. Anyone while the case is open: the defaulter's house wallets at once, a
    /// client's once the port window ended (`PortWindowOpen`).
    function takeOver(address defaulter, address wallet, uint256[] calldata securityIds) external;
    /// @notice Hedge `lot` before the auction: an IOC order of the default-management account on
    /// the venue that reduces the lot by up to `units` (never past flat: `HedgeTooLarge`) at
    /// `limitPrice` or better, no worse than MAX_HEDGE_BAND_BPS from the settlement price
    /// (`HedgeOutsideBand`), matching at most `maxMakers` resting orders. Its fills join the lot
    /// (a leg in the trading cycle), so the auction's winner takes the hedged lot over. Default
    /// manager, while the case is open.
    function hedge(uint256 lot, uint256 units, uint256 limitPrice, uint256 maxMakers) external;
    /// @notice Freeze the lots and open the bidding for `biddingWindow` seconds, then the reveal
    /// for `revealWindow`; bids must be within `bandBps` of the last settlement price, and an
    /// unsold lot is closed out no worse than that. Default manager.
    function startAuction(address defaulter, uint32 biddingWindow, uint32 revealWindow, uint16 bandBps) external;
    /// @notice Reopen the bidding for every lot of `defaulter` still open, after the round's
    /// reveal ended (`RoundNotOver`): a new round of `biddingWindow` seconds of bidding and
    /// `revealWindow` of reveal, bids within `bandBps` of the last settlement price (an unsold lot
    /// is closed out no worse than that). Commitments start afresh; a lot's leader so far stays
    /// unless beaten. Default manager, while lots are open (`NoLots`), at most `MAX_ROUNDS` times
    /// (`TooManyRounds`).
    function reopenAuction(address defaulter, uint32 biddingWindow, uint32 revealWindow, uint16 bandBps) external;
    /// @notice Commit the caller's sealed bid for `lot`: `commitment` is the EIP-712 digest of its
    /// signed `Bid`. Surviving clearing members only, once per lot and round, until `biddingEnds`.
    function commitBid(uint256 lot, bytes32 commitment) external;
    /// @notice Reveal a committed bid (anyone may send it): checked against the commitment, the
    /// bidder's signature (EOA or ERC-1271), its standing, the band and its margin gate.
    function revealBid(Bid calldata bid, bytes calldata signature) external;
    /// @notice Dispose of `lot` after the reveal: award it to the leader, or, without one (or if
    /// the leader is no longer an active clearing member in good standing), close it out on the
    /// venue (an IOC order matching at most `maxMakers` resting orders; call again for the rest).
    function disposeLot(uint256 lot, uint256 maxMakers) external;
    /// @notice Charge up to `maxAccounts` accounts' losses through the waterfall, once every
    /// lot is disposed of; the last page closes the case. Anyone.
    function chargeLosses(address defaulter, uint256 maxAccounts) external;
    /// @notice Pay `account` the gain its lots made, once this contract's obligations have
    /// settled. Anyone. The defaulter's house gain first returns what the fund's layers 2-5 paid
    /// for the default (`DefaultFund.recoverLoss`, survivors first); the rest, and a client's
    /// gain, goes into the account's margin.
    function payGain(address defaulter, address account) external;
    /// @notice Repay the default fund the bridge `defaulter`'s case borrowed (5b), once the
    /// latest cycle its close-outs' proceeds arrive in has settled (`CycleNotSettled` before;
    /// `NothingOwed` without a loan). Anyone.
    function settleBridge(address defaulter) external;

    // ─── Views ───────────────────────────────────────────────────────────────────────────────
    /// @notice `defaulter`'s case: phase, bidding and reveal ends, band, lots, lots still open,
    /// net loss so far (negative: a gain) and cash the waterfall covered.
    function caseOf(address defaulter)
        external
        view
        returns (
            CasePhase phase,
            uint64 biddingEnds,
            uint64 revealEnds,
            uint16 bandBps,
            uint256 lots,
            uint256 openLots,
            int256 loss,
            uint256 covered
        );
    /// @notice The auction round of `defaulter`'s case: 0 the first, one more per `reopenAuction`.
    function auctionRound(address defaulter) external view returns (uint8);
    /// @notice The case's lot ids, in the order they were formed.
    function lotsOf(address defaulter) external view returns (uint256[] memory);
    /// @notice One lot.
    function lot(uint256 lotId) external view returns (LotView memory);
    /// @notice `account`'s losses in `defaulter`'s case (its lots that lost: charged through the
    /// waterfall) and the gains still owed to it (its lots that gained).
    function accountResult(address defaulter, address account) external view returns (uint256 loss, uint256 owed);
    /// @notice `defaulter`'s bridge (5b): the close-out proceeds still to arrive when it was
    /// taken, what the fund lent (0 once repaid), and the latest cycle they arrive in.
    function bridgeOf(address defaulter) external view returns (uint256 needed, uint256 lent, uint64 cycleId);
    /// @notice The EIP-712 digest of `bid`: what its bidder commits and signs.
    function bidDigest(Bid calldata bid) external view returns (bytes32);
}
