"""The corrected MedicationRequest of an update action is valid R4 (fhir.resources R4B), same id, only the dose changed."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from fhir.resources.R4B.medicationrequest import MedicationRequest
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.orders.correction import corrected_order, normalise_r4
from tests.support import sandbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "orders"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def draft_resource(request: dict, resource_type: str = "MedicationRequest") -> dict:
    return next(e["resource"] for e in request["context"]["draftOrders"]["entry"]
                if e["resource"]["resourceType"] == resource_type)


def dose_of(resource: dict) -> dict:
    return resource["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]


def assert_valid_r4(resource: dict) -> MedicationRequest:
    model = MedicationRequest.model_validate(resource)
    assert model.id == resource["id"]
    return model


def test_sandbox_draft_is_not_r4_but_its_correction_is():
    original = draft_resource(sandbox.raw("order-select-4")["body"])
    assert isinstance(original["category"], dict) and isinstance(original["reasonCode"], dict)
    fixed, changes = corrected_order(original, 160, "mg", "q12h")
    assert fixed is not None
    assert_valid_r4(fixed)
    assert fixed["category"] == [original["category"]] and fixed["reasonCode"] == [original["reasonCode"]]
    assert any(c.startswith("category written as a list") for c in changes)
    assert any(c.startswith("reasonCode written as a list") for c in changes)
    assert dose_of(fixed) == {"value": 160, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}
    assert original["category"] == fixed["category"][0]  # the input was not modified


def test_missing_intent_is_added_and_said():
    original = draft_resource(fixture("sandbox-order-sign-revumenib-adult.json"))
    assert "intent" not in original
    fixed, changes = corrected_order(original, 160, "mg")
    assert_valid_r4(fixed)
    assert fixed["intent"] == "order" and any(c.startswith('intent "order" added') for c in changes)
    # the schedule was right: timing untouched
    assert fixed["dosageInstruction"][0]["timing"] == original["dosageInstruction"][0]["timing"]


def test_epic_order_keeps_medication_reference_and_drops_the_contradicting_tablet_amount():
    original = draft_resource(fixture("epic-order-select-revumenib-child.json"))
    fixed, changes = corrected_order(original, 95, "mg/m2")
    assert_valid_r4(fixed)
    assert fixed["medicationReference"] == original["medicationReference"]
    assert [r["doseQuantity"]["code"] for r in fixed["dosageInstruction"][0]["doseAndRate"]] == ["mg/m2"]
    assert any(c.startswith("the other stated dose amount") for c in changes)
    assert fixed["dosageInstruction"][0]["timing"]["code"]["coding"][0]["code"] == "BID"


def test_wrong_schedule_is_replaced_by_every_12_hours():
    original = draft_resource(sandbox.raw("order-sign")["body"])  # once daily
    fixed, _ = corrected_order(original, 270, "mg", "q12h")
    assert_valid_r4(fixed)
    assert fixed["dosageInstruction"][0]["timing"]["repeat"] == {"frequency": 1, "period": 12, "periodUnit": "h"}


def test_an_order_that_cannot_become_r4_gets_no_correction():
    broken = {"resourceType": "MedicationRequest", "id": "x", "status": "draft", "intent": "order", "authoredOn": "yesterday",
              "subject": {"reference": "Patient/p"}, "medicationCodeableConcept": {"text": "revumenib"}}
    fixed, _ = corrected_order(broken, 160, "mg")
    assert fixed is None


@pytest.mark.parametrize("dosage", [
    ["take with water"],
    [{"timing": "once daily", "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "mg"}}]}],
    [{"timing": {"repeat": [{"frequency": 1}]}, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "mg"}}]}],
    [{"doseAndRate": ["1 mg"]}],
    None,
], ids=["text-only", "timing-text", "repeat-list", "rate-text", "null"])
def test_a_malformed_dosage_gets_no_correction_and_no_crash(dosage):
    broken = {"resourceType": "MedicationRequest", "id": "x", "status": "draft", "intent": "order",
              "subject": {"reference": "Patient/p"}, "medicationCodeableConcept": {"text": "revumenib"},
              "dosageInstruction": dosage}
    fixed, changes = corrected_order(broken, 160, "mg", "q12h")
    assert fixed is None or MedicationRequest.model_validate(fixed).id == "x"


QUIRKS = st.fixed_dictionaries({}, optional={
    "category": st.just({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                                      "code": "community"}]}),
    "reasonCode": st.just({"text": "relapsed AML"}),
    "note": st.just({"text": "per protocol"}),
    "intent": st.sampled_from(["order", "plan", "proposal"]),
})


# Dosages as EHRs send them: a coded or repeat schedule (once daily, BID), a dose range, Epic's second
# "admin amount" in tablets, doseAndRate as a single object.
TIMINGS = st.sampled_from([
    {"code": {"text": "BID"}},
    {"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation", "code": "QD"}]}},
    {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d", "when": ["MORN"]}},
    {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d", "boundsPeriod": {"start": "2026-11-21"}}},
])
FIRST_RATES = st.sampled_from([
    {"doseQuantity": {"value": 1, "unit": "mg", "code": "mg"}},
    {"doseRange": {"low": {"value": 100, "unit": "mg"}, "high": {"value": 300, "unit": "mg"}}},
    {"type": {"text": "calculated"}, "doseQuantity": {"value": 2, "unit": "mg/m2", "code": "mg/m2"}},
])
TABLET_RATE = {"type": {"text": "admin-amount"}, "doseQuantity": {"value": 2, "unit": "tablet", "code": "{tbl}"}}
DOSAGES = st.builds(
    lambda timing, first, tablets, as_object: {"timing": timing,
                                               "doseAndRate": first if as_object and not tablets else
                                               [first, TABLET_RATE] if tablets else [first]},
    TIMINGS, FIRST_RATES, st.booleans(), st.booleans())


@settings(max_examples=200, deadline=None)
@given(quirks=QUIRKS, dosage=DOSAGES,
       value=st.floats(min_value=1, max_value=2000, allow_nan=False).map(lambda v: round(v, 1)),
       unit=st.sampled_from(["mg", "mg/m2"]), reschedule=st.booleans())
def test_any_corrected_copy_is_r4_and_changes_only_dose_and_quirks(quirks, dosage, value, unit, reschedule):
    original = {"resourceType": "MedicationRequest", "id": "eT0.opaque-" + "x" * 40, "status": "draft",
                "subject": {"reference": "Patient/p"}, "medicationCodeableConcept": {"text": "revumenib"},
                "authoredOn": "2026-11-21", "dosageInstruction": [copy.deepcopy(dosage)],
                **copy.deepcopy(quirks)}
    fixed, _ = corrected_order(original, value, unit, "q12h" if reschedule else None)
    assert fixed is not None
    assert_valid_r4(fixed)
    assert dose_of(fixed)["value"] == value and dose_of(fixed)["code"] == unit
    rates = fixed["dosageInstruction"][0]["doseAndRate"]
    assert [r for r in rates if "doseQuantity" in r or "doseRange" in r] == [rates[0]]  # one dose, no contradiction
    timing = fixed["dosageInstruction"][0]["timing"]
    if reschedule:  # every 12 hours, and nothing left that says otherwise
        assert "code" not in timing and {k: timing["repeat"][k] for k in ("frequency", "period", "periodUnit")} == {
            "frequency": 1, "period": 12, "periodUnit": "h"} and "when" not in timing["repeat"]
    else:
        assert timing == dosage["timing"]
    normalised, _ = normalise_r4(original)
    untouched = {k: v for k, v in normalised.items() if k != "dosageInstruction"}
    assert {k: v for k, v in fixed.items() if k != "dosageInstruction"} == untouched
