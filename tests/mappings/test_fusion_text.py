import pytest

from fhir_mappings.case import Kmt2aStatus
from fhir_mappings.fusion_text import protein_change, read


@pytest.mark.parametrize("text,partner,fusion", [
    ("KMT2A::AFF1 fusion detected", "AFF1", "KMT2A::AFF1"),
    ("KMT2A-AFF1 positive", "AFF1", "KMT2A::AFF1"),
    ("KMT2A/AFF1 fusion transcript detected", "AFF1", "KMT2A::AFF1"),
    ("MLL-AF4", "AFF1", "KMT2A::AFF1"),
    ("MLL-AF9 positive", "MLLT3", "KMT2A::MLLT3"),
    ("MLL-ENL fusion transcript detected", "MLLT1", "KMT2A::MLLT1"),
    ("t(9;11) MLL/MLLT3", "MLLT3", "KMT2A::MLLT3"),
    ("MLL-AF6 detected by RT-PCR", "AFDN", "KMT2A::AFDN"),
    ("KMT2A::SEPT6", "SEPTIN6", "KMT2A::SEPTIN6"),
    ("MLL-AF10", "MLLT10", "KMT2A::MLLT10"),
    ("MLL-AFX", "FOXO4", "KMT2A::FOXO4"),
])
def test_fusion_names_in_any_form(text, partner, fusion):
    events, _ = read(text)
    assert [(e.status, e.partner, e.fusion) for e in events] == [(Kmt2aStatus.REARRANGED, partner, fusion)]


@pytest.mark.parametrize("text,status", [
    ("KMT2A break-apart FISH: positive", Kmt2aStatus.REARRANGED),
    ("MLL (11q23) FISH: rearranged", Kmt2aStatus.REARRANGED),
    ("KMT2A rearrangement detected", Kmt2aStatus.REARRANGED),
    ("MLL FISH negative", Kmt2aStatus.NOT_DETECTED),
    ("KMT2A gene rearrangement not detected", Kmt2aStatus.NOT_DETECTED),
    ("No evidence of KMT2A rearrangement", Kmt2aStatus.NOT_DETECTED),
    ("KMT2A-PTD detected", Kmt2aStatus.PTD),
    ("MLL partial tandem duplication present", Kmt2aStatus.PTD),
    ("KMT2A amplification", Kmt2aStatus.AMPLIFIED),
    ("KMT2A tandem duplication detected", Kmt2aStatus.PTD),
    ("KMT2A exon 2-8 duplication detected", Kmt2aStatus.PTD),
    ("KMT2A break-apart probe: positive, deletion of 3 prime KMT2A", Kmt2aStatus.REARRANGED),
    # split signals under the lab's cut-off: neither a rearrangement nor a clean negative
    ("KMT2A rearranged in 4% of nuclei (below cutoff)", Kmt2aStatus.UNKNOWN),
    ("KMT2A break-apart: split signals in 3% of nuclei, below the laboratory cut-off", Kmt2aStatus.UNKNOWN),
])
def test_break_apart_and_words(text, status):
    events, _ = read(text)
    assert [e.status for e in events] == [status]
    assert events[0].partner is None


def test_negative_fusion_keeps_the_partner_it_rules_out():
    # a targeted KMT2A::MLLT3 PCR that is negative rules out that fusion, not KMT2A rearrangement with AFF1 or ELL
    events, _ = read("KMT2A::MLLT3 fusion not detected")
    assert [(e.status, e.partner) for e in events] == [(Kmt2aStatus.NOT_DETECTED, "MLLT3")]


@pytest.mark.parametrize("text", ["KMT2A mutation detected: c.1234A>G", "KMT2A variant p.R1234H present",
                                  "KMT2A c.4321del detected", "No KMT2A mutation detected"])
def test_kmt2a_point_mutations_say_nothing_about_rearrangement(text):
    events, _ = read(text, "molecular")
    assert events == []


@pytest.mark.parametrize("text", ["KMT2A gain detected", "3 copies of KMT2A detected", "No KMT2A gain",
                                  "No KMT2A deletion", "KMT2A duplication not detected", "KMT2A: no copy number change",
                                  "no KMT2A tandem duplication"])
def test_kmt2a_copy_number_words_say_nothing_about_rearrangement(text):
    """A gain, loss or duplication is not a rearrangement, and its absence does not rule one out."""
    events, _ = read(text, "fish")
    assert events == []


def test_copy_numbers_in_text():
    events, _ = read("KMT2A amplification, 6~18 copies in 68.5% of nuclei")
    assert (events[0].copy_number, events[0].copy_number_high) == (6, 18)


@pytest.mark.parametrize("text", ["KMT2A amplification (x8-12)", "KMT2A amplification x 8 – 12 signals per nucleus"])
def test_an_iscn_copy_range_with_a_dash_keeps_its_high_end(text):
    events, _ = read(text)
    assert [(e.status, e.copy_number, e.copy_number_high) for e in events] == [(Kmt2aStatus.AMPLIFIED, 8, 12)]


def test_metaphase_fish_in_report_words_is_read_as_iscn():
    events, _ = read("Metaphase FISH: ish der(11)t(4;11)(q21;q23)(5'MLL+,3'MLL-).", "fish")
    assert ("fish", Kmt2aStatus.REARRANGED) in [(e.method, e.status) for e in events]


@pytest.mark.parametrize("text", ["KMT2D (MLL2) c.123A>T", "MLL3 mutation", "MLL4 variant", "MLLT3 expression high"])
def test_other_mll_genes_are_never_kmt2a(text):
    events, _ = read(text)
    assert events == []


def test_other_genes():
    _, others = read("P2RY8::CRLF2 fusion detected; TP53 p.R175H")
    assert ("CRLF2", "rearrangement", True, "P2RY8::CRLF2", ()) in others
    assert ("TP53", "variant", True, "p.Arg175His", ()) in others
    _, negative = read("CRLF2 rearrangement: negative")
    assert negative == [("CRLF2", "rearrangement", False, "CRLF2 rearrangement: negative", ())]


@pytest.mark.parametrize("text,expected", [
    ("NP_000537.3:p.(Arg175His)", "p.Arg175His"), ("p.Arg175His", "p.Arg175His"), ("p.R175H", "p.Arg175His"),
    ("R248Q", "p.Arg248Gln"), ("p.(R273C)", "p.Arg273Cys"), ("c.524G>A", None),
])
def test_protein_hgvs_forms(text, expected):
    assert protein_change(text) == expected


@pytest.mark.parametrize("text,kmt2a,others", [
    ("KMT2A::AFF1 fusion detected, no TP53 mutation", [(Kmt2aStatus.REARRANGED, "AFF1")], [("TP53", "variant", False)]),
    ("No TP53 mutation, KMT2A::AFF1 detected", [(Kmt2aStatus.REARRANGED, "AFF1")], [("TP53", "variant", False)]),
    ("KMT2A-AFF1 positive without additional abnormalities", [(Kmt2aStatus.REARRANGED, "AFF1")], []),
    ("KMT2A rearranged (break-apart), no amplification", [(Kmt2aStatus.REARRANGED, None)], []),
    ("TP53 p.R175H detected, no KMT2A rearrangement", [(Kmt2aStatus.NOT_DETECTED, None)], [("TP53", "variant", True)]),
    ("KMT2A rearrangement, not detected", [(Kmt2aStatus.NOT_DETECTED, None)], []),
    ("KMT2A (MLL, 11q23) rearranged", [(Kmt2aStatus.REARRANGED, None)], []),
    ("FISH result: negative, KMT2A::AFF1", [(Kmt2aStatus.NOT_DETECTED, "AFF1")], []),
])
def test_a_negation_reaches_only_its_own_statement(text, kmt2a, others):
    events, found = read(text, "molecular")
    assert [(e.status, e.partner) for e in events] == kmt2a
    assert [(gene, kind, present) for gene, kind, present, *_ in found] == others


def test_a_panel_listing_hundreds_of_fusions_is_read_whole():
    """A fusion panel's negative list runs to hundreds of names: every one is read (each partner ruled out, none
    detected). Its reading used to search the whole clause once per fusion named (quadratic: ~8 s for 1,000)."""
    from fhir_mappings import terminology as term
    partners = sorted({row["partner"] for row in term.rows("iscn_partners.csv") if row["partner"]})
    names = ", ".join(f"KMT2A::{p}" for p in partners * (400 // len(partners) + 1))
    events, _ = read(f"The following fusions were not detected: {names}.")
    assert events and all(e.status.value == "not-detected" for e in events)
    assert {e.partner for e in events} == set(partners)


def test_a_translocation_written_in_prose_is_read_by_its_bands():
    assert [(e.status.value, e.partner) for e in read("t(4;11)(q21;q23) detected by FISH")[0]] == [("rearranged", "AFF1")]
    assert [(e.status.value, e.partner) for e in read("Negative for t(9;11)(p21.3;q23.3)")[0]] == [("not-detected", "MLLT3")]
    assert read("Possible t(4;11)(q21;q23)")[0][0].uncertain
    assert read("t(11;17)(q23;q21) detected")[0] == []  # KMT2A::MLLT6 or ZBTB16::RARA: the bands cannot say
    assert read("Karyotype: 46,XX,t(4;11)(q21;q23)[20]")[0] == []  # a karyotype line is the karyotype reader's


def test_a_long_list_and_a_long_karyotype_are_read_whole():
    """Hundreds of list items in one sentence, or of 11q23 abnormalities in one karyotype, are all read: each used to
    re-read the whole statement (a 19 KB karyotype of 1,000 abnormalities took 17 s, a list of 1,000 genes 2.7 s)."""
    from fhir_mappings import genomics
    from fhir_mappings.case import Source
    listed, _ = read("Negative for " + ", ".join(["KMT2A"] * 1000) + ".")
    assert listed and all(e.status.value == "not-detected" for e in listed)
    karyotype = "46,XX," + ",".join(f"t({1 + i % 22};11)(q{10 + i // 22}.{i % 3 + 1};q23)" for i in range(1000)) + "[20]"
    found = genomics._from_karyotype(karyotype, Source("Observation/k", None)).kmt2a
    assert len(found) == 1000 and all(f.status.value in ("rearranged", "unknown") for f in found)
