"""UCUM (and the not-quite-UCUM that labs send) -> the canonical units of case.py.

Kinds and canonical units: count 10*9/L, fraction 1, weight kg, height cm, area m2, interval ms,
electrolyte mmol/L (potassium), magnesium mmol/L, dose mg, dose-area mg/m2, dose-weight mg/kg.
The factors are data (terminology/units.csv); conversion is linear, so it round-trips.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

from fhir_mappings import terminology as term

CANONICAL = {
    "count": "10*9/L", "fraction": "1", "weight": "kg", "height": "cm", "area": "m2", "interval": "ms",
    "electrolyte": "mmol/L", "magnesium": "mmol/L", "dose": "mg", "dose-area": "mg/m2", "dose-weight": "mg/kg",
}


_E_POWER = re.compile(r"10e(?=[-+]?\d)")  # "x10E9/L", "10E-4": the LIS's E for a power of ten


def _squash(unit: str) -> str:
    squashed = unit.replace(" ", "").replace("^", "*").replace("×", "x").replace("µ", "u").replace("μ", "u").lower()
    return _E_POWER.sub("10*", squashed)


@lru_cache(maxsize=None)
def _lookup(kind: str) -> dict[str, float]:
    table = term.unit_factors().get(kind, {})
    out = {_squash(u): f for u, f in table.items()}
    out.update(table)
    return out


def factor(kind: str, unit: str | None) -> float | None:
    """Multiply a value in `unit` by this to get the canonical unit; None when the unit is unknown."""
    if not isinstance(unit, str):
        return None
    table = _lookup(kind)
    if unit in table:
        return table[unit]
    return table.get(_squash(unit))


def to_canonical(kind: str, value: float, unit: str | None) -> float | None:
    f = factor(kind, unit)
    if f is None or not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return None
    return float(value) * f


def from_canonical(kind: str, value: float, unit: str) -> float | None:
    f = factor(kind, unit)
    return None if f is None else float(value) / f


def quantity_unit(quantity: dict) -> str | None:
    """The unit a Quantity states: its UCUM code, else its human-readable unit."""
    for key in ("code", "unit"):
        value = quantity.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


_DECIMAL = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def number(value: object) -> float | None:
    """A FHIR decimal as a float: a JSON number, or a plain decimal string (some interfaces quote numbers; the
    R4B model accepts them too). Anything else ("12,5", "high", NaN, true) is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, (int, float)):
        try:
            value = float(value)
        except OverflowError:
            return None
        return value if math.isfinite(value) else None
    return None


def read_quantity(kind: str, quantity: dict | None) -> tuple[float | None, str | None]:
    """(canonical value, comparator) of a FHIR Quantity; value None when unreadable or of unknown unit."""
    if not isinstance(quantity, dict):
        return None, None
    value = number(quantity.get("value"))
    comparator = quantity.get("comparator") if quantity.get("comparator") in ("<", "<=", ">", ">=") else None
    if value is None:
        return None, comparator
    unit = quantity_unit(quantity)
    if unit is None and kind == "fraction":
        return None, comparator  # "0.02" alone could be % or a fraction: do not guess
    return to_canonical(kind, value, unit), comparator
