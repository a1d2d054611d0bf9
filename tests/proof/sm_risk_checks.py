"""The risk machine's checks after every step (registered with ``InvariantSuite.add``): every
clearing member's collateral covers its requirement or a call is open (or it is in default); the
waterfall's layers are used in order, each only once the ones before it are exhausted, and name
every unit of each charged loss; Margin holds exactly its members' cash collateral and the fund
exactly the survivors' pool (their contributions and the rounding dust they lost), the
defaulters' contributions and the skin in the game."""

from __future__ import annotations

from sm_model_state import TALLY

from smartccp.proof.invariants import InvariantViolation

LAYER_NAMES = ("defaulter margin", "defaulter fund", "skin in the game", "survivors' fund", "assessments", "uncovered")


class RiskChecks:
    """The checks of ``RiskMachine`` (part of it; reads through ``RiskRules._risk_read``)."""

    def _check_risk(self, state, ledger, expect) -> None:  # noqa: ANN001
        r = self._risk_read()
        self._check_collateral(r)
        self._check_waterfall(ledger, r)
        self._check_risk_custody(state, r)

    def _check_collateral(self, r: dict) -> None:
        """Every clearing member's collateral covers its requirement, or a call is open, or it is
        in default; the requirement is IM + VM."""
        for m, (posted, required, _pe, im, vm, _c, call, deadline, defaulted, _paid) in r["status"].items():
            if required != im + vm:
                raise InvariantViolation(f"collateral: {m} requirement {required} != IM {im} + VM {vm}")
            if posted < required and not (call and deadline) and not defaulted:
                raise InvariantViolation(f"collateral: {m} posts {posted} < required {required} and no call is open")

    def _check_waterfall(self, ledger, r: dict) -> None:  # noqa: ANN001
        """Per charged shortfall (its ``LayerUsed`` events up to its ``ShortfallCovered``): layers
        strictly in order, summing to the charge, layers 1-4 to what was covered; a layer is
        used only when every earlier one is exhausted (read now: the step refilled nothing)."""
        events = ledger.risk_events[self.seen_layers:]
        self.seen_layers = len(ledger.risk_events)
        used: list[tuple[str, int, int]] = []
        exhausted_needed: set[tuple[str, int]] = set()
        for e in events:
            if e[0] == "LayerUsed":
                used.append((str(e[1]), int(e[2]), int(e[3])))
            elif e[0] == "ShortfallCovered":
                defaulter, amount, covered = str(e[1]), int(e[2]), int(e[3])
                mine = [u for u in used if u[0] == defaulter]
                layers = [u[1] for u in mine]
                if layers != sorted(set(layers)):
                    raise InvariantViolation(f"waterfall: layers {layers} for {defaulter} not in order")
                if sum(u[2] for u in mine) != amount:
                    raise InvariantViolation(f"waterfall: layers name {sum(u[2] for u in mine)} of a {amount} loss")
                if sum(u[2] for u in mine if u[1] < 4) != covered:
                    raise InvariantViolation(f"waterfall: layers 1-4 paid {sum(u[2] for u in mine if u[1] < 4)} "
                                             f"!= covered {covered}")
                for layer in layers:
                    exhausted_needed.update((defaulter, earlier) for earlier in range(min(layer, 4)))
                    TALLY.stats[f"waterfall layer used: {LAYER_NAMES[layer]}"] += 1
                TALLY.stats["shortfalls charged to the fund"] += 1
                used = [u for u in used if u[0] != defaulter]
        if used:
            raise InvariantViolation(f"waterfall: layers used outside a covered shortfall: {used}")
        for defaulter, layer in exhausted_needed:
            if layer == 0:
                left = r["status"][defaulter][5]  # cash margin (what layer 1 seizes)
            elif layer == 1:
                left = r["contribution"][defaulter][1]
            elif layer == 2:
                left = r["skin"]
            else:  # every survivor's balance, the passive fund members' included, is in the pool
                left = r["pool"]
            if left:
                raise InvariantViolation(f"waterfall: a later layer was used while {LAYER_NAMES[layer]} of "
                                         f"{defaulter} still holds {left}")

    def _check_risk_custody(self, state, r: dict) -> None:  # noqa: ANN001
        """Margin holds exactly its members' cash collateral; the fund exactly the survivors'
        pool (which backs every survivor's contribution), the defaulters' contributions and the
        skin in the game."""
        held = sum(s_[5] for s_ in r["status"].values())
        margin_cash = state.balances["cash"].get(str(self.margin.address), 0)
        if margin_cash != held:
            raise InvariantViolation(f"risk custody: Margin holds {margin_cash} cash, members' cash collateral {held}")
        fund_cash = state.balances["cash"].get(str(self.fund.address), 0)
        survivors = sum(c[1] for m, c in r["contribution"].items() if m not in r["in_default"])
        if survivors > r["pool"]:
            raise InvariantViolation(f"risk custody: survivors' contributions {survivors} > their pool {r['pool']}")
        want = r["pool"] + sum(c[1] for m, c in r["contribution"].items() if m in r["in_default"]) + r["skin"]
        if fund_cash != want:
            raise InvariantViolation(f"risk custody: DefaultFund holds {fund_cash}, survivors' pool + defaulters' "
                                     f"contributions + skin in the game {want}")
