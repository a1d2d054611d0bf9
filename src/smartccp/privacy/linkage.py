"""What an outsider learns about who trades with whom, from public chain data only.

The adversary of issue #24: it has an RPC endpoint and nothing else. For each trade it tries to
name the member or client on each side, and for each trading address the member or client
behind it, with the heuristics a chain analyst would apply, each on its own so the report says
what each one gives away:

trades (both counterparties named):
- ``venue Traded event``: a venue's ``Traded`` event carries the buyer and the seller;
- ``CCP legs in one transaction``: the CCP's two ``TradeNovated`` legs of a trade come in the
  same transaction with the same security and opposite quantity and cash, one naming each side;
- ``direct settlement event``: ``TradeSettledDirect`` names both parties of a gross DVP;
- ``token transfers in one transaction``: a direct trade's cash moves buyer -> seller and its
  units seller -> buyer in the same transaction.

trading addresses (the owner behind an address):
- ``register admission``: ``MemberAdmitted`` names each address's kind and clearing member
  (and ``ClientPorted`` each move), so every admitted address is its owner's own;
- ``register storage``: the register's entry of the address (``memberOf``) names its clearing
  member; a pseudonym's names the pseudonymous sponsor, which is nobody, until it is revealed;
- ``cash funding``: the first cash the address received came from a registered member or client
  (not the settlement bank or a system contract): the funder is who stands behind it;
- ``gas funding``: the first ether the address received came from a registered member or client;
- ``margin funding``: a registered member or client paid cash collateral into the address's
  margin account (the cash transfer to Margin in the transaction of its deposit);
- ``amount match`` (statistical, not structural): the address's first cash came from someone
  else (the settlement bank, say), but in the :data:`AMOUNT_WINDOW` blocks before it exactly one
  registered member or client paid out exactly that amount (to the bank, or redeemed it): the
  analyst guesses that one stands behind it. Round, common amounts make it guess wrong or not at
  all; it is here to show the channel, which no contract closes.

A trade counts as linked, per heuristic, when that heuristic names both its trading addresses
and an address heuristic names the owner behind each: a trade between two addresses nobody can
tie to an owner names nobody. ``link`` reads the logs of a block range and returns a
:class:`LinkageReport`: the share of trades whose two sides it named and of trading addresses it
tied to an owner, per heuristic and in all. Run against the system without pseudonyms it is the
baseline (100 %); between pseudonyms (:mod:`smartccp.privacy.pseudonyms`) every structural
heuristic finds nothing (``tests/privacy``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from ape import chain

from smartccp.chain.system import System
from smartccp.types import MemberKind

TRADE_HEURISTICS = ("venue Traded event", "CCP legs in one transaction", "direct settlement event",
                    "token transfers in one transaction")
ADDRESS_HEURISTICS = ("register admission", "register storage", "cash funding", "gas funding", "margin funding",
                      "amount match")
#: Blocks before an address's first cash in which the ``amount match`` heuristic looks for the
#: same amount leaving a registered member or client.
AMOUNT_WINDOW = 20
CLEARING_MEMBER, PARTICIPANT = int(MemberKind.CLEARING_MEMBER), int(MemberKind.PARTICIPANT)


@dataclass(frozen=True)
class SeenTrade:
    """One trade as the venue numbered it: ``(venue, tradeId)`` and the transaction it was in."""

    venue: str
    trade_id: int
    security_id: int
    quantity: int
    price: int
    tx: str


@dataclass
class LinkageReport:
    """What the outsider linked: per trade the (buyer, seller) each heuristic named, per address
    the owner each heuristic named."""

    trades: list[SeenTrade] = field(default_factory=list)
    named: dict[tuple[str, int], dict[str, tuple[str, str]]] = field(default_factory=dict)
    addresses: set[str] = field(default_factory=set)
    owners: dict[str, dict[str, str]] = field(default_factory=dict)

    def trade_share(self, heuristic: str | None = None) -> float:
        """Share of trades whose two sides ``heuristic`` (any, if None) named."""
        if not self.trades:
            return 0.0
        hit = sum(1 for t in self.trades if self._named(t, heuristic))
        return hit / len(self.trades)

    def address_share(self, heuristic: str | None = None) -> float:
        """Share of trading addresses ``heuristic`` (any, if None) tied to an owner."""
        if not self.addresses:
            return 0.0
        hit = sum(1 for a in self.addresses if heuristic in self.owners.get(a, {}) or
                  (heuristic is None and self.owners.get(a)))
        return hit / len(self.addresses)

    def counterparties(self, venue: str, trade_id: int) -> tuple[str, str] | None:
        """The (buyer, seller) addresses a heuristic named for a trade and whose owners the
        outsider knows, if any."""
        names = self.named.get((venue.lower(), trade_id), {})
        return next((pair for pair in names.values() if self._owned(pair)), None)

    def owner_of(self, address: str) -> str | None:
        """The owner an address heuristic names behind ``address``, if any."""
        return next(iter(self.owners.get(address, {}).values()), None)

    def figures(self) -> dict[str, Any]:
        return {
            "trades": len(self.trades),
            "trades_linked_share": round(self.trade_share(), 4),
            "trades_by_heuristic": {h: round(self.trade_share(h), 4) for h in TRADE_HEURISTICS},
            "addresses": len(self.addresses),
            "addresses_linked_share": round(self.address_share(), 4),
            "addresses_by_heuristic": {h: round(self.address_share(h), 4) for h in ADDRESS_HEURISTICS},
        }

    def summary(self) -> str:
        f = self.figures()
        lines = [f"{f['trades']} trades: both sides named for {f['trades_linked_share']:.0%}",
                 *(f"  {h:<36} {v:.0%}" for h, v in f["trades_by_heuristic"].items()),
                 f"{f['addresses']} trading addresses: owner named for {f['addresses_linked_share']:.0%}",
                 *(f"  {h:<36} {v:.0%}" for h, v in f["addresses_by_heuristic"].items())]
        return "\n".join(lines)

    def _owned(self, pair: tuple[str, str]) -> bool:
        return all(self.owners.get(a) for a in pair)

    def _named(self, t: SeenTrade, heuristic: str | None) -> bool:
        names = self.named.get((t.venue.lower(), t.trade_id), {})
        if heuristic is None:
            return any(self._owned(pair) for pair in names.values())
        return heuristic in names and self._owned(names[heuristic])


def link(system: System, start_block: int = 0, stop_block: int | None = None) -> LinkageReport:
    """Apply every heuristic to the logs of blocks ``start_block`` .. ``stop_block`` (exclusive;
    default: the head) of a deployed ``system``."""
    stop = chain.blocks.head.number + 1 if stop_block is None else stop_block
    report = LinkageReport()
    by_tx: dict[str, list[SeenTrade]] = defaultdict(list)
    for venue in system.venues:
        for log in venue.Traded.range(start_block, stop):
            t = SeenTrade(str(venue.address), int(log.tradeId), int(log.securityId), int(log.quantity),
                          int(log.price), _tx(log))
            report.trades.append(t)
            by_tx[t.tx].append(t)
            _name(report, t, "venue Traded event", str(log.buyer), str(log.seller))
    if system.ccp is not None:
        _ccp_legs(report, system.ccp, by_tx, start_block, stop)
        _direct(report, system, by_tx, start_block, stop)
    _owners(report, system, start_block, stop)
    return report


def _tx(log: Any) -> str:
    h = log.transaction_hash
    return h.hex() if isinstance(h, bytes) else str(h)


def _name(report: LinkageReport, t: SeenTrade, heuristic: str, buyer: str, seller: str) -> None:
    report.named.setdefault((t.venue.lower(), t.trade_id), {})[heuristic] = (buyer, seller)
    report.addresses.update((buyer, seller))


def _match(candidates: Iterable[SeenTrade], security_id: int, quantity: int, cash_amount: int,
           taken: set[tuple[str, int]]) -> SeenTrade | None:
    """The first trade of the transaction not yet matched whose security, size and value fit."""
    for t in candidates:
        key = (t.venue.lower(), t.trade_id)
        if key not in taken and t.security_id == security_id and t.quantity == quantity \
                and t.quantity * t.price == cash_amount:
            taken.add(key)
            return t
    return None


def _ccp_legs(report: LinkageReport, ccp: Any, by_tx: dict[str, list[SeenTrade]], start: int, stop: int) -> None:
    """Pair each buyer leg with a seller leg of the same transaction, security and magnitudes."""
    legs: dict[str, list[Any]] = defaultdict(list)
    for log in ccp.TradeNovated.range(start, stop):
        legs[_tx(log)].append(log)
    for tx, logs in legs.items():
        buys = [g for g in logs if int(g.quantity) > 0]
        sells = [g for g in logs if int(g.quantity) < 0]
        taken: set[tuple[str, int]] = set()
        for b in buys:
            s = next((g for g in sells if int(g.securityId) == int(b.securityId)
                      and -int(g.quantity) == int(b.quantity) and int(g.cashAmount) == -int(b.cashAmount)), None)
            if s is None:
                continue
            sells.remove(s)
            t = _match(by_tx.get(tx, []), int(b.securityId), int(b.quantity), -int(b.cashAmount), taken)
            if t is not None:
                _name(report, t, "CCP legs in one transaction", str(b.account), str(s.account))


def _direct(report: LinkageReport, system: System, by_tx: dict[str, list[SeenTrade]], start: int, stop: int) -> None:
    """Gross DVP trades: the CCP's event, and the two token transfers of the same transaction."""
    ccp = system.ccp
    taken: set[tuple[str, int]] = set()
    for log in ccp.TradeSettledDirect.range(start, stop):
        t = _match(by_tx.get(_tx(log), []), int(log.securityId), int(log.quantity), int(log.cashAmount), taken)
        if t is not None:
            _name(report, t, "direct settlement event", str(log.buyer), str(log.seller))
    cash_moves: dict[str, list[Any]] = defaultdict(list)
    for log in system.cash.Transfer.range(start, stop):
        cash_moves[_tx(log)].append(log)
    taken = set()
    for log in system.securities.TransferSingle.range(start, stop):
        tx = _tx(log)
        units_to, units_from, quantity = str(log.to), str(log["from"]), int(log.value)
        for c in cash_moves.get(tx, []):
            if str(c["from"]) == units_to and str(c.to) == units_from:
                t = _match(by_tx.get(tx, []), int(log.id), quantity, int(c.value), taken)
                if t is not None:
                    _name(report, t, "token transfers in one transaction", units_to, units_from)
                break


def _owners(report: LinkageReport, system: System, start: int, stop: int) -> None:
    """Owners of the trading addresses: the register's own events, then who funded them."""
    member_of: dict[str, str] = {}
    traders: set[str] = set()  # registered clearing members and participants
    for log in system.membership.MemberAdmitted.range(0, stop):
        member_of[str(log.account)] = str(log.clearingMember)
        if int(log.kind) in (CLEARING_MEMBER, PARTICIPANT):
            traders.add(str(log.account))
    for log in system.membership.ClientPorted.range(0, stop):
        member_of[str(log.client)] = str(log.toClearingMember)
    funders: dict[str, str] = {}
    first_cash: dict[str, tuple[int, int]] = {}  # address -> (amount, block) of its first cash
    paid_out: list[tuple[int, int, str]] = []  # (block, amount, payer) of every cash transfer
    for log in system.cash.Transfer.range(0, stop):
        funders.setdefault(str(log.to), str(log["from"]))
        first_cash.setdefault(str(log.to), (int(log.value), int(log.block_number)))
        paid_out.append((int(log.block_number), int(log.value), str(log["from"])))
    gas_funders = _gas_funders(report.addresses, start, stop)
    margin_payers = _margin_payers(system, stop)
    sponsor = str(system.membership.pseudonymSponsor())
    for a in report.addresses:
        owner = report.owners.setdefault(a, {})
        if a in member_of:
            # A registered account: its owner is itself (a member, or a client whose clearing
            # member the event names too).
            owner["register admission"] = a if member_of[a] == a else f"{a} (client of {member_of[a]})"
        entry = system.membership.memberOf(a)
        if int(entry.status) and str(entry.clearingMember) != sponsor:
            cm = str(entry.clearingMember)
            owner["register storage"] = a if cm == a else f"{a} (client of {cm})"
        if funders.get(a) in traders:
            owner["cash funding"] = funders[a]
        if gas_funders.get(a) in traders:
            owner["gas funding"] = gas_funders[a]
        payer = next((p for p in margin_payers.get(a, ()) if p in traders and p != a), None)
        if payer is not None:
            owner["margin funding"] = payer
        if a in first_cash and funders[a] not in traders and a not in traders:
            amount, block = first_cash[a]
            payers = {p for b, v, p in paid_out if v == amount and block - AMOUNT_WINDOW <= b <= block and p in traders}
            if len(payers) == 1:
                owner["amount match"] = payers.pop()


def _gas_funders(addresses: set[str], start: int, stop: int) -> dict[str, str]:
    """The sender of the first transaction in blocks ``start .. stop`` that sent ether to each
    address (one block read per block: give a start near the trades)."""
    first: dict[str, str] = {}
    for number in range(start, stop):
        for tx in chain.blocks[number].transactions:
            to = getattr(tx, "receiver", None)
            if to and int(getattr(tx, "value", 0) or 0) > 0 and str(to) in addresses:
                first.setdefault(str(to), str(tx.sender))
    return first


def _margin_payers(system: System, stop: int) -> dict[str, list[str]]:
    """Per margin account, who paid cash collateral into it (blocks ``0 .. stop``): the cash
    transfer to Margin in the transaction of each positive ``CashCollateralMoved``."""
    margin = system.extra.get("Margin")
    if margin is None:
        return {}
    payments: dict[str, list[str]] = defaultdict(list)
    for log in system.cash.Transfer.range(0, stop):
        if str(log.to) == str(margin.address):
            payments[_tx(log)].append(str(log["from"]))
    payers: dict[str, list[str]] = defaultdict(list)
    for log in margin.CashCollateralMoved.range(0, stop):
        if int(log.amount) > 0:
            payers[str(log.account)].extend(payments.get(_tx(log), ()))
    return payers
