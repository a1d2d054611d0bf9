"""The risk machine's default-management rule (part of ``RiskMachine``): a member defaults after a
price move against it and its default is managed at once through ``DefaultManagement`` —
declare, take over, sealed bids, award, charge — with the model predicting every step: which
obligations move to the case account, each bid's fate at the gate (refused with the gate's named
error above the bidder's margin), the best bid, each lot's loss, and the obligations the winners
and the case account then hold. The suite's checks (conservation, flat books, the waterfall's
order, custody) run after the step like after any other."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import rule
from proof_world import HOUR
from sm_model_state import TALLY, expect_refusal

from smartccp.risk import management as mg
from smartccp.risk.chain import order_margin
from smartccp.types import DAY

BAND_BPS = 5_000  # bids within 50 % of the settlement price: the model's bids always are


class AuctionRules:
    """``member_default_managed_by_auction``: see the module's docstring."""

    @rule(who=st.integers(0, 3), severity=st.sampled_from([2, 4]), ticks=st.lists(st.integers(0, 3), min_size=3,
                                                                                   max_size=3))
    def member_default_managed_by_auction(self, who, severity, ticks):
        m = self.members[who]
        if m in self.defaulted:
            return
        dm = self.risk.management
        case = str(dm.address)
        self.member_misses_margin_call_before_settlement(who, severity)
        if m not in self.defaulted or int(dm.caseOf(m)[0]) != mg.CasePhase.NONE:
            return
        # The lots the case will form: m's obligations in every open cycle it reads.
        today = self.now() // DAY
        lots: dict[int, list[tuple[int, int, int]]] = {}
        for cycle, obs in sorted(self.obligations.items()):
            if cycle in self.settled or cycle < today - 1:
                continue
            for (sid, account), (q, c) in obs.items():
                if account == m and (q or c) and cycle <= today + self.sec[sid].lag_days:
                    lots.setdefault(sid, []).append((cycle, q, c))
        # Each lot needs one bidder whose margin surely takes every bid it makes, else the
        # default is left to settlement (the other default rule's path).
        survivors = [b for b in self.members if b not in self.defaulted and self.active[b]]
        status = self._status(survivors) if survivors else {}
        spare = {b: s_[0] - s_[1] - s_[2] for b, s_ in status.items() if s_[9]}
        traded = {sid: legs for sid, legs in lots.items() if sum(q for _c, q, _ in legs)}
        need = {sid: order_margin(abs(sum(q for _c, q, _ in legs)), self.settlement_price[sid],
                                  self.settlement_price[sid], self.worst[sid][0 if sum(q for _c, q, _ in legs) > 0
                                                                              else 1],
                                  sum(q for _c, q, _ in legs) > 0) for sid, legs in traded.items()}
        anchor = max(spare, key=spare.get, default=None)
        if traded and (anchor is None or spare[anchor] < sum(need.values())):
            TALLY.stats["default auctions skipped (no bidder with the margin)"] += 1
            return
        self.tx(dm, "openCase", m, sender=self.world.keeper)
        self.tx(dm, "takeOver", m, m, self.world.sids, sender=self.world.keeper)
        ids = [int(i) for i in dm.lotsOf(m)]
        assert len(ids) == len(lots), f"auction: {len(ids)} lots on chain, the model {len(lots)}"
        lot_of = {}
        for lot_id in ids:
            v = mg.lot(dm, lot_id)
            legs = lots[v.security_id]
            assert (v.quantity, v.cash) == (sum(q for _c, q, _ in legs), sum(c for _c, _, c in legs)), \
                f"auction: lot {lot_id} is ({v.quantity}, {v.cash}), the model's legs {legs}"
            lot_of[v.security_id] = lot_id
            for cycle, q, c in legs:  # the obligations moved to the case account
                self._move(cycle, v.security_id, m, case, q, c)
        self.tx(dm, "startAuction", m, HOUR, HOUR, BAND_BPS, sender=self.world.operator)
        # Sealed bids: the anchor and every other survivor on every traded lot.
        bids = []
        for sid in sorted(traded):
            q = sum(q for _c, q, _ in traded[sid])
            for k, bidder in enumerate([anchor] + [b for b in survivors if b != anchor]):
                # The anchor bids the settlement price (always in the band); the others below or
                # above it by 0-3 ticks, where a low price may fall outside the band.
                step = 0 if k == 0 else ticks[k % len(ticks)] * self.sec[sid].tick
                price = self.settlement_price[sid] - step if q > 0 else self.settlement_price[sid] + step
                bid = mg.sign_bid(dm, self.world.traders[self.addr.index(bidder)], lot_of[sid], max(price, 1))
                self.tx(dm, "commitBid", bid.lot, bid.digest, sender=bidder)
                bids.append((sid, q, bid))
        expect_refusal("NotRevealing", dm, "revealBid", bids[0][2].bid, bids[0][2].signature,
                       sender=self.world.keeper) if bids else None
        self.tx.warp(self.now() + HOUR + 60)
        best: dict[int, tuple[str, int]] = {}
        for sid, q, bid in bids:
            # The band around the settlement price (rounded in the CCP's favour), then the gate.
            mark = self.settlement_price[sid]
            limit = -(-mark * (10_000 - BAND_BPS) // 10_000) if q > 0 else mark * (10_000 + BAND_BPS) // 10_000
            outside = bid.price < limit if q > 0 else bid.price > limit
            why = "BidOutsideBand" if outside else self._gate(bid.bidder, sid, q > 0, abs(q), bid.price)
            if why is not None:
                expect_refusal(why, dm, "revealBid", bid.bid, bid.signature, sender=self.world.keeper)
                TALLY.stats[f"auction bids refused {why}"] += 1
                continue
            self.tx(dm, "revealBid", bid.bid, bid.signature, sender=self.world.keeper)
            self._gate_passed()
            lead = best.get(sid)
            if lead is None or (bid.price > lead[1] if q > 0 else bid.price < lead[1]):
                best[sid] = (bid.bidder, bid.price)
            TALLY.stats["auction bids accepted"] += 1
        self.tx.warp(self.now() + HOUR + 60)
        loss = 0
        for sid, legs in sorted(lots.items()):
            self.tx(dm, "disposeLot", lot_of[sid], 4, sender=self.world.keeper)
            v = mg.lot(dm, lot_of[sid])
            if sid in traded:
                winner, price = best[sid]
                assert (v.state, v.leader, v.leading_price) == (mg.LotState.AWARDED, winner, price), \
                    f"auction: lot {lot_of[sid]} went to {v.leader} at {v.leading_price}, the model's best {best[sid]}"
                lot_loss = -(sum(c for _c, _, c in legs) + sum(q for _c, q, _ in legs) * price)
                first = min(cycle for cycle, _q, _c in legs)  # the legs as held, the earliest adjusted
                for cycle, q, c in legs:
                    self._move(cycle, sid, case, winner, q, c + (lot_loss if cycle == first else 0))
                TALLY.stats["auction lots awarded"] += 1
            else:  # nothing to sell: the lot is its cash alone
                lot_loss = -sum(c for _c, _, c in legs)
                TALLY.stats["auction lots of cash only"] += 1
            assert -v.cash == lot_loss, f"auction: lot {lot_of[sid]} loss {-v.cash}, the model's {lot_loss}"
            loss += lot_loss
        self.tx(dm, "chargeLosses", m, 10, sender=self.world.keeper)
        assert int(dm.caseOf(m)[0]) == mg.CasePhase.CLOSED and int(dm.caseOf(m)[6]) == loss
        TALLY.stats["defaults managed by auction"] += 1
        self.suite.poll()  # the ledger learns of the case account (a new holder) before settlement
        self.time_moves(48)
        self.settle_due_cycles()
        owed = int(dm.accountResult(m, m)[1])
        if owed and not int(self.ccp.prefunded(case)[2]):
            # The house's gain first returns what layers 2-5 paid (reverse order), the rest to
            # its margin; the custody checks after the step see the fund's and Margin's cash.
            unrecovered = sum(int(x) for x in self.fund.unrecovered(m))
            self.tx(dm, "payGain", m, m, sender=self.world.keeper)
            back = unrecovered - sum(int(x) for x in self.fund.unrecovered(m))
            assert back == min(owed, unrecovered), f"recovery: {back} returned, the model {min(owed, unrecovered)}"
            TALLY.stats["auction gains returned to the fund's layers" if back
                        else "auction gains paid into the defaulter's margin"] += 1

    def _move(self, cycle: int, sid: int, src: str, dst: str, q: int, c: int) -> None:
        """The model's half of ``CCPSettlement.moveObligation``: ``(q, c)`` from ``src`` to
        ``dst`` in ``cycle``; the source keeps its (listed) entry."""
        obs = self.obligations[cycle]
        a, b = obs.setdefault((sid, src), [0, 0]), obs.setdefault((sid, dst), [0, 0])
        a[0], a[1], b[0], b[1] = a[0] - q, a[1] - c, b[0] + q, b[1] + c
