"""End to end over loopback HTTP: each vignette as a patient-view call to the real app; the response validates
against our schemas and carries the assessment extension that matches the vignette's expectations."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests

from cds_service import protocol
from cds_service.patient_view import EXTENSION_KEY
from tests.clinical.vignettes import NAMES, REFERENCE_DATE, check, load

HOOKS = json.loads((Path(__file__).resolve().parents[2] / "hooks.json").read_text())
GENOMIC_CODES = {"69548-6", "29770-5", "33893-9", "102103-9", "72313-0"}
SERVICE = "kmt2a-patient-view"


def _searchset(resources: list[dict]) -> dict:
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r}
                      for r in resources]}


def _codes(resource: dict) -> set[str]:
    return {c.get("code") for c in resource.get("code", {}).get("coding", [])}


def _categories(resource: dict) -> set[str]:
    return {c.get("code") for cat in resource.get("category", []) for c in cat.get("coding", [])}


def prefetch_for(bundle: dict) -> tuple[str, dict]:
    """Split a vignette into the prefetch keys of hooks.json, as an EHR answering those queries would."""
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    of = lambda t: [r for r in resources if r["resourceType"] == t]  # noqa: E731
    observations = of("Observation")
    prefetch = {
        "patient": patient,
        "conditions": _searchset(of("Condition")),
        "labs": _searchset([o for o in observations if "laboratory" in _categories(o)]),
        "vitals": _searchset([o for o in observations if "vital-signs" in _categories(o)]),
        "genomics": _searchset([o for o in observations if _codes(o) & GENOMIC_CODES]),
        "genomicReports": _searchset(of("DiagnosticReport")),
        "medicationRequests": _searchset(of("MedicationRequest")),
        "medicationStatements": _searchset(of("MedicationStatement")),
        "medicationAdministrations": _searchset(of("MedicationAdministration")),
    }
    assert set(prefetch) == set(next(s for s in HOOKS["services"] if s["id"] == SERVICE)["prefetch"])
    # Observations that fit no key above (e.g. an ECG with category procedure) travel as labs, as a broad query would.
    placed = {id(o) for key in ("labs", "vitals", "genomics") for o in (e["resource"] for e in prefetch[key]["entry"])}
    prefetch["labs"]["entry"] += _searchset([o for o in observations if id(o) not in placed])["entry"]
    return patient["id"], prefetch


def call(live, bundle: dict, drop: tuple[str, ...] = ()) -> requests.Response:
    patient_id, prefetch = prefetch_for(bundle)
    body = {"hookInstance": str(uuid.uuid4()), "hook": "patient-view",
            "context": {"patientId": patient_id, "userId": "Practitioner/example"},
            "prefetch": {k: v for k, v in prefetch.items() if k not in drop}}
    return requests.post(f"{live}/cds-services/{SERVICE}", json=body, timeout=30)


@pytest.fixture(scope="module")
def live(service_dir, test_issuer):
    from tests.support.live import LiveService, test_config

    service = LiveService(test_config(service_dir, test_issuer, reference_date=REFERENCE_DATE))
    yield service
    service.stop()


@pytest.mark.parametrize("name", NAMES)
def test_patient_view_over_http(live, name):
    response = call(live, load(name))
    assert response.status_code == 200, response.text
    body = response.json()
    assert protocol.validate_response(body) == []
    cards = body["cards"]
    if name == "no-leukemia":
        assert cards == []
        return
    carrying = [c for c in cards if EXTENSION_KEY in c.get("extension", {})]
    assert len(carrying) == 1
    check(name, carrying[0]["extension"][EXTENSION_KEY])
    assert all(len(c["summary"]) < 140 for c in cards)
    assert len(cards) <= 4


def test_unavailable_prefetch_is_named_on_the_assessment_card(live):
    response = call(live, load("relapsed-adult-all-posaconazole"), drop=("medicationRequests",))
    assert response.status_code == 200
    card = next(c for c in response.json()["cards"] if EXTENSION_KEY in c.get("extension", {}))
    assert "medicationRequests" in card["detail"] and "incomplete" in card["detail"]


def test_missing_data_suggestion_is_a_draft_service_request(live):
    cards = call(live, load("adult-aml-untested")).json()["cards"]
    missing = next(c for c in cards if c["summary"].startswith("Missing"))
    assert missing["indicator"] == "warning" and missing["selectionBehavior"] == "any"
    action = missing["suggestions"][0]["actions"][0]
    assert action["type"] == "create"
    assert action["resource"]["resourceType"] == "ServiceRequest"
    assert "KMT2A" in action["resource"]["code"]["text"]
    assert missing["overrideReasons"]
