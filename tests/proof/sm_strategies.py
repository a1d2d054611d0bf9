"""What the state machine draws: the Hypothesis strategies of its rules' arguments, and the extra
copies of rules that weight the draw (``EXTRA_WEIGHT``, ``RISK_EXTRA_WEIGHT``, made by
``rule_copies`` in the machines' class bodies)."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import rule
from sm_model_book import KINDS

ORDER = dict(who=st.integers(0, 4), sid_i=st.integers(0, 1), buy=st.booleans(), offset=st.integers(-2, 2),
             lots=st.integers(1, 6), kind=st.sampled_from(KINDS), hours=st.integers(1, 12),
             trigger=st.integers(-3, 3), tif=st.sampled_from(["gtc", "gtc", "gtc", "day", "ioc", "fok"]),
             direct=st.booleans(), timed=st.sampled_from([0, 0, 0, 0, -1, 1]))
#: Parked orders one triggerOrders call may release.
MAX_TRIGGERS = 8
TIME = dict(hours=st.sampled_from([1, 3, 9, 24, 30, 48]))
REVOKE = dict(who=st.integers(0, 4), what=st.sampled_from(["cash", "units", "both"]))
MOVE = dict(who=st.integers(0, 4), sid_i=st.integers(-1, 1))
UNCROSS = dict(pick=st.integers(0, 1), chunk=st.sampled_from([2, 8, 64]))
AUCTION_ORDER = dict(who=st.integers(0, 4), buy=st.booleans(), offset=st.integers(-2, 2), lots=st.integers(1, 6),
                     kind=st.sampled_from(["limit", "limit", "hidden", "iceberg", "day", "gtd", "ioc"]),
                     direct=st.booleans())

#: The risk machine's margin moves (deposits and withdrawals, plain or by signed FundTransfer).
MARGIN = dict(who=st.sampled_from([0, 1, 2, 3, 4]), amount=st.integers(20, 300), signed=st.booleans())

#: Extra copies of a rule (Hypothesis picks among enabled rules uniformly and disables a random
#: subset per example): order flow dominates, and time, settlement and failures must be common
#: enough that most examples settle a cycle with a failing member in it.
EXTRA_WEIGHT = {"place_order": 20, "trigger_orders": 2, "time_moves": 4, "settle_due_cycles": 4, "revoke_ccp_allowance": 5,
                "move_assets_away": 3, "uncross": 1, "auction_order": 6}

#: The risk machine's extra copies of its own rules.
RISK_EXTRA_WEIGHT = {"margin_cycle": 1, "price_shock": 1, "missed_margin_call__default": 1, "member_misses_margin_call": 3,
                     "member_default_managed_by_auction": 3}
#: What each copy draws: the same strategies as the copied rule's own ``@rule``.
COPY_STRATEGIES = {"place_order": ORDER, "trigger_orders": {"sid_i": st.integers(0, 1)}, "time_moves": TIME,
                   "settle_due_cycles": {}, "revoke_ccp_allowance": REVOKE, "move_assets_away": MOVE, "uncross": UNCROSS,
                   "auction_order": AUCTION_ORDER, "margin_cycle": {},
                   "price_shock": {"sid_i": st.integers(0, 1), "pct": st.sampled_from([-30, -20, -10, 10, 20, 30])},
                   "missed_margin_call__default": {"who": st.integers(0, 3)},
                   "member_misses_margin_call": {"who": st.integers(0, 3), "severity": st.sampled_from([2, 4, 6])},
                   "member_default_managed_by_auction": {"who": st.integers(0, 3), "severity": st.sampled_from([2, 4]),
                                                         "ticks": st.lists(st.integers(0, 3), min_size=3, max_size=3)}}


def rule_copy(name: str, i: int, strategies: dict):  # noqa: ANN201
    """Rule ``{name}_{i}``: one more copy of rule ``name`` (looked up on the machine when it runs,
    so an override in a subclass is what the copy calls), drawing ``strategies``."""

    def alias(self, **kw):  # noqa: ANN001, ANN003
        getattr(self, name)(**kw)

    alias.__name__ = f"{name}_{i}"
    return rule(**strategies)(alias)


def rule_copies(weights: dict[str, int]) -> dict:
    """The extra copies ``weights`` asks for (rule name -> copies), by the attribute name each
    takes in the machine's class body (``{name}_{i}``)."""
    return {f"{name}_{i}": rule_copy(name, i, COPY_STRATEGIES[name]) for name, n in weights.items() for i in range(n)}
