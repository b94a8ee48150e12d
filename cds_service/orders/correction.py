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


def with_dose(resource: dict, value: float, unit: str, frequency: str | None = None, *, text: str | None = None,
              product: dict | None = None) -> tuple[dict, list[str]]:
    """The normalised copy whose dose, schedule, text and product agree:
    - one dosage instruction, its dose set to `value` `unit` (other dose amounts, e.g. Epic's tablets, removed);
    - the timing written as `frequency` (a "QD"/"BID" code that could contradict it removed);
    - `dosageInstruction.text` (and a patient instruction, if any) rewritten to `text`;
    - `product`: a medicationCodeableConcept replacing a product whose strength cannot make the dose
      (a medicationReference and the contained Medication it named are dropped);
    - a dispense quantity computed for the old dose removed (the pharmacy recalculates)."""
    fixed, changes = normalise_r4(resource)
    dosages = [d for d in fixed.get("dosageInstruction") or [] if isinstance(d, dict)]
    dosage = next((d for d in dosages if d.get("doseAndRate")), dosages[0] if dosages else {})
    if len(dosages) > 1:
        changes.append("the other dosage instructions removed, they would contradict the new dose")
    fixed["dosageInstruction"] = [dosage]
    rates = dosage.get("doseAndRate")
    rates = [rates] if isinstance(rates, dict) else [r for r in rates or [] if isinstance(r, dict)]
    first = rates[0] if rates else {}
    first.pop("doseRange", None)
    first["doseQuantity"] = _dose_quantity(value, unit)
    if any("doseQuantity" in r or "doseRange" in r for r in rates[1:]):  # e.g. Epic's "admin-amount" in tablets
        changes.append("the other stated dose amount (e.g. tablets) removed, it would contradict the new dose")
    dosage["doseAndRate"] = [first]
    if frequency in SCHEDULES:
        timing = dosage.setdefault("timing", {})
        timing.pop("code", None)  # "QD" would contradict the corrected schedule
        timing["repeat"] = {**{k: v for k, v in (timing.get("repeat") or {}).items()
                               if k not in ("frequency", "frequencyMax", "period", "periodMax", "periodUnit", "when",
                                            "dayOfWeek", "timeOfDay")},
                            **SCHEDULES[frequency]}
    if text:
        dosage["text"] = text
        if dosage.get("patientInstruction"):
            dosage["patientInstruction"] = text
    if product is not None:
        reference = fixed.pop("medicationReference", None)
        target = reference.get("reference") if isinstance(reference, dict) else None
        if isinstance(target, str) and target.startswith("#") and isinstance(fixed.get("contained"), list):
            fixed["contained"] = [c for c in fixed["contained"] if not (isinstance(c, dict) and c.get("id") == target[1:])]
            if not fixed["contained"]:
                fixed.pop("contained")
        fixed["medicationCodeableConcept"] = product
        changes.append("product changed to the ingredient's tablets: the ordered strength cannot make the new dose")
    request = fixed.get("dispenseRequest")
    if isinstance(request, dict) and request.pop("quantity", None) is not None:
        changes.append("dispense quantity removed: recalculate it for the new dose")
        if not request:
            fixed.pop("dispenseRequest")  # FHIR JSON has no empty objects
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


def corrected_order(resource: dict, value: float, unit: str, frequency: str | None = None, *, text: str | None = None,
                    product: dict | None = None) -> tuple[dict | None, list[str]]:
    """(valid corrected copy or None, normalisations applied)."""
    try:
        fixed, changes = with_dose(resource, value, unit, frequency, text=text, product=product)
    except (AttributeError, TypeError):  # a dosage part that is not an object: it could not become valid R4 anyway
        log.warning("draft MedicationRequest has a malformed dosage; no update action")
        return None, []
    return (fixed if is_valid_r4(fixed) else None), changes
