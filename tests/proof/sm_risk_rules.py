"""The risk machine's rules (``RiskMachine`` = ``RiskRules`` + ``RiskChecks`` + ``MarketMachine``):
Margin as the venue's pre-trade gate, settlement prices and margin refresh (calls), deposits and
withdrawals, missed calls declared defaults, price shocks, contribution top-ups; and what changes
in the market's rules once defaults exist (defaults suspend, assessments are paid)."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import strategies as st
from hypothesis.stateful import rule
from proof_world import HOUR, INITIAL_MARGIN_CASH, RiskWorld
from sm_model_state import TALLY, expect_refusal
from sm_strategies import MARGIN

from smartccp.chain.multicall import Multicall
from smartccp.proof.invariants import InvariantViolation
from smartccp.risk.chain import initial_margin_with_orders, order_margin, sign_fund_transfer


class RiskRules:
    """The market with its risk layer (``RISK_EXTENSION``): Margin is the venue's pre-trade gate
    and DefaultFund the CCP's default handler. Added rules: settlement prices and margin refresh
    (calls), deposits (plain and signed ``FundTransfer``), withdrawals, a missed call declared a
    default, contribution top-ups. Its checks are ``RiskChecks``, registered with the suite here."""

    risk: RiskWorld  # set by the test

    def __init__(self) -> None:
        super().__init__()
        r = self.risk
        self.margin, self.fund = r.margin, r.fund
        self.members = [str(m.address) for m in r.members]
        # Margin accounts: each member's house (its address) and each individually segregated
        # client's own (the client's address): every trader's orders are gated on its own.
        self.accounts = self.members + [a for a, m in self.world.clearing_member_of.items()
                                        if a != m and m in self.members]
        self.defaulted: set[str] = set()
        self.worst = {sid: (min(v), max(v)) for sid, v in r.shocks.items()}
        self.settlement_price = {s.sid: s.base_tick * s.tick for s in self.world.securities}
        self.seen_layers = 0
        self.suite.add("risk: collateral, waterfall, custody", self._check_risk)

    # ── reads ──

    def _risk_read(self) -> dict:
        """Margin status of every margin account, contributions (required, paid) and default
        cases of every clearing member, the skin in the game and the survivors' pool, in one
        ``eth_call``."""
        m = Multicall(self.rpc)
        for a in self.accounts:
            m.add(self.margin, "marginStatus", a)
        for a in self.members:
            m.add(self.fund, "contributionOf", a)
        for a in self.members:
            m.add(self.fund, "defaultOf", a)
        m.add(self.fund, "skinInTheGame")
        m.add(self.fund, "survivorPool")
        out = m.run()
        k, n = len(self.accounts), len(self.members)
        return {"status": dict(zip(self.accounts, out[:k])), "contribution": dict(zip(self.members, out[k:k + n])),
                "in_default": {a for a, d in zip(self.members, out[k + n:k + 2 * n]) if int(d[0])},
                "skin": out[k + 2 * n], "pool": out[k + 2 * n + 1][0]}

    def _status(self, members: list[str]) -> dict[str, tuple]:
        m = Multicall(self.rpc)
        for a in members:
            m.add(self.margin, "marginStatus", a)
        return {a: st_ for a, st_ in zip(members, m.run())}

    def _absorb_defaults(self) -> None:
        """Defaults the fund declared (a settlement shortfall, a declared default) suspend the
        member in the register: the model's standing follows."""
        for e in self.suite.poll().risk_events:
            if e[0] == "MemberDefaulted":
                who = str(e[1])
                if who not in self.defaulted:
                    self.defaulted.add(who)
                    self.active[who] = False
                    TALLY.stats[f"defaults ({e[2]})"] += 1

    # ── the gate ──

    def _gate(self, owner: str, sid: int, buy: bool, quantity: int, price: int) -> str | None:
        member = owner  # its margin account: a member's house, an individual client's own
        (posted, required, pending, _im, _vm, _cash, _call, _deadline, defaulted, paid) = self._status([member])[member]
        if defaulted:
            return "MemberInDefault"
        if not paid:
            return "ContributionNotPaid"
        down, up = self.worst[sid]
        om = order_margin(quantity, price, self.settlement_price[sid], down if buy else up, buy)
        if required + pending + om > posted:
            return "InsufficientMargin"
        self.expect_pending = (member, pending + om)
        return None

    def _gate_passed(self) -> None:
        member, pending = self.expect_pending
        got = self._status([member])[member][2]
        assert got == pending, f"gate: {member} pending margin {got}, expected {pending}"

    # ── rules ──

    @rule()
    def margin_cycle(self):
        """Settlement prices (the model's mids) published, every margin account refreshed (the
        members' house accounts and their clients' own)."""
        sids = self.world.sids
        prices = [self.mid[sid] * self.sec[sid].tick for sid in sids]
        self.tx(self.margin, "publishPrices", sids, prices, sender=self.world.operator)
        self.settlement_price.update(zip(sids, prices))
        for m in self.accounts:
            self.tx(self.margin, "refreshMargin", m, sender=self.world.keeper)
        status = self._status(self.accounts)
        wallets = Multicall(self.rpc)
        for m in self.accounts:
            wallets.add(self.margin, "walletsOf", m)
        owners = [(m, a) for m, ws in zip(self.accounts, wallets.run()) for a in ws]
        reads = Multicall(self.rpc)
        for _, a in owners:
            reads.add(self.margin, "positionsOf", a)
        book: dict[str, dict[int, list[int]]] = {m: {} for m in self.accounts}
        for (m, _), (ids, qty, buys, sells) in zip(owners, reads.run()):
            for sid, q, b, s_ in zip(ids, qty, buys, sells):  # positions are per wallet: sum them
                row = book[m].setdefault(int(sid), [0, 0, 0])
                row[0], row[1], row[2] = row[0] + int(q), row[1] + int(b), row[2] + int(s_)
        for m in self.accounts:
            # The on-chain IM equals the Python risk model's, on the positions Margin just read.
            ids = list(book[m])
            qty, buys, sells = ([book[m][i][k] for i in ids] for k in range(3))
            if ids:
                want = initial_margin_with_orders(list(qty), list(buys), list(sells),
                                                  [self.settlement_price[i] for i in ids],
                                                  [self.risk.shocks[i] for i in ids])
                assert status[m][3] == want, f"margin: {m} IM {status[m][3]} != model {want}"
                TALLY.stats["IM checked against the Python model"] += 1
        calls = sum(1 for s_ in status.values() if s_[6])
        TALLY.stats["margin refreshes"] += len(self.accounts)
        TALLY.stats["margin calls open after a refresh"] += calls

    @rule(**MARGIN)
    def deposit_margin(self, who, amount, signed):
        t = self.world.traders[who]
        owner = str(t.address)
        amount *= 1_000_000
        if owner in self.defaulted or not self.active[owner] or int(self.sys.cash.balanceOf(t)) < amount:
            return
        if signed and owner not in self.members:  # a signed FundTransfer is a member's (house and fund)
            transfer, signature = sign_fund_transfer(self.margin, t, amount, 0, self.now() + HOUR)
            return expect_refusal("NotClearingMember", self.margin, "depositWithSignature", transfer, signature,
                                  sender=self.world.keeper)
        if signed:
            transfer, signature = sign_fund_transfer(self.margin, t, amount, 0, self.now() + HOUR)
            self.tx(self.margin, "depositWithSignature", transfer, signature, sender=self.world.keeper)
        else:
            self.tx(self.margin, "depositCash", amount, sender=t)
        TALLY.stats[f"margin deposits{' (signed FundTransfer)' if signed else ''}"] += 1

    @rule(**MARGIN)
    def withdraw_margin(self, who, amount, signed):
        t = self.world.traders[who]
        owner = str(t.address)  # its own account: a member's house, an individual client's
        amount *= 1_000_000
        posted, required, pending, _im, _vm, held, *_rest, defaulted, _paid = self._status([owner])[owner]
        if defaulted:
            why = "MemberInDefault"
        elif amount > held:
            why = "InsufficientCollateral"
        elif posted < required + pending + amount:
            why = "InsufficientMargin"
        elif not self.active[owner]:
            why = "MemberSuspended"  # the cash token refuses a suspended receiver
        else:
            why = None
        if why is not None:
            TALLY.stats[f"margin withdrawal refused {why}"] += 1
            return expect_refusal(why, self.margin, "withdrawCash", amount, sender=t)
        self.tx(self.margin, "withdrawCash", amount, sender=t)
        TALLY.stats["margin withdrawals"] += 1

    @rule(who=st.integers(0, 3))
    def missed_margin_call__default(self, who):
        """A member lets its call run past the deadline; anyone may then declare its default."""
        m = self.members[who]
        _p, _r, _pe, _im, _vm, _c, call, deadline, defaulted, _paid = self._status([m])[m]
        if not call or defaulted:
            if not defaulted and not int(self.fund.topUpDeadline(m)):
                expect_refusal("NoDefaultEvent", self.fund, "declareDefault", m, sender=self.world.keeper)
                TALLY.stats["declareDefault refused NoDefaultEvent"] += 1
            return
        self.tx.warp(max(self.now(), deadline) + HOUR)
        if not self.margin.callOverdue(m):
            return  # a refresh covered it meanwhile
        self.tx(self.fund, "declareDefault", m, sender=self.world.keeper)
        TALLY.stats["missed margin calls declared defaults"] += 1
        self._absorb_defaults()
        assert m in self.defaulted and not self.active[m]

    @rule(sid_i=st.integers(0, 1), pct=st.sampled_from([-30, -20, -10, 10, 20, 30]))
    def price_shock(self, sid_i, pct):
        """A large move (beyond the scenarios' worst 15 %): the close-out market's price moves with
        it, settlement prices are published and margins refreshed, so calls follow."""
        s = self.world.securities[sid_i]
        self.mid[s.sid] = max(4, self.mid[s.sid] * (100 + pct) // 100)
        self.tx(self.world.market, "setPrice", s.sid, self.mid[s.sid] * s.tick, sender=self.world.operator)
        self.margin_cycle()
        TALLY.stats["price shocks"] += 1

    @rule(who=st.integers(0, 3), severity=st.sampled_from([2, 4, 6]))
    def member_misses_margin_call(self, who, severity=2):
        """A whole default scenario in one step: the price of the member's largest open house
        position moves against it, a loss of ``severity`` / 2 times its margin;
        margins are refreshed, the member lets the
        call run out, a keeper declares its default, and its cycles settle two days later (its
        pay-in or the CCP's close-out, any loss charged down the waterfall)."""
        m = self.members[who]
        if m in self.defaulted:
            return
        self.member_misses_margin_call_before_settlement(who, severity)
        if m in self.defaulted and self._may_fail(self.addr.index(m)):
            self.revoke_ccp_allowance(self.addr.index(m), "both")  # and it does not settle either
        self.time_moves(48)
        self.settle_due_cycles()

    def member_misses_margin_call_before_settlement(self, who: int, severity: int) -> None:
        """The part of ``member_misses_margin_call`` before settlement: it trades, the price
        moves against its largest house position, margins are refreshed, its call runs out and
        a keeper declares its default (unless a refresh covered it)."""
        m = self.members[who]
        # First it trades (CCP route) against the best order of the fuller side of ACME's book.
        acme = self.world.securities[0]
        book = self.books[acme.sid]
        sides = [sd for sd in ("sell", "buy") if book.levels[sd]]
        if sides:
            opposite = max(sides, key=lambda sd: sum(e.remaining for _s, _t, e in book.entries() if _s == sd))
            best = min(book.levels["sell"]) if opposite == "sell" else max(book.levels["buy"])
            self.place_order(self.addr.index(m), 0, opposite == "sell", best - self.mid[acme.sid], 3, "ioc", 1)
        net: dict[int, int] = defaultdict(int)
        for cycle, obs in self.obligations.items():
            if cycle in self.settled:
                continue
            for (sid, account), (q, _c) in obs.items():
                if account == m:  # its house account (its clients are margined on their own)
                    net[sid] += q
        if not any(net.values()):
            return
        sid = max(net, key=lambda k: abs(net[k]) * self.sec[k].tick * self.mid[k])
        s = self.sec[sid]
        # A loss of severity / 2 times the margin posted (at most the initial margin): layers 1-3
        # and the survivors' fund cover it. Beyond them (assessments paid later, uncovered) the
        # CCP's pool stays short after the cycle by design (ICCPSettlement), which the core
        # checks would report, so such losses are not generated.
        posted = min(self._status([m])[m][0], INITIAL_MARGIN_CASH)
        move = -(-severity * posted // (2 * abs(net[sid]) * s.tick))
        self.mid[sid] = max(4, self.mid[sid] - move) if net[sid] > 0 else self.mid[sid] + move
        self.tx(self.world.market, "setPrice", sid, self.mid[sid] * s.tick, sender=self.world.operator)
        self.margin_cycle()
        TALLY.stats["margin-call scenarios"] += 1
        self.missed_margin_call__default(who)

    @rule(page=st.sampled_from([1, 7, 50]))
    def keeper_settles_the_fund(self, page):
        """A keeper settles every fund member in pages: what the views showed before (read through
        the indices) is what settlement books; nothing moves but the bookkeeping."""
        r = self._risk_read()
        due = {m: int(self.fund.assessmentDue(m)) for m in self.members}
        n, start = int(self.fund.memberCount()), 0
        while start < n:
            self.tx(self.fund, "settleMembers", start, page, sender=self.world.keeper)
            start += page
        after = self._risk_read()
        for m in self.members:
            if after["contribution"][m] != r["contribution"][m] or int(self.fund.assessmentDue(m)) != due[m]:
                raise InvariantViolation(f"fund: settling {m} changed its contribution "
                                         f"{r['contribution'][m]} -> {after['contribution'][m]} or its "
                                         f"assessment {due[m]} -> {int(self.fund.assessmentDue(m))}")
        TALLY.stats["fund members settled by the keeper"] += 1

    @rule(who=st.integers(0, 3))
    def top_up_contribution(self, who):
        m = self.members[who]
        required, paid = self.fund.contributionOf(m)
        if paid >= required or m in self.defaulted or not self.active[m]:
            return
        self.tx(self.fund, "contribute", required - paid, sender=m)
        TALLY.stats["contribution top-ups"] += 1

    # ── the market's rules, once defaults exist ──

    # The two overrides below carry @rule again: an override without it hides the base rule from
    # Hypothesis (before, the risk machine drew settle_due_cycles only through its weighted
    # copies and never suspended or reinstated a member).

    @rule()
    def settle_due_cycles(self):
        super().settle_due_cycles()
        self._absorb_defaults()
        # Assessments (layer 5) are called now and paid to the CCP by the survivors at once.
        for m in self.members:
            due = int(self.fund.assessmentDue(m))
            if due:
                self.tx(self.fund, "payAssessment", due, sender=m)
                TALLY.stats["assessments paid"] += 1

    @rule(who=st.integers(0, 4))
    def suspend_or_reinstate(self, who):
        if self.addr[who] in self.defaulted:
            return  # the default manager's, not the operator's
        super().suspend_or_reinstate(who)
