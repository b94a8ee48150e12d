"""The unsigned orders of `context.draftOrders` (or draft MedicationRequests in a Bundle) -> `DraftMedicationOrder`."""

from __future__ import annotations

from dataclasses import replace

from fhir_mappings import medications
from fhir_mappings import terminology as term
from fhir_mappings import units
from fhir_mappings.access import codings, concept_label, dicts, get, reference_of
from fhir_mappings.case import Dose, DraftMedicationOrder
from fhir_mappings.resources import Pool

_DOSE_KINDS = (("dose", "mg"), ("dose-area", "mg/m2"), ("dose-weight", "mg/kg"))
_HOURS = {"s": 1 / 3600, "min": 1 / 60, "h": 1, "d": 24, "wk": 168, "mo": 720, "a": 8760}


def _dose_quantity(order: dict) -> dict | None:
    for instruction in dicts(order.get("dosageInstruction")):
        for dose_and_rate in dicts(instruction.get("doseAndRate")):
            if isinstance(dose_and_rate.get("doseQuantity"), dict):
                return dose_and_rate["doseQuantity"]
    return None


def _label(doses_per_day: float) -> str:
    for code, (label, per_day) in term.timing_codes().items():
        if abs(per_day - doses_per_day) < 1e-6:
            return label
    hours = 24 / doses_per_day
    return f"q{hours:g}h" if hours == int(hours) else f"{doses_per_day:g}/day"


def frequency(order: dict) -> tuple[str | None, float | None]:
    """("q12h", 2.0) from timing.code (BID, Q12H...) or timing.repeat frequency/period/periodUnit."""
    for instruction in dicts(order.get("dosageInstruction")):
        timing = instruction.get("timing") if isinstance(instruction.get("timing"), dict) else {}
        for _, code, _ in codings(timing.get("code")):
            if code.upper() in term.timing_codes():
                return term.timing_codes()[code.upper()]
        repeat = timing.get("repeat") if isinstance(timing.get("repeat"), dict) else {}
        times, period, unit = repeat.get("frequency"), repeat.get("period"), repeat.get("periodUnit")
        if isinstance(times, (int, float)) and isinstance(period, (int, float)) and period > 0 and unit in _HOURS:
            per_day = times * 24 / (period * _HOURS[unit])
            return _label(per_day), per_day
    return None, None


def dose(order: dict) -> Dose | None:
    quantity = _dose_quantity(order)
    if not quantity or not isinstance(quantity.get("value"), (int, float)):
        return None
    unit = units.quantity_unit(quantity)
    for kind, canonical in _DOSE_KINDS:
        value = units.to_canonical(kind, quantity["value"], unit)
        if value is not None:
            label, per_day = frequency(order)
            return Dose(value=value, unit=canonical, frequency=label, doses_per_day=per_day)
    return None  # "{pill}", "tablet": not a dose we can check


def _selected(reference: str, selections: list[str]) -> bool:
    if not selections:
        return True
    return any(s == reference or s.split("/")[-1] == reference.split("/")[-1] for s in selections)


def map_order(order: dict, raw: dict, pools: list[Pool], selections: list[str]) -> DraftMedicationOrder:
    concept, medication = None, None
    for pool in pools:  # the draftOrders Bundle first, then the patient's other resources
        concept, medication = medications.medication_of(order, pool)
        if concept or medication:
            break
    found = medications.ingredients(concept, medication, pools[0] if pools else None)
    classes = frozenset().union(*(term.classes_of(i) for i in found)) if found else frozenset()
    sent_rxnorm = next((c for s, c, _ in codings(concept) if s == "rxnorm"), None)
    reference = reference_of(order)
    return DraftMedicationOrder(
        reference=reference, resource=raw, ingredient=found[0] if found else None, classes=classes,
        rxnorm=(medications.ingredient_rxcui(found[0]) if found else None) or sent_rxnorm,
        text=concept_label(concept) or (get(order, "medicationReference", "display") or None),
        dose=dose(order), selected=_selected(reference, selections),
    )


UNREADABLE = "not valid FHIR R4"


def map_unreadable(raw: dict, pools: list[Pool], selections: list[str]) -> DraftMedicationOrder:
    """An order that failed validation: read for its drug (to know whether it concerns us), dose withheld."""
    order = map_order(raw, raw, pools, selections)
    return replace(order, dose=None, unreadable=UNREADABLE)
