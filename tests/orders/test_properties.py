"""Properties over generated revumenib orders: valid responses, and the suggested correction fixes the dose."""

from __future__ import annotations

from dataclasses import replace

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
