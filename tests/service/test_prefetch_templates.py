"""The prefetch templates ask for what the rules read, and nothing the rules read is left out.

The EHR answers a template literally: a lab whose LOINC code is in terminology/loinc.csv but not in a template
would never reach the mappers. These tests keep hooks.json and the table in step, and show on a generated chart
(bench/chart.py answers templates as a FHIR server does) that the narrow templates give the same cards as asking
for every laboratory and vital-sign result, with a fraction of the bytes.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl

import requests

from bench import chart
from cds_service import knowledge
from cds_service.hooks import pipeline, prefetch, registry
from cds_service.hooks.call import HookCall, case_of
from cds_service.hooks.handlers import HANDLERS
from fhir_mappings import case_from_resources
from tests.support.fhir_server import FhirTestServer

ROOT = Path(__file__).resolve().parents[2]
LOINC = "http://loinc.org"
BROAD = chart.BROAD_TEMPLATES  # what the templates asked for before: megabytes on a long record


def _services() -> dict[str, dict]:
    return {s["id"]: s for s in json.loads((ROOT / "hooks.json").read_text())["services"]}


def _asked_codes(templates: dict[str, str]) -> set[str]:
    codes = set()
    for template in templates.values():
        for name, value in parse_qsl(template.partition("?")[2]):
            if name == "code":
                codes |= {alt.split("|")[1] for alt in value.split(",") if alt.startswith(LOINC + "|")}
    return codes


def test_every_loinc_code_the_mappers_know_is_asked_for_by_every_service():
    table = ROOT / "fhir_mappings" / "terminology" / "loinc.csv"
    known = {row["code"] for row in csv.DictReader(table.open())}
    services = _services()
    for service_id, service in services.items():
        asked = _asked_codes(service["prefetch"])
        # the order services too: their indication check needs the KMT2A result, often only in a report
        assert known - asked == set(), f"{service_id} does not ask for {sorted(known - asked)}"


# A patient's genetics and cytogenetics results are a handful, not the thousands of a lab category: asked for whole,
# because KMT2A FISH, karyotype and fusion results often carry only a local code.
GENETICS_CATEGORIES = {"http://terminology.hl7.org/CodeSystem/v2-0074|GE", "http://terminology.hl7.org/CodeSystem/v2-0074|CG"}


def test_no_observation_template_asks_for_a_whole_category():
    for service in _services().values():
        for key, template in service["prefetch"].items():
            params = dict(parse_qsl(template.partition("?")[2]))
            if template.startswith("Observation?") and "code" not in params:
                asked = set(params.get("category", "").split(","))
                assert asked and asked <= GENETICS_CATEGORIES, f"{key} asks for every Observation of a category: {template}"


def _cards(templates: dict[str, str], resources: list[dict]) -> list[tuple]:
    knowledge.load_all()
    service = registry.load(ROOT / "hooks.json", HANDLERS).get("kmt2a-patient-view")
    body = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
            "context": {"patientId": "bench-1", "userId": "Practitioner/1"},
            "prefetch": chart.prefetch_for(templates, resources)}
    answer = pipeline.answer(service, body, pipeline.Settings(reference_date=chart.TODAY))
    return sorted((c["indicator"], c["summary"], c.get("detail", "")) for c in answer.cards)


def test_narrow_templates_give_the_same_cards_as_asking_for_everything():
    declared = _services()["kmt2a-patient-view"]["prefetch"]
    resources = chart.chart("long")
    narrow = chart.prefetch_for(declared, resources)
    broad = chart.prefetch_for(declared | BROAD, resources)
    size = lambda prefetch: len(json.dumps(prefetch))  # noqa: E731
    assert size(narrow) < size(broad) / 2
    cards = _cards(declared, resources)
    assert cards, "the generated chart (KMT2A::MLLT3 AML) should give cards"
    assert cards == _cards(declared | BROAD, resources)


def test_every_procedure_is_asked_for_and_costs_a_tenth_of_a_long_record():
    """Transplants carry local codes, so `procedures` is a patient search, not a code list; on the long generated
    chart (two years of transfusions and procedures, one allogeneic HSCT) it is about a tenth of what is sent."""
    declared = _services()["kmt2a-patient-view"]["prefetch"]
    resources = chart.chart("long")
    sent = chart.prefetch_for(declared, resources)
    assert declared["procedures"] == "Procedure?patient={{context.patientId}}"
    procedures = [r for r in resources if r["resourceType"] == "Procedure"]
    assert len(sent["procedures"]["entry"]) == len(procedures) > 100
    assert len(json.dumps(sent["procedures"])) < 0.15 * len(json.dumps(sent))
    case = case_from_resources(list(sent.values()), reference_date=chart.TODAY, patient_id="bench-1")
    assert len(case.transplants) == 1  # the transfusions, aspirates and lumbar punctures are not transplants


V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"


def _locally_coded_fish_report() -> dict:
    """A cytogenetics report as a lab sends it: a local code, the result only in its conclusion."""
    return {"resourceType": "DiagnosticReport", "id": "fish-local-1", "status": "final",
            "subject": {"reference": "Patient/pat-fish"}, "effectiveDateTime": "2026-10-02",
            "category": [{"coding": [{"system": V2_0074, "code": "CG"}]}],
            "code": {"coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.4455", "code": "FISH-MLL"}],
                     "text": "MLL (KMT2A) break-apart FISH, bone marrow"},
            "conclusion": "Positive for KMT2A rearrangement: KMT2A::AFF1 fusion detected in 182/200 nuclei."}


def _child_with_b_all() -> tuple[dict, dict]:
    patient = {"resourceType": "Patient", "id": "pat-fish", "birthDate": "2015-03-01"}
    b_all = {"resourceType": "Condition", "id": "dx-1", "subject": {"reference": "Patient/pat-fish"},
             "onsetDateTime": "2026-10-01",
             "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91857003"}],
                      "text": "B-lymphoblastic leukemia"}}
    return patient, b_all


def test_a_locally_coded_genetics_report_reaches_every_service_through_the_fetch_path():
    patient, b_all = _child_with_b_all()
    services = registry.load(ROOT / "hooks.json", HANDLERS)
    with FhirTestServer([patient, b_all, _locally_coded_fish_report()]) as fhir:
        for service_id in ("kmt2a-patient-view", "kmt2a-order-select", "kmt2a-order-sign"):
            service = services.get(service_id)
            fetched = [t for k, t in service.prefetch.items() if k == "reports"]
            assert fetched, f"{service_id} has no reports template"
            body = {"hook": service.hook, "hookInstance": "a1b2c3d4-0000-4000-8000-000000000001",
                    "context": {"patientId": "pat-fish", "userId": "Practitioner/1"},
                    "fhirServer": fhir.base, "fhirAuthorization": {"access_token": "t"}}
            got = prefetch.resolve(service.prefetch, body, prefetch.FetchSettings(deadline_s=10))
            ids = [e["resource"]["id"] for e in (got.data["reports"] or {}).get("entry", [])]
            assert ids == ["fish-local-1"], service_id
    # and the mapper reads the conclusion as KMT2A evidence (what the indication check then sees)
    case = case_from_resources([patient, b_all, _locally_coded_fish_report()], reference_date=date(2026, 11, 29),
                               patient_id="pat-fish")
    assert case.kmt2a.status.value == "rearranged" and case.kmt2a.partner == "AFF1"


def _fish_report_listing_its_result(patient_id: str) -> tuple[dict, dict]:
    """A cytogenetics report with no conclusion and its one result, both under local codes only: the result is
    found by the report's category, never by a LOINC list."""
    report = {"resourceType": "DiagnosticReport", "id": "fish-report-2", "status": "final",
              "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": "2026-10-02",
              "category": [{"coding": [{"system": V2_0074, "code": "CG"}]}],
              "code": {"coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.4455", "code": "FISH-PANEL"}],
                       "text": "Leukemia FISH panel"},
              "result": [{"reference": "Observation/fish-obs-2"}]}
    result = {"resourceType": "Observation", "id": "fish-obs-2", "status": "final",
              "subject": {"reference": f"Patient/{patient_id}"}, "effectiveDateTime": "2026-10-02",
              "code": {"coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.768282", "code": "MLLBA"}],
                       "text": "MLL (KMT2A) break-apart probe"},
              "valueString": "Rearranged: KMT2A::AFF1 fusion, 182/200 nuclei"}
    return report, result


def test_a_result_listed_by_a_report_but_not_sent_is_fetched_by_id_for_every_service():
    patient, b_all = _child_with_b_all()
    report, result = _fish_report_listing_its_result("pat-fish")
    other_patients = {**result, "subject": {"reference": "Patient/someone-else"}}
    services = registry.load(ROOT / "hooks.json", HANDLERS)
    for service_id in ("kmt2a-patient-view", "kmt2a-order-select", "kmt2a-order-sign"):
        with FhirTestServer([patient, b_all, report, result]) as fhir:
            service = services.get(service_id)
            body = {"hook": service.hook, "hookInstance": "a1b2c3d4-0000-4000-8000-000000000002",
                    "context": {"patientId": "pat-fish", "userId": "Practitioner/1"},
                    "fhirServer": fhir.base, "fhirAuthorization": {"access_token": "t"}}
            got = prefetch.resolve(service.prefetch, body, prefetch.FetchSettings(deadline_s=10))
            # no template brings the locally coded result; the follow-up by id does, for this patient only
            assert not any(e["resource"]["id"] == "fish-obs-2" for key, bundle in got.data.items()
                           if key != prefetch.REPORT_RESULTS for e in (bundle or {}).get("entry", []))
            fetched = got.data[prefetch.REPORT_RESULTS]
            assert [e["resource"]["id"] for e in fetched["entry"]] == ["fish-obs-2"], service_id
            follow_up = [r for r in fhir.requests if "_id" in r.query]
            assert len(follow_up) == 1 and follow_up[0].query["patient"] == ["pat-fish"]
            assert follow_up[0].authorization == "Bearer t"
            assert prefetch.REPORT_RESULTS not in got.unavailable
            # the handlers' own reading of the resolved prefetch (hooks.call.case_of), not a copy of it here
            case = case_of(HookCall(service_id, service.hook, body["hookInstance"], body["context"], got.data,
                                    date(2026, 11, 29)))
            assert case.kmt2a.status.value == "rearranged" and case.kmt2a.partner == "AFF1", service_id
    # another patient's resource under the same id is never fetched into this patient's chart
    with FhirTestServer([patient, b_all, report, other_patients]) as fhir:
        body = {"hook": "patient-view", "hookInstance": "a1b2c3d4-0000-4000-8000-000000000003",
                "context": {"patientId": "pat-fish", "userId": "Practitioner/1"},
                "fhirServer": fhir.base, "fhirAuthorization": {"access_token": "t"}}
        got = prefetch.resolve(services.get("kmt2a-patient-view").prefetch, body, prefetch.FetchSettings(deadline_s=10))
        assert "entry" not in got.data[prefetch.REPORT_RESULTS]


def test_a_result_fetched_by_id_reaches_the_assessment_over_http(live_service):
    """The whole path: the EHR sends no prefetch, the service fetches the report and then its locally coded result,
    and the patient-view answer carries the KMT2A rearrangement only that result states."""
    patient, b_all = _child_with_b_all()
    report, result = _fish_report_listing_its_result("pat-fish")
    base = live_service(reference_date=date(2026, 11, 29))
    with FhirTestServer([patient, b_all, report, result]) as fhir:
        body = {"hook": "patient-view", "hookInstance": "a1b2c3d4-0000-4000-8000-000000000005",
                "context": {"patientId": "pat-fish", "userId": "Practitioner/1"}, "fhirServer": fhir.base,
                "fhirAuthorization": {"access_token": "t", "token_type": "Bearer", "expires_in": 300,
                                      "scope": "patient/*.read", "subject": "kmt2a-cds"}}
        response = requests.post(f"{base}/cds-services/kmt2a-patient-view", json=body, timeout=60)
        assert [r for r in fhir.requests if "_id" in r.query], "the result was not fetched by id"
    assert response.status_code == 200, response.text
    (assessment,) = [c["extension"]["org.kmt2a-cds.assessment"] for c in response.json()["cards"]
                     if "org.kmt2a-cds.assessment" in c.get("extension", {})]
    assert (assessment["kmt2a"]["status"], assessment["kmt2a"].get("partner")) == ("rearranged", "AFF1")


def test_report_results_are_not_fetched_without_access_and_named_when_the_fetch_fails():
    report, result = _fish_report_listing_its_result("pat-fish")
    sent = {"hook": "patient-view", "hookInstance": "a1b2c3d4-0000-4000-8000-000000000004",
            "context": {"patientId": "pat-fish", "userId": "Practitioner/1"},
            "prefetch": {"reports": {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": report}]}}}
    templates = {"reports": "DiagnosticReport?patient={{context.patientId}}&category=CG"}
    got = prefetch.resolve(templates, sent, prefetch.FetchSettings(deadline_s=10))
    assert prefetch.REPORT_RESULTS not in got.data and not got.unavailable  # the report itself is still read
    with FhirTestServer([report, result]) as fhir:
        fhir.status_for["Observation"] = 500
        got = prefetch.resolve(templates, sent | {"fhirServer": fhir.base, "fhirAuthorization": {"access_token": "t"}},
                               prefetch.FetchSettings(deadline_s=10))
        assert got.unavailable[prefetch.REPORT_RESULTS] == "the FHIR server answered 500"
    names = knowledge.load("card_policy.json")["patient_view"]["unavailable"]["names"]
    assert names[prefetch.REPORT_RESULTS] == "report results"


def test_missing_report_results_skips_what_the_chart_already_holds():
    report = {"resourceType": "DiagnosticReport", "id": "r1", "result": [
        {"reference": "#contained-1"}, {"reference": "urn:uuid:0b1c"}, {"reference": "Observation/held"},
        {"reference": "https://ehr.example/fhir/Observation/abs-1/_history/3"}, {"reference": "Observation/rel-1"},
        {"reference": "Observation/rel-1"}, {"reference": "Specimen/s1"}, {"display": "no reference"}, "junk"]}
    held = {"resourceType": "Observation", "id": "held"}
    data = {"reports": {"resourceType": "Bundle", "entry": [{"resource": report}]}, "labs": held, "none": None}
    assert prefetch.missing_report_results(data) == ["abs-1", "rel-1"]


def test_a_locally_coded_genetics_result_outside_any_report_is_fetched_by_its_category_for_every_service():
    """A KMT2A FISH result filed as an Observation under a local code, with the Genomics Reporting genetics category
    and no report pointing to it: no LOINC list finds it, the genetics category does, and it is read."""
    patient, b_all = _child_with_b_all()
    fish = {"resourceType": "Observation", "id": "fish-local-obs", "status": "final",
            "subject": {"reference": "Patient/pat-fish"}, "effectiveDateTime": "2026-10-02",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]},
                         {"coding": [{"system": V2_0074, "code": "GE"}]}],
            "code": {"coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.768282", "code": "MLLFISH"}],
                     "text": "MLL gene rearrangement FISH"},
            "valueString": "nuc ish(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[176/200]"}
    services = registry.load(ROOT / "hooks.json", HANDLERS)
    with FhirTestServer([patient, b_all, fish]) as fhir:
        for service_id in ("kmt2a-patient-view", "kmt2a-order-select", "kmt2a-order-sign"):
            service = services.get(service_id)
            body = {"hook": service.hook, "hookInstance": "a1b2c3d4-0000-4000-8000-000000000002",
                    "context": {"patientId": "pat-fish", "userId": "Practitioner/1"},
                    "fhirServer": fhir.base, "fhirAuthorization": {"access_token": "t"}}
            got = prefetch.resolve(service.prefetch, body, prefetch.FetchSettings(deadline_s=10))
            fetched = {k for k, v in got.data.items() for e in (v or {}).get("entry", [])
                       if e["resource"]["id"] == "fish-local-obs"}
            assert fetched == {"geneticsCategory"}, service_id
            sent = [e["resource"] for v in got.data.values() if v for e in v.get("entry", [])]
            case = case_from_resources([patient, *sent], reference_date=date(2026, 11, 29), patient_id="pat-fish")
            assert case.kmt2a.status.value == "rearranged", service_id
