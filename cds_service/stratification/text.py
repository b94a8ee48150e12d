"""Small formatters for basis lines: a result with its value, unit and where it came from."""

from __future__ import annotations

from fhir_mappings.case import GeneticFinding, Measurement, MrdResult

DAYS_PER_MONTH = 30.44


def number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def measurement(label: str, m: Measurement, unit: str) -> str:
    comparator = m.comparator or ""
    return f"{label} {comparator}{number(m.value)} {unit} ({m.source})"


def finding(g: GeneticFinding) -> str:
    """'TP53 p.Arg175His (Observation/x of ...)'; a lab detail that already names the gene is not prefixed twice."""
    what = g.detail or g.kind
    label = what if what.upper().startswith(g.gene.upper()) else f"{g.gene} {what}"
    return f"{label} ({g.source})"


def percent(fraction: float) -> str:
    return f"{fraction * 100:.3g} %"


def mrd(result: MrdResult) -> str:
    if result.value is not None:
        value = f"{result.comparator or ''}{percent(result.value)}"
    elif result.positive is not None:
        value = "positive" if result.positive else "negative"
    else:
        value = "result not readable"
    method = f", {result.method.value}" if result.method.value != "unknown" else ""
    return f"MRD {result.timepoint.value} {value}{method} ({result.source})"


def months(days: float) -> str:
    """A day threshold in whole months (the month is 30.44 days)."""
    n = round(days / DAYS_PER_MONTH)
    return f"{n} month{'' if n == 1 else 's'}"


def count(value: float) -> str:
    """A blood count threshold in x10^9/L."""
    return f"{number(value)} x10^9/L"


def age(days: int) -> str:
    """'4 months (122 days)' under 2 years, else '6 years'."""
    if days < 730:
        months = int(days // DAYS_PER_MONTH)
        return f"{months} month{'' if months == 1 else 's'} ({days} days)"
    years = int(days // 365.25)
    return f"{years} years"


METHODS = {"fish": "FISH", "karyotype": "karyotype", "molecular": "molecular test", "text": "report"}


def method(name: str) -> str:
    return METHODS.get(name, name)
