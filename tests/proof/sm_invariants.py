"""The state machine's checks: the expectation the model hands ``InvariantSuite`` and the
invariant run after every step, the venue's fills against the model's after each transaction,
and each settled cycle's movements against its net obligations."""

from __future__ import annotations

from collections import defaultdict

from hypothesis.stateful import invariant
from sm_model_state import TALLY

from smartccp.clearing.ccp import cash_legs
from smartccp.proof.invariants import Expectation
from smartccp.types import Segregation, omnibus_account


class InvariantRules:
    """The checks of ``MarketMachine`` (part of it)."""

    def expectation(self) -> Expectation:
        resting = {}
        depth = {}
        for sid, book in self.books.items():
            for _side, _tick, e in book.entries():
                resting[e.ref] = (self.suite.ledger.rested[e.ref], e.owner, e.remaining, e.remaining + e.reserve)
            depth[sid] = ([(t * self.sec[sid].tick, s) for t, s in book.depth("buy")],
                          [(t * self.sec[sid].tick, s) for t, s in book.depth("sell")])
        open_obs: dict[str, int] = defaultdict(int)
        for cycle, keys in self.obligations.items():
            if cycle not in self.settled:
                for _sid, account in keys:
                    open_obs[account] += 1
        return Expectation(
            security_ids=self.world.sids,
            orders=self.signed,
            depth=depth,
            resting=resting,
            obligations={c: {k: tuple(v) for k, v in obs.items()} for c, obs in self.obligations.items()},
            open_obligations=dict(open_obs),
            parked={ref: p.quantity for ref, p in self.parked_info.items()},
        )

    def _compare_fills(self, sid: int, ledger) -> None:  # noqa: ANN001
        """The venue's new trades equal the model's fills of this transaction; book them."""
        s, book = self.sec[sid], self.books[sid]
        got = [(str(t["buyer"]).lower(), str(t["seller"]).lower(), t["price"], t["quantity"],
                bytes(t["bidOrderHash"]), bytes(t["offerOrderHash"])) for t in ledger.new_trades]
        want = []
        for mf in book.fills:
            f = mf.fill
            want.append((f.buyer.lower(), f.seller.lower(), f.tick * s.tick, f.quantity, mf.bid, mf.offer))
            if self.route[mf.bid] and self.route[mf.offer]:
                TALLY.stats["trades settled direct (gross DVP)"] += 1
            else:
                self._book_fill(sid, f)
                if self.route[mf.bid] or self.route[mf.offer]:
                    TALLY.stats["trades mixed route (CCP)"] += 1
        assert got == want, f"venue fills {got} != model fills {want}"
        if book.fills:
            self.last[sid] = book.fills[-1].fill.tick
        TALLY.stats["trades"] += len(got)
        TALLY.stats["dead makers dropped by matching"] += len(book.dropped)
        for ref, _units in book.dropped:
            assert ledger.cancelled[ref] > 0, "a dead maker the model dropped was not cancelled on chain"

    def _check_settlement(self, cycle, before, after, rolled=None) -> None:
        """Each account that paid in full moved (wallet + CCP balance) exactly by its net
        obligations, less the units of its receipts that rolled to the next cycle (``rolled``):
        units in its own wallet; cash (its one leg) in its payer's, a client's clearing member
        paying and receiving it (a client's own pre-funded cash goes first, so cash is checked
        over the member and its clients together); the CCP is left holding custody only."""
        rolled = rolled or {}
        failed = {o.account for o in after.obligations[cycle] if o.failed}
        units: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        cash: dict[str, int] = defaultdict(int)
        group: dict[str, set[str]] = defaultdict(set)
        for o in after.obligations[cycle]:
            payer = self._payer(o.account)
            units[o.account][f"security:{o.security_id}"] += o.quantity - rolled.get((o.account, o.security_id), 0)
            cash[payer] += o.cash
            group[payer].update((payer, o.account))

        def moved(key: str, account: str) -> int:
            return (after.balances[key][account] - before.balances[key][account]
                    + after.prefunded[key][account] - before.prefunded[key][account])

        for account, deltas in units.items():
            if account in failed:
                continue
            for key in after.supply:
                if key != "cash":
                    assert moved(key, account) == deltas.get(key, 0), \
                        f"cycle {cycle}: {account} {key} moved {moved(key, account)}, net {deltas.get(key, 0)}"
        for payer, total in cash.items():
            if group[payer] & failed:
                continue  # a failed leg may have moved part of its cash
            got = sum(moved("cash", w) for w in group[payer])
            assert got == total, f"cycle {cycle}: {payer} and its clients moved cash {got}, legs {total}"
        ccp = str(self.ccp.address)
        for key, total in after.custody.items():
            assert after.balances[key][ccp] == total, f"cycle {cycle}: CCP holds {key} beyond custody"

    def _payer(self, account: str) -> str:
        """Whose wallet pays and receives ``account``'s cash leg: its clearing member's if it is
        a client (a participant in the register), else its own."""
        entry = self.sys.membership.memberOf(account)
        return str(entry.clearingMember) if int(entry.kind) == 2 else account

    def _leg_account(self, wallet: str) -> str:
        """The settlement account whose cash leg ``wallet``'s cash joins: an omnibus client's
        member's omnibus account, a desk's member, else the wallet itself."""
        entry = self.sys.membership.memberOf(wallet)
        if int(entry.kind) == 2 and int(entry.segregation) == Segregation.OMNIBUS:
            return omnibus_account(str(entry.clearingMember))
        if int(entry.kind) == 2 and int(entry.segregation) == Segregation.HOUSE:
            return str(entry.clearingMember)
        return wallet

    def _check_cash_legs(self, cycle, report, after) -> None:
        """DVP model 3: each account that paid in full moved cash at most once (its one leg, the
        sum of its obligations' cash over every security; none if that nets to zero or a debit
        was paid from pre-funded cash, or a credit was deferred to its CCP balance), and the
        CCP's leg slot says the same. Each clearing member's wallet pays and receives for its
        accounts (house and clients): when they only receive, it received exactly their sum."""
        wallets = {o.account for o in after.obligations[cycle]}
        leg_of = {w: self._leg_account(w) for w in wallets}
        payer_of = {leg_of[w]: self._payer(w) for w in wallets}  # a pooled leg: its wallets' member
        failed = {leg_of[o.account] for o in after.obligations[cycle] if o.failed}
        deferred = {str(log.account) for log in report.logs(self.ccp.PayOutDeferred)}
        moved = report.cash_legs(self.sys.cash, self.ccp)
        amounts = report.cash_moved(self.sys.cash, self.ccp)
        legs = cash_legs(after.obligations[cycle], leg_of)
        most: dict[str, int] = defaultdict(int)  # per paying wallet: the legs it may move
        owed: dict[str, int] = defaultdict(int)  # per paying wallet: the sum of its accounts' legs
        exact: dict[str, bool] = defaultdict(lambda: True)  # whether that is exact (credits only)
        for account, leg in legs.items():
            payer = payer_of[account]
            if account in failed:
                # A failed account's partial pay-in, its credit and each close-out's surplus may
                # all move cash: its payer's transfers are not bounded by the legs.
                exact[payer] = False
                most[payer] += 10**6
                continue
            expected = leg != 0 and not (leg > 0 and account in deferred)
            most[payer] += expected
            owed[payer] += leg if expected else 0
            exact[payer] = exact[payer] and (leg > 0 or not expected)
            assert self.ccp.cashLegOf(account) == (cycle, max(leg, 0), 3), f"cycle {cycle}: {account} leg slot"
        for payer, n in most.items():
            times = moved.get(payer, 0)
            assert times <= n, f"cycle {cycle}: {payer} moved cash {times} times for {n} legs"
            assert not exact[payer] or times == n, f"cycle {cycle}: {payer}'s credits not paid once each"
            # The clearing member answers for its accounts: what its wallet received is the sum
            # of the legs of its house and its clients' accounts.
            assert not exact[payer] or amounts.get(payer, 0) == owed[payer], \
                f"cycle {cycle}: {payer} received {amounts.get(payer, 0)}, its accounts' legs sum to {owed[payer]}"

    @invariant()
    def all_invariants_hold(self):
        TALLY.steps += 1
        cycles = [c for c in self.obligations]
        self.suite.check(self.expectation(), cycles=cycles)
        # Parked orders as the chain's events show them: parked, neither released nor cancelled.
        ledger = self.suite.ledger
        for ref in self.parked_info:
            assert ref in ledger.parked and ref not in ledger.triggered and not ledger.cancelled.get(ref), \
                f"parked order {ref.hex()[:10]}: parked {ref in ledger.parked}, released {ref in ledger.triggered}, " \
                f"cancelled {ledger.cancelled.get(ref, 0)}"
