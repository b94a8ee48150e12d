"""Prefetch against a FHIR server on loopback: what is fetched, with which token, and what is not."""

from __future__ import annotations

import copy
import logging
import time

import pytest
import requests

from cds_service.hooks import prefetch
from cds_service.cards import toolkit as cardkit
from cds_service.hooks import registry as services
from cds_service.web.config import Config
from cds_service.hooks.handlers import HANDLERS
from tests.support import sandbox
from tests.support.fhir_server import FhirTestServer

PV = "/cds-services/kmt2a-patient-view"
TOKEN = "fhir-access-token-7f3c9a"


def lab(n: int) -> dict:
    return {"resourceType": "Observation", "id": f"lab-{n}", "status": "final", "subject": {"reference": "Patient/pat-1"},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]}, "valueQuantity": {"value": n}}


PATIENT = {"resourceType": "Patient", "id": "pat-1", "birthDate": "2025-06-01"}
RESOURCES = [
    PATIENT,
    {"resourceType": "Patient", "id": "pat-2", "birthDate": "1990-01-01"},
    {"resourceType": "Condition", "id": "c-1", "subject": {"reference": "Patient/pat-1"},
     "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91861009"}]}},
    *[lab(n) for n in range(5)],
    {"resourceType": "Observation", "id": "variant-1", "status": "final", "subject": {"reference": "Patient/pat-1"},
     "category": [{"coding": [{"code": "laboratory"}]}],
     "code": {"coding": [{"system": "http://loinc.org", "code": "69548-6"}]}},
    {"resourceType": "Observation", "id": "weight-1", "status": "final", "subject": {"reference": "Patient/pat-1"},
     "category": [{"coding": [{"code": "vital-signs"}]}], "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}},
    {"resourceType": "Observation", "id": "lab-of-pat-2", "subject": {"reference": "Patient/pat-2"},
     "category": [{"coding": [{"code": "laboratory"}]}], "code": {"coding": [{"code": "6690-2"}]}},
    {"resourceType": "MedicationRequest", "id": "mr-1", "status": "active", "intent": "order",
     "subject": {"reference": "Patient/pat-1"}},
]


class Capture:
    """A test handler that keeps the HookCall it was given."""

    def __init__(self):
        self.calls = []

    def __call__(self, call):
        self.calls.append(call)
        return [cardkit.card("Prefetch captured for this test.", "info", {"label": "test"})]


@pytest.fixture
def fhir():
    with FhirTestServer(RESOURCES, page_size=2) as server:
        yield server


@pytest.fixture
def capture():
    return Capture()


@pytest.fixture
def service(live_service, capture):
    # A deadline no loopback fetch comes near, even on a loaded CI machine; the deadline test sets its own.
    return live_service(handlers={service_id: capture for service_id in HANDLERS}, prefetch_deadline_s=5.0)


def hook_request(fhir_server: FhirTestServer, prefetch_sent: dict | None = None, token: str | None = TOKEN,
                 **auth) -> dict:
    body = copy.deepcopy(sandbox.raw("patient-view")["body"])
    body["fhirServer"] = fhir_server.base
    body["prefetch"] = {"patient": PATIENT} if prefetch_sent is None else prefetch_sent
    if token:
        body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer", "expires_in": 30,
                                     "scope": "patient/*.read", "subject": "kmt2a-cds", "patient": "pat-1", **auth}
    return body


def paths(fhir_server: FhirTestServer) -> list[str]:
    return [r.path for r in fhir_server.requests]


def test_absent_keys_are_fetched_with_the_bearer_token(service, capture, fhir):
    response = requests.post(service + PV, json=hook_request(fhir))
    assert response.status_code == 200
    call = capture.calls[-1]
    assert call.unavailable == ()
    assert "/fhir/Patient/pat-1" not in paths(fhir)  # sent by the EHR: not fetched again
    assert {r.authorization for r in fhir.requests} == {f"Bearer {TOKEN}"}
    labs = call.prefetch["labs"]
    # labs asks by the LOINC codes the rules read: the variant comes under genomics only
    assert sorted(e["resource"]["id"] for e in labs["entry"]) == ["lab-0", "lab-1", "lab-2", "lab-3", "lab-4"]
    assert [e["resource"]["id"] for e in call.prefetch["vitals"]["entry"]] == ["weight-1"]
    assert [e["resource"]["id"] for e in call.prefetch["genomics"]["entry"]] == ["variant-1"]
    assert "entry" not in call.prefetch["genomicReports"]  # an empty searchset is data: "none found"


def test_paging_is_followed_and_merged(service, capture, fhir):
    requests.post(service + PV, json=hook_request(fhir))
    lab_pages = [r for r in fhir.requests if "http://loinc.org|6690-2" in r.query.get("code", [""])[0]]
    assert len(lab_pages) == 3  # 5 hits, 2 per page
    assert not any(link["relation"] == "next" for link in capture.calls[-1].prefetch["labs"].get("link", []))


def test_page_cap_keeps_the_next_link(live_service, capture, fhir):
    base = live_service(handlers={sid: capture for sid in HANDLERS}, prefetch_page_cap=2)
    requests.post(base + PV, json=hook_request(fhir))
    labs = capture.calls[-1].prefetch["labs"]
    assert len(labs["entry"]) == 4
    assert any(link["relation"] == "next" for link in labs["link"])  # a reader can tell it is partial
    assert "labs" in capture.calls[-1].unavailable  # and the handler is told so


def first_page(fhir_server: FhirTestServer, query: str) -> dict:
    """Page 1 of a search, as an EHR would put it in the prefetch (with its link[next])."""
    page = requests.get(f"{fhir_server.base}/{query}", timeout=5).json()
    fhir_server.requests.clear()
    assert any(link["relation"] == "next" for link in page["link"])
    return page


def test_a_paged_bundle_the_ehr_sent_is_completed_with_its_token(service, capture, fhir):
    labs = first_page(fhir, "Observation?patient=pat-1&category=laboratory")
    requests.post(service + PV, json=hook_request(fhir, {"patient": PATIENT, "labs": labs}))
    call = capture.calls[-1]
    assert len(call.prefetch["labs"]["entry"]) == 6 and "labs" not in call.unavailable
    pages = [r for r in fhir.requests if r.query.get("category") == ["laboratory"]]
    assert [r.query["_page"] for r in pages] == [["2"], ["3"]]
    assert {r.authorization for r in pages} == {f"Bearer {TOKEN}"}


def test_a_paged_bundle_that_cannot_be_completed_is_kept_and_named_partial(service, capture, fhir):
    labs = first_page(fhir, "Observation?patient=pat-1&category=laboratory")
    requests.post(service + PV, json=hook_request(fhir, {"patient": PATIENT, "labs": labs}, token=None))
    call = capture.calls[-1]
    assert len(call.prefetch["labs"]["entry"]) == 2  # what was sent is still used ...
    assert "labs" in call.unavailable  # ... but nobody may read it as the whole list
    assert fhir.requests == []


@pytest.mark.parametrize("links", [5, "next", [{"relation": "next", "url": {"x": 1}}], [None]])
def test_odd_bundle_links_from_the_ehr_are_not_a_500(service, capture, fhir, links):
    labs = {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": [{"resource": lab(1)}]}
    response = requests.post(service + PV, json=hook_request(fhir, {"patient": PATIENT, "labs": labs}))
    assert response.status_code == 200
    assert "labs" not in capture.calls[-1].unavailable


def test_null_is_no_data_and_never_fetched(service, capture, fhir):
    sent = {"patient": PATIENT, "conditions": None, "medicationRequests": None}
    requests.post(service + PV, json=hook_request(fhir, sent))
    call = capture.calls[-1]
    assert call.prefetch["conditions"] is None and call.prefetch["medicationRequests"] is None
    assert "conditions" not in call.unavailable
    assert not any(p.startswith(("/fhir/Condition", "/fhir/MedicationRequest")) for p in paths(fhir))


def test_operation_outcome_sent_is_unavailable_and_not_refetched(service, capture, fhir):
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}
    requests.post(service + PV, json=hook_request(fhir, {"patient": PATIENT, "conditions": outcome}))
    call = capture.calls[-1]
    assert "conditions" in call.unavailable and "conditions" not in call.prefetch
    assert not any(p.startswith("/fhir/Condition") for p in paths(fhir))


def test_operation_outcome_from_the_server_is_unavailable(service, capture, fhir):
    fhir.outcome_for.add("MedicationRequest")
    fhir.status_for["Condition"] = 500
    response = requests.post(service + PV, json=hook_request(fhir))
    assert response.status_code == 200
    call = capture.calls[-1]
    assert {"medicationRequests", "conditions"} <= set(call.unavailable)
    assert paths(fhir).count("/fhir/Condition") == 1  # no retry on 500


def test_one_retry_on_503(service, capture, fhir):
    everything_but_labs = {k: None for k in services.load(Config().hooks_file, HANDLERS).get("kmt2a-patient-view").prefetch
                           if k not in ("patient", "labs")}
    fhir.fail_next = [503]
    requests.post(service + PV, json=hook_request(fhir, {"patient": PATIENT, **everything_but_labs}))
    assert "labs" in capture.calls[-1].prefetch
    fhir.requests.clear()
    fhir.fail_next = [503, 502]
    requests.post(service + PV, json=hook_request(fhir, {"patient": PATIENT, **everything_but_labs}))
    assert "labs" in capture.calls[-1].unavailable
    assert len(fhir.requests) == 2  # the first try and exactly one retry


def test_slow_server_is_cut_at_the_deadline(live_service, capture, fhir, caplog):
    deadline_s, server_delay_s = 1.0, 8.0
    service = live_service(handlers={service_id: capture for service_id in HANDLERS}, prefetch_deadline_s=deadline_s)
    fhir.slow_s = server_delay_s
    started = time.monotonic()
    response = requests.post(service + PV, json=hook_request(fhir))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    # Cut: far closer to the deadline than to the server's delay (wide margin for a loaded 2-core machine).
    assert deadline_s <= elapsed < (deadline_s + server_delay_s) / 2, elapsed
    call = capture.calls[-1]
    assert "labs" in call.unavailable and "conditions" in call.unavailable
    assert call.prefetch == {"patient": PATIENT}
    assert [r.outcome for r in caplog.records if r.name == "kmt2a_cds.audit"] == ["unauthenticated-partial"]


def test_no_token_no_fetch(service, capture, fhir):
    response = requests.post(service + PV, json=hook_request(fhir, token=None))
    assert response.status_code == 200
    assert fhir.requests == []
    assert "labs" in capture.calls[-1].unavailable


def test_token_for_another_patient_is_not_used(service, capture, fhir):
    response = requests.post(service + PV, json=hook_request(fhir, patient="pat-2"))
    assert response.status_code == 200
    assert fhir.requests == []


def test_required_patient_is_fetched_when_absent(service, capture, fhir):
    response = requests.post(service + PV, json=hook_request(fhir, prefetch_sent={}))
    assert response.status_code == 200
    assert capture.calls[-1].prefetch["patient"] == PATIENT
    assert "/fhir/Patient/pat-1" in paths(fhir)


def test_412_when_the_required_patient_cannot_be_had(service, fhir):
    no_token = requests.post(service + PV, json=hook_request(fhir, prefetch_sent={}, token=None))
    assert no_token.status_code == 412 and "patient" in no_token.json()["issue"][0]["diagnostics"]
    assert fhir.requests == []
    body = hook_request(fhir, prefetch_sent={})
    body["context"]["patientId"] = "pat-404"
    body["fhirAuthorization"]["patient"] = "pat-404"
    not_found = requests.post(service + PV, json=body)  # the read answers 404: "no data" for a required key
    assert not_found.status_code == 412
    assert not_found.json()["resourceType"] == "OperationOutcome"


def test_token_never_logged(service, fhir, caplog):
    fhir.status_for["Condition"] = 500
    with caplog.at_level(logging.DEBUG):  # even a host logging everything: urllib3 would log each URL
        requests.post(service + PV, json=hook_request(fhir))
    assert "prefetch key conditions unavailable" in caplog.text
    assert TOKEN not in caplog.text and "pat-1" not in caplog.text


# --- template rendering (no HTTP) ----------------------------------------------------------------


@pytest.mark.parametrize("user, token, value", [
    ("Practitioner/abc", "userPractitionerId", "abc"),
    ("PractitionerRole/r-1", "userPractitionerRoleId", "r-1"),
    ("Patient/p-9", "userPatientId", "p-9"),
    ("RelatedPerson/rp", "userRelatedPersonId", "rp"),
])
def test_user_tokens(user, token, value):
    context = {"userId": user, "patientId": "p 1"}
    assert prefetch.render(f"X?performer={{{{{token}}}}}", context) == f"X?performer={value}"
    others = {"userPractitionerId", "userPractitionerRoleId", "userPatientId", "userRelatedPersonId"} - {token}
    assert all(prefetch.render(f"X?p={{{{{o}}}}}", context) is None for o in others)


def test_context_tokens_are_url_encoded_and_user_id_stays_a_read():
    context = {"userId": "Practitioner/abc", "patientId": "a&b=c", "draftOrders": {"resourceType": "Bundle"}}
    assert prefetch.render("Condition?patient={{context.patientId}}", context) == "Condition?patient=a%26b%3Dc"
    assert prefetch.render("{{context.userId}}", context) == "Practitioner/abc"
    assert prefetch.render("X?e={{context.encounterId}}", context) is None  # absent: the key cannot be fetched
    assert prefetch.render("X?d={{context.draftOrders}}", context) is None  # not a root primitive


def test_fhir_access_rules():
    base = {"fhirServer": "https://ehr/fhir", "context": {"patientId": "p1"}}
    assert isinstance(prefetch.fhir_access(base), str)
    auth = {"access_token": "t", "patient": "p1"}
    assert prefetch.fhir_access({**base, "fhirAuthorization": auth}) == ("https://ehr/fhir", "t")
    assert isinstance(prefetch.fhir_access({**base, "fhirAuthorization": {**auth, "patient": "p2"}}), str)


@pytest.mark.parametrize("url, same", [
    ("https://ehr.example/fhir/Observation?_page=2", True),
    ("HTTPS://EHR.example/fhir/Observation", True),
    ("https://ehr.example/fhir-evil/Observation", False),  # same host, another application: not our token's
    ("https://other.example/fhir/Observation", False),
    ("http://ehr.example/fhir/Observation", False),
])
def test_paging_stays_under_the_fhir_base(url, same):
    assert prefetch._same_server(url, "https://ehr.example/fhir") is same
