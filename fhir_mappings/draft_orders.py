"""The unsigned orders of `context.draftOrders` (or draft MedicationRequests in a Bundle) -> `DraftMedicationOrder`."""

from __future__ import annotations

import re
from dataclasses import replace

from fhir_mappings import access, medications
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
        written = get(timing, "code", "text")
        if isinstance(written, str) and written.strip().upper() in term.timing_codes():  # {"text": "BID"}
            return term.timing_codes()[written.strip().upper()]
        repeat = timing.get("repeat") if isinstance(timing.get("repeat"), dict) else {}
        times, period, unit = repeat.get("frequency"), repeat.get("period"), repeat.get("periodUnit")
        if isinstance(times, (int, float)) and isinstance(period, (int, float)) and period > 0 and unit in _HOURS:
            per_day = times * 24 / (period * _HOURS[unit])
            return _label(per_day), per_day
    return None, None


# Units that count tablets or capsules, as EHRs send them (UCUM annotations, Epic and HL7 v2 words).
_FORMS = {"tablet": "tablet", "tablets": "tablet", "tab": "tablet", "tabs": "tablet", "{tbl}": "tablet",
          "{tablet}": "tablet", "{tablets}": "tablet", "{tab}": "tablet", "{pill}": "tablet", "pill": "tablet",
          "pills": "tablet", "capsule": "capsule", "capsules": "capsule", "cap": "capsule", "caps": "capsule",
          "{capsule}": "capsule", "{capsules}": "capsule", "{cap}": "capsule"}
# A strength in a product name: "160 MG", "160mg" (not "160 mg/m2", not "mg/mL" concentrations).
_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*mg\b(?!\s*/)", re.IGNORECASE)


def unit_form(quantity: dict) -> str | None:
    """"tablet" or "capsule" when a doseQuantity counts them (code, unit or both)."""
    for word in (quantity.get("code"), quantity.get("unit")):
        if isinstance(word, str) and word.strip().lower() in _FORMS:
            return _FORMS[word.strip().lower()]
    return None


def product_strength_mg(concept: dict | None, medication: dict | None) -> float | None:
    """The strength of one tablet or capsule of a single-strength product: from Medication.ingredient.strength
    (mg per 1 unit), else from the product's name and coding displays ("Revuforj 160 MG Oral Tablet")."""
    strengths: set[float] = set()
    for item in dicts((medication or {}).get("ingredient")):
        numerator = get(item, "strength", "numerator") or {}
        denominator = get(item, "strength", "denominator") or {}
        value = numerator.get("value") if isinstance(numerator, dict) else None
        if isinstance(value, (int, float)) and units.to_canonical("dose", value, units.quantity_unit(numerator)) is not None \
                and (not isinstance(denominator, dict) or denominator.get("value") in (None, 1)):
            strengths.add(float(units.to_canonical("dose", value, units.quantity_unit(numerator))))
    if not strengths:
        names = [concept_label(concept) or ""] + [display or "" for _, _, display in codings(concept)]
        strengths = {float(m) for name in names for m in _STRENGTH.findall(name)}
    return strengths.pop() if len(strengths) == 1 else None


def _instruction(order: dict) -> dict:
    found = dicts(order.get("dosageInstruction"))
    return next((d for d in found if dicts(d.get("doseAndRate"))), found[0] if found else {})


def _route(order: dict) -> str | None:
    route = _instruction(order).get("route")
    if not isinstance(route, dict):
        return None
    return concept_label(route) or next((d for _, _, d in codings(route) if d), None)


def _count(order: dict) -> int | None:
    count = get(_instruction(order), "timing", "repeat", "count")
    return int(count) if isinstance(count, int) and not isinstance(count, bool) and count > 0 else None


def dose(order: dict, strength_mg: float | None = None) -> Dose | None:
    """The first stated dose, typed: mass (mg, mg/m2, mg/kg) as such; tablets or capsules in mg when the
    product's strength is known, else counted in their form."""
    quantity = _dose_quantity(order)
    if not quantity or not isinstance(quantity.get("value"), (int, float)) or isinstance(quantity.get("value"), bool):
        return None
    label, per_day = frequency(order)
    text = _instruction(order).get("text")
    common = dict(frequency=label, doses_per_day=per_day, route=_route(order), count=_count(order),
                  text=text if isinstance(text, str) else None)
    unit = units.quantity_unit(quantity)
    for kind, canonical in _DOSE_KINDS:
        value = units.to_canonical(kind, quantity["value"], unit)
        if value is not None:
            return Dose(value=value, unit=canonical, **common)
    form = unit_form(quantity)
    if form is None:
        return None  # a unit we cannot read ("mL" of an unknown concentration): not a dose we can check
    count = float(quantity["value"])
    if strength_mg is not None:
        return Dose(value=count * strength_mg, unit="mg", units=count, unit_form=form, strength_mg=strength_mg, **common)
    return Dose(value=count, unit=form, units=count, unit_form=form, **common)


def _selected(reference: str, selections: list[str]) -> bool:
    if not selections:
        return True
    return reference in {relative_reference(s) for s in selections}


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
    strength = product_strength_mg(concept, medication)
    return DraftMedicationOrder(
        reference=reference, resource=raw, ingredient=found[0] if found else None, classes=classes,
        rxnorm=(medications.ingredient_rxcui(found[0]) if found else None) or sent_rxnorm,
        text=concept_label(concept) or (get(order, "medicationReference", "display") or None),
        dose=dose(order, strength), selected=_selected(reference, selections), product_strength_mg=strength,
    )


UNREADABLE = "not valid FHIR R4"


def map_unreadable(raw: dict, pools: list[Pool], selections: list[str]) -> DraftMedicationOrder:
    """An order that failed validation: read for its drug (to know whether it concerns us), dose withheld."""
    order = map_order(raw, raw, pools, selections)
    return replace(order, dose=None, unreadable=UNREADABLE)


# --- a cheap look at context.draftOrders, before any Case is built (the order services' fast exit) ----

MEDICATION_ELEMENTS = ("medicationCodeableConcept", "medicationReference")


def relative_reference(value: str) -> str:
    """"MedicationRequest/x" from "MedicationRequest/x", "https://ehr/fhir/MedicationRequest/x" or "x/_history/2"."""
    reference = access.relative_reference(value)
    return reference if "/" in reference else f"MedicationRequest/{value}"


def any_medication_named(bundle: object, selected: set[str] | None = None) -> bool:
    """Does any (selected) draft MedicationRequest name a medication yet? Raw JSON, no validation."""
    entries = bundle.get("entry") if isinstance(bundle, dict) else None
    for entry in entries or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != "MedicationRequest":
            continue
        if selected is not None and relative_reference(f"MedicationRequest/{resource.get('id')}") not in selected:
            continue
        if any(resource.get(name) for name in MEDICATION_ELEMENTS):
            return True
    return False
