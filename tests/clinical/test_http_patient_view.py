"""End to end over loopback HTTP: each vignette as a patient-view call to the real app; the response validates
against our schemas and carries the assessment extension that matches the vignette's expectations."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests

from cds_service.devtools.fhir_store import FhirStore
from cds_service.hooks import protocol
from cds_service.hooks.prefetch import render
from cds_service.cards.assessment_cards import EXTENSION_KEY
from tests.clinical.vignettes import NAMES, REFERENCE_DATE, SILENT, check, load

HOOKS = json.loads((Path(__file__).resolve().parents[2] / "hooks.json").read_text())
SERVICE = "kmt2a-patient-view"
TEMPLATES = next(s for s in HOOKS["services"] if s["id"] == SERVICE)["prefetch"]


def answer(template: str, resources: list[dict], patient_id: str) -> dict | None:
    """What an EHR would return for one hooks.json prefetch template over the vignette's resources: the demo FHIR
    store's search (comma = OR within a parameter, system|code tokens), not a second emulator of our own."""
    return FhirStore(resources).fetch(render(template, {"patientId": patient_id}))


def prefetch_for(bundle: dict) -> tuple[str, dict]:
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    return patient["id"], {key: answer(template, resources, patient["id"]) for key, template in TEMPLATES.items()}


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
    if name in SILENT:
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
    assert "Could not read medication orders from the EHR" in card["detail"] and "incomplete" in card["detail"]
    assert "medicationRequests" not in card["detail"]  # the prefetch key is ours, not the clinician's word


def test_menin_dose_without_the_medication_lists_says_inhibitors_were_not_checked(live):
    cards = call(live, load("relapsed-adult-all-posaconazole"), drop=("medicationRequests",)).json()["cards"]
    detail = next(c["detail"] for c in cards if "revumenib" in c.get("detail", ""))
    assert "check for a strong CYP3A4 inhibitor" in detail
    complete = call(live, load("relapsed-adult-all-posaconazole")).json()["cards"]
    detail = next(c["detail"] for c in complete if "revumenib" in c.get("detail", ""))
    assert "Could not read" not in detail


def test_missing_data_suggestion_is_a_draft_service_request(live):
    cards = call(live, load("adult-aml-untested")).json()["cards"]
    missing = next(c for c in cards if c["summary"].startswith("Missing"))
    assert missing["indicator"] == "warning" and missing["selectionBehavior"] == "any"
    action = missing["suggestions"][0]["actions"][0]
    assert action["type"] == "create"
    assert action["resource"]["resourceType"] == "ServiceRequest"
    assert "KMT2A" in action["resource"]["code"]["text"]
    assert missing["overrideReasons"]


def test_a_chart_whose_diagnoses_and_results_could_not_be_read_says_so_once(live):
    body = call(live, load("infant-high-wbc"), drop=("conditions", "labs", "genomics", "genomicReports", "reports",
                                                    "geneticsCategory")).json()
    assert protocol.validate_response(body) == []
    (card,) = body["cards"]
    assert card["indicator"] == "info" and card["summary"].startswith("KMT2A check not done: could not read diagnoses")
    assert EXTENSION_KEY in card["extension"]


@pytest.mark.parametrize("words", [
    "MLL-AF4 (KMT2A::AFF1) RT-PCR: result pending.",
    "This assay detects the following fusions: KMT2A::AFF1, KMT2A::MLLT3, KMT2A::MLLT10.\nResult: see comment.",
    "The following fusions were NOT detected: KMT2A::AFF1, KMT2A::MLLT3, KMT2A::MLLT10.",
])
def test_a_report_that_names_kmt2a_fusions_without_a_positive_result_still_asks_for_the_test(live, words):
    """A pending result, a test's list of targets or a list of negatives is no KMT2A rearrangement: the card asks for
    the test (these three were read as KMT2A::AFF1 rearranged before)."""
    bundle = load("adult-aml-untested")
    bundle["entry"].append({"resource": {
        "resourceType": "DiagnosticReport", "id": "aaml-untested-fusion-panel", "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "GE"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "51969-4"}],
                 "text": "Leukemia fusion panel (RT-PCR)"},
        "subject": {"reference": "Patient/aaml-untested"},
        "effectiveDateTime": "2025-05-02", "issued": "2025-05-03T10:00:00Z", "conclusion": words}})
    cards = call(live, bundle).json()["cards"]
    assessment = next(c for c in cards if EXTENSION_KEY in c.get("extension", {}))["extension"][EXTENSION_KEY]
    assert assessment["kmt2a"]["status"] == "unknown", assessment["kmt2a"]
    summaries = [c["summary"] for c in cards]
    assert any(s.startswith("Missing") and "KMT2A" in s for s in summaries), summaries


def test_a_break_apart_split_in_iscn_2009_notation_is_read_as_rearranged_over_http(live):
    """An infant's only KMT2A result is the lab's FISH in ISCN 2009 notation: one 5'/3' pair joined, the other apart
    (a split signal). It once read as two intact signals (germline), which put the infant in the germline group."""
    bundle = load("infant-low-germline")
    fish = next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == "inf-lr-fish")
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"] is not fish] + [{"resource": {
        "resourceType": "DiagnosticReport", "id": "inf-lr-cg", "status": "final", "subject": fish["subject"],
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "CG"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "51969-4", "display": "Genetic analysis report"}],
                 "text": "MLL (11q23) FISH, bone marrow"}, "effectiveDateTime": fish["effectiveDateTime"],
        "conclusion": "nuc ish 11q23(5'MLL,3'MLL)x2(5'MLL con 3'MLLx1)[162/200]"}}]
    body = call(live, bundle).json()
    assert protocol.validate_response(body) == []
    (assessment,) = [c["extension"][EXTENSION_KEY] for c in body["cards"] if EXTENSION_KEY in c.get("extension", {})]
    assert assessment["kmt2a"]["status"] == "rearranged"
    assert ("interfant-06", "low") not in {(g["scheme"], g["group"]) for g in assessment["riskGroups"]}
    assert not any("germline" in c["summary"].lower() for c in body["cards"])
