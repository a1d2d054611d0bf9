"""The drill's checks after each day (flat CCP, signed trades, double entry, waterfall,
cures, refused defaulters) and its final step and report. A part of :class:`DrillRunner`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ape import chain, networks

from smartccp.clearing.ccp import (
    check_ccp_empty,
    check_flat,
    supplies,
)
from smartccp.drill.base import Check, DayState
from smartccp.drill.life import (
    life_claims_flat,
    life_conservation,
    life_day_end,
    life_report,
    life_supplies,
)
from smartccp.risk.chain import margin_status
from smartccp.trading.orders import Order
from smartccp.types import CyclePhase, Side
from smartccp.units import fmt_cash

if TYPE_CHECKING:
    from smartccp.drill.runner import DrillRunner


class DayChecks:
    """The drill's checks after each day (flat CCP, signed trades, double entry, waterfall,
    cures, refused defaulters) and its final step and report. A part of :class:`DrillRunner`."""

    def _checks(self, day: DayState) -> list[dict[str, Any]]:
        s = self._sys()
        checks = day.checks
        checks.clear()

        def check(name: str, fn: Callable[[], tuple[bool, str]]) -> None:
            try:
                ok, detail = fn()
            except AssertionError as err:
                ok, detail = False, str(err)
            checks.append(Check(name, bool(ok), detail))

        for ds in self._settled_by(day):  # the day's own cycle, or (rolling) the cycles due at its end
            check("cycle settled", lambda ds=ds: (CyclePhase(int(s.ccp.cycleInfo(ds.cycle_id)[0])) == CyclePhase.SETTLED,
                                                  f"cycle {ds.cycle_id}"))
            check("CCP flat (net quantities and cash sum to zero per security)",
                  lambda ds=ds: (check_flat(s.ccp, ds.cycle_id, self.sids) is None, f"cycle {ds.cycle_id}: netSums == (0, 0)"))
            check("net pay-in <= gross", lambda ds=ds: (ds.net["cash"] <= ds.gross["cash"] and ds.net["units"] <= ds.gross["units"],
                                                        f"cash {fmt_cash(ds.net['cash'])} <= {fmt_cash(ds.gross['cash'])}"))
            check("every novated trade has two signed orders behind it", lambda ds=ds: self._signed_trades(ds))
            if ds.market_claims:
                check("market claims sum to zero per security (the CCP stays flat)",
                      lambda ds=ds: life_claims_flat(ds))
        check("CCP holds nothing beyond custody", lambda: (check_ccp_empty(s.ccp, s, self.sids) is None, "pool == (0, 0)"))
        expected = life_supplies(self, self.supply0)  # less the units redeemed at maturity
        check("supply conserved (nothing created or lost)",
              lambda: (supplies(s, self.sids) == expected, f"{supplies(s, self.sids)}"))
        check("double entry: holders' balances sum to the supply", self._double_entry)
        for ev in day.events:
            if "waterfall" in ev:
                check("waterfall covers the loss, layers in order", lambda ev=ev: _waterfall_ok(ev["waterfall"]))
        for ev in day.events:
            if "cure" in ev:
                check("cured member active again, default flag cleared, gate accepts its order",
                      lambda ev=ev: _cure_ok(self, ev))
        if self.life:
            check("life cycle: Distributions holds what issuers escrowed less what it paid, all still owed",
                  lambda: life_conservation(self))
            life_day_end(self, day)
        if "refused_defaulters" in day.flow:
            check("defaulter refused, market keeps running",
                  lambda: (all(day.flow["refused_defaulters"].values()) and day.flow["trades"] > 0,
                           f"{day.flow['refused_defaulters']}, {day.flow['trades']} trades"))
        return [c.__dict__ for c in checks]

    def _settled_by(self, day: DayState) -> list[DayState]:
        """The days whose cycle ``day``'s settle step settled (with trades)."""
        if not self.sc.rolling:
            return [day] if day.settlement.get("phase") != "NO_TRADES" else []
        return [ds for ds in self.days if ds.settlement.get("settled_on_day") == day.day]

    def _signed_trades(self, day: DayState) -> tuple[bool, str]:
        """Every venue trade of the day carries both orders' hashes; every one except the
        close-out market's own fills (direct DVP, never novated) has two novated legs in the cycle."""
        later = [d.start_block for d in self.days if d.day == day.day + 1 and d.start_block]
        head = later[0] if later else chain.blocks.head.number + 1
        traded = [log for v in self._sys().venues for log in v.Traded.range(day.start_block, head)]
        legs = [log for log in self._sys().ccp.TradeNovated.range(day.start_block, head)
                if int(log.cycleId) == day.cycle_id]
        market = str(getattr(self.close_out.market, "address", "")) if self.close_out else ""
        close_out = [t for t in traded if market and market in (str(t.buyer), str(t.seller))]
        signed = all(int.from_bytes(bytes(t.bidOrderHash), "big") and int.from_bytes(bytes(t.offerOrderHash), "big")
                     for t in traded)
        novated = len(traded) - len(close_out)
        return signed and len(legs) == 2 * novated, (f"{novated} trades, {len(legs)} novated legs"
                                                     + (f"; {len(close_out)} close-out fills (direct DVP)"
                                                        if close_out else ""))

    def _holders(self) -> dict[str, Any]:
        s = self._sys()
        named = {n: a for n, a in self.accounts.items()}
        named.update({"CCP": s.ccp, "bank": self.roles.bank, "issuer": self.roles.issuer})
        named.update(self.close_out.holders())
        if self.risk is not None:
            named.update({"Margin": self.risk.margin, "DefaultFund": self.risk.fund})
        if "Distributions" in s.extra:
            named["Distributions"] = s.extra["Distributions"]
        return named

    def _double_entry(self) -> tuple[bool, str]:
        s = self._sys()
        holders = {str(a.address): a for a in self._holders().values()}.values()
        cash_sum = sum(int(s.cash.balanceOf(a)) for a in holders)
        ok = cash_sum == int(s.cash.totalSupply())
        for sid in self.sids:
            ok &= sum(int(s.securities.balanceOf(a, sid)) for a in holders) == int(s.securities.totalSupply(sid))
        return ok, f"{len(holders)} holders, cash {fmt_cash(cash_sum)}"

    def _defaulter_refusals(self) -> dict[str, bool]:
        """An order of each defaulter, tried by eth_call on the first venue: refused?"""
        from smartccp.chain.errors import refusal_text

        out = {}
        client, sid = self.clients[0], self.sids[0]
        for name in sorted(self.defaulted):
            acct = self.accounts[name]
            order = client.with_nonce(Order(owner=str(acct.address), securityId=sid, side=Side.BUY,
                                            quantity=self.sc.securities[0].lot, price=int(self.path[0][0])))
            err = refusal_text(client.venue.placeOrder, order.as_tuple(), client.sign(order, acct), 16, sender=acct)
            out[name] = err is not None
        return out

    def _final(self) -> dict[str, Any]:
        s = self._sys()
        balances = {}
        for name, acct in self._holders().items():
            balances[name] = {"cash": int(s.cash.balanceOf(acct)),
                              **{sec.symbol: int(s.securities.balanceOf(acct, sid))
                                 for sec, sid in zip(self.sc.securities, self.sids)}}
        checks = [c for d in self.days for c in d.checks]
        self.report = {
            "scenario": self.sc.name,
            "description": self.sc.description,
            "profile": self.sc.profile,
            "seed": self.sc.seed,
            "network": _network_name(),
            "notices": {"risk": self.risk_notice(), "close_out": self.close_out_label(),
                        "bbo": "BBO contract: consolidated quote of every venue" if self.bbo else "no BBO"},
            "setup": self.journal["setup"],
            "reference_prices": {sec.symbol: [int(x) for x in self.path[:, i]] for i, sec in enumerate(self.sc.securities)},
            "cycles": [d.as_dict() for d in self.days],
            "final_balances": balances,
            "checks": {"passed": sum(c.ok for c in checks), "failed": [c.name for c in checks if not c.ok]},
            "ok": all(c.ok for c in checks),
            "steps": [s.__dict__ for s in self.steps],
        }
        if self.life:
            self.report["life"] = life_report(self)
        if self.out is not None:
            self.write(self.out)
        return self.report

    def write(self, out: Path) -> dict[str, Path]:
        """Write the JSON report and the charts into ``out``; returns the paths."""
        from smartccp.drill.charts import write_charts

        out.mkdir(parents=True, exist_ok=True)
        charts = write_charts(self.report, out, prefix=f"drill_{self.sc.name}")
        self.report["charts"] = {k: str(v) for k, v in charts.items()}
        path = out / f"drill_{self.sc.name}.json"
        path.write_text(json.dumps(self.report, indent=2, default=str) + "\n")
        return {"json": path, **charts}


def _waterfall_ok(w: dict[str, Any]) -> tuple[bool, str]:
    layers = w["layers"]
    total = sum(a for _, a in layers)
    available = w["available"]
    in_order = all(layers[k][1] == 0 or all(layers[j][1] >= available.get(layers[j][0], 0) for j in range(k))
                   for k in range(len(layers)))
    return total == w["loss"] and in_order, f"loss {fmt_cash(w['loss'])} = sum of layers; uncovered {fmt_cash(w['uncovered'])}"


def _cure_ok(run: "DrillRunner", ev: dict[str, Any]) -> tuple[bool, str]:
    s, rk = run._sys(), run._risk()
    acct = run.accounts[ev["cure"]["event"]["member"]]
    reason, loss, closed = rk.fund.defaultOf(acct)
    status = int(s.membership.memberOf(acct).status)
    ok = (status == 1 and not margin_status(rk.margin, acct).defaulted and (int(reason), int(loss), closed) == (0, 0, False)
          and ev["cure"]["gate_refusal"] is None)
    return ok, f"{ev['cure']['event']['member']}: Active, DefaultCured loss {fmt_cash(ev['cure']['event']['loss'])}"


def _network_name() -> str:
    net = networks.provider.network
    return f"{net.ecosystem.name}:{net.name}:{networks.provider.name}"
