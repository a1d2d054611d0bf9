"""Off-chain risk models of SmartCCP (pure numpy / Python integers).

Conventions: money in cash base units (int, 6 decimals), prices in cash base units per security
unit (int), quantities in whole units (int, long > 0), shocks in integer basis points with shape
``(n_securities, n_scenarios)``. VaR is a positive loss. Rounding favours the CCP: margins,
losses and fund sizes round up, anything paid out rounds down.

Modules: :mod:`.scenarios` (historical-simulation shock calibration, anti-procyclicality),
:mod:`.model` (THE published margin model: joint scenarios, FHS; every publishing path calls
:func:`.published_scenarios`), :mod:`.portfolio_backtest` (the chain's IM on portfolios),
:mod:`.margin` (IM / VM / VaR), :mod:`.backtest` (Kupiec, Christoffersen), :mod:`.stress`
(historical and hypothetical stress), :mod:`.default_fund` (cover 2, allocation, reverse stress)
and :mod:`.waterfall` (default waterfall).
"""

from smartccp.risk.backtest import (
    BacktestReport,
    LRTest,
    backtest_var,
    christoffersen_independence,
    conditional_coverage,
    kupiec_pof,
)
from smartccp.risk.default_fund import (
    Cover2Sizing,
    ReverseStressResult,
    allocate_contributions,
    cover2_fund_size,
    member_risk,
    reverse_stress_test,
    size_default_fund,
)
from smartccp.risk.margin import (
    initial_margin,
    portfolio_pnl_by_scenario,
    scenario_exposures,
    value_at_risk,
    variation_margin,
)
from smartccp.risk.model import PUBLISHED, MarginModel, published_scenarios
from smartccp.risk.scenarios import (
    APC,
    JointScenarios,
    calibrate_joint_shocks,
    calibrate_shocks,
    horizon_returns,
    observation_weights,
    stressed_window,
    tail_levels,
)
from smartccp.risk.stress import (
    StressScenario,
    historical_stress_scenarios,
    historical_window_scenarios,
    hypothetical_stress_scenarios,
    losses_beyond_margin_matrix,
    stressed_loss,
    stressed_loss_beyond_margin,
    worst_move_in_year,
)
from smartccp.risk.waterfall import LAYERS, MemberCharges, WaterfallResult, pro_rata, run_waterfall

__all__ = [
    "APC",
    "LAYERS",
    "BacktestReport",
    "Cover2Sizing",
    "JointScenarios",
    "LRTest",
    "MarginModel",
    "PUBLISHED",
    "MemberCharges",
    "ReverseStressResult",
    "StressScenario",
    "WaterfallResult",
    "allocate_contributions",
    "backtest_var",
    "calibrate_joint_shocks",
    "calibrate_shocks",
    "christoffersen_independence",
    "conditional_coverage",
    "cover2_fund_size",
    "historical_stress_scenarios",
    "historical_window_scenarios",
    "horizon_returns",
    "hypothetical_stress_scenarios",
    "initial_margin",
    "kupiec_pof",
    "losses_beyond_margin_matrix",
    "member_risk",
    "observation_weights",
    "portfolio_pnl_by_scenario",
    "published_scenarios",
    "pro_rata",
    "reverse_stress_test",
    "run_waterfall",
    "scenario_exposures",
    "size_default_fund",
    "stressed_loss",
    "stressed_loss_beyond_margin",
    "stressed_window",
    "tail_levels",
    "value_at_risk",
    "variation_margin",
    "worst_move_in_year",
]
