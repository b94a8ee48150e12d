"""Properties of reading a chart (issue 8):
1. the same finding written in any location (valueString, value text, note, component, conclusion, presentedForm
   text/HTML/PDF, a contained resource, a result reference) gives the same KMT2A status, partner and evidence;
2. an unrelated negated statement next to a positive finding never changes it; negating the finding always does."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fhir_mappings.case import Kmt2aStatus
from tests.mappings.chart import case_of, concept, lab, report
from tests.mappings.reports import attachment, html, pdf

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAME = "Hematologic malignancy panel"
WHEN = "2025-02-11"

FINDINGS = [  # (statement, status, partner)
    ("KMT2A::AFF1 fusion detected", Kmt2aStatus.REARRANGED, "AFF1"),
    ("MLL-AF9 fusion transcript positive", Kmt2aStatus.REARRANGED, "MLLT3"),
    ("KMT2A-MLLT1 (MLL-ENL) fusion identified", Kmt2aStatus.REARRANGED, "MLLT1"),
    ("MLL-AF6 detected", Kmt2aStatus.REARRANGED, "AFDN"),
    ("No KMT2A rearrangement detected", Kmt2aStatus.NOT_DETECTED, None),
    ("KMT2A rearrangement cannot be excluded", Kmt2aStatus.UNKNOWN, None),
    ("KMT2A partial tandem duplication detected", Kmt2aStatus.PTD, None),
]


def in_value_string(text):
    return [lab(NAME, when=WHEN, valueString=text)]


def in_value_text(text):
    return [lab(NAME, when=WHEN, valueCodeableConcept=concept(text))]


def in_note(text):
    return [lab(NAME, when=WHEN, valueString="See comment", note=[{"text": text}])]


def in_component(text):
    return [lab(NAME, when=WHEN, component=[{"code": concept("Result"), "valueString": text}])]


def in_conclusion(text):
    return [report(NAME, when=WHEN, conclusion=text)]


def in_plain_text(text):
    return [report(NAME, when=WHEN, presentedForm=[attachment("text/plain", f"FINAL REPORT\n{text}.\n".encode())])]


def in_html(text):
    return [report(NAME, when=WHEN, presentedForm=[attachment("text/html", html(["Specimen: bone marrow", text]))])]


def in_pdf(text):
    return [report(NAME, when=WHEN, presentedForm=[attachment("application/pdf", pdf(["Specimen: bone marrow",
                                                                                     f"{text}."]))])]


def in_contained(text):
    obs = {"resourceType": "Observation", "id": "c1", "code": concept("Result"), "valueString": text}
    return [report(NAME, when=WHEN, contained=[obs], result=[{"reference": "#c1"}])]


def by_reference(text):
    return [report(NAME, when=WHEN, result=[{"reference": "Observation/res-1"}]),
            lab("Result", rid="res-1", when=WHEN, valueString=text)]


LOCATIONS = [in_value_string, in_value_text, in_note, in_component, in_conclusion, in_plain_text, in_html, in_pdf,
             in_contained, by_reference]


def reading(case):
    k = case.kmt2a
    evidence = sorted((f.status.value, f.partner or "", f.method, f.uncertain, f.source.date.isoformat())
                      for f in k.findings)
    return k.status, k.partner, evidence


@SETTINGS
@given(finding=st.sampled_from(FINDINGS), location=st.sampled_from(LOCATIONS))
def test_the_same_finding_reads_the_same_in_every_location(finding, location):
    text, status, partner = finding
    expected = reading(case_of(*in_value_string(text)))
    got = reading(case_of(*location(text)))
    assert got == expected
    assert (got[0], got[1]) == (status, partner)
    assert got[2], "the finding names its evidence"


POSITIVE = [f for f in FINDINGS if f[1] == Kmt2aStatus.REARRANGED]
OTHER_GENES = ["FLT3", "NPM1", "TP53", "IDH1", "CEBPA"]
UNRELATED = ["No {g} variant detected", "Negative for {g} mutation", "{g} mutation not identified",
             "{g}: not detected", "{g} mutation absent", "{g} wild type", "No evidence of a {g} mutation"]
SEPARATORS = [". ", "; ", ", ", "\n"]
NEGATED = ["No {f} detected", "{f} not detected", "Negative for {f}", "{f}: absent", "{f} was not identified"]


@SETTINGS
@given(finding=st.sampled_from(POSITIVE), gene=st.sampled_from(OTHER_GENES), form=st.sampled_from(UNRELATED),
       sep=st.sampled_from(SEPARATORS), before=st.booleans(),
       location=st.sampled_from([in_value_string, in_conclusion, in_pdf, in_contained]))
def test_an_unrelated_negation_never_changes_the_finding(finding, gene, form, sep, before, location):
    text, status, partner = finding
    other = form.format(g=gene)
    combined = f"{other}{sep}{text}" if before else f"{text}{sep}{other}"
    case = case_of(*location(combined))
    assert (case.kmt2a.status, case.kmt2a.partner) == (status, partner), combined
    assert all(f.present is False for f in case.finding(gene)), combined


@SETTINGS
@given(finding=st.sampled_from(POSITIVE), form=st.sampled_from(NEGATED),
       location=st.sampled_from([in_value_string, in_conclusion, in_pdf, in_contained, in_html]))
def test_negating_the_finding_always_changes_it(finding, form, location):
    text, _, partner = finding
    fusion = text.split(" ")[0]  # "KMT2A::AFF1", "MLL-AF9" ...
    case = case_of(*location(form.format(f=f"{fusion} fusion")))
    assert case.kmt2a.status != Kmt2aStatus.REARRANGED
    assert any(f.status == Kmt2aStatus.NOT_DETECTED and f.partner == partner for f in case.kmt2a.findings)
