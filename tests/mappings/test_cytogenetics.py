import pytest

from fhir_mappings.case import Kmt2aStatus
from fhir_mappings.cytogenetics import is_complex, parse


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
