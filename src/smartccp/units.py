"""Fixed-point units. Money is integers everywhere; these helpers only convert at the edges.

Cash (DLT-PS) has 6 decimals: 1.000000 cash = 1_000_000 base units. A price is cash base units per
ONE unit of a security. Quantities are whole security units. Conversions from text use Decimal and
refuse values that do not fit the stated decimals, so nothing is silently rounded.
"""

from __future__ import annotations

from decimal import Decimal

CASH_DECIMALS = 6
CASH_UNIT = 10**CASH_DECIMALS
BPS = 10_000  # basis points in 100 %: a shock of s bps moves a price p by p * s / BPS


def cash(amount: str | int | Decimal) -> int:
    """Cash amount (e.g. ``"12.5"``) in base units (``12_500_000``). Refuses sub-unit precision."""
    value = Decimal(str(amount)) * CASH_UNIT
    if value != value.to_integral_value():
        raise ValueError(f"{amount} has more than {CASH_DECIMALS} decimals")
    return int(value)


def fmt_cash(base_units: int) -> str:
    """Base units as a readable cash amount, e.g. ``12_500_000`` -> ``'12.500000'``."""
    sign = "-" if base_units < 0 else ""
    whole, frac = divmod(abs(base_units), CASH_UNIT)
    return f"{sign}{whole:,}.{frac:0{CASH_DECIMALS}d}"


def ceil_div(a: int, b: int) -> int:
    """Integer division rounding up (towards +inf) for b > 0: the CCP's side of any rounding."""
    if b <= 0:
        raise ValueError("divisor must be positive")
    return -((-a) // b)
