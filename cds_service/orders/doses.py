"""The ordered dose, made comparable with the expected one.

`fhir_mappings` types each draft order's dose once (`Dose`: value, unit, frequency, tablets and their
strength, route). Here we only convert it into mg per dose (mg/m2 x BSA, mg/kg x weight) and compare it with
the knowledge table's tolerance. Nothing here reads FHIR.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds_service.stratification import menin_inhibitors as revumenib
from fhir_mappings.case import Case, DraftMedicationOrder
from cds_service.stratification.text import number


@dataclass(frozen=True)
class OrderedDose:
    value: float  # as ordered (tablets in mg when the product's strength is known)
    unit: str  # "mg", "mg/m2", "mg/kg", or "tablet" / "capsule" when the strength is unknown
    frequency: str | None
    doses_per_day: float | None
    mg: float | None  # per dose in mg; None when it cannot be converted
    missing_data: tuple[str, ...] = ()
    note: str | None = None  # how mg was obtained: "95 mg/m2 x 1.1 m2"
    units: float | None = None  # tablets or capsules per dose, as ordered
    unit_form: str | None = None
    strength_mg: float | None = None

    def as_contract(self) -> dict:
        return {"value": self.value, "unit": self.unit, "frequency": self.frequency}


def ordered_dose(case: Case, order: DraftMedicationOrder) -> OrderedDose | None:
    """The order's dose per administration, converted to mg where the case allows it; None for an order that
    could not be read (its dose is not trusted) or states no dose."""
    dose = None if order.unreadable else order.dose
    if dose is None:
        return None
    common = dict(value=dose.value, unit=dose.unit, frequency=dose.frequency, doses_per_day=dose.doses_per_day,
                  units=dose.units, unit_form=dose.unit_form, strength_mg=dose.strength_mg)
    if dose.unit == "mg":
        return OrderedDose(mg=dose.value, **common)
    if dose.unit == "mg/m2":
        if case.bsa is None:
            return OrderedDose(mg=None, missing_data=("height",) if case.weight else ("weight", "height"), **common)
        bsa = revumenib.dosing_bsa(case)
        return OrderedDose(mg=dose.value * bsa, note=f"{number(dose.value)} mg/m2 x {number(bsa)} m2", **common)
    if dose.unit == "mg/kg":
        if case.weight is None:
            return OrderedDose(mg=None, missing_data=("weight",), **common)
        return OrderedDose(mg=dose.value * case.weight.value,
                           note=f"{number(dose.value)} mg/kg x {number(case.weight.value)} kg", **common)
    return OrderedDose(mg=None, **common)  # tablets of an unstated strength


def compare(ordered: OrderedDose, expected: revumenib.ExpectedDose) -> tuple[str, list[str]]:
    """("ok"|"dose-too-high"|"dose-too-low"|"cannot-check", reasons) per dose and, when the order is not
    every 12 hours, per day as well (a once-daily 270 mg order is half the daily dose)."""
    if ordered.mg is not None and expected.value is not None:
        return _judge(ordered.mg, expected.value, ordered, expected)
    if ordered.unit == "mg/m2" and expected.per_m2 is not None:
        # Both in mg/m2 and no BSA: the per-m2 numbers still compare.
        return _judge(ordered.value, expected.per_m2, ordered, expected, in_mg=False)
    if ordered.mg is None and not ordered.missing_data:
        return "cannot-check", [f"dose-unit-not-comparable:{ordered.unit or 'none'}"]
    return "cannot-check", []


def _judge(ordered_value: float, expected_value: float, ordered: OrderedDose,
           expected: revumenib.ExpectedDose, in_mg: bool = True) -> tuple[str, list[str]]:
    def outside(got: float, want: float) -> bool:
        return not revumenib.within_tolerance(got, want, in_mg)

    reasons: list[str] = []
    high = ordered_value > expected_value and outside(ordered_value, expected_value)
    low = ordered_value < expected_value and outside(ordered_value, expected_value)
    per_day, expected_per_day = ordered.doses_per_day, expected.doses_per_day
    if per_day and expected_per_day and per_day != expected_per_day:
        reasons.append(f"frequency-not-{expected.frequency}")
        daily, expected_daily = ordered_value * per_day, expected_value * expected_per_day
        high = high or (daily > expected_daily and outside(daily, expected_daily))
        low = low or (daily < expected_daily and outside(daily, expected_daily))
    elif not per_day:
        reasons.append("frequency-not-stated")
    if high:  # an overdose outranks an underdose when per dose and per day disagree
        return "dose-too-high", reasons
    if low:
        return "dose-too-low", reasons
    return "ok", reasons
