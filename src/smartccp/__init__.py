"""SmartCCP: a CCP-cleared securities market on an EVM ledger, driven from Python.

The subpackages mirror ``contracts/``. Imports run one way, from later layers to earlier ones,
never back up and never in a circle (``tests/toolchain/test_layout.py`` checks it):

    types, units                       the shared vocabulary: enums, constants, fixed-point cash
    chain                              deployment, registry, accounts, receipts, JSON-RPC,
                                       multicall, gas trace, reverts -> named errors, step reports,
                                       abi/ for clients outside Python
    trading, clearing, risk,           clients of the venue and BBO, of the CCP, of Margin and
    lifecycle                          DefaultFund, of Distributions; risk's models are pure (no
                                       chain)
    sim, proof, ops                    simulated order flow and scenarios; invariants and recovery;
                                       deployment files, daily operations, the keeper
    drill                              scenario-driven drills
    demo                               the demo's steps
    bench, scale                       the benchmark's measurements; the scale day

Within one layer a package may import a sibling (clearing uses the venue client), as long as no
circle forms.
"""
