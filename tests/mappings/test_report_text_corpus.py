"""KMT2A results in free text, phrased the way molecular and cytogenetics labs really write them, each read through
the whole mapping (case_from_resources) from where labs put the words: Observation.valueString,
valueCodeableConcept.text, note, interpretation text, DiagnosticReport.conclusion and presentedForm (text/plain,
HTML, PDF), and a Genomics Reporting Variant's text.

Expected readings: "rearranged" (optionally ":PARTNER"), "ptd", "amplified", "not-detected", "ruled-out:PARTNER"
(that one fusion is ruled out, KMT2A as a whole stays unknown), "none" (no result: nothing positive and nothing
negative -- what every hedged, pending, list-only or off-target mention must give)."""

from __future__ import annotations

from collections import Counter

import pytest

from fhir_mappings.case import Kmt2aStatus
from tests.mappings.chart import LOINC, case_of, concept, lab, report
from tests.mappings.reports import attachment, html, pdf

GENE = {"coding": [{"system": LOINC, "code": "48018-6"}]}
VARIATION = {"coding": [{"system": LOINC, "code": "81252-9"}]}


# --- where the words live ----------------------------------------------------------------------------------------

def value(text, name="Molecular pathology result"):
    return [lab(name, valueString=text)]


def concept_text(text, name="Leukemia translocation panel"):
    return [lab(name, valueCodeableConcept=concept(text))]


def note(text, name="Leukemia FISH panel"):
    return [lab(name, valueCodeableConcept=concept("See note"), note=[{"text": text}])]


def see_comment(text, name="KMT2A::AFF1 (MLL-AF4) RT-PCR"):
    """The value says "See comment" and the result is in the note, under a test named after the fusion."""
    return [lab(name, valueString="See comment", note=[{"text": text}])]


def interpretation(text, name="KMT2A (MLL) break-apart FISH"):
    return [lab(name, interpretation=[{"text": text}])]


def conclusion(text, name="Bone marrow genetics report"):
    return [report(name, conclusion=text)]


def plain(text, name="Bone marrow molecular genetics report"):
    return [report(name, presentedForm=[attachment("text/plain", text.encode("utf-8"), "Report")])]


def html_table(text, name="Hematopathology molecular report"):
    return [report(name, presentedForm=[attachment("text/html", html(text.split("\n")), "Report")])]


def html_columns(text, name="Leukemia fusion panel report"):
    """A results table with a header row and one cell per column ("Gene | Alteration | Result"), rows split by "\n"
    and cells by " | "."""
    rows = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in line.split(" | ")) + "</tr>"
                   for line in text.split("\n"))
    markup = (f"<html><body><h3>Results</h3><table><thead><tr><th>Gene</th><th>Alteration</th><th>Result</th></tr>"
              f"</thead><tbody>{rows}</tbody></table></body></html>")
    return [report(name, presentedForm=[attachment("text/html", markup.encode("utf-8"), "Report")])]


def pdf_report(text, name="Cytogenetics and FISH report"):
    return [report(name, presentedForm=[attachment("application/pdf", pdf(text.split("\n")), "Report.pdf")])]


def variant_text(text, name=None):
    """A Genomics Reporting Variant about KMT2A whose only account of the change is text (variation-code text)."""
    o = lab(name or "Genetic variant assessment", code="69548-6", system=LOINC,
            valueCodeableConcept={"coding": [{"system": LOINC, "code": "LA9633-4", "display": "Present"}]},
            component=[{"code": GENE, "valueCodeableConcept": {"coding": [
                {"system": "http://www.genenames.org", "code": "HGNC:7132", "display": "KMT2A"}]}},
                {"code": VARIATION, "valueCodeableConcept": {"text": text}}])
    return [o]


# --- the corpus: (container, text, expected, extra checks) ---------------------------------------------------------

CORPUS = [
    # rearranged, partner not named
    (value, "MLL gene rearrangement: POSITIVE", "rearranged", {}),
    (conclusion, "KMT2A (MLL) break-apart FISH: abnormal; split signal pattern in 78% of nuclei, consistent with "
                 "KMT2A rearrangement", "rearranged", {}),
    (plain, "FISH: split signal pattern in 78% of nuclei, consistent with KMT2A rearrangement.", "rearranged", {}),
    (conclusion, "KMT2A-r", "rearranged", {}),
    (conclusion, "MLL-r ALL", "rearranged", {}),
    (conclusion, "Infant KMT2A-rearranged B-ALL.", "rearranged", {}),
    (value, "KMT2A REARRANGEMENT DETECTED", "rearranged", {}),
    (plain, "INTERPRETATION: ABNORMAL\nPOSITIVE FOR KMT2A (MLL) GENE REARRANGEMENT.", "rearranged", {}),
    (pdf_report, "KMT2A BREAK APART PROBE: REARRANGED IN 164/200 NUCLEI (82%)", "rearranged", {}),
    (conclusion, "Rearrangement of KMT2A (11q23.3) detected.", "rearranged", {}),
    (plain, "FISH for MLL (11q23) rearrangement: positive (85% of interphase nuclei)", "rearranged", {}),
    (plain, "The KMT2A break-apart probe shows separation of the 5' and 3' signals in 72% of nuclei, indicating a "
            "KMT2A rearrangement.", "rearranged", {}),
    (conclusion, "Diagnosis: B-lymphoblastic leukaemia with KMT2A rearrangement.", "rearranged", {}),
    (conclusion, "Acute myeloid leukemia with KMT2A rearrangement (WHO 2022).", "rearranged", {}),
    (plain, "The findings are consistent with a KMT2A (MLL) rearrangement.", "rearranged", {}),
    (interpretation, "Abnormal: KMT2A rearranged", "rearranged", {}),
    (interpretation, "Positive", "rearranged", {}),
    (note, "Interphase FISH with the KMT2A break-apart probe showed a split signal in 180 of 200 nuclei.",
     "rearranged", {}),
    (plain, "Molecular genetic findings\nPositive for KMT2A (MLL) gene\nrearrangement by FISH (85% of nuclei).",
     "rearranged", {}),
    (pdf_report, "Result: The KMT2A (MLL) break-apart probe is rearrange-\nment positive in 85% of nuclei.",
     "rearranged", {}),
    (plain, "Patient harbours a KMT2A rearrangement (break-apart FISH, 91% of nuclei).", "rearranged", {}),

    # rearranged with a partner, in every spelling
    (value, "KMT2A::AFF1 fusion transcript detected (RT-PCR)", "rearranged:AFF1", {}),
    (value, "MLL-AF4", "rearranged:AFF1", {}),
    (value, "MLL/AF4", "rearranged:AFF1", {}),
    (concept_text, "KMT2A-MLLT3", "rearranged:MLLT3", {}),
    (concept_text, "KMT2A/MLLT3", "rearranged:MLLT3", {}),
    (conclusion, "t(9;11) KMT2A-MLLT3 positive", "rearranged:MLLT3", {}),
    (value, "AFF1-KMT2A", "rearranged:AFF1", {}),
    (value, "MLLT10::KMT2A fusion detected", "rearranged:MLLT10", {}),
    (plain, "RNA fusion panel (Archer FusionPlex): MLLT10::KMT2A (reciprocal) and KMT2A::MLLT10 detected.",
     "rearranged:MLLT10", {}),
    (value, "MLL-AF9 fusion transcript detected by RT-PCR", "rearranged:MLLT3", {}),
    (conclusion, "Positive for t(4;11)(q21;q23) KMT2A::AFF1.", "rearranged:AFF1", {}),
    (value, "KMT2A–AFF1 fusion: DETECTED", "rearranged:AFF1", {}),
    (plain, "FUSION: KMT2A - MLLT1 (MLL-ENL)", "rearranged:MLLT1", {}),
    (conclusion, "Result: Detected. KMT2A::AFF1 fusion (t(4;11)).", "rearranged:AFF1", {}),
    (value, "MLL-AF6 positive", "rearranged:AFDN", {}),
    (concept_text, "KMT2A::MLLT4", "rearranged:AFDN", {}),
    (concept_text, "KMT2A-ELL fusion detected", "rearranged:ELL", {}),
    (html_table, "KMT2A::AFF1: DETECTED\nNPM1 mutation: Not detected", "rearranged:AFF1", {"genes": {"NPM1": False}}),
    (html_table, "Fusion: KMT2A-MLLT3 (exon 8 :: exon 6)\nResult: Detected", "rearranged:MLLT3", {}),
    (plain, "KMT2A(NM_001197104.2) exon 9 :: MLLT3(NM_004529.4) exon 6 fusion detected.", "rearranged:MLLT3", {}),
    (plain, "Fusion detected: KMT2A exon 11 - AFF1 exon 4", "rearranged:AFF1", {}),
    (pdf_report, "RESULT\nKMT2A::AFF1 FUSION TRANSCRIPT DETECTED.\nBCR::ABL1 NOT DETECTED.", "rearranged:AFF1",
     {"genes": {"ABL1": False}}),
    (pdf_report, "A KMT2A::MLLT3 fusion transcript was de-\ntected by RT-PCR.", "rearranged:MLLT3", {}),
    (plain, "Fusion: KMT2A::\nAFF1 detected", "rearranged:AFF1", {}),
    (variant_text, "KMT2A::AFF1", "rearranged:AFF1", {}),
    (variant_text, "MLLT3::KMT2A fusion", "rearranged:MLLT3", {}),
    (variant_text, "KMT2A rearrangement (partner unknown)", "rearranged", {}),
    (variant_text, "KMT2A", "none", {}),  # a Variant present that names only the gene: no kind of change said
    (variant_text, "MLL gene", "none", {}),
    (variant_text, "KMT2A::AFF1 not detected", "none", {}),
    (variant_text, "possible KMT2A::AFF1", "none", {}),
    (variant_text, "MLL-AF4 RT-PCR pending", "none", {}),
    (plain, "BCR::ABL1 negative. KMT2A::AFF1 positive.", "rearranged:AFF1", {"genes": {"ABL1": False}}),
    (plain, "ETV6::RUNX1 not detected, KMT2A::MLLT1 detected", "rearranged:MLLT1", {}),
    (plain, "Volume received: 3 mL bone marrow. KMT2A::AFF1 fusion detected.", "rearranged:AFF1", {}),

    # historical mentions stay readable, marked historical
    (conclusion, "Previously reported KMT2A::AFF1 (2024).", "rearranged:AFF1", {"qualifier": "historical"}),
    (conclusion, "History of KMT2A-rearranged AML.", "rearranged", {"qualifier": "historical"}),

    # PTD: never a rearrangement
    (value, "KMT2A partial tandem duplication (PTD) detected", "ptd", {}),
    (value, "MLL-PTD positive", "ptd", {}),
    (value, "KMT2A exon 2-10 PTD", "ptd", {}),
    (plain, "MLL PTD (exons 3-9) DETECTED by MLPA.", "ptd", {}),
    (plain, "A KMT2A partial tandem duplication involving exons 2 through 8 was identified.", "ptd", {}),
    (plain, "FLT3-ITD positive, KMT2A-PTD negative", "none", {"genes": {"FLT3": True}}),
    (value, "Negative for KMT2A-PTD", "none", {}),
    (variant_text, "KMT2A partial tandem duplication (exons 2-10)", "ptd", {}),

    # amplification: never a rearrangement
    (value, "KMT2A amplification (8-12 copies)", "amplified", {}),
    (plain, "MLL amplification detected: 10-15 copies per nucleus in 60% of cells.", "amplified", {}),
    (conclusion, "KMT2A AMPLIFIED (hsr on 11q)", "amplified", {}),
    (plain, "Amplification of KMT2A (~20 copies); no KMT2A rearrangement.", "amplified", {}),

    # not detected
    (value, "Negative for KMT2A rearrangement", "not-detected", {}),
    (value, "No evidence of an MLL rearrangement", "not-detected", {}),
    (value, "MLL (KMT2A) FISH: NEGATIVE", "not-detected", {}),
    (plain, "NPM1 mutated; KMT2A not rearranged", "not-detected", {"genes": {"NPM1": True}}),
    (value, "KMT2A rearrangement: Not detected", "not-detected", {}),
    (conclusion, "No KMT2A (MLL) gene rearrangement was identified.", "not-detected", {}),
    (plain, "Interpretation: NORMAL. No rearrangement of the KMT2A (MLL) gene locus at 11q23 was observed in 200 "
            "interphase nuclei.", "not-detected", {}),
    (value, "KMT2A: no rearrangement detected", "not-detected", {}),
    (value, "KMT2A (MLL) break-apart FISH: normal", "not-detected", {}),
    (plain, "KMT2A (11q23.3): normal signal pattern in 200/200 nuclei", "not-detected", {}),
    (plain, "KMT2A FISH: no split signals observed (0/200 nuclei).", "not-detected", {}),
    (plain, "NUP98 rearranged (NUP98::KDM5A); KMT2A intact.", "not-detected", {}),
    # "intact" said of a fusion's reading frame or domain is no "KMT2A intact"
    (plain, "KMT2A-MLLT3 fusion detected (breakpoint exon 9, kinase domain intact).", "rearranged:MLLT3", {}),
    (plain, "KMT2A::AFF1 in-frame fusion with intact reading frame detected.", "rearranged:AFF1", {}),
    (html_table, "KMT2A (MLL): Not rearranged\nBCR::ABL1: Negative", "not-detected", {"genes": {"ABL1": False}}),
    (pdf_report, "MLL GENE REARRANGEMENT: NOT DETECTED", "not-detected", {}),
    (plain, "Fusion panel negative: no KMT2A, NUP98 or BCR::ABL1 fusions detected.", "not-detected", {}),
    (value, "KMT2A::AFF1 not detected", "ruled-out:AFF1", {}),
    (concept_text, "MLL-AF9 negative", "ruled-out:MLLT3", {}),

    # hedged: never positive
    (value, "KMT2A rearrangement cannot be excluded", "none", {}),
    (value, "KMT2A FISH: equivocal", "none", {}),
    (plain, "Findings suspicious for KMT2A rearrangement; confirmation by RT-PCR recommended.", "none", {}),
    (plain, "Possible KMT2A rearrangement (atypical signal pattern).", "none", {}),
    (plain, "Atypical KMT2A signal pattern of uncertain significance.", "none", {}),
    (value, "KMT2A break-apart: borderline (8% of nuclei; cut-off 10%)", "none", {}),
    (plain, "Indication: ?KMT2A rearrangement", "none", {}),
    (plain, "Reason for referral: query MLL rearrangement, infant ALL.", "none", {}),
    (plain, "Clinical question: r/o KMT2A-r ALL", "none", {}),
    (plain, "A KMT2A::AFF1 fusion is suspected; confirmation pending.", "none", {}),

    # no result yet, or not a result
    (value, "pending", "none", {}),
    (value, "Result pending", "none", {"name": "MLL-AF4 (KMT2A::AFF1) RT-PCR"}),
    (value, "See comment", "none", {"name": "KMT2A::AFF1 RT-PCR"}),
    (value, "KMT2A::AFF1 RT-PCR: result to follow", "none", {}),
    (value, "MLL-AF4: see comment", "none", {}),
    (value, "KMT2A::AFF1 RT-PCR not performed (insufficient sample)", "none", {}),
    (value, "Test cancelled: specimen clotted", "none", {"name": "KMT2A (MLL) FISH"}),
    (plain, "KMT2A::MLLT3 RT-PCR: sent to reference laboratory, report to follow.", "none", {}),

    # KMT2A named only in the methods or the gene list
    (plain, "Genes tested: ABL1, ASXL1, CEBPA, DNMT3A, FLT3, IDH1, IDH2, KMT2A, NPM1, NRAS, RUNX1, TP53, WT1\n"
            "Result: NPM1 c.860_863dup (p.Trp288fs) detected, VAF 41%.", "none", {"genes": {"NPM1": True}}),
    (plain, "This assay detects the following fusions: KMT2A::AFF1, KMT2A::MLLT1, KMT2A::MLLT3, KMT2A::MLLT10, "
            "BCR::ABL1, ETV6::RUNX1.\nResult: No fusion detected.", "none", {"no_gene": ["ABL1", "RUNX1"]}),
    (pdf_report, "RESULT: NEGATIVE\nMETHODS\nProbe: Vysis LSI KMT2A (MLL) Dual Color Break Apart Rearrangement Probe\n"
                 "Fusions targeted: KMT2A::AFF1, KMT2A::MLLT3", "none", {}),
    (plain, "Targets: KMT2A (MLL) rearrangements with 80+ partners, NUP98, BCR::ABL1 and ETV6::RUNX1.", "none",
     {"no_gene": ["ABL1", "RUNX1", "NUP98"]}),
    (plain, "NPM1: c.860_863dupTCTG detected\nLimitations: KMT2A partial tandem duplications and rearrangements with "
            "cryptic insertions may not be detected by this assay.", "none", {"genes": {"NPM1": True}}),
    (html_table, "Gene list: ABL1, FLT3, KMT2A, NPM1, TP53\nFLT3: ITD detected", "none", {"genes": {"FLT3": True}}),
    # the assay's controls are not this patient
    (plain, "Positive control: KMT2A rearranged cell line, expected split signals.\nResult: KMT2A rearrangement not "
            "detected.", "not-detected", {}),
    (pdf_report, "CONTROLS\nKMT2A-rearranged cell line (MV4-11): split signals as expected\nRESULT\nKMT2A (MLL) "
                 "break-apart FISH: negative", "not-detected", {}),

    (pdf_report, "METHODS\nRNA fusion panel; targets include KMT2A, NUP98 and BCR::ABL1.\nRESULTS\n"
                 "KMT2A::AFF1 fusion detected.", "rearranged:AFF1", {"no_gene": ["ABL1"]}),
    (plain, "Limitations: rearrangements with cryptic insertions may not be detected.\nKMT2A::MLLT3 fusion detected.",
     "rearranged:MLLT3", {}),
    (plain, "GENES TESTED\nABL1 ASXL1 FLT3 KMT2A NPM1 NUP98 TP53\nFLT3: ITD detected", "none",
     {"genes": {"FLT3": True}}),

    # an "abnormal" break-apart result may be extra copies: no rearrangement without a split
    (value, "KMT2A (MLL) FISH: abnormal", "none", {}),
    (plain, "KMT2A break-apart FISH: abnormal, three fusion signals (extra copies of 11q23) in 40% of nuclei.", "none",
     {}),
    # a result stated beside a "see comment" stays a result
    (value, "MLL-AF4 RT-PCR: POSITIVE (see comment)", "rearranged:AFF1", {}),
    (value, "MLL FISH: negative, see comment", "not-detected", {}),
    (plain, "Indication: ?KMT2A-r", "none", {}),
    (plain, "Query MLL-AF4, please test.", "none", {}),
    (pdf_report, "NEGATIVE FOR MLL REARRANGEMENT", "not-detected", {}),
    (html_table, "KMT2A::MLLT3: FUSION DETECTED\nFLT3-ITD: NEGATIVE", "rearranged:MLLT3", {"genes": {"FLT3": False}}),

    # lists of fusions and their results, as fusion panels print them
    (plain, "The following fusions were NOT detected: KMT2A::AFF1, KMT2A::MLLT3, BCR::ABL1", "ruled-out:MLLT3",
     {"genes": {"ABL1": False}}),
    (plain, "KMT2A::AFF1 fusion: NEGATIVE\nKMT2A::MLLT3 fusion: NEGATIVE\nKMT2A::MLLT1 fusion: POSITIVE",
     "rearranged:MLLT1", {}),
    (value, "no MLL-AF4, MLL-AF9 or MLL-ENL transcripts detected", "ruled-out:MLLT1", {}),
    (value, "MLL-AF4 negative, MLL-AF9 negative, MLL-ENL positive", "rearranged:MLLT1", {}),
    (plain, "FISH panel: BCR::ABL1 negative, ETV6::RUNX1 negative, KMT2A rearranged (85%), TCF3::PBX1 negative",
     "rearranged", {"genes": {"ABL1": False}}),
    (plain, "Negative for BCR::ABL1 and KMT2A rearrangement.", "not-detected", {"genes": {"ABL1": False}}),
    (plain, "Rearrangements of KMT2A and NUP98 were not detected.", "not-detected", {"genes": {"NUP98": False}}),
    (plain, "Negative for BCR::ABL1 but positive for KMT2A rearrangement.", "rearranged", {"genes": {"ABL1": False}}),
    (html_table, "MLL-AF4: -\nMLL-AF9: +", "rearranged:MLLT3", {}),
    (value, "MLL-AF4 -ve", "ruled-out:AFF1", {}),
    (value, "MLL-AF4 +ve", "rearranged:AFF1", {}),
    (conclusion, "Non-KMT2A-rearranged B-ALL.", "not-detected", {}),
    (plain, "Findings are suggestive of, but not diagnostic of, a KMT2A rearrangement.", "none", {}),
    (value, "KMT2A rearrangement not tested", "none", {}),
    (value, "KMT2A (MLL) FISH: refer to the cytogenetics report", "none", {}),
    (value, "KMT2A rearrangement DETECTED (approx. 80% of cells) - see interpretation", "rearranged", {}),
    # fusion names as RNA panels and fusion callers print them
    (plain, "RNA sequencing identified an in-frame fusion between KMT2A (exon 9) and AFF1 (exon 4).", "rearranged:AFF1",
     {}),
    (plain, "KMT2A is fused in frame to MLLT10 (exon 6).", "rearranged:MLLT10", {}),
    (value, "KMT2A (exon 9)::AFF1 (exon 4) fusion detected", "rearranged:AFF1", {}),
    (value, "KMT2A--MLLT3 (STAR-Fusion, 212 junction reads)", "rearranged:MLLT3", {}),
    (value, "KMT2A exon 9/AFF1 exon 4 fusion transcript detected", "rearranged:AFF1", {}),
    (value, "Cryptic KMT2A::MLLT10 fusion identified by RNA-seq", "rearranged:MLLT10", {}),
    (value, "KMT2A/MLLT3 dual fusion FISH: normal", "ruled-out:MLLT3", {}),
    (value, "MLL rearrangement positive (t(11;19)(q23;p13.3), KMT2A::MLLT1)", "rearranged:MLLT1", {}),
    # characters from word processors and PDF writers
    (value, "KMT2A\u2010AFF1 fusion detected", "rearranged:AFF1", {}),
    (html_table, "KMT2A\u2011MLLT3: detected", "rearranged:MLLT3", {}),
    (value, "KMT2A\u2237AFF1 detected", "rearranged:AFF1", {}),
    (plain, "MLL\u2212AF4 positive", "rearranged:AFF1", {}),
    (value, "KMT2A\u00a0rearrangement:\u00a0DETECTED", "rearranged", {}),
    # markup sent inside a valueString or a note
    (value, "<p>FLT3-ITD: <b>NOT DETECTED</b></p><p>KMT2A::AFF1: <b>DETECTED</b></p>", "rearranged:AFF1",
     {"genes": {"FLT3": False}}),
    (note, "NPM1 c.860_863dup detected<br/>MLL-AF4 negative", "ruled-out:AFF1", {"genes": {"NPM1": True}}),
    # more of the rest
    (plain, "KMT2A rearrangement identified in a subclone (12% of nuclei).", "rearranged", {"qualifier": "subclone"}),
    (plain, "Interpretation: positive for KMT2A amplification, negative for KMT2A rearrangement.", "amplified", {}),
    (value, "MLL amplification not seen", "none", {}),
    (value, "KMT2A-PTD: detected (exons 2-8)", "ptd", {}),
    (value, "KMT2A: no pathogenic variants detected", "none", {}),
    (value, "KMT2A: no fusions or pathogenic variants detected", "not-detected", {}),
    (value, "KMT2A status: wild type", "none", {}),
    (plain, "KMT2A rearrangement detected, NPM1 wild-type.", "rearranged", {"genes": {"NPM1": False}}),

    # questions, conditions, zero counts and counts under the printed cut-off are not positives
    (plain, "Clinical question: is KMT2A rearranged?", "none", {}),
    (plain, "If KMT2A rearrangement is detected, consider a menin inhibitor trial.", "none", {}),
    (value, "KMT2A split signal: 0%", "not-detected", {}),
    (value, "KMT2A break-apart: split signals in 0/200 nuclei", "not-detected", {}),
    (value, "KMT2A break-apart: split signals in 2.0% of nuclei (normal < 5%)", "none", {}),
    (value, "KMT2A break-apart: split signals in 82% of nuclei (normal cut-off 5%)", "rearranged", {}),
    # results tables with one column per field
    (html_columns, "KMT2A | Rearrangement | Detected\nFLT3 | ITD | Not detected", "rearranged",
     {"genes": {"FLT3": False}}),
    (html_columns, "KMT2A | Partial tandem duplication | Not detected\nKMT2A | Rearrangement | Not detected",
     "not-detected", {}),
    (html_columns, "KMT2A | PTD | Detected\nKMT2A | Rearrangement | Not detected", "ptd", {}),
    (html_columns, "KMT2A::MLLT10 | Fusion | Detected\nNUP98::NSD1 | Fusion | Not detected", "rearranged:MLLT10",
     {"genes": {"NUP98": False}}),

    # a test on one line, its result on the next; a test's name alone is no result
    (pdf_report, "KMT2A (MLL) GENE\nREARRANGEMENT DETECTED", "rearranged", {}),
    (plain, "Test: KMT2A (MLL) break-apart FISH\nResult: Positive (85% of nuclei)", "rearranged", {}),
    (plain, "Test: KMT2A::AFF1 RT-PCR\nResult: Not detected", "ruled-out:AFF1", {}),
    (plain, "KMT2A FISH\nNot performed", "none", {}),
    (plain, "Test: KMT2A::AFF1 RT-PCR, KMT2A::MLLT3 RT-PCR\nResult: Positive", "none", {}),
    (plain, "Tests requested: MLL-AF4 PCR; KMT2A break-apart FISH", "none", {}),
    (plain, "Genes tested: ABL1, KMT2A\nResult: positive", "none", {}),
    (value, "KMT2A::AFF1 RT-PCR: 1.2 x 10^-3 (normalised to ABL1)", "rearranged:AFF1", {}),
    (value, "KMT2A::AFF1 RT-PCR: < 1 x 10^-5", "none", {}),
    (plain, "RNA fusion panel: KMT2A::MLLT10", "rearranged:MLLT10", {}),

    # a translocation written inside the statement does not end it at its semicolon
    (plain, "KMT2A::MLLT3 (t(9;11)) not detected", "ruled-out:MLLT3", {}),
    (conclusion, "KMT2A-MLLT3 [t(9;11)(p22;q23)] negative", "ruled-out:MLLT3", {}),
    (plain, "No KMT2A rearrangement (including t(4;11) and t(9;11)) was detected.", "not-detected", {}),

    # the partner unidentified is no negative of the rearrangement
    (value, "KMT2A rearranged (partner not identified by this panel)", "rearranged", {}),
    (conclusion, "KMT2A rearrangement: detected (fusion partner could not be determined).", "rearranged", {}),
    (plain, "KMT2A break-apart: rearranged; no partner identified by RNA panel", "rearranged", {}),
    # an abnormal ISCN pattern the lab itself calls normal (below its cut-off) is no positive and no negative
    (value, "nuc ish(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[9/200] - within normal limits", "none", {}),
    (value, "nuc ish(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[12/200]: normal signal pattern", "none", {}),
    (value, "nuc ish(ETV6,RUNX1)x2[200],(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[160/200]; ETV6::RUNX1 not detected",
     "rearranged", {}),
    # a translocation written in prose, its bands naming the partner (ISCN in a sentence)
    (conclusion, "t(4;11)(q21;q23) detected by FISH.", "rearranged:AFF1", {}),
    (value, "Positive for t(9;11)(p21.3;q23.3)", "rearranged:MLLT3", {}),
    (plain, "ins(10;11)(p12;q23q13) identified in 18 of 20 metaphases.", "rearranged:MLLT10", {}),
    (conclusion, "Negative for t(4;11)(q21;q23).", "ruled-out:AFF1", {}),
    (value, "Possible t(4;11)(q21;q23); confirmation by FISH recommended.", "none", {}),
    (value, "t(11;17)(q23;q21) detected", "none", {}),  # KMT2A::MLLT6 or ZBTB16::RARA (APL): the bands cannot say
    (value, "t(8;21)(q22;q22) detected", "none", {}),

    # the partner named apart from the rearrangement
    (plain, "KMT2A rearranged; partner: MLLT3", "rearranged:MLLT3", {"no_gene": ["MLLT3"]}),
    (html_table, "KMT2A rearrangement: Detected\nFusion partner: MLLT10", "rearranged:MLLT10", {}),
    (html_table, "KMT2A rearrangement: Detected\nPartner: not identified", "rearranged", {}),
    (plain, "KMT2A rearrangement detected with AFF1 as the partner.", "rearranged:AFF1", {}),
    (plain, "KMT2A does not appear to be rearranged.", "not-detected", {}),
    (plain, "FISH: MLL+ (85% of nuclei)", "rearranged", {}),

    # "See comment": the result is in the note
    (see_comment, "Positive. Fusion transcript ratio 1.2% (normalised to ABL1).", "rearranged:AFF1", {}),
    (see_comment, "Not detected (sensitivity 1 in 10^4).", "ruled-out:AFF1", {}),
    (see_comment, "Sample insufficient; please send a new marrow sample.", "none", {}),

    # lists whose one result comes last
    (plain, "Positive for KMT2A rearrangement by FISH; RT-PCR for KMT2A::AFF1, KMT2A::MLLT3 and KMT2A::MLLT1 negative "
            "(partner unknown).", "rearranged", {}),
    (value, "KMT2A-AFF1, KMT2A-MLLT3, KMT2A-MLLT1: negative", "ruled-out:MLLT1", {}),
    (plain, "KMT2A FISH\nPositive control: normal signal pattern", "none", {}),

    (value, "<p>KMT2A&#8209;AFF1: <b>detected</b></p>", "rearranged:AFF1", {}),
    (plain, "Preliminary result: KMT2A::AFF1 detected. Final report to follow.", "rearranged:AFF1", {}),
    (value, "KMT2A rearrangement detected in 15% of nuclei (cut-off 10%)", "rearranged", {}),

    # "MLL" and "KMT2A" that are not KMT2A rearrangements
    (plain, "KMT2D c.5645G>A (p.Arg1882His) detected.", "none", {"genes": {"KMT2D": True}}),
    (plain, "MLL2 (KMT2D) truncating mutation detected.", "none", {}),
    (plain, "MLL3 (KMT2C) deletion detected.", "none", {}),
    (value, "KMT2A c.1234A>G (p.Lys412Arg), variant of uncertain significance", "none", {}),
    (value, "KMT2A p.R1234H mutation detected (VAF 48%)", "none", {}),
    (plain, "Specimen: bone marrow aspirate, 2 mL, received in EDTA. NPM1 mutated.", "none", {"genes": {"NPM1": True}}),
    (plain, "Sample referred to MLL Munich Leukemia Laboratory; NPM1 mutation detected.", "none",
     {"genes": {"NPM1": True}}),
    (value, "KMT2A: 3 copies (gain of chromosome 11)", "none", {}),
]


def _status(case):
    return case.kmt2a.status.value


def _check(case, expected: str, extra: dict) -> None:
    k = case.kmt2a
    findings = [(f.status.value, f.partner, f.text) for f in k.findings]
    kind, _, partner = expected.partition(":")
    if kind == "none":
        assert k.status == Kmt2aStatus.UNKNOWN, findings
        assert all(f.status == Kmt2aStatus.UNKNOWN for f in k.findings), findings
    elif kind == "ruled-out":
        assert k.status == Kmt2aStatus.UNKNOWN, findings
        assert any(f.status == Kmt2aStatus.NOT_DETECTED and f.partner == partner for f in k.findings), findings
        assert not any(f.status in (Kmt2aStatus.REARRANGED, Kmt2aStatus.PTD, Kmt2aStatus.AMPLIFIED)
                       for f in k.findings), findings
    else:
        assert k.status.value == kind, findings
        if kind == "rearranged":
            assert k.partner == (partner or None), findings
        if kind in ("ptd", "amplified"):
            assert not any(f.status == Kmt2aStatus.REARRANGED for f in k.findings), findings
    if "qualifier" in extra:
        assert any(extra["qualifier"] in f.qualifiers for f in k.findings), findings
    for gene, present in extra.get("genes", {}).items():
        found = case.finding(gene)
        assert found and all(f.present == present for f in found), (gene, found)
    for gene in extra.get("no_gene", ()):
        assert case.finding(gene) == (), (gene, case.finding(gene))


def _id(row) -> str:
    container, text, expected, _ = row
    return f"{container.__name__}: {text[:60]} -> {expected}"


@pytest.mark.parametrize("container,text,expected,extra", CORPUS, ids=[_id(r) for r in CORPUS])
def test_report_text(container, text, expected, extra):
    resources = container(text, extra["name"]) if "name" in extra else container(text)
    case = case_of(*resources)
    assert not [p for p in case.problems if "could not be read (" in p.message]  # no mapper crashed
    _check(case, expected, extra)


def test_corpus_size_and_spread():
    assert len(CORPUS) >= 80
    readings = Counter(e.partition(":")[0] for _, _, e, _ in CORPUS)
    assert {"rearranged", "ptd", "amplified", "not-detected", "ruled-out", "none"} <= set(readings)
    assert len({c for c, *_ in CORPUS}) >= 8
