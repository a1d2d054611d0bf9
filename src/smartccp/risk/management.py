"""Default management from Python (``contracts/risk/DefaultManagement.sol``): open a defaulter's
case, take its open obligations over into lots, run the sealed-bid auction (bids signed with
EIP-712 and committed as their digest, revealed after the window), dispose of every lot (awarded
to the best bid or closed out on the venue) and charge the crystallised loss through the waterfall.

Units: cash in base units (6 decimals), prices in base units per unit, quantities whole units.
Sign convention of a lot's ``quantity`` and ``cash``: the CCP's (quantity > 0: units to receive,
cash > 0: cash to receive); a disposed lot's loss is ``-cash``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from smartccp.chain import eip712
from smartccp.types import CyclePhase

BID_FIELDS = (("bidder", "address"), ("lot", "uint256"), ("price", "uint64"), ("salt", "uint256"))
DOMAIN_NAME = "SmartCCP DefaultManagement"


class CasePhase(IntEnum):
    """``CasePhase`` of IDefaultManagement.sol."""

    NONE = 0
    OPEN = 1
    AUCTION = 2
    CLOSED = 3


class LotState(IntEnum):
    """``LotState`` of IDefaultManagement.sol."""

    OPEN = 0
    AWARDED = 1
    CLOSED_OUT = 2


@dataclass(frozen=True)
class SignedBid:
    """A bid ready to commit (``digest``) and, after the window, to reveal (``bid``, ``signature``)."""

    bid: tuple[str, int, int, int]
    digest: bytes
    signature: bytes

    @property
    def bidder(self) -> str:
        return self.bid[0]

    @property
    def lot(self) -> int:
        return self.bid[1]

    @property
    def price(self) -> int:
        return self.bid[2]


@dataclass(frozen=True)
class Lot:
    """``IDefaultManagement.lot``."""

    id: int
    defaulter: str
    account: str
    security_id: int
    quantity: int
    cash: int
    state: LotState
    leader: str
    leading_price: int
    legs: int


@dataclass
class CaseReport:
    """What a managed default did, for drills and the demo: each lot (formed and disposed), every
    bid (revealed, or refused with its error), the loss per account and the waterfall's cover."""

    defaulter: str
    taken: dict[int, tuple[int, int]] = field(default_factory=dict)  # lot -> (quantity, cash) taken over
    lots: list[dict[str, Any]] = field(default_factory=list)
    bids: list[dict[str, Any]] = field(default_factory=list)
    loss: int = 0
    covered: int = 0
    accounts: dict[str, int] = field(default_factory=dict)
    gas: dict[str, int] = field(default_factory=dict)

    def add_gas(self, step: str, receipt: Any) -> None:
        self.gas[step] = self.gas.get(step, 0) + int(receipt.gas_used)
        self.gas["largest"] = max(self.gas.get("largest", 0), int(receipt.gas_used))


def bid_typed_data(dm: Any, chain_id: int, message: dict[str, Any]) -> dict[str, Any]:
    """The EIP-712 payload of a ``Bid`` for the DefaultManagement contract ``dm``."""
    return eip712.payload("Bid", BID_FIELDS, eip712.domain(DOMAIN_NAME, chain_id, str(dm.address)), message)


def sign_bid(dm: Any, bidder: Any, lot: int, price: int, *, salt: int | None = None) -> SignedBid:
    """Sign a sealed bid of ``bidder`` for ``lot`` at ``price`` (base units per unit); a random
    ``salt`` keeps the committed digest from revealing the price."""
    from ape import chain

    message = {"bidder": str(bidder.address), "lot": int(lot), "price": int(price),
               "salt": secrets.randbits(256) if salt is None else int(salt)}
    data = bid_typed_data(dm, chain.chain_id, message)
    return SignedBid(tuple(message[n] for n, _ in BID_FIELDS), eip712.digest(data), eip712.sign(data, bidder))


def lot(dm: Any, lot_id: int) -> Lot:
    v = dm.lot(lot_id)
    return Lot(int(lot_id), str(v.defaulter), str(v.account), int(v.securityId), int(v.quantity), int(v.cash),
               LotState(int(v.state)), str(v.leader), int(v.leadingPrice), int(v.legs))


def lots_of(dm: Any, defaulter: Any) -> list[Lot]:
    return [lot(dm, i) for i in dm.lotsOf(defaulter)]


def take_over(dm: Any, defaulter: Any, wallets: Iterable[Any], security_ids: Sequence[int], sender: Any,
              report: CaseReport | None = None, *, page: int = 50) -> None:
    """Move every ``wallet``'s open obligations in ``security_ids`` into the case, a page of
    securities per call."""
    ids = [int(s) for s in security_ids]
    for w in wallets:
        for i in range(0, len(ids), page):
            r = dm.takeOver(defaulter, w, ids[i:i + page], sender=sender)
            if report is not None:
                report.add_gas("take_over", r)
                for log in r.decode_logs(dm.ObligationsTakenOver):
                    q, c = report.taken.get(int(log.lot), (0, 0))
                    report.taken[int(log.lot)] = (q + int(log.quantity), c + int(log.cash))


def port_omnibus_collateral(margin: Any, defaulter: Any, sender: Any, *, page: int = 50) -> int:
    """Once every omnibus client of ``defaulter`` has been ported to one member, move its omnibus
    collateral after them (``Margin.portOmnibusCollateral``, ``page`` securities lines a call,
    until done); returns the cash moved (base units)."""
    moved = 0
    while True:
        [log] = margin.portOmnibusCollateral(defaulter, page, sender=sender).decode_logs(margin.OmnibusCollateralPorted)
        moved += int(log.cash)
        if log.done:
            return moved


def settle_bridge(dm: Any, ccp: Any, defaulter: Any, sender: Any) -> Any | None:
    """Repay the default fund the bridge ``defaulter``'s case borrowed for close-out proceeds due
    in a later cycle (``settleBridge``), once that cycle has settled; None while there is no loan
    or its cycle has not settled."""
    _, lent, cycle = (int(x) for x in dm.bridgeOf(defaulter))
    if not lent or int(ccp.cycleInfo(cycle)[0]) != CyclePhase.SETTLED:
        return None
    return dm.settleBridge(defaulter, sender=sender)


def commit(dm: Any, bids: Iterable[SignedBid], accounts: dict[str, Any], report: CaseReport | None = None) -> None:
    """Each bidder commits its bid's digest (``accounts`` maps addresses to ape accounts)."""
    for b in bids:
        r = dm.commitBid(b.lot, b.digest, sender=accounts[b.bidder])
        if report is not None:
            report.add_gas("commit", r)


def reveal(dm: Any, bids: Iterable[SignedBid], sender: Any, report: CaseReport | None = None) -> list[SignedBid]:
    """Reveal every bid (anyone may); a refused one (above the bidder's margin, outside the band)
    is recorded with its error in ``report`` and skipped. Returns the bids accepted."""
    from smartccp.chain.errors import exception_error_name

    accepted = []
    for b in bids:
        row = {"lot": b.lot, "bidder": b.bidder, "price": b.price}
        try:
            r = dm.revealBid(b.bid, b.signature, sender=sender)
        except Exception as e:  # a refusal names its error; the auction goes on without the bid
            row["refused"] = exception_error_name(e)
        else:
            accepted.append(b)
            row["refused"] = None
            if report is not None:
                report.add_gas("reveal", r)
        if report is not None:
            report.bids.append(row)
    return accepted


def unsold(dm: Any, defaulter: Any) -> list[Lot]:
    """The open lots without a leader: what a disposal now would close out on the venue."""
    from ape.utils import ZERO_ADDRESS

    return [lt for lt in lots_of(dm, defaulter) if lt.state == LotState.OPEN and lt.leader == ZERO_ADDRESS]


def reopen(dm: Any, defaulter: Any, window: int, band_bps: int, sender: Any,
           report: CaseReport | None = None) -> int:
    """A second (or later) round for the lots still open, before any is closed out: bidding and
    reveal of ``window`` seconds each, bids within ``band_bps``; returns the new round."""
    r = dm.reopenAuction(defaulter, window, window, band_bps, sender=sender)
    if report is not None:
        report.add_gas("reopen", r)
    return int(dm.auctionRound(defaulter))


def dispose_all(dm: Any, defaulter: Any, sender: Any, report: CaseReport | None = None, *, max_makers: int = 8,
                max_rounds: int = 4) -> list[Lot]:
    """Dispose of every open lot (award, or close out on the venue; a partly closed-out lot is
    tried again up to ``max_rounds`` times). Returns the lots as disposed."""
    for lt in lots_of(dm, defaulter):
        rounds = 0
        while lt.state == LotState.OPEN and rounds < max_rounds:
            r = dm.disposeLot(lt.id, max_makers, sender=sender)
            if report is not None:
                report.add_gas("dispose", r)
            lt, rounds = lot(dm, lt.id), rounds + 1
    return lots_of(dm, defaulter)


def charge(dm: Any, defaulter: Any, sender: Any, report: CaseReport | None = None, *, page: int = 20) -> list[Any]:
    """Charge every account's net loss through the waterfall, a page of accounts per call;
    returns the receipts (their ``LayerUsed`` events are the fund's)."""
    receipts = []
    while CasePhase(int(dm.caseOf(defaulter)[0])) == CasePhase.AUCTION:
        r = dm.chargeLosses(defaulter, page, sender=sender)
        receipts.append(r)
        if report is not None:
            report.add_gas("charge", r)
    return receipts


def summarise(dm: Any, defaulter: Any, report: CaseReport) -> CaseReport:
    """Fill ``report`` with the case's lots, accounts and totals as the chain has them."""
    case = dm.caseOf(defaulter)
    report.loss, report.covered = int(case[6]), int(case[7])
    report.lots = []
    for lt in lots_of(dm, defaulter):
        quantity, owed = report.taken.get(lt.id, (None, None))
        report.lots.append({"lot": lt.id, "account": lt.account, "security_id": lt.security_id,
                            "quantity": quantity, "cash": owed,
                            "state": lt.state.name.lower(), "winner": lt.leader if lt.state == LotState.AWARDED else None,
                            "price": lt.leading_price if lt.state == LotState.AWARDED else None,
                            "loss": -lt.cash})
        loss, owed = (int(v) for v in dm.accountResult(defaulter, lt.account))
        report.accounts[lt.account] = loss - owed  # net: its lots' losses less their gains
    return report
