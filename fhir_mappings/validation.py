"""Validate one resource with fhir.resources (R4B), repairing the quirks that are safe to repair.

Only resources the mappers actually use are validated (validation is the expensive step). A resource that fails is
read leniently when the only faults are known client quirks (a single object where an array belongs, an unknown
element, a draft order without intent/status); otherwise it is skipped with a Problem naming the fields, never
values or identifiers. A resource that a fast pre-check (fast_validation.py) finds clean is accepted as sent
without running fhir.resources at all; the verdicts on the others are kept per content (a digest of the validated
part), so a resource sent again at the next chart opening or order-sign is not validated twice.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import re
import threading
from collections import OrderedDict
from functools import lru_cache
from typing import Any

import orjson

from fhir_mappings import fast_validation
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
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
_READ_PREFIXES = ("value", "effective", "onset", "medication")


def _read_part(resource: dict, draft: bool = False) -> dict:
    keep = _READ.get(resource.get("resourceType"), set())
    part = {k: v for k, v in resource.items() if k == "resourceType" or k in keep or k.startswith(_READ_PREFIXES)}
    if not draft and part.get("resourceType") == "MedicationRequest":
        # A prescription of the medication list is read for its drug, status and dates only (medications.py):
        # its doses are validated when it is a draft order being checked, not here.
        _keep_dates_only(part)
    return part


def _keep_dates_only(request: dict) -> None:
    bounds = [d["timing"]["repeat"]["boundsPeriod"] for d in request.get("dosageInstruction") or []
              if isinstance(d, dict) and isinstance(d.get("timing"), dict)
              and isinstance(d["timing"].get("repeat"), dict) and "boundsPeriod" in d["timing"]["repeat"]]
    if "dosageInstruction" in request:
        request["dosageInstruction"] = [{"timing": {"repeat": {"boundsPeriod": b}}} for b in bounds]
        if not request["dosageInstruction"]:
            del request["dosageInstruction"]
    dispense = request.get("dispenseRequest")
    if isinstance(dispense, dict):
        if "validityPeriod" in dispense:
            request["dispenseRequest"] = {"validityPeriod": dispense["validityPeriod"]}
        else:
            del request["dispenseRequest"]


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
        elif loc == ("issued",) and isinstance(fixed.get("issued"), str) and _DAY.match(fixed["issued"]):
            # Labs send `issued` as a plain date or a dateTime without seconds; R4 wants an instant. Only its day is
            # read (a fallback result date), so the day is kept and the time written as midnight UTC.
            fixed["issued"] = fixed["issued"][:10] + "T00:00:00Z"
        else:
            return None, []
        repaired.append(".".join(str(p) for p in loc))
    return fixed, repaired


# Verdicts on the resources the fast check doubts, by content: the same chart comes back at every chart opening,
# order-select and order-sign, and fhir.resources is the costliest step of reading it (a clean resource costs the
# fast check less than its cache key would). Keyed on a SHA-256 of the exact bytes of the part that is validated
# (and the draft flag), so only an identical resource reuses a verdict; bounded, per process.
VERDICT_CACHE_SIZE = 4096
_verdicts: OrderedDict[bytes, tuple[str, dict | None, list[Problem]]] = OrderedDict()
_verdicts_lock = threading.Lock()


def validated(resource: dict, *, draft: bool = False) -> tuple[dict | None, list[Problem]]:
    """(the resource to read, problems). None means: skip it."""
    rtype = resource.get("resourceType")
    model = _model(rtype) if isinstance(rtype, str) else None
    if model is None:
        return resource, []
    part = _read_part(resource, draft)
    if fast_validation.is_clean(model, part):  # accepted as sent, as fhir.resources would (see its tests)
        return part, []
    try:
        key = hashlib.sha256(orjson.dumps([draft, part])).digest()  # 32 bytes kept, not the resource
    except (TypeError, orjson.JSONEncodeError):  # not plain JSON (e.g. a huge integer): just validate
        return _validated(model, rtype, part, draft)
    with _verdicts_lock:
        verdict = _verdicts.get(key)
        if verdict is not None:
            _verdicts.move_to_end(key)
    if verdict is not None:
        kind, repaired, problems = verdict
        readable = part if kind == "as-sent" else copy.deepcopy(repaired) if kind == "repaired" else None
        return readable, list(problems)
    readable, problems = _validated(model, rtype, part, draft)
    kind = "as-sent" if readable is part else "skip" if readable is None else "repaired"
    with _verdicts_lock:
        _verdicts[key] = (kind, copy.deepcopy(readable) if kind == "repaired" else None, list(problems))
        while len(_verdicts) > VERDICT_CACHE_SIZE:
            _verdicts.popitem(last=False)
    return readable, problems


def _validated(model, rtype: str, resource: dict, draft: bool) -> tuple[dict | None, list[Problem]]:
    """Validate the read part of a resource with fhir.resources, repairing the safe quirks."""
    ref = f"{rtype}/{resource['id']}" if isinstance(resource.get("id"), str) else None
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
