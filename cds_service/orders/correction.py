"""The corrected copy of a draft MedicationRequest for a suggestion's `update` action.

Same id and content, the dose (and, when the schedule was wrong, the timing) corrected. Draft orders
arrive as EHRs send them; the sandbox sends `category` and `reasonCode` as single objects and may omit
`intent`. The copy we hand back must be valid R4, so those are normalised (and the action says so).
The copy is validated before it leaves; an order we cannot turn into valid R4 gets no update action.
"""

from __future__ import annotations

import copy
import logging

from fhir.resources.R4B.medicationrequest import MedicationRequest
from pydantic import ValidationError

log = logging.getLogger(__name__)

UCUM = "http://unitsofmeasure.org"
# MedicationRequest elements that are arrays in R4 (a single object is wrapped in a list).
ARRAY_ELEMENTS = (
    "identifier", "instantiatesCanonical", "instantiatesUri", "basedOn", "category", "supportingInformation",
    "reasonCode", "reasonReference", "insurance", "note", "dosageInstruction", "detectedIssue", "eventHistory",
    "contained", "extension", "modifierExtension",
)
SCHEDULES = {"q12h": {"frequency": 1, "period": 12, "periodUnit": "h"}}


def normalise_r4(resource: dict) -> tuple[dict, list[str]]:
    """A deep copy with array elements as arrays and `intent` present; returns what was changed."""
    fixed = copy.deepcopy(resource)
    changes = []
    for name in ARRAY_ELEMENTS:
        if isinstance(fixed.get(name), dict):
            fixed[name] = [fixed[name]]
            changes.append(f"{name} written as a list (needed for valid FHIR R4)")
    if not fixed.get("intent"):
        fixed["intent"] = "order"
        changes.append('intent "order" added (needed for valid FHIR R4)')
    return fixed, changes


def _dose_quantity(value: float, unit: str) -> dict:
    value = int(value) if float(value).is_integer() else value
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def with_dose(resource: dict, value: float, unit: str, frequency: str | None = None) -> tuple[dict, list[str]]:
    """The normalised copy with the first dosage instruction's dose set to `value` `unit`; the timing is
    replaced only when `frequency` is given (the ordered schedule was wrong)."""
    fixed, changes = normalise_r4(resource)
    dosages = fixed.setdefault("dosageInstruction", [])
    if not dosages:
        dosages.append({})
    dosage = next((d for d in dosages if isinstance(d, dict) and d.get("doseAndRate")), dosages[0])
    rates = dosage.setdefault("doseAndRate", [])
    if isinstance(rates, dict):
        rates = dosage["doseAndRate"] = [rates]
    if not rates:
        rates.append({})
    rates[0].pop("doseRange", None)
    rates[0]["doseQuantity"] = _dose_quantity(value, unit)
    stale = [r for r in rates[1:] if isinstance(r, dict) and ("doseQuantity" in r or "doseRange" in r)]
    if stale:  # e.g. Epic's "admin-amount" in tablets would contradict the corrected dose
        dosage["doseAndRate"] = [r for r in rates if not any(r is s for s in stale)]
        changes.append("the other stated dose amount (e.g. tablets) removed, it would contradict the new dose")
    if frequency in SCHEDULES:
        timing = dosage.setdefault("timing", {})
        timing.pop("code", None)  # "QD" would contradict the corrected schedule
        timing["repeat"] = {**{k: v for k, v in (timing.get("repeat") or {}).items()
                               if k not in ("frequency", "frequencyMax", "period", "periodMax", "periodUnit", "when")},
                            **SCHEDULES[frequency]}
    return fixed, changes


def is_valid_r4(resource: dict) -> bool:
    try:
        MedicationRequest.model_validate(resource)
    except (ValidationError, ValueError, TypeError) as error:
        # Log the kind of problem only: the resource may carry identifiers.
        log.warning("corrected MedicationRequest is not valid R4 (%s errors); no update action",
                    len(error.errors()) if isinstance(error, ValidationError) else 1)
        return False
    return True


def corrected_order(resource: dict, value: float, unit: str, frequency: str | None = None) -> tuple[dict | None, list[str]]:
    """(valid corrected copy or None, normalisations applied)."""
    try:
        fixed, changes = with_dose(resource, value, unit, frequency)
    except (AttributeError, TypeError):  # a dosage part that is not an object: it could not become valid R4 anyway
        log.warning("draft MedicationRequest has a malformed dosage; no update action")
        return None, []
    return (fixed if is_valid_r4(fixed) else None), changes
