"""The rules over Case objects built directly: each rule's decision and its refusal to guess."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from cds_service.stratification import assess, kb
from cds_service.stratification.facts import mrd_positive
from cds_service.stratification.text import day
from fhir_mappings.case import DiseaseStatus, Karyotype, Kmt2aStatus as K, Lineage, MrdMethod, MrdResult, MrdTimepoint
from tests.clinical.cases import REF, crlf2, kmt2a, make_case, marker, medication, src, tp53, years


def groups(a) -> set[tuple[str, str]]:
    return {(g.scheme, g.group) for g in a.risk_groups}


def codes(items) -> set[str]:
    return {i.code for i in items}


# --- Interfant-06 ----------------------------------------------------------------------------------

def test_infant_young_high_wbc_is_high_without_prednisone_response():
    a = assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=450))
    assert groups(a) == {("interfant-06", "high")}
    assert "prednisone-response" not in a.missing_data
    assert "source-disagreement" in codes(a.cautions)


def test_infant_young_poor_prednisone_response_is_high():
    a = assess(make_case(age_at_dx_days=100, summary=kmt2a(K.REARRANGED, "MLLT1"), wbc=120, day8=2.5))
    assert groups(a) == {("interfant-06", "high")}
    assert "hsct-infant-timing" in codes(a.considerations)


def test_infant_young_low_wbc_good_response_is_medium():
    a = assess(make_case(age_at_dx_days=150, summary=kmt2a(K.REARRANGED, "MLLT3"), wbc=85, day8=0.3))
    assert groups(a) == {("interfant-06", "medium")}


def test_infant_young_without_wbc_or_ppr_gets_no_group_and_names_both():
    a = assess(make_case(age_at_dx_days=130, summary=kmt2a(K.REARRANGED, "AFF1")))
    assert not a.risk_groups
    assert {"wbc-at-diagnosis", "prednisone-response"} <= set(a.missing_data)


def test_infant_young_low_wbc_without_ppr_needs_only_ppr():
    a = assess(make_case(age_at_dx_days=130, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=100))
    assert not a.risk_groups
    assert "prednisone-response" in a.missing_data and "wbc-at-diagnosis" not in a.missing_data


def test_infant_wbc_of_exactly_300_is_high_as_the_full_report_says_and_the_disagreement_is_named():
    """Interfant-06 full report (J Clin Oncol 2019): '300 x 10^9/L or more'; its ASH abstract: '>300'. The rule
    follows the full report and names the disagreement only where it decides the group."""
    texts = {e["text"]: k for k, e in kb.section("disagreements").items()}
    at = assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=300, day8=0.2))
    assert groups(at) == {("interfant-06", "high")}
    assert "interfant06-wbc-cut-off" in [texts[t] for t in at.disagreements]
    assert kb.comparator("interfant06_wbc_high") == ">="
    above = assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=301, day8=0.2))
    below = assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=299, day8=0.2))
    assert groups(above) == {("interfant-06", "high")} and groups(below) == {("interfant-06", "medium")}
    for other in (above, below):
        assert "interfant06-wbc-cut-off" not in [texts[t] for t in other.disagreements]
    poor = assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=300, day8=2.0))
    assert "interfant06-wbc-cut-off" not in [texts[t] for t in poor.disagreements]  # high either way


@pytest.mark.parametrize("comparator, value, coded, expected", [
    ("<", 0.00005, None, False),   # "<0.005 %": certainly below 0.01 %
    ("<", 0.0005, None, None),     # "<0.05 %": the assay cannot tell against 0.01 %
    ("<", 0.0005, True, True),     # ... then the lab's own interpretation decides
    (">", 0.00005, None, None),    # ">0.005 %" cannot tell either
    (">", 0.0002, None, True),
    (None, 0.0001, None, True),    # exactly 0.01 % is positive
])
def test_mrd_positive_uses_the_comparator_and_falls_back_to_the_coded_result(comparator, value, coded, expected):
    result = MrdResult(src("Observation/mrd", REF), value=value, comparator=comparator, positive=coded)
    assert mrd_positive(result) is expected


@pytest.mark.parametrize("comparator, value, decided", [(">", 500, True), (">", 250, False), ("<", 100, False),
                                                        ("<", 500, False)])
def test_infant_wbc_reported_with_a_comparator_decides_only_when_it_can(comparator, value, decided):
    # ">500" is certainly >= 300 (high); ">250" and "<500" cannot be placed against 300; "<100" is certainly below.
    case = make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=value, day8=0.2)
    case.wbc_at_diagnosis = replace(case.wbc_at_diagnosis, comparator=comparator)
    a = assess(case)
    certain_below = comparator == "<" and value <= 300
    if decided:
        assert groups(a) == {("interfant-06", "high")}
    elif certain_below:
        assert groups(a) == {("interfant-06", "medium")}  # good prednisone response and WBC below 300
    else:
        assert not a.risk_groups and "wbc-at-diagnosis" in a.missing_data


def test_infant_six_months_or_older_is_medium_whatever_wbc():
    a = assess(make_case(age_at_dx_days=183, summary=kmt2a(K.REARRANGED, "MLLT1"), wbc=900))
    assert groups(a) == {("interfant-06", "medium")}
    assert not {"wbc-at-diagnosis", "prednisone-response"} & set(a.missing_data)


def test_infant_182_days_is_still_young():
    a = assess(make_case(age_at_dx_days=182, summary=kmt2a(K.REARRANGED, "MLLT1"), wbc=300))
    assert groups(a) == {("interfant-06", "high")}


def test_infant_germline_is_low():
    a = assess(make_case(age_at_dx_days=200, summary=kmt2a(K.NOT_DETECTED)))
    assert groups(a) == {("interfant-06", "low")}
    assert "source-disagreement" not in codes(a.cautions)


def test_infant_kmt2a_unknown_gets_no_group():
    a = assess(make_case(age_at_dx_days=200, summary=None, wbc=500))
    assert not a.risk_groups
    assert "kmt2a-status" in a.missing_data


def test_infant_mrd_negative_continue_positive_intensify():
    neg = assess(make_case(age_at_dx_days=250, summary=kmt2a(K.REARRANGED, "AFF1"), mrd_eoi=0.00005, days_since_dx=40))
    pos = assess(make_case(age_at_dx_days=250, summary=kmt2a(K.REARRANGED, "AFF1"), mrd_eoi=0.005, days_since_dx=40))
    assert "continue-risk-adapted-chemotherapy" in codes(neg.considerations)
    assert "intensified-consolidation" not in codes(neg.considerations)
    assert "intensified-consolidation" in codes(pos.considerations)


def test_infant_high_risk_mrd_negative_does_not_read_as_chemotherapy_only():
    high = assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=450, mrd_eoi=0.00001,
                            days_since_dx=40))
    assert "HSCT" in high.consideration("continue-risk-adapted-chemotherapy").note
    assert high.consideration("hsct-infant-timing") is not None
    medium = assess(make_case(age_at_dx_days=250, summary=kmt2a(K.REARRANGED, "AFF1"), mrd_eoi=0.00001, days_since_dx=40))
    assert "HSCT" not in medium.consideration("continue-risk-adapted-chemotherapy").note


def test_mrd_threshold_is_one_in_ten_thousand():
    at = assess(make_case(age_at_dx_days=250, summary=kmt2a(K.REARRANGED, "AFF1"), mrd_eoi=0.0001, days_since_dx=40))
    assert "intensified-consolidation" in codes(at.considerations)


def test_mrd_missing_after_induction_is_named_but_does_not_block():
    a = assess(make_case(age_at_dx_days=250, summary=kmt2a(K.REARRANGED, "AFF1"), days_since_dx=40))
    assert "mrd-end-of-induction" in a.missing_data
    assert groups(a) == {("interfant-06", "medium")}
    early = assess(make_case(age_at_dx_days=250, summary=kmt2a(K.REARRANGED, "AFF1"), days_since_dx=5))
    assert "mrd-end-of-induction" not in early.missing_data


def test_infant_under_3_months_overview_hsct_disagrees_with_interfant():
    a = assess(make_case(age_at_dx_days=60, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=150, day8=0.4))
    assert groups(a) == {("interfant-06", "medium")}
    hsct = a.consideration("hsct-infant-timing")
    assert hsct and "expert overview" in hsct.note and "Interfant-06:" not in hsct.note
    assert any("transplant criteria differ" in d for d in a.disagreements)


def test_infant_hsct_note_names_both_protocols_when_both_agree():
    a = assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=450))
    c = a.consideration("hsct-infant-timing")
    assert "Interfant-06" in c.note and "expert overview" in c.note
    assert "reaches 6 months on" in c.note
    assert (c.text + c.note).count("non-TBI") == 1  # said once on the card, not twice
    assert not any("transplant criteria differ" in d for d in a.disagreements)


def _with_mrd(case, *results):
    case.mrd_results = tuple(results)
    return case


def test_overview_persistent_mrd_needs_positives_on_two_dates_and_shows_them():
    day40, day90 = REF - timedelta(days=60), REF - timedelta(days=10)
    first = MrdResult(src("Observation/mrd-1", day40), value=0.002, timepoint=MrdTimepoint.END_OF_INDUCTION)
    later = MrdResult(src("Observation/mrd-2", day90), value=0.001, timepoint=MrdTimepoint.OTHER)
    case = _with_mrd(make_case(age_at_dx_days=250, days_since_dx=100, summary=kmt2a(K.REARRANGED, "MLLT1")), first, later)
    note = assess(case).consideration("hsct-infant-timing").note
    assert "persistent MRD positivity" in note
    assert day(day40) in note and day(day90) in note  # the results and their dates


def test_two_assays_of_one_sample_are_not_persistent_mrd():
    day40 = REF - timedelta(days=60)
    flow = MrdResult(src("Observation/mrd-flow", day40), value=0.002, timepoint=MrdTimepoint.END_OF_INDUCTION,
                     method=MrdMethod.FLOW)
    pcr = MrdResult(src("Observation/mrd-pcr", day40), value=0.003, timepoint=MrdTimepoint.END_OF_INDUCTION,
                    method=MrdMethod.PCR)
    case = _with_mrd(make_case(age_at_dx_days=250, days_since_dx=100, summary=kmt2a(K.REARRANGED, "MLLT1")), flow, pcr)
    assert assess(case).consideration("hsct-infant-timing") is None


def test_interfant_21_context_only_for_b_lineage():
    b = assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=450))
    t = assess(make_case(age_at_dx_days=120, lineage=Lineage.T_ALL, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=450))
    assert "Interfant-21" in (b.consideration("clinical-trial").note or "")
    assert t.consideration("clinical-trial") is None


def test_infant_t_all_group_comes_with_a_caution_that_the_protocol_is_unconfirmed():
    t = assess(make_case(age_at_dx_days=120, lineage=Lineage.T_ALL, summary=kmt2a(K.REARRANGED, "MLLT1"), wbc=50, day8=0.2))
    b = assess(make_case(age_at_dx_days=120, summary=kmt2a(K.REARRANGED, "MLLT1"), wbc=50, day8=0.2))
    assert "infant-t-all-protocol" in codes(t.cautions)
    assert any("T-ALL" in line for g in t.risk_groups for line in g.basis)
    assert "infant-t-all-protocol" not in codes(b.cautions)


# --- childhood ALL --------------------------------------------------------------------------------

def test_child_all_kmt2a_r_high_and_aff1_caution():
    a = assess(make_case(age_at_dx_days=years(6), summary=kmt2a(K.REARRANGED, "AFF1")))
    assert groups(a) == {("pediatric-all-kmt2a", "high")}
    assert "t4-11-highest-relapse-risk" in codes(a.cautions)
    assert {"clinical-trial", "mrd-assessment"} <= codes(a.considerations)
    assert "hsct-cr1" not in codes(a.considerations)  # no EFS gain from transplant for the rearrangement alone (S30)


def test_child_all_transplant_is_discussed_only_for_a_positive_mrd():
    positive = assess(make_case(age_at_dx_days=years(6), days_since_dx=60, summary=kmt2a(K.REARRANGED, "MLLT1"),
                                mrd_eoi=2e-4))
    negative = assess(make_case(age_at_dx_days=years(6), days_since_dx=60, summary=kmt2a(K.REARRANGED, "MLLT1"),
                                mrd_eoi=5e-5))
    assert {"hsct-cr1", "intensified-consolidation"} <= codes(positive.considerations)
    assert "hsct-cr1" not in codes(negative.considerations)
    assert "continue-risk-adapted-chemotherapy" in codes(negative.considerations)


def test_child_all_other_partner_no_t411_caution():
    a = assess(make_case(age_at_dx_days=years(9), summary=kmt2a(K.REARRANGED, "MLLT3")))
    assert "t4-11-highest-relapse-risk" not in codes(a.cautions)


def test_child_all_germline_no_group_no_missing():
    a = assess(make_case(age_at_dx_days=years(9), summary=kmt2a(K.NOT_DETECTED)))
    assert not a.risk_groups and not a.missing_data


# --- pediatric AML --------------------------------------------------------------------------------

@pytest.mark.parametrize("partner", ["AFF1", "AFDN", "MLLT10", "ABI1", "MLLT1"])
def test_pediatric_aml_high_risk_partners(partner):
    a = assess(make_case(age_at_dx_days=years(5), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, partner)))
    assert groups(a) == {("pediatric-aml-kmt2a", "high-risk-partner")}
    assert {"gemtuzumab-ozogamicin", "hsct-cr1"} <= codes(a.considerations)
    assert "hsct-benefit-contested" in codes(a.cautions)
    assert "source-disagreement" in codes(a.cautions)  # overview vs I-BFM: the card says they disagree
    assert any("I-BFM" in d and "overview" in d for d in a.disagreements)
    assert a.consideration("hsct-cr1").strength == "consider"


def test_pediatric_aml_basis_names_mllt10_very_high_risk_and_mllt11_not_favourable():
    mllt10 = assess(make_case(age_at_dx_days=years(5), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT10")))
    mllt11 = assess(make_case(age_at_dx_days=years(5), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT11")))
    assert any("very high risk" in b and "18.6" in b for b in mllt10.risk_groups[0].basis)
    assert any("do not treat as favourable" in b for b in mllt11.risk_groups[0].basis)


def test_relapsed_pediatric_aml_high_risk_partner_gets_no_hsct_in_cr1():
    a = assess(make_case(age_at_dx_days=years(5), days_since_dx=500, lineage=Lineage.AML, status=DiseaseStatus.RELAPSED,
                         summary=kmt2a(K.REARRANGED, "AFDN"), weight=20, bsa=0.8, qtc=420))
    assert groups(a) == {("pediatric-aml-kmt2a", "high-risk-partner")}
    assert "hsct-cr1" not in codes(a.considerations)
    assert "menin-inhibitor-bridge-to-hsct" in codes(a.considerations)


@pytest.mark.parametrize("partner", ["MLLT3", "MLLT11", "ELL", "SEPTIN6"])
def test_pediatric_aml_standard_partners(partner):
    a = assess(make_case(age_at_dx_days=years(5), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, partner)))
    assert groups(a) == {("pediatric-aml-kmt2a", "standard-partner")}
    assert "hsct-cr1" not in codes(a.considerations)
    assert "source-disagreement" not in codes(a.cautions)
    assert "gemtuzumab-ozogamicin" in codes(a.considerations)


def test_pediatric_aml_partner_unknown():
    a = assess(make_case(age_at_dx_days=years(7), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED)))
    assert groups(a) == {("pediatric-aml-kmt2a", "partner-unknown")}
    assert "fusion-partner" in a.missing_data
    assert "confirm-fusion-partner" in codes(a.considerations)


def test_infant_aml_uses_pediatric_aml_not_interfant():
    a = assess(make_case(age_at_dx_days=240, lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "AFDN")))
    assert groups(a) == {("pediatric-aml-kmt2a", "high-risk-partner")}


# --- adult AML (ELN 2022) -------------------------------------------------------------------------

def test_eln_mllt3_intermediate_other_adverse():
    mllt3 = assess(make_case(age_at_dx_days=years(45), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT3")))
    afdn = assess(make_case(age_at_dx_days=years(45), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "AFDN")))
    assert groups(mllt3) == {("eln-2022", "intermediate")}
    assert groups(afdn) == {("eln-2022", "adverse")}


def test_eln_partner_unknown_is_not_guessed():
    a = assess(make_case(age_at_dx_days=years(38), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED)))
    assert not a.risk_groups
    assert "fusion-partner" in a.missing_data


def test_eln_all_candidates_adverse_decides_adverse():
    summary = kmt2a(K.REARRANGED, candidates=("MLLT1", "ELL"), method="karyotype", ambiguity="t11-19-partner-ambiguous")
    a = assess(make_case(age_at_dx_days=years(50), lineage=Lineage.AML, summary=summary))
    assert groups(a) == {("eln-2022", "adverse")}
    assert "t11-19-partner-ambiguous" in codes(a.cautions)
    assert "confirm-fusion-partner" in codes(a.considerations)


def test_eln_ptd_no_kmt2a_row():
    a = assess(make_case(age_at_dx_days=years(63), lineage=Lineage.AML, summary=kmt2a(K.PTD)))
    assert not a.risk_groups
    assert "ptd-not-rearrangement" in codes(a.cautions)


def test_eln_tp53_adverse_independent_of_kmt2a():
    a = assess(make_case(age_at_dx_days=years(70), lineage=Lineage.AML, summary=kmt2a(K.NOT_DETECTED), genetics=[tp53()]))
    assert groups(a) == {("eln-2022", "adverse")}
    # KMT2A unknown: a t(9;11) would outrank the TP53 mutation (ELN 2022 footnote), so KMT2A decides: no guess.
    unknown = assess(make_case(age_at_dx_days=years(70), lineage=Lineage.AML, summary=None, genetics=[tp53()]))
    assert not groups(unknown) and "kmt2a-status" in unknown.missing_data


def test_eln_complex_karyotype_not_double_counted_with_mllt3():
    kt = Karyotype("48,XY,+8,+19,del(9)(q22),t(9;11)(p21.3;q23.3)[20]", src("Observation/kt"), 4, True,
                   ("+8", "+19", "del(9)(q22)", "t(9;11)(p21.3;q23.3)"))
    a = assess(make_case(age_at_dx_days=years(45), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT3"), karyotype=kt))
    assert groups(a) == {("eln-2022", "intermediate")}


def test_eln_monosomal_karyotype_is_adverse_even_with_mllt3_and_says_sources_disagree():
    kt = Karyotype("45,XY,-7,t(9;11)(p21.3;q23.3)[20]", src("Observation/kt"), 2, False, ("-7", "t(9;11)(p21.3;q23.3)"))
    a = assess(make_case(age_at_dx_days=years(45), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT3"), karyotype=kt))
    assert groups(a) == {("eln-2022", "adverse")}
    assert any("monosomal karyotype" in b for b in a.risk_groups[0].basis)
    assert "source-disagreement" in codes(a.cautions)


def test_eln_monosomal_karyotype_without_kmt2a_rearrangement_is_adverse():
    two = Karyotype("44,XX,-5,-7[20]", src("Observation/kt"), 2, False, ("-5", "-7"))
    one = Karyotype("45,XX,-7[20]", src("Observation/kt"), 1, False, ("-7",))
    adverse = assess(make_case(age_at_dx_days=years(60), lineage=Lineage.AML, summary=kmt2a(K.NOT_DETECTED), karyotype=two))
    single = assess(make_case(age_at_dx_days=years(60), lineage=Lineage.AML, summary=kmt2a(K.NOT_DETECTED), karyotype=one))
    assert groups(adverse) == {("eln-2022", "adverse")}
    # the karyotype is quoted once, then what it shows (not once per lesion)
    assert "karyotype 44,XX,-5,-7[20] on 1 Nov 2026: -5, -7, monosomal karyotype" in adverse.risk_groups[0].basis
    assert sum(b.count("44,XX,-5,-7[20]") for b in adverse.risk_groups[0].basis) == 1
    # one monosomy alone is not a monosomal karyotype, but -7 is its own ELN 2022 adverse row
    assert groups(single) == {("eln-2022", "adverse")}
    assert not any("monosomal" in b for b in single.risk_groups[0].basis)
    assert "no KMT2A alteration" in adverse.risk_groups[0].basis  # in words, never the status code "not-detected"
    ptd = assess(make_case(age_at_dx_days=years(60), lineage=Lineage.AML, summary=kmt2a(K.PTD), karyotype=two))
    assert "KMT2A-PTD" in ptd.risk_groups[0].basis and not any("ptd" in b for b in ptd.risk_groups[0].basis)


def test_eln_mllt3_takes_precedence_over_a_tp53_mutation():
    """ELN 2022 footnote: t(9;11) takes precedence over rare, concurrent adverse-risk gene mutations."""
    a = assess(make_case(age_at_dx_days=years(45), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT3"), genetics=[tp53()]))
    assert groups(a) == {("eln-2022", "intermediate")}
    assert any("takes precedence" in b for b in a.risk_groups[0].basis)
    assert "source-disagreement" not in codes(a.cautions)


def test_eln_mllt3_with_17p_deletion_is_adverse_by_a_local_rule_and_says_so():
    kt = Karyotype("46,XY,del(17)(p13),t(9;11)(p21.3;q23.3)[20]", src("Observation/kt"), 2, False,
                   ("del(17)(p13)", "t(9;11)(p21.3;q23.3)"))
    a = assess(make_case(age_at_dx_days=years(45), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT3"), karyotype=kt))
    assert groups(a) == {("eln-2022", "adverse")}
    assert any("local rule" in b for b in a.risk_groups[0].basis)
    assert any("local rule" in d for d in a.disagreements) and "source-disagreement" in codes(a.cautions)


def test_t11_17_karyotype_alone_is_not_called_kmt2a_r():
    summary = kmt2a(K.REARRANGED, candidates=("MLLT6",), method="karyotype", ambiguity="t11-17-may-be-apl")
    a = assess(make_case(age_at_dx_days=years(41), lineage=Lineage.AML, summary=summary, status=DiseaseStatus.RELAPSED,
                         weight=70, qtc=420))
    assert not a.risk_groups
    assert a.kmt2a.status == "unknown"
    assert "t11-17-may-be-apl" in codes(a.cautions)
    assert {"kmt2a-status", "coagulation-work-up"} <= set(a.missing_data)
    assert "menin-inhibitor" not in codes(a.considerations)


# --- adult ALL and amplification ------------------------------------------------------------------

def test_adult_all_rearranged_high():
    a = assess(make_case(age_at_dx_days=years(35), summary=kmt2a(K.REARRANGED, "AFF1")))
    assert groups(a) == {("adult-all", "high")}


def test_amplified_all_adult_gets_both_schemes_and_never_menin():
    a = assess(make_case(age_at_dx_days=years(58), summary=kmt2a(K.AMPLIFIED, copies=(6, 18)), genetics=[tp53()],
                         status=DiseaseStatus.RELAPSED, weight=80, qtc=410))
    assert groups(a) == {("adult-all", "high"), ("kmt2a-amplified", "high")}
    assert "amplification-not-rearrangement" in codes(a.cautions)
    assert {"tp53-germline-testing", "ph-like-testing", "clinical-trial"} <= codes(a.considerations)
    assert "menin-inhibitor" not in codes(a.considerations) and "tp53-testing" not in codes(a.considerations)
    assert "Arg175His" in a.consideration("tp53-germline-testing").note
    assert a.to_json()["kmt2a"]["copyNumber"] == 6


def test_amplified_adult_all_cites_only_the_amplification_reports():
    """Amplification is not rearrangement: the adult-ALL transplant and trial advice (ELN adult ALL 2024, UKALL) is
    about KMT2A-r ALL. An amplified adult B-ALL gets only what its case reports support, cited to them."""
    a = assess(make_case(age_at_dx_days=years(58), summary=kmt2a(K.AMPLIFIED, copies=(6, 18)), genetics=[tp53()]))
    assert "hsct-cr1" not in codes(a.considerations)
    trial = a.consideration("clinical-trial")
    assert trial.strength == "consider" and trial.evidence == "case-report"
    assert set(trial.citations) == {"S18", "S19"}, trial.citations
    assert "no guideline" in trial.note
    adult = next(g for g in a.risk_groups if g.scheme == "adult-all")
    assert set(adult.sources) <= {"S18", "S19"}, adult.sources
    rearranged = assess(make_case(age_at_dx_days=years(58), summary=kmt2a(K.REARRANGED, "AFF1")))
    assert "S37" in rearranged.consideration("hsct-cr1").citations  # the guideline stays where it applies


def test_amplified_aml_no_ph_like_testing():
    a = assess(make_case(age_at_dx_days=years(60), lineage=Lineage.AML, summary=kmt2a(K.AMPLIFIED, copies=(8, 8))))
    assert ("kmt2a-amplified", "high") in groups(a)
    assert "ph-like-testing" not in codes(a.considerations)


# What only a rearrangement earns: a KMT2A-r risk group, a partner to confirm, HSCT timing, a menin inhibitor.
REARRANGEMENT_ONLY = {"hsct-cr1", "hsct-infant-timing", "confirm-fusion-partner", "menin-inhibitor"}
KMT2A_R_SCHEMES = {"interfant-06", "pediatric-aml-kmt2a"}


@pytest.mark.parametrize("status", [K.AMPLIFIED, K.PTD])
@pytest.mark.parametrize("age_at_dx_days, lineage", [(years(60), Lineage.AML), (years(8), Lineage.AML),
                                                     (100, Lineage.B_ALL), (years(10), Lineage.B_ALL),
                                                     (years(58), Lineage.B_ALL)],
                         ids=["adult-aml", "child-aml", "infant-b-all", "child-b-all", "adult-b-all"])
def test_amplification_and_ptd_never_take_a_rearrangement_path(status, age_at_dx_days, lineage):
    """Each assertion above checks what an amplified or PTD case gets; this one what it must never get. Reading
    amplification as a rearrangement in the rules' facts passed every other deterministic test."""
    summary = kmt2a(status, copies=(8, 8)) if status is K.AMPLIFIED else kmt2a(status)
    a = assess(make_case(age_at_dx_days=age_at_dx_days, lineage=lineage, summary=summary, wbc=400, day8=2.0))
    assert not REARRANGEMENT_ONLY & codes(a.considerations), codes(a.considerations)
    assert not KMT2A_R_SCHEMES & {g.scheme for g in a.risk_groups}, groups(a)
    assert "fusion-partner" not in a.missing_data
    assert {"amplification-not-rearrangement", "ptd-not-rearrangement"} & codes(a.cautions)


def test_amplified_t_all_no_ph_like_testing_but_b_all_has_it():
    t = assess(make_case(age_at_dx_days=years(30), lineage=Lineage.T_ALL, summary=kmt2a(K.AMPLIFIED, copies=(8, 8))))
    b = assess(make_case(age_at_dx_days=years(30), lineage=Lineage.B_ALL, summary=kmt2a(K.AMPLIFIED, copies=(8, 8))))
    assert "ph-like-testing" not in codes(t.considerations)
    assert "ph-like-testing" in codes(b.considerations)


def test_a_finding_whose_detail_names_the_gene_is_not_doubled():
    from fhir_mappings.case import GeneticFinding

    named = GeneticFinding("CRLF2", "rearrangement", True, src("Observation/crlf2"), "CRLF2 rearrangement")
    a = assess(make_case(age_at_dx_days=years(66), summary=kmt2a(K.AMPLIFIED, copies=(8, 11)), genetics=[named]))
    note = a.consideration("ph-like-testing").note
    assert f"CRLF2 rearrangement on {day(REF)}" in note and "CRLF2 CRLF2" not in note
    assert "TP53 p.Arg175His" in assess(make_case(age_at_dx_days=years(58), summary=kmt2a(K.AMPLIFIED, copies=(6, 18)),
                                                  genetics=[tp53()])).consideration("tp53-germline-testing").note


def test_case_report_2_crlf2_known():
    a = assess(make_case(age_at_dx_days=years(66), summary=kmt2a(K.AMPLIFIED, copies=(8, 11)), genetics=[crlf2()]))
    assert "CRLF2" in a.consideration("ph-like-testing").note


# --- therapy-related, relapsed ------------------------------------------------------------------

def test_therapy_related_from_prior_etoposide():
    etoposide = medication("etoposide", "topoisomerase-ii-inhibitor", active=False, start=REF - timedelta(days=800))
    a = assess(make_case(age_at_dx_days=years(55), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT3"),
                         medications=[etoposide]))
    assert "therapy-related" in codes(a.cautions)
    assert "hsct-cr1" in codes(a.considerations)
    assert a.to_json()["disease"]["therapyRelated"] is True


def test_relapsed_menin_eligible_with_dose_and_monitoring():
    a = assess(make_case(age_at_dx_days=years(9), days_since_dx=500, lineage=Lineage.AML,
                         summary=kmt2a(K.REARRANGED, "MLLT3"), status=DiseaseStatus.RELAPSED, weight=32, bsa=1.1, qtc=420))
    menin = a.consideration("menin-inhibitor")
    assert menin and menin.strength == "consider"
    assert "mg/m2" in menin.note and "verify" in menin.note.lower()
    assert "ziftomenib" in menin.note.lower() and menin.tag == "P"  # the ziftomenib remark is only partly verified
    assert {"qtc-monitoring", "differentiation-syndrome-monitoring", "menin-inhibitor-bridge-to-hsct"} <= codes(a.considerations)
    assert not a.missing_data


def test_relapsed_menin_dose_with_strong_inhibitor():
    posa = medication("posaconazole", "strong-cyp3a4-inhibitor")
    a = assess(make_case(age_at_dx_days=years(38), days_since_dx=700, summary=kmt2a(K.REARRANGED, "AFF1"),
                         status=DiseaseStatus.RELAPSED, weight=72, qtc=430, medications=[posa]))
    assert "160 mg" in a.consideration("menin-inhibitor").note
    assert "posaconazole" in a.consideration("menin-inhibitor").note


def test_relapsed_infant_off_label():
    a = assess(make_case(age_at_dx_days=95, days_since_dx=210, summary=kmt2a(K.REARRANGED, "AFF1"),
                         status=DiseaseStatus.RELAPSED, weight=8.2, bsa=0.4, qtc=400))
    assert "menin-inhibitor-off-label-age" in codes(a.cautions)
    assert a.consideration("menin-inhibitor").strength == "info"
    assert any("30 days" in d and "label" in d for d in a.disagreements)  # label vs trial age: said on the card


def _primary_source(consideration) -> str:
    from cds_service.cards.assessment_cards import _primary
    return _primary(consideration.citations)


def test_revumenib_under_1_year_cites_the_trial_not_the_label():
    """The label covers 1 year and older (both indications): for an infant the menin-inhibitor line and the bridge to
    transplant rest on AUGMENT-101 (enrolled from 30 days), and no dose is called the label dose."""
    infant = assess(make_case(age_at_dx_days=95, days_since_dx=210, summary=kmt2a(K.REARRANGED, "AFF1"),
                              status=DiseaseStatus.RELAPSED, weight=8.2, bsa=0.4, qtc=400))
    for code in ("menin-inhibitor", "menin-inhibitor-bridge-to-hsct"):
        c = infant.consideration(code)
        assert _primary_source(c) == "S14" and c.evidence == "prospective-trial", (code, c.citations, c.evidence)
        assert "S13" not in c.citations, code  # the label indication summary is not this patient's evidence
    assert "Label dose" not in infant.consideration("menin-inhibitor").note
    assert "No label dose at this age" in infant.consideration("menin-inhibitor").note
    child = assess(make_case(age_at_dx_days=years(5), days_since_dx=400, summary=kmt2a(K.REARRANGED, "AFF1"),
                             status=DiseaseStatus.RELAPSED, weight=19, bsa=0.75, qtc=400))
    for code in ("menin-inhibitor", "menin-inhibitor-bridge-to-hsct"):
        c = child.consideration(code)
        assert _primary_source(c) == "S12" and c.evidence == "label", (code, c.citations, c.evidence)
    assert "Label dose" in child.consideration("menin-inhibitor").note


def test_an_infant_already_on_revumenib_is_not_told_the_label_backs_the_bridge():
    on_it = medication("revumenib", "menin-inhibitor")
    a = assess(make_case(age_at_dx_days=95, days_since_dx=210, summary=kmt2a(K.REARRANGED, "AFF1"),
                         status=DiseaseStatus.RELAPSED, weight=8.2, bsa=0.4, qtc=400, medications=[on_it]))
    bridge = a.consideration("menin-inhibitor-bridge-to-hsct")
    assert _primary_source(bridge) == "S14" and bridge.evidence == "prospective-trial", bridge.citations


def test_relapsed_unknown_kmt2a_no_menin_and_named_missing():
    a = assess(make_case(age_at_dx_days=years(29), lineage=Lineage.AML, status=DiseaseStatus.RELAPSED, weight=64))
    assert "menin-inhibitor" not in codes(a.considerations)
    assert "kmt2a-status" in a.missing_data


def test_relapsed_missing_weight_names_weight_and_qtc():
    a = assess(make_case(age_at_dx_days=years(25), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT10"),
                         status=DiseaseStatus.REFRACTORY))
    assert "menin-inhibitor" in codes(a.considerations)
    assert {"weight", "qtc"} <= set(a.missing_data)
    assert "cannot be computed" in a.consideration("menin-inhibitor").note


def test_newly_diagnosed_no_menin():
    a = assess(make_case(age_at_dx_days=years(25), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "MLLT10"), weight=70))
    assert "menin-inhibitor" not in codes(a.considerations)


# --- pitfalls ------------------------------------------------------------------------------------

def test_lineage_switch_from_marker_or_cd19_therapy():
    by_marker = assess(make_case(age_at_dx_days=years(4), summary=kmt2a(K.REARRANGED, "AFF1"), markers=[marker("CD65")]))
    by_drug = assess(make_case(age_at_dx_days=years(4), summary=kmt2a(K.REARRANGED, "AFF1"),
                               medications=[medication("blinatumomab")]))
    none = assess(make_case(age_at_dx_days=years(4), summary=kmt2a(K.REARRANGED, "AFF1"), markers=[marker("CD65", False)]))
    assert "lineage-switch-monitoring" in codes(by_marker.considerations)
    assert "lineage-switch-monitoring" in codes(by_drug.considerations)
    assert "lineage-switch-monitoring" not in codes(none.considerations)


def test_conflicting_kmt2a_results():
    summary = kmt2a(K.UNKNOWN, conflicts=("FISH Observation/a rearranged vs FISH Observation/b not detected",))
    a = assess(make_case(age_at_dx_days=years(8), summary=summary))
    assert "kmt2a-evidence-conflict" in codes(a.cautions)
    assert "kmt2a-status" in a.missing_data
    assert not a.risk_groups


def test_no_leukemia_no_findings_nothing_missing():
    a = assess(make_case(diagnosed=False, lineage=Lineage.UNKNOWN, age_at_dx_days=years(45)))
    assert not a.risk_groups and not a.missing_data and not a.considerations
    assert a.disease.has_leukemia is False


def test_unknown_lineage_with_kmt2a_finding_asks_for_lineage():
    a = assess(make_case(lineage=Lineage.UNKNOWN, diagnosed=False, summary=kmt2a(K.REARRANGED, "AFF1"), age_at_dx_days=years(30)))
    assert "lineage" in a.missing_data and not a.risk_groups


def test_age_unknown_no_age_based_group():
    case = make_case(age_at_dx_days=None, summary=kmt2a(K.REARRANGED, "AFF1"), wbc=500)
    a = assess(case)
    assert not a.risk_groups
    assert "age" in a.missing_data


def test_ptd_caution_in_any_lineage_and_no_menin():
    a = assess(make_case(age_at_dx_days=years(12), lineage=Lineage.AML, summary=kmt2a(K.PTD),
                         status=DiseaseStatus.RELAPSED, weight=40, qtc=400))
    assert "ptd-not-rearrangement" in codes(a.cautions)
    assert not a.risk_groups
    assert "menin-inhibitor" not in codes(a.considerations)


def test_every_karyotype_ambiguity_the_mapper_can_emit_has_a_caution_text():
    """A caution without text would otherwise fail at run time; the data must be complete instead."""
    from cds_service import knowledge
    from fhir_mappings import terminology

    emitted = {row["ambiguity"] for row in terminology.rows("iscn_partners.csv") if row["ambiguity"]}
    assert emitted, "the ISCN table names no ambiguity: this test would check nothing"
    assert emitted <= set(knowledge.load("rules.json")["cautions"])


def test_ambiguous_karyotype_names_its_caution_and_asks_for_the_partner():
    a = assess(make_case(age_at_dx_days=years(45), lineage=Lineage.AML,
                         summary=kmt2a(K.REARRANGED, method="karyotype", candidates=("MLLT1", "ELL"),
                                       ambiguity="t11-19-partner-ambiguous")))
    assert "t11-19-partner-ambiguous" in codes(a.cautions)
    assert "fusion-partner" in a.missing_data


def test_child_under_40_kg_without_bsa_needs_height_for_the_dose():
    a = assess(make_case(age_at_dx_days=years(6), days_since_dx=400, lineage=Lineage.AML,
                         summary=kmt2a(K.REARRANGED, "MLLT3"), status=DiseaseStatus.RELAPSED, weight=20, qtc=410))
    assert "height" in a.missing_data and "weight" not in a.missing_data
    assert "160 mg/m2" in a.consideration("menin-inhibitor").note


def test_17p_abnormality_in_karyotype_is_adverse_for_eln():
    kt = Karyotype("46,XY,del(17)(p13)[20]", src("Observation/kt"), 1, False, ("del(17)(p13)",))
    a = assess(make_case(age_at_dx_days=years(50), lineage=Lineage.AML, summary=kmt2a(K.NOT_DETECTED), karyotype=kt))
    assert groups(a) == {("eln-2022", "adverse")}
    assert any("del(17)(p13)" in b for b in a.risk_groups[0].basis)


def test_normal_karyotype_alone_is_not_germline():
    a = assess(make_case(age_at_dx_days=150, summary=kmt2a(K.NOT_DETECTED, method="karyotype"), wbc=60))
    assert not a.risk_groups
    assert a.kmt2a.status == "unknown" and "kmt2a-status" in a.missing_data


def test_one_report_with_two_findings_is_named_once_in_the_basis():
    # A Genomics Reporting fusion with an ISCN component yields a FISH and a karyotype finding from one Observation.
    summary = kmt2a(K.REARRANGED, "AFF1")
    both = replace(summary, findings=(*summary.findings, replace(summary.findings[0], method="karyotype")))
    a = assess(make_case(age_at_dx_days=120, summary=both, wbc=450))
    (basis,) = [line for g in a.risk_groups for line in g.basis if line.startswith("KMT2A rearranged")]
    assert basis.count(day(REF)) == 1 and "FISH and karyotype KMT2A::AFF1" in basis


# --- a transplant on record -----------------------------------------------------------------------

def _transplanted(case, when):
    from fhir_mappings.case import Source
    return replace(case, transplants=(Source("Procedure/hsct", when),))


def test_transplant_after_diagnosis_withdraws_first_remission_transplant_advice():
    """Transplanted for this leukemia: 'discuss HSCT in first remission' has been acted on and is not shown."""
    # a positive end-of-induction MRD: the childhood ALL rule discusses transplant for it, not for the fusion alone
    case = make_case(age_at_dx_days=years(6), summary=kmt2a(K.REARRANGED, "AFF1"), days_since_dx=200, mrd_eoi=2e-4)
    assert "hsct-cr1" in codes(assess(case).considerations)
    a = assess(_transplanted(case, case.diagnosis_date + timedelta(days=150)))
    assert "hsct-cr1" not in codes(a.considerations)
    assert {"clinical-trial", "intensified-consolidation"} <= codes(a.considerations)  # the rest of the advice stands
    assert groups(a) == {("pediatric-all-kmt2a", "high")}


def test_infant_transplant_after_diagnosis_withdraws_the_infant_transplant_timing():
    case = make_case(age_at_dx_days=100, summary=kmt2a(K.REARRANGED, "MLLT1"), wbc=120, day8=2.5, days_since_dx=250)
    assert "hsct-infant-timing" in codes(assess(case).considerations)
    a = assess(_transplanted(case, case.diagnosis_date + timedelta(days=200)))
    assert "hsct-infant-timing" not in codes(a.considerations)
    assert groups(a) == {("interfant-06", "high")}


def test_an_undated_transplant_beside_an_older_one_is_asked_about_without_the_older_date():
    """An autologous transplant years before this AML and an undated one: the undated one is the question; quoting
    the older date ('on record (3 Mar 2024): check whether it was for this leukemia') points at the wrong one."""
    from fhir_mappings.case import Source
    case = make_case(age_at_dx_days=years(60), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "AFDN"))
    old = case.diagnosis_date - timedelta(days=900)
    a = assess(replace(case, transplants=(Source("Procedure/auto", old), Source("Procedure/hsct", None))))
    note = a.consideration("hsct-cr1").note
    assert "(date not recorded): check whether it was for this leukemia" in note and day(old) not in note, note


@pytest.mark.parametrize("when", [None, "before-diagnosis"])
def test_transplant_undated_or_before_this_leukemia_keeps_the_advice_and_asks(when):
    """An undated transplant, or one before this diagnosis (an autologous transplant for lymphoma before a
    therapy-related AML), may belong to another disease: the advice stays, with a note to check."""
    case = make_case(age_at_dx_days=years(60), lineage=Lineage.AML, summary=kmt2a(K.REARRANGED, "AFDN"))
    dated = case.diagnosis_date - timedelta(days=900) if when else None
    a = assess(_transplanted(case, dated))
    hsct = a.consideration("hsct-cr1")
    assert hsct is not None
    if when:  # before this leukemia: another disease's transplant, the advice stands as it is
        assert "transplant is on record" not in (hsct.note or "")
    else:
        assert "transplant is on record (date not recorded): check whether it was for this leukemia" in hsct.note
