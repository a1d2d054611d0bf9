"""Market simulator: reproducible price paths and order flow, and a driver that sends the flow to
real venues.

Two halves, so the flow can be inspected and tested without a chain:

- :func:`price_paths` and :class:`MarketSimulator` are pure (numpy, seeded). Daily reference
  prices come from a window of the real S&P 500 (``arch.data.sp500``; each security ``beta``
  times the index's daily return plus its own noise) or from a simulated geometric Brownian
  motion. Within a day the fair price moves from yesterday's to today's reference price; members
  send limit (resting or crossing), market (with a protection price), immediate-or-cancel,
  hidden and iceberg orders around it, on venues chosen by weight, and sometimes cancel a
  resting order. The same seed gives the same flow, order for order.
- :class:`FlowDriver` signs and places :class:`OrderIntent` s on the venues through
  :class:`smartccp.trading.venue.VenueClient`, cancels what the flow cancels, avoids self-trades
  (cancels the owner's own crossing order first, as a member's system would), and counts what
  happened. The drill, the demo and the benchmark can all use it.

Units: prices in cash base units per unit (multiples of the tick), quantities in whole units
(multiples of the lot).
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smartccp.chain.errors import error_name, exception_error_name, refusal_text
from smartccp.trading.orders import Order
from smartccp.trading.venue import MAX_BATCH, MAX_MAKERS, OrderId
from smartccp.types import OrderType, Side, TimeInForce

TRADING_DAYS = 252


# ─── Price paths (pure) ──────────────────────────────────────────────────────────────────────


def sp500_history() -> tuple[np.ndarray, np.ndarray]:
    """(dates as ``datetime64[D]``, adjusted closes) of the S&P 500 bundled with ``arch``."""
    from arch.data import sp500

    data = sp500.load()
    return data.index.values.astype("datetime64[D]"), data["Adj Close"].to_numpy(dtype=float)


def _round_tick(price: float, tick: int) -> int:
    return max(tick, int(round(price / tick)) * tick)


def price_paths(spec: Any, securities: Sequence[Any], days: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily reference prices and the history before them.

    Args:
        spec: a :class:`smartccp.sim.scenario.PriceSpec`.
        securities: :class:`smartccp.sim.scenario.SecuritySpec` s (start price, tick, beta).
        days: trading days of the drill.
        seed: the scenario's seed.

    Returns:
        ``(path, history)``: ``path`` int64 shape ``(days + 1, n_securities)``, row 0 the start
        prices, in cash base units on tick; ``history`` float shape
        ``(lookback + 1, n_securities)``: the prices before row 0 (for margin calibration),
        ending with the start prices.
    """
    rng = np.random.default_rng(seed)
    n = len(securities)
    need = spec.lookback_days + days
    if spec.source == "sp500":
        dates, closes = sp500_history()
        start = int(np.searchsorted(dates, np.datetime64(spec.start, "D")))
        start = min(max(start, spec.lookback_days), len(closes) - days - 1)
        index_ret = np.diff(np.log(closes[start - spec.lookback_days:start + days + 1]))
        daily_idio = spec.idio_vol / np.sqrt(TRADING_DAYS)
        betas = np.array([s.beta for s in securities])
        log_ret = index_ret[:, None] * betas[None, :] + rng.normal(0.0, daily_idio, (need, n))
    else:
        sigma = spec.vol / np.sqrt(TRADING_DAYS)
        mu = spec.drift / TRADING_DAYS - 0.5 * sigma**2
        log_ret = rng.normal(mu, sigma, (need, n))
    start_prices = np.array([s.start_price for s in securities], dtype=float)
    hist_ret, path_ret = log_ret[:spec.lookback_days], log_ret[spec.lookback_days:]
    # History ends at the start prices: walk the returns backwards from them.
    back = np.vstack([np.zeros(n), np.cumsum(hist_ret[::-1], axis=0)])[::-1]
    history = start_prices[None, :] * np.exp(-back)
    fwd = start_prices[None, :] * np.exp(np.vstack([np.zeros(n), np.cumsum(path_ret, axis=0)]))
    path = np.array([[_round_tick(p, s.tick) for p, s in zip(row, securities)] for row in fwd], dtype=np.int64)
    return path, history


def stress_history(spec: Any, securities: Sequence[Any], days: int, history: np.ndarray) -> np.ndarray:
    """The longest history before the drill for stress windows (cover 2): for an ``sp500``
    source every S&P 500 close from 1999 to the start, each security ``beta`` times the index's
    log moves (no idiosyncratic noise: the systematic episodes, 2001 and 2002 included), then
    ``history`` (:func:`price_paths`) appended; otherwise ``history`` alone. Shape
    ``(n_dates, n_securities)``, relative prices (only ``h``-day moves are used)."""
    if spec.source != "sp500":
        return history
    dates, closes = sp500_history()
    start = int(np.searchsorted(dates, np.datetime64(spec.start, "D")))
    start = min(max(start, spec.lookback_days), len(closes) - days - 1)
    betas = np.array([s.beta for s in securities])
    older = np.log(closes[:start - spec.lookback_days + 1])
    systematic = np.exp((older - older[-1])[:, None] * betas[None, :]) * history[0][None, :]
    return np.vstack([systematic[:-1], history])


# ─── Order flow (pure) ───────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class OrderIntent:
    """One action of the flow: place an order, or cancel one of ``member`` 's resting orders.

    ``security`` is the index into the scenario's securities; ``venue`` the venue index.
    """

    member: str
    venue: int
    security: int
    action: str  # "place" | "cancel"
    side: Side = Side.BUY
    order_type: OrderType = OrderType.LIMIT
    tif: TimeInForce = TimeInForce.DAY
    quantity: int = 0
    price: int = 0
    display: int = 0
    label: str = ""


@dataclass
class MarketSimulator:
    """Seeded generator of a day's order flow over members, securities and venues.

    Args:
        members: names of the members who trade.
        securities: the scenario's securities (tick, lot).
        flow: a :class:`smartccp.sim.scenario.FlowSpec`.
        seed: the flow is a function of ``(seed, day)`` only.
    """

    members: Sequence[str]
    securities: Sequence[Any]
    flow: Any
    seed: int

    def _rng(self, day: int, salt: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, day, salt])

    def continuous(self, day: int, open_prices: Sequence[int], close_prices: Sequence[int]) -> list[OrderIntent]:
        """The continuous session of ``day``: ``flow.orders_per_day`` intents, fair price moving
        from ``open_prices`` to ``close_prices`` (cash base units per unit)."""
        rng = self._rng(day, 1)
        f = self.flow
        kinds = list(f.mix)
        weights = np.array([f.mix[k] for k in kinds], dtype=float)
        weights /= weights.sum()
        vw = np.array(f.venue_weights, dtype=float)
        vw /= vw.sum()
        out: list[OrderIntent] = []
        n = f.orders_per_day
        for i in range(n):
            member = self.members[int(rng.integers(len(self.members)))]
            venue = int(rng.choice(len(vw), p=vw))
            s = int(rng.integers(len(self.securities)))
            sec = self.securities[s]
            if rng.random() < f.cancel_rate:
                out.append(OrderIntent(member, venue, s, "cancel", label="cancel"))
                continue
            frac = (i + 1) / max(n, 1)
            fair = open_prices[s] + (close_prices[s] - open_prices[s]) * frac
            fair *= 1 + rng.normal(0, 0.001)
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            sign = 1 if side == Side.BUY else -1
            lots = 1 + int(min(rng.geometric(0.35) - 1, f.max_lots - 1))
            quantity = lots * sec.lot
            kind = kinds[int(rng.choice(len(kinds), p=weights))]
            aggressive = kind in ("market", "ioc") or rng.random() < f.aggressive
            offset = int(rng.integers(1, 4)) if aggressive else -int(rng.geometric(0.3))
            price = _round_tick(fair + sign * offset * sec.tick, sec.tick)
            otype, tif, display = OrderType.LIMIT, TimeInForce.DAY, 0
            if kind == "market":
                otype, tif = OrderType.MARKET, TimeInForce.IOC
                price = _round_tick(fair * (1 + sign * 0.05), sec.tick)  # protection price
            elif kind == "ioc":
                tif = TimeInForce.IOC
            elif kind == "hidden":
                otype = OrderType.HIDDEN
            elif kind == "iceberg":
                otype = OrderType.ICEBERG
                quantity = max(quantity, 2 * sec.lot) * 2
                display = sec.lot * max(1, quantity // sec.lot // 4)
            out.append(OrderIntent(member, venue, s, "place", side, otype, tif, quantity, price, display, kind))
        return out

    def auction(self, day: int, close_prices: Sequence[int], venues: int) -> list[OrderIntent]:
        """Closing-auction orders: ``flow.auction_orders`` per security and venue, limit DAY
        orders a few ticks either side of the closing reference price, both sides."""
        rng = self._rng(day, 2)
        out: list[OrderIntent] = []
        for v in range(venues):
            for s, sec in enumerate(self.securities):
                for k in range(self.flow.auction_orders):
                    side = Side.BUY if k % 2 == 0 else Side.SELL
                    sign = 1 if side == Side.BUY else -1
                    price = _round_tick(close_prices[s] + sign * int(rng.integers(-2, 4)) * sec.tick, sec.tick)
                    member = self.members[int(rng.integers(len(self.members)))]
                    qty = sec.lot * int(rng.integers(1, self.flow.max_lots + 1))
                    out.append(OrderIntent(member, v, s, "place", side, OrderType.LIMIT, TimeInForce.DAY, qty, price,
                                           label="auction"))
        return out


# ─── Driving the flow on chain ───────────────────────────────────────────────────────────────


@dataclass
class FlowStats:
    """What a flow did on chain: counts per outcome and the gas of every transaction sent.
    ``traded_cash`` and ``cash_by_security`` are traded volume in cash base units (quantity x
    price per fill), ``units_by_security`` in units, keyed by on-chain security id."""

    placed: int = 0
    rested: int = 0
    trades: int = 0
    traded_units: int = 0
    traded_cash: int = 0
    cancelled: int = 0
    rejected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    self_trade_cancels: int = 0
    by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    trades_by_venue: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    cash_by_security: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    units_by_security: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    gas: int = 0
    txs: int = 0
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"placed": self.placed, "rested": self.rested, "trades": self.trades,
                "traded_units": self.traded_units, "traded_cash": self.traded_cash, "cancelled": self.cancelled,
                "self_trade_cancels": self.self_trade_cancels, "rejected": dict(self.rejected),
                "by_type": dict(self.by_type), "trades_by_venue": dict(self.trades_by_venue),
                "units_by_security": dict(self.units_by_security), "cash_by_security": dict(self.cash_by_security),
                "txs": self.txs, "gas": self.gas, "wall_s": round(self.wall_s, 3)}


class FlowDriver:
    """Places :class:`OrderIntent` s on real venues.

    Args:
        clients: one :class:`smartccp.trading.venue.VenueClient` per venue.
        accounts: member name -> ape account (signs and sends its own orders).
        security_ids: on-chain id of each scenario security, by index.
        error_sources: contracts whose custom errors may come back through a venue call (the
            Margin gate, the CCP), for naming refusals.
        dry_run: check each order by ``eth_call`` first, as a member's system would, and send
            only what the venue accepts; a refusal then costs no transaction (and ape prints no
            trace for it). Refusals are counted by the custom error's name either way.
    """

    def __init__(self, clients: Sequence[Any], accounts: dict[str, Any], security_ids: Sequence[int], *,
                 error_sources: Sequence[Any] = (), dry_run: bool = True):
        self.clients = list(clients)
        self.accounts = accounts
        self.security_ids = list(security_ids)
        self.error_sources = tuple(error_sources)
        self.dry_run = dry_run
        # (venue, owner address, security id, side) -> {orderId: price}; from OrderRested logs.
        self.resting: dict[tuple[int, str, int, int], dict[int, int]] = defaultdict(dict)

    def run(self, intents: Sequence[OrderIntent], *, stats: FlowStats | None = None,
            progress: Callable[[int, int, FlowStats], None] | None = None, every: int = 50) -> FlowStats:
        """Send ``intents`` in order; refusals are counted by error name, not raised."""
        stats = stats or FlowStats()
        start = time.perf_counter()
        for i, intent in enumerate(intents, 1):
            if intent.action == "cancel":
                self._cancel_one(intent, stats)
            else:
                self._place(intent, stats)
            if progress is not None and (i % every == 0 or i == len(intents)):
                progress(i, len(intents), stats)
        stats.wall_s += time.perf_counter() - start
        return stats

    def run_relayed(self, intents: Sequence[OrderIntent], relay: Any, gateway: Any, *, block: int = 16,
                    stats: FlowStats | None = None, progress: Callable[[int, int, FlowStats], None] | None = None,
                    every: int = 50) -> FlowStats:
        """Send ``intents`` as a gateway would: the placements of each run of ``block`` actions
        (one block's worth of a market's flow) go to their venue in one ``OrderRelay`` batch,
        in order, sent by ``gateway``; cancels stay their owners' own transactions. An order that
        could meet its owner's order earlier in the same batch starts a new batch, so the owner's
        crossing order is known; a self-trade cancel sends the venue's batch first, so the
        orders before it meet the cancelled order as they would have (as in :meth:`run`).
        Nothing is dry-run: a refused order is skipped by the relay (``OrderSkipped``) and
        counted by its custom error's name."""
        stats = stats or FlowStats()
        start = time.perf_counter()
        pending: dict[int, list[OrderIntent]] = defaultdict(list)

        def flush(venue: int) -> None:
            batch = pending.pop(venue, [])
            if batch:
                self._relay(venue, batch, relay, gateway, stats)

        for i, intent in enumerate(intents, 1):
            v = intent.venue
            if intent.action == "cancel":
                flush(v)
                self._cancel_one(intent, stats)
            else:
                if any(p.member == intent.member and p.security == intent.security for p in pending.get(v, ())):
                    flush(v)
                self._clear_self_cross(intent, stats, before=lambda v=v: flush(v))
                pending[v].append(intent)
                if len(pending[v]) == MAX_BATCH:
                    flush(v)
            if i % block == 0 or i == len(intents):
                for venue in sorted(pending):
                    flush(venue)
            if progress is not None and (i % every == 0 or i == len(intents)):
                progress(i, len(intents), stats)
        stats.wall_s += time.perf_counter() - start
        return stats

    def place_order(self, intent: OrderIntent, stats: FlowStats | None = None) -> Any:
        """Place one intent (self-trade avoidance included); returns the receipt or None."""
        return self._place(intent, stats or FlowStats())

    # ─── internals ───

    def _record(self, receipt: Any, stats: FlowStats, venue: int) -> None:
        stats.txs += 1
        stats.gas += int(receipt.gas_used)
        client = self.clients[venue]
        for log in receipt.decode_logs(client.venue.OrderRested):
            oid = OrderId.parse(int(log.orderId))
            self.resting[(venue, str(log.owner), oid.security_id, oid.side)][int(log.orderId)] = int(log.price)
        for log in receipt.decode_logs(client.venue.Traded):
            stats.trades += 1
            stats.traded_units += int(log.quantity)
            stats.traded_cash += int(log.quantity) * int(log.price)
            stats.trades_by_venue[venue] += 1
            stats.units_by_security[int(log.securityId)] += int(log.quantity)
            stats.cash_by_security[int(log.securityId)] += int(log.quantity) * int(log.price)

    def _live(self, venue: int, order_id: int) -> bool:
        owner, remaining, *_ = self.clients[venue].venue.orderOf(order_id)
        return int(remaining) > 0 and int(owner, 16) != 0

    def _cancel(self, venue: int, key: tuple, order_id: int, stats: FlowStats, owner: Any) -> bool:
        self.resting[key].pop(order_id, None)
        if not self._live(venue, order_id):
            return False
        try:
            receipt = self.clients[venue].cancel(order_id, owner)
        except Exception as err:  # a race with expiry: count and go on
            stats.rejected[f"cancel:{exception_error_name(err)}"] += 1
            return False
        self._record(receipt, stats, venue)
        stats.cancelled += 1
        return True

    def _cancel_one(self, intent: OrderIntent, stats: FlowStats) -> None:
        account = self.accounts[intent.member]
        sid = self.security_ids[intent.security]
        for side in (0, 1):
            key = (intent.venue, str(account.address), sid, side)
            for order_id in sorted(self.resting.get(key, {})):
                if self._cancel(intent.venue, key, order_id, stats, account):
                    return

    def _clear_self_cross(self, intent: OrderIntent, stats: FlowStats,
                          before: Callable[[], None] | None = None) -> None:
        """Cancel the owner's own resting orders on the other side that the new order could meet
        (``before()`` first if there is one: a gateway sends the orders it holds)."""
        account = self.accounts[intent.member]
        sid = self.security_ids[intent.security]
        other = 1 - int(intent.side)
        key = (intent.venue, str(account.address), sid, other)
        crossing = [order_id for order_id, price in self.resting.get(key, {}).items()
                    if (price <= intent.price if intent.side == Side.BUY else price >= intent.price)]
        if crossing and before is not None:
            before()
        for order_id in crossing:
            if self._cancel(intent.venue, key, order_id, stats, account):
                stats.self_trade_cancels += 1

    def _order(self, intent: OrderIntent) -> Order:
        account = self.accounts[intent.member]
        return self.clients[intent.venue].with_nonce(Order(
            owner=str(account.address), securityId=self.security_ids[intent.security], side=intent.side,
            quantity=intent.quantity, price=intent.price, orderType=intent.order_type, timeInForce=intent.tif,
            displayQuantity=intent.display))

    def _relay(self, venue: int, batch: list[OrderIntent], relay: Any, gateway: Any, stats: FlowStats) -> None:
        client = self.clients[venue]
        signed = [(self._order(it), self.accounts[it.member]) for it in batch]
        receipt = client.place_batch(relay, signed, sender=gateway, max_makers=MAX_MAKERS)
        skipped = {int(log.index): log for log in receipt.decode_logs(relay.OrderSkipped)}
        for log in skipped.values():
            stats.rejected[error_name(bytes(log.reason))] += 1
        for i, it in enumerate(batch):
            if i not in skipped:
                stats.placed += 1
                stats.by_type[it.label or it.order_type.name.lower()] += 1
        self._record(receipt, stats, venue)
        traded = {bytes(h) for log in receipt.decode_logs(client.venue.Traded)
                  for h in (log.bidOrderHash, log.offerOrderHash)}
        stats.rested += len({bytes(log.orderHash) for log in receipt.decode_logs(client.venue.OrderRested)} - traded)

    def _place(self, intent: OrderIntent, stats: FlowStats) -> Any:
        self._clear_self_cross(intent, stats)
        account = self.accounts[intent.member]
        client = self.clients[intent.venue]
        order = self._order(intent)
        args = client.place_args(order, account, MAX_MAKERS)
        if self.dry_run:
            refused = _dry_run(client.venue.placeOrder, args, account, self.error_sources)
            if refused is not None:
                stats.rejected[refused] += 1
                return None
        try:
            receipt = client.venue.placeOrder(*args, sender=account)
        except Exception as err:  # refused by the venue (named custom error) or the CCP
            stats.rejected[exception_error_name(err)] += 1
            return None
        stats.placed += 1
        stats.by_type[intent.label or intent.order_type.name.lower()] += 1
        before = stats.trades
        self._record(receipt, stats, intent.venue)
        if stats.trades == before and receipt.decode_logs(client.venue.OrderRested):
            stats.rested += 1
        return receipt


def _dry_run(method: Any, args: tuple, sender: Any, sources: Sequence[Any]) -> str | None:
    """``method(*args)`` from ``sender`` by ``eth_call``: None if it would succeed, else the name
    of the custom error it reverts with (``InsufficientMargin``; ``revert`` if undecodable)."""
    text = refusal_text(method, *args, sender=sender, also=tuple(sources))
    if text is None:
        return None
    match = re.match(r"[A-Za-z_]\w*", text)
    return match.group(0) if match else "revert"
