"""The benchmark: measurements registered with :func:`~smartccp.bench.core.measurement` when
their module is imported. The modules, in the order their measurements run: :mod:`.core` (ledger,
demo), :mod:`.bbo`, :mod:`.risk`, :mod:`.defaults` (default management), :mod:`.scale` (costs against the market's size), :mod:`.sim`,
:mod:`.trade`, :mod:`.life` (life cycle), :mod:`.privacy` (pseudonymous trading), :mod:`.ops`;
:mod:`.clearing` holds the shared clearing helpers. A new measurement
module is imported here.
"""

from smartccp.bench import bbo, core, defaults, life, ops, privacy, risk, scale, sim, trade  # noqa: F401  (each registers its measurements)
from smartccp.bench.core import BENCH_JSON, BenchContext, render, run_bench, write_json

__all__ = ["BENCH_JSON", "BenchContext", "render", "run_bench", "write_json"]
