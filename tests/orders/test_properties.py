"""Properties over generated revumenib orders: valid responses, and the suggested correction fixes the dose."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service import knowledge
from cds_service.hooks import protocol
from cds_service.cards.order_cards import render
from cds_service.orders.checks import evaluate
from cds_service.orders.model import VERDICTS
from fhir_mappings.case import Dose
from tests.orders.builders import case, draft

PER_DAY = {"q12h": 2, "daily": 1, "q8h": 3}


def order_from(resource: dict):
    """The draft order as the corrected resource states it (dose and schedule read back)."""
    dosage = resource["dosageInstruction"][0]
    quantity = dosage["doseAndRate"][0]["doseQuantity"]
    repeat = dosage.get("timing", {}).get("repeat", {})
    frequency = "q12h" if repeat.get("period") == 12 else None
    assert frequency == "q12h" or "code" in dosage.get("timing", {})  # the schedule was kept only when right
    return replace(draft("revumenib", quantity["value"], unit=quantity["code"], resource=resource),
                   dose=Dose(quantity["value"], quantity["code"], "q12h", 2))


STRENGTHS = knowledge.load("menin_inhibitors.json")["revumenib"]["dosing"]["tablet_strengths_mg"]["values"]


def whole_tablet_amounts(most: int = 6) -> set[float]:
    amounts = {0.0}
    for _ in range(most):
        amounts |= {a + s for a in amounts for s in STRENGTHS}
    return amounts - {0.0}


def assert_only_tablet_rounding(check, value: float, unit: str, bsa: float) -> None:
    """A card may say "matches" only when the order is the expected dose, or a whole-tablet amount with no
    other whole-tablet amount between it and the expected dose."""
    expected = check.expected_dose
    if unit == "mg/m2" and expected["unit"] == "mg/m2":
        assert abs(value - expected["value"]) <= 0.5, check.summary
        return
    ordered_mg = value * bsa if unit == "mg/m2" else value
    if abs(ordered_mg - expected["value"]) <= 1:
        return
    assert ordered_mg in whole_tablet_amounts(), check.summary
    low, high = sorted((ordered_mg, expected["value"]))
    assert not [a for a in whole_tablet_amounts() if low < a < high], check.summary


@settings(max_examples=200, deadline=None)
@given(weight=st.floats(3, 150), bsa=st.floats(0.2, 2.5), inhibitor=st.booleans(),
       value=st.floats(1, 1000).map(lambda v: round(v, 1)), unit=st.sampled_from(["mg", "mg/m2"]),
       frequency=st.sampled_from(sorted(PER_DAY)))
def test_generated_orders_give_valid_cards_and_corrections_that_fix_the_dose(weight, bsa, inhibitor, value, unit, frequency):
    meds = ["itraconazole"] if inhibitor else []
    the_case = case(weight=round(weight, 1), bsa=round(bsa, 2), meds=meds,
                    orders=[draft("revumenib", value, unit=unit, frequency=frequency, per_day=PER_DAY[frequency])])
    (check,) = evaluate(the_case)
    assert check.verdict in VERDICTS
    for hook in ("order-select", "order-sign"):
        assert protocol.validate_response({"cards": render((check,), hook)}) == []
    if "matches" in check.summary:
        assert_only_tablet_rounding(check, value, unit, round(bsa, 2))
    if check.verdict in ("dose-too-high", "dose-too-low"):
        assert check.corrected is not None
        assert check.level == ("critical" if check.verdict == "dose-too-high" else "warning")  # underdose: warning
        (again,) = evaluate(case(weight=round(weight, 1), bsa=round(bsa, 2), meds=meds,
                                 orders=[order_from(check.corrected)]))
        assert again.verdict == "ok", (again.reasons, again.ordered_dose, again.expected_dose)
    else:
        assert check.corrected is None


# --- every corrected resource agrees with itself -----------------------------------------------------

import re  # noqa: E402

from fhir.resources.R4B.medicationrequest import MedicationRequest  # noqa: E402

from fhir_mappings.draft_orders import dose as typed_dose, product_strength_mg  # noqa: E402

PRODUCTS = ["Revuforj 160 MG Oral Tablet", "Revuforj 110 MG Oral Tablet", "revumenib 25 mg tablet", "Revuforj", "revumenib"]
_COMPOSITION = re.compile(r"(\d+) x (\d+(?:\.\d+)?) mg\b(?!/)")
_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?) (mg/m2|mg)\b")
_GIVEN = re.compile(r"given as (\d+(?:\.\d+)?) mg")


def raw_order(product: str, value: float, unit: str, timing: dict, extras: dict) -> dict:
    dosage = {"timing": timing, "doseAndRate": [{"doseQuantity": {"value": value, "unit": unit,
                                                                "system": "http://unitsofmeasure.org", "code": unit}}]}
    if extras.get("text"):
        dosage["text"] = "Take 2 tablets by mouth twice daily"
    if extras.get("patient_instruction"):
        dosage["patientInstruction"] = "2 tablets in the morning and 2 in the evening"
    if extras.get("admin_amount"):
        dosage["doseAndRate"].append({"type": {"text": "admin-amount"},
                                      "doseQuantity": {"value": 2, "unit": "tablet", "code": "{tbl}",
                                                       "system": "http://unitsofmeasure.org"}})
    resource = {"resourceType": "MedicationRequest", "id": "gen-1", "status": "draft", "intent": "order",
                "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": {"text": product},
                "dosageInstruction": [dosage]}
    if extras.get("second_instruction"):
        resource["dosageInstruction"].append({"text": "then 160 mg daily", "doseAndRate": [
            {"doseQuantity": {"value": 160, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}]})
    if extras.get("dispense"):
        resource["dispenseRequest"] = {"quantity": {"value": 120, "unit": "tablet"}}
    return resource


def assert_agrees(resource: dict) -> None:
    """Read back independently: one dose, one schedule, a text and a product that say the same thing."""
    MedicationRequest.model_validate(resource)
    (dosage,) = resource["dosageInstruction"]
    (rate,) = dosage["doseAndRate"]
    quantity = rate["doseQuantity"]
    assert quantity["code"] in ("mg", "mg/m2") and quantity["unit"] == quantity["code"]
    timing = dosage["timing"]
    assert "code" not in timing and (timing["repeat"]["frequency"], timing["repeat"]["period"],
                                     timing["repeat"]["periodUnit"]) == (1, 12, "h")
    text = dosage["text"]
    amount = _AMOUNT.match(text)
    assert amount and float(amount.group(1)) == float(quantity["value"]) and amount.group(2) == quantity["code"], text
    assert text.endswith("every 12 hours") and "{" not in text
    if dosage.get("patientInstruction"):
        assert dosage["patientInstruction"] == text
    given = float(quantity["value"]) if quantity["code"] == "mg" else (
        float(_GIVEN.search(text).group(1)) if _GIVEN.search(text) else None)
    parts = [(int(n), float(s)) for n, s in _COMPOSITION.findall(text)]
    if given is not None and parts:
        assert sum(n * s for n, s in parts) == pytest.approx(given), text
        strength = product_strength_mg(resource.get("medicationCodeableConcept"), None)
        if strength is not None:  # a product with a strength: the tablets are that product's
            assert {s for _, s in parts} == {strength}, (text, resource["medicationCodeableConcept"])
    assert "quantity" not in (resource.get("dispenseRequest") or {}) and resource.get("dispenseRequest") != {}


@settings(max_examples=150, deadline=None)
@given(weight=st.floats(5, 120), bsa=st.floats(0.3, 2.4), inhibitor=st.booleans(),
       product=st.sampled_from(PRODUCTS), value=st.floats(1, 900).map(lambda v: round(v, 1)),
       unit=st.sampled_from(["mg", "mg/m2", "{pill}", "tablet"]),
       timing=st.sampled_from([{"code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
                                                      "code": "BID"}]}},
                               {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                               {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d", "when": ["MORN", "EVE"]}}]),
       extras=st.fixed_dictionaries({k: st.booleans() for k in
                                     ("text", "patient_instruction", "admin_amount", "second_instruction", "dispense")}))
def test_every_corrected_resource_agrees_with_itself(weight, bsa, inhibitor, product, value, unit, timing, extras):
    if unit in ("{pill}", "tablet"):
        value = float(max(1, round(value / 100)))  # a count of tablets
    resource = raw_order(product, value, unit, timing, extras)
    order = replace(draft("revumenib", resource=resource, order_id="gen-1"),
                    dose=typed_dose(resource, product_strength_mg({"text": product}, None)),
                    product_strength_mg=product_strength_mg({"text": product}, None))
    meds = ["itraconazole"] if inhibitor else []
    (check,) = evaluate(case(weight=round(weight, 1), bsa=round(bsa, 2), meds=meds, orders=[order]))
    if check.corrected is None:
        return
    assert_agrees(check.corrected)
    # and the corrected order, read back through the mapper, is the expected dose
    back = replace(order, resource=check.corrected,
                   dose=typed_dose(check.corrected, product_strength_mg(check.corrected.get("medicationCodeableConcept"), None)))
    (again,) = evaluate(case(weight=round(weight, 1), bsa=round(bsa, 2), meds=meds, orders=[back]))
    assert again.verdict == "ok", (again.reasons, check.corrected["dosageInstruction"])
