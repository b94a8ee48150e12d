"""The ordered dose, made comparable with the expected one.

`fhir_mappings` reads `doseQuantity` and the timing into `Dose(value, unit, frequency, doses_per_day)`.
Here we only convert what the order states into mg per dose (mg/m2 x BSA, mg/kg x weight, tablets x
the strength printed in the product name) and compare it with the knowledge table's tolerance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cds_service.stratification import menin_inhibitors as revumenib
from fhir_mappings import draft_orders
from fhir_mappings.case import Case, Dose, DraftMedicationOrder

TABLET_UNITS = {"tablet", "tablets", "tab", "tabs", "{tbl}", "{tablet}", "{pill}", "pill", "{tab}"}
_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*mg\b(?!\s*/)", re.IGNORECASE)


@dataclass(frozen=True)
class OrderedDose:
    value: float  # as ordered
    unit: str  # as ordered: "mg", "mg/m2", "mg/kg", "tablet"
    frequency: str | None
    doses_per_day: float | None
    mg: float | None  # per dose in mg; None when it cannot be converted
    missing_data: tuple[str, ...] = ()
    note: str | None = None  # how mg was obtained, e.g. "2 tablets x 160 mg"

    def as_contract(self) -> dict:
        return {"value": self.value, "unit": self.unit, "frequency": self.frequency}


def tablet_strength_mg(order: DraftMedicationOrder) -> float | None:
    """The strength of a single-strength tablet product from its name ("Revuforj 160 MG Oral Tablet")."""
    names = [order.text or ""]
    concept = order.resource.get("medicationCodeableConcept") if isinstance(order.resource, dict) else None
    if isinstance(concept, dict):
        names += [c.get("display") or "" for c in concept.get("coding") or [] if isinstance(c, dict)]
    strengths = {float(m) for name in names for m in _STRENGTH.findall(name)}
    return strengths.pop() if len(strengths) == 1 else None


def _raw_dose(order: DraftMedicationOrder) -> Dose | None:
    """A dose the mapper leaves out because its unit is not a mass ("2 {pill}"): value, unit as sent, timing."""
    resource = order.resource if isinstance(order.resource, dict) else {}
    for instruction in resource.get("dosageInstruction") or []:
        for rate in (instruction.get("doseAndRate") or []) if isinstance(instruction, dict) else []:
            quantity = rate.get("doseQuantity") if isinstance(rate, dict) else None
            if isinstance(quantity, dict) and isinstance(quantity.get("value"), (int, float)):
                unit = str(quantity.get("code") or quantity.get("unit") or "")
                label, per_day = draft_orders.frequency(resource)
                return Dose(float(quantity["value"]), unit, label, per_day)
    return None


def ordered_dose(case: Case, order: DraftMedicationOrder) -> OrderedDose | None:
    """The order's dose per administration, converted to mg where the case allows it; None for an order that
    could not be read (its dose is not trusted)."""
    if order.unreadable:
        return None
    dose = order.dose or _raw_dose(order)
    if dose is None:
        return None
    unit = (dose.unit or "").strip()
    common = dict(value=dose.value, unit=unit, frequency=dose.frequency, doses_per_day=dose.doses_per_day)
    if unit == "mg":
        return OrderedDose(mg=dose.value, **common)
    if unit == "mg/m2":
        if case.bsa is None:
            return OrderedDose(mg=None, missing_data=("height",) if case.weight else ("weight", "height"), **common)
        bsa = revumenib.dosing_bsa(case)
        return OrderedDose(mg=dose.value * bsa, note=f"{revumenib.fmt(dose.value)} mg/m2 x {revumenib.fmt(bsa)} m2", **common)
    if unit == "mg/kg":
        if case.weight is None:
            return OrderedDose(mg=None, missing_data=("weight",), **common)
        return OrderedDose(mg=dose.value * case.weight.value,
                           note=f"{revumenib.fmt(dose.value)} mg/kg x {revumenib.fmt(case.weight.value)} kg", **common)
    if unit.lower() in TABLET_UNITS:
        strength = tablet_strength_mg(order)
        if strength is not None:
            return OrderedDose(mg=dose.value * strength,
                               note=f"{revumenib.fmt(dose.value)} tablet(s) x {revumenib.fmt(strength)} mg", **common)
    return OrderedDose(mg=None, **common)


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
