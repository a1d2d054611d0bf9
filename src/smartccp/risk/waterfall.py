"""Pure-Python model of the default waterfall (a cross-check for the on-chain contract).

Layers, in order (all amounts in cash base units, Python ints):

1. ``defaulter_margin``: each defaulter's own margin (IM + VM collateral held) against its own
   loss.
2. ``defaulter_default_fund``: each defaulter's own default fund contribution against what is
   left of its own loss. Neither a defaulter's surplus margin nor its unused contribution is
   used for another defaulter's loss (they belong to its estate).
3. ``ccp_skin_in_the_game``: the CCP's dedicated own resources, against the sum of what is
   left of all defaulters' losses.
4. ``survivor_default_fund``: the non-defaulters' contributions, charged pro rata to their
   contributions.
5. ``survivor_assessments``: further calls on non-defaulters, each capped at
   ``ceil(contribution * assessment_cap_bps / 10_000)``, charged pro rata to the caps.
6. ``uncovered``: the residual nobody covers (the layers always sum to the total loss).

Pro-rata rounding (layers 4 and 5, :func:`pro_rata`): member ``i`` with weight ``w_i`` (out of
``W``) is charged ``floor(amount * w_i / W)``; the ``r = amount - sum(floors)`` leftover base
units (``r`` is less than the number of members with ``w_i > 0``) are charged one each to the
first ``r`` members with ``w_i > 0`` in member order. So the charges sum to exactly the amount
used, nobody is charged more than its weight (contribution or cap), and the CCP never absorbs a
rounding shortfall: rounding favours the CCP side. This is the reference for one run over every
member (O(n)); the contract charges layers 4 and 5 in O(1) through indices, whose per-member
rounding :mod:`smartccp.risk.fund_ledger` models exactly (same layer totals, each member's share
at least its exact pro-rata one).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from smartccp.risk._ints import as_int
from smartccp.units import BPS, ceil_div

__all__ = [
    "LAYERS",
    "MemberCharges",
    "WaterfallResult",
    "pro_rata",
    "run_waterfall",
]

MemberId = Hashable

LAYER_DEFAULTER_MARGIN = "defaulter_margin"
LAYER_DEFAULTER_FUND = "defaulter_default_fund"
LAYER_SKIN_IN_THE_GAME = "ccp_skin_in_the_game"
LAYER_SURVIVOR_FUND = "survivor_default_fund"
LAYER_ASSESSMENTS = "survivor_assessments"
LAYER_UNCOVERED = "uncovered"
LAYERS: tuple[str, ...] = (
    LAYER_DEFAULTER_MARGIN,
    LAYER_DEFAULTER_FUND,
    LAYER_SKIN_IN_THE_GAME,
    LAYER_SURVIVOR_FUND,
    LAYER_ASSESSMENTS,
    LAYER_UNCOVERED,
)
"""Layer names in waterfall order."""


@dataclass
class MemberCharges:
    """What the waterfall took from one member, cash base units.

    Attributes:
        margin_used: defaulters only: own margin consumed.
        default_fund_used: own default fund contribution consumed.
        assessment: survivors only: assessment called.
    """

    margin_used: int = 0
    default_fund_used: int = 0
    assessment: int = 0


@dataclass
class WaterfallResult:
    """Outcome of :func:`run_waterfall`.

    Attributes:
        total_loss: sum of the defaulters' losses, cash base units.
        layers: ``(layer name, amount used)`` in :data:`LAYERS` order; amounts sum to
            ``total_loss``.
        charges: per member (defaulters and survivors) :class:`MemberCharges`.
        uncovered: the amount of the ``uncovered`` layer.
    """

    total_loss: int
    layers: list[tuple[str, int]]
    charges: dict[MemberId, MemberCharges] = field(default_factory=dict)
    uncovered: int = 0

    def used(self, layer: str) -> int:
        """Amount used from the layer named ``layer``."""
        return dict(self.layers)[layer]


def pro_rata(amount: int, weights: Mapping[MemberId, int]) -> dict[MemberId, int]:
    """Split ``amount`` pro rata to non-negative integer ``weights``, exactly.

    ``floor(amount * w_i / W)`` each, then one extra base unit to each of the first
    ``amount - sum(floors)`` members (in mapping order) with ``w_i > 0``. Requires
    ``0 <= amount <= W``; every share is then ``<= w_i`` and the shares sum to ``amount``.
    """
    amount = as_int(amount, "amount")
    w = {k: as_int(v, f"weights[{k!r}]") for k, v in weights.items()}
    if any(v < 0 for v in w.values()):
        raise ValueError("weights must be non-negative")
    total = sum(w.values())
    if not 0 <= amount <= total:
        raise ValueError(f"amount {amount} must be in [0, sum of weights = {total}]")
    if amount == 0:
        return {k: 0 for k in w}
    shares = {k: amount * v // total for k, v in w.items()}
    leftover = amount - sum(shares.values())
    for k, v in w.items():
        if leftover == 0:
            break
        if v > 0:
            shares[k] += 1
            leftover -= 1
    return shares


def run_waterfall(
    losses: Mapping[MemberId, int],
    margins: Mapping[MemberId, int],
    contributions: Mapping[MemberId, int],
    skin_in_the_game: int,
    assessment_cap_bps: int = BPS,
) -> WaterfallResult:
    """Run the default waterfall for one or several simultaneous defaulters.

    Args:
        losses: defaulter -> close-out loss on its portfolio (``>= 0``, cash base units,
            before using any of its collateral). The keys are the defaulters.
        margins: member -> margin held (IM + VM collateral, ``>= 0``); missing defaulters = 0.
        contributions: member -> default fund contribution (``>= 0``) for every member;
            members not in ``losses`` are the survivors, in this mapping's order.
        skin_in_the_game: CCP's own dedicated resources (``>= 0``).
        assessment_cap_bps: each survivor's assessment cap as bps of its contribution (10 000 =
            one times the contribution), cap rounded up; 0 disables assessments.

    Returns:
        :class:`WaterfallResult` (see the module docstring for the layer order and rounding).
    """
    loss = {k: as_int(v, f"losses[{k!r}]") for k, v in losses.items()}
    margin = {k: as_int(v, f"margins[{k!r}]") for k, v in margins.items()}
    contrib = {k: as_int(v, f"contributions[{k!r}]") for k, v in contributions.items()}
    sitg = as_int(skin_in_the_game, "skin_in_the_game")
    cap_bps = as_int(assessment_cap_bps, "assessment_cap_bps")
    values = [*loss.values(), *margin.values(), *contrib.values(), sitg, cap_bps]
    if any(v < 0 for v in values):
        raise ValueError("losses, margins, contributions, skin in the game and cap must be >= 0")

    charges: dict[MemberId, MemberCharges] = {}
    used_margin = used_own_fund = 0
    residual = 0
    for member, amount in loss.items():
        c = MemberCharges()
        c.margin_used = min(amount, margin.get(member, 0))
        c.default_fund_used = min(amount - c.margin_used, contrib.get(member, 0))
        residual += amount - c.margin_used - c.default_fund_used
        used_margin += c.margin_used
        used_own_fund += c.default_fund_used
        charges[member] = c

    used_sitg = min(residual, sitg)
    residual -= used_sitg

    survivors = {k: v for k, v in contrib.items() if k not in loss}
    used_fund = min(residual, sum(survivors.values()))
    residual -= used_fund
    fund_shares = pro_rata(used_fund, survivors)

    caps = {k: ceil_div(v * cap_bps, BPS) for k, v in survivors.items()}
    used_assess = min(residual, sum(caps.values()))
    residual -= used_assess
    assess_shares = pro_rata(used_assess, caps)

    for member in survivors:
        charges[member] = MemberCharges(
            default_fund_used=fund_shares[member], assessment=assess_shares[member]
        )

    layers = [
        (LAYER_DEFAULTER_MARGIN, used_margin),
        (LAYER_DEFAULTER_FUND, used_own_fund),
        (LAYER_SKIN_IN_THE_GAME, used_sitg),
        (LAYER_SURVIVOR_FUND, used_fund),
        (LAYER_ASSESSMENTS, used_assess),
        (LAYER_UNCOVERED, residual),
    ]
    return WaterfallResult(
        total_loss=sum(loss.values()), layers=layers, charges=charges, uncovered=residual
    )
