"""The chart corpus: results written the way labs and EHRs send them, grouped by class (issue 8), each with the
Case fields it must give. Builders are in chart.py (local code systems, envelopes) and reports.py (PDF/HTML)."""

from __future__ import annotations

from collections import Counter
from typing import Callable

import pytest

from cds_service.stratification.facts import mrd_positive
from tests.mappings.chart import (AML, BALL, ICD10, ICDO3, LOINC, RXNORM, SCT, case_of, coding, concept, condition,
                                  lab, report)
from tests.mappings.reports import attachment, html, pdf

CORPUS: list[tuple[str, str, Callable[[], list[dict]], dict]] = []


def variant(cls: str, name: str, **expected):
    def register(build):
        CORPUS.append((cls, name, build, expected))
        return build
    return register


def text_att(text: str, kind: str = "text/plain", title: str | None = None) -> dict:
    return attachment(kind, text.encode("utf-8"), title)


# --- A. where results live in an Observation -------------------------------------------------------------------

@variant("observation", "valueString", kmt2a="rearranged", partner="AFF1")
def _():
    return [lab("KMT2A (MLL) fusion RT-PCR", valueString="KMT2A::AFF1 fusion transcript DETECTED")]


@variant("observation", "valueCodeableConcept.text", kmt2a="rearranged", partner="MLLT3")
def _():
    return [lab("Leukemia translocation PCR panel", valueCodeableConcept=concept("KMT2A-MLLT3 (MLL-AF9) detected"))]


@variant("observation", "valueCodeableConcept display only", kmt2a="rearranged", partner="MLLT1")
def _():
    return [lab("MLL-ENL RT-PCR", valueCodeableConcept={"coding": [coding(SCT, "10828004", "Positive")]})]


@variant("observation", "coded interpretation, no value", kmt2a="rearranged", partner=None)
def _():
    return [lab("MLL (KMT2A) break-apart FISH",
                interpretation=[{"coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                                   "POS", "Positive")]}])]


@variant("observation", "coded Not detected", kmt2a="not-detected")
def _():
    return [lab("KMT2A gene rearrangement FISH", valueCodeableConcept={"coding": [coding(SCT, "260415000", "Not detected")],
                                                                       "text": "Not detected"})]


@variant("observation", "note", kmt2a="rearranged", partner="MLLT10")
def _():
    return [lab("Heme malignancy fusion panel (RNA)", valueString="See comment",
                note=[{"text": "A KMT2A::MLLT10 fusion was identified (exon 9 :: exon 6)."}])]


@variant("observation", "component valueString", kmt2a="rearranged", partner="AFDN")
def _():
    return [lab("AML fusion panel", component=[
        {"code": concept("Fusion 1"), "valueString": "KMT2A::AFDN (MLL-AF6) detected"},
        {"code": concept("Fusion 2"), "valueString": "None detected"}])]


@variant("observation", "component valueCodeableConcept per fusion", kmt2a="rearranged", partner="MLLT3",
         genes={"RUNX1": False})
def _():
    return [lab("Acute leukemia RT-PCR panel", component=[
        {"code": concept("KMT2A-MLLT3 (MLL-AF9)"), "valueCodeableConcept": concept("Detected")},
        {"code": concept("RUNX1-RUNX1T1"), "valueCodeableConcept": concept("Not detected")}])]


@variant("observation", "value with ISCN karyotype under a local name", kmt2a="rearranged", partner="AFF1")
def _():
    return [lab("Chromosome result", valueString="46,XX,t(4;11)(q21;q23)[18]/46,XX[2]")]


@variant("observation", "FISH nuc ish in valueString", kmt2a="rearranged")
def _():
    return [lab("MLL FISH", valueString="nuc ish(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[168/200]")]


# --- B. DiagnosticReport text, attachments ----------------------------------------------------------------------

@variant("report", "conclusion", kmt2a="rearranged", partner="AFF1")
def _():
    return [report("Bone marrow molecular report", conclusion="Positive for KMT2A::AFF1 (MLL-AF4) by RT-PCR.")]


@variant("report", "conclusionCode text", kmt2a="rearranged", partner="MLLT3")
def _():
    return [report("Cytogenetics", conclusionCode=[concept("AML with t(9;11)(p21.3;q23.3); KMT2A::MLLT3")])]


@variant("report", "presentedForm text/plain", kmt2a="rearranged", partner="ELL", genes={"FLT3": False})
def _():
    return [report("Hematologic malignancy fusion panel",
                   presentedForm=[text_att("RESULT: POSITIVE\nKMT2A::ELL fusion detected.\nFLT3-ITD: negative.")])]


@variant("report", "presentedForm text/plain with charset", kmt2a="rearranged", partner="SEPTIN6")
def _():
    return [report("Molecular hematopathology", presentedForm=[
        attachment("text/plain; charset=ISO-8859-1", "Résultat: MLL-SEPT6 détecté. KMT2A::SEPTIN6 positive.".encode(
            "latin-1"))])]


@variant("report", "presentedForm HTML", kmt2a="rearranged", partner="MLLT1", genes={"TP53": False})
def _():
    return [report("Bone marrow genetics", presentedForm=[attachment("text/html", html(
        ["Specimen: bone marrow aspirate", "RT-PCR: MLL-ENL (KMT2A::MLLT1) detected", "TP53: no mutation detected"]))])]


@variant("report", "presentedForm XHTML", kmt2a="not-detected")
def _():
    markup = ('<div xmlns="http://www.w3.org/1999/xhtml"><h3>FISH</h3><p>KMT2A (MLL) break-apart probe: normal '
              'signal pattern in 200/200 nuclei.</p><p>Interpretation: NEGATIVE for KMT2A rearrangement.</p></div>')
    return [report("FISH leukemia panel", presentedForm=[attachment("application/xhtml+xml", markup.encode())])]


@variant("report", "presentedForm PDF text layer", kmt2a="rearranged", partner="MLLT6")
def _():
    return [report("Bone marrow genetics report", presentedForm=[attachment("application/pdf", pdf(
        ["Bone marrow, aspirate: acute myeloid leukemia.", "RT-PCR: MLL-AF17 (KMT2A::MLLT6) detected."]),
        "Final report")])]


@variant("report", "presentedForm PDF, compressed stream", kmt2a="rearranged", partner="AFF1")
def _():
    return [report("Molecular pathology report", presentedForm=[attachment("application/pdf", pdf(
        ["Karyotype: 46,XY,t(4;11)(q21.3;q23.3)[20]", "Interpretation: KMT2A-rearranged B-ALL."], compress=True))])]


@variant("report", "scanned PDF is named unreadable", kmt2a="unknown", unreadable=1)
def _():
    return [report("Outside cytogenetics report", presentedForm=[attachment("application/pdf", pdf([], scanned=True),
                                                                            "Scanned outside report")])]


@variant("report", "an image attachment is named unreadable", kmt2a="unknown", unreadable=1)
def _():
    return [report("Bone marrow pathology", presentedForm=[attachment("image/jpeg", b"\xff\xd8\xff\xe0 fake jpeg")])]


@variant("report", "PDF held in a Binary by url", kmt2a="rearranged", partner="MLLT3")
def _():
    binary = {"resourceType": "Binary", "id": "bin-77", "contentType": "application/pdf",
              "data": attachment("application/pdf", pdf(["KMT2A::MLLT3 fusion detected by RNA sequencing."]))["data"]}
    return [binary, report("Hematologic malignancy NGS", presentedForm=[
        {"contentType": "application/pdf", "url": "Binary/bin-77", "title": "NGS report"}])]


@variant("report", "MRD report: the level in the conclusion, after the assay sensitivity", mrd=(0.0005, True),
         kmt2a="unknown")
def _():
    return [report("Bone marrow MRD, flow cytometry (day 29)", when="2025-03-20",
                   conclusion="Assay sensitivity 0.001%. Residual B-lymphoblasts: 0.05% of leukocytes (MRD POSITIVE).")]


@variant("report", "MRD report named after the KMT2A breakpoint, negative, in a PDF", mrd=(None, False),
         kmt2a="unknown")
def _():
    return [report("MRD KMT2A::AFF1 genomic breakpoint qPCR", when="2025-03-20", presentedForm=[
        attachment("application/pdf", pdf(["Patient-specific KMT2A::AFF1 breakpoint assay.",
                                           "Result: not detected (sensitivity 1 in 10^5)."]))])]


@variant("report", "scanned MRD report is named unreadable, not read as no MRD", unreadable=1, mrd_count=0)
def _():
    return [report("Minimal residual disease (flow)", when="2025-03-20",
                   presentedForm=[attachment("application/pdf", pdf([], scanned=True))])]


@variant("report", "report of an unrelated kind is not decoded", kmt2a="unknown", unreadable=0)
def _():
    return [report("Chest X-ray", category=[concept("Radiology")],
                   presentedForm=[attachment("application/pdf", pdf([], scanned=True))])]


# --- C. results reached by reference ----------------------------------------------------------------------------

@variant("reference", "DiagnosticReport.result -> contained Observation with a generic name", kmt2a="rearranged",
         partner="AFF1")
def _():
    contained = {"resourceType": "Observation", "id": "r1", "code": concept("Result"),
                 "valueString": "MLL-AF4 positive"}
    return [report("KMT2A fusion RT-PCR", contained=[contained], result=[{"reference": "#r1"}])]


@variant("reference", "contained Observation without status, subject or date inherits them", kmt2a="not-detected",
         evidence_dated=True)
def _():
    contained = {"resourceType": "Observation", "id": "fish1", "code": concept("Interpretation"),
                 "valueString": "No KMT2A rearrangement detected (normal signal pattern)."}
    return [report("MLL break-apart FISH", contained=[contained], result=[{"reference": "#fish1"}])]


@variant("reference", "a report entered in error takes its contained results with it", kmt2a="unknown")
def _():
    contained = {"resourceType": "Observation", "id": "r1", "status": "final", "code": concept("Result"),
                 "valueString": "KMT2A::AFF1 detected"}
    r = report("KMT2A fusion RT-PCR", contained=[contained], result=[{"reference": "#r1"}])
    r["status"] = "entered-in-error"
    return [r]


@variant("reference", "result by relative reference to a generically named Observation", kmt2a="rearranged",
         partner="MLLT10")
def _():
    obs = lab("Result", rid="res-9", valueString="Positive: KMT2A::MLLT10")
    return [report("Leukemia fusion transcript panel", result=[{"reference": "Observation/res-9"}]), obs]


@variant("reference", "result by absolute reference", kmt2a="rearranged")
def _():
    obs = lab("Interpretation", rid="res-10", valueString="rearranged (split signal in 82% of nuclei)")
    return [report("KMT2A (MLL) FISH", result=[{"reference": "https://ehr.example.org/fhir/R4/Observation/res-10"}]), obs]


@variant("reference", "Observation.hasMember panel with a generic member", kmt2a="rearranged", partner="MLLT1")
def _():
    member = lab("Result", rid="m-1", valueCodeableConcept=concept("Detected"))
    panel = lab("MLL-ENL fusion, quantitative", rid="panel-1", hasMember=[{"reference": "Observation/m-1"}])
    return [panel, member]


@variant("reference", "Observation.derivedFrom: the interpretation takes its source's name", kmt2a="rearranged",
         partner="AFDN")
def _():
    source = lab("KMT2A-AFDN (MLL-AF6) RT-PCR", rid="src-1", valueQuantity={"value": 0.85, "unit": "ratio"})
    interp = lab("Interpretation", rid="int-1", valueString="Detected", derivedFrom=[{"reference": "Observation/src-1"}])
    return [source, interp]


@variant("reference", "transaction Bundle: urn:uuid entries without ids", kmt2a="rearranged", partner="AFF1")
def _():
    return [{"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0c3e6b6e-8f1d-4c8e-9a7e-1d2f3a4b5c6d",
         "resource": {"resourceType": "Observation", "status": "final", "code": concept("Result"),
                      "subject": {"reference": "Patient/pt-4471"}, "valueString": "KMT2A::AFF1 detected"},
         "request": {"method": "POST", "url": "Observation"}},
        {"fullUrl": "urn:uuid:6f1e2d3c-4b5a-4f6e-8d7c-9b0a1c2d3e4f",
         "resource": {"resourceType": "DiagnosticReport", "status": "final", "code": concept("KMT2A fusion PCR"),
                      "subject": {"reference": "Patient/pt-4471"}, "effectiveDateTime": "2025-02-11",
                      "result": [{"reference": "urn:uuid:0c3e6b6e-8f1d-4c8e-9a7e-1d2f3a4b5c6d"}]},
         "request": {"method": "POST", "url": "DiagnosticReport"}}]}]


@variant("reference", "contained Observation of a report with a LOINC karyotype code", kmt2a="rearranged",
         partner="MLLT3")
def _():
    contained = {"resourceType": "Observation", "id": "k", "status": "final",
                 "code": {"coding": [coding(LOINC, "33893-9", "Chromosome analysis result in ISCN")]},
                 "valueString": "47,XY,+8,t(9;11)(p21.3;q23.3)[20]"}
    return [report("Cytogenetics", contained=[contained], result=[{"reference": "#k"}])]


# --- D. local codes routed by text and by value; several meanings of one result ---------------------------------

@variant("routing", "fusion panel whose name names no gene, value names the fusion", kmt2a="rearranged",
         partner="MLLT3")
def _():
    return [lab("Leukemia fusion panel", valueString="KMT2A-MLLT3 fusion identified")]


@variant("routing", "code with no words at all, value names the fusion", kmt2a="rearranged", partner="AFF1")
def _():
    o = lab("x", valueString="MLL/AF4 fusion positive")
    o["code"] = {"coding": [{"system": "urn:oid:1.2.840.114350.1.13.502.2.7.2.768282", "code": "123456"}]}
    return [o]


@variant("routing", "MRD assay named after the KMT2A breakpoint is MRD, not KMT2A status", kmt2a="unknown",
         mrd=(0.0003, True))
def _():
    return [lab("MRD KMT2A-AFF1 genomic breakpoint qPCR (patient-specific)", when="2025-03-20",
                valueString="3 x 10^-4")]


@variant("routing", "negative breakpoint MRD never reads as KMT2A not detected", kmt2a="rearranged", partner="AFF1",
         mrd=(None, False))
def _():
    return [lab("KMT2A::AFF1 RT-PCR", when="2025-01-20", valueString="Detected"),
            lab("MLL-AF4 MRD (RQ-PCR, bone marrow)", when="2025-03-20", valueString="Not detected")]


@variant("routing", "LOINC 72313-0 ratio: MRD measurement and KMT2A::AFF1 evidence", kmt2a="rearranged",
         partner="AFF1", mrd=(0.0023, True))
def _():
    return [lab("t(4;11) AFF1-MLL fusion transcript/control", code="72313-0", system=LOINC, when="2025-03-20",
                valueQuantity={"value": 0.0023})]


@variant("routing", "LOINC 72313-0 below the limit: MRD negative, no KMT2A finding", kmt2a="unknown",
         mrd=(0.00001, False))
def _():
    return [lab("t(4;11) AFF1-MLL fusion transcript/control", code="72313-0", system=LOINC, when="2025-03-20",
                valueQuantity={"value": 0.00001, "comparator": "<", "unit": "{ratio}",
                               "system": "http://unitsofmeasure.org", "code": "{ratio}"})]


@variant("routing", "LOINC 72313-0 written Detected", kmt2a="rearranged", partner="AFF1")
def _():
    return [lab("AFF1-MLL transcript", code="72313-0", system=LOINC, valueString="Detected, below quantifiable range")]


@variant("routing", "MRD written in E-notation", mrd=(0.0012, True))
def _():
    return [lab("Flow MRD bone marrow", when="2025-03-20", valueString="1.2E-03")]


@variant("routing", "MRD in a component of a panel", mrd=(0.0005, True))
def _():
    return [lab("Minimal residual disease panel", when="2025-03-20", component=[
        {"code": concept("Assay sensitivity"), "valueQuantity": {"value": 0.001, "unit": "%",
                                                                 "system": "http://unitsofmeasure.org", "code": "%"}},
        {"code": concept("MRD level"), "valueQuantity": {"value": 0.05, "unit": "%",
                                                         "system": "http://unitsofmeasure.org", "code": "%"}}])]


@variant("routing", "fusion named only by the test, level zero: that fusion ruled out", kmt2a="unknown",
         ruled_out="AFF1")
def _():
    return [lab("MLL-AF4 (KMT2A::AFF1) fusion transcript, quantitative", when="2025-01-20",
                valueQuantity={"value": 0, "unit": "copies/10^4 ABL1"})]


@variant("routing", "a test name alone (data absent) is no result", kmt2a="unknown", no_findings=True)
def _():
    return [lab("MLL-AF9 RT-PCR", dataAbsentReason=concept("Specimen rejected: clotted"))]


@variant("routing", "everyday labs with local codes are not genetics", kmt2a="unknown", no_findings=True)
def _():
    return [lab("Hemoglobin", valueQuantity={"value": 9.1, "unit": "g/dL"}),
            lab("Comment", valueString="Specimen slightly hemolyzed")]


# --- E. legacy fusion names in values and in test names ---------------------------------------------------------

LEGACY = [("MLL-AF4", "AFF1"), ("MLL-AF9", "MLLT3"), ("MLL-ENL", "MLLT1"), ("MLL-AF6", "AFDN"), ("MLL-AF10", "MLLT10"),
          ("MLL-AF17", "MLLT6"), ("MLL-ELL", "ELL"), ("MLL-SEPT6", "SEPTIN6")]
for _legacy, _partner in LEGACY:
    variant("legacy", f"{_legacy} in the value", kmt2a="rearranged", partner=_partner)(
        lambda n=_legacy: [lab("Leukemia translocation RT-PCR panel", valueString=f"{n} fusion transcript detected")])
for _legacy, _partner in LEGACY[:4]:
    variant("legacy", f"{_legacy} in the test name, value Positive", kmt2a="rearranged", partner=_partner)(
        lambda n=_legacy: [lab(f"{n} RT-PCR, qualitative", valueCodeableConcept=concept("Positive"))])


# --- F. negation and hedging at the level of a chart ------------------------------------------------------------

@variant("language", "coordinated list negates every gene", genes={"NPM1": False, "FLT3": False, "IDH1": False},
         kmt2a="rearranged", partner="MLLT3")
def _():
    return [report("Myeloid NGS panel", conclusion="KMT2A::MLLT3 fusion detected. No NPM1, FLT3 or IDH1 variant "
                                                   "detected.")]


@variant("language", "negative for a list of rearrangements", kmt2a="not-detected", genes={"ABL1": False})
def _():
    return [report("B-ALL FISH panel", conclusion="Negative for BCR::ABL1, KMT2A and ETV6::RUNX1 rearrangements.")]


@variant("language", "not identified", kmt2a="not-detected")
def _():
    return [lab("KMT2A rearrangement FISH", valueString="KMT2A rearrangement not identified")]


@variant("language", "absent", kmt2a="not-detected")
def _():
    return [lab("MLL gene rearrangement", valueString="Absent")]


@variant("language", "possible", kmt2a="unknown", uncertain=True)
def _():
    return [report("Cytogenetics", conclusion="Possible KMT2A rearrangement; confirmation by FISH recommended.")]


@variant("language", "cannot be excluded", kmt2a="unknown", uncertain=True)
def _():
    return [report("Karyotype", conclusion="Normal karyotype. A cryptic KMT2A rearrangement cannot be excluded.")]


@variant("language", "suspicious for", kmt2a="unknown", uncertain=True)
def _():
    return [report("Flow cytometry", conclusion="Immunophenotype suspicious for KMT2A-rearranged B-ALL (CD10-negative).")]


@variant("language", "equivocal", kmt2a="unknown", uncertain=True)
def _():
    return [lab("KMT2A break-apart FISH", valueString="Equivocal (3% split signals, near the cut-off)")]


@variant("language", "hedge beside a definite FISH negative keeps the negative", kmt2a="not-detected")
def _():
    return [report("Karyotype", conclusion="KMT2A rearrangement cannot be excluded by banding."),
            lab("KMT2A break-apart FISH", valueString="No KMT2A rearrangement detected")]


@variant("language", "in a subclone", kmt2a="rearranged", partner="MLLT3", qualifier="subclone")
def _():
    return [lab("Fusion panel", valueString="KMT2A::MLLT3 detected in a subclone (approx. 10% of cells)")]


@variant("language", "mosaic", kmt2a="rearranged", qualifier="mosaic")
def _():
    return [lab("MLL FISH", valueString="Mosaic KMT2A rearrangement detected in 12% of nuclei")]


@variant("language", "history of", kmt2a="rearranged", partner="AFF1", qualifier="historical")
def _():
    return [report("Relapse workup", conclusion="History of KMT2A::AFF1-positive B-ALL; relapse specimen.")]


@variant("language", "unrelated negation beside the finding", kmt2a="rearranged", partner="MLLT10",
         genes={"TP53": False})
def _():
    return [lab("AML panel", valueString="TP53 mutation not detected, KMT2A::MLLT10 fusion detected")]


@variant("language", "the fusion itself negated", kmt2a="unknown", ruled_out="MLLT1")
def _():
    return [lab("MLL-ENL RT-PCR", valueString="MLL-ENL fusion transcript was not detected")]


@variant("language", "wild type NPM1 is an absent NPM1 variant", genes={"NPM1": False})
def _():
    return [lab("NPM1 exon 12 mutation analysis", valueString="NPM1 wild type")]


@variant("language", "hedged NPM1 is neither present nor absent", no_gene=["NPM1"])
def _():
    return [lab("NPM1 mutation analysis", valueString="Possible NPM1 variant, repeat testing advised")]


@variant("language", "PTD is not a rearrangement, even beside a negative", kmt2a="ptd")
def _():
    return [report("Myeloid panel", conclusion="KMT2A partial tandem duplication (exons 2-8) detected; no KMT2A "
                                               "translocation.")]


# --- G. diagnoses across time -----------------------------------------------------------------------------------

@variant("diagnoses", "B-ALL relapsing as AML, written as a lineage switch", lineage="AML", original="B-ALL",
         switch=True, status="relapsed", diagnosis_date="2024-12-01")
def _():
    return [condition(BALL, onset="2024-12-01", clinical="remission"),
            condition(AML, text="AML (lineage switch from B-ALL)", onset="2025-07-15")]


@variant("diagnoses", "B-ALL then AML with the same KMT2A rearrangement", lineage="AML", original="B-ALL",
         switch=True, status="relapsed")
def _():
    return [condition(BALL, onset="2024-12-01", clinical="remission"), condition(AML, onset="2025-07-15"),
            lab("KMT2A::AFF1 RT-PCR", when="2024-12-02", valueString="Detected")]


@variant("diagnoses", "B-ALL then AML after blinatumomab", lineage="AML", original="B-ALL", switch=True,
         status="relapsed")
def _():
    blina = {"resourceType": "MedicationAdministration", "id": "blina-1", "status": "completed",
             "medicationCodeableConcept": {"coding": [coding(RXNORM, "1597258", "blinatumomab")]},
             "subject": {"reference": "Patient/pt-4471"},
             "effectivePeriod": {"start": "2025-03-01", "end": "2025-03-28"}}
    return [condition(BALL, onset="2024-12-01", clinical="remission"), condition(AML, onset="2025-07-15"), blina]


@variant("diagnoses", "AML relapsing as ALL (the reverse)", lineage="ALL", original="AML", switch=True,
         status="relapsed")
def _():
    return [condition(coding(ICD10, "C92.01"), onset="2024-06-01"),
            condition(coding(ICD10, "C91.00"), text="ALL, relapse as lymphoblastic leukemia", onset="2025-05-01")]


@variant("diagnoses", "therapy-related AML after ALL is a second leukemia, not a switch", lineage="AML",
         original="ALL", switch=False, status="newly-diagnosed")
def _():
    return [condition(coding(ICD10, "C91.01"), onset="2019-05-01", clinical="remission"),
            condition(coding(ICD10, "C92.00"), text="Therapy-related AML", onset="2025-04-01")]


@variant("diagnoses", "mCODE histology extension carries the only leukemia code", lineage="B-ALL", mentions_11q23=True,
         diagnosis_text="B lymphoblastic leukemia with t(v;11q23); MLL rearranged")
def _():
    ext = [{"url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior",
            "valueCodeableConcept": {"coding": [coding(ICDO3, "9813/3",
                                                       "B lymphoblastic leukemia with t(v;11q23); MLL rearranged")]}}]
    return [condition(coding(SCT, "14016003", "Bone marrow structure"), onset="2025-01-10", extension=ext)]


@variant("diagnoses", "ICD-O-3 9807/3 written M9807/3 is MPAL with KMT2A", lineage="MPAL", mentions_11q23=True)
def _():
    return [condition(coding("urn:oid:2.16.840.1.113883.6.43.1", "M9807/3"), onset="2025-01-10")]


@variant("diagnoses", "ICD-O-3 9806/3 is MPAL with BCR::ABL1, not 11q23", lineage="MPAL", mentions_11q23=False)
def _():
    return [condition(coding(ICDO3, "9806/3"), onset="2025-01-10")]


# --- H. medications coded at product level ----------------------------------------------------------------------

def _request(concept_or_ref: dict, rid: str) -> dict:
    r = {"resourceType": "MedicationRequest", "id": rid, "status": "active", "intent": "order",
         "subject": {"reference": "Patient/pt-4471"}, "authoredOn": "2025-08-01"}
    r.update(concept_or_ref)
    return r


@variant("medications", "branded product RxCUI resolves to its ingredient", ingredients={"gemtuzumab ozogamicin"})
def _():
    return [_request({"medicationCodeableConcept": {"coding": [coding(RXNORM, "1294583", "Mylotarg 4.5 MG Injection")]}},
                     "go-1")]


@variant("medications", "unknown product RxCUI falls back to the brand name", ingredients={"revumenib"})
def _():
    return [_request({"medicationCodeableConcept": {"coding": [coding(RXNORM, "99999990", "Revuforj 110 MG Oral Tablet")],
                                                    "text": "REVUFORJ 110 mg tablet"}}, "revu-1")]


@variant("medications", "contained Medication with ingredient codes", ingredients={"posaconazole"})
def _():
    med = {"resourceType": "Medication", "id": "m1", "code": concept("POSACONAZOLE 100 MG DR TAB"),
           "ingredient": [{"itemCodeableConcept": {"coding": [coding(RXNORM, "282446", "posaconazole")]}}]}
    r = _request({"medicationReference": {"reference": "#m1"}}, "posa-1")
    r["contained"] = [med]
    return [r]


@variant("medications", "medicationReference with a display only", ingredients={"voriconazole"})
def _():
    return [_request({"medicationReference": {"reference": "Medication/gone", "display": "Vfend 200 mg tablet"}}, "v-1")]


# --- G. ISCN FISH as cytogenetics labs write it (karyotype and FISH, old and current notation) ----------------

@variant("iscn", "metaphase FISH alone in a local FISH result", kmt2a="rearranged", partner="AFF1")
def _():
    return [lab("MLL metaphase FISH", valueString="ish t(4;11)(q21;q23)(5'KMT2A+;3'KMT2A-)")]


@variant("iscn", "karyotype with metaphase FISH in a report conclusion", kmt2a="rearranged", partner="MLLT3")
def _():
    return [report("Bone marrow cytogenetics", conclusion="46,XY,t(9;11)(p22;q23)[20].ish t(9;11)(MLL+;MLL+). "
                   "Interpretation: MLL rearrangement confirmed on the derivative chromosomes.")]


@variant("iscn", "amplification written amp", kmt2a="amplified", copies=(None, None))
def _():
    return [lab("KMT2A FISH", valueString="nuc ish(KMT2Aamp)[120/200]")]


@variant("iscn", "copy range with a dash", kmt2a="amplified", copies=(8, 12))
def _():
    return [lab("KMT2A FISH", valueString="nuc ish(KMT2Ax8-12)[120/200]")]


@variant("iscn", "ISCN 2009 split (one pair joined) beside the karyotype", kmt2a="rearranged", partner="AFF1")
def _():
    return [lab("MLL FISH", valueString="nuc ish(5'MLL,3'MLL)x2(5'MLL con 3'MLLx1)[160/200]"),
            lab("Chromosome analysis", valueString="46,XX,t(4;11)(q21;q23)[20]")]


@variant("iscn", "dual-fusion probe normal beside a t(9;11)", kmt2a="rearranged", partner="MLLT3", ruled_out="AFF1")
def _():
    return [lab("KMT2A/AFF1 dual-fusion FISH", valueString="nuc ish(AFF1,KMT2A)x2[200]"),
            lab("Chromosome analysis", valueString="46,XX,t(9;11)(p22;q23)[20]")]


@variant("iscn", "3' KMT2A signal lost: not called either way", kmt2a="unknown")
def _():
    return [lab("MLL FISH", valueString="nuc ish(5'KMT2Ax2,3'KMT2Ax1)[150/200]")]


@variant("iscn", "normal clone beside an amplified clone", kmt2a="amplified", copies=(8, 10))
def _():
    return [lab("KMT2A FISH", valueString="nuc ish(KMT2Ax2)[150/200]/(KMT2Ax8~10)[50/200]")]


@variant("iscn", "FISH split below the laboratory cut-off is hedged", kmt2a="unknown", uncertain=True)
def _():
    return [report("MLL FISH report", conclusion="nuc ish(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[9/200], below the "
                   "laboratory cut-off of 5%; repeat on the next marrow advised.")]


@variant("iscn", "equivocal metaphase FISH", kmt2a="unknown", uncertain=True)
def _():
    return [lab("MLL FISH", valueString="Equivocal: ish t(4;11)(q21;q23)(5'KMT2A+;3'KMT2A-) in 3 of 20 metaphases")]


@variant("iscn", "karyotype and FISH as components of a cytogenetics panel", kmt2a="rearranged", partner="AFF1",
         karyotype=("46,XX,t(4;11)(q21;q23)[20]", ("t(4;11)(q21;q23)",)), findings=2)
def _():
    return [lab("Leukemia cytogenetics panel", component=[
        {"code": concept("Karyotype"), "valueString": "46,XX,t(4;11)(q21;q23)[20]"},
        {"code": concept("MLL FISH"), "valueString": "nuc ish(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[180/200]"}])]


@variant("iscn", "metaphase FISH as a panel component keeps its semicolons", kmt2a="rearranged", partner="MLLT3",
         findings=2)
def _():
    return [lab("AML FISH panel", code="102103-9", system=LOINC, component=[
        {"code": concept("KMT2A (MLL)"), "valueString": "ish t(9;11)(p22;q23)(5'KMT2A+;3'KMT2A+)"},
        {"code": concept("PML::RARA"), "valueString": "nuc ish(PML,RARA)x2[200]"}])]


@variant("iscn", "a report's karyotype is quoted without the words around it", kmt2a="unknown",
         karyotype=("47,XY,+8,del(5)(q31),-7[20]", ("+8", "del(5)(q31)", "-7")))
def _():
    return [report("Bone marrow cytogenetics", conclusion="Karyotype: 47,XY,+8,del(5)(q31),-7[20]. Interpretation: "
                   "an abnormal male karyotype, three abnormalities; no 11q23 change seen.")]


# --- the test -------------------------------------------------------------------------------------------------

def _check(case, e: dict) -> None:
    k = case.kmt2a
    if "kmt2a" in e:
        assert k.status.value == e["kmt2a"], (k.status, k.findings)
    if "partner" in e:
        assert k.partner == e["partner"]
    if e.get("uncertain"):
        assert any(f.uncertain for f in k.findings)
    if "karyotype" in e:
        assert (case.karyotype.iscn, case.karyotype.aberrations) == e["karyotype"]
    if "findings" in e:
        assert len(k.findings) == e["findings"], k.findings
    if "copies" in e:
        assert (k.copy_number, k.copy_number_high) == e["copies"]
    if "qualifier" in e:
        assert any(e["qualifier"] in f.qualifiers for f in k.findings)
    if "ruled_out" in e:
        assert any(f.status.value == "not-detected" and f.partner == e["ruled_out"] for f in k.findings)
    for gene, present in e.get("genes", {}).items():
        assert [f.present for f in case.finding(gene)] and all(f.present == present for f in case.finding(gene)), gene
    for gene in e.get("no_gene", ()):
        assert case.finding(gene) == ()
    if e.get("no_findings"):
        assert (k.findings, case.genetic_findings, case.mrd_results) == ((), (), ())
    if e.get("evidence_dated"):
        assert all(s.date for s in k.evidence)
    if "mrd" in e:
        value, positive = e["mrd"]
        latest = case.mrd_results[-1]
        # positivity is judged once, by the rules' threshold (issue 10); the mapper reads value and comparator
        assert mrd_positive(latest) is positive
        assert latest.value == (pytest.approx(value) if value is not None else None)
    if "mrd_count" in e:
        assert len(case.mrd_results) == e["mrd_count"]
    if "unreadable" in e:
        assert len(case.unreadable_documents) == e["unreadable"]
    for key, field in (("lineage", "lineage"), ("original", "original_lineage"), ("status", "disease_status")):
        if key in e:
            assert getattr(case, field).value == e[key]
    if "switch" in e:
        assert case.lineage_switch is e["switch"]
        assert len(case.lineage_switch_evidence) == (2 if e["switch"] else 0)
    if "diagnosis_date" in e:
        assert case.diagnosis_date.isoformat() == e["diagnosis_date"]
    if "mentions_11q23" in e:
        assert case.diagnoses[0].mentions_11q23 is e["mentions_11q23"]
    if "diagnosis_text" in e:
        assert case.diagnoses[0].text == e["diagnosis_text"]
    if "ingredients" in e:
        assert {m.ingredient for m in case.medications} == e["ingredients"]


@pytest.mark.parametrize("cls,name,build,expected", CORPUS, ids=[f"{c}: {n}" for c, n, _, _ in CORPUS])
def test_chart_corpus(cls, name, build, expected):
    case = case_of(*build())
    _check(case, expected)
    assert not [p for p in case.problems if "could not be read (" in p.message]  # no mapper crashed


def test_corpus_size_and_classes():
    assert len(CORPUS) >= 80
    by_class = Counter(c for c, *_ in CORPUS)
    assert set(by_class) == {"observation", "report", "reference", "routing", "legacy", "language", "diagnoses",
                             "medications", "iscn"}
    assert min(by_class.values()) >= 4
