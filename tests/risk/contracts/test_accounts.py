"""Accounts under a clearing member (EMIR Art. 39): a house account, individually segregated client
accounts and one omnibus client account per member. Each is margined on its own positions, holds
its own collateral, and answers only for its own losses in a default: segregation as tests that
fail when it is broken. Porting moves an individual client's account whole, and a defaulter's
omnibus clients collectively with their commingled collateral. Every refusal is named and changes
nothing.

Cast: member A (house), X its individually segregated client (the suite's client_a), Y and Z its
omnibus clients; member B; W an individually segregated client of B.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ape
import pytest

from smartccp.chain.system import kyc_expiry
from smartccp.risk.chain import margin_status
from smartccp.risk.margin import initial_margin
from smartccp.types import Segregation, Side, omnibus_account
from smartccp.units import cash

#: Collateral each account holds before a test (cash base units): distinct, so a wrong account
#: moving shows in the figures.
HOUSE_A, CLIENT_X, OMNIBUS_A, HOUSE_B, CLIENT_W = cash(9_000), cash(1_000), cash(2_000), cash(7_000), cash(3_000)


@dataclass
class Cast:
    u: Any
    a: Any
    b: Any
    x: Any
    y: Any
    z: Any
    w: Any
    omnibus: str  # A's omnibus account

    def posted(self) -> dict[str, int]:
        """Posted collateral of every account of the cast."""
        return {name: margin_status(self.u.margin, acct).posted for name, acct in
                (("A", self.a), ("X", self.x), ("omnibus A", self.omnibus), ("B", self.b), ("W", self.w))}


def _client(system, operator, accounts, member, mode):
    c = accounts.generate_test_account()
    operator.transfer(c, 10**18)
    system.membership.admitParticipant(c, member, kyc_expiry(), int(mode), sender=operator)
    return c


@pytest.fixture(scope="module")
def cast_(risk_unit, system, members, operator, accounts, bank, order):
    u = risk_unit
    a, b, x = members
    y = _client(system, operator, accounts, a, Segregation.OMNIBUS)
    z = _client(system, operator, accounts, a, Segregation.OMNIBUS)
    w = _client(system, operator, accounts, b, Segregation.INDIVIDUAL)
    omnibus = str(u.margin.omnibusAccountOf(a))
    u.margin.depositCash(HOUSE_A, sender=a)
    u.margin.depositCashTo(x, CLIENT_X, sender=a)  # a member may fund its client's account
    u.margin.depositCashTo(omnibus, OMNIBUS_A, sender=a)
    u.margin.depositCash(HOUSE_B, sender=b)
    system.cash.issue(w, CLIENT_W, sender=bank)
    system.cash.approve(u.margin, CLIENT_W, sender=w)
    u.margin.depositCash(CLIENT_W, sender=w)  # a client funds its own account
    # Each wallet rests one small buy in EQ0 through the gate (listing the position), then a new
    # margin day drops the resting quantities: the tests set the obligations.
    sid = u.sids[0]
    for wallet in (a, x, y, z, b, w):
        u.client.place(order(wallet, sid, Side.BUY, 10, u.prices[sid] // 2), wallet)
    u.margin.startMarginDay(sender=operator)
    return Cast(u, a, b, x, y, z, w, omnibus)


def _hold(c: Cast, wallet, quantity: int):  # noqa: ANN001, ANN202
    """Give ``wallet`` an open obligation of ``quantity`` EQ0 at its price in the next cycle and
    refresh its account; returns the account's margin status."""
    u = c.u
    sid, price = u.sids[0], u.prices[u.sids[0]]
    u.source.setObligation(int(u.source.currentCycle()) + 1, sid, wallet, quantity, -quantity * price, sender=u.ccp)
    u.margin.refreshMargin(wallet, sender=u.ccp)
    return margin_status(u.margin, wallet)


BEFORE = {"A": HOUSE_A, "X": CLIENT_X, "omnibus A": OMNIBUS_A, "B": HOUSE_B, "W": CLIENT_W}


def test_accounts__structure__house_individual_and_omnibus(cast_):
    c, m = cast_, cast_.u.margin
    assert [str(v) for v in m.accountsOf(c.a)] == [c.a.address, c.x.address, c.omnibus]
    assert [str(v) for v in m.accountsOf(c.b)] == [c.b.address, c.w.address]
    assert [str(v) for v in m.walletsOf(c.omnibus)] == [c.omnibus, c.y.address, c.z.address]
    assert [str(v) for v in m.walletsOf(c.x)] == [c.x.address]
    assert tuple(m.accountOf(c.a)) == (c.a.address, c.a.address, Segregation.NONE)
    assert tuple(m.accountOf(c.x)) == (c.x.address, c.a.address, Segregation.INDIVIDUAL)
    assert tuple(m.accountOf(c.y)) == (c.omnibus, c.a.address, Segregation.OMNIBUS)
    assert tuple(m.accountOf(c.omnibus)) == (c.omnibus, c.a.address, Segregation.OMNIBUS)
    assert omnibus_account(c.a.address) == c.omnibus  # the CCP's cash leg, Margin's account, Python: one address
    assert c.posted() == BEFORE


def test_accounts__each_margined_on_its_own_positions__omnibus_nets_its_clients(cast_):
    """By hand, one security (EQ0 at 100.00): A long 300; X long 50; Y long 100 and Z short 100
    (the omnibus account nets them to nothing, so its IM is zero); W short 40. Each account's IM is
    the model's on its own positions only: A's never includes X's, and segregated accounts never
    offset each other (A + X margined apart need more than the two together would)."""
    c, u = cast_, cast_.u
    sid, price = u.sids[0], u.prices[u.sids[0]]
    cycle = int(u.source.currentCycle()) + 1
    book = {c.a: 300, c.x: 50, c.y: 100, c.z: -100, c.w: -40}
    for wallet, q in book.items():
        u.source.setObligation(cycle, sid, wallet, q, -q * price, sender=u.ccp)
    shocks = [u.shocks[sid]]

    def im(q: int) -> int:
        return initial_margin([q], [price], shocks)

    expected = {c.a.address: im(300), c.x.address: im(50), c.omnibus: 0, c.b.address: 0, c.w.address: im(-40)}
    for account, want in expected.items():
        assert int(u.margin.previewInitialMargin(account)) == want, account
        u.margin.refreshMargin(account, sender=u.ccp)
        assert margin_status(u.margin, account).initial_margin == want
    assert im(300) > 0 and im(50) > 0 and im(-40) > 0
    assert im(300) + im(50) >= im(350)  # no offset across segregated accounts


def test_segregation__house_default__no_client_collateral_used(cast_):
    """A's house loss of 20,000 (more than all of A's collateral together): layer 1 takes A's
    house margin only; X's individual account and A's omnibus account keep every unit."""
    c, u = cast_, cast_.u
    receipt = u.fund.coverShortfall(c.a, c.a, cash(20_000), sender=u.ccp)
    seized = [(e.account, int(e.amount)) for e in receipt.decode_logs(u.margin.MarginSeized)]
    assert seized == [(c.a.address, HOUSE_A)]
    assert c.posted() == {**BEFORE, "A": 0}


def test_segregation__individual_client_loss__its_account_then_the_house_never_another(cast_):
    """X's obligations lose 1,500: X's 1,000 first, then 500 of A's house; the omnibus account,
    B and W untouched."""
    c, u = cast_, cast_.u
    receipt = u.fund.coverShortfall(c.a, c.x, cash(1_500), sender=u.ccp)
    seized = [(e.account, int(e.amount)) for e in receipt.decode_logs(u.margin.MarginSeized)]
    assert seized == [(c.x.address, CLIENT_X), (c.a.address, cash(500))]
    assert c.posted() == {**BEFORE, "X": 0, "A": HOUSE_A - cash(500)}


def test_seizure__leaving_the_account_short__calls_it_at_once(cast_):
    """X holds a position that needs 600 of its 1,000 (as the state machine found: a loss taken
    from X's margin left it short with no call open). A loss of 700 taken from X's account leaves
    300 against the 600 required: X is called for 300 at once, with a deadline; A's house,
    which lost nothing, is not called."""
    c, u = cast_, cast_.u
    per_unit = _hold(c, c.x, 1).required
    held = _hold(c, c.x, max(1, cash(600) // per_unit))
    assert held.posted >= held.required > cash(300) and held.call_deadline == 0, "the setup leaves X covered"
    loss = held.posted - held.required // 2
    receipt = u.fund.coverShortfall(c.a, c.x, loss, sender=u.ccp)
    st = margin_status(u.margin, c.x)
    assert st.posted == held.posted - loss < st.required == held.required
    assert st.call_amount == st.required - st.posted and st.call_deadline > 0
    assert [(e.account, int(e.amount)) for e in receipt.decode_logs(u.margin.MarginCalled)] == \
        [(c.x.address, st.call_amount)]
    assert margin_status(u.margin, c.a).call_deadline == 0


def test_segregation__omnibus_loss__limited_to_the_omnibus_account_then_the_house(cast_):
    """Y's obligations lose 2,500: the omnibus account's 2,000 (Z's share included: omnibus
    collateral is shared by its clients), then 500 of A's house; X (individual) untouched."""
    c, u = cast_, cast_.u
    receipt = u.fund.coverShortfall(c.a, c.y, cash(2_500), sender=u.ccp)
    seized = [(e.account, int(e.amount)) for e in receipt.decode_logs(u.margin.MarginSeized)]
    assert seized == [(c.omnibus, OMNIBUS_A), (c.a.address, cash(500))]
    assert c.posted() == {**BEFORE, "omnibus A": 0, "A": HOUSE_A - cash(500)}


def test_segregation__a_client_of_another_member__never_pays_for_this_one(cast_):
    """A loss charged to A for W's wallet (W clears through B) takes nothing of W's: only A's house."""
    c, u = cast_, cast_.u
    receipt = u.fund.coverShortfall(c.a, c.w, cash(100), sender=u.ccp)
    seized = [(e.account, int(e.amount)) for e in receipt.decode_logs(u.margin.MarginSeized)]
    assert seized == [(c.a.address, cash(100))]
    assert c.posted() == {**BEFORE, "A": HOUSE_A - cash(100)}


def test_porting__individual_client__account_moves_whole_with_its_collateral(cast_, system, operator):
    c, u = cast_, cast_.u
    before = _hold(c, c.x, 50)
    assert before.initial_margin > 0
    u.fund.declareDefault(c.a, sender=operator)
    u.fund.setBackupMember(c.a, c.b, sender=operator)
    system.membership.acceptPortsFrom(c.a, True, sender=c.b)
    u.fund.portClients(c.a, [c.x], sender=operator)
    assert tuple(u.margin.accountOf(c.x)) == (c.x.address, c.b.address, Segregation.INDIVIDUAL)
    assert [str(v) for v in u.margin.accountsOf(c.a)] == [c.a.address, c.omnibus]
    assert [str(v) for v in u.margin.accountsOf(c.b)] == [c.b.address, c.w.address, c.x.address]
    assert margin_status(u.margin, c.x) == before  # positions, requirement and collateral with it
    u.margin.refreshMargin(c.x, sender=u.ccp)  # margined under B from now on: the same figure
    assert margin_status(u.margin, c.x).initial_margin == before.initial_margin
    assert c.posted() == BEFORE  # nobody's collateral moved


def test_client_call_overdue__its_member_is_declared_in_default(cast_, chain):
    """X's account is called and nobody meets the call: X's failure is A's towards the CCP, so
    anyone may have the fund declare A (given X) in default."""
    c, u = cast_, cast_.u
    st = _hold(c, c.x, 5_000)
    assert st.call_amount > 0
    with ape.reverts(u.fund.NoDefaultEvent):
        u.fund.declareDefault(c.x, sender=c.w)
    chain.pending_timestamp = st.call_deadline + 1
    chain.mine()
    assert u.margin.callOverdue(c.x) and not u.margin.callOverdue(c.a)
    u.fund.declareDefault(c.x, sender=c.w)  # anyone
    assert int(u.fund.defaultOf(c.a)[0]) == 1  # MissedMarginCall, A's case
    assert margin_status(u.margin, c.a).defaulted and not margin_status(u.margin, c.x).defaulted


def test_refusals__named__change_nothing(cast_, system, operator, outsider):
    c, u = cast_, cast_.u
    m = u.margin
    held = int(system.cash.balanceOf(m))
    cases = [
        # an unknown account
        (m.UnknownAccount, lambda: m.depositCashTo(outsider, cash(1), sender=c.a)),
        (m.UnknownAccount, lambda: m.withdrawCashFrom(outsider, cash(1), sender=c.a)),
        # the member may not take its individual client's collateral, nor an omnibus client the
        # omnibus collateral, nor another member either account
        (m.NotAccountController, lambda: m.withdrawCashFrom(c.x, cash(1), sender=c.a)),
        (m.NotAccountController, lambda: m.withdrawCashFrom(c.omnibus, cash(1), sender=c.y)),
        (m.NotAccountController, lambda: m.withdrawCash(cash(1), sender=c.y)),
        (m.NotAccountController, lambda: m.withdrawCashFrom(c.omnibus, cash(1), sender=c.b)),
        (m.NotAccountController, lambda: m.withdrawCashFrom(c.w, cash(1), sender=c.a)),
        # withdrawing below the requirement (here: more than is held)
        (m.InsufficientCollateral, lambda: m.withdrawCash(CLIENT_X + 1, sender=c.x)),
        # no client is ported away from a member that is not in default
        (u.fund.NotInDefault, lambda: u.fund.portClients(c.b, [c.w], sender=operator)),
        # a client must be admitted with a segregation
        (system.membership.NoSegregation,
         lambda: system.membership.admitParticipant(outsider, c.a, kyc_expiry(), 0, sender=operator)),
    ]
    for error, call in cases:
        with ape.reverts(error):
            call()
        assert c.posted() == BEFORE and int(system.cash.balanceOf(m)) == held


def test_refusals__client_of_another_member__not_ported_by_this_default(cast_, system, operator):
    c, u = cast_, cast_.u
    u.fund.declareDefault(c.a, sender=operator)
    u.fund.setBackupMember(c.a, c.b, sender=operator)
    with ape.reverts(u.fund.NotClientOf):
        u.fund.portClients(c.a, [c.w], sender=operator)
    assert tuple(u.margin.accountOf(c.w)) == (c.w.address, c.b.address, Segregation.INDIVIDUAL)
    assert c.posted() == BEFORE


def test_refusals__withdraw_below_requirement__insufficient_margin(cast_):
    c, u = cast_, cast_.u
    st = _hold(c, c.w, 40)
    assert 0 < st.required < CLIENT_W
    excess = CLIENT_W - st.required
    with ape.reverts(u.margin.InsufficientMargin, account=c.w.address):
        u.margin.withdrawCash(excess + 1, sender=c.w)
    assert c.posted() == BEFORE
    u.margin.withdrawCash(excess, sender=c.w)  # the excess is the client's to take
    assert margin_status(u.margin, c.w).posted == st.required


def test_desks__wallets_of_the_house__gated_margined_and_seized_as_the_house__never_ported(
        cast_, system, operator, accounts, order):
    """Two desks of A (admitted with ``Segregation.HOUSE``) trade for A's house account: their
    orders are gated on it, the house's IM nets A's and the desks' positions (A +100, desk 1 +50,
    desk 2 -150: nothing at risk), a loss on a desk's obligations is the house's, and a desk is
    not a client: porting it is refused."""
    c, u = cast_, cast_.u
    d1, d2 = (_client(system, operator, accounts, c.a, Segregation.HOUSE) for _ in range(2))
    m, sid = u.margin, u.sids[0]
    assert [str(v) for v in m.walletsOf(c.a)] == [c.a.address, d1.address, d2.address]
    assert tuple(m.accountOf(d1)) == (c.a.address, c.a.address, Segregation.NONE)
    assert [str(v) for v in m.accountsOf(c.a)] == [c.a.address, c.x.address, c.omnibus]  # no new account
    gas = {}
    for who in (c.a, d1, d2, c.x):
        u.client.place(order(who, sid, Side.BUY, 10, u.prices[sid] // 2), who)  # lists the position
        receipt = u.client.place(order(who, sid, Side.BUY, 10, u.prices[sid] // 2), who)
        [log] = receipt.decode_logs(m.OrderMargined)
        assert (log.account, log.owner) == (c.x.address if who == c.x else c.a.address, who.address)
        gas[who.address] = receipt.gas_used
    print(f"\nresting order through the gate (steady state): member {gas[c.a.address]:,} gas, its desks "
          f"{gas[d1.address]:,} and {gas[d2.address]:,} gas, its client {gas[c.x.address]:,} gas")
    # A desk's order costs what a client's does (the venue also reads the member's standing), and
    # the same for every desk: adding desks adds nothing per order (up to the calldata of the
    # addresses and signatures: zero bytes cost 4 gas, others 16).
    same = [gas[d1.address], gas[d2.address], gas[c.x.address]]
    assert max(same) - min(same) <= 100
    cycle = int(u.source.currentCycle()) + 1
    for wallet, q in ((c.a, 100), (d1, 50), (d2, -150)):
        u.source.setObligation(cycle, sid, wallet, q, -q * u.prices[sid], sender=u.ccp)
    u.margin.startMarginDay(sender=operator)  # drop the resting quantities
    u.margin.refreshMargin(c.a, sender=u.ccp)
    assert margin_status(m, c.a).initial_margin == 0
    receipt = u.fund.coverShortfall(c.a, d1, cash(100), sender=u.ccp)
    assert [(e.account, int(e.amount)) for e in receipt.decode_logs(m.MarginSeized)] == [(c.a.address, cash(100))]
    system.membership.acceptPort(d1, True, sender=c.b)
    with ape.reverts(system.membership.DeskNotPortable, desk=d1.address):
        system.membership.portClient(d1, c.b, sender=operator)
    assert tuple(m.accountOf(d1)) == (c.a.address, c.a.address, Segregation.NONE)


def test_porting__the_client_asks__moves_once_the_new_member_accepts(cast_, system, outsider):
    """X asks to clear through B instead of A (no default): refused until B accepts X, then X's
    account moves whole; nobody else may move X."""
    c, u = cast_, cast_.u
    before = _hold(c, c.x, 50)
    with ape.reverts(system.membership.AccessControlUnauthorizedAccount):
        system.membership.portClient(c.x, c.b, sender=outsider)
    with ape.reverts(system.membership.PortNotAccepted, client=c.x.address, toClearingMember=c.b.address):
        system.membership.portClient(c.x, c.b, sender=c.x)
    assert tuple(u.margin.accountOf(c.x)) == (c.x.address, c.a.address, Segregation.INDIVIDUAL)
    system.membership.acceptPort(c.x, True, sender=c.b)
    system.membership.portClient(c.x, c.b, sender=c.x)
    assert system.membership.clearingMemberOf(c.x) == c.b.address
    assert tuple(u.margin.accountOf(c.x)) == (c.x.address, c.b.address, Segregation.INDIVIDUAL)
    assert margin_status(u.margin, c.x) == before
    assert c.posted() == BEFORE


def test_seizure_module__called_directly__refused(cast_, project):
    """Layer 1 runs only on Margin's storage, by delegatecall from Margin (which checks the role)."""
    c, u = cast_, cast_.u
    module = project.MarginSeizure.at(u.margin.seizureModule())
    with ape.reverts(module.OnlyDelegateCall):
        module.seizeMargin(c.a, c.a, cash(1), c.b, sender=c.b)
    with ape.reverts(module.OnlyDelegateCall):
        module.releaseRemainingCollateral(c.a, 1, sender=c.b)
    assert c.posted() == BEFORE


def test_porting__omnibus_clients__collectively__the_omnibus_collateral_follows_the_last(cast_, system, operator,
                                                                                       issuer, outsider):
    """A defaults. Its omnibus clients Y (long 100 EQ0) and Z (short 30) are ported to B one by one,
    each with its positions. The commingled omnibus collateral (2,000.00 cash, and 40 EQ0 and 25
    EQ1 that Y posted) stays while a client is left, since it still answers for that client
    (``OmnibusClientsLeft``); once the last is gone it follows them into B's omnibus account:
    the cash at the first call, the securities lines one per call here (resumable), each valued
    afresh there. Nothing leaves Margin; no other account moves; a refusal changes nothing."""
    c, u = cast_, cast_.u
    m, s0, s1 = u.margin, u.sids[0], u.sids[1]
    m.setHaircut(s0, 1_000, sender=operator)  # 10 %
    system.securities.setApprovalForAll(m, True, sender=c.y)
    for sid, n in ((s0, 40), (s1, 25)):
        system.securities.issue(sid, c.y, n, sender=issuer)
        m.depositSecurities(sid, n, sender=c.y)
    lines = {s0: 40 * u.prices[s0] * 9 // 10, s1: 25 * u.prices[s1]}  # units x price less the haircut
    assert margin_status(m, c.omnibus).posted == OMNIBUS_A + sum(lines.values())
    cycle, price = int(u.source.currentCycle()) + 1, u.prices[s0]
    for wallet, q in ((c.y, 100), (c.z, -30)):
        u.source.setObligation(cycle, s0, wallet, q, -q * price, sender=u.ccp)
    m.refreshMargin(c.omnibus, sender=u.ccp)
    im = initial_margin([70], [price], [u.shocks[s0]])
    assert margin_status(m, c.omnibus).initial_margin == im > 0
    u.fund.declareDefault(c.a, sender=operator)
    with ape.reverts(m.OmnibusClientsLeft, account=c.omnibus, clients=2):
        m.portOmnibusCollateral(c.a, 10, sender=outsider)  # none ported yet
    u.fund.setBackupMember(c.a, c.b, sender=operator)
    system.membership.acceptPortsFrom(c.a, True, sender=c.b)
    u.fund.portClients(c.a, [c.y], sender=operator)
    omnibus_b = str(m.omnibusAccountOf(c.b))
    assert [str(v) for v in m.walletsOf(omnibus_b)] == [omnibus_b, c.y.address]
    held = {"units": [int(system.securities.balanceOf(m, s)) for s in (s0, s1)], "cash": int(system.cash.balanceOf(m))}
    before = c.posted()
    for error, kwargs, call in (
            (m.OmnibusClientsLeft, {"account": c.omnibus, "clients": 1},
             lambda: m.portOmnibusCollateral(c.a, 10, sender=outsider)),  # Z is still A's
            (m.NotFlaggedInDefault, {"member": c.b.address},
             lambda: m.portOmnibusCollateral(c.b, 10, sender=outsider)),
            (m.ZeroInput, {}, lambda: m.portOmnibusCollateral(c.a, 0, sender=outsider))):
        with ape.reverts(error, **kwargs):
            call()
        assert c.posted() == before
    u.fund.portClients(c.a, [c.z], sender=operator)
    assert [str(v) for v in m.walletsOf(omnibus_b)] == [omnibus_b, c.y.address, c.z.address]
    assert [str(v) for v in m.walletsOf(c.omnibus)] == [c.omnibus]
    # The first call: the cash and the first line; the second: the other line, and done.
    first = m.portOmnibusCollateral(c.a, 1, sender=outsider)
    [log] = first.decode_logs(m.OmnibusCollateralPorted)
    assert (log["from"], log.to, int(log.cash), log.done) == (c.omnibus, omnibus_b, OMNIBUS_A, False)
    assert margin_status(m, c.omnibus).posted == lines[s1]
    second = m.portOmnibusCollateral(c.a, 1, sender=outsider)
    assert [(e.account, int(e.securityId), int(e.units)) for e in second.decode_logs(m.SecuritiesCollateralMoved)] == \
        [(c.omnibus, s1, -25), (omnibus_b, s1, 25)]
    assert [bool(e.done) for e in second.decode_logs(m.OmnibusCollateralPorted)] == [True]
    st = margin_status(m, omnibus_b)
    assert st.posted == OMNIBUS_A + sum(lines.values()) and st.cash == OMNIBUS_A
    assert [int(m.collateralUnits(omnibus_b, s)) for s in (s0, s1)] == [40, 25]
    assert [int(m.collateralUnits(c.omnibus, s)) for s in (s0, s1)] == [0, 0]
    assert margin_status(m, c.omnibus).posted == 0
    # B's omnibus account is margined on Y's and Z's positions, netted as they were under A.
    m.refreshMargin(omnibus_b, sender=u.ccp)
    assert margin_status(m, omnibus_b).initial_margin == im
    assert c.posted() == {**BEFORE, "omnibus A": 0}  # every other account as it was
    assert held == {"units": [int(system.securities.balanceOf(m, s)) for s in (s0, s1)],
                    "cash": int(system.cash.balanceOf(m))}  # nothing left Margin


def test_porting__omnibus_clients_split_between_members__the_omnibus_collateral_stays(
        cast_, system, operator, member_c, outsider):
    """Omnibus collateral is ported collectively or not at all: A's omnibus clients went to two
    members (Y to B, then Z to C after the backup changed), so it cannot follow them
    (``OmnibusNotPorted``); it stays where it was."""
    c, u = cast_, cast_.u
    m = u.margin
    u.fund.declareDefault(c.a, sender=operator)
    for client, backup in ((c.y, c.b), (c.z, member_c)):
        u.fund.setBackupMember(c.a, backup, sender=operator)
        system.membership.acceptPortsFrom(c.a, True, sender=backup)
        u.fund.portClients(c.a, [client], sender=operator)
    assert [str(v) for v in m.walletsOf(c.omnibus)] == [c.omnibus]
    with ape.reverts(m.OmnibusNotPorted, member=c.a.address):
        m.portOmnibusCollateral(c.a, 10, sender=outsider)
    assert c.posted() == BEFORE


def test_closed_default__unported_omnibus_collateral__to_the_estate_for_its_clients(cast_, system, operator, issuer,
                                                                                    outsider):
    """A defaults and its omnibus clients are not ported: they are closed out with its portfolio,
    and what is left of the omnibus collateral (2,000.00 cash and 40 EQ0 Y posted) is theirs,
    not the house's. When A's default is closed it goes to A's estate for the account of those
    clients, whom the CCP does not know one by one (EMIR Art. 48(7)): the cash at once, the
    securities line by ``releaseRemainingCollateral`` on the omnibus account. X's individual
    account stays X's own."""
    c, u = cast_, cast_.u
    m, s0 = u.margin, u.sids[0]
    system.securities.setApprovalForAll(m, True, sender=c.y)
    system.securities.issue(s0, c.y, 40, sender=issuer)
    m.depositSecurities(s0, 40, sender=c.y)
    u.fund.declareDefault(c.a, sender=operator)
    u.fund.setEstate(c.a, c.b, sender=operator)
    cash_before, units_before = int(system.cash.balanceOf(c.b)), int(system.securities.balanceOf(c.b, s0))
    receipt = u.fund.closeDefault(c.a, sender=operator)
    released = [(e.member, int(e.cash)) for e in receipt.decode_logs(m.CollateralReleased)]
    assert released == [(c.a.address, HOUSE_A), (c.omnibus, OMNIBUS_A)]
    assert int(system.cash.balanceOf(c.b)) - cash_before == HOUSE_A + OMNIBUS_A
    assert int(system.securities.balanceOf(c.b, s0)) - units_before == 40  # its first lines with it
    assert margin_status(m, c.omnibus).posted == 0 and int(m.collateralUnits(c.omnibus, s0)) == 0
    with ape.reverts(m.ZeroInput):
        m.releaseRemainingCollateral(c.omnibus, 10, sender=outsider)  # every line sent already
    assert margin_status(m, c.x).posted == CLIENT_X  # an individual client's account is its own
