from datetime import date

from fhir_mappings.case import Kmt2aFinding, Kmt2aStatus, Source
from fhir_mappings.kmt2a import summarise

R, A, P, N, U = (Kmt2aStatus.REARRANGED, Kmt2aStatus.AMPLIFIED, Kmt2aStatus.PTD, Kmt2aStatus.NOT_DETECTED,
                 Kmt2aStatus.UNKNOWN)


def f(status, method, ref, partner=None, ambiguity=None, **kw):
    return Kmt2aFinding(status, Source(f"Observation/{ref}", date(2025, 3, 1)), method, partner=partner,
                        fusion=f"KMT2A::{partner}" if partner else None, ambiguity=ambiguity, **kw)


def test_fish_rearranged_beats_normal_karyotype():
    s = summarise([f(N, "karyotype", "k"), f(R, "fish", "fish")])
    assert s.status == R and s.conflicts == ()


def test_molecular_partner_beats_karyotype_partner():
    s = summarise([f(R, "karyotype", "k", "MLLT1", ambiguity=None), f(R, "molecular", "rna", "ELL")])
    assert (s.partner, s.fusion) == ("ELL", "KMT2A::ELL")
    assert len(s.conflicts) == 1 and "molecular result kept" in s.conflicts[0]


def test_strong_conflict_gives_unknown_and_keeps_both():
    s = summarise([f(N, "fish", "a"), f(R, "fish", "b")])
    assert s.status == U and "Observation/a" in s.conflicts[0] and "Observation/b" in s.conflicts[0]
    assert s.partner is None


def test_amplification_and_ptd_are_never_rearranged():
    assert summarise([f(A, "fish", "a", copy_number=8, copy_number_high=11), f(N, "fish", "b")]).status == A
    assert summarise([f(P, "molecular", "p"), f(N, "fish", "b")]).status == P


def test_not_detected_needs_fish_or_molecular():
    assert summarise([f(N, "karyotype", "k")]).status == U
    assert summarise([f(N, "fish", "x")]).status == N
    assert summarise([]).status == U


def test_ambiguity_propagates_until_resolved():
    t1119 = f(R, "karyotype", "k", ambiguity="t11-19-partner-ambiguous")
    assert summarise([t1119]).ambiguities == ("t11-19-partner-ambiguous",)
    assert summarise([t1119, f(R, "molecular", "m", "MLLT1")]).ambiguities == ()
    t1117 = f(U, "karyotype", "k", ambiguity="t11-17-may-be-apl")
    assert summarise([t1117]).status == U and summarise([t1117]).ambiguities == ("t11-17-may-be-apl",)
    assert summarise([t1117, f(R, "fish", "x")]).ambiguities == ()


def test_two_molecular_partners_disagree():
    s = summarise([f(R, "molecular", "a", "AFF1"), f(R, "molecular", "b", "MLLT3")])
    assert s.status == R and s.partner is None and "disagrees" in s.conflicts[0]


def test_a_negative_for_one_fusion_does_not_rule_out_other_partners():
    only_aff1_excluded = f(N, "molecular", "pcr", "AFF1")
    assert summarise([only_aff1_excluded]).status == U
    s = summarise([only_aff1_excluded, f(R, "fish", "ba")])
    assert (s.status, s.conflicts) == (R, ())
    assert summarise([only_aff1_excluded, f(R, "molecular", "rna", "MLLT3")]).status == R


def test_a_negative_for_the_fusion_that_was_found_is_a_conflict():
    s = summarise([f(N, "molecular", "pcr", "AFF1"), f(R, "karyotype", "k", "AFF1")])
    assert s.status == U and "Observation/pcr" in s.conflicts[0] and "Observation/k" in s.conflicts[0]
    panel = Kmt2aFinding(N, Source("Observation/panel", date(2025, 3, 1)), "molecular",
                         candidate_partners=("AFF1", "MLLT3", "MLLT1"))
    assert summarise([panel]).status == U
    assert summarise([panel, f(R, "karyotype", "k", "MLLT3")]).status == U


def _on(finding: Kmt2aFinding, when: date | None) -> Kmt2aFinding:
    from dataclasses import replace
    return replace(finding, source=Source(finding.source.reference, when))


def test_a_negative_weeks_after_the_positive_is_a_response_not_a_conflict():
    """KMT2A::AFF1 by FISH at diagnosis, then 'no KMT2A::AFF1 transcripts detected' by RT-PCR at the end of
    induction: the patient is in molecular remission of a KMT2A-rearranged leukemia, not of unknown status."""
    diagnosis = _on(f(R, "fish", "dx-fish", "AFF1"), date(2026, 1, 5))
    for negative in (f(N, "molecular", "eoi-pcr", "AFF1"), f(N, "fish", "eoi-fish")):
        s = summarise([diagnosis, _on(negative, date(2026, 2, 9))])
        assert (s.status, s.partner, s.conflicts) == (R, "AFF1", ()), negative


def test_a_negative_of_the_same_work_up_or_undated_still_conflicts():
    diagnosis = _on(f(R, "fish", "dx-fish", "AFF1"), date(2026, 1, 5))
    for when in (date(2026, 1, 6), date(2026, 1, 19), None):  # same marrow; two weeks later; no date at all
        s = summarise([diagnosis, _on(f(N, "molecular", "rna", "AFF1"), when)])
        assert s.status == U and s.conflicts, when
