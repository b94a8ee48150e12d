"""Card policy: one assessment card with the extension, few focused cards, indicators, wording with dates,
sources and tags, draft orders for missing tests, nothing for charts without leukemia."""

from __future__ import annotations

import re

from cds_service.hooks import protocol
from cds_service.hooks.call import HookCall
from cds_service.cards.patient_view import EXTENSION_KEY, cards_for, patient_view
from cds_service.stratification import assess, kb
from fhir_mappings.case import DiseaseStatus, Kmt2aStatus as K, Lineage
from tests.clinical.cases import REF, kmt2a, make_case, years
from tests.clinical.vignettes import load


def by_topic(cards, topic):
    return [c for c in cards if c["source"].get("topic", {}).get("code") == topic]


def test_no_leukemia_chart_gets_no_cards():
    assert cards_for(assess(make_case(diagnosed=False, lineage=Lineage.UNKNOWN))) == []


def test_assessment_card_carries_the_extension_and_explains_itself():
    a = assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=450))
    cards = cards_for(a)
    card = by_topic(cards, "risk-stratification")[0]
    assert card["indicator"] == "info"
    assert card["extension"][EXTENSION_KEY] == a.to_json()
    assert "Interfant-06 high risk" in card["summary"]
    detail = card["detail"]
    assert "Observation/wbc of " in detail  # the result and its date
    version = kb.rule_meta("interfant-06")["version"]
    assert f"`interfant-06 v{version}`" in detail and "[V]" in detail  # rule, version, verification tag
    assert "What would change it" in detail
    assert "Where sources disagree" in detail and "6 months" in detail
    assert card["links"] and all(link["type"] == "absolute" for link in card["links"])
    assert protocol.validate_response({"cards": cards}) == []


def test_source_disagreement_is_not_a_safety_warning_card():
    a = assess(make_case(age_at_dx_days=250, summary=kmt2a(K.REARRANGED, "MLLT1"), wbc=100))
    cards = cards_for(a)
    assert "source-disagreement" in {c.code for c in a.cautions}
    assert not by_topic(cards, "safety-caution")


def test_safety_cautions_are_a_warning_card():
    a = assess(make_case(age_at_dx_days=years(58), summary=kmt2a(K.AMPLIFIED, copies=(6, 18))))
    warning = by_topic(cards_for(a), "safety-caution")[0]
    assert warning["indicator"] == "warning"
    assert "amplification" in warning["summary"].lower()
    assert warning["overrideReasons"]


def test_blocking_missing_data_is_a_warning_with_orders():
    a = assess(make_case(age_at_dx_days=years(38), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED)))
    card = by_topic(cards_for(a), "missing-data")[0]
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Missing for risk stratification")
    assert card["selectionBehavior"] == "any"
    suggestion = card["suggestions"][0]
    assert suggestion["uuid"] and suggestion["isRecommended"] is True
    resource = suggestion["actions"][0]["resource"]
    assert resource["resourceType"] == "ServiceRequest" and resource["status"] == "draft"
    assert resource["subject"] == {"reference": "Patient/p1"}
    assert "partner" in resource["code"]["text"].lower()


def test_non_blocking_missing_data_is_info():
    a = assess(make_case(age_at_dx_days=250, summary=kmt2a(K.REARRANGED, "AFF1"), days_since_dx=40))
    card = by_topic(cards_for(a), "missing-data")[0]
    assert card["indicator"] == "info" and card["summary"].startswith("Still needed")


def test_menin_card_shows_dose_tag_and_ziftomenib_note():
    a = assess(make_case(age_at_dx_days=years(9), days_since_dx=500, lineage=Lineage.AML,
                         summary=kmt2a(K.REARRANGED, "MLLT3"), status=DiseaseStatus.RELAPSED, weight=32, bsa=1.1, qtc=420))
    card = by_topic(cards_for(a), "treatment-considerations")[0]
    assert card["summary"].startswith("Consider: Menin inhibitor revumenib")
    assert "[U]" in card["detail"] and "verify against the current label" in card["detail"]
    assert "Ziftomenib" in card["detail"] and "not for KMT2A-r" in card["detail"]


def test_partial_data_wording_stays_true():
    a = assess(make_case(age_at_dx_days=years(7), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED)))
    card = by_topic(cards_for(a), "risk-stratification")[0]
    assert "partner not identified" in card["detail"]
    assert "KMT2A::" not in card["summary"]
    unknown = assess(make_case(age_at_dx_days=years(67), lineage=Lineage.AML))
    summary = by_topic(cards_for(unknown), "risk-stratification")[0]["summary"]
    assert "KMT2A status unknown" in summary and "risk group needs KMT2A status" in summary


def test_summaries_drop_whole_items_when_long():
    a = assess(make_case(age_at_dx_days=95, days_since_dx=210, summary=kmt2a(K.REARRANGED, "AFF1"),
                         status=DiseaseStatus.RELAPSED, weight=8.2, bsa=0.4))
    cards = cards_for(a)
    for card in cards:
        assert len(card["summary"]) < 140
        assert "…" not in card["summary"]
    considerations = by_topic(cards, "treatment-considerations")[0]["summary"]
    assert re.search(r"\(\+\d more\)$", considerations), considerations
    assert considerations.startswith("Consider: Menin inhibitor revumenib (off-label)")


def test_handler_reads_a_hook_call_and_names_unavailable_prefetch():
    bundle = load("adult-aml-mllt3")
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    others = {"resourceType": "Bundle", "type": "searchset",
              "entry": [{"resource": r} for r in resources if r["resourceType"] != "Patient"]}
    call = HookCall("kmt2a-patient-view", "patient-view", "a0a8f9d6-3e55-4b9f-9a43-4c0b1e2f8a11",
                    {"patientId": patient["id"], "userId": "Practitioner/x"},
                    {"patient": patient, "conditions": others}, REF, unavailable=("labs",))
    cards = patient_view(call)
    card = by_topic(cards, "risk-stratification")[0]
    groups = card["extension"][EXTENSION_KEY]["riskGroups"]
    assert [(g["scheme"], g["group"]) for g in groups] == [("eln-2022", "intermediate")]
    assert "could not be retrieved (labs)" in card["detail"]


def test_karyotype_only_says_why_kmt2a_fish_is_needed():
    a = assess(make_case(age_at_dx_days=150, summary=kmt2a(K.NOT_DETECTED, method="karyotype"), wbc=60))
    card = by_topic(cards_for(a), "missing-data")[0]
    assert card["indicator"] == "warning"
    assert "cryptic KMT2A rearrangement" in card["detail"]
    assert "FISH" in card["suggestions"][0]["actions"][0]["resource"]["code"]["text"]


def _patient_section(card) -> str:
    return card["detail"].split("### Patient", 1)[1].split("\n\n", 1)[0]


def test_patient_line_shows_the_diagnosis_date_or_says_it_is_unknown():
    case = make_case(age_at_dx_days=years(40), days_since_dx=20, lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "AFDN"))
    dated = _patient_section(by_topic(cards_for(assess(case)), "risk-stratification")[0])
    assert f"diagnosed {case.diagnosis_date.isoformat()}" in dated
    case.diagnosis_date, case.age_at_diagnosis_days = None, None
    undated = _patient_section(by_topic(cards_for(assess(case)), "risk-stratification")[0])
    assert "diagnosis date unknown" in undated and "None" not in undated


def test_in_remission_is_shown_as_read_first_line():
    remission = assess(make_case(age_at_dx_days=years(40), days_since_dx=60, lineage=Lineage.AML,
                                 status=DiseaseStatus.IN_REMISSION, summary=kmt2a(K.REARRANGED, "AFDN")))
    assert remission.to_json()["disease"]["setting"] == "newly-diagnosed"
    line = _patient_section(by_topic(cards_for(remission), "risk-stratification")[0])
    assert "in remission" in line and "after relapse" in line
    new = assess(make_case(age_at_dx_days=years(40), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "AFDN")))
    assert "in remission" not in _patient_section(by_topic(cards_for(new), "risk-stratification")[0])


def test_relapsed_subject_without_age_group_keeps_the_gene_symbol_case():
    a = assess(make_case(age_at_dx_days=None, status=DiseaseStatus.RELAPSED, summary=kmt2a(K.REARRANGED, "AFF1")))
    summary = by_topic(cards_for(a), "risk-stratification")[0]["summary"]
    assert summary.startswith("Relapsed/refractory KMT2A::AFF1 B-ALL")
    infant = assess(make_case(age_at_dx_days=100, days_since_dx=60, status=DiseaseStatus.RELAPSED,
                              summary=kmt2a(K.REARRANGED, "AFF1")))
    assert by_topic(cards_for(infant), "risk-stratification")[0]["summary"].startswith("Relapsed/refractory infant KMT2A")


def test_risk_group_needs_only_what_blocks_a_risk_group_not_the_drug_dose():
    a = assess(make_case(age_at_dx_days=None, status=DiseaseStatus.RELAPSED, summary=kmt2a(K.REARRANGED, "AFF1")))
    assert {"weight", "qtc"} <= set(a.missing_data)
    card = by_topic(cards_for(a), "risk-stratification")[0]
    assert card["summary"].endswith("risk group needs age at diagnosis")
    needs = next(line for line in card["detail"].splitlines() if line.startswith("It needs:"))
    assert "weight" not in needs.lower() and "qtc" not in needs.lower()


def test_unknown_disease_status_says_first_line_was_assumed():
    a = assess(make_case(age_at_dx_days=years(9), status=DiseaseStatus.UNKNOWN, summary=kmt2a(K.REARRANGED, "AFF1")))
    assert "hsct-cr1" in {c.code for c in a.considerations}
    line = _patient_section(by_topic(cards_for(a), "risk-stratification")[0])
    assert "setting unknown" in line and "assume newly diagnosed" in line
