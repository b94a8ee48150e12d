"""Gemtuzumab ozogamicin (Mylotarg) and ziftomenib (Komzifti) order checks.

Doses and limits are read from the knowledge files, never typed here, so a label correction moves the tests.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from cds_service import knowledge
from cds_service.cards.order_cards import render
from cds_service.hooks import protocol
from cds_service.orders.checks import evaluate
from fhir_mappings.case import DiseaseStatus, Kmt2aStatus, MarkerResult, Source
from tests.orders.builders import CD33_POSITIVE, case, draft
from tests.orders.test_requests import RX, adult, answer, built_case, check

GO = knowledge.load("gemtuzumab_ozogamicin.json")
REGIMEN = {r["code"]: r for r in GO["regimens"]}
VIAL = GO["vial_mg"]["value"]
ZIF = knowledge.load("menin_inhibitors.json")["ziftomenib"]


def go_case(dose: float, unit: str = "mg", *, status=DiseaseStatus.NEWLY_DIAGNOSED, age_years=45, bsa=1.9,
            weight=70, markers=(CD33_POSITIVE,), count: int | None = None, **extra):
    order = draft("gemtuzumab ozogamicin", dose, unit=unit, frequency=None, per_day=None)
    if count is not None:
        order = replace(order, dose=replace(order.dose, count=count))
    return replace(case(orders=[order], status=status, age_years=age_years, bsa=bsa, weight=weight, **extra),
                   markers=tuple(markers))


def only(checks):
    (one,) = checks
    return one


def cards(the_case, hook):
    rendered = render(evaluate(the_case), hook)
    assert protocol.validate_response({"cards": rendered}) == []
    return rendered


# --- gemtuzumab -------------------------------------------------------------------------------------


def test_adult_fractionated_dose_capped_at_one_vial_is_ok():
    check = only(evaluate(go_case(VIAL, count=REGIMEN["adult-newly-diagnosed-combination"]["doses_per_cycle"])))
    assert check.verdict == "ok" and "regimen:adult-newly-diagnosed-combination" in check.reasons
    assert check.expected_dose["value"] == VIAL and f"capped at {VIAL:g} mg" in check.expected_dose["basis"]


def test_a_three_fold_overdose_is_critical_at_signature():
    # the old 9 mg/m2 monotherapy dose in relapse: three times the 3 mg/m2 the label gives now
    per_m2 = 3 * REGIMEN["relapsed-refractory-single-agent"]["per_dose_mg_m2"]
    the_case = go_case(per_m2, "mg/m2", status=DiseaseStatus.RELAPSED, bsa=1.0)
    check = only(evaluate(the_case))
    assert check.verdict == "dose-too-high" and check.level == "critical"
    (card,) = cards(the_case, "order-sign")
    assert card["indicator"] == "critical" and "overdose" in card["summary"].lower()
    assert "3.0 times" in card["detail"]


def test_the_vial_cap_makes_an_uncapped_fractionated_dose_an_overdose():
    # 3 mg/m2 x 2.2 m2 = 6.6 mg on days 1, 4 and 7 in relapse: the single-agent regimen caps each dose at one vial
    the_case = go_case(3 * 2.2, status=DiseaseStatus.REFRACTORY, bsa=2.2, count=3)
    check = only(evaluate(the_case))
    assert check.verdict == "dose-too-high" and check.expected_dose["value"] == VIAL


def test_wrong_regimen_a_child_under_0_6_m2_is_dosed_by_weight():
    # a 7 kg infant, BSA 0.38 m2: 0.1 mg/kg = 0.7 mg, not 3 mg/m2 (1.14 mg)
    the_case = go_case(3, "mg/m2", age_years=1, bsa=0.38, weight=7)
    check = only(evaluate(the_case))
    assert check.verdict == "dose-too-high"
    below = REGIMEN["pediatric-newly-diagnosed-combination"]["per_dose_mg_kg_below_bsa"]
    assert check.expected_dose["value"] == pytest.approx(below["mg_kg"] * 7)
    assert "mg/kg" in check.expected_dose["basis"]


def test_wrong_regimen_too_many_doses_for_the_paediatric_cycle():
    the_case = go_case(3, "mg/m2", age_years=8, bsa=1.0, count=3)
    check = only(evaluate(the_case))
    assert "regimen-doses-exceeded" in check.findings and check.level == "critical"
    assert "3 doses ordered" in "\n".join(check.lines)


def test_the_single_agent_continuation_dose_matches_its_own_regimen():
    # 2 mg/m2 x 1.9 m2 = 3.8 mg: the single-agent continuation dose, read from the regimen's listed doses
    each = REGIMEN["adult-newly-diagnosed-single-agent-induction"]["per_dose_mg_m2_each"]
    check = only(evaluate(go_case(each[-1] * 1.9)))
    assert check.verdict == "ok" and "regimen:adult-newly-diagnosed-single-agent-induction" in check.reasons


def test_a_dose_that_cannot_be_checked_says_what_is_missing():
    by_weight = only(evaluate(go_case(0.1, "mg/kg", weight=None)))
    assert by_weight.verdict == "cannot-check" and "weight" in by_weight.missing_data
    assert "The dose is not checked: the weight is missing." in by_weight.lines
    by_bsa = only(evaluate(go_case(3, "mg/m2", bsa=None)))
    assert "The dose is not checked: BSA (height and weight) is missing." in by_bsa.lines


def test_missing_cd33_is_named_not_guessed():
    the_case = go_case(VIAL, markers=())
    check = only(evaluate(the_case))
    assert "cd33" in check.missing_data and check.level == "warning"
    (card,) = cards(the_case, "order-select")
    assert "no CD33 result" in card["summary"]


def test_cd33_negative_or_not_aml_is_not_indicated():
    negative = MarkerResult("CD33", Source("Observation/flow-2", date(2026, 11, 10)), positive=False)
    assert only(evaluate(go_case(VIAL, markers=(negative,)))).verdict == "not-indicated"


def test_vod_risk_after_a_transplant_is_a_warning_with_its_date():
    transplant = Source("Procedure/hsct-1", date(2026, 3, 2))
    the_case = replace(go_case(VIAL, status=DiseaseStatus.RELAPSED), transplants=(transplant,))
    check = only(evaluate(the_case))
    assert "vod-risk-after-transplant" in check.findings and check.level == "warning"
    (card,) = cards(the_case, "order-sign")
    assert "2 Mar 2026" in card["detail"] and "VOD" in card["detail"]
    # without a transplant the boxed warning is still in the detail, at info level
    plain = only(evaluate(go_case(VIAL, status=DiseaseStatus.RELAPSED)))
    assert "vod-boxed-warning" in plain.findings and GO["boxed_warning"]["short"] in "\n".join(plain.lines)


def test_hyperleukocytosis_asks_for_cytoreduction_first():
    wbc = GO["hyperleukocytosis"]["wbc_min_10e9_l"]
    check = only(evaluate(go_case(VIAL, wbc=wbc + 12)))
    assert "hyperleukocytosis" in check.findings and check.level == "warning"
    assert "cytoreduce" in check.summary.lower() and f"WBC {wbc + 12:g} x10^9/L" in "\n".join(check.lines)


def test_premedication_is_always_named():
    check = only(evaluate(go_case(VIAL)))
    assert GO["premedication"]["short"] in "\n".join(check.lines)


def test_a_transplant_procedure_is_read_from_the_record():
    request = adult()
    request["prefetch"]["conditions"]["entry"].append({"resource": {
        "resourceType": "Procedure", "id": "sct-1", "status": "completed", "subject": {"reference": "Patient/pat-1"},
        "code": {"text": "Allogeneic HSCT (matched unrelated donor)"}, "performedDateTime": "2026-01-15"}})
    assert [s.reference for s in built_case(request).transplants] == ["Procedure/sct-1"]


# --- ziftomenib -------------------------------------------------------------------------------------


@pytest.mark.parametrize("rxcui", ["2725990", "2725996"])
def test_ziftomenib_ordered_by_a_product_code_is_recognised(rxcui):
    request = adult()  # KMT2A-rearranged AML: ziftomenib is not indicated
    order = request["context"]["draftOrders"]["entry"][0]["resource"]
    order["medicationCodeableConcept"] = {"coding": [{"system": RX, "code": rxcui}]}  # no words at all
    (card,) = answer(request, "order-sign")
    assert check(card)["medication"] == "ziftomenib" and check(card)["verdict"] == "not-indicated"
    assert card["indicator"] == "critical"


def test_ziftomenib_dose_against_the_once_daily_dose():
    plan = ZIF["dosing"]
    base = dict(kmt2a=Kmt2aStatus.NOT_DETECTED, npm1=True)
    ok = only(evaluate(case(orders=[draft("ziftomenib", plan["value"], frequency="daily", per_day=1)], **base)))
    assert ok.verdict == "ok" and "verify" in "\n".join(ok.lines)
    twice = only(evaluate(case(orders=[draft("ziftomenib", plan["value"], frequency="q12h", per_day=2)], **base)))
    assert twice.verdict == "dose-too-high" and twice.level == "critical"
    low = only(evaluate(case(orders=[draft("ziftomenib", plan["value"] / 3, frequency="daily", per_day=1)], **base)))
    assert low.verdict == "dose-too-low" and low.level == "warning"


def test_revumenib_for_relapsed_npm1_mutated_aml_is_checked_like_the_kmt2a_indication():
    the_case = case(kmt2a=Kmt2aStatus.NOT_DETECTED, npm1=True, orders=[draft("revumenib", 270)])
    assert only(evaluate(the_case)).verdict == "ok"
    over = case(kmt2a=Kmt2aStatus.NOT_DETECTED, npm1=True, orders=[draft("revumenib", 540)])
    assert only(evaluate(over)).verdict == "dose-too-high"
    first_line = case(kmt2a=Kmt2aStatus.NOT_DETECTED, npm1=True, status=DiseaseStatus.NEWLY_DIAGNOSED,
                      orders=[draft("revumenib", 270)])
    assert only(evaluate(first_line)).verdict == "not-indicated"


def test_too_young_for_the_label_says_the_tables_ages():
    newborn = only(evaluate(go_case(0.3, age_years=0, age_days=10, bsa=0.2, weight=3)))
    assert newborn.verdict == "not-indicated" and "under 1 month of age" in newborn.summary
    assert "Not indicated under 1 month of age." in newborn.lines
    relapsed = only(evaluate(go_case(3, "mg/m2", status=DiseaseStatus.RELAPSED, age_years=1, bsa=0.5, weight=10)))
    assert relapsed.verdict == "not-indicated" and "relapsed under 2 years" in relapsed.summary
