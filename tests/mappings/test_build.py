"""The entry points: Bundles of any type, CDS Hooks prefetch, and the large prefetch used by the benchmark."""

import copy
import json
from datetime import date

import pytest

from fhir_mappings import case_from_bundle, case_from_hook_request, case_from_resources
from cds_service.stratification.facts import mrd_positive
from fhir_mappings.case import Kmt2aStatus, Lineage
from tests.fixtures.fhir.large_prefetch import make_large_prefetch
from tests.mappings.helpers import fixture, sandbox_body

REF = date(2025, 6, 1)


def _entries():
    return fixture("gr_fusion_kmt2a_aff1.json")["entry"]


@pytest.mark.parametrize("bundle_type", ["searchset", "collection", "transaction", "batch", "document", "message",
                                         "transaction-response", None])
def test_bundle_of_any_type(bundle_type):
    bundle = {"resourceType": "Bundle", "entry": copy.deepcopy(_entries())}
    if bundle_type:
        bundle["type"] = bundle_type
    case = case_from_bundle(bundle, reference_date=REF)
    assert (case.kmt2a.status, case.kmt2a.partner, case.sex) == (Kmt2aStatus.REARRANGED, "AFF1", "female")


def test_nested_and_typeless_bundles():
    inner = {"resourceType": "Bundle", "type": "searchset", "entry": copy.deepcopy(_entries())}
    outer = {"entry": [{"resource": inner}, {"resource": {"entry": [{"resource": fixture("conditions.json")}]}}]}
    case = case_from_bundle(outer, reference_date=REF)
    assert case.kmt2a.partner == "AFF1" and case.lineage == Lineage.B_ALL


def test_sandbox_patient_view_prefetch():
    case = case_from_hook_request(sandbox_body("patient-view.json"), reference_date=date(2026, 11, 21))
    assert (case.patient_id, case.sex, case.birth_date) == ("pat-1", "female", date(1961, 4, 12))
    assert case.age_days == (date(2026, 11, 21) - date(1961, 4, 12)).days
    assert case.diagnoses == () and case.lineage == Lineage.UNKNOWN  # diabetes and hypertension are not leukemia
    assert case.kmt2a.status == Kmt2aStatus.UNKNOWN


def test_prefetch_argument_overrides_and_tolerates_none_and_outcomes():
    body = sandbox_body("patient-view.json")
    prefetch = {"patient": body["prefetch"]["patient"], "conditions": None,
                "labs": {"resourceType": "OperationOutcome", "issue": []}}
    case = case_from_hook_request(body, reference_date=REF, prefetch=prefetch)
    assert case.sex == "female" and any("OperationOutcome" in p.message for p in case.problems)


def test_problems_never_carry_patient_identifiers():
    body = fixture("order_sign_revumenib.json")
    body["prefetch"]["other"] = {"resourceType": "Condition", "id": "c-x", "code": {"text": "AML"},
                                 "subject": {"reference": "Patient/SOMEONE-ELSE-123"}}
    case = case_from_hook_request(body, reference_date=REF)
    text = json.dumps([p.__dict__ for p in case.problems])
    assert "another patient" in text
    assert "SOMEONE-ELSE-123" not in text and "Patient/" not in text


def test_one_broken_resource_does_not_spoil_the_rest():
    good = fixture("gr_fusion_kmt2a_aff1.json")
    broken = {"resourceType": "Observation", "id": "bad", "status": "final",
              "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
              "effectiveDateTime": "2025-03-01", "valueQuantity": {"value": "high", "code": "10*3/uL"}}
    case = case_from_resources([good, broken], reference_date=REF)
    assert case.kmt2a.partner == "AFF1" and case.wbc_latest is None


def test_invalid_picked_lab_falls_back_to_the_next_valid_one():
    base = {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]}}
    old = dict(base, id="w-old", effectiveDateTime="2025-01-01", valueQuantity={"value": 30, "code": "kg", "system": "http://unitsofmeasure.org"})
    new = dict(base, id="w-new", effectiveDateTime="2025-05-01", valueQuantity={"value": 31, "code": "kg", "system": "http://unitsofmeasure.org"},
               subject={"reference": 42})  # not a string: fails validation
    case = case_from_resources([old, new], reference_date=REF)
    assert case.weight.source.reference == "Observation/w-old"
    assert any(p.reference == "Observation/w-new" for p in case.problems)


def test_large_prefetch_shape_and_content():
    prefetch = make_large_prefetch()
    size = len(json.dumps(prefetch))
    count = sum(len(v["entry"]) if v.get("resourceType") == "Bundle" else 1 for v in prefetch.values())
    assert 130_000 <= size <= 200_000 and 90 <= count <= 120
    case = case_from_hook_request({"context": {"patientId": "bench-1"}, "prefetch": prefetch}, reference_date=REF)
    assert (case.kmt2a.status, case.kmt2a.partner, case.lineage) == (Kmt2aStatus.REARRANGED, "MLLT3", Lineage.AML)
    assert case.wbc_at_diagnosis.value == pytest.approx(48.2) and case.qtc.method == "QTcF"
    assert mrd_positive(case.mrd_end_of_induction) is True and case.therapy_related is True
    assert case.karyotype.aberrations == ("+8", "t(9;11)(p21.3;q23.3)")
    # the NPM1 result shares code 69548-6 and date with the KMT2A fusion: a second result, not a duplicate
    assert [(f.gene, f.present) for f in case.finding("NPM1")] == [("NPM1", False)]
    assert case.problems == ()
