"""The vignette fixtures and what each must yield (contract fields), shared by the clinical and HTTP tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tests.fixtures.vignettes.build import REFERENCE_DATE, VIGNETTES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vignettes"
MENIN = {"menin-inhibitor", "menin-inhibitor-bridge-to-hsct"}


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Expect:
    groups: frozenset = frozenset()  # exact set of (scheme, group)
    considerations: frozenset = frozenset()  # must be present
    no_considerations: frozenset = frozenset()
    cautions: frozenset = frozenset()
    no_cautions: frozenset = frozenset()
    missing: frozenset = frozenset()
    no_missing: frozenset = frozenset()
    kmt2a: tuple = ()  # (status, partner or None)
    patient: dict = field(default_factory=dict)  # subset of the assessment's "patient"
    disease: dict = field(default_factory=dict)  # subset of "disease"
    groups_alternatives: tuple = ()  # when set: groups must equal one of these (a mapper may or may not name candidates)


def E(groups=(), cons=(), no_cons=(), cautions=(), no_cautions=(), missing=(), no_missing=(), **kw) -> Expect:
    return Expect(frozenset(groups), frozenset(cons), frozenset(no_cons), frozenset(cautions), frozenset(no_cautions),
                  frozenset(missing), frozenset(no_missing), **kw)


INFANT, CHILD, ADULT = {"ageGroup": "infant"}, {"ageGroup": "child"}, {"ageGroup": "adult"}
NEW, RR = {"setting": "newly-diagnosed"}, {"setting": "relapsed-refractory"}

EXPECTED: dict[str, Expect] = {
    "infant-high-wbc": E({("interfant-06", "high")},
                         {"interfant-protocol", "hsct-infant-timing", "continue-risk-adapted-chemotherapy", "clinical-trial"},
                         MENIN | {"intensified-consolidation"}, {"source-disagreement"},
                         no_missing={"wbc-at-diagnosis", "prednisone-response", "mrd-end-of-induction"},
                         kmt2a=("rearranged", "AFF1"), patient=INFANT | {"ageAtDiagnosisDays": 120},
                         disease={"lineage": "B-ALL"} | NEW),
    "infant-high-ppr": E({("interfant-06", "high")}, {"hsct-infant-timing", "mrd-assessment"}, MENIN,
                         {"source-disagreement"}, no_missing={"wbc-at-diagnosis", "prednisone-response"},
                         kmt2a=("rearranged", "MLLT1"), patient=INFANT),
    "infant-medium-older": E({("interfant-06", "medium")}, {"interfant-protocol"}, {"hsct-infant-timing"},
                             {"source-disagreement"}, missing={"mrd-end-of-induction"},
                             no_missing={"wbc-at-diagnosis", "prednisone-response"}, kmt2a=("rearranged", "MLLT1"),
                             patient=INFANT | {"ageAtDiagnosisDays": 250}),
    "infant-medium-young": E({("interfant-06", "medium")}, {"continue-risk-adapted-chemotherapy"},
                             {"hsct-infant-timing", "intensified-consolidation"}, no_missing={"prednisone-response"},
                             kmt2a=("rearranged", "MLLT3"), patient=INFANT),
    "infant-low-germline": E({("interfant-06", "low")}, {"interfant-protocol"}, MENIN | {"hsct-infant-timing"},
                             no_cautions={"source-disagreement"}, no_missing={"kmt2a-status"},
                             kmt2a=("not-detected", None), patient=INFANT),
    "infant-missing-wbc-ppr": E((), {"interfant-protocol"}, {"hsct-infant-timing"},
                                missing={"wbc-at-diagnosis", "prednisone-response"}, kmt2a=("rearranged", "AFF1"),
                                patient=INFANT),
    "infant-normal-karyotype-only": E((), {"interfant-protocol"}, MENIN, missing={"kmt2a-status"},
                                      kmt2a=("unknown", None), patient=INFANT),
    "infant-high-wbc-no-ppr": E({("interfant-06", "high")}, {"hsct-infant-timing"}, (),
                                no_missing={"prednisone-response", "wbc-at-diagnosis"}, kmt2a=("rearranged", "AFF1")),
    "infant-mrd-positive": E({("interfant-06", "medium")}, {"intensified-consolidation"},
                             {"continue-risk-adapted-chemotherapy"}, no_missing={"mrd-end-of-induction"},
                             kmt2a=("rearranged", "AFF1")),
    "infant-under-3-months": E({("interfant-06", "medium")}, {"hsct-infant-timing"}, (), {"source-disagreement"},
                               kmt2a=("rearranged", "AFF1"), patient=INFANT),
    "child-all-t4-11": E({("pediatric-all-kmt2a", "high")}, {"intensified-consolidation", "hsct-cr1", "clinical-trial"},
                         MENIN, {"t4-11-highest-relapse-risk"}, kmt2a=("rearranged", "AFF1"), patient=CHILD),
    "child-all-mllt3-mrd-negative": E({("pediatric-all-kmt2a", "high")}, {"continue-risk-adapted-chemotherapy"},
                                      {"intensified-consolidation", "hsct-cr1"}, (), {"t4-11-highest-relapse-risk"},
                                      kmt2a=("rearranged", "MLLT3"), disease={"lineage": "ALL"}),
    "child-all-lineage-switch": E({("pediatric-all-kmt2a", "high")}, {"lineage-switch-monitoring"}, MENIN,
                                  {"t4-11-highest-relapse-risk"}, kmt2a=("rearranged", "AFF1"), patient=CHILD),
    "child-t-all-mllt1": E({("pediatric-all-kmt2a", "high")}, {"clinical-trial"}, (), kmt2a=("rearranged", "MLLT1"),
                           disease={"lineage": "T-ALL"}, patient=CHILD),
    "ped-aml-mllt10": E({("pediatric-aml-kmt2a", "high-risk-partner")},
                        {"gemtuzumab-ozogamicin", "hsct-cr1", "mrd-assessment"}, MENIN,
                        {"hsct-benefit-contested", "source-disagreement"},
                        kmt2a=("rearranged", "MLLT10"), disease={"lineage": "AML"}, patient=CHILD),
    "ped-aml-mllt3": E({("pediatric-aml-kmt2a", "standard-partner")}, {"gemtuzumab-ozogamicin"}, {"hsct-cr1"},
                       no_cautions={"hsct-benefit-contested"}, kmt2a=("rearranged", "MLLT3")),
    "ped-aml-partner-unknown": E({("pediatric-aml-kmt2a", "partner-unknown")},
                                 {"confirm-fusion-partner", "gemtuzumab-ozogamicin"}, missing={"fusion-partner"},
                                 kmt2a=("rearranged", None)),
    "infant-aml-afdn": E({("pediatric-aml-kmt2a", "high-risk-partner")}, {"gemtuzumab-ozogamicin"},
                         {"interfant-protocol"}, kmt2a=("rearranged", "AFDN"), patient=INFANT),
    "adult-aml-mllt3": E({("eln-2022", "intermediate")}, {"hsct-cr1"}, MENIN, kmt2a=("rearranged", "MLLT3"),
                         patient=ADULT),
    "adult-aml-afdn": E({("eln-2022", "adverse")}, {"hsct-cr1"}, kmt2a=("rearranged", "AFDN"), patient=ADULT),
    "adult-aml-ptd-relapsed": E((), (), MENIN, {"ptd-not-rearrangement"}, kmt2a=("ptd", None), disease=RR),
    "adult-aml-partner-unknown": E((), {"confirm-fusion-partner"}, (), missing={"fusion-partner"},
                                   kmt2a=("rearranged", None)),
    "adult-aml-t11-19-ambiguous": E((), {"confirm-fusion-partner"}, (), {"t11-19-partner-ambiguous"},
                                    groups_alternatives=(frozenset({("eln-2022", "adverse")}), frozenset())),
    "adult-aml-t11-17-may-be-apl": E((), (), MENIN, {"t11-17-may-be-apl"},
                                     missing={"kmt2a-status", "coagulation-work-up"}, kmt2a=("unknown", None)),
    "adult-aml-tp53-germline-kmt2a": E({("eln-2022", "adverse")}, (), MENIN, kmt2a=("not-detected", None)),
    "adult-aml-untested": E((), (), MENIN, missing={"kmt2a-status"}, kmt2a=("unknown", None), patient=ADULT),
    "therapy-related-aml": E({("eln-2022", "intermediate")}, {"hsct-cr1"}, (), {"therapy-related"},
                             kmt2a=("rearranged", "MLLT3"), disease={"therapyRelated": True}),
    "adult-all-aff1": E({("adult-all", "high")}, {"hsct-cr1", "clinical-trial"}, MENIN, missing={"mrd-end-of-induction"},
                        kmt2a=("rearranged", "AFF1"), patient=ADULT),
    "case-report-patient-1": E({("adult-all", "high"), ("kmt2a-amplified", "high")},
                               {"tp53-germline-testing", "ph-like-testing", "clinical-trial"}, MENIN,
                               {"amplification-not-rearrangement"}, kmt2a=("amplified", None),
                               patient=ADULT, disease={"lineage": "B-ALL"}),
    "case-report-patient-2": E({("adult-all", "high"), ("kmt2a-amplified", "high")},
                               {"tp53-testing", "ph-like-testing", "clinical-trial"}, MENIN,
                               {"amplification-not-rearrangement"}, kmt2a=("amplified", None), patient=ADULT),
    "relapsed-child-aml-menin": E({("pediatric-aml-kmt2a", "standard-partner")},
                                  {"menin-inhibitor", "qtc-monitoring", "differentiation-syndrome-monitoring",
                                   "menin-inhibitor-bridge-to-hsct"}, {"gemtuzumab-ozogamicin"},
                                  no_cautions={"menin-inhibitor-off-label-age"}, no_missing={"weight", "height", "qtc"},
                                  kmt2a=("rearranged", "MLLT3"), disease=RR),
    "relapsed-adult-all-posaconazole": E({("adult-all", "high")}, {"menin-inhibitor", "qtc-monitoring"}, (),
                                         no_missing={"weight", "qtc"}, kmt2a=("rearranged", "AFF1"), disease=RR),
    "relapsed-infant-off-label": E({("interfant-06", "high")}, {"menin-inhibitor"}, (),
                                   {"menin-inhibitor-off-label-age"}, kmt2a=("rearranged", "AFF1"), disease=RR),
    "relapsed-amplified-all": E({("adult-all", "high"), ("kmt2a-amplified", "high")}, {"clinical-trial"}, MENIN,
                                {"amplification-not-rearrangement"}, kmt2a=("amplified", None), disease=RR),
    "relapsed-kmt2a-unknown": E((), {"clinical-trial"}, MENIN, missing={"kmt2a-status"}, kmt2a=("unknown", None),
                                disease=RR),
    "relapsed-missing-weight": E({("eln-2022", "adverse")}, {"menin-inhibitor"}, (), missing={"weight", "qtc"},
                                 kmt2a=("rearranged", "MLLT10"), disease=RR),
    "no-leukemia": E((), (), (), (), (), (), (), kmt2a=("unknown", None)),
    "conflicting-kmt2a": E((), (), MENIN, {"kmt2a-evidence-conflict"}, missing={"kmt2a-status"},
                           kmt2a=("unknown", None)),
}

NAMES = sorted(VIGNETTES)
# No card at all: no leukemia, or a KMT2A-negative leukemia with nothing KMT2A-relevant to act on.
SILENT = frozenset({"no-leukemia", "adult-aml-tp53-germline-kmt2a"})
assert set(EXPECTED) == set(NAMES), set(EXPECTED) ^ set(NAMES)


def check(name: str, got: dict) -> None:
    """Assert the contract fields of one printed assessment against the vignette's expectation."""
    e = EXPECTED[name]
    groups = {(g["scheme"], g["group"]) for g in got.get("riskGroups", [])}
    if e.groups_alternatives:
        assert groups in e.groups_alternatives, groups
    else:
        assert groups == set(e.groups), groups
    cons = {c["code"] for c in got.get("considerations", [])}
    cautions = {c["code"] for c in got.get("cautions", [])}
    missing = set(got.get("missingData", []))
    assert e.considerations <= cons, e.considerations - cons
    assert not e.no_considerations & cons, e.no_considerations & cons
    assert e.cautions <= cautions, e.cautions - cautions
    assert not e.no_cautions & cautions, e.no_cautions & cautions
    assert e.missing <= missing, e.missing - missing
    assert not e.no_missing & missing, e.no_missing & missing
    if e.kmt2a:
        assert got["kmt2a"]["status"] == e.kmt2a[0]
        assert got["kmt2a"].get("partner") == e.kmt2a[1]
    for key, value in e.patient.items():
        assert got["patient"].get(key) == value, (key, got["patient"])
    for key, value in e.disease.items():
        assert got["disease"].get(key) == value, (key, got["disease"])
    for c in got.get("considerations", []):
        assert c["citations"], c
    assert got["knowledgeVersion"]
