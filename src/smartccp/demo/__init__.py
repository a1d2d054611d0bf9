"""The demo: named steps on one :class:`~smartccp.chain.report.StepList` (``DEMO_STEPS``).

Steps register on import, in the order of the modules below: :mod:`.core` (deploy, admit, issue,
transfer, refused transfer), :mod:`.trade` (risk, trading, BBO, margin, clearing, settlement),
:mod:`.default` (the default drill and its charts), :mod:`.governance` (an admin change through
the timelock, placed before the default drill), :mod:`.sim` (a burst of simulated flow), :mod:`.life` (a bond's coupon, compression, redemption, interest), :mod:`.privacy` (a trade between
pseudonyms: the outsider's view and the regulator's). A new step module is imported here.
"""

# The order of registration: core owns DEMO_STEPS; governance's step precedes the default
# drill, sim's follows it.
# isort: off
from smartccp.demo import core  # noqa: F401
from smartccp.demo import trade  # noqa: F401
from smartccp.demo import default  # noqa: F401
from smartccp.demo import governance  # noqa: F401
from smartccp.demo import sim  # noqa: F401
from smartccp.demo import life  # noqa: F401
from smartccp.demo import privacy  # noqa: F401
# isort: on
from smartccp.demo.core import DEMO_JSON, DEMO_STEPS, DemoContext, run_demo

__all__ = ["DEMO_JSON", "DEMO_STEPS", "DemoContext", "run_demo"]
