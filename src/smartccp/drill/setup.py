"""The drill's setup step: deploy the system, admit and fund the members, list the securities,
and (``risk.margin: chain``) deploy and fund the risk contracts. A part of :class:`DrillRunner`."""

from __future__ import annotations

from typing import Any

from ape import chain

from smartccp.chain.accounts import seeded_account
from smartccp.chain.system import deploy_system, kyc_expiry, list_security
from smartccp.clearing.ccp import supplies
from smartccp.clearing.closeout import make_close_out
from smartccp.drill.base import CHAIN_NOTICE, MODEL_NOTICE, TREASURY_MULTIPLE
from smartccp.risk.chain import (
    deploy_risk,
    publish_contributions,
    publish_prices,
    publish_scenarios,
    sign_fund_transfer,
)
from smartccp.sim.simulator import FlowDriver
from smartccp.trading.bbo import BboClient, deploy_bbo
from smartccp.trading.venue import VenueClient
from smartccp.types import DAY, MAX_UINT


class DrillSetup:
    """The drill's setup step: deploy the system, admit and fund the members, list the securities,
    and (``risk.margin: chain``) deploy and fund the risk contracts. A part of :class:`DrillRunner`."""

    def _account(self, name: str) -> Any:
        return seeded_account(f"smartccp-drill:{self.sc.name}:{self.sc.seed}:{name}", self.roles.operator)

    def _setup(self) -> dict[str, Any]:
        sc, r = self.sc, self.roles
        self.system = s = deploy_system(r.operator, settlement_bank=r.bank, issuer=r.issuer, n_venues=sc.venues)
        if self.on_chain_risk:  # before anyone is admitted: Margin's copy of the register is complete
            self.risk = deploy_risk(s, r.operator)
        if sc.bbo:
            self.bbo = BboClient(deploy_bbo(s, r.operator))
        for sec in sc.securities:
            receipt = s.securities.listSecurity(sec.symbol, sec.isin.encode()[:12], 0, sec.tick, sec.lot, 0,
                                                sender=r.issuer)
            self.sids.append(int(receipt.return_value or s.securities.securityCount()))
        expiry = kyc_expiry()
        for m in sorted(sc.members, key=lambda m: m.kind != "clearing"):
            acct = self.accounts[m.name] = self._account(m.name)
            self.names[str(acct.address)] = m.name
            if m.kind == "clearing":
                s.membership.admitClearingMember(acct, expiry, sender=r.operator)
            else:
                s.membership.admitParticipant(acct, self.accounts[m.clearing_member], expiry, sender=r.operator)
            if m.cash:
                s.cash.issue(acct, m.cash, sender=r.bank)
            for sym, units in m.holdings.items():
                if units:
                    s.securities.issue(self.sids[self._sec_index(sym)], acct, units, sender=r.issuer)
            s.cash.approve(s.ccp, MAX_UINT, sender=acct)
            s.securities.setApprovalForAll(s.ccp, True, sender=acct)
        for sid in self.sids:
            list_security(s, r.operator, sid, lag_days=sc.settlement_lag)
        self.close_out = make_close_out(sc.close_out)
        self.close_out.deploy(s, r.operator, bank=r.bank, issuer=r.issuer, security_ids=self.sids)
        risk_setup = self._setup_risk() if self.on_chain_risk else {"basis": MODEL_NOTICE}
        self.clients = [VenueClient(v) for v in s.venues]
        sources = [s.ccp] + ([self.risk.margin] if self.risk is not None else [])  # to name gate refusals
        self.driver = FlowDriver(self.clients, self.accounts, self.sids, error_sources=sources)
        self.supply0 = supplies(s, self.sids)
        self.names[str(s.ccp.address)] = "CCP"
        return {"addresses": s.addresses(), "security_ids": dict(zip([x.symbol for x in sc.securities], self.sids)),
                "members": {n: str(a.address) for n, a in self.accounts.items()}, "close_out": self.close_out_label(),
                "supplies": dict(self.supply0), "risk": risk_setup}

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
        s.ccp.setDefaultHandler(risk_.fund, sender=r.operator)
        shocks = {sid: [int(x) for x in self.shocks[i]] for i, sid in enumerate(self.sids)}
        publish_scenarios(risk_.margin, shocks, r.operator)
        publish_prices(risk_.margin, {sid: sec.start_price for sid, sec in zip(self.sids, self.sc.securities)},
                       r.operator)
        clearing = [m for m in self.sc.members if m.kind == "clearing"]
        publish_contributions(risk_.fund, {self.accounts[m.name]: rk.default_fund_minimum for m in clearing},
                              r.operator)
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
        # The CCP's treasury (held by the bank): the skin in the game and reserves to refill it.
        s.cash.issue(r.bank, TREASURY_MULTIPLE * rk.skin_in_the_game, sender=r.bank)
        s.cash.approve(risk_.fund, MAX_UINT, sender=r.bank)
        risk_.fund.fundSkinInTheGame(rk.skin_in_the_game, sender=r.bank)
        return {"basis": CHAIN_NOTICE, "shocks_bps": {self._sym(k): v for k, v in shocks.items()},
                "deposits": deposits, "skin_in_the_game": rk.skin_in_the_game,
                "margin": str(risk_.margin.address), "default_fund": str(risk_.fund.address)}

    def _sec_index(self, symbol: str) -> int:
        return [s.symbol for s in self.sc.securities].index(symbol)
