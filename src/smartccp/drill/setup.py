"""The drill's setup step: deploy the system from ``deployments/drill.yaml`` (every role its own
key, a ``SmartCCPTimelock`` admin of every contract after the last stage) shaped by the scenario
(venues, BBO, risk contracts and model), admit and fund the members, list the securities, wire
the close-out market through the timelock and (``risk.margin: chain``) publish the risk
parameters and fund the risk contracts. A part of :class:`DrillRunner`."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from ape import chain

from smartccp.chain.accounts import KEY_ROLES, seeded_account
from smartccp.chain.governance import TimelockAdmin, admin_apply
from smartccp.chain.system import kyc_expiry, list_security
from smartccp.clearing.ccp import supplies
from smartccp.clearing.closeout import make_close_out
from smartccp.drill.base import CHAIN_NOTICE, MODEL_NOTICE, TREASURY_MULTIPLE
from smartccp.drill.life import setup_life
from smartccp.ops.deploy import deploy as deploy_spec
from smartccp.ops.spec import DeploymentSpec, load_spec
from smartccp.privacy import pseudonyms
from smartccp.privacy.records import DEV_CCP_KEY, DEV_REGULATOR_KEY
from smartccp.privacy.stealth import StealthKeys
from smartccp.risk.chain import (
    publish_contributions,
    publish_prices,
    publish_scenarios,
    sign_fund_transfer,
)
from smartccp.sim.scenario import SECURITY_KINDS
from smartccp.sim.simulator import FlowDriver
from smartccp.trading.bbo import BboClient
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY, MAX_UINT

#: The drills' deployment file: the keys and the timelock (the scenario shapes the rest).
DRILL_SPEC = Path("deployments/drill.yaml")
#: A rolling drill (``settlement: rolling``) trades its day 0 this many cycles after its securities
#: are listed (and its bonds' maturities fixed): more than the setup's timelocked changes take
#: (the delay, two days, at most three times).
SETUP_CYCLES = 8


class DrillSetup:
    """The drill's setup step: deploy the system, admit and fund the members, list the securities,
    and (``risk.margin: chain``) deploy and fund the risk contracts. A part of :class:`DrillRunner`."""

    def _account(self, name: str) -> Any:
        return seeded_account(f"smartccp-drill:{self.sc.name}:{self.sc.seed}:{name}", self.roles.operator)

    def deployment_spec(self) -> DeploymentSpec:
        """:data:`DRILL_SPEC` shaped by the scenario: its venues, the BBO if it asks for one, the
        risk contracts with its margin model if its risk runs on chain."""
        spec, sc = load_spec(DRILL_SPEC), self.sc
        parts = {p for p, wanted in (("risk", self.on_chain_risk), ("bbo", sc.bbo)) if wanted}
        risk = replace(spec.risk, scenarios=sc.risk.n_scenarios, confidence_bps=round(sc.risk.confidence * 10_000),
                       horizon_days=sc.risk.horizon_days, assessment_cap_bps=sc.risk.assessment_cap_bps,
                       port_window=sc.risk.port_window)
        return replace(spec, name=f"drill-{sc.name}", venues=tuple(f"SmartCCP Venue {chr(65 + i)}" for i in range(sc.venues)),
                       parts=frozenset(parts), risk=risk)

    def _registry(self) -> Path:
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
            return self.out / f"drill_{self.sc.name}.registry.json"
        return Path(tempfile.mkdtemp(prefix="smartccp-drill-")) / "registry.json"

    def _setup(self) -> dict[str, Any]:
        sc = self.sc
        # Before anyone is admitted, so Margin's copy of the register is complete; Margin gates every venue.
        dep = deploy_spec(self.deployment_spec(), path=self._registry(), fresh=True, say=lambda _line: None)
        self.roles = r = dep.keys(self.roles, fund=True)
        self.admin = dep.admin(self.clock.wait_until)
        self.system = s = dep.system
        self.risk = dep.risk
        if sc.bbo:
            self.bbo = BboClient(s.extra["BBO"])
        length = int(s.ccp.cycleLength())
        self.day0_cycle = chain.pending_timestamp // length + SETUP_CYCLES if sc.rolling else 0
        for sec in sc.securities:
            maturity = (self.day0_cycle + sec.maturity_day) * length if sec.maturity_day is not None else 0
            receipt = s.securities.listSecurity(sec.symbol, sec.isin.encode()[:12], SECURITY_KINDS.index(sec.kind),
                                                sec.tick, sec.lot, maturity, sender=r.issuer)
            self.sids.append(int(receipt.return_value or s.securities.securityCount()))
        expiry = kyc_expiry()
        for m in sorted(sc.members, key=lambda m: ("clearing", "client", "pseudonym").index(m.kind)):
            if m.kind == "pseudonym":  # attested by the register, admitted by itself (#24)
                acct = self._pseudonym(m, expiry)
            else:
                acct = self._account(m.name)
            self.accounts[m.name] = acct
            self.names[str(acct.address)] = m.name
            if m.kind == "clearing":
                s.membership.admitClearingMember(acct, expiry, sender=r.operator)
            elif m.kind == "client":
                s.membership.admitParticipant(acct, self.accounts[m.clearing_member], expiry, int(m.segregation_mode),
                                              sender=r.operator)
            if m.cash:
                s.cash.issue(acct, m.cash, sender=r.bank)
            for sym, units in m.holdings.items():
                if units:
                    s.securities.issue(self.sids[self._sec_index(sym)], acct, units, sender=r.issuer)
            s.cash.approve(s.ccp, MAX_UINT, sender=acct)
            s.securities.setApprovalForAll(s.ccp, True, sender=acct)
        for sid in self.sids:
            list_security(s, r.operator, sid, lag_days=sc.settlement_lag, keeper=r.keeper)
        self.close_out = make_close_out(sc.close_out)
        self.close_out.deploy(s, r.operator, bank=r.bank, issuer=r.issuer, security_ids=self.sids, admin=self.admin)
        risk_setup = self._setup_risk() if self.on_chain_risk else {"basis": MODEL_NOTICE}
        life_setup = setup_life(self)
        self.clients = [VenueClient(v) for v in s.venues]
        sources = [s.ccp] + ([self.risk.margin] if self.risk is not None else [])  # to name gate refusals
        self.driver = FlowDriver(self.clients, self.accounts, self.sids, error_sources=sources)
        self.supply0 = supplies(s, self.sids)
        self.names[str(s.ccp.address)] = "CCP"
        return {"addresses": s.addresses(), "security_ids": dict(zip([x.symbol for x in sc.securities], self.sids)),
                "members": {n: str(a.address) for n, a in self.accounts.items()}, "close_out": self.close_out_label(),
                "supplies": dict(self.supply0), "risk": risk_setup, "keys": self.keys(), "governance": self.governance(),
                "day0_cycle": self.day0_cycle, **({"life": life_setup} if life_setup else {})}

    def _pseudonym(self, m: Any, expiry: int) -> Any:
        """``m.owner``'s stealth address for the drill, attested by the register (the operator),
        its identity record sealed to the deployment's record keys (the development keys)."""
        s = self._sys()
        p = pseudonyms.new_pseudonym(
            s, self.roles.operator, keys=StealthKeys.from_seed(f"smartccp-drill:{self.sc.name}:{m.owner}"),
            label=f"{self.sc.seed}:{m.name}", owner=str(self.accounts[m.owner].address),
            clearing_member=str(self.accounts[m.clearing_member].address), ccp=DEV_CCP_KEY.public,
            regulator=DEV_REGULATOR_KEY.public, expires_at=expiry, gas_station=self.roles.operator)
        self.pseudonyms[m.name] = p
        return p.account

    def keys(self) -> dict[str, str]:
        """Role -> address of the key that sends its transactions."""
        return {role: str(self.roles.key(role).address) for role in ("operator", "bank", "issuer", *KEY_ROLES)}

    def governance(self) -> dict[str, Any]:
        """The timelock and the admin changes made through it (none without one)."""
        if not isinstance(self.admin, TimelockAdmin):
            return {"timelock": None, "changes": []}
        return {"timelock": str(self.admin.timelock.address), "delay": self.admin.delay,
                "changes": [{"what": c.what, "calls": len(c.proposals), "proposed_at": c.proposed_at,
                             "ready_at": c.ready_at, "executed": len(c.executed)} for c in self.admin.changes]}

    @property
    def on_chain_risk(self) -> bool:
        """Margin and the waterfall run on the risk contracts (``risk.margin: chain``)."""
        return self.sc.risk.margin == "chain"

    def risk_notice(self) -> str:
        return f"margin calls and default waterfall: {CHAIN_NOTICE if self.on_chain_risk else MODEL_NOTICE}"

    def close_out_label(self) -> str:
        label = self.close_out.label if self.close_out else "none"
        if self.on_chain_risk and "DefaultFund" not in label:
            label += "; shortfalls charged on chain to the DefaultFund (the mock handler is not used)"
        return label

    def _setup_risk(self) -> dict[str, Any]:
        """On-chain risk: scenarios (calibrated shocks) and start prices published; the
        DefaultFund replaces the close-out's shortfall handler; every clearing member posts its
        margin and the minimum fund contribution in one signed ``FundTransfer``; the CCP's skin in
        the game is paid in by the settlement bank (standing in for the CCP's treasury)."""
        s, r, rk, risk_ = self._sys(), self.roles, self.sc.risk, self._risk()
        calls = []
        if str(self.close_out.handler.address) != str(risk_.fund.address):  # a test double's handler: replaced
            calls.append((s.ccp, "setDefaultHandler", (risk_.fund,)))
        if self.sc.events_of("interest_rate"):  # the bank's treasury is the CCP's interest account
            calls.append((risk_.margin, "setInterestPayer", (r.bank,)))
        what = {"setDefaultHandler": "default handler", "setInterestPayer": "interest account"}
        admin_apply(self.admin, calls, ", ".join(what[m] for _, m, _ in calls))
        shocks = {sid: [int(x) for x in self.shocks[i]] for i, sid in enumerate(self.sids)}
        publish_scenarios(risk_.margin, shocks, r.risk)
        publish_prices(risk_.margin, {sid: sec.start_price for sid, sec in zip(self.sids, self.sc.securities)},
                       r.price)
        clearing = [m for m in self.sc.members if m.kind == "clearing"]
        publish_contributions(risk_.fund, {self.accounts[m.name]: rk.default_fund_minimum for m in clearing},
                              r.risk)
        deadline = chain.pending_timestamp + DAY
        deposits = {}
        for m in clearing:
            acct = self.accounts[m.name]
            posted = m.margin if m.margin is not None else m.cash * rk.deposit_bps // 10_000
            s.cash.approve(risk_.margin, MAX_UINT, sender=acct)
            s.cash.approve(risk_.fund, MAX_UINT, sender=acct)
            transfer, signature = sign_fund_transfer(risk_.margin, acct, posted, rk.default_fund_minimum, deadline)
            risk_.margin.depositWithSignature(transfer, signature, sender=r.operator)  # anyone may submit
            deposits[m.name] = {"margin": posted, "contribution": rk.default_fund_minimum}
        # Clients' margin goes to their own account (individual) or their member's omnibus account,
        # never to the house: each client posts its share itself.
        for m in self.sc.members:
            if m.kind not in ("client", "pseudonym"):
                continue
            acct = self.accounts[m.name]
            posted = m.margin if m.margin is not None else m.cash * rk.deposit_bps // 10_000
            if posted:
                s.cash.approve(risk_.margin, MAX_UINT, sender=acct)
                risk_.margin.depositCash(posted, sender=acct)
            deposits[m.name] = {"margin": posted, "segregation": m.segregation}
        # The CCP's treasury (held by the bank): the skin in the game and reserves to refill it.
        s.cash.issue(r.bank, TREASURY_MULTIPLE * rk.skin_in_the_game, sender=r.bank)
        s.cash.approve(risk_.fund, MAX_UINT, sender=r.bank)
        risk_.fund.fundSkinInTheGame(rk.skin_in_the_game, sender=r.bank)
        return {"basis": CHAIN_NOTICE, "shocks_bps": {self._sym(k): v for k, v in shocks.items()},
                "deposits": deposits, "skin_in_the_game": rk.skin_in_the_game,
                "margin": str(risk_.margin.address), "default_fund": str(risk_.fund.address)}

    def _sec_index(self, symbol: str) -> int:
        return [s.symbol for s in self.sc.securities].index(symbol)
