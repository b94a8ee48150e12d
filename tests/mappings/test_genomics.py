import copy
from datetime import date

import pytest

from fhir_mappings import case_from_bundle, case_from_resources
from fhir_mappings.case import Kmt2aStatus
from tests.mappings.helpers import bundle, fixture, observation

REF = date(2025, 6, 1)
GENE = {"coding": [{"system": "http://loinc.org", "code": "48018-6"}]}
CHANGE = {"coding": [{"system": "http://loinc.org", "code": "48019-4"}]}


def gene(code, display, system="http://www.genenames.org"):
    return {"code": GENE, "valueCodeableConcept": {"coding": [{"system": system, "code": code, "display": display}]}}


def change(code, system="http://www.sequenceontology.org"):
    return {"code": CHANGE, "valueCodeableConcept": {"coding": [{"system": system, "code": code}]}}


def variant(oid, components, present="LA9633-4", **extra):
    o = observation(oid, "69548-6", component=components, **extra)
    if present:
        o["valueCodeableConcept"] = {"coding": [{"system": "http://loinc.org", "code": present}]}
    return o


def test_gr_fusion_example():
    case = case_from_bundle(fixture("gr_fusion_kmt2a_aff1.json"), reference_date=REF)
    assert (case.kmt2a.status, case.kmt2a.partner, case.kmt2a.fusion) == (Kmt2aStatus.REARRANGED, "AFF1", "KMT2A::AFF1")
    assert {f.method for f in case.kmt2a.findings} == {"fish", "karyotype"}
    assert case.karyotype.aberrations == ("t(4;11)(q21.3;q23.3)",)
    assert case.kmt2a.evidence[0].reference == "Observation/fusion-1"


def test_slice_names_are_ignored_components_matched_by_loinc():
    o = variant("v", [dict(gene("HGNC:7132", "KMT2A"), id="gene-studied"), dict(gene("HGNC:7136", "MLLT3"), id="x")])
    case = case_from_resources([o], reference_date=REF)
    assert case.kmt2a.partner == "MLLT3"


@pytest.mark.parametrize("system", ["http://www.genenames.org", "http://www.genenames.org/geneId"])
def test_hgnc_system_variants_and_old_display(system):
    o = variant("v", [gene("HGNC:7132", "MLL", system), gene("HGNC:7137", "MLLT4", system)])
    case = case_from_resources([o], reference_date=REF)
    assert (case.kmt2a.partner, case.kmt2a.fusion) == ("AFDN", "KMT2A::AFDN")


def test_gene_by_text_alias_only():
    comps = [{"code": GENE, "valueCodeableConcept": {"text": "MLL"}}, {"code": GENE, "valueCodeableConcept": {"text": "SEPT9"}}]
    case = case_from_resources([variant("v", comps)], reference_date=REF)
    assert case.kmt2a.partner == "SEPTIN9"


@pytest.mark.parametrize("so_system", ["http://www.sequenceontology.org", "http://www.sequenceontology.org/"])
def test_copy_number_quantity_and_range(so_system):
    q = variant("q", [gene("HGNC:7132", "KMT2A"), change("SO:0001019", so_system),
                      {"code": {"coding": [{"system": "http://loinc.org", "code": "82155-3"}]},
                       "valueQuantity": {"value": 9, "system": "http://unitsofmeasure.org", "code": "1"}}])
    case = case_from_resources([q], reference_date=REF)
    assert (case.kmt2a.status, case.kmt2a.copy_number, case.kmt2a.copy_number_high) == (Kmt2aStatus.AMPLIFIED, 9, 9)


def test_seed_patient1_copy_number_range():
    case = case_from_bundle(fixture("seed_patient1_amplification_tp53.json"), reference_date=REF)
    assert (case.kmt2a.status, case.kmt2a.copy_number, case.kmt2a.copy_number_high) == (Kmt2aStatus.AMPLIFIED, 6, 18)
    assert case.kmt2a.partner is None and case.kmt2a.fusion is None


def test_ptd_from_so_duplication_on_kmt2a_alone():
    o = variant("p", [gene("HGNC:7132", "KMT2A"), change("SO:1000035")])
    assert case_from_resources([o], reference_date=REF).kmt2a.status == Kmt2aStatus.PTD
    t = variant("t", [gene("HGNC:7132", "KMT2A"),
                      {"code": {"coding": [{"system": "http://loinc.org", "code": "81252-9"}]},
                       "valueCodeableConcept": {"text": "KMT2A-PTD (exons 2-8)"}}])
    assert case_from_resources([t], reference_date=REF).kmt2a.status == Kmt2aStatus.PTD


@pytest.mark.parametrize("value", [{"coding": [{"system": "http://loinc.org", "code": "LA9634-2", "display": "Absent"}]},
                                   {"text": "Not detected"}])
def test_absent_fusion_is_not_detected(value):
    o = variant("n", [gene("HGNC:7132", "KMT2A"), change("SO:0001565")], present=None, valueCodeableConcept=value,
                method={"coding": [{"system": "http://snomed.info/sct", "code": "426329006"}]})
    case = case_from_resources([o], reference_date=REF)
    assert case.kmt2a.status == Kmt2aStatus.NOT_DETECTED


@pytest.mark.parametrize("words", ["Indeterminate", "No call", "Inconclusive", "Test failed"])
def test_a_fusion_variant_whose_value_words_say_no_result_is_no_finding(words):
    """Uncoded value words that give no result are neither a rearrangement nor a negative."""
    o = variant("u", [gene("HGNC:7132", "KMT2A"), gene("HGNC:7135", "AFF1")], present=None,
                valueCodeableConcept={"text": words})
    case = case_from_resources([o], reference_date=REF)
    assert (case.kmt2a.status, case.kmt2a.findings) == (Kmt2aStatus.UNKNOWN, ())


@pytest.mark.parametrize("components,note", [
    ([gene("HGNC:7132", "KMT2A"), change("SO:1000002")], None),
    ([gene("HGNC:7132", "KMT2A")], "No pathogenic KMT2A mutation detected."),
])
def test_absent_kmt2a_sequence_variant_says_nothing_about_rearrangement(components, note):
    o = variant("n", components, present="LA9634-2", method={"coding": [{"system": "http://loinc.org", "code": "LA26398-0"}]})
    if note:
        o["note"] = [{"text": note}]
    assert case_from_resources([o], reference_date=REF).kmt2a.status == Kmt2aStatus.UNKNOWN


def test_absent_targeted_fusion_rules_out_that_partner_only():
    o = variant("n", [gene("HGNC:7132", "KMT2A"), gene("HGNC:7135", "AFF1"), change("SO:0001565")], present="LA9634-2")
    case = case_from_resources([o], reference_date=REF)
    assert case.kmt2a.status == Kmt2aStatus.UNKNOWN
    assert [(f.status, f.partner) for f in case.kmt2a.findings] == [(Kmt2aStatus.NOT_DETECTED, "AFF1")]


@pytest.mark.parametrize("so", ["SO:1000035", "SO:0000159", "SO:0001019"])
def test_absent_ptd_deletion_or_copy_change_says_nothing_about_rearrangement(so):
    """Duplication (PTD), deletion, copy number: their absence, even by FISH, does not rule out a rearrangement."""
    o = variant("n", [gene("HGNC:7132", "KMT2A"), change(so)], present="LA9634-2",
                method={"coding": [{"system": "http://snomed.info/sct", "code": "426329006"}]})
    assert case_from_resources([o], reference_date=REF).kmt2a.status == Kmt2aStatus.UNKNOWN


def test_tp53_hgvs_forms():
    case = case_from_bundle(fixture("seed_patient1_amplification_tp53.json"), reference_date=REF)
    assert [(f.gene, f.kind, f.present, f.detail) for f in case.finding("TP53")] == [
        ("TP53", "variant", True, "p.Arg175His")]
    one_letter = variant("t", [gene("HGNC:11998", "TP53"), {"code": {"coding": [{"system": "http://loinc.org", "code": "48005-3"}]},
                                                           "valueCodeableConcept": {"text": "p.R248Q"}}])
    assert case_from_resources([one_letter], reference_date=REF).finding("TP53")[0].detail == "p.Arg248Gln"


def test_kmt2d_is_never_kmt2a():
    o = variant("d", [gene("HGNC:7133", "KMT2D"), change("SO:0001583")])
    text = observation("t", None, text="MLL2 (KMT2D) sequencing", valueString="MLL2 c.1234C>T detected")
    case = case_from_resources([o, text], reference_date=REF)
    assert case.kmt2a.status == Kmt2aStatus.UNKNOWN and case.kmt2a.findings == ()
    assert case.finding("KMT2D")


def test_karyotype_as_codeable_concept_code_or_text():
    coded = observation("k1", "33893-9", valueCodeableConcept={"coding": [{"system": "https://iscn.karger.com",
                        "code": "47,XY,+8,t(9;11)(p21.3;q23.3)[18]/46,XY[2]"}]})
    texted = observation("k2", "29770-5", when="2025-03-05",
                         valueCodeableConcept={"text": "46,XX,t(11;19)(q23;p13)[20]"})
    a = case_from_resources([coded], reference_date=REF)
    assert (a.kmt2a.partner, a.karyotype.clones, a.karyotype.aberrations) == ("MLLT3", 2, ("+8", "t(9;11)(p21.3;q23.3)"))
    b = case_from_resources([texted], reference_date=REF)
    assert b.kmt2a.ambiguities == ("t11-19-partner-ambiguous",) and b.kmt2a.partner is None


def test_lab_result_with_words_and_coded_value():
    o = observation("f", None, text="MLL gene rearrangements in Blood by FISH",
                    valueCodeableConcept={"coding": [{"system": "http://snomed.info/sct", "code": "260373001", "display": "Detected"}]})
    case = case_from_resources([o], reference_date=REF)
    assert case.kmt2a.status == Kmt2aStatus.REARRANGED and case.kmt2a.findings[0].method == "fish"


def test_diagnostic_report_conclusion():
    report = {"resourceType": "DiagnosticReport", "id": "r", "status": "final", "code": {"text": "RNA fusion panel"},
              "effectiveDateTime": "2025-03-04", "conclusion": "KMT2A::MLLT10 fusion detected (RNA sequencing)."}
    case = case_from_resources([report], reference_date=REF)
    assert (case.kmt2a.status, case.kmt2a.partner) == (Kmt2aStatus.REARRANGED, "MLLT10")


def test_seed_patient2_crlf2_rearrangement():
    case = case_from_bundle(fixture("seed_patient2_amplification_crlf2.json"), reference_date=REF)
    assert [(f.gene, f.kind, f.present) for f in case.finding("CRLF2")] == [("CRLF2", "rearrangement", True)]
    assert (case.kmt2a.status, case.kmt2a.copy_number, case.kmt2a.copy_number_high) == (Kmt2aStatus.AMPLIFIED, 8, 11)
    assert case.kmt2a.conflicts == ()


def test_superseded_result_replaced_by_corrected():
    first = variant("v1", [gene("HGNC:7132", "KMT2A"), gene("HGNC:7136", "MLLT3")], status="preliminary")
    fixed = copy.deepcopy(first)
    fixed.update(id="v2", status="corrected")
    fixed["component"][1] = gene("HGNC:7134", "MLLT1")
    case = case_from_resources([bundle(first, fixed)], reference_date=REF)
    assert case.kmt2a.partner == "MLLT1" and len(case.kmt2a.findings) == 1


def test_fish_panel_components_are_read_one_by_one():
    panel = observation("panel", "102103-9", component=[
        {"code": {"text": "RUNX1T1/RUNX1 dual fusion"}, "valueCodeableConcept": {"text": "Negative"}},
        {"code": {"text": "KMT2A (MLL) break-apart"}, "valueCodeableConcept": {"text": "Positive"}},
        {"code": {"text": "CBFB break-apart"}, "valueCodeableConcept": {"text": "Negative"}}])
    case = case_from_resources([panel], reference_date=REF)
    assert (case.kmt2a.status, case.kmt2a.findings[0].method) == (Kmt2aStatus.REARRANGED, "fish")


def test_karyotype_in_a_report_conclusion():
    report = {"resourceType": "DiagnosticReport", "id": "cyto", "status": "final", "code": {"text": "Cytogenetics"},
              "effectiveDateTime": "2025-03-03",
              "conclusion": "Abnormal male karyotype: 46,XY,t(6;11)(q27;q23)[18]/46,XY[2]"}
    case = case_from_resources([report], reference_date=REF)
    assert (case.kmt2a.partner, case.karyotype.clones) == ("AFDN", 2)


def test_copy_number_change_without_a_count_is_not_called_amplification():
    loss_or_gain = variant("cnv", [gene("HGNC:11998", "TP53"), change("SO:0001019")])
    gain = variant("gain", [gene("HGNC:7910", "NPM1"), change("SO:0001742")])
    case = case_from_resources([loss_or_gain, gain], reference_date=REF)
    assert [(f.gene, f.kind) for f in case.genetic_findings] == [("TP53", "copy-number"), ("NPM1", "copy-number")]


def _kmt2a_gain(copies=None):
    components = [gene("HGNC:7132", "KMT2A"), change("SO:0001742")]
    if copies is not None:
        components.append({"code": {"coding": [{"system": "http://loinc.org", "code": "82155-3"}]},
                           "valueQuantity": {"value": copies, "system": "http://unitsofmeasure.org", "code": "1"}})
    return variant("kmt2a-gain", components)


@pytest.mark.parametrize("copies,status", [(None, Kmt2aStatus.UNKNOWN), (3, Kmt2aStatus.UNKNOWN),
                                           (8, Kmt2aStatus.AMPLIFIED)])
def test_a_kmt2a_gain_is_an_amplification_only_with_a_count_at_the_cut_off(copies, status):
    """Three copies (a trisomy 11) are a gain, not an amplification; a gain without a count is not called either way,
    so the risk rules for amplified KMT2A never rest on a guess."""
    assert case_from_resources([_kmt2a_gain(copies)], reference_date=REF).kmt2a.status is status


@pytest.mark.parametrize("words,status", [
    ("KMT2A copy number gain detected", Kmt2aStatus.UNKNOWN),
    ("KMT2A: extra copies (3 copies) detected", Kmt2aStatus.UNKNOWN),
    ("KMT2A copy number gain, 8 copies per nucleus", Kmt2aStatus.AMPLIFIED),
    ("KMT2A amplification detected", Kmt2aStatus.AMPLIFIED),  # the lab names it: its call, not ours
])
def test_gain_words_call_amplification_only_with_a_count_at_the_cut_off(words, status):
    report = observation("fish-text", None, text="KMT2A FISH", valueString=words)
    assert case_from_resources([report], reference_date=REF).kmt2a.status is status


@pytest.mark.parametrize("method,expected", [
    ({"system": "http://snomed.info/sct", "code": "426329006"}, "fish"),
    ({"system": "http://loinc.org", "code": "LA26406-1"}, "karyotype"),
    ({"system": "http://loinc.org", "code": "LA26398-0"}, "molecular"),
])
def test_coded_test_method_sets_the_strength_of_the_evidence(method, expected):
    o = variant("v", [gene("HGNC:7132", "KMT2A"), gene("HGNC:7135", "AFF1")], method={"coding": [method]})
    case = case_from_resources([o], reference_date=REF)
    assert [f.method for f in case.kmt2a.findings] == [expected]
