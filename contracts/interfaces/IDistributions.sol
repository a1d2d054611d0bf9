// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice One cash distribution (a coupon or a dividend) of a security: the cash per unit held
/// at the record date, paid from the payment date. One slot.
struct Distribution {
    uint96 amountPerUnit;
    uint48 ordinal;
    uint48 recordDate;
    uint48 paymentDate;
}

/// @title IDistributions — coupons and dividends, pull-based (issue #21)
/// @notice The issuer of a security declares a cash distribution per unit with a record date and
/// a payment date, and escrows the whole amount (per unit x the units in issue, which cannot
/// change until the record date passes). Each holder is entitled to its balance at the record
/// date (the depository keeps it lazily, `SecurityToken.balanceAtRecord`) times the amount per
/// unit, and claims every distribution of a security it has not claimed in one call, from the
/// payment date. Declaring costs the same for 10 holders as for 10,000; a claim grows only with
/// the number of distributions it collects. Amounts are cash base units; nothing is rounded
/// (an integer amount per whole unit).
interface IDistributions {
    /// @notice Distribution `index` of security `id` declared: `amountPerUnit` per unit held at
    /// `recordDate`, paid from `paymentDate`; `escrowed` taken from the issuer.
    event DistributionDeclared(uint256 indexed id, uint256 indexed index, uint48 recordDate, uint48 paymentDate,
        uint256 amountPerUnit, uint256 escrowed);
    /// @notice `holder` was paid `amount` for distributions `from` to `to - 1` of security `id`.
    event DistributionClaimed(uint256 indexed id, address indexed holder, uint256 from, uint256 to, uint256 amount);

    /// @notice The final redemption of `id` declared: `amountPerUnit` per unit at maturity;
    /// `escrowed` taken from the issuer.
    event RedemptionDeclared(uint256 indexed id, uint256 amountPerUnit, uint256 escrowed);
    /// @notice `holder`'s `units` of matured `id` were burnt against `amount` of cash (DVP).
    event Redeemed(uint256 indexed id, address indexed holder, uint256 units, uint256 amount);
    /// @notice Trading in `id` stopped: its last trading time (maturity less its settlement lag) passed.
    event TradingStopped(uint256 indexed id, uint256 lastTradingTime);

    /// @notice Only the issuer `issuer` of `id` may declare its distributions.
    error NotIssuer(uint256 id, address caller, address issuer);
    /// @notice No distribution on a halted security.
    error SecurityHalted(uint256 id);
    /// @notice No distribution with a record date at or after the security's maturity `maturity`.
    error SecurityMatured(uint256 id, uint64 maturity);
    /// @notice The payment date must be after the record date and not before the previous
    /// distribution's payment date (`previous`).
    error BadPaymentDate(uint48 recordDate, uint48 paymentDate, uint48 previous);
    /// @notice The amount per unit must be positive.
    error ZeroAmount();
    /// @notice At least one distribution per claim.
    error BadParameter();
    /// @notice `id` has no maturity.
    error NoMaturity(uint256 id);
    /// @notice `id` still trades until `lastTradingTime`.
    error TradingNotOver(uint256 id, uint256 lastTradingTime);
    /// @notice The final redemption of `id` is declared already / not declared.
    error RedemptionDeclaredAlready(uint256 id);
    error RedemptionNotDeclared(uint256 id);
    /// @notice `id`'s trades of cycle `cycleId` have not settled yet: units owed in it must be
    /// delivered before anything is redeemed.
    error SettlementPending(uint256 id, uint64 cycleId);
    /// @notice `holder` holds no units of `id` to redeem.
    error NothingToRedeem(uint256 id, address holder);
    /// @notice `holder` has nothing of security `id` to claim now (all claimed, or not yet payable).
    error NothingToClaim(uint256 id, address holder);
    /// @notice The CCP holds units for its accounts (pre-funded, kept, in settlement), not as
    /// their owner: no claim or redemption pays it (its accounts withdraw their units and claim
    /// or redeem them in their own wallets).
    error HolderIsCcp(address holder);

    /// @notice Declare a distribution of `amountPerUnit` (cash base units per unit) to the holders of
    /// `id` at `recordDate` (in the future, after its previous record date), payable from
    /// `paymentDate` (after the record date). The security's issuer, which escrows
    /// `amountPerUnit x totalSupply(id)` (allowance to this contract). Not for a halted or matured
    /// security. Returns the distribution's index.
    function declare(uint256 id, uint48 recordDate, uint48 paymentDate, uint96 amountPerUnit)
        external
        returns (uint256 index);
    /// @notice Pay `holder` its entitlement to up to `maxEvents` of `id`'s distributions it has not
    /// claimed, in order, stopping at the first not yet payable. Anyone (the cash goes to the
    /// holder); `NothingToClaim` if none is due; never for the CCP (`HolderIsCcp`). Returns the
    /// amount paid.
    function claim(uint256 id, address holder, uint256 maxEvents) external returns (uint256 amount);

    /// @notice Stop trading in `id` once its last trading time (maturity less its settlement lag
    /// in the CCP, so every trade settles by maturity) has passed: the security is halted on
    /// every venue. Anyone.
    function stopTrading(uint256 id) external;
    /// @notice Declare the final redemption of `id` at `amountPerUnit` (cash base units a unit):
    /// the issuer, after the last trading time, escrowing `amountPerUnit x totalSupply(id)`.
    /// Stops trading if not yet stopped.
    function declareRedemption(uint256 id, uint96 amountPerUnit) external;
    /// @notice From maturity, once the security's last cycles have settled in the CCP: burn all of
    /// `holder`'s units and pay it `amountPerUnit` each, in one transaction (DVP). Anyone (the
    /// cash goes to the holder); never the CCP's units (`HolderIsCcp`). Returns the amount paid.
    function redeem(uint256 id, address holder) external returns (uint256 amount);
    /// @notice When trading in `id` ends: maturity less its settlement lag (0: no maturity).
    function lastTradingTime(uint256 id) external view returns (uint256);
    /// @notice The final redemption amount per unit of `id` (0: not declared).
    function redemptionOf(uint256 id) external view returns (uint256);
    /// @notice The distributions of `id` declared so far.
    function distributionCount(uint256 id) external view returns (uint256);
    /// @notice Distribution `index` of `id`.
    function distribution(uint256 id, uint256 index) external view returns (Distribution memory);
    /// @notice How many of `id`'s distributions `holder` has claimed (the next one to claim).
    function claimed(uint256 id, address holder) external view returns (uint256);
    /// @notice The sum of the amounts per unit of `id`'s distributions whose record date is at or
    /// after `from` and before `to` (what a unit bought before `from` and delivered at `to` is
    /// owed: the CCP's market claims). O(log n) in the distributions of `id`.
    function amountPerUnitBetween(uint256 id, uint256 from, uint256 to) external view returns (uint256);
    /// @notice What `holder` would be paid now for up to `maxEvents` unclaimed distributions of
    /// `id` (and up to which index).
    function claimable(uint256 id, address holder, uint256 maxEvents) external view returns (uint256 amount, uint256 to);
}
