import click
from ape import chain
from ape.cli import ConnectedProviderCommand

from smartccp.bench import clearing
from smartccp.bench.core import BenchContext
from smartccp.bench.trade import open_market
from smartccp.chain import gas_trace
from smartccp.chain.accounts import role_accounts
from smartccp.clearing import ccp as ccpmod


@click.command(cls=ConnectedProviderCommand)
def cli():
    ctx = BenchContext(roles=role_accounts(), repeats=1)
    r = ctx.roles
    m = open_market(ctx, n_members=0)
    reports = []
    orig = ccpmod.run_cycle
    def rc(*a, **k):
        k["chunk"] = 20
        rep = orig(*a, **k); reports.append(rep); return rep
    clearing.run_cycle = rc
    g = clearing.measure_clearing_gas(m.system, r.operator, bank=r.bank, issuer=r.issuer, security_ids=[m.security_id])
    large = reports[1]
    print("obligations", large.obligations, "txs", large.transactions, "gas", large.gas_used)
    for rec in large.receipts:
        b = gas_trace.breakdown(chain.provider, rec.txn_hash)
        print(rec.gas_used, {k: v // 20 for k, v in b.items()})
