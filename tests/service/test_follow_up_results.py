"""A result taken weeks after the diagnosis answers how the treatment worked; it does not reopen the diagnosis.

Over real HTTP: KMT2A::AFF1 by FISH at diagnosis and a negative RT-PCR at the end of induction is a KMT2A-rearranged
leukemia in molecular remission, not 'KMT2A results conflict'. The same negative on the diagnostic marrow still is a
conflict, named on the card.
"""

from __future__ import annotations

import json
from datetime import date

import requests

PATIENT = "pat-followup"


def _obs(oid: str, when: str, name: str, value: str) -> dict:
    return {"resourceType": "Observation", "id": oid, "status": "final", "effectiveDateTime": when,
            "subject": {"reference": f"Patient/{PATIENT}"}, "code": {"text": name}, "valueString": value}


def _cards(base: str, number: int, negative_on: str) -> str:
    chart = [{"resourceType": "Condition", "id": "dx", "subject": {"reference": f"Patient/{PATIENT}"},
              "onsetDateTime": "2026-06-02",
              "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91857003"}],
                       "text": "B-lymphoblastic leukemia"}},
             _obs("fish", "2026-06-03", "KMT2A (MLL) break-apart FISH",
                  "Positive: KMT2A rearrangement, KMT2A::AFF1, in 178/200 nuclei"),
             _obs("pcr", negative_on, "KMT2A::AFF1 (MLL-AF4) RT-PCR", "Not detected")]
    body = {"hook": "patient-view", "hookInstance": f"5b1e0a52-0000-4000-8000-{number:012d}",
            "context": {"patientId": PATIENT, "userId": "Practitioner/1"},
            "prefetch": {"patient": {"resourceType": "Patient", "id": PATIENT, "birthDate": "2019-04-11"},
                         "labs": {"resourceType": "Bundle", "type": "searchset",
                                  "entry": [{"resource": r} for r in chart]}}}
    response = requests.post(f"{base}/cds-services/kmt2a-patient-view", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return json.dumps(response.json()["cards"])


def test_a_negative_rt_pcr_at_the_end_of_induction_keeps_the_kmt2a_rearranged_diagnosis(live_service):
    base = live_service(reference_date=date(2026, 7, 20))
    after_induction = _cards(base, 1, "2026-07-08")
    assert "KMT2A::AFF1" in after_induction and "conflict" not in after_induction.lower()
    same_marrow = _cards(base, 2, "2026-06-03")
    assert "conflict" in same_marrow.lower()
