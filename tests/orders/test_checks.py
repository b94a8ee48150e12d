"""Each order check on Cases built directly (no FHIR): verdicts, reasons, indicators per hook."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from cds_service import knowledge
from cds_service.hooks import protocol
from cds_service.stratification import menin_inhibitors as revumenib
from cds_service.stratification.text import day
from cds_service.orders import doses
from cds_service.cards.order_cards import render
from cds_service.orders.checks import evaluate
from cds_service.orders.model import VERDICTS
from cds_service.orders.per_call import order_checks
from fhir_mappings.case import DiseaseStatus, Kmt2aStatus, Lineage, Source
from tests.orders.builders import CD33_POSITIVE, TODAY, case, draft

TABLE = knowledge.load("menin_inhibitors.json")["revumenib"]
ROWS = TABLE["dosing"]["rows"]
PRE = TABLE["pre_start"]


def row(band: str, inhibitor: bool) -> dict:
    return next(r for r in ROWS if r["band"] == band and r["strong_cyp3a4_inhibitor"] == inhibitor)


ADULT = row("weight-40kg-or-more", False)["value"]
ADULT_INHIBITED = row("weight-40kg-or-more", True)["value"]
CHILD_PER_M2 = row("weight-under-40kg", False)["value"]
CHILD_INHIBITED_PER_M2 = row("weight-under-40kg", True)["value"]


def only(checks, order="MedicationRequest/draft-revumenib"):
    found = [c for c in checks if c.order == order]
    assert len(found) == 1, checks
    return found[0]


def cards(the_case, hook, selected=None):
    out = render(evaluate(the_case), hook, selected)
    assert protocol.validate_response({"cards": out}) == []
    return out


def extension(card):
    return card["extension"]["org.kmt2a-cds.order-check"]


# --- revumenib dose --------------------------------------------------------------------------------


def test_adult_label_dose_is_ok_info_at_select_and_silent_at_sign():
    the_case = case(orders=[draft("revumenib", ADULT)])
    check = only(evaluate(the_case))
    assert check.verdict == "ok" and not check.problem
    select = cards(the_case, "order-select")
    assert [c["indicator"] for c in select] == ["info"]
    assert extension(select[0])["expectedDose"]["value"] == ADULT
    assert "verify against the current label" in select[0]["detail"]
    assert cards(the_case, "order-sign") == []


def test_adult_on_strong_inhibitor_full_dose_is_too_high_with_update():
    the_case = case(orders=[draft("revumenib", ADULT)], meds=["posaconazole"])
    check = only(evaluate(the_case))
    assert check.verdict == "dose-too-high"
    assert "strong-cyp3a4-inhibitor:posaconazole" in check.reasons
    assert check.expected_dose["value"] == ADULT_INHIBITED
    sign = cards(the_case, "order-sign")
    assert sign[0]["indicator"] == "critical"
    update = sign[0]["suggestions"][0]["actions"][0]
    assert update["type"] == "update"
    assert update["resource"]["id"] == "draft-revumenib"
    assert update["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == ADULT_INHIBITED
    offered = {r["code"] for r in sign[0]["overrideReasons"]}
    # CDS Hooks 3.0 non-adherence reasons that fit a card saying the dose is too high; never "already adjusted"
    assert offered >= {"risk-benefit-ratio", "policy-contradicts"}
    assert "dose-adjusted-for-interaction" not in offered
    assert cards(the_case, "order-select")[0]["indicator"] == "critical"  # one policy table for both hooks


def test_inhibitor_among_other_draft_orders_reduces_the_expected_dose():
    the_case = case(orders=[draft("revumenib", ADULT), draft("itraconazole", 200)])
    check = only(evaluate(the_case))
    assert check.verdict == "dose-too-high"
    assert "strong-cyp3a4-inhibitor:itraconazole" in check.reasons


def test_reduced_dose_with_inhibitor_is_ok_and_the_trial_dose_is_not_dispensable():
    the_case = case(orders=[draft("revumenib", ADULT_INHIBITED)], meds=["itraconazole"])
    assert only(evaluate(the_case)).verdict == "ok"
    # 163 mg (the trial dose) is within the tolerance, but no whole tablets make it: flagged, never "ok"
    trial = only(evaluate(case(orders=[draft("revumenib", 163)], meds=["itraconazole"])))
    assert trial.verdict == "dose-not-dispensable" and trial.level == "warning"
    assert "163 mg cannot be made from whole 25, 110 and 160 mg tablets" in "\n".join(trial.lines)  # the table's strengths


def test_a_tolerated_dose_that_is_not_the_label_dose_is_never_called_matching():
    one_tablet_more = ADULT + min(TABLE["dosing"]["tablet_strengths_mg"]["values"])  # a whole-tablet amount
    for dose in (one_tablet_more,):
        the_case = case(orders=[draft("revumenib", dose)])
        check = only(evaluate(the_case))
        assert check.verdict == "ok", dose  # accepted by the local tolerance...
        assert "matches" not in check.summary and "local tolerance" in check.summary
        assert "dose-within-local-tolerance" in check.reasons
        (card,) = cards(the_case, "order-select")
        assert "not the label dose" in card["detail"] and "local policy" in card["detail"]
        assert TABLE["dosing"]["trial_doses_note"]["text"] in card["detail"]  # the trial doses, cited
    exact = only(evaluate(case(orders=[draft("revumenib", ADULT)])))
    assert "matches" in exact.summary and "dose-within-local-tolerance" not in exact.reasons


def test_a_dose_no_whole_tablets_make_is_flagged_with_the_nearest_dispensable_doses():
    # 276 mg (the trial dose) is within 10 % of 270 mg, but 25/110/160 mg tablets cannot make it
    the_case = case(orders=[draft("revumenib", 276)])
    check = only(evaluate(the_case))
    assert check.verdict == "dose-not-dispensable" and check.level == "warning"
    below, above = revumenib.nearest_dispensable(276)
    assert revumenib.is_dispensable(below) and revumenib.is_dispensable(above) and below < 276 < above
    (card,) = cards(the_case, "order-sign")  # not silent at signature: the pharmacy cannot dispense it
    assert card["indicator"] == "warning"
    assert f"{below:g} mg = {revumenib.tablets_for(below)} tablets" in card["detail"]
    assert f"{above:g} mg = {revumenib.tablets_for(above)} tablets" in card["detail"]


def test_the_tolerance_has_no_floor_that_accepts_undispensable_doses():
    # 107 mg for a 95 mg/m2 x 1.0 m2 child: the former 12.5 mg floor accepted it (12 mg over); it is 12.6 % over
    # and no whole tablets make it
    check = only(evaluate(case(weight=30, bsa=1.0, meds=["itraconazole"], orders=[draft("revumenib", 107)])))
    assert check.verdict == "dose-too-high"


def test_a_bsa_dose_rounded_to_whole_tablets_matches():
    bsa = 0.9
    expected_mg = CHILD_PER_M2 * bsa
    rounded = revumenib.dispensable_dose(expected_mg)
    assert rounded != expected_mg  # the case is about rounding
    check = only(evaluate(case(weight=25, bsa=bsa, orders=[draft("revumenib", rounded)])))
    assert check.verdict == "ok" and "matches" in check.summary
    assert "dose-within-local-tolerance" not in check.reasons


def test_reduced_dose_without_inhibitor_is_too_low():
    the_case = case(orders=[draft("revumenib", ADULT_INHIBITED)])
    check = only(evaluate(the_case))
    assert check.verdict == "dose-too-low" and not check.unsafe
    # an underdose needs an action before signing (warning), it is not a hard stop (policy table)
    assert [c["indicator"] for c in cards(the_case, "order-sign")] == ["warning"]
    assert [c["indicator"] for c in cards(the_case, "order-select")] == ["warning"]


@pytest.mark.parametrize("inhibitor, per_m2", [(False, CHILD_PER_M2), (True, CHILD_INHIBITED_PER_M2)])
def test_child_mg_per_m2_order_is_compared_after_bsa(inhibitor, per_m2):
    meds = ["itraconazole"] if inhibitor else []
    ok = case(weight=25, bsa=0.9, meds=meds, orders=[draft("revumenib", per_m2, unit="mg/m2")])
    check = only(evaluate(ok))
    assert check.verdict == "ok"
    assert check.expected_dose == {"value": pytest.approx(per_m2 * 0.9), "unit": "mg", "frequency": "q12h",
                                   "basis": f"{per_m2:g} mg/m2 x 0.9 m2"}
    assert "weight-under-40kg" in check.reasons


def test_child_full_dose_with_inhibitor_in_mg_per_m2_is_corrected_in_mg_per_m2():
    the_case = case(weight=25, bsa=0.9, meds=["voriconazole"], orders=[draft("revumenib", CHILD_PER_M2, unit="mg/m2")])
    (card,) = cards(the_case, "order-sign")
    assert extension(card)["verdict"] == "dose-too-high"
    quantity = card["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert (quantity["value"], quantity["code"]) == (CHILD_INHIBITED_PER_M2, "mg/m2")


def test_child_adult_flat_dose_is_too_high_and_corrected_to_whole_tablets():
    the_case = case(weight=20, bsa=0.8, orders=[draft("revumenib", ADULT)])
    check = only(evaluate(the_case))
    assert check.verdict == "dose-too-high"
    value = check.corrected["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"]
    assert abs(value - CHILD_PER_M2 * 0.8) <= 12.5  # nearest whole-tablet amount
    assert value % 5 == 0


def weighed_days_ago(the_case, days: int | None):
    """The case with its weight (and the Mosteller BSA from it) taken `days` before the reference date."""
    when = None if days is None else date.fromordinal(the_case.reference_date.toordinal() - days)
    source = Source("Observation/weight-1", when)
    return replace(the_case, weight=replace(the_case.weight, source=source),
                   bsa=replace(the_case.bsa, source=source) if the_case.bsa else None)


def test_a_bsa_dose_from_an_old_or_undated_weight_asks_to_reweigh_and_shows_the_date():
    limit = TABLE["dosing"]["weight_max_age_days"]["value"]
    child = case(weight=25, bsa=0.9, orders=[draft("revumenib", CHILD_PER_M2, unit="mg/m2")])
    old = only(evaluate(weighed_days_ago(child, limit + 1)))
    assert "weight-not-recent" in old.reasons and old.problem and old.verdict == "ok"
    (card,) = cards(weighed_days_ago(child, limit + 1), "order-sign")
    assert card["indicator"] == "warning" and "re-weigh" in card["summary"]
    assert f"({limit + 1} days old)" in card["detail"]
    undated = only(evaluate(weighed_days_ago(child, None)))
    assert "weight-not-recent" in undated.reasons and "(undated)" in "\n".join(undated.lines)
    recent = only(evaluate(weighed_days_ago(child, limit)))
    assert "weight-not-recent" not in recent.reasons and not recent.problem
    assert cards(weighed_days_ago(child, limit), "order-sign") == []


def test_a_flat_dose_shows_the_weight_date_without_asking_to_reweigh():
    adult = weighed_days_ago(case(orders=[draft("revumenib", ADULT)]), 200)
    check = only(evaluate(adult))
    assert "weight-not-recent" not in check.reasons and not check.problem
    assert f"on {day(adult.weight.source.date)}" in check.expected_dose["basis"]


def test_an_mg_per_m2_order_is_converted_with_the_bsa_the_expected_dose_uses():
    bsa = 0.904  # Mosteller to 3 decimals; dosed to 0.01 m2
    order = draft("revumenib", CHILD_PER_M2, unit="mg/m2")
    the_case = case(weight=25, bsa=bsa, orders=[order])
    expected = revumenib.expected_dose(the_case)
    assert doses.ordered_dose(the_case, order).mg == pytest.approx(expected.value)  # one BSA for both


def test_child_without_bsa_cannot_be_checked_in_mg_and_names_height():
    check = only(evaluate(case(weight=20, bsa=None, orders=[draft("revumenib", 130)])))
    assert check.verdict == "cannot-check" and "height" in check.missing_data
    assert check.expected_dose is None and check.corrected is None


def test_child_without_bsa_mg_per_m2_order_still_compares_per_m2():
    check = only(evaluate(case(weight=20, bsa=None, orders=[draft("revumenib", CHILD_PER_M2, unit="mg/m2")])))
    assert check.verdict == "ok"
    assert check.expected_dose == {"value": CHILD_PER_M2, "unit": "mg/m2", "frequency": "q12h"}


def test_without_bsa_an_mg_per_m2_order_gets_no_half_tablet_allowance():
    fraction = TABLE["dosing"]["tolerance"]["fraction"]
    over = CHILD_INHIBITED_PER_M2 * (1 + fraction) + 1  # outside the fraction
    check = only(evaluate(case(weight=20, bsa=None, meds=["itraconazole"],
                               orders=[draft("revumenib", over, unit="mg/m2")])))
    assert check.verdict == "dose-too-high"


def test_missing_weight_cannot_be_checked():
    check = only(evaluate(case(weight=None, orders=[draft("revumenib", ADULT)])))
    assert check.verdict == "cannot-check" and "weight" in check.missing_data


def test_an_mg_per_kg_order_is_converted_with_the_weight_and_corrected_in_mg():
    weight = 70
    label = only(evaluate(case(weight=weight, orders=[draft("revumenib", round(ADULT / weight, 2), unit="mg/kg")])))
    assert label.verdict == "ok" and label.ordered_dose["unit"] == "mg/kg"
    double = only(evaluate(case(weight=weight, orders=[draft("revumenib", 2 * ADULT / weight, unit="mg/kg")])))
    assert double.verdict == "dose-too-high"
    quantity = double.corrected["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert (quantity["value"], quantity["code"]) == (ADULT, "mg")  # whole tablets in mg, not a new mg/kg figure
    unknown = only(evaluate(case(weight=None, orders=[draft("revumenib", 4, unit="mg/kg")])))
    assert unknown.verdict == "cannot-check" and "weight" in unknown.missing_data


def test_once_daily_is_too_low_and_the_correction_sets_q12h():
    check = only(evaluate(case(orders=[draft("revumenib", ADULT, frequency="daily", per_day=1)])))
    assert check.verdict == "dose-too-low" and "frequency-not-q12h" in check.reasons
    timing = check.corrected["dosageInstruction"][0]["timing"]
    assert timing["repeat"] == {"frequency": 1, "period": 12, "periodUnit": "h"} and "code" not in timing


def test_order_without_dose_or_in_pills_cannot_be_checked():
    assert only(evaluate(case(orders=[draft("revumenib")]))).verdict == "cannot-check"
    pill = only(evaluate(case(orders=[draft("revumenib", 1, unit="{pill}")])))
    assert pill.verdict == "cannot-check" and "dose-unit-not-comparable:{pill}" in pill.reasons


# --- indication ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Kmt2aStatus.AMPLIFIED, Kmt2aStatus.PTD, Kmt2aStatus.NOT_DETECTED, Kmt2aStatus.UNKNOWN])
def test_not_a_rearrangement_is_critical_at_sign(status):
    the_case = case(kmt2a=status, orders=[draft("revumenib", ADULT)])
    (card,) = cards(the_case, "order-sign")
    assert card["indicator"] == "critical" and extension(card)["verdict"] == "not-indicated"
    assert "not indicated" in card["summary"]
    assert "risk-benefit-ratio" in {r["code"] for r in card["overrideReasons"]}


@pytest.mark.parametrize("lineage, npm1, names_npm1", [(Lineage.AML, None, True), (Lineage.UNKNOWN, None, True),
                                                       (Lineage.AML, False, False), (Lineage.B_ALL, None, False)])
def test_untested_npm1_is_named_missing_not_taken_as_wild_type(lineage, npm1, names_npm1):
    # KMT2A not rearranged: the only label route left is R/R NPM1-mutated AML, which an untested AML may still be.
    check = only(evaluate(case(kmt2a=Kmt2aStatus.NOT_DETECTED, lineage=lineage, npm1=npm1,
                               orders=[draft("revumenib", ADULT)])))
    assert check.verdict == "not-indicated"
    assert ("npm1" in check.missing_data) is names_npm1


def test_infant_is_flagged_off_label():
    the_case = case(age_days=200, lineage=Lineage.B_ALL, weight=7, bsa=0.36,
                    orders=[draft("revumenib", CHILD_PER_M2, unit="mg/m2")])
    check = only(evaluate(the_case))
    assert check.verdict == "not-indicated" and "age-under-1-year" in check.reasons
    assert "off-label" in check.summary


def test_first_line_use_is_not_indicated():
    check = only(evaluate(case(status=DiseaseStatus.NEWLY_DIAGNOSED, orders=[draft("revumenib", ADULT)])))
    assert check.verdict == "not-indicated" and "not-relapsed-refractory:newly-diagnosed" in check.reasons


def test_unknown_disease_status_asks():
    check = only(evaluate(case(status=DiseaseStatus.UNKNOWN, orders=[draft("revumenib", ADULT)])))
    assert check.verdict == "cannot-check" and "disease-status" in check.missing_data


# --- pre-start safety ------------------------------------------------------------------------------


def test_qtcf_above_limit_is_critical_at_sign_even_with_the_right_dose():
    limit = PRE["qtcf_max_ms"]["value"]
    the_case = case(qtcf=limit + 1, orders=[draft("revumenib", ADULT)])
    check = only(evaluate(the_case))
    assert check.unsafe and "qtcf-above-limit" in check.reasons
    assert check.verdict == "do-not-start"  # never "ok" on an order the card says not to start
    (card,) = cards(the_case, "order-sign")
    assert card["indicator"] == "critical" and "QTcF" in card["summary"]
    at_limit = only(evaluate(case(qtcf=limit, orders=[draft("revumenib", ADULT)])))
    assert not at_limit.unsafe and at_limit.verdict == "ok"


def test_missing_ecg_asks_for_it():
    check = only(evaluate(case(qtcf=None, orders=[draft("revumenib", ADULT)])))
    assert "qtc" in check.missing_data and check.problem and not check.unsafe
    (card,) = cards(case(qtcf=None, orders=[draft("revumenib", ADULT)]), "order-select")
    assert card["indicator"] == "warning" and "ECG" in card["detail"]


@pytest.mark.parametrize("kind", ["qtc", "potassium", "magnesium", "wbc"])
def test_pre_start_result_older_than_the_table_allows_is_asked_for_again(kind):
    limit = PRE["result_max_age_days"]["value"]
    old = Source("Observation/old", TODAY - timedelta(days=limit + 1))
    the_case = case(qtcf=500, potassium=2.0, magnesium=0.3, wbc=60, orders=[draft("revumenib", ADULT)])
    field = "wbc_latest" if kind == "wbc" else kind
    the_case = replace(the_case, **{field: replace(getattr(the_case, field), source=old)})
    check = only(evaluate(the_case))
    assert kind in check.missing_data and f"{kind}-not-recent" in check.reasons
    judged = {"qtc": "qtcf-above-limit", "potassium": "potassium-low", "magnesium": "magnesium-low",
              "wbc": "wbc-above-start-limit"}
    assert judged[kind] not in check.reasons  # an old value is shown and repeated, not judged
    assert all(r in check.reasons for k, r in judged.items() if k != kind)  # the recent ones still are
    within = replace(the_case, **{field: replace(getattr(the_case, field), source=Source("Observation/ok", TODAY - timedelta(days=limit)))})
    assert f"{kind}-not-recent" not in only(evaluate(within)).reasons


def test_bazett_qtc_asks_for_fridericia():
    check = only(evaluate(case(qtcf=440, qtc_method="QTcB", orders=[draft("revumenib", ADULT)])))
    assert "qtc" in check.missing_data and "qtc-method:QTcB" in check.reasons


def test_electrolytes_and_wbc_before_start():
    k_min, mg_min = PRE["potassium_min_mmol_l"]["value"], PRE["magnesium_min_mmol_l"]["value"]
    wbc_max = PRE["wbc_max_10e9_l"]["value"]
    low = only(evaluate(case(potassium=k_min - 0.4, magnesium=mg_min - 0.1, wbc=wbc_max,
                             orders=[draft("revumenib", ADULT)])))
    assert {"potassium-low", "magnesium-low", "wbc-above-start-limit"} <= set(low.reasons)
    assert low.problem and not low.unsafe
    missing = only(evaluate(case(potassium=None, magnesium=None, wbc=None, orders=[draft("revumenib", ADULT)])))
    assert {"potassium", "magnesium", "wbc"} <= set(missing.missing_data)
    assert not any("recent" in line for line in missing.lines)  # no recency is checked, so none is claimed


def test_differentiation_syndrome_warning_is_always_in_the_detail():
    (card,) = cards(case(orders=[draft("revumenib", ADULT)]), "order-select")
    assert "differentiation syndrome" in card["detail"].lower()


def test_continuation_skips_pre_start_checks():
    check = only(evaluate(case(qtcf=None, wbc=40, meds=["revumenib"], orders=[draft("revumenib", ADULT)])))
    assert "qtc" not in check.missing_data and "wbc-above-start-limit" not in check.reasons
    assert check.verdict == "ok"


# --- co-medications --------------------------------------------------------------------------------


def test_inducer_with_revumenib_is_an_interaction():
    check = only(evaluate(case(orders=[draft("revumenib", ADULT), draft("rifampin", 600)])))
    assert check.verdict == "interaction" and "strong-cyp3a4-inducer:rifampin" in check.reasons


def test_qt_prolonging_co_medication_is_an_interaction():
    check = only(evaluate(case(meds=["ondansetron"], orders=[draft("revumenib", ADULT)])))
    assert check.verdict == "interaction" and "qt-prolonging:ondansetron" in check.reasons


QT_RULE = next(r for r in knowledge.load("order_checks.json")["interactions"] if r["class"] == "qt-prolonging")


@pytest.mark.parametrize("azole", ["posaconazole", "voriconazole"])
def test_correctly_reduced_dose_with_a_qt_prolonging_azole_asks_only_for_ecg_monitoring(azole):
    the_case = case(meds=[azole], orders=[draft("revumenib", ADULT_INHIBITED)])
    check = only(evaluate(the_case))
    assert check.verdict == "interaction" and f"qt-prolonging:{azole}" in check.reasons
    # the inhibitor is accounted for in the dose and the latest QTcF is normal and recent: no warning, so no
    # card at signature; at order-select an info card says so
    assert cards(the_case, "order-sign") == []
    (card,) = cards(the_case, "order-select")
    assert card["indicator"] == "info" and "suggestions" not in card  # no dose change offered
    assert "avoid" not in card["summary"].lower()
    assert "already the reduced one" in card["detail"] and QT_RULE["text"] not in card["detail"]
    # a child on mg/m2, the same
    child = case(weight=25, bsa=0.9, meds=[azole], orders=[draft("revumenib", CHILD_INHIBITED_PER_M2, unit="mg/m2")])
    assert "already the reduced one" in "\n".join(only(evaluate(child)).lines)


def test_full_dose_with_a_qt_prolonging_azole_is_not_called_right():
    check = only(evaluate(case(meds=["posaconazole"], orders=[draft("revumenib", ADULT)])))
    assert check.verdict == "dose-too-high"
    assert not any("already the reduced dose" in line for line in check.lines)


def test_inhibitor_ordered_for_patient_on_revumenib_gives_the_reduced_dose():
    the_case = case(meds=["revumenib"], orders=[draft("posaconazole", 300)])
    check = only(evaluate(the_case), "MedicationRequest/draft-posaconazole")
    assert check.verdict == "interaction" and check.medication == "posaconazole"
    assert "strong-cyp3a4-inhibitor:posaconazole" in check.reasons
    (card,) = cards(the_case, "order-select")
    assert f"{ADULT_INHIBITED:g} mg every 12 hours" in card["summary"]  # clinical words, not "q12h"
    assert extension(card)["order"] == "MedicationRequest/draft-posaconazole"
    assert cards(the_case, "order-sign")[0]["indicator"] == "warning"


def test_azole_switch_for_a_patient_on_revumenib_does_not_ask_to_reduce_again():
    the_case = case(meds=["revumenib", "voriconazole"], orders=[draft("posaconazole", 300)])
    check = only(evaluate(the_case), "MedicationRequest/draft-posaconazole")
    assert check.verdict == "interaction"
    assert "reduce" not in check.summary and "already on voriconazole" in check.summary
    assert f"{ADULT_INHIBITED:g} mg" in check.summary


def test_inhibitor_next_to_a_selected_revumenib_draft_gets_no_second_card():
    the_case = case(orders=[draft("revumenib", ADULT), draft("posaconazole", 300)])
    sign = cards(the_case, "order-sign")
    assert [extension(c)["medication"] for c in sign] == ["revumenib"]
    # order-select with only the inhibitor selected: its own card explains the interaction
    select = cards(the_case, "order-select", {"MedicationRequest/draft-posaconazole"})
    assert [extension(c)["verdict"] for c in select] == ["interaction"]


def test_unrelated_and_empty_orders_get_no_cards():
    assert evaluate(case(orders=[draft("lisinopril", 20), draft(None)])) == ()
    assert evaluate(case(meds=["revumenib"], orders=[draft("lisinopril", 20)])) == ()


# --- ziftomenib and GO -----------------------------------------------------------------------------


def test_ziftomenib_for_kmt2a_rearranged_is_not_indicated():
    the_case = case(orders=[draft("ziftomenib", 600, frequency="daily", per_day=1)])
    check = only(evaluate(the_case), "MedicationRequest/draft-ziftomenib")
    assert check.verdict == "not-indicated" and "kmt2a-rearranged" in check.reasons
    (card,) = cards(the_case, "order-sign")
    assert card["indicator"] == "critical" and "differentiation syndrome" in card["detail"]


def test_ziftomenib_for_npm1_mutated_adult_aml_is_ok():
    the_case = case(kmt2a=Kmt2aStatus.NOT_DETECTED, npm1=True,
                    orders=[draft("ziftomenib", 600, frequency="daily", per_day=1)])
    assert only(evaluate(the_case), "MedicationRequest/draft-ziftomenib").verdict == "ok"
    assert cards(the_case, "order-sign") == []


def test_gemtuzumab_in_kmt2a_aml_is_one_info_card_at_select_only():
    the_case = replace(case(status=DiseaseStatus.NEWLY_DIAGNOSED, bsa=1.4,
                            orders=[draft("gemtuzumab ozogamicin", 3, unit="mg/m2")]), markers=(CD33_POSITIVE,))
    (card,) = cards(the_case, "order-select")
    assert card["indicator"] == "info" and "AAML0531" in card["detail"]
    assert extension(card)["medication"] == "gemtuzumab-ozogamicin" and extension(card)["verdict"] == "ok"
    assert "overrideReasons" not in card
    assert cards(the_case, "order-sign") == []


def test_gemtuzumab_outside_aml_is_not_indicated_and_outside_kmt2a_r_has_no_kmt2a_evidence():
    (check,) = evaluate(case(lineage=Lineage.B_ALL, orders=[draft("gemtuzumab ozogamicin", 3)]))
    assert check.verdict == "not-indicated" and check.level == "critical"
    amplified = replace(case(kmt2a=Kmt2aStatus.AMPLIFIED, status=DiseaseStatus.NEWLY_DIAGNOSED, bsa=1.4,
                             orders=[draft("gemtuzumab ozogamicin", 3, unit="mg/m2")]), markers=(CD33_POSITIVE,))
    (check,) = evaluate(amplified)
    assert check.verdict == "ok" and not any("AAML0531" in line for line in check.lines)


# --- the contract object ---------------------------------------------------------------------------


def test_order_checks_are_contract_objects_without_empty_values():
    the_case = case(weight=20, bsa=None, qtcf=None, meds=["posaconazole"],
                    orders=[draft("revumenib", 300), draft("ziftomenib", 600), draft("gemtuzumab ozogamicin", 3),
                            draft("lisinopril", 10), draft(None)])
    objects = order_checks(the_case)
    assert {o["medication"] for o in objects} == {"revumenib", "ziftomenib", "gemtuzumab-ozogamicin"}
    for obj in objects:
        assert set(obj) <= {"order", "medication", "verdict", "orderedDose", "expectedDose", "reasons", "missingData"}
        assert obj["verdict"] in VERDICTS
        assert protocol.empty_values(obj) == []
    revumenib = next(o for o in objects if o["medication"] == "revumenib")
    assert revumenib["orderedDose"] == {"value": 300, "unit": "mg", "frequency": "q12h"}
    assert "expectedDose" not in revumenib and "height" in revumenib["missingData"]


def test_summaries_fit_the_spec_limit():
    the_case = case(kmt2a=Kmt2aStatus.PTD, qtcf=500, meds=["posaconazole", "rifampin", "ondansetron"],
                    orders=[draft("revumenib", 400, frequency="daily", per_day=1)])
    for card in cards(the_case, "order-select") + cards(the_case, "order-sign"):
        assert len(card["summary"]) <= 140


def test_unavailable_medication_list_is_named_not_assumed_empty():
    the_case = case(orders=[draft("revumenib", ADULT)])
    (check,) = evaluate(the_case, unread=frozenset({"medications"}))  # the MAR alone may hide an inpatient azole
    assert check.verdict == "cannot-check" and "medications" in check.missing_data
    assert check.expected_dose["value"] == ADULT  # still shown, with the assumption said in the detail
    assert any("medication list could not be read" in line for line in check.lines)


def test_an_azole_for_a_kmt2a_patient_whose_medication_list_could_not_be_read_asks_about_revumenib():
    """Without the medication list, 'not on revumenib' is not known: a strong CYP3A4 inhibitor ordered for a patient
    whose leukemia revumenib treats asks first (the revumenib dose would have to be lowered), never passes silently."""
    the_case = case(orders=[draft("posaconazole", 300)])
    assert evaluate(the_case) == ()  # the list was read and holds no revumenib: nothing to say
    assert evaluate(the_case, unread=frozenset({"medications"})) == ()  # only the MAR unread: the orders show none
    (check,) = evaluate(the_case, unread=frozenset({"medications", "prescriptions"}))
    assert check.verdict == "cannot-check" and check.level == "warning" and "medications" in check.missing_data
    assert "revumenib" in check.summary and "could not be read" in check.lines[0]
    # not for a patient revumenib does not treat, nor for a drug that only prolongs the QTc
    assert evaluate(case(kmt2a=Kmt2aStatus.NOT_DETECTED, orders=[draft("posaconazole", 300)]),
                    unread=frozenset({"medications", "prescriptions"})) == ()
    assert evaluate(case(orders=[draft("ondansetron", 8)]), unread=frozenset({"medications", "prescriptions"})) == ()
