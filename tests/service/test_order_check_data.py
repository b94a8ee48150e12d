"""The order checks see what they need, and name what they could not see.

Transplant history: every service prefetches the patient's Procedures.

A haematopoietic stem cell transplant is usually recorded as a Procedure, under SNOMED, CPT, ICD-10-PCS, HCPCS or
a local code with only its text; gemtuzumab ozogamicin's VOD/SOS risk is higher after one (label, section 5.1).
So the template asks for every Procedure (a code list would drop the locally coded ones), the fetch path brings
them when the EHR sent none, and a FHIR server that will not give them does not fail the call: the card says the
transplant history could not be read. The order checks also name the other data they need and did not find: a
blood count and an age for gemtuzumab ozogamicin, the medication list for a CYP3A4 inhibitor given to a patient
whose leukemia revumenib treats.
All over real HTTP, with the EHR's FHIR server a loopback test server.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import requests

from cds_service import knowledge
from cds_service.orders import per_call
from bench.chart import kmt2a_mllt3_variant
from tests.support.fhir_server import FhirTestServer

ROOT = Path(__file__).resolve().parents[2]
PATIENT = "pat-go"
TODAY = date(2026, 11, 21)
LOINC, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
GO = knowledge.load("gemtuzumab_ozogamicin.json")
VIAL = GO["vial_mg"]["value"]
TOKEN = {"access_token": "t", "token_type": "Bearer", "expires_in": 300, "scope": "patient/*.read",
         "subject": "kmt2a-cds"}
SERVICES = ("kmt2a-patient-view", "kmt2a-order-select", "kmt2a-order-sign")


def _of_patient(resource: dict) -> dict:
    return {**resource, "subject": {"reference": f"Patient/{PATIENT}"}}


def _quantity(oid: str, code: str, value: float, unit: str, when: str = "2026-11-19") -> dict:
    return _of_patient({"resourceType": "Observation", "id": oid, "status": "final", "effectiveDateTime": when,
                        "code": {"coding": [{"system": LOINC, "code": code}]},
                        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}})


def _chart(*, wbc: bool = True) -> list[dict]:
    """An adult with CD33-positive AML, weighed and measured, with a recent blood count."""
    chart = [{"resourceType": "Patient", "id": PATIENT, "birthDate": "1981-05-02"},
             _of_patient({"resourceType": "Condition", "id": "aml", "onsetDateTime": "2026-10-30",
                          "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91861009"}],
                                   "text": "Acute myeloid leukemia"}}),
             _of_patient({"resourceType": "Observation", "id": "cd33", "status": "final",
                          "effectiveDateTime": "2026-10-31", "code": {"text": "CD33 on blasts (flow cytometry)"},
                          "valueQuantity": {"value": 92, "unit": "%", "system": UCUM, "code": "%"}}),
             _quantity("wt", "29463-7", 70, "kg"), _quantity("ht", "8302-2", 175, "cm")]
    return chart + ([_quantity("wbc", "6690-2", 4.2, "10*3/uL")] if wbc else [])


def _local_transplant() -> dict:
    """How many EHRs record it: a local procedure code, the words in its text, no standard code at all."""
    return _of_patient({"resourceType": "Procedure", "id": "sct-1", "status": "completed",
                        "performedDateTime": "2026-03-02",
                        "code": {"coding": [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.2.696580", "code": "BMT-77"}],
                                 "text": "Allo-HSCT (matched unrelated donor)"}})


def _go_order() -> dict:
    order = {"resourceType": "MedicationRequest", "id": "go-1", "status": "draft", "intent": "order",
             "subject": {"reference": f"Patient/{PATIENT}"}, "authoredOn": TODAY.isoformat(),
             "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                       "code": "1294580", "display": "gemtuzumab ozogamicin"}]},
             "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": VIAL, "unit": "mg", "system": UCUM,
                                                                      "code": "mg"}}]}]}
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": order}]}


def _sent(chart: list[dict]) -> dict:
    """What the EHR sends for the keys it fills itself: the patient and one Bundle with the rest of the chart
    (the CD33 flow result carries only local words, so only an EHR that volunteers it brings it)."""
    return {"patient": chart[0], "labs": {"resourceType": "Bundle", "type": "searchset",
                                          "entry": [{"resource": r} for r in chart[1:]]}}


def _call(base: str, hook: str, number: int, orders: dict | None = None, **body) -> requests.Response:
    context = {"patientId": PATIENT, "userId": "Practitioner/1"}
    if hook != "patient-view":
        context["draftOrders"] = orders or _go_order()
    if hook == "order-select":
        context["selections"] = [f"MedicationRequest/{e['resource']['id']}" for e in context["draftOrders"]["entry"]]
    payload = {"hook": hook, "hookInstance": f"7c1e0a52-0000-4000-8000-{number:012d}", "context": context, **body}
    return requests.post(f"{base}/cds-services/kmt2a-{hook}", json=payload, timeout=60)


def _order_check(response: requests.Response) -> tuple[dict, dict]:
    assert response.status_code == 200, response.text
    (card,) = response.json()["cards"]
    return card, card["extension"]["org.kmt2a-cds.order-check"]


def test_every_service_asks_for_every_procedure_of_the_patient(live_service):
    """Discovery: a plain patient search, no code list (transplants carry local codes), for all three hooks."""
    document = requests.get(live_service() + "/cds-services", timeout=30).json()
    asked = {s["id"]: s["prefetch"].get("procedures") for s in document["services"]}
    assert asked == {service: "Procedure?patient={{context.patientId}}" for service in SERVICES}


def test_a_locally_coded_transplant_procedure_reaches_the_gemtuzumab_check_at_signature(live_service):
    base = live_service(reference_date=TODAY)
    access = {"fhirServer": None, "fhirAuthorization": TOKEN, "prefetch": _sent(_chart())}
    with FhirTestServer(_chart()) as fhir:  # no transplant on record: nothing to act on at signature
        response = _call(base, "order-sign", 1, **access | {"fhirServer": fhir.base})
        assert response.status_code == 200 and response.json()["cards"] == [], response.text
    with FhirTestServer([*_chart(), _local_transplant()]) as fhir:  # the EHR left the Procedures to us
        card, check = _order_check(_call(base, "order-sign", 2, **access | {"fhirServer": fhir.base}))
        (search,) = [r for r in fhir.requests if r.path == "/fhir/Procedure"]
    assert search.query == {"patient": [PATIENT]} and search.authorization == "Bearer t"
    assert card["indicator"] == "warning" and "transplant" in card["summary"]
    assert "vod-risk-prior-hsct" in check["reasons"] and check["verdict"] == "ok"
    assert "2 Mar 2026" in card["detail"] and "VOD" in card["detail"]


@pytest.mark.parametrize("refusal", ["status", "operation-outcome"])
def test_a_server_that_refuses_procedures_does_not_fail_the_call_and_the_card_names_it(live_service, refusal):
    base = live_service(reference_date=TODAY)
    with FhirTestServer([*_chart(), _local_transplant()]) as fhir:
        if refusal == "status":
            fhir.status_for["Procedure"] = 403
        else:
            fhir.outcome_for.add("Procedure")
        access = {"fhirServer": fhir.base, "fhirAuthorization": TOKEN, "prefetch": _sent(_chart())}
        card, check = _order_check(_call(base, "order-sign", 3, **access))
        view = _call(base, "patient-view", 4, **access)
        # with a KMT2A::MLLT3 result the assessment advises discussing a transplant in first remission
        rearranged = [*_chart(), kmt2a_mllt3_variant("fusion-1", PATIENT, "2026-10-31", [])]
        advised = _call(base, "patient-view", 7, **access | {"prefetch": _sent(rearranged)})
    # "no transplant" is not known: a warning before signature, never the quiet boxed-warning line
    assert card["indicator"] == "warning" and "transplant history could not be read" in card["summary"]
    assert "transplant-history" in check["missingData"] and "procedures could not be read" in card["detail"]
    names = knowledge.load("card_policy.json")["patient_view"]["unavailable"]["names"]
    unread_line = f"Could not read {names['procedures']}"
    # patient-view names the unread transplant history beside the advice that rests on it, and nowhere else
    assert view.status_code == 200 and advised.status_code == 200, (view.text, advised.text)
    assert unread_line not in json.dumps(view.json()["cards"])
    assessment = advised.json()["cards"][0]
    assert "first remission" in assessment["detail"] and unread_line in assessment["detail"]


def test_procedures_the_ehr_did_not_send_and_cannot_be_fetched_are_named(live_service):
    """Sent prefetch without the procedures key and no FHIR access: the same naming, from the prefetch path."""
    base = live_service(reference_date=TODAY)
    prefetch = _sent(_chart())
    card, check = _order_check(_call(base, "order-select", 5, prefetch=prefetch))
    assert "transplant-history" in check["missingData"] and card["indicator"] == "warning"
    # sent, and empty: the EHR searched and found none, so nothing is asked
    card, check = _order_check(_call(base, "order-select", 6, prefetch=prefetch | {
        "procedures": {"resourceType": "Bundle", "type": "searchset", "total": 0}}))
    assert "transplant-history" not in check.get("missingData", []) and card["indicator"] == "info"


def test_a_gemtuzumab_order_names_a_missing_blood_count_and_age(live_service):
    """Hyperleukocytosis (cytoreduce first) cannot be ruled out without a WBC, nor the label's age limits and
    adult or child regimen without an age: both named, not passed over."""
    base = live_service(reference_date=TODAY)
    chart = _chart(wbc=False)
    none = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    prefetch = _sent(chart) | {"patient": None, "procedures": none}
    card, check = _order_check(_call(base, "order-select", 7, prefetch=prefetch))
    assert {"wbc", "age"} <= set(check["missingData"]) and card["indicator"] == "warning"
    assert "No WBC on record" in card["detail"] and "Age not on record" in card["detail"]
    card, check = _order_check(_call(base, "order-sign", 8, prefetch=prefetch))  # before signature too
    assert card["indicator"] == "warning" and "WBC" in card["summary"]
    # with both on record, neither is asked for
    with_both = _sent(_chart()) | {"procedures": none}
    card, check = _order_check(_call(base, "order-select", 9, prefetch=with_both))
    assert not {"wbc", "age"} & set(check.get("missingData", [])), check


def test_unread_prefetch_keys_become_the_data_they_may_hold():
    unread_data = per_call.unread_data
    assert unread_data(["procedures"]) == {"transplant-history"}
    assert "medications" in unread_data(["medicationStatements"]) and unread_data([]) == frozenset()
    assert {"weight", "height"} <= unread_data(["vitals"])


def test_the_order_services_ask_for_the_resources_their_checks_read():
    """Every resource type the order checks read a Case field from is searched by both order services: Patient
    (age), Condition (lineage, disease status, transplant status), Procedure (transplants), Observation (KMT2A, CD33,
    WBC, electrolytes, QTc, weight and height), DiagnosticReport (KMT2A in reports), the medication resources
    (strong CYP3A4 inhibitors, on treatment)."""
    services = {s["id"]: s for s in json.loads((ROOT / "hooks.json").read_text())["services"]}
    needed = {"Patient", "Condition", "Procedure", "Observation", "DiagnosticReport", "MedicationRequest",
              "MedicationStatement", "MedicationAdministration"}
    for service_id in ("kmt2a-order-select", "kmt2a-order-sign"):
        types = {template.split("?")[0].split("/")[0] for template in services[service_id]["prefetch"].values()}
        assert needed <= types, f"{service_id} does not ask for {sorted(needed - types)}"


@pytest.mark.parametrize("unread", ["MedicationRequest", "MedicationStatement", "MedicationAdministration"])
def test_an_azole_for_a_kmt2a_patient_whose_medication_list_could_not_be_read_asks_about_revumenib(live_service,
                                                                                                 unread):
    """Revumenib's dose must be lowered with a strong CYP3A4 inhibitor: when the list that would show revumenib
    could not be read, a posaconazole order for a patient with KMT2A-rearranged AML asks first. The MAR alone
    (what was given on the ward) does not hide a revumenib prescription: without it the order is not asked about."""
    base = live_service(reference_date=TODAY)
    chart = [*_chart(), kmt2a_mllt3_variant("fusion-1", PATIENT, "2026-10-31", [])]
    posaconazole = {"resourceType": "MedicationRequest", "id": "posa-1", "status": "draft", "intent": "order",
                    "subject": {"reference": f"Patient/{PATIENT}"},
                    "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                              "code": "282446"}],
                                                  "text": "posaconazole 100 MG Delayed Release Oral Tablet"},
                    "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 300, "unit": "mg",
                                                                             "system": UCUM, "code": "mg"}}]}]}
    orders = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": posaconazole}]}
    none = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    read = {key: none for key in ("medicationRequests", "medicationStatements", "medicationAdministrations")}
    response = _call(base, "order-sign", 10, orders=orders, prefetch=_sent(chart) | read)
    assert response.status_code == 200 and response.json()["cards"] == [], response.text  # read: no revumenib
    with FhirTestServer(chart) as fhir:
        fhir.status_for[unread] = 500  # a part of the list the EHR left to us cannot be had
        response = _call(base, "order-sign", 11, orders=orders, prefetch=_sent(chart), fhirServer=fhir.base,
                         fhirAuthorization=TOKEN)
    if unread == "MedicationAdministration":
        assert response.status_code == 200 and response.json()["cards"] == [], response.text
        return
    card, check = _order_check(response)
    assert card["indicator"] == "warning" and "revumenib" in card["summary"]
    assert check["verdict"] == "cannot-check" and "medications" in check["missingData"]
    assert "medication list could not be read" in card["detail"]


def test_a_revumenib_order_names_an_unread_administration_record(live_service):
    """An inpatient azole may be on the MAR only: when MedicationAdministration cannot be searched, the revumenib
    order does not assume 'no strong CYP3A4 inhibitor' (the label dose it would confirm may be the unreduced one)."""
    sandbox = json.loads((ROOT / "tests" / "fixtures" / "orders" / "sandbox-order-sign-revumenib-adult.json").read_text())
    base = live_service(reference_date=TODAY)
    with FhirTestServer([]) as fhir:  # the EHR sent the chart; the medication lists are left to us
        body = {**sandbox, "fhirServer": fhir.base, "fhirAuthorization": TOKEN}
        assert requests.post(f"{base}/cds-services/kmt2a-order-sign", json=body, timeout=60).json()["cards"] == []
        fhir.status_for["MedicationAdministration"] = 403
        body["hookInstance"] = "7c1e0a52-0000-4000-8000-000000000099"
        card, check = _order_check(requests.post(f"{base}/cds-services/kmt2a-order-sign", json=body, timeout=60))
    assert check["medication"] == "revumenib" and "medications" in check["missingData"]
    assert card["indicator"] == "warning"


def test_patient_view_takes_back_first_remission_transplant_advice_once_the_transplant_is_on_record(live_service):
    """The Procedures also reach the risk assessment: an adult with KMT2A::MLLT3 AML is told to discuss a transplant
    in first remission until a transplant after the diagnosis is on record; then that advice is not repeated."""
    base = live_service(reference_date=TODAY)
    chart = [*_chart(), kmt2a_mllt3_variant("fusion-1", PATIENT, "2026-10-31", [])]
    transplant = {**_local_transplant(), "performedDateTime": "2026-11-12"}  # after the 30 Oct 2026 diagnosis

    def words(procedures: list[dict], number: int) -> str:
        bundle = {"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": r} for r in procedures]}
        response = _call(base, "patient-view", number, prefetch=_sent(chart) | {"procedures": bundle})
        assert response.status_code == 200, response.text
        return json.dumps([(c["summary"], c.get("detail", "")) for c in response.json()["cards"]])

    assert "HSCT" in words([], 20) and "first remission" in words([], 21)
    after = words([transplant], 22)
    assert "first remission" not in after and "KMT2A" in after  # the assessment card itself is still there


def test_the_unread_transplant_history_is_named_beside_exactly_the_advice_a_transplant_takes_back():
    """card_policy.json names the Procedures beside the advice rules.json flags after_transplant: one list, kept
    in step, so no new transplant advice is shown without its unread-history warning."""
    from cds_service.stratification import kb
    beside = knowledge.load("card_policy.json")["patient_view"]["unavailable"]["named_only_beside"]["procedures"]
    assert set(beside) == set(kb.considerations_flagged("after_transplant", "withdraw"))


def test_unread_genetics_by_category_is_named_only_when_the_kmt2a_result_is_missing(live_service):
    """An EHR configured before the geneticsCategory key was declared does not send it: the card names it as
    unread only when what it may hold (the KMT2A result) is missing, not on every KMT2A card."""
    base = live_service(reference_date=TODAY)
    name = knowledge.load("card_policy.json")["patient_view"]["unavailable"]["names"]["geneticsCategory"]
    rearranged = [*_chart(), kmt2a_mllt3_variant("fusion-1", PATIENT, "2026-10-31", [])]
    known = _call(base, "patient-view", 30, prefetch=_sent(rearranged))
    unknown = _call(base, "patient-view", 31, prefetch=_sent(_chart()))
    assert known.status_code == 200 and unknown.status_code == 200, (known.text, unknown.text)
    assert "KMT2A::MLLT3" in json.dumps(known.json()["cards"]) and name not in json.dumps(known.json()["cards"])
    assert name in json.dumps(unknown.json()["cards"])
