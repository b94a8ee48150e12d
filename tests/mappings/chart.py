"""Resources written the way EHRs and lab systems send them (not the way our other fixtures do): local code systems
(Epic-style OIDs, Cerner-style URLs), meta and identifiers, timezone offsets, narrative, performers, categories,
results split between reports and Observations. Used by the chart corpus and the property tests."""

from __future__ import annotations

import itertools
import zlib
from datetime import date

from fhir_mappings import case_from_resources

REF = date(2025, 9, 1)
PID = "pt-4471"
EPIC_LAB = "urn:oid:1.2.840.114350.1.13.502.2.7.2.768282"  # an Epic-style local component code system
CERNER_LAB = "https://fhir-ehr.cerner.com/r4/ec2458f2-1e24-41c8-b71b-0e701af7583d/codeSet/72"
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
_ids = itertools.count(1)


def patient(birth: str = "2024-11-02", gender: str = "female") -> dict:
    return {"resourceType": "Patient", "id": PID, "meta": {"versionId": "3", "lastUpdated": "2025-08-30T09:12:44Z"},
            "identifier": [{"system": "urn:oid:1.2.840.114350.1.13.502.2.7.5.737384.14", "value": "E88123"}],
            "gender": gender, "birthDate": birth}


def _envelope(rtype: str, rid: str | None, when: str) -> dict:
    rid = rid or f"{rtype[:3].lower()}-{next(_ids)}"
    return {"resourceType": rtype, "id": rid, "meta": {"versionId": "1", "lastUpdated": f"{when}T18:03:11Z"},
            "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Result</div>'},
            "identifier": [{"system": "urn:oid:1.2.840.114350.1.13.502.2.7.3.798268.800", "value": f"{rid}-R"}],
            "status": "final", "subject": {"reference": f"Patient/{PID}", "display": "Doe, Jane"}}


def lab(name: str, *, code: str | None = None, system: str = EPIC_LAB, rid: str | None = None,
        when: str = "2025-02-11", category: str = "laboratory", **value) -> dict:
    """A lab Observation with a local code (or a LOINC code when `system` is LOINC)."""
    o = _envelope("Observation", rid, when)
    o.update({
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": category, "display": category.title()}], "text": category.title()}],
        "code": {"coding": [{"system": system, "code": code or f"LAB{zlib.crc32(name.encode()) % 100000}", "display": name}],
                 "text": name},
        "effectiveDateTime": f"{when}T08:41:00-05:00", "issued": f"{when}T15:22:10-05:00",
        "performer": [{"display": "Molecular Pathology Laboratory"}],
    })
    o.update(value)
    return o


def report(name: str, *, rid: str | None = None, when: str = "2025-02-11", **fields) -> dict:
    r = _envelope("DiagnosticReport", rid, when)
    r.update({
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "PAT"}],
                      "text": "Pathology"}],
        "code": {"coding": [{"system": CERNER_LAB, "code": str(zlib.crc32(name.encode()) % 10**8), "display": name}],
                 "text": name},
        "effectiveDateTime": f"{when}T08:41:00-05:00", "issued": f"{when}T16:40:00-05:00",
        "resultsInterpreter": [{"display": "Hematopathologist, MD"}],
    })
    r.update(fields)
    return r


def condition(*codings: dict, text: str | None = None, onset: str | None = None, clinical: str = "active",
              rid: str | None = None, **extra) -> dict:
    c = _envelope("Condition", rid, onset or "2025-01-01")
    del c["status"]
    c.update({
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": clinical}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                           "code": "confirmed"}]},
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                  "code": "problem-list-item"}]}],
        "code": {"coding": list(codings)},
    })
    if text:
        c["code"]["text"] = text
    if onset:
        c["onsetDateTime"] = f"{onset}T00:00:00Z"
        c["recordedDate"] = onset
    c.update(extra)
    return c


def coding(system: str, code: str, display: str | None = None) -> dict:
    c = {"system": system, "code": code}
    if display:
        c["display"] = display
    return c


BALL = coding(SCT, "277571004", "B-cell acute lymphoblastic leukemia")
AML = coding(SCT, "91861009", "Acute myeloid leukemia")


def concept(text: str, *codings: dict) -> dict:
    c = {"text": text}
    if codings:
        c["coding"] = list(codings)
    return c


def case_of(*resources: dict, bundle_type: str = "searchset", full_urls: str = "absolute"):
    """Map the resources as one searchset Bundle with fullUrls, the way a prefetch delivers them."""
    entries = []
    for r in resources:
        entry = {"resource": r, "search": {"mode": "match"}}
        if full_urls == "absolute" and r.get("id"):
            entry["fullUrl"] = f"https://ehr.example.org/fhir/R4/{r['resourceType']}/{r['id']}"
        entries.append(entry)
    bundle = {"resourceType": "Bundle", "type": bundle_type, "total": len(entries), "entry": entries}
    return case_from_resources([patient(), bundle], reference_date=REF, patient_id=PID)
