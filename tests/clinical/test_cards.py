"""Card policy: usually one assessment card that leads with the conclusion and the actions, results quoted by content
and date, evidence as one linked phrase, warnings only for an action due now, nothing for charts with nothing to act
on, and one line when chart data could not be read. Budgets over every fixture: tests/clinical/test_card_budget.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from cds_service.cards.assessment_cards import EXTENSION_KEY, cards_for, policy
from cds_service.hooks.handlers import patient_view
from cds_service.hooks import protocol
from cds_service.hooks.call import HookCall
from cds_service.stratification import assess, kb
from cds_service.stratification.text import day, kmt2a_results, mrd
from fhir_mappings.build import case_from_bundle
from fhir_mappings.case import (Case, DiseaseStatus, Kmt2aFinding, Kmt2aStatus as K, Kmt2aSummary, Lineage, Measurement,
                                MrdResult, MrdTimepoint, Source)
from tests.clinical.cases import REF, kmt2a, make_case, years
from tests.clinical.vignettes import REFERENCE_DATE, load
from tests.support.card_budget import budget, measure_card


def by_topic(cards, topic):
    return [c for c in cards if c["source"].get("topic", {}).get("code") == topic]


def vignette_cards(name: str, unavailable=()):
    return cards_for(assess(case_from_bundle(load(name), reference_date=REFERENCE_DATE)), unavailable)


def test_no_leukemia_chart_gets_no_cards():
    assert cards_for(assess(make_case(diagnosed=False, lineage=Lineage.UNKNOWN))) == []


def test_kmt2a_negative_leukemia_with_nothing_to_act_on_gets_no_card():
    a = assess(case_from_bundle(load("adult-aml-tp53-germline-kmt2a"), reference_date=REFERENCE_DATE))
    assert a.kmt2a.status == "not-detected" and not (a.considerations or a.cautions or a.missing)
    assert cards_for(a) == []
    # a KMT2A-negative infant still has a KMT2A-decided risk group and protocol: one card
    assert len(vignette_cards("infant-low-germline")) == 1


def test_assessment_card_leads_with_the_conclusion_and_quotes_results_by_date():
    case = make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=450)
    a = assess(case)
    cards = cards_for(a)
    assert len(cards) == 1, [c["summary"] for c in cards]
    card = cards[0]
    assert card["indicator"] == "info"
    assert card["extension"][EXTENSION_KEY] == a.to_json()
    assert card["summary"] == "Interfant-06 high risk: KMT2A::AFF1 B-ALL, 3 months at diagnosis"
    detail = card["detail"]
    assert detail.startswith("**Consider**\n- Interfant-based protocol")
    assert f"WBC at diagnosis 450 x10^9/L on {day(case.diagnosis_date)}" in detail
    assert f"FISH KMT2A::AFF1 on {day(REF)}" in detail
    assert "Observation/" not in detail and "`" not in detail and "[V]" not in detail
    assert protocol.validate_response({"cards": cards}) == []


def test_evidence_is_one_linked_phrase_cited_once():
    card = cards_for(assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=450)))[0]
    assert card["detail"].count("[Interfant-06](https://") == 1


def test_a_source_disagreement_is_one_line_never_a_warning():
    a = assess(make_case(age_at_dx_days=250, summary=kmt2a(K.REARRANGED, "MLLT1"), wbc=100))
    cards = cards_for(a)
    assert "source-disagreement" in {c.code for c in a.cautions}
    assert sum(c["detail"].count("Sources differ") for c in cards) == 1
    assert all(c["indicator"] == "info" for c in cards)


def test_contested_transplant_benefit_is_one_line_not_a_warning():
    cards = vignette_cards("ped-aml-mllt10")
    assert [c["indicator"] for c in cards] == ["info"]
    assert "**Sources differ:** HSCT in CR1" in cards[0]["detail"]


@pytest.mark.parametrize("name, line", [("ped-aml-mllt10", "HSCT in CR1"),
                                        ("infant-under-3-months", "infant HSCT criteria")])
def test_a_transplant_on_record_takes_back_the_transplant_disagreement_with_the_advice(name, line):
    """Transplanted for this leukemia: 'discuss HSCT in first remission' is withdrawn, and the line saying the sources
    differ on that transplant goes with it (it changes nothing the clinician does now)."""
    case = case_from_bundle(load(name), reference_date=REFERENCE_DATE)
    assert f"**Sources differ:** {line}" in cards_for(assess(case))[0]["detail"]
    transplanted = replace(case, transplants=(Source("Procedure/hsct", case.diagnosis_date + timedelta(days=30)),))
    detail = cards_for(assess(transplanted))[0]["detail"]
    assert "HSCT in first remission" not in detail and "Sources differ" not in detail, detail


def test_amplified_adult_b_all_card_offers_no_rearrangement_guideline_advice():
    """The published KMT2A-amplified B-ALL adults (the case report this vignette follows): the card says what the case
    reports support (TP53 and Ph-like testing, a trial) and cites them, never the KMT2A-r adult ALL guideline."""
    detail = vignette_cards("case-report-patient-1")[0]["detail"]
    assert "HSCT" not in detail and "ELN adult ALL" not in detail, detail
    assert "TP53 testing" in detail and "case series" in detail


def test_amplification_is_named_not_a_rearrangement_without_a_warning():
    cards = cards_for(assess(make_case(age_at_dx_days=years(58), summary=kmt2a(K.AMPLIFIED, copies=(6, 18)))))
    assert [c["indicator"] for c in cards] == ["info"]
    assert "KMT2A-amplified (not rearranged)" in cards[0]["summary"]
    assert "**Note:** KMT2A amplification is not a rearrangement" in cards[0]["detail"]


def test_possible_apl_is_a_warning_card_of_its_own():
    cards = vignette_cards("adult-aml-t11-17-may-be-apl")
    warning = by_topic(cards, "safety-caution")
    assert [c["indicator"] for c in warning] == ["warning"]
    assert warning[0]["summary"] == kb.caution("t11-17-may-be-apl")["label"]
    assert warning[0]["overrideReasons"]
    # the KMT2A FISH that settles it is ordered once, from this card, not again on a missing-data card
    # (issue 10) one urgent FISH with KMT2A and RARA probes (it names the partner too) and the coagulation work-up
    orders = [s["actions"][0]["resource"] for c in cards for s in c.get("suggestions", [])]
    fish = [o["code"]["text"] for o in orders if "FISH" in o["code"]["text"]]
    assert len(fish) == 1 and "KMT2A and RARA" in fish[0] and all(o["priority"] == "stat" for o in orders)
    assert any("fibrinogen" in o["code"]["text"] for o in orders) and len(orders) == 2
    assert warning[0]["suggestions"] and not by_topic(cards, "missing-data")


def test_conflicting_kmt2a_results_are_named_by_content_on_the_warning():
    cards = vignette_cards("conflicting-kmt2a")
    assert len(cards) == 2
    warning = by_topic(cards, "safety-caution")[0]
    assert warning["indicator"] == "warning" and warning["summary"] == "Conflicting KMT2A results"
    assert "Results: FISH KMT2A::AFF1 on " in warning["detail"] and "Observation/" not in warning["detail"]


def test_blocking_missing_data_is_a_warning_with_orders_labelled_as_sentences():
    a = assess(make_case(age_at_dx_days=years(38), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED)))
    card = by_topic(cards_for(a), "missing-data")[0]
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Missing for risk stratification")
    assert card["selectionBehavior"] == "any"
    suggestion = card["suggestions"][0]
    assert suggestion["label"] == policy()["missing_data"]["order_labels"]["fusion-partner"]
    assert suggestion["uuid"] and suggestion["isRecommended"] is True
    resource = suggestion["actions"][0]["resource"]
    assert resource["resourceType"] == "ServiceRequest" and resource["status"] == "draft"
    assert resource["subject"] == {"reference": "Patient/p1"}
    assert "partner" in resource["code"]["text"].lower()


def test_non_blocking_missing_data_is_one_line_with_its_order_on_the_assessment_card():
    a = assess(make_case(age_at_dx_days=250, summary=kmt2a(K.REARRANGED, "AFF1"), days_since_dx=40))
    cards = cards_for(a)
    assert "mrd-end-of-induction" in a.missing_data
    assert len(cards) == 1 and not by_topic(cards, "missing-data")
    assert "**Still needed:** end-of-induction MRD" in cards[0]["detail"]
    resource = cards[0]["suggestions"][0]["actions"][0]["resource"]
    assert resource["resourceType"] == "ServiceRequest" and "MRD" in resource["code"]["text"]


def test_karyotype_only_says_why_kmt2a_fish_is_needed():
    a = assess(make_case(age_at_dx_days=150, summary=kmt2a(K.NOT_DETECTED, method="karyotype"), wbc=60))
    card = by_topic(cards_for(a), "missing-data")[0]
    assert card["indicator"] == "warning"
    assert "cryptic KMT2A rearrangement" in card["detail"]
    assert "FISH" in card["suggestions"][0]["actions"][0]["resource"]["code"]["text"]


def test_revumenib_under_one_year_is_one_line_for_information():
    cards = vignette_cards("relapsed-infant-off-label")
    assert [c["indicator"] for c in cards] == ["info"]
    assert "- Revumenib off-label under 1 year (for information)" in cards[0]["detail"]
    assert cards[0]["summary"].startswith("Relapsed/refractory KMT2A::AFF1 B-ALL: Interfant-06 high risk at diagnosis")


def test_more_than_three_considerations_show_three_actions_and_name_the_rest():
    cards = vignette_cards("relapsed-child-aml-menin")
    detail = cards[0]["detail"]
    actions = [line for line in detail.splitlines() if line.startswith("- ")]
    assert len(actions) == policy()["considerations"]["actions_shown"]
    assert actions[0].startswith("- Menin inhibitor revumenib — [FDA label](")
    assert "Also: QTc monitoring; Differentiation-syndrome watch." in detail  # starting it: the plans lead


def test_a_patient_on_revumenib_sees_its_monitoring_first():
    """The demo patient on revumenib: the monitoring of the drug the patient is taking outranks the plans (bridge
    to HSCT, a trial), so a card over its word budget, which cuts the last actions first, never cuts it first."""
    bundle = json.loads((Path(__file__).parents[2] / "demo" / "kmt2a-demo-adult-relapse.json").read_text())
    a = assess(case_from_bundle(bundle, reference_date=date(2026, 11, 29)))
    assert "menin-inhibitor" not in {c.code for c in a.considerations}  # on treatment: never "consider starting"
    detail = cards_for(a)[0]["detail"]
    actions = [line for line in detail.splitlines() if line.startswith("- ")]
    assert actions[0].startswith("- QTc monitoring") and actions[1].startswith("- Differentiation-syndrome watch")


def test_summaries_stay_under_140_characters_without_cutting_a_word():
    a = assess(make_case(age_at_dx_days=years(58), lineage=Lineage.B_ALL, status=DiseaseStatus.RELAPSED,
                         summary=kmt2a(K.AMPLIFIED, copies=(6, 18)), therapy_related=True))
    for card in cards_for(a):
        assert len(card["summary"]) < 140 and "…" not in card["summary"]
        assert not card["summary"].endswith((",", ";", ":", " "))


def test_unreadable_chart_data_is_said_once_and_nothing_is_ordered_for_it():
    bundle = load("infant-missing-wbc-ppr")
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    others = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": r} for r in resources if r["resourceType"] != "Patient"]}
    call = HookCall("kmt2a-patient-view", "patient-view", "a0a8f9d6-3e55-4b9f-9a43-4c0b1e2f8a11",
                    {"patientId": patient["id"], "userId": "Practitioner/x"},
                    {"patient": patient, "conditions": others}, REFERENCE_DATE, unavailable=("labs",))
    cards = patient_view(call)
    assert len(cards) == 1 and "suggestions" not in cards[0]
    detail = cards[0]["detail"]
    assert detail.count("Could not read lab results from the EHR") == 1
    assert "WBC at diagnosis" in detail.split("Could not read", 1)[1]  # named as possibly there, not ordered


def test_unread_data_hides_only_the_missing_items_it_may_hold():
    a = assess(make_case(age_at_dx_days=years(67), lineage=Lineage.AML))
    assert "kmt2a-status" in a.missing_data
    # ECGs cannot hold a KMT2A result: the FISH is still asked for, as a warning with its order
    missing = by_topic(cards_for(a, unavailable=("ecg",)), "missing-data")
    assert [c["indicator"] for c in missing] == ["warning"] and missing[0]["suggestions"]
    # genetic results can: said once on the assessment card, nothing ordered
    cards = cards_for(a, unavailable=("genomics",))
    assert len(cards) == 1 and "suggestions" not in cards[0]
    assert "KMT2A status may be recorded there" in cards[0]["detail"]


def test_a_chart_that_could_not_be_read_gets_one_info_card_instead_of_silence():
    empty = assess(make_case(diagnosed=False, lineage=Lineage.UNKNOWN))
    cards = cards_for(empty, unavailable=("conditions", "genomics"))
    assert [c["indicator"] for c in cards] == ["info"]
    assert cards[0]["summary"] == "KMT2A check not done: could not read diagnoses, genetic results from the EHR"
    assert cards[0]["extension"][EXTENSION_KEY] == empty.to_json()  # the contract: one card carries the assessment
    assert cards_for(empty, unavailable=("vitals",)) == []  # weight alone cannot reveal a leukemia
    assert protocol.validate_response({"cards": cards}) == []


def test_medication_lists_unreadable_with_a_menin_inhibitor_asks_to_check_inhibitors():
    cards = vignette_cards("relapsed-child-aml-menin", unavailable=("medicationRequests",))
    assert "check for a strong CYP3A4 inhibitor before dosing revumenib" in cards[0]["detail"]
    assert "Could not read medication orders from the EHR" in cards[0]["detail"]


def test_partial_data_wording_stays_true():
    a = assess(make_case(age_at_dx_days=years(7), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED)))
    summary = cards_for(a)[0]["summary"]
    assert "KMT2A-r (partner unknown)" in summary and "KMT2A::" not in summary
    unknown = cards_for(assess(make_case(age_at_dx_days=years(67), lineage=Lineage.AML)))[0]
    assert unknown["summary"] == "AML, KMT2A status unknown: risk group needs KMT2A status"
    assert unknown["detail"] == "No KMT2A result in the chart."


def test_risk_group_needs_only_what_blocks_a_risk_group_not_the_drug_dose():
    a = assess(make_case(age_at_dx_days=None, status=DiseaseStatus.RELAPSED, summary=kmt2a(K.REARRANGED, "AFF1")))
    assert {"weight", "qtc"} <= set(a.missing_data)
    assert cards_for(a)[0]["summary"].endswith("risk group needs age at diagnosis")


def test_in_remission_and_unknown_status_say_how_the_chart_was_read():
    remission = assess(make_case(age_at_dx_days=years(40), days_since_dx=60, lineage=Lineage.AML,
                                 status=DiseaseStatus.IN_REMISSION, summary=kmt2a(K.REARRANGED, "AFDN")))
    assert remission.to_json()["disease"]["setting"] == "newly-diagnosed"
    assert "**Disease status:** in remission per the chart, taken as first remission; if it follows a relapse, the " \
           "first-remission advice does not apply." \
        in cards_for(remission)[0]["detail"]
    unknown = assess(make_case(age_at_dx_days=years(9), status=DiseaseStatus.UNKNOWN, summary=kmt2a(K.REARRANGED, "AFF1")))
    assert "**Disease status:** none in the chart, read as newly diagnosed" in cards_for(unknown)[0]["detail"]
    new = assess(make_case(age_at_dx_days=years(40), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "AFDN")))
    assert "read as" not in cards_for(new)[0]["detail"]


def test_the_policy_table_places_every_caution_and_never_warns_on_a_disagreement():
    cautions = policy()["cautions"]
    assert set(kb.section("cautions")) <= set(cautions)
    for code, entry in cautions.items():
        if code.startswith("_"):
            continue
        assert entry["indicator"] in ("info", "warning") and entry["shown"] in ("card", "note", "label", "disagreement")
        assert (entry["indicator"] == "warning") == (entry["shown"] == "card"), code
    for contested in ("hsct-benefit-contested", "source-disagreement"):
        assert cautions[contested]["indicator"] == "info"
    assert set(kb.section("disagreements")) <= set(policy()["disagreements"])


def test_results_are_quoted_by_content_and_date():
    assert day(date(2025, 3, 8)) == "8 Mar 2025"
    karyotype = Kmt2aFinding(K.REARRANGED, Source("Observation/kar-dx", date(2025, 3, 8)), method="karyotype",
                             text="46,XY,t(9;11)(p21.3;q23.3)[20]")
    assert kmt2a_results((karyotype,)) == "karyotype 46,XY,t(9;11)(p21.3;q23.3)[20] on 8 Mar 2025"
    undated = Kmt2aFinding(K.AMPLIFIED, Source("Observation/x"), method="fish")
    assert kmt2a_results((undated,)) == "FISH KMT2A amplified"
    long_iscn = "47,XY,+8,t(9;11)(p21.3;q23.3),del(12)(p12p13),add(19)(q13.3)[18]/46,XY[2]"
    assert kmt2a_results((replace(karyotype, text=long_iscn),)) == f"karyotype {long_iscn} on 8 Mar 2025"
    # a report's narrative that starts with an ISCN string is read, not quoted whole onto the card
    narrative = replace(karyotype, fusion="KMT2A::MLLT3", text="t(9;11)(p21.3;q23.3)[20] FISH: KMT2A::MLLT3 fusion "
                        "in 94% of nuclei. Myeloid NGS panel: no NPM1 or FLT3 alterations; no TP53 variant")
    assert kmt2a_results((narrative,)) == "karyotype KMT2A::MLLT3 on 8 Mar 2025"
    eoi = MrdResult(Source("Observation/m", REF - timedelta(days=3)), value=0.0005,
                    timepoint=MrdTimepoint.END_OF_INDUCTION)
    assert mrd(eoi) == f"MRD end of induction 0.05 % on {day(REF - timedelta(days=3))}"


def test_an_infant_without_a_high_risk_feature_gets_the_transplant_disagreement_not_the_age_wording():
    """Medium risk by Interfant-06 but under 3 months (the overview's transplant criterion): the card lists HSCT, so
    the line must say the transplant criteria differ; the age wording changes nothing for this infant."""
    a = assess(case_from_bundle(load("infant-under-3-months"), reference_date=REFERENCE_DATE))
    assert [g.group for g in a.risk_groups if g.scheme == "interfant-06"] == ["medium"]
    texts = {kb.section("disagreements")[key]["text"]: key for key in kb.section("disagreements")}
    assert [texts[t] for t in a.disagreements] == ["infant-hsct-criteria"]
    detail = cards_for(a)[0]["detail"]
    assert "HSCT in first remission (infant high risk)" in detail
    assert "**Sources differ:** infant HSCT criteria" in detail
    high = assess(case_from_bundle(load("infant-high-wbc"), reference_date=REFERENCE_DATE))
    assert "interfant06-age-wording" in [texts[t] for t in high.disagreements]  # a high-risk feature: it matters


def test_a_long_basis_alone_is_cut_to_its_first_parts_and_counted():
    """Found by test_safety_properties: a relapsed infant T-ALL with no diagnosis date, where the first action and
    the basis alone ran past the word budget. The basis keeps its first parts and says how many more there are.
    (Two KMT2A results: the off-label line now cites the trial, a shorter phrase than the label, and one result no
    longer filled the budget.)"""
    finding = Kmt2aFinding(K.REARRANGED, Source("Observation/kmt2a", REF), "fish")
    karyotype = Kmt2aFinding(K.REARRANGED, Source("Observation/karyotype", REF), "karyotype",
                             text="46,XY,t(4;11)(q21;q23)[20]")
    case = Case(reference_date=REF, patient_id="p1", birth_date=REF - timedelta(days=1), age_days=1,
                lineage=Lineage.T_ALL, disease_status=DiseaseStatus.RELAPSED,
                kmt2a=Kmt2aSummary(status=K.REARRANGED, findings=(finding, karyotype)),
                wbc_at_diagnosis=Measurement(0.0, "10*9/L", Source("Observation/wbc", REF - timedelta(days=1))),
                day8_blood_blasts=Measurement(0.0, "10*9/L", Source("Observation/d8", REF + timedelta(days=6))))
    (card,) = cards_for(assess(case))
    assert measure_card(card).words <= budget()["words_per_card"]
    assert "more)." in card["detail"] and card["detail"].startswith("- Revumenib off-label")


def test_unknown_kmt2a_long_in_remission_is_silent_but_asked_for_in_the_first_remission_year():
    """An AML in remission for seven years with no KMT2A result: nothing it would decide is due (the first-remission
    transplant decision is long made; a relapse is tested then), so no warning to order FISH at every opening."""
    old = assess(make_case(age_at_dx_days=years(59), days_since_dx=2600, lineage=Lineage.AML,
                           status=DiseaseStatus.IN_REMISSION))
    assert "kmt2a-status" not in old.missing_data and cards_for(old) == []
    recent = assess(make_case(age_at_dx_days=years(59), days_since_dx=90, lineage=Lineage.AML,
                              status=DiseaseStatus.IN_REMISSION))
    assert "kmt2a-status" in recent.missing_data  # the first-remission transplant decision still needs it
    assert [c["indicator"] for c in cards_for(recent)] == ["info", "warning"]
    relapsed = assess(make_case(age_at_dx_days=years(59), days_since_dx=2600, lineage=Lineage.AML,
                                status=DiseaseStatus.RELAPSED))
    assert "kmt2a-status" in relapsed.missing_data  # at relapse it decides revumenib


@pytest.mark.parametrize("age_at_dx, lineage", [(years(59), Lineage.B_ALL), (100, Lineage.B_ALL),
                                                (years(8), Lineage.B_ALL), (years(9), Lineage.AML)],
                         ids=["adult-all", "infant-all", "child-all", "child-aml"])
def test_unknown_kmt2a_long_in_remission_is_silent_in_every_scheme(age_at_dx, lineage):
    """Every scheme asks for an unknown KMT2A status on the same terms (the adult and infant ALL rules asked for it
    seven years into remission, a warning at every opening, while the AML and childhood rules had stopped)."""
    old = assess(make_case(age_at_dx_days=age_at_dx, days_since_dx=2600, lineage=lineage,
                           status=DiseaseStatus.IN_REMISSION))
    assert "kmt2a-status" not in old.missing_data
    assert not [c for c in cards_for(old) if c["indicator"] == "warning"]
    recent = assess(make_case(age_at_dx_days=age_at_dx, days_since_dx=90, lineage=lineage,
                              status=DiseaseStatus.IN_REMISSION))
    assert "kmt2a-status" in recent.missing_data  # the first-remission decisions still need it
