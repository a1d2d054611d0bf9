"""The risk machine's interest rule (issue #21): the risk role publishes a rate on cash
collateral, time passes by the machine's own rules, and an account claims what accrued. Paid by
the CCP's interest account (the settlement bank here), never through Margin: the custody check
after the step (Margin holds exactly its accounts' cash collateral) and the ledger's cash
conservation see it; here the payer's loss equals the account's gain, and nothing stays owed."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import rule
from sm_model_state import TALLY, expect_refusal

from smartccp.proof.invariants import InvariantViolation

INTEREST_CASH = 10**15  # the interest account's cash: far more than any run accrues


class InterestRules:
    """``interest_on_cash_collateral``: see the module's docstring."""

    @rule(rate=st.sampled_from([0, 250, 500, 2_000]), who=st.integers(0, 4))
    def interest_on_cash_collateral(self, rate, who):
        w, margin = self.world, self.margin
        if not getattr(self, "_interest_payer", False):
            w.system.cash.issue(w.bank, INTEREST_CASH, sender=w.bank)
            self.tx(w.system.cash, "approve", str(margin.address), INTEREST_CASH, sender=w.bank)
            self.tx(margin, "setInterestPayer", str(w.bank.address), sender=w.operator)
            self._interest_payer = True
        self.tx(margin, "setInterestRate", rate, sender=w.operator)
        t = w.traders[who]
        owner = str(t.address)
        if owner not in self.accounts:  # an omnibus client's account is its member's to claim
            return expect_refusal("NotAccountController", margin, "claimInterest", owner, sender=t) \
                if owner in w.clearing_member_of else None
        if not self.active[owner]:
            return  # the cash ledger refuses a suspended receiver: the interest stays owed
        payer_before, owner_before = (int(w.system.cash.balanceOf(x)) for x in (w.bank, t))
        self.tx(margin, "claimInterest", owner, sender=t)
        paid = payer_before - int(w.system.cash.balanceOf(w.bank))
        if int(w.system.cash.balanceOf(t)) - owner_before != paid or int(margin.interestOf(owner)) != 0:
            raise InvariantViolation(f"interest: {owner} gained {int(w.system.cash.balanceOf(t)) - owner_before}, "
                                     f"the interest account paid {paid}, {int(margin.interestOf(owner))} still owed")
        TALLY.stats["interest claims paid" if paid else "interest claims of nothing accrued"] += 1
