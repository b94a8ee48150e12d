from datetime import date

import pytest

from fhir_mappings import case_from_hook_request
from tests.mappings.helpers import fixture, sandbox_body

REF = date(2026, 11, 21)


def test_order_sign_drafts_with_doses_and_frequencies():
    case = case_from_hook_request(fixture("order_sign_revumenib.json"), reference_date=REF)
    orders = {d.reference: d for d in case.draft_orders}
    revu = orders["MedicationRequest/revu-order"]
    assert (revu.ingredient, revu.dose.value, revu.dose.unit, revu.dose.frequency, revu.dose.doses_per_day) == (
        "revumenib", 95, "mg/m2", "q12h", 2)
    assert "menin-inhibitor" in revu.classes and revu.selected
    assert revu.resource["category"] == {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                                                     "code": "outpatient"}]}  # raw JSON kept as sent
    posa = orders["MedicationRequest/posa-order"]  # contained Medication, brand name, no intent
    assert (posa.ingredient, posa.dose.value, posa.dose.unit, posa.dose.frequency) == ("posaconazole", 300, "mg", "daily")
    go = orders["MedicationRequest/go-order"]
    assert (go.ingredient, go.dose.frequency, go.dose.doses_per_day) == ("gemtuzumab ozogamicin", "q12h", 2)
    assert [m.ingredient for m in case.active_medications_in("strong-cyp3a4-inhibitor")] == ["voriconazole"]
    assert any("OperationOutcome" in p.message for p in case.problems)


def test_sandbox_order_select_empty_order():
    case = case_from_hook_request(sandbox_body("order-select-1.json"), reference_date=REF)
    [order] = case.draft_orders
    assert (order.reference, order.ingredient, order.dose, order.selected) == ("MedicationRequest/request-123", None, None, True)


@pytest.mark.parametrize("name", ["order-select-3.json", "order-sign.json"])
def test_sandbox_quirks_single_objects(name):
    case = case_from_hook_request(sandbox_body(name), reference_date=REF)
    [order] = case.draft_orders
    assert order.text.startswith("Lisinopril") and order.ingredient is None  # not a drug our checks know
    # "1 {pill}" of a "10 MG Oral Tablet" product is typed as 10 mg, made of one tablet (issue 9)
    assert order.dose.unit == "mg" and order.dose.unit_form == "tablet"
    assert order.dose.value == order.dose.units * order.product_strength_mg
    assert isinstance(order.resource["category"], dict)  # the raw order is kept exactly as sent
    assert not any("skipped" in p.message for p in case.problems)


def test_quirk_in_an_element_we_read_is_repaired_and_reported():
    body = fixture("order_sign_revumenib.json")
    revu = body["context"]["draftOrders"]["entry"][1]["resource"]
    revu["dosageInstruction"] = revu["dosageInstruction"][0]  # a single object where an array belongs
    case = case_from_hook_request(body, reference_date=REF)
    order = next(d for d in case.draft_orders if d.reference == "MedicationRequest/revu-order")
    assert (order.dose.value, order.dose.unit, order.dose.frequency) == (95, "mg/m2", "q12h")
    assert any("leniently" in p.message and "dosageInstruction" in p.message for p in case.problems)


def test_invalid_draft_keeps_its_drug_but_not_its_dose_with_a_problem():
    # Still a prescription: the checks must be able to say "could not be read" instead of nothing.
    body = fixture("order_sign_revumenib.json")
    body["context"]["draftOrders"]["entry"][3]["resource"]["authoredOn"] = "last tuesday"
    case = case_from_hook_request(body, reference_date=REF)
    (order,) = [d for d in case.draft_orders if d.reference == "MedicationRequest/go-order"]
    assert order.ingredient == "gemtuzumab ozogamicin" and order.unreadable and order.dose is None
    assert all(d.unreadable is None for d in case.draft_orders if d is not order)
    assert any(p.reference == "MedicationRequest/go-order" and "authoredOn" in p.message for p in case.problems)


def test_selections_mark_orders():
    body = fixture("order_sign_revumenib.json")
    body["context"]["selections"] = ["MedicationRequest/go-order"]
    case = case_from_hook_request(body, reference_date=REF)
    assert {d.reference for d in case.draft_orders if d.selected} == {"MedicationRequest/go-order"}


@pytest.mark.parametrize("selection", ["https://ehr.example/fhir/MedicationRequest/go-order/_history/2", "go-order"])
def test_a_selection_written_absolute_versioned_or_bare_marks_its_order(selection):
    # read as order-select's own filter reads it (per_call.selected_orders): "_history/2" is a version, not the id
    body = fixture("order_sign_revumenib.json")
    body["context"]["selections"] = [selection]
    case = case_from_hook_request(body, reference_date=REF)
    assert {d.reference for d in case.draft_orders if d.selected} == {"MedicationRequest/go-order"}


def test_draft_medication_found_among_the_other_resources_and_not_doubled():
    from fhir_mappings import case_from_resources
    order = {"resourceType": "MedicationRequest", "id": "d1", "status": "draft", "intent": "order",
             "subject": {"reference": "Patient/r1"}, "medicationReference": {"reference": "Medication/zif"},
             "dosageInstruction": [{"timing": {"code": {"coding": [{"code": "QD"}]}},
                                    "doseAndRate": [{"doseQuantity": {"value": 10, "code": "mg/kg",
                                                                      "system": "http://unitsofmeasure.org"}}]}]}
    medication = {"resourceType": "Medication", "id": "zif", "code": {"text": "Komzifti 200 mg capsule"}}
    drafts = {"resourceType": "Bundle", "entry": [{"resource": order}]}
    case = case_from_resources([medication, order], reference_date=REF, draft_orders=drafts)
    [draft] = case.draft_orders
    assert (draft.ingredient, draft.dose.value, draft.dose.unit, draft.dose.frequency) == ("ziftomenib", 10, "mg/kg", "daily")
    assert case.medications == ()  # a draft is not a current medication
