"""Deployment from a file: everything the file names is deployed and recorded; a second deploy
reports what exists and sends nothing; a second process (here: a fresh attach) finds it all."""

from __future__ import annotations

import dataclasses
import json

import pytest
from ape import chain

from smartccp.chain import registry
from smartccp.ops.deploy import DeploymentError, attach, deploy
from smartccp.trading.orders import Order
from smartccp.trading.venue import VenueClient
from smartccp.types import Side
from smartccp.units import cash

EXPECTED = {"Membership", "CashToken", "SecurityToken", "TradeVenue0", "TradeVenue1", "CCPSettlement", "OrderRelay",
            "Margin", "DefaultFund", "DefaultManagement", "BBO", "VenueCloseOut", "VenueLiquidation", "Distributions"}


def test_deploy__records_every_part__and_a_second_run_sends_nothing(ops_deployed, tmp_path):
    assert set(registry.load(ops_deployed.registry)) == EXPECTED
    meta = registry.load_meta(ops_deployed.registry)
    assert meta["chain_id"] == chain.provider.chain_id and meta["cycle_length"] == ops_deployed.spec.cycle_length == 600
    assert meta["stages"] == ["core", "risk", "bbo", "close_out", "security:ACME", "roles"]
    lines = []
    path = tmp_path / "registry.json"
    path.write_text(ops_deployed.registry.read_text())
    before = chain.blocks.head.number
    dep = deploy(ops_deployed.spec, path=path, say=lines.append)
    assert chain.blocks.head.number == before, "a second deploy sent transactions"
    assert lines == [f"{name:<18} exists" for name in meta["stages"]]
    assert dep.system.addresses() == registry.load(ops_deployed.registry)


def test_attach__the_whole_system__wired(ops_deployed, tmp_path):
    dep = ops_deployed.attach(tmp_path)
    s, r = dep.system, dep.risk
    assert len(s.venues) == 2 and r is not None and s.extra["BBO"] is not None
    assert [str(v) for v in s.extra["BBO"].venues()] == [str(v.address) for v in s.venues]
    assert int(s.ccp.cycleLength()) == dep.spec.cycle_length
    sid = dep.security_ids["ACME"]
    assert int(r.margin.securityRisk(sid)[0]) == cash("12.50")
    a, b = ops_deployed.members
    # The gate and the BBO are wired: an order rests and shows in the consolidated quote.
    venue = VenueClient(s.venues[0])
    s.venues[0].setPhase(sid, 2, sender=dep.account("keeper"))
    venue.place(Order(owner=str(a.address), securityId=sid, side=Side.BUY, quantity=10, price=cash("12.40")), a)
    assert int(s.extra["BBO"].quoteOf(sid).bidPrice) == cash("12.40")


def test_deploy__another_cycle_length__refused(ops_deployed, tmp_path):
    path = tmp_path / "registry.json"
    path.write_text(ops_deployed.registry.read_text())
    other = dataclasses.replace(ops_deployed.spec, cycle_length=20)
    with pytest.raises(DeploymentError, match="cycle length cannot change"):
        deploy(other, path=path, say=lambda _line: None)


def test_deploy__registry_of_a_vanished_chain__local_chain_starts_afresh(ops_deployed, tmp_path):
    path = tmp_path / "registry.json"
    data = json.loads(ops_deployed.registry.read_text())
    data["Membership"] = "0x000000000000000000000000000000000000dEaD"
    path.write_text(json.dumps(data))
    with pytest.raises(LookupError, match="no code on this chain"):
        attach(path)
    lines = []
    dep = deploy(dataclasses.replace(ops_deployed.spec, securities=()), path=path, say=lines.append)
    assert "deploying afresh" in lines[0] and str(dep.system.membership.address) != data["Membership"]

