"""The demo FHIR server over real loopback HTTP: what the CDS Hooks Sandbox and our prefetch templates ask of it."""

from __future__ import annotations

import pytest
import requests

from cds_service.devtools.fhir_server import FhirServer
from cds_service.devtools.fhir_store import FhirStore
from cds_service.hooks.handlers import HANDLERS
from cds_service.hooks.prefetch import render
from cds_service.hooks.registry import load as load_registry
from cds_service.web.config import HOOKS_FILE

LOINC = "http://loinc.org"


def obs(rid, pid, loinc, when, category="laboratory"):
    return {"resourceType": "Observation", "id": rid, "status": "final", "subject": {"reference": f"Patient/{pid}"},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": category}]}],
            "code": {"coding": [{"system": LOINC, "code": loinc}], "text": f"test {loinc}"}, "effectiveDateTime": when}


RESOURCES = [
    {"resourceType": "Patient", "id": "p1", "name": [{"family": "Rossi", "given": ["Ada"]}], "gender": "female",
     "birthDate": "2026-07-01", "identifier": [{"system": "urn:mrn", "value": "123"}]},
    {"resourceType": "Patient", "id": "p2", "name": [{"family": "Berg"}], "birthDate": "1970-01-01"},
    obs("o1", "p1", "6690-2", "2026-11-01"), obs("o2", "p1", "33893-9", "2026-11-05"),
    obs("o3", "p1", "76634-5", "2026-11-06", "procedure"), obs("o4", "p2", "6690-2", "2026-11-01"),
    {"resourceType": "MedicationRequest", "id": "m1", "status": "active", "intent": "order",
     "subject": {"reference": "Patient/p1"}, "authoredOn": "2026-11-02",
     "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "2698331"}]}},
]


@pytest.fixture
def fhir():
    with FhirServer(FhirStore([dict(r) for r in RESOURCES])) as server:
        yield server


def ids(bundle):
    return sorted(e["resource"]["id"] for e in bundle.get("entry", []))


def get(fhir, path, **params):
    response = requests.get(f"{fhir.base}/{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    return response.json()


def test_metadata_says_r4(fhir):
    assert get(fhir, "metadata")["fhirVersion"] == "4.0.1"


def test_read_and_unknown_read(fhir):
    assert get(fhir, "Patient/p1")["name"][0]["family"] == "Rossi"
    missing = requests.get(f"{fhir.base}/Patient/nope", timeout=10)
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"


def test_search_by_patient_category_and_code(fhir):
    assert ids(get(fhir, "Observation", patient="p1")) == ["o1", "o2", "o3"]
    assert ids(get(fhir, "Observation", subject="Patient/p1", category="laboratory")) == ["o1", "o2"]
    assert ids(get(fhir, "Observation", patient="p1", code=f"{LOINC}|76634-5,{LOINC}|33893-9")) == ["o2", "o3"]
    assert ids(get(fhir, "Observation", patient="p1", code="http://other|6690-2")) == []
    assert ids(get(fhir, "MedicationRequest", patient="p1", code="2698331")) == ["m1"]


def test_search_by_date_with_prefixes(fhir):
    assert ids(get(fhir, "Observation", patient="p1", date="ge2026-11-05")) == ["o2", "o3"]
    assert ids(get(fhir, "Observation", patient="p1", date="2026-11")) == ["o1", "o2", "o3"]
    assert ids(get(fhir, "Observation", patient="p1", date=["gt2026-11-01", "lt2026-11-06"])) == ["o2"]


def test_post_search_with_a_form_body_as_the_sandbox_sends_it(fhir):
    response = requests.post(f"{fhir.base}/Observation/_search", data={"patient": "p1", "category": "procedure"},
                             timeout=10)
    assert response.status_code == 200 and ids(response.json()) == ["o3"]


def test_patient_list_and_name_search(fhir):
    assert ids(get(fhir, "Patient")) == ["p1", "p2"]
    assert ids(get(fhir, "Patient", name="ross")) == ["p1"]
    assert ids(get(fhir, "Patient", identifier="urn:mrn|123")) == ["p1"]


def test_paging_follows_next_links(fhir):
    page = get(fhir, "Observation", patient="p1", _count=2)
    assert page["total"] == 3 and len(page["entry"]) == 2
    (next_url,) = [link["url"] for link in page["link"] if link["relation"] == "next"]
    rest = requests.get(next_url, timeout=10).json()
    assert ids(page) + ids(rest) == ["o1", "o2", "o3"]
    assert not [link for link in rest["link"] if link["relation"] == "next"]


def test_every_prefetch_template_of_discovery_is_answered(fhir):
    """Each template our services declare, rendered for p1, is a read or a search this server answers."""
    templates = [t for service in load_registry(HOOKS_FILE, HANDLERS).services.values() for t in service.prefetch.values()]
    assert len(templates) >= 10
    for template in templates:
        url = render(template, {"patientId": "p1"})
        response = requests.get(f"{fhir.base}/{url}", timeout=10)
        assert response.status_code == 200, (template, response.text)


def test_cors_preflight_and_headers(fhir):
    preflight = requests.options(f"{fhir.base}/Observation/_search", timeout=10,
                                 headers={"Origin": "http://localhost:8080", "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    response = requests.get(f"{fhir.base}/Patient/p1", headers={"Origin": "http://localhost:8080"}, timeout=10)
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"


def test_transaction_with_urn_uuid_references(fhir):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:1f7a", "resource": {"resourceType": "Patient", "name": [{"family": "New"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:2b8c", "resource": {"resourceType": "Condition", "subject": {"reference": "urn:uuid:1f7a"},
                                                  "code": {"text": "AML"}},
         "request": {"method": "POST", "url": "Condition"}}]}
    response = requests.post(fhir.base, json=bundle, timeout=10)
    assert response.status_code == 200
    result = response.json()
    assert result["type"] == "transaction-response"
    patient_ref = result["entry"][0]["response"]["location"]
    (condition,) = get(fhir, "Condition", patient=patient_ref.split("/")[1])["entry"]
    assert condition["resource"]["subject"]["reference"] == patient_ref


def test_bad_requests_get_an_operation_outcome(fhir):
    for response in (requests.get(f"{fhir.base}/Observation", params={"_count": "many"}, timeout=10),
                     requests.post(fhir.base, data="not json", timeout=10),
                     requests.get(f"{fhir.base}/Observation", params={"code:below": "x"}, timeout=10)):
        assert response.status_code == 400 and response.json()["resourceType"] == "OperationOutcome"


def test_a_transaction_with_a_bad_entry_stores_nothing(fhir):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p9"}, "request": {"method": "PUT", "url": "Patient/p9"}},
        {"resource": {"id": "no-type"}, "request": {"method": "POST", "url": "Observation"}}]}
    assert requests.post(fhir.base, json=bundle, timeout=10).status_code == 400
    assert requests.get(f"{fhir.base}/Patient/p9", timeout=10).status_code == 404
