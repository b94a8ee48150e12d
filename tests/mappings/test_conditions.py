from datetime import date

import pytest

from fhir_mappings import case_from_bundle, case_from_resources
from fhir_mappings.case import DiseaseStatus, Lineage
from tests.mappings.helpers import condition, fixture, patient

REF = date(2025, 6, 15)
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
SCT = "http://snomed.info/sct"


def test_snomed_b_all_with_age_and_diagnosis_date():
    case = case_from_bundle(fixture("conditions.json"), reference_date=REF)
    assert case.lineage == Lineage.B_ALL
    assert [d.source.reference for d in case.diagnoses] == ["Condition/ball-snomed"]  # error entry dropped
    assert case.diagnosis_date == date(2025, 4, 2)
    assert case.age_days == (REF - date(2025, 1, 10)).days
    assert case.age_at_diagnosis_days == 82
    assert case.disease_status == DiseaseStatus.NEWLY_DIAGNOSED
    assert case.sex == "male"


def test_mcode_relapse_and_11q23_code():
    case = case_from_bundle(fixture("relapsed_aml_mcode.json"), reference_date=REF)
    assert case.lineage == Lineage.AML
    assert case.diagnoses[0].mentions_11q23
    assert case.disease_status == DiseaseStatus.RELAPSED
    assert "Observation/ds1" in {s.reference for s in case.disease_status_evidence}
    assert case.diagnosis_date == date(2024, 9, 12)  # recorded date when there is no onset


@pytest.mark.parametrize("code,lineage,status,q23", [
    ("C91.00", Lineage.ALL, DiseaseStatus.NEWLY_DIAGNOSED, False),
    ("C91.01", Lineage.ALL, DiseaseStatus.IN_REMISSION, False),
    ("C9102", Lineage.ALL, DiseaseStatus.RELAPSED, False),
    ("C92.02", Lineage.AML, DiseaseStatus.RELAPSED, False),
    ("C92.61", Lineage.AML, DiseaseStatus.IN_REMISSION, True),
    ("C93.00", Lineage.AML, DiseaseStatus.NEWLY_DIAGNOSED, False),
    ("C92.A0", Lineage.AML, DiseaseStatus.NEWLY_DIAGNOSED, False),  # multilineage dysplasia: NOT 11q23
])
def test_icd10cm_fifth_character(code, lineage, status, q23):
    case = case_from_resources([patient(), condition("c", [{"system": ICD, "code": code}], onset="2025-01-05")],
                               reference_date=REF)
    assert (case.lineage, case.disease_status, case.diagnoses[0].mentions_11q23) == (lineage, status, q23)


@pytest.mark.parametrize("text,lineage", [
    ("Precursor B-cell acute lymphoblastic leukemia", Lineage.B_ALL),
    ("T-ALL", Lineage.T_ALL),
    ("Mixed phenotype acute leukemia, B/myeloid", Lineage.MPAL),
    ("Acute monoblastic leukaemia (FAB M5)", Lineage.AML),
    ("Acute lymphoblastic leukemia", Lineage.ALL),
])
def test_text_only_conditions(text, lineage):
    c = condition("c", [], text=text)
    case = case_from_resources([patient(), c], reference_date=REF)
    assert case.lineage == lineage


def test_text_refines_but_never_contradicts_a_code():
    refine = condition("c", [{"system": SCT, "code": "91857003"}], text="Pre-B ALL")
    contradict = condition("d", [{"system": SCT, "code": "91861009"}], text="B-ALL (entered on wrong code)")
    assert case_from_resources([refine], reference_date=REF).lineage == Lineage.B_ALL
    assert case_from_resources([contradict], reference_date=REF).lineage == Lineage.AML


def test_icd_o3_morphology_and_therapy_related():
    c = condition("c", [{"system": "http://terminology.hl7.org/CodeSystem/icd-o-3", "code": "9920/3"}])
    t = condition("t", [{"system": ICD, "code": "C92.00"}], text="Therapy-related AML after etoposide")
    case = case_from_resources([c, t], reference_date=REF)
    assert all(d.therapy_related for d in case.diagnoses)
    mpal = condition("m", [{"system": "urn:oid:2.16.840.1.113883.6.43.1", "code": "9807/3"}])
    assert case_from_resources([mpal], reference_date=REF).diagnoses[0].mentions_11q23
    bcr_abl1 = condition("m", [{"system": "urn:oid:2.16.840.1.113883.6.43.1", "code": "M9806/3"}])  # t(9;22), not 11q23
    d = case_from_resources([bcr_abl1], reference_date=REF).diagnoses[0]
    assert (d.lineage, d.mentions_11q23) == (Lineage.MPAL, False)


def test_refractory_text_and_non_leukemia_ignored():
    c = condition("c", [{"system": ICD, "code": "C92.00"}], text="AML, primary refractory")
    other = condition("x", [{"system": SCT, "code": "38341003"}], text="Hypertension")
    case = case_from_resources([c, other], reference_date=REF)
    assert case.disease_status == DiseaseStatus.REFRACTORY
    assert len(case.diagnoses) == 1


def test_lineage_switch_latest_diagnosis_is_current():
    ball = condition("b", [{"system": SCT, "code": "277571004"}], onset="2024-01-10")
    aml = condition("a", [{"system": SCT, "code": "91861009"}], onset="2025-02-01", text="AML after blinatumomab")
    case = case_from_resources([aml, ball], reference_date=REF)
    assert case.lineage == Lineage.AML
    assert case.diagnosis_date == date(2025, 2, 1)  # the current (AML) diagnosis dates the case


def test_resources_of_another_patient_are_ignored():
    mine = condition("c", [{"system": ICD, "code": "C91.00"}], pid="p1")
    theirs = condition("d", [{"system": ICD, "code": "C92.00"}], pid="p2")
    case = case_from_resources([patient("p1"), mine, theirs], reference_date=REF, patient_id="p1")
    assert case.lineage == Lineage.ALL and len(case.diagnoses) == 1
    assert any("another patient" in p.message for p in case.problems)
    assert all("p2" not in p.message for p in case.problems)


def test_partial_birth_date_gives_no_age():
    case = case_from_resources([patient(birth="1961")], reference_date=REF)
    assert case.age_days is None and case.birth_date is None
    assert any("birthDate" in p.message for p in case.problems)


def test_prior_all_in_remission_does_not_set_status_of_new_aml():
    old_all = condition("all", [{"system": ICD, "code": "C91.01"}], onset="2019-05-01", clinical="remission")
    new_aml = condition("aml", [{"system": ICD, "code": "C92.00"}], onset="2025-04-01", text="Therapy-related AML")
    case = case_from_resources([old_all, new_aml], reference_date=REF)
    assert (case.lineage, case.disease_status) == (Lineage.AML, DiseaseStatus.NEWLY_DIAGNOSED)
    assert case.therapy_related is True and case.diagnosis_date == date(2025, 4, 1)


@pytest.mark.parametrize("text,status", [
    ("ALL not in remission", DiseaseStatus.UNKNOWN),
    ("B-ALL, not in CR after induction", DiseaseStatus.UNKNOWN),
    ("ALL in complete remission", DiseaseStatus.IN_REMISSION),
    ("B-ALL in CR1", DiseaseStatus.IN_REMISSION),
])
def test_remission_words_read_with_their_negation(text, status):
    all_ = condition("c", [{"system": SCT, "code": "91857003"}], text=text, clinical=None)
    assert case_from_resources([all_], reference_date=REF).disease_status == status


def test_a_condition_that_says_nothing_about_status_is_not_assumed_newly_diagnosed():
    # no clinicalStatus, no ICD fifth character, no words: it may as well be a relapse
    silent = condition("c", [{"system": SCT, "code": "91861009"}], clinical=None)
    assert case_from_resources([silent], reference_date=REF).disease_status == DiseaseStatus.UNKNOWN
    active = condition("c", [{"system": SCT, "code": "91861009"}], clinical="active")
    assert case_from_resources([active], reference_date=REF).disease_status == DiseaseStatus.NEWLY_DIAGNOSED
