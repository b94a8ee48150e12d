"""The two patients of the seed case report (Gao et al., Front Oncol 2026; knowledge pack S18), as FHIR."""

from datetime import date

from fhir_mappings import case_from_bundle
from fhir_mappings.case import DiseaseStatus, Kmt2aStatus, Lineage
from tests.mappings.helpers import fixture

REF = date(2025, 6, 1)


def years(days):
    return days // 365.25


def test_patient1_58_year_old_man_amplification_complex_karyotype_tp53():
    case = case_from_bundle(fixture("seed_patient1_amplification_tp53.json"), reference_date=REF)
    assert (case.sex, years(case.age_at_diagnosis_days), case.lineage) == ("male", 58, Lineage.B_ALL)
    assert case.disease_status == DiseaseStatus.NEWLY_DIAGNOSED
    k = case.kmt2a
    assert (k.status, k.copy_number, k.copy_number_high, k.partner, k.fusion) == (Kmt2aStatus.AMPLIFIED, 6, 18, None, None)
    assert "Observation/s1-fish" in {s.reference for s in k.evidence}
    assert case.karyotype.complex and case.karyotype.abnormality_count == 6
    assert [(f.gene, f.detail) for f in case.finding("TP53")] == [("TP53", "p.Arg175His")]
    assert case.wbc_at_diagnosis.value == 23.4 and case.marrow_blasts.value == 0.88


def test_patient2_66_year_old_woman_amplification_crlf2_ph_like():
    case = case_from_bundle(fixture("seed_patient2_amplification_crlf2.json"), reference_date=REF)
    assert (case.sex, years(case.age_at_diagnosis_days), case.lineage) == ("female", 66, Lineage.B_ALL)
    k = case.kmt2a
    assert (k.status, k.copy_number, k.copy_number_high) == (Kmt2aStatus.AMPLIFIED, 8, 11)
    assert k.status != Kmt2aStatus.REARRANGED and k.conflicts == ()
    assert [(f.gene, f.kind, f.present) for f in case.finding("CRLF2")] == [("CRLF2", "rearrangement", True)]
    assert case.wbc_at_diagnosis.value == 112.0  # sent as 112000 /uL
    assert case.karyotype is None
