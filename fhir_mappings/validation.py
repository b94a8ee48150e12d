"""Validate one resource with fhir.resources (R4B), repairing the quirks that are safe to repair.

Only resources the mappers actually use are validated (validation is the expensive step). A resource that fails is
read leniently when the only faults are known client quirks (a single object where an array belongs, an unknown
element, a draft order without intent/status); otherwise it is skipped with a Problem naming the fields, never
values or identifiers.
"""

from __future__ import annotations

import copy
import importlib
from functools import lru_cache
from typing import Any

from fhir_mappings.case import Problem

_MODULES = {
    "Patient": "patient",
    "Observation": "observation",
    "Condition": "condition",
    "MedicationRequest": "medicationrequest",
    "MedicationStatement": "medicationstatement",
    "MedicationAdministration": "medicationadministration",
    "Medication": "medication",
    "DiagnosticReport": "diagnosticreport",
}
# The elements the mappers read, per type: only these are validated (a malformed narrative or performer is not
# our business, and validating whole resources would cost more than the rest of the mapping together).
_READ = {
    "Patient": {"id", "gender", "birthDate"},
    "Observation": {"id", "status", "code", "subject", "focus", "issued", "component", "note", "method",
                    "interpretation", "specimen", "dataAbsentReason"},
    "Condition": {"id", "clinicalStatus", "verificationStatus", "code", "subject", "recordedDate", "extension"},
    "MedicationRequest": {"id", "status", "intent", "subject", "authoredOn", "dosageInstruction", "dispenseRequest",
                          "contained"},
    "MedicationStatement": {"id", "status", "subject", "dateAsserted", "contained"},
    "MedicationAdministration": {"id", "status", "subject", "contained"},
    "Medication": {"id", "code", "ingredient"},
    "DiagnosticReport": {"id", "status", "code", "subject", "issued", "conclusion", "conclusionCode", "category",
                         "presentedForm", "result"},
}
_READ_PREFIXES = ("value", "effective", "onset", "medication")


def _read_part(resource: dict) -> dict:
    keep = _READ.get(resource.get("resourceType"), set())
    return {k: v for k, v in resource.items()
            if k == "resourceType" or k in keep or k.startswith(_READ_PREFIXES)}


# Filled in when missing on an unsigned order (sandbox quirk), so the rest of the order can be checked.
_DRAFT_DEFAULTS = {"intent": "order", "status": "draft"}


@lru_cache(maxsize=None)
def _model(resource_type: str):
    name = _MODULES.get(resource_type)
    if not name:
        return None
    module = importlib.import_module(f"fhir.resources.R4B.{name}")
    return getattr(module, resource_type)


def _parent(obj: Any, loc: tuple) -> Any:
    for key in loc[:-1]:
        try:
            obj = obj[key]
        except (KeyError, IndexError, TypeError):
            return None
    return obj


def _ignorable(err: dict, draft: bool) -> bool:
    """Faults that do not touch what we read: an unsigned order without a medication yet (order-select fires
    before one is chosen), or a missing subject (the prefetch is already scoped to the patient)."""
    if draft and not err.get("loc") and "medicationCodeableConcept" in str(err.get("msg", "")):
        return True
    return tuple(err.get("loc", ())) in {("subject",), ("patient",)} and str(err.get("type", "")).endswith("missing")


def _repair(resource: dict, errors: list[dict], draft: bool) -> tuple[dict | None, list[str]]:
    """A copy with the safe quirks repaired, or None when any error is not a known quirk."""
    fixed = copy.deepcopy(resource)
    repaired = []
    for err in errors:
        if _ignorable(err, draft):
            continue
        kind, loc = err.get("type", ""), tuple(err.get("loc", ()))
        parent = _parent(fixed, loc) if loc else None
        last = loc[-1] if loc else None
        if kind == "list_type" and isinstance(parent, dict) and last in parent:
            parent[last] = [parent[last]]
        elif kind == "extra_forbidden" and isinstance(parent, dict):
            parent.pop(last, None)
        elif kind.endswith("missing") and draft and len(loc) == 1 and last in _DRAFT_DEFAULTS:
            fixed[last] = _DRAFT_DEFAULTS[last]
        else:
            return None, []
        repaired.append(".".join(str(p) for p in loc))
    return fixed, repaired


def validated(resource: dict, *, draft: bool = False) -> tuple[dict | None, list[Problem]]:
    """(the resource to read, problems). None means: skip it."""
    rtype = resource.get("resourceType")
    model = _model(rtype) if isinstance(rtype, str) else None
    if model is None:
        return resource, []
    ref = f"{rtype}/{resource['id']}" if isinstance(resource.get("id"), str) else None
    resource = _read_part(resource)
    try:
        model.model_validate(resource)
        return resource, []
    except Exception as exc:  # pydantic ValidationError, or anything a broken input provokes
        errors = exc.errors() if hasattr(exc, "errors") else []
    if errors and all(_ignorable(e, draft) for e in errors):
        return resource, [Problem(f"{rtype} read leniently (no medication or no subject)", ref)]
    current, repaired_all = resource, []
    for _ in range(3):  # a repair can uncover the next quirk inside what it repaired
        fixed, repaired = _repair(current, errors, draft) if errors else (None, [])
        if fixed is None:
            break
        current, repaired_all = fixed, repaired_all + repaired
        try:
            model.model_validate(current)
            note = ", ".join(sorted(set(repaired_all)))
            return current, [Problem(f"{rtype} read leniently (repaired: {note})", ref)]
        except Exception as exc:
            errors = exc.errors() if hasattr(exc, "errors") else []
            if errors and all(_ignorable(e, draft) for e in errors):
                return current, [Problem(f"{rtype} read leniently (no medication or no subject)", ref)]
    fields = sorted({".".join(str(p) for p in e.get("loc", ())) for e in errors})[:5]
    return None, [Problem(f"{rtype} failed FHIR R4 validation and was skipped (fields: {', '.join(fields) or '?'})", ref)]
