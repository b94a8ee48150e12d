from datetime import date

from fhir_mappings import case_from_bundle, case_from_resources
from tests.mappings.helpers import fixture

REF = date(2025, 6, 1)


def uses(case):
    return {(m.ingredient, m.kind, m.active, m.source.reference) for m in case.medications}


def test_normalised_ingredients_and_activity():
    case = case_from_bundle(fixture("medications.json"), reference_date=REF)
    assert uses(case) == {
        ("etoposide", "statement", False, "MedicationStatement/etop-2021"),
        ("posaconazole", "request", True, "MedicationRequest/posa"),
        ("voriconazole", "request", False, "MedicationRequest/vori-text"),       # brand name in text
        ("revumenib", "request", True, "MedicationRequest/revu"),                # product RxCUI, same-Bundle fullUrl
        ("gemtuzumab ozogamicin", "administration", False, "MedicationAdministration/go-1"),  # contained
        ("posaconazole", "request", False, "MedicationRequest/noxafil-missing"),  # unresolvable ref, display
        ("daunorubicin", "request", False, "MedicationRequest/dauno"),
    }  # fluconazole entered-in-error is gone; the draft blinatumomab is a draft order, not a medication


def test_classes_from_data():
    case = case_from_bundle(fixture("medications.json"), reference_date=REF)
    assert [m.ingredient for m in case.active_medications_in("strong-cyp3a4-inhibitor")] == ["posaconazole"]
    assert {m.ingredient for m in case.exposures_to("topoisomerase-ii-inhibitor")} == {"etoposide", "daunorubicin"}
    assert [m.ingredient for m in case.active_medications_in("menin-inhibitor")] == ["revumenib"]
    assert case.exposures_to("gemtuzumab-ozogamicin")[0].rxnorm == "1294580"


def test_therapy_related_from_prior_topo_ii_not_from_induction():
    case = case_from_bundle(fixture("medications.json"), reference_date=REF)
    assert case.therapy_related is True
    assert [s.reference for s in case.therapy_related_evidence] == ["MedicationStatement/etop-2021"]


def test_draft_in_bundle_becomes_draft_order():
    case = case_from_bundle(fixture("medications.json"), reference_date=REF)
    assert [(d.reference, d.ingredient) for d in case.draft_orders] == [("MedicationRequest/blina-draft", "blinatumomab")]
    assert "cd19-directed" in case.draft_orders[0].classes


def test_no_exposure_means_unknown_not_false():
    case = case_from_resources([{"resourceType": "Patient", "id": "x", "birthDate": "2000-01-01"}], reference_date=REF)
    assert case.therapy_related is None


def test_statement_active_within_period():
    statement = {"resourceType": "MedicationStatement", "id": "s", "status": "active",
                 "medicationCodeableConcept": {"text": "itraconazole 200 mg"}, "subject": {"reference": "Patient/x"},
                 "effectivePeriod": {"start": "2025-05-01", "end": "2025-05-10"}}
    case = case_from_resources([statement], reference_date=REF)
    assert case.medications[0].active is False  # the period ended
    statement["effectivePeriod"] = {"start": "2025-05-01"}
    assert case_from_resources([statement], reference_date=REF).medications[0].active is True


def test_inotuzumab_is_not_cd19():
    req = {"resourceType": "MedicationRequest", "id": "i", "status": "active", "intent": "order",
           "medicationCodeableConcept": {"text": "Besponsa (inotuzumab ozogamicin)"}, "subject": {"reference": "Patient/x"}}
    case = case_from_resources([req], reference_date=REF)
    assert case.medications[0].ingredient == "inotuzumab ozogamicin" and "cd19-directed" not in case.medications[0].classes


def test_etoposide_for_a_prior_all_makes_a_later_aml_therapy_related():
    old_all = {"resourceType": "Condition", "id": "all", "onsetDateTime": "2019-05-01", "subject": {"reference": "Patient/x"},
               "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                              "code": "remission"}]},
               "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C91.01"}]}}
    aml = {"resourceType": "Condition", "id": "aml", "onsetDateTime": "2025-04-01", "subject": {"reference": "Patient/x"},
           "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1157157006"}]}}
    etoposide = {"resourceType": "MedicationAdministration", "id": "e", "status": "completed",
                 "medicationCodeableConcept": {"text": "Etoposide 100 mg/m2 IV"}, "subject": {"reference": "Patient/x"},
                 "effectiveDateTime": "2019-08-10"}
    case = case_from_resources([old_all, aml, etoposide], reference_date=REF)
    assert case.therapy_related is True
    assert [s.reference for s in case.therapy_related_evidence] == ["MedicationAdministration/e"]


def test_teniposide_the_other_epipodophyllotoxin_makes_a_later_aml_therapy_related():
    # VM-26 in the old childhood ALL protocols is the classic cause of 11q23 therapy-related AML
    aml = {"resourceType": "Condition", "id": "aml", "onsetDateTime": "2025-04-01", "subject": {"reference": "Patient/x"},
           "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91861009"}]}}
    vm26 = {"resourceType": "MedicationStatement", "id": "t", "status": "completed",
            "medicationCodeableConcept": {"text": "Teniposide (VM-26) 165 mg/m2"}, "subject": {"reference": "Patient/x"},
            "effectivePeriod": {"start": "2020-02-01", "end": "2020-06-30"}}
    case = case_from_resources([aml, vm26], reference_date=REF)
    assert case.therapy_related is True and case.medications[0].ingredient == "teniposide"


def test_induction_charted_before_the_diagnosis_date_is_not_a_prior_exposure():
    # the AML was recorded on 03-05; its daunorubicin induction began on 03-03; etoposide was given in 2021
    aml = {"resourceType": "Condition", "id": "aml", "recordedDate": "2025-03-05", "subject": {"reference": "Patient/x"},
           "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91861009"}]}}

    def given(rid, drug, when):
        return {"resourceType": "MedicationAdministration", "id": rid, "status": "completed",
                "medicationCodeableConcept": {"text": drug}, "subject": {"reference": "Patient/x"},
                "effectiveDateTime": when}
    induction = given("dauno", "daunorubicin 60 mg/m2", "2025-03-03")
    assert case_from_resources([aml, induction], reference_date=REF).therapy_related is None
    case = case_from_resources([aml, induction, given("etop", "etoposide", "2021-06-01")], reference_date=REF)
    assert [s.reference for s in case.therapy_related_evidence] == ["MedicationAdministration/etop"]


def test_contained_and_top_level_medications_with_the_same_id_are_not_confused():
    top = {"resourceType": "Medication", "id": "m1", "code": {"text": "etoposide"}}
    inner = [{"resourceType": "Medication", "id": "m1", "code": {"text": "posaconazole"}}]
    contained_ref = {"resourceType": "MedicationRequest", "id": "r", "status": "active", "intent": "order",
                     "subject": {"reference": "Patient/x"}, "contained": inner, "medicationReference": {"reference": "#m1"}}
    bundle_ref = {"resourceType": "MedicationStatement", "id": "s", "status": "completed", "subject": {"reference": "Patient/x"},
                  "effectiveDateTime": "2021-01-01", "contained": inner, "medicationReference": {"reference": "Medication/m1"}}
    case = case_from_resources([{"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Bundle", "entry": [{"resource": top}]}}, {"resource": contained_ref},
        {"resource": bundle_ref}]}], reference_date=REF)
    assert {(m.ingredient, m.source.reference) for m in case.medications} == {
        ("posaconazole", "MedicationRequest/r"), ("etoposide", "MedicationStatement/s")}
