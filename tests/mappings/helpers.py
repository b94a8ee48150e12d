"""Shared helpers for the fhir_mappings tests: fixture loading and small resource builders."""

from __future__ import annotations

import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fhir"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def sandbox_body(name: str) -> dict:
    return json.loads((SHARED / "examples" / "sandbox" / name).read_text(encoding="utf-8"))["body"]


def bundle(*resources: dict, type_: str | None = "collection") -> dict:
    b = {"resourceType": "Bundle", "entry": [{"resource": r} for r in resources]}
    if type_:
        b["type"] = type_
    return b


def patient(pid: str = "p1", birth: str = "1980-01-01", gender: str = "female") -> dict:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth}


def condition(cid: str, codings: list[dict], *, text: str | None = None, onset: str | None = None,
              clinical: str | None = "active", pid: str = "p1") -> dict:
    c = {"resourceType": "Condition", "id": cid, "code": {"coding": codings}, "subject": {"reference": f"Patient/{pid}"}}
    if text:
        c["code"]["text"] = text
    if onset:
        c["onsetDateTime"] = onset
    if clinical:
        c["clinicalStatus"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": clinical}]}
    return c


def observation(oid: str, loinc: str | None, *, when: str = "2025-03-02", pid: str = "p1", text: str | None = None,
                **value) -> dict:
    o = {"resourceType": "Observation", "id": oid, "status": "final", "code": {},
         "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": when}
    if loinc:
        o["code"]["coding"] = [{"system": "http://loinc.org", "code": loinc}]
    if text:
        o["code"]["text"] = text
    o.update(value)
    return o


def qty(value: float, code: str, comparator: str | None = None) -> dict:
    q = {"value": value, "unit": code, "system": "http://unitsofmeasure.org", "code": code}
    if comparator:
        q["comparator"] = comparator
    return q


def paths(value, prefix=()):
    """Every path into a JSON document (the empty path first), as tuples of keys and list indexes."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, prefix + (key,))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from paths(child, prefix + (i,))
