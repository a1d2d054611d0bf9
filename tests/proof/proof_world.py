"""The world of the proof of safety: a complete system (register, both ledgers, the CCP with a
close-out market and a default handler, one venue, two securities) with funded traders.

Accounts: operator 0, bank 1, issuer 2; traders member_a 3, member_b 4, client_x 5 (client of
member_a), member_c 6, member_d 7; vault 8 (a clearing member that never trades: where a failing
trader moves its assets); keeper 9 (never admitted: settles cycles, which anyone may do).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from smartccp.chain.system import System, deploy_system, kyc_expiry
from smartccp.clearing.ccp import wire_close_out
from smartccp.types import DAY, Segregation, TradingPhase
from smartccp.units import cash

TRADER_CASH = cash(1_000_000)
TRADER_UNITS = 10_000
MARKET_UNITS = 1_000_000
RISK_CASH = cash(100_000_000)
HOUR = 3_600


@dataclass(frozen=True)
class Security:
    sid: int
    tick: int  # cash base units
    lot: int
    lag_days: int
    base_tick: int  # starting mid price, in ticks


@dataclass
class World:
    """Everything a proof test drives."""

    system: System
    securities: list[Security]
    operator: Any
    bank: Any
    issuer: Any
    traders: list[Any]  # member_a, member_b, client_x, member_c, member_d
    clearing_member_of: dict[str, str]
    vault: Any
    keeper: Any
    market: Any
    handler: Any

    @property
    def sids(self) -> list[int]:
        return [s.sid for s in self.securities]


def build_world(accounts: Any, chain: Any, project: Any, warp: Any = None,
                client_mode: Segregation = Segregation.INDIVIDUAL, fail_rolls: int = 0) -> World:
    """Deploy and fund the whole system; time moved to 00:30 of a fresh day (see the state machine's
    timing note). ``warp(timestamp)`` mines a block at that time (default: through ape). The
    client x is admitted with ``client_mode`` (its own account, or member_a's omnibus account).
    The first security's failed deliveries roll ``fail_rolls`` times into the next cycle (CNS)
    before they are bought in; the others' are bought in at once."""
    operator, bank, issuer = accounts[0], accounts[1], accounts[2]
    a, b, x, c, d, vault, keeper = (accounts[i] for i in (3, 4, 5, 6, 7, 8, 9))
    # Start on 00:30 of a day boundary so every later time is HH:30 (+ wall-clock drift).
    start = (chain.pending_timestamp // DAY + 1) * DAY + HOUR // 2
    if warp is None:
        chain.pending_timestamp = start
        chain.mine()
    else:
        warp(start)
    system = deploy_system(operator, settlement_bank=bank, issuer=issuer)
    secs = []
    for symbol, isin, tick, lot, lag, base in (("ACME", b"US0000000001", cash("0.01"), 10, 0, 1_000),
                                                ("GOV5", b"XS0000000005", cash("0.01"), 1, 1, 100)):
        system.securities.listSecurity(symbol, isin, 0, tick, lot, 0, sender=issuer)
        sid = int(system.securities.securityCount())
        secs.append(Security(sid, tick, lot, lag, base))
    expiry = kyc_expiry(3_650)
    for m in (a, b, c, d, vault):
        system.membership.admitClearingMember(m, expiry, sender=operator)
    system.membership.admitParticipant(x, a, expiry, int(client_mode), sender=operator)
    traders = [a, b, x, c, d]
    for t in traders:
        system.cash.issue(t, TRADER_CASH, sender=bank)
        for s in secs:
            system.securities.issue(s.sid, t, TRADER_UNITS, sender=issuer)
        system.cash.approve(system.ccp, 2**256 - 1, sender=t)
        system.securities.setApprovalForAll(system.ccp, True, sender=t)
    market = project.MockCloseOutMarket.deploy(system.cash, system.securities, sender=operator)
    handler = project.MockDefaultHandler.deploy(system.cash, sender=operator)
    wire_close_out(system.ccp, system, operator, market=market, handler=handler)
    system.extra.update({"MockCloseOutMarket": market, "MockDefaultHandler": handler})
    for s in secs:
        system.securities.issue(s.sid, market, MARKET_UNITS, sender=issuer)
        market.setPrice(s.sid, s.base_tick * s.tick, sender=operator)
    system.cash.issue(market, RISK_CASH, sender=bank)
    system.cash.issue(handler, RISK_CASH, sender=bank)
    venue = system.venue
    for i, s in enumerate(secs):
        rolls = fail_rolls if i == 0 else 0
        system.ccp.setSecurityRules(s.sid, (True, False, 0, s.lag_days, 0, rolls), sender=operator)
        venue.listSecurity(s.sid, s.lag_days * DAY, sender=operator)
        venue.setPhase(s.sid, TradingPhase.CONTINUOUS, sender=operator)
    venue.setSessionEnd(start + 8 * HOUR - HOUR // 2, sender=operator)
    cms = {str(t.address): str(t.address) for t in traders}
    cms[str(x.address)] = str(a.address)
    return World(system, secs, operator, bank, issuer, traders, cms, vault, keeper, market, handler)



class TxFailed(AssertionError):
    """A transaction the driver expected to succeed reverted; ``error`` names why."""

    def __init__(self, method: str, error: str | None) -> None:
        super().__init__(f"{method} reverted: {error}")
        self.error = error


class FastSender:
    """Sends transactions straight to the node (``eth_sendTransaction`` from anvil's unlocked
    test accounts, fixed gas) and checks the receipt's status: about ten times faster than ape's
    full preparation (estimate, nonce, receipt objects), which the state machine cannot afford
    per step. Signing, hashing and settlement still go through ``smartccp``."""

    def __init__(self, rpc: Any, gas: int = 8_000_000) -> None:
        self.rpc = rpc
        self.gas = gas

    def __call__(self, contract: Any, method: str, *args: Any, sender: Any) -> dict:
        from eth_abi import encode

        from smartccp.chain.errors import refusal
        from smartccp.chain.multicall import method_abi

        selector, inputs, _ = method_abi(contract, method, len(args))
        frm = str(getattr(sender, "address", sender))
        tx = {"from": frm, "to": str(contract.address), "data": "0x" + (selector + encode(inputs, list(args))).hex(),
              "gas": hex(self.gas)}
        tx_hash = self.rpc.call("eth_sendTransaction", [tx])
        receipt = None
        for attempt in range(200):  # automine: at once, but the receipt may lag a moment
            receipt = self.rpc.call("eth_getTransactionReceipt", [tx_hash])
            if receipt is not None:
                break
            time.sleep(0.002 * min(attempt + 1, 10))
        if receipt is None:
            raise TxFailed(method, "no receipt")
        if int(receipt["status"], 16) != 1:
            raise TxFailed(method, refusal(contract, method, *args, sender=sender))
        return receipt

    def warp(self, timestamp: int) -> None:
        """Mine a block at ``timestamp`` (local nodes)."""
        self.rpc.call("evm_mine", [timestamp])


# ─── The world with the risk layer: real Margin (the venue's gate) and DefaultFund ──────────

#: 16 scenario shocks (bps) per security: synthetic, symmetric enough that both sides margin.
SHOCKS = [-1500, -1200, -900, -600, -400, -200, -100, 0, 100, 200, 400, 600, 900, 1200, 1500, 300]
INITIAL_MARGIN_CASH = cash(200)
CONTRIBUTION = cash(200)
SKIN_IN_THE_GAME = cash(100)  # small: losses beyond it reach the survivors (layer 4)
#: Fund members that only contribute (no trading): with the four traders, more than the old
#: ceiling of 16 fund members, so every charge to the survivors spreads over 21 balances.
PASSIVE_FUND_MEMBERS = 17


@dataclass
class RiskWorld:
    """``World`` plus the risk layer: Margin gates the venue, DefaultFund is the CCP's default
    handler; clearing members (member_a, member_b, member_c, member_d) have paid their
    contributions and posted ``INITIAL_MARGIN_CASH``; ``PASSIVE_FUND_MEMBERS`` more clearing
    members only contribute to the fund."""

    world: World
    margin: Any
    fund: Any
    members: list[Any]  # the trading clearing members
    passive: list[Any]  # fund members that do not trade
    shocks: dict[int, list[int]]
    management: Any = None  # DefaultManagement


def build_risk_world(accounts: Any, chain: Any, project: Any) -> RiskWorld:
    from smartccp.chain.system import admit
    from smartccp.risk.chain import (
        deploy_risk,
        publish_contributions,
        publish_prices,
        publish_scenarios,
    )

    w = build_world(accounts, chain, project)
    system, op = w.system, w.operator
    a, b, x, c, d = w.traders
    risk = deploy_risk(system, op, resync=[*w.traders, w.vault])
    shocks = {sid: list(SHOCKS) for sid in w.sids}
    publish_scenarios(risk.margin, shocks, op)
    publish_prices(risk.margin, {s.sid: s.base_tick * s.tick for s in w.securities}, op)
    members = [a, b, c, d]
    passive = [accounts.generate_test_account() for _ in range(PASSIVE_FUND_MEMBERS)]
    for m in passive:
        op.transfer(m, 10**17)
    admit(system, op, passive)
    publish_contributions(risk.fund, dict.fromkeys([*members, *passive], CONTRIBUTION), op)
    for m in passive:
        system.cash.issue(m, CONTRIBUTION, sender=w.bank)
        system.cash.approve(risk.fund, CONTRIBUTION, sender=m)
        risk.fund.contribute(CONTRIBUTION, sender=m)
    for m in members:
        system.cash.approve(risk.margin, 2**256 - 1, sender=m)
        system.cash.approve(risk.fund, 2**256 - 1, sender=m)
        risk.fund.contribute(CONTRIBUTION, sender=m)
        risk.margin.depositCash(INITIAL_MARGIN_CASH, sender=m)
    x = w.traders[2]  # the client posts in its own (individually segregated) account
    system.cash.approve(risk.margin, 2**256 - 1, sender=x)
    risk.margin.depositCash(INITIAL_MARGIN_CASH, sender=x)
    system.cash.issue(w.bank, SKIN_IN_THE_GAME, sender=w.bank)
    system.cash.approve(risk.fund, SKIN_IN_THE_GAME, sender=w.bank)
    risk.fund.fundSkinInTheGame(SKIN_IN_THE_GAME, sender=w.bank)
    return RiskWorld(w, risk.margin, risk.fund, members, passive, shocks, risk.management)
