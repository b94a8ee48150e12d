"""Rules that know the clinical moment: relapse vs diagnosis, time-bound inputs, ELN 2022's own footnotes, the
t(11;17) APL path, MRD methods by KMT2A status, and citations that belong to the patient's population."""

from __future__ import annotations

from cds_service.cards.assessment_cards import cards_for
from cds_service.stratification import assess, blocks_stratification, kb
from cds_service.stratification.facts import mrd_positive
from fhir_mappings.case import DiseaseStatus, Karyotype, Kmt2aStatus as K, Lineage, MrdMethod, MrdResult
from tests.clinical.cases import REF, kmt2a, make_case, src, tp53, years


def groups(a) -> set[tuple[str, str]]:
    return {(g.scheme, g.group) for g in a.risk_groups}


def codes(items) -> set[str]:
    return {i.code for i in items}


def missing_card(a) -> dict:
    return next(c for c in cards_for(a) if c["source"]["topic"]["code"] == "missing-data")  # blocking items only


def missing(a, code):
    return next(m for m in a.missing if m.code == code)


# --- relapse: lead with the relapse, the diagnosis-time group is history ---------------------------

def test_at_relapse_the_eln_group_is_history_and_the_card_leads_with_the_relapse():
    a = assess(make_case(age_at_dx_days=years(52), days_since_dx=400, lineage=Lineage.AML,
                         summary=kmt2a(K.REARRANGED, "AFDN"), status=DiseaseStatus.RELAPSED, weight=70, qtc=420))
    group = a.risk_groups[0]
    assert (group.scheme, group.group, group.history) == ("eln-2022", "adverse", True)
    assert any("classifies at initial diagnosis" in b for b in group.basis)
    assert a.to_json()["riskGroups"][0]["history"] is True
    summary = cards_for(a)[0]["summary"]
    assert summary.startswith("Relapsed/refractory") and "ELN 2022 adverse at diagnosis" in summary
    assert "hsct-cr1" not in codes(a.considerations)  # first remission is past


def test_at_diagnosis_the_group_is_current():
    a = assess(make_case(age_at_dx_days=years(52), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "AFDN")))
    assert not a.risk_groups[0].history and "history" not in a.to_json()["riskGroups"][0]
    assert "at diagnosis" not in cards_for(a)[0]["summary"].split(":")[1]


# --- time windows: not ordered once passed --------------------------------------------------------

def test_prednisone_response_is_ordered_while_its_day_is_still_ahead():
    a = assess(make_case(age_at_dx_days=130, days_since_dx=5, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=100))
    item = missing(a, "prednisone-response")
    assert item.order and not item.window_passed
    assert blocks_stratification(a)
    card = missing_card(a)
    assert card["indicator"] == "warning" and card["suggestions"]


def test_prednisone_response_after_day_8_is_reported_not_ordered_and_says_what_it_means():
    a = assess(make_case(age_at_dx_days=130, days_since_dx=20, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=100))
    item = missing(a, "prednisone-response")
    assert item.order is None and item.window_passed
    assert "cannot be measured now" in item.note and "medium from high risk" in item.note
    assert not blocks_stratification(a)
    cards = cards_for(a)
    assert not [c for c in cards if c["source"]["topic"]["code"] == "missing-data"]  # nothing to order
    assert "prednisone" not in " ".join(s["label"] for c in cards for s in c.get("suggestions", [])).lower()
    assert "not recorded" in cards[0]["summary"] and "Not recorded, time point passed" in cards[0]["detail"]
    assert not a.risk_groups  # still no guess between medium and high


def test_wbc_at_diagnosis_window_and_relapse_close_every_window():
    late = assess(make_case(age_at_dx_days=130, days_since_dx=30, summary=kmt2a(K.REARRANGED, "AFF1"), day8=0.2))
    assert missing(late, "wbc-at-diagnosis").window_passed
    relapsed = assess(make_case(age_at_dx_days=130, days_since_dx=3, summary=kmt2a(K.REARRANGED, "AFF1"),
                                status=DiseaseStatus.RELAPSED))
    assert all(m.window_passed for m in relapsed.missing if m.code in ("wbc-at-diagnosis", "prednisone-response"))


def test_end_of_induction_mrd_after_its_window_is_not_ordered():
    due = assess(make_case(age_at_dx_days=years(8), days_since_dx=35, summary=kmt2a(K.REARRANGED, "AFF1")))
    assert missing(due, "mrd-end-of-induction").order is not None
    passed = assess(make_case(age_at_dx_days=years(8), days_since_dx=kb.param("eoi_window_days")[1] + 10,
                              summary=kmt2a(K.REARRANGED, "AFF1")))
    item = missing(passed, "mrd-end-of-induction")
    assert item.order is None and "end of consolidation" in item.note


def test_interfant21_is_offered_at_diagnosis_and_only_named_after_induction():
    early = assess(make_case(age_at_dx_days=150, days_since_dx=5, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=100, day8=0.2))
    assert early.consideration("clinical-trial").strength == "consider"
    late = assess(make_case(age_at_dx_days=150, days_since_dx=60, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=100, day8=0.2))
    trial = late.consideration("clinical-trial")
    assert trial.strength == "info" and "enrols at diagnosis" in trial.note


# --- ELN 2022 footnotes ---------------------------------------------------------------------------

def test_tp53_below_the_eln_vaf_is_not_adverse():
    a = assess(make_case(age_at_dx_days=years(66), lineage=Lineage.AML, summary=kmt2a(K.NOT_DETECTED),
                         genetics=[tp53(vaf=0.04)]))
    assert not a.risk_groups


def test_tp53_without_a_vaf_asks_for_it_instead_of_guessing():
    a = assess(make_case(age_at_dx_days=years(66), lineage=Lineage.AML, summary=kmt2a(K.NOT_DETECTED),
                         genetics=[tp53(vaf=None)]))
    assert not a.risk_groups and "tp53-vaf" in a.missing_data


def test_tp53_vaf_is_read_from_the_genomics_component():
    from tests.mappings.helpers import observation
    from fhir_mappings import case_from_resources

    variant = observation("v", "69548-6", when="2025-03-01", valueCodeableConcept={"text": "Present"}, component=[
        {"code": {"coding": [{"system": "http://loinc.org", "code": "48018-6"}]},
         "valueCodeableConcept": {"coding": [{"system": "http://www.genenames.org", "code": "HGNC:11998", "display": "TP53"}]}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "48005-3"}]}, "valueCodeableConcept": {"text": "p.R175H"}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "81258-6"}]},
         "valueQuantity": {"value": 23, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}}])
    case = case_from_resources([variant], reference_date=REF)
    tp53_found = [g for g in case.genetic_findings if g.gene == "TP53"]
    assert tp53_found and abs(tp53_found[0].vaf - 0.23) < 1e-9


def test_mllt3_with_tp53_is_intermediate_and_with_an_adverse_karyotype_adverse_by_local_rule():
    gene = assess(make_case(age_at_dx_days=years(45), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT3"),
                            genetics=[tp53()]))
    assert groups(gene) == {("eln-2022", "intermediate")}
    kt = Karyotype("46,XY,del(5)(q13q33),t(9;11)(p21.3;q23.3)[20]", src("Observation/kt"), 2, False,
                   ("del(5)(q13q33)", "t(9;11)(p21.3;q23.3)"))
    cyto = assess(make_case(age_at_dx_days=years(45), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT3"), karyotype=kt))
    assert groups(cyto) == {("eln-2022", "adverse")}
    assert any("local rule" in d for d in cyto.disagreements)


def test_unknown_partner_with_only_a_tp53_mutation_needs_the_partner():
    """MLLT3 would outrank the mutation, any other partner is adverse: the partner decides."""
    a = assess(make_case(age_at_dx_days=years(45), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED), genetics=[tp53()]))
    assert not a.risk_groups and "fusion-partner" in a.missing_data
    assert "Adverse gene mutations do not decide here" in missing(a, "fusion-partner").note


# --- t(11;17)(q23;q21): the APL path --------------------------------------------------------------

def test_t11_17_asks_for_urgent_rara_testing_and_coagulation_with_one_fish_order():
    summary = kmt2a(K.REARRANGED, candidates=("MLLT6",), method="karyotype", ambiguity="t11-17-may-be-apl")
    a = assess(make_case(age_at_dx_days=years(41), lineage=Lineage.AML, summary=summary))
    caution = next(c for c in a.cautions if c.code == "t11-17-may-be-apl")
    assert "RARA" in caution.text and "coagulation" in caution.text and "S32" in caution.citations
    assert "fusion-partner" not in a.missing_data and "confirm-fusion-partner" not in codes(a.considerations)
    card = next(c for c in cards_for(a) if c.get("suggestions"))
    requests = [act["resource"] for s in card["suggestions"] for act in s["actions"]]
    fish = [r for r in requests if "FISH" in r["code"]["text"]]
    assert len(fish) == 1 and "RARA" in fish[0]["code"]["text"] and "KMT2A" in fish[0]["code"]["text"]
    assert all(r["priority"] == "stat" for r in requests)
    assert any("fibrinogen" in r["code"]["text"] for r in requests)
    assert card["indicator"] == "warning"


def test_t11_17_in_all_is_an_unconfirmed_kmt2a_partner_not_an_apl_emergency():
    summary = kmt2a(K.REARRANGED, candidates=("MLLT6",), method="karyotype", ambiguity="t11-17-may-be-apl")
    a = assess(make_case(age_at_dx_days=years(9), lineage=Lineage.B_ALL, summary=summary))
    assert "coagulation-work-up" not in a.missing_data and "t11-17-may-be-apl" not in codes(a.cautions)
    assert {"kmt2a-status", "fusion-partner"} <= set(a.missing_data) and not a.risk_groups


def test_t11_17_confirmed_by_kmt2a_fish_drops_the_apl_path():
    summary = kmt2a(K.REARRANGED, "MLLT6", method="fish", ambiguity="t11-17-may-be-apl")
    a = assess(make_case(age_at_dx_days=years(41), lineage=Lineage.AML, summary=summary))
    assert "coagulation-work-up" not in a.missing_data and "t11-17-may-be-apl" not in codes(a.cautions)


# --- MRD: methods by KMT2A status, one threshold ---------------------------------------------------

def test_germline_infant_gets_no_kmt2a_breakpoint_mrd_method():
    germline = assess(make_case(age_at_dx_days=200, days_since_dx=35, summary=kmt2a(K.NOT_DETECTED)))
    assert "KMT2A breakpoint" not in missing(germline, "mrd-end-of-induction").order["text"]
    assert "KMT2A breakpoint" not in germline.consideration("mrd-assessment").note
    rearranged = assess(make_case(age_at_dx_days=200, days_since_dx=35, summary=kmt2a(K.REARRANGED, "AFF1")))
    assert "KMT2A breakpoint" in missing(rearranged, "mrd-end-of-induction").order["text"]


def test_mrd_positivity_is_decided_at_the_all_threshold_or_by_the_coded_reading():
    flow = MrdResult(src("Observation/m", REF), value=0.0005, method=MrdMethod.FLOW)
    assert mrd_positive(flow) is True  # ALL: at or above 0.01 %
    below = MrdResult(src("Observation/m", REF), value=0.00005, method=MrdMethod.FLOW)
    assert mrd_positive(below) is False
    coded_only = MrdResult(src("Observation/m", REF), positive=True)
    assert mrd_positive(coded_only) is True


# --- citations belong to the patient's population -------------------------------------------------

def test_a_childs_mrd_claims_do_not_cite_the_infant_trials():
    a = assess(make_case(age_at_dx_days=years(8), days_since_dx=35, summary=kmt2a(K.REARRANGED, "AFF1"), mrd_eoi=0.002))
    for code in ("intensified-consolidation",):
        assert not {"S9", "S11"} & set(a.consideration(code).citations), code
    assert not {"S9", "S11"} & set(missing(assess(make_case(age_at_dx_days=years(8), days_since_dx=35,
                                                            summary=kmt2a(K.REARRANGED, "AFF1"))),
                                           "mrd-end-of-induction").citations)


def test_rearranged_adult_all_does_not_cite_the_amplification_reports():
    rearranged = assess(make_case(age_at_dx_days=years(40), summary=kmt2a(K.REARRANGED, "AFF1")))
    assert not {"S18", "S19"} & set(rearranged.risk_groups[0].sources)
    amplified = assess(make_case(age_at_dx_days=years(58), summary=kmt2a(K.AMPLIFIED)))
    adult = next(g for g in amplified.risk_groups if g.scheme == "adult-all")
    assert "S18" in adult.sources


def test_apl_caution_cites_apl_sources_not_a_partner_paper():
    assert set(kb.caution("t11-17-may-be-apl")["sources"]) == {"S32", "S33"}


def test_retrospective_associations_are_not_worded_as_causes():
    texts = [kb.population("hsct-cr1", "adult-aml")["note"], kb.caution("hsct-benefit-contested")["text"]]
    for text in texts:
        assert "improved" not in text and "associated" in text


def test_t4_11_caution_gives_its_figure_with_the_comparator_and_no_unsupported_advice():
    text = kb.caution("t4-11-highest-relapse-risk")["text"]
    assert "64.8 %" in text and "69.1 %" in text and "most intensive" not in text


def test_differentiation_syndrome_consideration_carries_no_superseded_rate():
    assert "%" not in kb.consideration("differentiation-syndrome-monitoring")["text"]
