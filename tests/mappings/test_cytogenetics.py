import pytest

from fhir_mappings.case import Kmt2aStatus
from fhir_mappings.cytogenetics import fish_strings, is_complex, parse


def kmt2a(iscn):
    return [(e.status, e.partner, e.candidates, e.ambiguity) for e in parse(iscn).kmt2a_events]


@pytest.mark.parametrize("iscn,partner", [
    ("46,XX,t(4;11)(q21;q23)[20]", "AFF1"),
    ("46,XX,t(4;11)(q21.3;q23.3)[20]", "AFF1"),
    ("46,XY,t(9;11)(p22;q23)[20]", "MLLT3"),
    ("46,XY,t(9;11)(p21.3;q23.3)[20]", "MLLT3"),
    ("46,XY,t(11;19)(q23;p13.3)[20]", "MLLT1"),
    ("46,XY,t(11;19)(q23.3;p13.1)[20]", "ELL"),
    ("46,XY,t(6;11)(q27;q23)[20]", "AFDN"),
    ("46,XX,t(10;11)(p12;q23)[20]", "MLLT10"),
    ("46,XX,ins(10;11)(p12;q23q13)[12]", "MLLT10"),
    ("46,XY,t(10;11)(p11.2;q23)[20]", "ABI1"),
    ("46,XY,t(1;11)(q21;q23)[20]", "MLLT11"),
    ("46,XY,t(1;11)(p32;q23)[20]", "EPS15"),
    ("46,XY,t(11;17)(q23;q25)[20]", "SEPTIN9"),
    ("46,X,t(X;11)(q24;q23),-Y[20]", "SEPTIN6"),
    ("46,XY,der(11)t(11;19)(q23.3;p13.3)[20]", "MLLT1"),
])
def test_partner_from_breakpoint_old_and_new_bands(iscn, partner):
    assert kmt2a(iscn) == [(Kmt2aStatus.REARRANGED, partner, (), None)]


def test_chromosome_order_does_not_matter():
    assert kmt2a("46,XY,t(11;9)(q23;p22)[20]")[0][1] == "MLLT3"


def test_ambiguous_breakpoints_are_flagged():
    assert kmt2a("46,XY,t(11;19)(q23;p13)[20]") == [
        (Kmt2aStatus.REARRANGED, None, ("MLLT1", "ELL"), "t11-19-partner-ambiguous")]
    status, partner, candidates, ambiguity = kmt2a("46,XY,t(11;17)(q23;q21)[20]")[0]
    assert status == Kmt2aStatus.UNKNOWN and ambiguity == "t11-17-may-be-apl" and partner is None


def test_unknown_partner_band_is_rearranged_without_partner():
    assert kmt2a("46,XY,t(3;11)(p21;q23)[20]") == [(Kmt2aStatus.REARRANGED, None, (), None)]


def test_mosaic_clones_and_normal_karyotype():
    r = parse("46,XX,t(4;11)(q21;q23)[15]/46,XX[5]")
    assert r.clones == 2 and r.aberrations == ["t(4;11)(q21;q23)"]
    normal = parse("46,XX[20]")
    assert normal.abnormality_count == 0 and [e.status for e in normal.kmt2a_events] == [Kmt2aStatus.NOT_DETECTED]


def test_not_11q23_breakpoints_are_not_kmt2a():
    assert kmt2a("46,XX,t(11;14)(p13;q11.2)[20]") == [(Kmt2aStatus.NOT_DETECTED, None, (), None)]
    assert kmt2a("46,XX,t(9;22)(q34;q11.2)[20]")[0][0] == Kmt2aStatus.NOT_DETECTED


def test_inv_and_del_of_11q23_are_unconfirmed():
    assert kmt2a("46,XY,inv(11)(q14q23)[20]")[0][0] == Kmt2aStatus.UNKNOWN
    assert kmt2a("46,XY,del(11)(q23)[20]")[0][0] == Kmt2aStatus.UNKNOWN
    # a gain or loss from 11q13 to 11q23 is a copy change, not a rearrangement
    assert kmt2a("46,XY,dup(11)(q13q23)[20]")[0][0] == Kmt2aStatus.UNKNOWN
    assert kmt2a("46,XY,del(11)(q13q23)[20]")[0][0] == Kmt2aStatus.UNKNOWN


def test_complex_karyotype_counting():
    r = parse("45,XY,-7,+2mar,del(5)(q31)[20]")
    assert r.abnormality_count == 4 and is_complex(r)
    assert not is_complex(parse("47,XY,+8,-7,t(9;11)(p21.3;q23.3)[20]"))  # ELN: t(v;11q23.3) is not "complex"
    assert not is_complex(parse("47,XY,+8,del(5)(q31)[20]"))
    related = parse("46,XY,del(5)(q31)[5]/47,XY,del(5)(q31),+8[10]/48,XY,del(5)(q31),+8,+21[5]")
    assert related.abnormality_count == 3 and related.clones == 3  # each abnormality counted once


@pytest.mark.parametrize("iscn,status,low,high", [
    ("nuc ish(KMT2Ax8~11)[175/200]", Kmt2aStatus.AMPLIFIED, 8, 11),
    ("nuc ish 11q23.3(KMT2Ax6~18)[137/200]", Kmt2aStatus.AMPLIFIED, 6, 18),
    ("nuc ish(KMT2A x2)(5'KMT2A sep 3'KMT2A x1)[160/200]", Kmt2aStatus.REARRANGED, None, None),
    ("nuc ish(MLLx2)[200]", Kmt2aStatus.NOT_DETECTED, None, None),
    ("nuc ish(5'KMT2A,3'KMT2A)x2(5'KMT2A con 3'KMT2Ax2)[200]", Kmt2aStatus.NOT_DETECTED, None, None),
    ("nuc ish(KMT2Ax3)[150/200]", Kmt2aStatus.NOT_DETECTED, 3, 3),  # a gain, not an amplification
])
def test_nuc_ish(iscn, status, low, high):
    events = parse(iscn).kmt2a_events
    assert [(e.status, e.copy_number, e.copy_number_high) for e in events] == [(status, low, high)]


def test_dual_fusion_probe_names_the_partner():
    events = parse("nuc ish(AFF1,KMT2A)x3(AFF1 con KMT2Ax2)[150/200]").kmt2a_events
    assert [(e.status, e.partner) for e in events] == [(Kmt2aStatus.REARRANGED, "AFF1")]


def test_karyotype_with_fish_appended():
    r = parse("47,XY,+8,hsr(11)(q23)[18]/46,XY[2].nuc ish(KMT2Ax10~14)[180/200]")
    assert {(e.method, e.status) for e in r.kmt2a_events} == {
        ("karyotype", Kmt2aStatus.AMPLIFIED), ("fish", Kmt2aStatus.AMPLIFIED)}


@pytest.mark.parametrize("junk", ["", "t(", "46,XX,t(4;11)(", "((((", "46,XY,t(;)(;)[", "nuc ish(x~)", "\x00\uffff", "46" * 500])
def test_never_raises_on_junk(junk):
    result = parse(junk)
    assert result.abnormality_count >= 0


def test_add_at_11q23_is_unknown_without_candidates():
    assert kmt2a("46,XY,add(11)(q23)[20]") == [(Kmt2aStatus.UNKNOWN, None, (), None)]


# --- FISH the way labs write it (ISCN 1995-2024) ---------------------------------------------------------------

def fish(iscn):
    return [(e.method, e.status, e.partner, e.copy_number, e.copy_number_high) for e in parse(iscn).kmt2a_events]


@pytest.mark.parametrize("iscn", [
    "nuc ish(KMT2Aamp)[120/200]",
    "nuc ish(KMT2A amp)[120/200]",
    "nuc ish 11q23.3(KMT2Aamp)[120/200]",
    "nuc ish(KMT2A)amp[120/200]",
    "nuc ish(MLLamp)[60%]",
])
def test_amp_is_the_labs_amplification_call_without_a_copy_number(iscn):
    assert fish(iscn) == [("fish", Kmt2aStatus.AMPLIFIED, None, None, None)]


@pytest.mark.parametrize("iscn", ["nuc ish(KMT2Ax8-12)[120/200]", "nuc ish(KMT2A)x8-12[120/200]",
                                  "nuc ish(KMT2A x 8 - 12)[120/200]", "nuc ish(KMT2Ax8\u201312)[120/200]"])
def test_a_copy_range_written_with_a_dash_keeps_both_ends(iscn):
    assert fish(iscn) == [("fish", Kmt2aStatus.AMPLIFIED, None, 8, 12)]


@pytest.mark.parametrize("iscn", [
    "nuc ish 11q23(MLLx2)(5'MLL sep 3'MLLx1)[160/200]",  # ISCN 2009/2013, 400-band
    "nuc ish 11q23 (MLL x2)(5' MLL sep 3' MLL x1)[160/200]",  # old spacing
    "nuc ish(5'MLL sep 3'MLL x1)[160/200]",
    "nuc ish 11q23.3(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[160/200]",  # ISCN 2016-2024, sub-band
    "nuc ish(kmt2ax2)(5'kmt2a sep 3'kmt2ax1)[80%]",  # lower case, a percentage
    "nuc ish(5'MLL,3'MLL)x2(5'MLL con 3'MLLx1)[160/200]",  # ISCN 2009: one pair joined, the other apart
    "nuc ish(5'KMT2Ax2,3'KMT2Ax2)(5'KMT2A con 3'KMT2Ax1)[160/200]",
])
def test_break_apart_split_in_every_notation_is_rearranged(iscn):
    assert fish(iscn) == [("fish", Kmt2aStatus.REARRANGED, None, None, None)]


@pytest.mark.parametrize("iscn", [
    "nuc ish(5'KMT2Ax2,3'KMT2Ax1)[150/200]",  # 3' signal lost: deletion, or an unbalanced rearrangement
    "nuc ish(5'MLLx1,3'MLLx2)[150/200]",
    "nuc ish(5'KMT2A,3'KMT2A)x2[200]",  # joined or apart is not said
    "nuc ish(KMT2Ax3)(5'KMT2A con 3'KMT2Ax2)[150/200]",  # the third signal is not described
    "nuc ish(KMT2Ax0)[200]",
])
def test_fish_patterns_that_do_not_say_whether_kmt2a_is_broken_are_unknown(iscn):
    assert fish(iscn) == [("fish", Kmt2aStatus.UNKNOWN, None, None, None)]


def test_a_normal_clone_beside_an_abnormal_one_is_not_a_negative():
    assert fish("nuc ish(MLLx2)[150/200]/(5'MLL sep 3'MLLx1)[50/200]") == [
        ("fish", Kmt2aStatus.REARRANGED, None, None, None)]
    assert fish("nuc ish(KMT2Ax2)[150/200]/(KMT2Ax8~10)[50/200]") == [("fish", Kmt2aStatus.AMPLIFIED, None, 8, 10)]
    assert fish("nuc ish(KMT2Ax2)[150/200]/(5'KMT2Ax2,3'KMT2Ax1)[50/200]") == [
        ("fish", Kmt2aStatus.UNKNOWN, None, None, None)]


def test_several_probes_in_one_string():
    r = parse("nuc ish(KMT2A,ETV6,RUNX1)x2[200]")
    assert fish("nuc ish(KMT2A,ETV6,RUNX1)x2[200]") == [("fish", Kmt2aStatus.NOT_DETECTED, None, None, None)]
    assert ("ETV6", "copy-number", False) in r.gene_events
    assert fish("nuc ish(mll x2)[200]") == [("fish", Kmt2aStatus.NOT_DETECTED, None, None, None)]


def test_dual_fusion_probe_normal_rules_out_that_fusion_only():
    # a KMT2A/AFF1 dual-fusion probe without fusion signals says nothing about KMT2A::MLLT3
    assert fish("nuc ish(AFF1,KMT2A)x2[200]") == [("fish", Kmt2aStatus.NOT_DETECTED, "AFF1", None, None)]
    assert fish("nuc ish(KMT2A con AFF1x1)[150/200]") == [("fish", Kmt2aStatus.REARRANGED, "AFF1", None, None)]
    assert fish("nuc ish(MLL con AF9x2)[150/200]") == [("fish", Kmt2aStatus.REARRANGED, "MLLT3", None, None)]


def test_a_signal_joined_to_a_control_probe_is_no_fusion():
    assert fish("nuc ish(KMT2A con CEP11x2)[200]") == []


@pytest.mark.parametrize("iscn,expected", [
    ("ish t(4;11)(q21;q23)(5'KMT2A+;3'KMT2A-)",
     [("fish", Kmt2aStatus.REARRANGED, None), ("karyotype", Kmt2aStatus.REARRANGED, "AFF1")]),
    ("ish t(4;11)(q21.3;q23.3)(5'KMT2A+;3'KMT2A+)",
     [("fish", Kmt2aStatus.REARRANGED, None), ("karyotype", Kmt2aStatus.REARRANGED, "AFF1")]),
    ("ish der(11)t(4;11)(q21;q23)(5'MLL+,3'MLL-)",
     [("fish", Kmt2aStatus.REARRANGED, None), ("karyotype", Kmt2aStatus.REARRANGED, "AFF1")]),
    ("46,XX,t(9;11)(p22;q23)[20].ish t(9;11)(MLL+;MLL+)",
     [("karyotype", Kmt2aStatus.REARRANGED, "MLLT3"), ("fish", Kmt2aStatus.REARRANGED, None)]),
    ("46,XY,t(4;11)(q21;q23)[20].ish der(11)t(4;11)(5'MLL+,3'MLL-),der(4)t(4;11)(5'MLL-,3'MLL+)",
     [("karyotype", Kmt2aStatus.REARRANGED, "AFF1"), ("fish", Kmt2aStatus.REARRANGED, None)]),
    ("ish der(4)t(4;11)(3'MLL+),der(11)t(4;11)(5'MLL+)", [("fish", Kmt2aStatus.REARRANGED, None)]),  # ends apart
    ("ish t(4;11)(AFF1+,KMT2A+;AFF1+,KMT2A+)", [("fish", Kmt2aStatus.REARRANGED, None)]),
    ("ish ins(10;11)(p12;q23q13)(MLLT10 con KMT2A)",
     [("fish", Kmt2aStatus.REARRANGED, "MLLT10"), ("karyotype", Kmt2aStatus.REARRANGED, "MLLT10")]),
    ("ish hsr(11)(q23)(MLL+)", [("fish", Kmt2aStatus.AMPLIFIED, None)]),
    ("ish dmin(KMT2A+)", [("fish", Kmt2aStatus.AMPLIFIED, None)]),
])
def test_metaphase_fish(iscn, expected):
    assert [(e.method, e.status, e.partner) for e in parse(iscn).kmt2a_events] == expected


@pytest.mark.parametrize("iscn", [
    "ish 11q23(MLLx2)",  # two intact signals in the dividing cells: often the normal ones, not a negative
    "ish der(11)t(4;11)(q21;q23)(5'MLL+,3'MLL+)",  # the whole probe on der(11): the break is outside KMT2A
    "ish t(4;11)(q21;q23)(MLL+;MLL-)",
    "ish der(11)t(4;11)(q21;q23)(KMT2A+)",  # one chromosome, the whole probe: where the break lies is not said
    "ish del(11)(q23)(5'MLL+,3'MLL-)",  # a deletion that takes the 3' end: no proof of a fusion
    "ish hsr(11)(q23)(MLL-)",
    "ish t(9;22)(q34;q11.2)(ABL1+;BCR+)",
])
def test_metaphase_fish_that_shows_no_break_gives_no_fish_result(iscn):
    assert [e for e in parse(iscn).kmt2a_events if e.method == "fish"] == []


def test_metaphase_fish_confirms_an_ambiguous_karyotype_without_naming_a_partner():
    events = parse("46,XX,t(11;19)(q23;p13)[20].ish t(11;19)(MLL+;MLL+)").kmt2a_events
    assert [(e.method, e.status, e.candidates) for e in events] == [
        ("karyotype", Kmt2aStatus.REARRANGED, ("MLLT1", "ELL")), ("fish", Kmt2aStatus.REARRANGED, ())]


def test_fish_strings_are_cut_from_prose_and_the_word_ish_alone_is_not_iscn():
    text = ("Karyotype 46,XY,t(9;11)(p22;q23)[20]. Metaphase FISH: ish t(9;11)(MLL+;MLL+). Comment: reddish signals"
            " (ish). Interphase: nuc ish(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[190/200] in 95% of nuclei.")
    assert fish_strings(text) == ["ish t(9;11)(MLL+;MLL+)", "nuc ish(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[190/200]"]
    assert fish_strings("it is a bit odd-ish (really)") == []


def test_double_minutes_of_unnamed_origin_leave_the_karyotype_open_at_11q23():
    assert kmt2a("46,XX,2~10dmin[20]") == [(Kmt2aStatus.UNKNOWN, None, (), None)]
    # written with a space after the comma, the double minutes are still part of the karyotype
    assert kmt2a("46,XX, dmin[10]/46,XX[10]") == [(Kmt2aStatus.UNKNOWN, None, (), None)]


def test_a_questioned_11q23_abnormality_is_hedged_not_normal():
    (event,) = parse("46,XX,?t(4;11)(q21;q23)[20]").kmt2a_events
    assert (event.status, event.partner, event.uncertain) == (Kmt2aStatus.UNKNOWN, None, True)


def test_a_pattern_seen_in_no_cell_is_no_finding():
    assert fish("nuc ish(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[0/200]") == []
    assert fish("nuc ish(KMT2Ax2)[200]/(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[0%]") == [
        ("fish", Kmt2aStatus.NOT_DETECTED, None, None, None)]


@pytest.mark.parametrize("text", [
    "47,XY,+8[20] Interpretation: trisomy 8, a common finding, no other abnormality",
    "Karyotype: 47,XY,+8[20]. Interpretation: abnormal male karyotype, trisomy 8, clonal, no 11q23 change",
    "Karyotype: 47,XY,+8[20]\nComment: gain of chromosome 8, FISH pending, see addendum",
])
def test_words_after_the_karyotype_are_not_counted_as_abnormalities(text):
    r = parse(text)
    assert r.aberrations == ["+8"] and r.abnormality_count == 1 and not is_complex(r)


@pytest.mark.parametrize("iscn,status,low,high", [
    ("nuc ish(KMT2A\u00d78\u223c11)[175/200]", Kmt2aStatus.AMPLIFIED, 8, 11),  # a PDF's times sign and tilde operator
    ("nuc ish(KMT2A\u00a0x2)(5\u00b4KMT2A sep 3\u00b4KMT2A\u00a0x1)[160/200]", Kmt2aStatus.REARRANGED, None, None),
    ("nuc ish 11q23(MLL\u00d72)(5\u2018MLL sep 3\u2018MLL\u00d71)[160/200]", Kmt2aStatus.REARRANGED, None, None),
])
def test_iscn_as_word_processors_print_it(iscn, status, low, high):
    assert fish(iscn) == [("fish", status, None, low, high)]


@pytest.mark.parametrize("iscn,status", [
    ("nuc ish 11q23(LSI MLLx2)[200]", Kmt2aStatus.NOT_DETECTED),  # the vendor's probe name (Vysis LSI MLL)
    ("nuc ish(MLL-BAx2)[200]", Kmt2aStatus.NOT_DETECTED),
    ("nuc ish(KMT2A BAx2)(5'KMT2A BA sep 3'KMT2A BAx1)[160/200]", Kmt2aStatus.REARRANGED),
])
def test_a_probe_named_by_its_vendor_is_the_gene(iscn, status):
    assert fish(iscn) == [("fish", status, None, None, None)]


def test_a_second_metaphase_fish_does_not_name_the_partner_again():
    # the first metaphase FISH read the breakpoints; the second (the same t(4;11) seen again) adds only its break
    events = parse("nuc ish(KMT2Ax2)[200].ish t(4;11)(q21;q23)(5'KMT2A+;3'KMT2A+).ish t(4;11)(q21;q23)(MLL+;MLL+)"
                   ).kmt2a_events
    assert [(e.method, e.partner) for e in events if e.status == Kmt2aStatus.REARRANGED] == [
        ("fish", None), ("karyotype", "AFF1"), ("fish", None)]


@pytest.mark.parametrize("iscn", ["46,XY,t(11;11)(p15;q23)[20]", "46,XX,t(11;11)(q13;q23.3)[12]/46,XX[8]"])
def test_a_translocation_between_the_two_chromosomes_11_at_11q23_is_no_negative(iscn):
    # the 11q23 break is on the second 11 written; reading only the first called the karyotype normal at 11q23
    assert kmt2a(iscn) == [(Kmt2aStatus.REARRANGED, None, (), None)]


def test_a_questioned_11q23_breakpoint_is_hedged_never_positive():
    events = parse("46,XY,t(4;11)(q21;?q23)[20]").kmt2a_events
    assert [(e.status, e.partner, e.uncertain) for e in events] == [(Kmt2aStatus.UNKNOWN, None, True)]


def test_a_questioned_partner_band_names_the_partner_only_as_a_candidate():
    # ISCN's '?' before a band: the lab is not sure of it, so AFF1 is what the karyotype allows, not what it shows
    assert kmt2a("46,XY,t(4;11)(?q21;q23)[20]") == [(Kmt2aStatus.REARRANGED, None, ("AFF1",), None)]


@pytest.mark.parametrize("iscn,status,candidates", [
    ("46,XY,t(1;11;4)(p32;q23;q21)[20]", Kmt2aStatus.REARRANGED, ("EPS15", "AFF1")),
    ("46,XX,t(4;11;7)(q21.3;q23.3;p15)[20]", Kmt2aStatus.REARRANGED, ("AFF1",)),
    ("46,XY,t(11;17;19)(q23;q21;p13.3)[20]", Kmt2aStatus.UNKNOWN, ("MLLT6", "MLLT1")),
])
def test_a_three_way_translocation_names_its_partners_only_as_candidates(iscn, status, candidates):
    # which partner's segment joins KMT2A the bands alone do not say: the first one written was taken as the partner
    assert kmt2a(iscn) == [(status, None, candidates, None)]


@pytest.mark.parametrize("iscn,events", [
    ("nuc ish(TP53x1)[150/200]", [("TP53", "deletion", True)]),
    ("nuc ish(TP53x2)[200]", [("TP53", "copy-number", False)]),
    ("nuc ish(CDKN2Ax0)[90/200]", [("CDKN2A", "deletion", True)]),
])
def test_a_probe_with_fewer_than_two_signals_is_a_deletion(iscn, events):
    # 'TP53x1' is the 17p13 loss ELN counts as abn(17p), not a TP53 mutation whose VAF the card would ask for
    assert parse(iscn).gene_events == events


@pytest.mark.parametrize("text", ["45,XY,-7,del(5)(q13q33),\n-17,+mar[20]",
                                  "Karyotype: 45,XY,-7,del(5)(q13q33),\r\n  -17,+mar[20]\nComment: see report"])
def test_a_karyotype_wrapped_after_a_comma_is_read_whole(text):
    # a PDF wraps a long karyotype at a comma: the line end cut it, losing -17 and the marker (no longer complex)
    r = parse(text)
    assert r.aberrations == ["-7", "del(5)(q13q33)", "-17", "+mar"] and is_complex(r)


def test_a_wrapped_karyotype_is_quoted_on_one_line():
    assert parse("46,XY,t(4;11)(q21;q23)[15]/\r\n46,XY[5]").karyotype == "46,XY,t(4;11)(q21;q23)[15]/46,XY[5]"
