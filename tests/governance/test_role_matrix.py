"""Every role-gated function called by every role holder that lacks its role (issue #25): the
functions are enumerated from the ABIs of the governed deployment, ``GATES`` maps each to the
role it needs (a test fails when a contract gains a state-changing function this map does not
know), and each call is sent as a real transaction: it reverts with a named access error and
changes nothing (balances, obligations, roles)."""

from __future__ import annotations

from gov_support import HOLDERS

from smartccp.chain.errors import sent_refusal
from smartccp.chain.roles import DEFAULT_ADMIN_ROLE, role
from smartccp.chain.rpc import Rpc

ADMIN = "DEFAULT_ADMIN_ROLE"
#: Contract -> function -> the role it needs ("DEFAULT_ADMIN_ROLE" = the timelock).
GATES: dict[str, dict[str, str]] = {
    "Membership": {"admitClearingMember": "OPERATOR_ROLE", "admitParticipant": "OPERATOR_ROLE",
                   "admitInstitution": "OPERATOR_ROLE", "renewKyc": "OPERATOR_ROLE", "reinstate": "OPERATOR_ROLE",
                   "portClient": "OPERATOR_ROLE", "addSubscriber": "OPERATOR_ROLE", "resync": "OPERATOR_ROLE",
                   "registerSystem": ADMIN, "suspend": "DEFAULT_MANAGER_ROLE", "expel": "DEFAULT_MANAGER_ROLE",
                   "setRecordKeys": ADMIN, "suspendOwner": "DEFAULT_MANAGER_ROLE", "reinstateOwner": "OPERATOR_ROLE",
                   "revealPseudonym": "DEFAULT_MANAGER_ROLE"},
    "CashToken": {"issue": "SETTLEMENT_BANK_ROLE", "redeem": "SETTLEMENT_BANK_ROLE"},
    "SecurityToken": {"listSecurity": "ISSUER_ROLE", "setHalted": "OPERATOR_ROLE", "addSubscriber": "OPERATOR_ROLE",
                      "addRecordDate": "RECORD_ROLE", "burnMatured": "RECORD_ROLE"},
    "CCPSettlement": {"setSecurityRules": "OPERATOR_ROLE", "setCloseOutMarket": ADMIN, "setDefaultHandler": ADMIN,
                      "setDistributions": ADMIN, "setInterestSource": ADMIN,
                      "setLiquidationMarket": ADMIN, "moveObligation": "DEFAULT_MANAGEMENT_ROLE",
                      "takeOverObligations": "DEFAULT_MANAGEMENT_ROLE"},
    "TradeVenue0": {"listSecurity": "OPERATOR_ROLE", "setPhase": "OPERATOR_ROLE", "setSessionEnd": "OPERATOR_ROLE",
                    "registerMarketMaker": "OPERATOR_ROLE", "uncross": "OPERATOR_ROLE", "setOrderGate": ADMIN,
                    "setQuoteSink": ADMIN},
    "Margin": {"publishScenarios": "RISK_ROLE", "setHaircut": "RISK_ROLE", "setMarginModel": "RISK_ROLE",
               "setInterestRate": "RISK_ROLE", "setInterestPayer": ADMIN,
               "publishPrices": "PRICE_ROLE", "startMarginDay": "PRICE_ROLE", "checkOrder": "VENUE_ROLE",
               "seizeMargin": "FUND_ROLE", "releaseCollateral": "FUND_ROLE", "flagDefault": "FUND_ROLE",
               "clearDefault": "FUND_ROLE", "setContributionStatus": "FUND_ROLE", "setDefaultFund": ADMIN,
               "setLiquidationMarket": ADMIN},
    "DefaultFund": {"setRequiredContributions": "RISK_ROLE", "setFundParameters": "RISK_ROLE",
                    "setBackupMember": "DEFAULT_MANAGER_ROLE", "closeDefault": "DEFAULT_MANAGER_ROLE",
                    "cureDefault": "DEFAULT_MANAGER_ROLE", "startEpisode": "DEFAULT_MANAGER_ROLE", "setEstate": ADMIN,
                    "setPortWindow": ADMIN, "recoverCcpCredit": "DEFAULT_MANAGER_ROLE", "setCoolingOff": ADMIN,
                    "lendBridge": "DEFAULT_MANAGEMENT_ROLE", "repayBridge": "DEFAULT_MANAGEMENT_ROLE"},
    "DefaultManagement": {"startAuction": "DEFAULT_MANAGER_ROLE", "reopenAuction": "DEFAULT_MANAGER_ROLE",
                          "hedge": "DEFAULT_MANAGER_ROLE"},
    "BBO": {"addVenue": "OPERATOR_ROLE", "removeVenue": "OPERATOR_ROLE"},
}
#: Every contract's grantRole/revokeRole needs the admin (the timelock) for every role.
ROLE_ADMIN = ("grantRole", "revokeRole")
#: Gated by the caller's identity rather than a role (the register, the ledger, the CCP, Margin).
CALLER_CHECKED = {"syncHolder", "syncHalt", "coverShortfall", "lendLiquidity", "repayLiquidity",
                  "recordContribution", "placeTrusted", "settle", "pushTopOfBook", "acceptPort", "acceptPortsFrom",
                  "withdrawCashFrom", "pullToCustody", "claimInterest", "compress"}
#: Open to anyone, each safe for its reason (tests/proof/test_bad_input_catalogue.py lists why).
PERMISSIONLESS = {"placeOrder", "quote", "cancelOrder", "cancelAll", "invalidateNonce", "purge", "triggerOrders",
                  "settleCycle", "prefundCash", "prefundSecurities", "withdrawCash", "withdrawSecurities",
                  "renounceRole", "transfer", "transferFrom", "approve", "permit", "safeTransferFrom",
                  "safeBatchTransferFrom", "setApprovalForAll", "depositCash", "depositCashTo", "depositSecurities",
                  "depositWithSignature", "refreshMargin", "revalue", "releaseRemainingCollateral", "portOmnibusCollateral",
                  "onERC1155Received", "onERC1155BatchReceived",
                  "contribute", "withdrawContribution", "fundSkinInTheGame", "payAssessment", "declareDefault",
                  "portClients", "settleMember", "settleMembers", "route", "syncQuote", "issue", "redeem",
                  "syncHooks", "openCase", "takeOver", "commitBid", "revealBid", "disposeLot", "chargeLosses",
                  "payGain", "settleBridge", "recoverLoss", "resign", "completeResignation", "claimContributionInterest",
                  "claimPrefundInterest", "admitPseudonym"}
ACCESS_ERRORS = {"AccessControlUnauthorizedAccount", "NotIssuer"}
#: The guardian's emergency powers besides its role checks: halting, stricter risk parameters
#: (tests/governance/test_bounded_changes.py shows it refused anything else).
GUARDIAN_MAY = {("SecurityToken", "setHalted"), ("Margin", "publishScenarios"), ("Margin", "setHaircut"),
                ("Margin", "setMarginModel")}


def _default(abi_type):  # noqa: ANN001, ANN202
    t = abi_type.canonical_type
    if t.endswith("]"):
        return []
    if t.startswith("("):
        return tuple(_default(c) for c in abi_type.components)
    return {"address": "0x" + "11" * 20, "bool": True, "string": "X", "bytes": b""}.get(
        t, b"\x00" * int(t[5:]) if t.startswith("bytes") else 1)


def _send(rpc: Rpc, contract, method: str, args: list, sender) -> str:  # noqa: ANN001
    return sent_refusal(contract, method, *args, sender=sender, gas=3_000_000, provider=rpc)


def _state(g) -> tuple:  # noqa: ANN001
    s = g.dep.system
    holders = [g.holder(h) for h in HOLDERS] + g.members
    cash = tuple(int(s.cash.balanceOf(a)) for a in holders)
    units = tuple(int(s.securities.balanceOf(a, g.sid)) for a in holders)
    return cash, units, int(s.cash.totalSupply()), tuple(s.ccp.securityRules(g.sid)), int(s.securities.securityCount())


def test_every_role_gated_function__every_holder_without_its_role__access_error(governed):
    s, rpc = governed.dep.system, Rpc.connected()
    contracts = {n: c for n, c in s.contracts().items() if n in GATES}
    results: dict[str, str] = {}
    before = _state(governed)
    for name, c in contracts.items():
        functions = {a.name: a for a in c.contract_type.abi
                     if getattr(a, "type", "") == "function" and a.stateMutability not in ("view", "pure")}
        unknown = set(functions) - set(GATES[name]) - set(ROLE_ADMIN) - CALLER_CHECKED - PERMISSIONLESS
        assert not unknown, f"{name}: state-changing functions with no entry in GATES: {sorted(unknown)}"
        for fn, needed in [*GATES[name].items(), *((f, ADMIN) for f in ROLE_ADMIN)]:
            role_id = DEFAULT_ADMIN_ROLE if needed == ADMIN else role(needed)
            args = [_default(i) for i in functions[fn].inputs]
            if fn in ROLE_ADMIN:
                args[0] = role("OPERATOR_ROLE")
            for holder in HOLDERS:
                who = governed.holder(holder)
                if c.hasRole(role_id, who) or (holder == "guardian" and (name, fn) in GUARDIAN_MAY):
                    continue
                got = _send(rpc, c, fn, args, who)
                results[f"{name}.{fn} by {holder}"] = got
    assert _state(governed) == before
    wrong = {k: v for k, v in results.items() if v not in ACCESS_ERRORS}
    assert not wrong, f"refused without an access error: {wrong}"
    assert len(results) >= 400
    # The asset-moving grants are refused to every holder, the operator included.
    for fn in ("CCPSettlement.grantRole", "Membership.registerSystem", "DefaultFund.setEstate",
               "CCPSettlement.setCloseOutMarket"):
        assert all(f"{fn} by {h}" in results for h in HOLDERS)
