"""The scale day's order flow: the seeded simulator's intents, signed by their owners and batched
through the OrderRelay the way a gateway would send them.

:class:`OrderSigner` signs orders without ``eth_account``'s typed-data machinery: the EIP-712
struct hash is ``keccak(ORDER_TYPEHASH ++ abi words)`` (every Order field is static) and the
signature is coincurve's, in its EIP-2098 compact form (about 0.15 ms an order). It checks
itself once against :func:`smartccp.trading.orders.order_hash`.

:class:`RelayFlow` turns :class:`smartccp.sim.simulator.OrderIntent` s into waves of
transactions: placements grouped per venue into ``OrderRelay.placeOrders`` batches (non-atomic:
a refused order is skipped with ``OrderSkipped`` and its custom error), sent by gateway accounts
in turn; cancels as their owners' own ``cancelOrder`` of a resting order known from earlier
waves' logs. After each wave it reads the logs back: fills (``Traded``), resting orders
(``OrderRested``, less what later fills and cancels took), refusals by error name, and which
account has traded which security (its positions).

Units: prices in cash base units per unit, quantities in units.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import coincurve
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from smartccp.scale.raw import Abi, Receipt, Tx, abi_type
from smartccp.sim.scenario import FlowSpec
from smartccp.sim.simulator import OrderIntent
from smartccp.trading.orders import ORDER_FIELDS, ORDER_TYPEHASH, Domain, Order, order_hash
from smartccp.types import ZERO_ADDRESS, Route

ORDER_TYPES = [t for _, t in ORDER_FIELDS]
#: Continuous-session mix of the scale day: the simulator's usual order types, three venues.
SCALE_FLOW = FlowSpec(orders_per_day=0, auction_orders=0, venue_weights=(0.5, 0.3, 0.2))
DOMAIN_TYPEHASH = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
#: Resting entries one relayed order may match.
RELAY_MAX_MAKERS = 8
#: Gas limit of a relay transaction per order it carries (a fill of several makers costs more).
RELAY_GAS_PER_ORDER = 700_000
CANCEL_GAS = 300_000


def domain_separator(domain: Domain) -> bytes:
    """The EIP-712 domain separator of a venue (what its ``_domainSeparatorV4`` returns)."""
    return keccak(abi_encode(["bytes32", "bytes32", "bytes32", "uint256", "address"],
                             [DOMAIN_TYPEHASH, keccak(text=domain.name), keccak(text=domain.version),
                              domain.chain_id, domain.verifying_contract]))


class OrderSigner:
    """Signs order tuples for a set of venues with keys held in memory.

    Args:
        domains: one EIP-712 :class:`Domain` per venue.
        keys: address (checksummed) -> coincurve private key.
    """

    def __init__(self, domains: Sequence[Domain], keys: dict[str, coincurve.PrivateKey]):
        self.domains = list(domains)
        self.separators = [domain_separator(d) for d in self.domains]
        self.keys = keys
        self.nonces: dict[str, int] = defaultdict(int)

    def order(self, owner: str, security_id: int, side: int, order_type: int, tif: int, price: int, quantity: int,
              display: int = 0) -> tuple:
        """An Order tuple in struct order with the owner's next nonce."""
        nonce = self.nonces[owner]
        self.nonces[owner] = nonce + 1
        return (owner, security_id, side, order_type, tif, int(Route.CCP), price, 0, quantity, display, 0, 0,
                ZERO_ADDRESS, ZERO_ADDRESS, nonce, 0)

    def digest(self, venue: int, order: tuple) -> bytes:
        struct_hash = keccak(ORDER_TYPEHASH + abi_encode(ORDER_TYPES, list(order)))
        return keccak(b"\x19\x01" + self.separators[venue] + struct_hash)

    def sign(self, venue: int, order: tuple) -> bytes:
        """The owner's compact (r, vs) signature of ``order`` for venue ``venue``."""
        sig = self.keys[order[0]].sign_recoverable(self.digest(venue, order), hasher=None)
        s = int.from_bytes(sig[32:64], "big") | (sig[64] << 255)
        return sig[:32] + s.to_bytes(32, "big")

    def check(self) -> None:
        """Raise unless the fast digest equals the reference one (the venue's ``hashOrder``)."""
        owner = next(iter(self.keys))
        t = (owner, 1, 0, 0, 0, 0, 10_000, 0, 10, 0, 0, 0, ZERO_ADDRESS, ZERO_ADDRESS, 77, 0)
        reference = order_hash(Order(owner=owner, securityId=1, side=0, quantity=10, price=10_000, orderType=0,
                                     timeInForce=0, nonce=77), self.domains[0])
        if self.digest(0, t) != reference:
            raise AssertionError("the fast EIP-712 digest differs from smartccp.trading.orders.order_hash")


@dataclass
class FlowTally:
    """What the flow did so far, from the logs."""

    orders: int = 0
    placed: int = 0
    fills: int = 0
    traded_units: int = 0
    traded_cash: int = 0
    cancels_sent: int = 0
    cancelled: int = 0
    refused: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stp_cancels: int = 0
    relay_txs: int = 0
    relay_gas: int = 0
    cancel_gas: int = 0
    failed_txs: int = 0


@dataclass
class Resting:
    venue: int
    owner: str
    security_id: int
    order_id: int
    remaining: int


class RelayFlow:
    """Sends intents as relayed batches and cancels; see the module docstring.

    Args:
        venues: the venues (ape instances); ``relay``: the OrderRelay.
        signer: an :class:`OrderSigner` over the same venues.
        gateways: addresses (keys in the raw sender) that submit the relay batches.
        batch: orders per relay transaction.
        errors: 4-byte selector -> custom error name, for refusals.
    """

    def __init__(self, venues: Sequence[Any], relay: Any, signer: OrderSigner, gateways: Sequence[str], *,
                 batch: int, errors: dict[bytes, str]):
        self.venues = list(venues)
        self.venue_addr = [str(v.address) for v in self.venues]
        self.relay_addr = str(relay.address)
        self.relay_abi, self.venue_abi = Abi.of(relay), Abi.of(self.venues[0])
        self.signer, self.gateways, self.batch, self.errors = signer, list(gateways), batch, errors
        self.tally = FlowTally()
        self.resting: dict[bytes, Resting] = {}
        self.open_by_key: dict[tuple[int, str, int], list[bytes]] = defaultdict(list)
        self.open_by_owner: dict[str, list[bytes]] = defaultdict(list)
        self.positions: dict[str, set[int]] = defaultdict(set)
        self._gateway = 0
        ev = self.venue_abi.events
        self.t_rested, self.t_traded, self.t_cancelled = ev["OrderRested"], ev["Traded"], ev["OrderCancelled"]
        self.t_skipped = self.relay_abi.events["OrderSkipped"]

    # ─── building a wave ───

    def transactions(self, intents: Sequence[OrderIntent], owner_of: dict[str, str], security_ids: Sequence[int]) -> list[Tx]:
        """The wave's transactions: relay batches per venue (in intent order) and cancels."""
        txs: list[Tx] = []
        pending: dict[int, list[tuple]] = defaultdict(list)
        for it in intents:
            owner, sid = owner_of[it.member], security_ids[it.security]
            if it.action == "cancel":
                tx = self._cancel(it.venue, owner, sid)
                if tx is not None:
                    txs.append(tx)
                continue
            order = self.signer.order(owner, sid, int(it.side), int(it.order_type), int(it.tif), it.price, it.quantity,
                                      it.display)
            pending[it.venue].append(order)
            self.tally.orders += 1
            if len(pending[it.venue]) == self.batch:
                txs.append(self._relay(it.venue, pending.pop(it.venue)))
        txs += [self._relay(v, orders) for v, orders in sorted(pending.items())]
        return txs

    def _relay(self, venue: int, orders: list[tuple]) -> Tx:
        sigs = [self.signer.sign(venue, o) for o in orders]
        data = self.relay_abi.call("placeOrders", self.venue_addr[venue], orders, sigs, RELAY_MAX_MAKERS, False)
        gateway = self.gateways[self._gateway % len(self.gateways)]
        self._gateway += 1
        return Tx(gateway, self.relay_addr, data, 400_000 + RELAY_GAS_PER_ORDER * len(orders), ("relay", venue, orders))

    def _cancel(self, venue: int, owner: str, sid: int) -> Tx | None:
        """The owner cancels its oldest resting order in ``sid`` on ``venue``, else its oldest
        resting order anywhere (a member with books in hundreds of securities rarely rests in
        the one the simulator drew), if it has one."""
        for keys in (self.open_by_key.get((venue, owner, sid)), self.open_by_owner.get(owner)):
            while keys:
                h = keys.pop(0)
                if h in self.resting:
                    r = self.resting.pop(h)
                    self.tally.cancels_sent += 1
                    return Tx(owner, self.venue_addr[r.venue], self.venue_abi.call("cancelOrder", r.order_id),
                              CANCEL_GAS, ("cancel", r.venue))
        return None

    # ─── reading a wave back ───

    def record(self, receipts: Sequence[Receipt]) -> None:
        """Count fills, refusals, resting orders and positions from the wave's receipts."""
        t = self.tally
        for r in receipts:
            kind = r.tag[0] if r.tag else ""
            if not r.status:
                t.failed_txs += 1
                continue
            if kind == "relay":
                t.relay_txs += 1
                t.relay_gas += r.gas_used
            elif kind == "cancel":
                t.cancel_gas += r.gas_used
                t.cancelled += 1
            venue = r.tag[1] if r.tag else 0
            for log in r.logs:
                topic = bytes.fromhex(log["topics"][0][2:])
                data = bytes.fromhex(log["data"][2:])
                if topic == self.t_traded:
                    self._traded(log, data)
                elif topic == self.t_rested:
                    self._rested(venue, log, data)
                elif topic == self.t_cancelled:
                    h = bytes.fromhex(log["topics"][1][2:])
                    reason = int.from_bytes(data[32:64], "big")
                    if reason == 5:
                        t.stp_cancels += 1
                    self.resting.pop(h, None)
                elif topic == self.t_skipped:
                    n = int.from_bytes(data[64:96], "big")
                    selector = data[96:100] if n >= 4 else b""
                    t.refused[self.errors.get(selector, "0x" + selector.hex())] += 1
            if kind == "relay":
                t.placed += len(r.tag[2]) - len(r.logs_of(self.t_skipped))

    def _traded(self, log: dict[str, Any], data: bytes) -> None:
        t = self.tally
        sid = int(log["topics"][2], 16)
        bid, offer = data[0:32], data[32:64]
        buyer = to_checksum_address(data[76:96])
        seller = to_checksum_address(data[108:128])
        price, qty = int.from_bytes(data[128:160], "big"), int.from_bytes(data[160:192], "big")
        t.fills += 1
        t.traded_units += qty
        t.traded_cash += qty * price
        self.positions[buyer].add(sid)
        self.positions[seller].add(sid)
        for h in (bid, offer):
            r = self.resting.get(h)
            if r is not None:
                r.remaining -= qty
                if r.remaining <= 0:
                    del self.resting[h]

    def _rested(self, venue: int, log: dict[str, Any], data: bytes) -> None:
        order_id = int(log["topics"][1], 16)
        h = bytes.fromhex(log["topics"][2][2:])
        owner = to_checksum_address("0x" + log["topics"][3][-40:])
        sid = (order_id & (2**255 - 1)) >> 89
        qty = int.from_bytes(data[32:64], "big")
        self.resting[h] = Resting(venue, owner, sid, order_id, qty)
        self.open_by_key[(venue, owner, sid)].append(h)
        self.open_by_owner[owner].append(h)


def error_selectors(*contracts: Any) -> dict[bytes, str]:
    """4-byte selector -> custom error name over the contracts' ABIs."""
    out: dict[bytes, str] = {}
    for c in contracts:
        for item in c.contract_type.model_dump(mode="json", by_alias=True)["abi"]:
            if item.get("type") == "error":
                sig = f"{item['name']}({','.join(abi_type(p) for p in item['inputs'])})"
                out[keccak(text=sig)[:4]] = item["name"]
    return out
