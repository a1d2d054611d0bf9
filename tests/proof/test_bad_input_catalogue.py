"""The bad-input catalogue: every class of hostile or malformed input, each sent as a real
transaction (fixed gas, so it is mined and reverts on chain rather than failing an estimate),
refused with a named custom error, and nothing changed: balances, books, obligations, custody.

``CATALOGUE`` collects class -> error as the tests run; the last test prints the table and checks
that at least ``MIN_CLASSES`` classes were covered. Refusal tests elsewhere (tests/trading,
tests/clearing) overlap on purpose: this module is the one list.

Role-restricted functions are enumerated from the ABIs: every state-changing function of every
system contract, called by an outsider with plausible arguments, must revert with an access
error, except the explicit allow-list of permissionless functions (each with the reason it is
open).
"""

from __future__ import annotations

import ape
import pytest
from proof_world import HOUR, FastSender, World

from smartccp.chain.errors import error_name, sent_refusal
from smartccp.chain.roles import VENUE_ROLE, role
from smartccp.chain.rpc import Rpc
from smartccp.chain.system import deploy_venue
from smartccp.clearing.ccp import check_ccp_empty, run_cycle, settle_instruction, warp_past
from smartccp.proof.invariants import InvariantSuite
from smartccp.trading.orders import Domain, Order, sign_order
from smartccp.trading.venue import VenueClient
from smartccp.types import OrderType, Route, Side, TimeInForce

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
MIN_CLASSES = 20
CATALOGUE: dict[str, str] = {}

#: Errors that mean "you may not call this": the access checks of the system contracts.
ACCESS_ERRORS = {"AccessControlUnauthorizedAccount", "OnlyMembership", "OnlySecurityToken", "UnauthorisedVenue",
                 "NotTrusted",
                 "NotIssuer", "OnlyDelegateCall", "NotCustodian", "NotCompressor"}

#: State-changing functions anyone may call, and why that is safe.
PERMISSIONLESS = {
    "placeOrder": "authorised by the owner's EIP-712 signature, not by the sender",
    "placeOrders": "OrderRelay: each order goes through placeOrder; the relay holds no role or state",
    "quote": "a market maker's two signed orders: authorised by their EIP-712 signatures",
    "cancelOrder": "checks the caller owns the order (NotOrderOwner)",
    "cancelAll": "bumps the caller's own counter",
    "invalidateNonce": "burns the caller's own nonce",
    "purge": "removes only orders that can no longer match (OrderStillValid)",
    "triggerOrders": "releases only parked orders whose trigger the last price reached",
    "syncHooks": "only carries the hook settings the admin chose into the markets' flags (a page of the sweep)",
    "settleCycle": "anyone may settle a due cycle (keepers)",
    "prefundCash": "moves the caller's own cash", "prefundSecurities": "moves the caller's own units",
    "withdrawCash": "returns the caller's own balance", "withdrawSecurities": "returns the caller's own units",
    "renounceRole": "only for the caller itself (AccessControlBadConfirmation)",
    "transfer": "holder rules of the permissioned ledger", "transferFrom": "allowance and holder rules",
    "approve": "the caller's own allowance", "permit": "authorised by the owner's signature",
    "safeTransferFrom": "approval and holder rules", "safeBatchTransferFrom": "approval and holder rules",
    "setApprovalForAll": "the caller's own approval",
    "acceptPort": "the caller's own consent, and only an active clearing member's (WrongMemberKind)",
    "acceptPortsFrom": "the caller's own consent, and only an active clearing member's (WrongMemberKind)",
    "claimContributionInterest": "pays the caller its own interest (NoInterestAccrued if none)",
    "claimPrefundInterest": "pays the caller the interest on its own pre-funded cash (NoInterestAccrued if none)",
    "admitPseudonym": "authorised by the register's EIP-712 attestation (BadAttestation), once (AttestationUsed)",
}
SYSTEM_CONTRACTS = ("Membership", "CashToken", "SecurityToken", "TradeVenue", "CCPSettlement", "VenueAuctions",
                    "VenueAdmin", "OrderRelay")


# ─── Fixtures and helpers ──────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def market(world: World):
    """On top of the world: a resting offer, one trade (an open cycle with obligations), a second
    venue listing the same equity, and a fast sender for real reverting transactions."""
    system = world.system
    a, b = world.traders[0], world.traders[1]
    acme = world.securities[0]
    client = VenueClient(system.venue)
    rested = client.place(Order(owner=str(a.address), securityId=acme.sid, side=Side.SELL, quantity=100,
                                price=acme.base_tick * acme.tick), a)
    resting_id = client.resting_id(rested)
    client.place(Order(owner=str(b.address), securityId=acme.sid, side=Side.BUY, quantity=10,
                       price=acme.base_tick * acme.tick), b)
    venue_b = deploy_venue(system.membership, system.securities, world.operator, "SmartCCP Venue B", system.ccp)
    system.ccp.grantRole(VENUE_ROLE, venue_b, sender=world.operator)
    venue_b.listSecurity(acme.sid, 0, sender=world.operator)
    venue_b.setPhase(acme.sid, 2, sender=world.operator)
    system.membership.resync([str(t.address) for t in world.traders], sender=world.operator)
    rpc = Rpc.connected()
    return {"client": client, "resting_id": resting_id, "venue_b": venue_b, "rpc": rpc, "send": FastSender(rpc)}


def fingerprint(world: World, market) -> tuple:  # noqa: ANN001
    """Everything a refusal must leave alone: balances of every holder, custody and per-account
    CCP balances, the open cycle and its obligations, both books and the resting order."""
    suite = InvariantSuite(world.system, world.sids, provider=market["rpc"])
    suite.poll()
    cycle = int(world.system.ccp.settlementCycle(world.sids[0])[0])
    state = suite.read(cycles=[cycle], order_ids=[market["resting_id"]])
    other = market["venue_b"].depth(world.sids[0], 10)
    return (state.supply, state.balances, state.custody, state.prefunded, state.open_obligations, state.cycles,
            state.obligations, state.depth, state.orders, tuple(map(tuple, other)))


def attempt(market, contract, method: str, *args, sender) -> str:  # noqa: ANN001
    """Send ``contract.method(*args)`` as a real transaction; it must be mined and revert. Returns
    the name of the error (replayed by ``eth_call`` on the unchanged state)."""
    return sent_refusal(contract, method, *args, sender=sender, provider=market["rpc"])


def refused(world, market, cls: str, expected: str, contract, method: str, *args, sender) -> None:  # noqa: ANN001
    """One catalogue entry: refused with ``expected``, nothing changed."""
    before = fingerprint(world, market)
    got = attempt(market, contract, method, *args, sender=sender)
    assert got == expected, f"{cls}: expected {expected}, got {got}"
    assert fingerprint(world, market) == before, f"{cls}: state changed"
    CATALOGUE[cls] = got


def order(world: World, who: int, **kw) -> Order:
    acme = world.securities[0]
    fields = dict(owner=str(world.traders[who].address), securityId=acme.sid, side=Side.BUY, quantity=10,
                  price=acme.base_tick * acme.tick, nonce=900 + len(CATALOGUE))
    fields.update(kw)
    return Order(**fields)


def place_args(order_: Order, signature: bytes, max_makers: int = 64) -> tuple:
    return (order_.as_tuple(), signature, max_makers)


# ─── Signatures and replay ─────────────────────────────────────────────────────────────────


def test_signatures_and_replay(world, market):
    venue, client, b = world.system.venue, market["client"], world.traders[1]
    o = order(world, 1)
    sig = client.sign(o, b)
    r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    malleated = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])
    refused(world, market, "signature malleability (high s)", "ECDSAInvalidSignatureS", venue, "placeOrder",
            *place_args(o, malleated), sender=b)
    refused(world, market, "signature garbage", "ECDSAInvalidSignature", venue, "placeOrder",
            *place_args(o, b"\x01" * 65), sender=b)
    refused(world, market, "signature wrong length", "ECDSAInvalidSignatureLength", venue, "placeOrder",
            *place_args(o, sig[:63]), sender=b)
    refused(world, market, "signed by someone else", "SignerNotOwner", venue, "placeOrder",
            *place_args(o, client.sign(o, world.traders[0])), sender=b)
    other_chain = Domain(client.domain.name, 1, client.domain.verifying_contract)
    refused(world, market, "replay across chains", "SignerNotOwner", venue, "placeOrder",
            *place_args(o, sign_order(o, other_chain, b)), sender=b)
    # Signed for venue A, submitted to venue B (same security, same owner, same chain).
    refused(world, market, "replay across venues", "SignerNotOwner", market["venue_b"], "placeOrder",
            *place_args(o, sig), sender=b)
    # Placed once (it fills against the resting offer), then replayed by a relayer.
    market["send"](venue, "placeOrder", *place_args(o, sig), sender=b)
    refused(world, market, "replay of a placed order", "NonceUsed", venue, "placeOrder", *place_args(o, sig),
            sender=world.keeper)
    o2 = order(world, 1)
    market["send"](venue, "cancelAll", sender=b)
    refused(world, market, "order voided by cancelAll (stale counter)", "StaleCounter", venue, "placeOrder",
            *place_args(o2, client.sign(o2, b)), sender=b)


# ─── Validity, amounts, batches ────────────────────────────────────────────────────────────


def test_validity_amounts_and_batches(world, market, chain):
    venue, client = world.system.venue, market["client"]
    c = world.traders[3]
    counter = int(venue.counterOf(c))
    now = chain.pending_timestamp
    acme = world.securities[0]

    def bad(cls, err, **kw):  # noqa: ANN001, ANN003
        o = order(world, 3, counter=counter, **kw)
        refused(world, market, cls, err, venue, "placeOrder", *place_args(o, client.sign(o, c)), sender=c)

    bad("expired order (GTD in the past)", "OrderExpired", timeInForce=TimeInForce.GTD, expiry=now - HOUR)
    bad("not yet valid (timed order)", "OrderNotYetValid", validFrom=now + HOUR)
    bad("zero quantity", "ZeroQuantity", quantity=0)
    bad("overflowing quantity", "QuantityTooLarge", quantity=2**64 - 10 - (2**64 - 10) % 10)
    bad("zero price", "ZeroPrice", price=0)
    bad("price above the book's range", "PriceOutOfRange", price=(2**63 // acme.tick) * acme.tick)
    bad("off tick", "OffTick", price=acme.base_tick * acme.tick + 1)
    bad("off lot", "OffLot", quantity=15)
    bad("iceberg display above quantity", "InvalidDisplayQuantity", orderType=OrderType.ICEBERG,
        displayQuantity=20, quantity=20)
    bad("wallet not the owner's", "WalletNotOwner", cashWallet=str(world.vault.address))
    o = order(world, 3, counter=counter)
    refused(world, market, "maker bound above the venue's", "TooManyMakers", venue, "placeOrder",
            *place_args(o, client.sign(o, c), 65), sender=c)
    outsider = world.keeper
    o = Order(owner=str(outsider.address), securityId=acme.sid, side=Side.BUY, quantity=10, price=acme.tick * 1000,
              nonce=1)
    refused(world, market, "order by a non-member", "NotAdmitted", venue, "placeOrder",
            *place_args(o, client.sign(o, outsider)), sender=outsider)
    ccp, cash_token = world.system.ccp, world.system.cash
    refused(world, market, "zero amount (pre-fund)", "ZeroAmount", ccp, "prefundCash", 0, sender=c)
    refused(world, market, "zero amount (issue)", "ZeroAmount", cash_token, "issue", str(c.address), 0,
            sender=world.bank)
    refused(world, market, "zero batch (settle)", "ZeroBatch", ccp, "settleCycle", 1, 0, sender=outsider)
    refused(world, market, "overflowing amount (pre-fund > 2^128)", "SafeCastOverflowedUintDowncast", ccp,
            "prefundCash", 2**200, sender=c)
    refused(world, market, "amount above balance", "ERC20InsufficientBalance", cash_token, "transfer",
            str(world.vault.address), 2**200, sender=c)
    refused(world, market, "oversize batch: Membership.resync > 100", "BatchTooLarge", world.system.membership,
            "resync", [str(c.address)] * 101, sender=world.operator)
    refused(world, market, "oversize batch: venue purge > 100", "BatchTooLarge", venue, "purge",
            [market["resting_id"]] * 101, sender=outsider)
    refused(world, market, "purge of a live order", "OrderStillValid", venue, "purge", [market["resting_id"]],
            sender=outsider)
    refused(world, market, "cancel someone else's order", "NotOrderOwner", venue, "cancelOrder",
            market["resting_id"], sender=c)
    refused(world, market, "cancel an unknown order", "UnknownOrder", venue, "cancelOrder", 12345, sender=c)
    refused(world, market, "transfer to a non-member", "NotAdmitted", cash_token, "transfer", str(outsider.address),
            1, sender=c)
    refused(world, market, "units sent to the CCP unasked", "UnexpectedTransfer", world.system.securities,
            "safeTransferFrom", str(c.address), str(ccp.address), acme.sid, 1, b"", sender=c)
    cycle = int(ccp.settlementCycle(acme.sid)[0])
    refused(world, market, "settle a cycle before its date ends", "CycleNotDue", ccp, "settleCycle", cycle, 10,
            sender=outsider)
    refused(world, market, "settle an unknown cycle", "UnknownCycle", ccp, "settleCycle", 1, 10, sender=outsider)
    refused(world, market, "withdraw while obligations are open", "PrefundLocked", ccp, "withdrawCash", 1,
            sender=world.traders[0])


# ─── Every role-restricted function, from the ABIs ────────────────────────────────────────


def _default(abi_type):  # noqa: ANN001, ANN202
    t = abi_type.canonical_type
    if t.endswith("[]"):
        return []
    if t.endswith("]"):  # fixed-size array, e.g. quote's Order[2]: N defaults of the element type
        n = int(t[t.rindex("[") + 1:-1])
        element = abi_type.model_copy(update={"type": abi_type.type[: abi_type.type.rindex("[")]})
        return [_default(element)] * n
    if t.startswith("("):
        return tuple(_default(c) for c in abi_type.components)
    if t == "address":
        return "0x" + "11" * 20
    if t == "bool":
        return True
    if t == "string":
        return "X"
    if t == "bytes":
        return b""
    if t.startswith("bytes"):
        return b"\x00" * int(t[5:])
    return 1


def test_role_restricted_functions__outsider__access_error(world, market):
    handles = {"Membership": world.system.membership, "CashToken": world.system.cash,
               "SecurityToken": world.system.securities, "TradeVenue": world.system.venue,
               "CCPSettlement": world.system.ccp,
               "VenueAuctions": ape.project.VenueAuctions.at(world.system.venue.auctionsModule()),
               "VenueAdmin": ape.project.VenueAdmin.at(world.system.venue.adminModule()),
               "OrderRelay": world.system.relay}
    outsider = world.keeper
    results, before = {}, fingerprint(world, market)
    for name in SYSTEM_CONTRACTS:
        c = handles[name]
        for abi in c.contract_type.abi:
            if getattr(abi, "type", "") != "function" or abi.stateMutability in ("view", "pure"):
                continue
            if abi.name in PERMISSIONLESS:
                continue
            args = [_default(i) for i in abi.inputs]
            got = attempt(market, c, abi.name, *args, sender=outsider)
            results[f"{name}.{abi.name}"] = got
    assert fingerprint(world, market) == before
    unprotected = {f: e for f, e in results.items() if e not in ACCESS_ERRORS}
    assert not unprotected, f"state-changing functions without an access check: {unprotected}"
    assert len(results) >= 30
    for fn, err in sorted(results.items()):
        CATALOGUE[f"wrong account: {fn}"] = err


# ─── Re-entrant and contract-wallet callbacks ─────────────────────────────────────────────


def test_reentrant_erc1155_receiver__callback_refused__settlement_completes(world, market, project):
    """A contract wallet (a clearing member) that re-enters the CCP (``settleCycle``) from its
    ERC-1155 hook while being paid out: the re-entry is refused with ReentrancyGuardReentrantCall
    (recorded by the wallet, which then accepts the units), the cycle settles, the wallet gets
    exactly its units, and the CCP holds only custody. (The variant that bubbles the refusal,
    so the pay-out is deferred, is in tests/clearing/test_settlement.py.)"""
    system, op = world.system, world.operator
    evil = project.MockReentrantReceiver.deploy(system.ccp, sender=op)
    system.membership.admitClearingMember(evil, int(system.membership.memberOf(world.traders[0]).kycExpiry),
                                          sender=op)
    system.cash.issue(evil, 10**12, sender=world.bank)
    evil.approveAll(system.cash, system.securities, sender=op)
    venue_acct = world.vault  # stands in for a venue: novates one trade for the contract wallet
    system.ccp.grantRole(VENUE_ROLE, venue_acct, sender=op)
    gov = world.securities[1]
    cycle, deadline = system.ccp.settlementCycle(gov.sid)
    system.ccp.settle(settle_instruction(1, evil, world.traders[1], gov.sid, 10, gov.tick * 100, deadline),
                      sender=venue_acct)
    evil.arm(cycle, True, False, sender=op)
    warp_past(system.ccp, cycle)
    report = run_cycle(system.ccp, cycle, world.keeper)
    assert report.phase.name == "SETTLED" and report.failures == 0
    assert int(evil.attempts()) == 1 and not evil.reentered()
    assert error_name(bytes(evil.lastError())) == "ReentrancyGuardReentrantCall"
    assert int(system.securities.balanceOf(evil, gov.sid)) == 10
    check_ccp_empty(system.ccp, system, world.sids)
    CATALOGUE["re-entrant ERC-1155 callback into the CCP"] = "ReentrancyGuardReentrantCall"


def test_reentrant_cancel__inside_a_match__refused(world, market, project):
    """A contract wallet buying on the Direct route (gross DVP inside the match) calls the
    venue's ``cancelOrder`` from its ERC-1155 hook. A cancel does not take the venue's guard,
    but it refuses to run inside another venue operation (the match holds the level in memory):
    ReentrancyGuardReentrantCall, recorded by the wallet; the trade completes and the wallet's
    own resting bid, which the call tried to cancel, still rests."""
    system, op, venue = world.system, world.operator, world.system.venue
    acme, seller, router = world.securities[0], world.traders[1], world.keeper
    evil = project.MockReentrantCaller.deploy(sender=op)
    system.membership.admitClearingMember(evil, int(system.membership.memberOf(world.traders[0]).kycExpiry),
                                          sender=op)
    system.cash.issue(evil, 10**12, sender=world.bank)
    evil.approve(system.cash, system.securities, system.ccp, sender=op)
    venue.grantRole(role("ROUTER_ROLE"), router, sender=op)
    client, price = market["client"], (acme.base_tick - 1) * acme.tick  # below every resting offer
    client.place(Order(owner=str(seller.address), securityId=acme.sid, side=Side.SELL, quantity=10, price=price,
                       route=Route.DIRECT), seller)
    own = client.with_nonce(Order(owner=str(evil.address), securityId=acme.sid, side=Side.BUY, quantity=10,
                                  price=price - 10 * acme.tick))
    own_id = client.resting_id(venue.placeTrusted(own.as_tuple(), 10, sender=router))
    resting_before = venue.orderOf(own_id)
    evil.arm(venue, venue.cancelOrder.encode_input(own_id), sender=op)  # its own resting bid
    buy = client.with_nonce(Order(owner=str(evil.address), securityId=acme.sid, side=Side.BUY, quantity=10,
                                  price=price, route=Route.DIRECT))
    receipt = venue.placeTrusted(buy.as_tuple(), 10, sender=router)
    venue.revokeRole(role("ROUTER_ROLE"), router, sender=op)
    assert [t.quantity for t in client.trades(receipt)] == [10]
    assert int(system.securities.balanceOf(evil, acme.sid)) == 10
    assert int(evil.attempts()) == 1 and not evil.reentered()
    assert error_name(bytes(evil.lastError())) == "ReentrancyGuardReentrantCall"
    assert venue.orderOf(own_id) == resting_before and resting_before[0] == evil.address
    CATALOGUE["re-entrant cancel from a token callback inside a match"] = "ReentrancyGuardReentrantCall"


def test_catalogue_table():
    """Print the catalogue (class -> error); at least MIN_CLASSES classes of bad input."""
    classes = {k for k in CATALOGUE if not k.startswith("wrong account: ")}
    classes.add("wrong account (every role-restricted function)")
    width = max(map(len, CATALOGUE))
    print("\nbad-input catalogue")
    for cls, err in CATALOGUE.items():
        print(f"  {cls:<{width}}  {err}")
    assert len(classes) >= MIN_CLASSES, f"only {len(classes)} classes"
