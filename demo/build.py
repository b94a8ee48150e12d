"""Write the demo patients (synthetic) as FHIR R4 transaction Bundles, one file per patient, plus demo/patients.json.

    .venv/bin/python demo/build.py      # after editing a patient below; the JSON files are committed

The charts are written the way an EHR holds them, not the way our test fixtures do: an MRN and an Encounter,
SNOMED CT and ICD-10-CM diagnoses, the CBC as a panel with its members, a bone-marrow Specimen, cytogenetics and
molecular results as signed DiagnosticReports (narrative conclusion, presentedForm text, result Observations with
ISCN or free text), RxNorm-coded medications, ECG intervals filed under `procedure`, units as labs print them.
Every name, MRN and date is invented. Dates are fixed (a chart does not move); ages are counted from them.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOINC, SNOMED, ICD10 = "http://loinc.org", "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM, UCUM = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://unitsofmeasure.org"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
MRN_SYSTEM = "urn:oid:2.16.840.1.113883.3.9999.1"  # an invented hospital's MRN namespace
NS = uuid.UUID("6f1c2f5e-3a51-4f57-9d1b-7c1e0b6a2d10")  # stable urn:uuid fullUrls across rebuilds


class Chart:
    """One patient's record, collected as transaction entries (PUT Type/id, so ids are stable for the sandbox)."""

    def __init__(self, pid: str):
        self.pid, self.entries = pid, []
        self.subject = {"reference": f"Patient/{pid}"}

    def add(self, resource: dict) -> dict:
        ref = f"{resource['resourceType']}/{resource['id']}"
        self.entries.append({"fullUrl": f"urn:uuid:{uuid.uuid5(NS, ref)}", "resource": resource,
                             "request": {"method": "PUT", "url": ref}})
        return {"reference": ref}

    def bundle(self) -> dict:
        return {"resourceType": "Bundle", "type": "transaction", "entry": self.entries}

    def rid(self, suffix: str) -> str:
        return f"{self.pid}-{suffix}"


def patient(c: Chart, family: str, given: list[str], gender: str, birth: str, mrn: str) -> None:
    c.add({"resourceType": "Patient", "id": c.pid,
           "identifier": [{"use": "usual", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                                                                 "code": "MR"}], "text": "MRN"},
                           "system": MRN_SYSTEM, "value": mrn}],
           "active": True, "name": [{"use": "official", "family": family, "given": given}],
           "gender": gender, "birthDate": birth})


def encounter(c: Chart, start: str, text: str, klass: str = "IMP") -> dict:
    return c.add({"resourceType": "Encounter", "id": c.rid("enc"), "status": "in-progress",
                  "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
                  "type": [{"text": text}], "subject": c.subject, "period": {"start": start}})


def diagnosis(c: Chart, suffix: str, snomed: tuple[str, str] | None, icd: tuple[str, str], onset: str, text: str,
              clinical: str = "active", note: str | None = None) -> None:
    codings = ([{"system": SNOMED, "code": snomed[0], "display": snomed[1]}] if snomed else []) + \
              [{"system": ICD10, "code": icd[0], "display": icd[1]}]
    resource = {"resourceType": "Condition", "id": c.rid(suffix),
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "code": clinical}]},
                "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                                                   "code": "confirmed"}]},
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                          "code": "problem-list-item", "display": "Problem List Item"}]}],
                "code": {"coding": codings, "text": text}, "subject": c.subject,
                "onsetDateTime": onset, "recordedDate": onset}
    if note:
        resource["note"] = [{"text": note}]
    c.add(resource)


def lab(c: Chart, suffix: str, loinc: str, display: str, when: str, value: float, unit: str, ucum: str,
        text: str | None = None, specimen: dict | None = None, **extra) -> dict:
    resource = {"resourceType": "Observation", "id": c.rid(suffix), "status": "final",
                "category": [{"coding": [{"system": OBS_CAT, "code": "laboratory", "display": "Laboratory"}]}],
                "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": text or display},
                "subject": c.subject, "effectiveDateTime": when, "issued": when if "T" in when else f"{when}T12:00:00Z",
                "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": ucum}, **extra}
    if specimen:
        resource["specimen"] = specimen
    return c.add(resource)


def cbc(c: Chart, suffix: str, when: str, wbc: float, hgb: float, plt: float, blasts_pct: float | None = None,
        wbc_unit: tuple[str, str] = ("10*3/uL", "10*3/uL")) -> None:
    """A CBC as the analyser files it: a panel Observation whose members are the counts."""
    members = [lab(c, f"{suffix}-wbc", "6690-2", "Leukocytes [#/volume] in Blood by Automated count", when, wbc,
                   *wbc_unit, text="WBC"),
               lab(c, f"{suffix}-hgb", "718-7", "Hemoglobin [Mass/volume] in Blood", when, hgb, "g/dL", "g/dL", text="Hgb"),
               lab(c, f"{suffix}-plt", "777-3", "Platelets [#/volume] in Blood by Automated count", when, plt,
                   "10*3/uL", "10*3/uL", text="Platelets")]
    if blasts_pct is not None:
        members.append(lab(c, f"{suffix}-blasts", "709-6", "Blasts/100 leukocytes in Blood by Manual count", when,
                           blasts_pct, "%", "%", text="Blasts (manual diff)"))
    c.add({"resourceType": "Observation", "id": c.rid(suffix), "status": "final",
           "category": [{"coding": [{"system": OBS_CAT, "code": "laboratory"}]}],
           "code": {"coding": [{"system": LOINC, "code": "58410-2", "display": "CBC panel - Blood by Automated count"}],
                    "text": "CBC with differential"},
           "subject": c.subject, "effectiveDateTime": when, "hasMember": members})


def vital(c: Chart, suffix: str, loinc: str, display: str, when: str, value: float, unit: str, ucum: str) -> None:
    c.add({"resourceType": "Observation", "id": c.rid(suffix), "status": "final",
           "category": [{"coding": [{"system": OBS_CAT, "code": "vital-signs", "display": "Vital Signs"}]}],
           "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": display},
           "subject": c.subject, "effectiveDateTime": when,
           "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": ucum}})


def marrow(c: Chart, when: str, text: str = "Bone marrow aspirate, posterior iliac crest") -> dict:
    return c.add({"resourceType": "Specimen", "id": c.rid("bm"), "status": "available",
                  "type": {"coding": [{"system": SNOMED, "code": "119361006", "display": "Bone marrow aspirate specimen"}],
                           "text": text},
                  "subject": c.subject, "collection": {"collectedDateTime": when}})


def result_text(c: Chart, suffix: str, loinc: str, display: str, when: str, text: str, specimen: dict,
                method: str | None = None) -> dict:
    """A genetics result line as LIS interfaces send it: a LOINC code and the result as a string."""
    resource = {"resourceType": "Observation", "id": c.rid(suffix), "status": "final",
                "category": [{"coding": [{"system": OBS_CAT, "code": "laboratory"}]},
                             {"coding": [{"system": V2_0074, "code": "GE", "display": "Genetics"}]}],
                "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}]},
                "subject": c.subject, "effectiveDateTime": when, "issued": f"{when}T15:00:00Z", "specimen": specimen,
                "valueString": text}
    if method:
        resource["method"] = {"text": method}
    return c.add(resource)


def report(c: Chart, suffix: str, loinc: str, display: str, when: str, conclusion: str, results: list[dict],
           specimen: dict, lab_name: str, narrative: str) -> None:
    c.add({"resourceType": "DiagnosticReport", "id": c.rid(suffix), "status": "final",
           "category": [{"coding": [{"system": V2_0074, "code": "GE", "display": "Genetics"}]}],
           "code": {"coding": [{"system": LOINC, "code": loinc, "display": display}], "text": display},
           "subject": c.subject, "effectiveDateTime": when, "issued": f"{when}T16:40:00Z",
           "performer": [{"display": lab_name}], "specimen": [specimen], "result": results,
           "conclusion": conclusion,
           "presentedForm": [{"contentType": "text/plain", "title": display,
                              "data": base64.b64encode(narrative.encode("utf-8")).decode("ascii")}]})


def body_size(c: Chart, when: str, weight_kg: float, height_cm: float | None = None) -> None:
    """Weight, and height when charted, as vital signs (doses are checked against them)."""
    vital(c, "wt", "29463-7", "Body weight", when, weight_kg, "kg", "kg")
    if height_cm is not None:
        vital(c, "ht", "8302-2", "Body height", when, height_cm, "cm", "cm")


def karyotype(c: Chart, when: str, iscn: str, specimen: dict) -> dict:
    return result_text(c, "kt", "33893-9", "Karyotype [Identifier] in Bone marrow Nominal", when, iscn, specimen)


def fish_panel(c: Chart, when: str, text: str, specimen: dict) -> dict:
    return result_text(c, "fish", "102103-9", "AML FISH panel", when, text, specimen, "FISH")


def genetics_report(c: Chart, suffix: str, when: str, conclusion: str, results: list[dict], specimen: dict,
                    lab_name: str, narrative: str) -> None:
    report(c, suffix, "51969-4", "Genetic analysis report", when, conclusion, results, specimen, lab_name, narrative)


def medication(c: Chart, suffix: str, kind: str, rxnorm: tuple[str, str], text: str, when: str, status: str,
               dosage: str, **extra) -> None:
    resource = {"resourceType": kind, "id": c.rid(suffix), "status": status, "subject": c.subject,
                "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxnorm[0], "display": rxnorm[1]}],
                                              "text": text},
                "dosage" if kind == "MedicationStatement" else "dosageInstruction": [{"text": dosage}], **extra}
    if kind == "MedicationRequest":
        resource |= {"intent": "order", "authoredOn": when}
    else:
        resource["effectivePeriod"] = {"start": when}
    c.add(resource)


# --- the patients ---------------------------------------------------------------------------------

PATIENTS: list[dict] = []


def demo(pid: str, title: str, story: str, expect: dict):
    def register(fn):
        PATIENTS.append({"id": pid, "file": f"{pid}.json", "title": title, "story": story, "expect": expect,
                         "build": fn})
        return fn
    return register


@demo("kmt2a-demo-infant", "Infant B-ALL, KMT2A::AFF1, WBC 312",
      "4-month-old girl, new B-ALL; t(4;11) on karyotype and KMT2A::AFF1 by FISH; presenting WBC 312 x10^9/L.",
      {"riskGroups": [["interfant-06", "high"]], "kmt2a": ["rearranged", "AFF1"]})
def infant_all(c: Chart) -> None:
    patient(c, "Okonkwo-Lindqvist", ["Maya"], "female", "2026-07-14", "MRN00418820")
    encounter(c, "2026-11-12T03:15:00Z", "Pediatric oncology admission")
    diagnosis(c, "dx", ("277571004", "B-cell acute lymphoblastic leukemia"), ("C91.00", "Acute lymphoblastic leukemia "
              "not having achieved remission"), "2026-11-12", "Pro-B acute lymphoblastic leukemia (infant)")
    cbc(c, "cbc-dx", "2026-11-12T04:02:00Z", 312.4, 7.9, 41, 88, wbc_unit=("10^9/L", "10*9/L"))
    body_size(c, "2026-11-12", 6.3, 61)
    bm = marrow(c, "2026-11-13T09:30:00Z")
    kt = karyotype(c, "2026-11-20", "46,XX,t(4;11)(q21;q23)[18]/46,XX[2]", bm)
    fish = fish_panel(c, "2026-11-14",
                      "Positive for KMT2A (MLL) rearrangement: KMT2A::AFF1 fusion signals in 182/200 interphase nuclei "
                      "(91%) with the dual-color dual-fusion probe.", bm)
    genetics_report(c, "cyto", "2026-11-20",
                    "KMT2A::AFF1 fusion, t(4;11)(q21;q23), in 91% of nuclei; karyotype "
                    "46,XX,t(4;11)(q21;q23)[18]/46,XX[2].",
                    [kt, fish], bm, "Children's Hospital Cytogenetics Laboratory",
                    "CYTOGENETICS AND FISH REPORT\nSpecimen: bone marrow aspirate\n"
                    "Karyotype: 46,XX,t(4;11)(q21;q23)[18]/46,XX[2]\n"
                    "FISH (KMT2A/AFF1 dual fusion): fusion signals in 182/200 nuclei.\n"
                    "Interpretation: KMT2A::AFF1 rearrangement, "
                    "consistent with infant KMT2A-rearranged B-ALL.")


@demo("kmt2a-demo-child-all", "Childhood B-ALL, KMT2A::MLLT1",
      "7-year-old boy, new B-ALL; t(11;19)(q23;p13.3) with KMT2A-MLLT1 (ENL) fusion on the RNA fusion panel.",
      {"riskGroups": [["pediatric-all-kmt2a", "high"]], "kmt2a": ["rearranged", "MLLT1"]})
def child_all(c: Chart) -> None:
    patient(c, "Haddad", ["Samir", "J"], "male", "2019-03-02", "MRN00533107")
    encounter(c, "2026-11-03T14:00:00Z", "Hematology/oncology inpatient")
    diagnosis(c, "dx", ("91857003", "Acute lymphoid leukemia"), ("C91.00", "Acute lymphoblastic leukemia not having "
              "achieved remission"), "2026-11-03", "Precursor B-cell ALL")
    cbc(c, "cbc-dx", "2026-11-03T15:20:00Z", 64.2, 8.8, 22, 71)
    body_size(c, "2026-11-03", 23.4, 122)
    bm = marrow(c, "2026-11-04T10:10:00Z")
    kt = karyotype(c, "2026-11-14", "46,XY,t(11;19)(q23;p13.3)[15]/46,XY[5]", bm)
    fusion = result_text(c, "fusion", "69548-6", "Genetic variant assessment", "2026-11-10",
                         "KMT2A-MLLT1 (MLL-ENL) fusion transcript DETECTED (KMT2A exon 9 :: MLLT1 exon 2).", bm,
                         "Targeted RNA sequencing fusion panel")
    genetics_report(c, "mol", "2026-11-14",
                    "KMT2A-MLLT1 fusion detected by RNA fusion panel; t(11;19)(q23;p13.3) on G-banded karyotype.",
                    [kt, fusion], bm, "Regional Molecular Pathology",
                    "LEUKEMIA FUSION PANEL (RNA)\nResult: KMT2A-MLLT1 (MLL-ENL) fusion DETECTED\n"
                    "Karyotype: 46,XY,t(11;19)(q23;p13.3)[15]/46,XY[5]\n"
                    "Comment: KMT2A rearrangement defines high-risk B-ALL in most pediatric protocols.")


@demo("kmt2a-demo-child-aml", "Pediatric AML, KMT2A::AFDN (MLL-AF6)",
      "3-year-old girl, new AML (FAB M5); t(6;11)(q27;q23) with MLL-AF6 (KMT2A::AFDN) fusion.",
      {"riskGroups": [["pediatric-aml-kmt2a", "high-risk-partner"]], "kmt2a": ["rearranged", "AFDN"]})
def child_aml(c: Chart) -> None:
    patient(c, "Fontaine", ["Chloe", "Marie"], "female", "2023-06-21", "MRN00601955")
    encounter(c, "2026-11-18T20:45:00Z", "Pediatric ICU admission")
    diagnosis(c, "dx", ("91861009", "Acute myeloid leukemia"), ("C92.00", "Acute myeloblastic leukemia, not having "
              "achieved remission"), "2026-11-18", "Acute monoblastic leukemia (AML M5)")
    cbc(c, "cbc-dx", "2026-11-18T21:30:00Z", 148, 6.9, 18, 64)
    body_size(c, "2026-11-18", 14.1, 96)
    bm = marrow(c, "2026-11-19T08:00:00Z")
    kt = karyotype(c, "2026-11-26", "47,XX,+8,t(6;11)(q27;q23)[20]", bm)
    fish = fish_panel(c, "2026-11-20",
                      "MLL (KMT2A) break-apart probe: split signal in 86% of nuclei. Reflex MLL-AF6 (KMT2A::AFDN) "
                      "dual fusion probe positive.", bm)
    genetics_report(c, "cyto", "2026-11-26",
                    "AML with t(6;11)(q27;q23), MLL-AF6 (KMT2A::AFDN) fusion, and trisomy 8.",
                    [kt, fish], bm, "Children's Hospital Cytogenetics Laboratory",
                    "CYTOGENETICS REPORT\nKaryotype: 47,XX,+8,t(6;11)(q27;q23)[20]\n"
                    "FISH: KMT2A break-apart positive (86%); KMT2A::AFDN (MLL-AF6) fusion confirmed.\n"
                    "Interpretation: AML with KMT2A rearrangement, partner AFDN.")


@demo("kmt2a-demo-adult-relapse", "Adult AML at relapse on revumenib, KMT2A::MLLT3",
      "58-year-old man, AML with t(9;11)(p21.3;q23.3) KMT2A::MLLT3 diagnosed in 2025, relapsed in October 2026, "
      "started revumenib; on posaconazole prophylaxis; QTcF 452 ms.",
      {"riskGroups": [["eln-2022", "intermediate"]], "kmt2a": ["rearranged", "MLLT3"], "setting": "relapsed-refractory"})
def adult_relapse(c: Chart) -> None:
    patient(c, "Brennan", ["Thomas", "Patrick"], "male", "1968-02-09", "MRN00287744")
    encounter(c, "2026-11-24T08:00:00Z", "Leukemia clinic visit", "AMB")
    diagnosis(c, "dx", ("91861009", "Acute myeloid leukemia"), ("C92.02", "Acute myeloblastic leukemia, in relapse"),
              "2025-03-11", "AML with KMT2A::MLLT3, first relapse", clinical="relapse",
              note="CR1 after 7+3 and HiDAC consolidation (2025); morphologic relapse 2026-10-14 (marrow blasts 34%).")
    cbc(c, "cbc-dx", "2025-03-11T10:00:00Z", 41.7, 9.1, 52, 55)
    cbc(c, "cbc-now", "2026-11-24T08:20:00Z", 3.1, 9.6, 61)
    lab(c, "k", "2823-3", "Potassium [Moles/volume] in Serum or Plasma", "2026-11-24T08:20:00Z", 3.9, "mmol/L", "mmol/L")
    lab(c, "mg", "19123-9", "Magnesium [Mass/volume] in Serum or Plasma", "2026-11-24T08:20:00Z", 1.9, "mg/dL", "mg/dL")
    body_size(c, "2026-11-24", 84.2, 181)
    c.add({"resourceType": "Observation", "id": c.rid("ecg"), "status": "final",
           "category": [{"coding": [{"system": OBS_CAT, "code": "procedure", "display": "Procedure"}]}],
           "code": {"coding": [{"system": LOINC, "code": "76634-5", "display": "QT interval corrected by Fridericia formula"}],
                    "text": "QTcF"},
           "subject": c.subject, "effectiveDateTime": "2026-11-24T09:05:00Z",
           "valueQuantity": {"value": 452, "unit": "ms", "system": UCUM, "code": "ms"}})
    bm = marrow(c, "2025-03-12T09:00:00Z")
    kt = karyotype(c, "2025-03-21", "46,XY,t(9;11)(p21.3;q23.3)[20]", bm)
    genetics_report(c, "cyto", "2025-03-21",
                    "t(9;11)(p21.3;q23.3); KMT2A::MLLT3 fusion confirmed by FISH. "
                    "NPM1, FLT3-ITD and FLT3-TKD not detected.",
                    [kt], bm, "University Hospital Cytogenetics",
                    "CYTOGENETICS\nKaryotype: 46,XY,t(9;11)(p21.3;q23.3)[20]\n"
                    "FISH: KMT2A::MLLT3 fusion in 94% of nuclei.\n"
                    "Myeloid NGS panel: no NPM1 or FLT3 alterations; no TP53 variant.")
    medication(c, "revumenib", "MedicationRequest", ("2698331", "revumenib 110 MG Oral Tablet"),
               "Revuforj (revumenib) 110 mg tablet", "2026-11-17", "active",
               "160 mg by mouth every 12 hours (dose reduced for posaconazole)")
    medication(c, "posaconazole", "MedicationStatement", ("282446", "posaconazole"),
               "Posaconazole delayed-release 300 mg tablet", "2026-10-20", "active", "300 mg by mouth once daily")


@demo("kmt2a-demo-amplified", "Adult AML with KMT2A amplification (not a rearrangement)",
      "71-year-old woman, AML with a complex karyotype and KMT2A amplification (about 10 copies) on FISH; "
      "no KMT2A rearrangement.",
      {"riskGroups": [["kmt2a-amplified", "high"], ["eln-2022", "adverse"]], "kmt2a": ["amplified", None]})
def amplified(c: Chart) -> None:
    patient(c, "Nakamura-Wells", ["Eleanor"], "female", "1955-01-30", "MRN00144321")
    encounter(c, "2026-11-09T11:00:00Z", "Hematology admission")
    diagnosis(c, "dx", ("91861009", "Acute myeloid leukemia"), ("C92.00", "Acute myeloblastic leukemia, not having "
              "achieved remission"), "2026-11-09", "AML with myelodysplasia-related changes")
    cbc(c, "cbc-dx", "2026-11-09T11:40:00Z", 12.3, 8.2, 35, 31)
    body_size(c, "2026-11-09", 61.0)
    bm = marrow(c, "2026-11-10T09:00:00Z")
    kt = karyotype(c, "2026-11-19", "44,XX,-5,-7,del(11)(q14q24),hsr(11)(q23),+mar[17]/46,XX[3]", bm)
    fish = fish_panel(c, "2026-11-12",
                      "KMT2A (MLL) amplification: 8-12 copies of the KMT2A signal per nucleus in 74% of nuclei, "
                      "clustered in a homogeneously staining region; no KMT2A rearrangement (no split signal).",
                      bm)
    genetics_report(c, "cyto", "2026-11-19",
                    "Complex karyotype with KMT2A amplification (8-12 copies, hsr 11q23); no KMT2A rearrangement.",
                    [kt, fish], bm, "University Hospital Cytogenetics",
                    "CYTOGENETICS AND FISH\nKaryotype: 44,XX,-5,-7,del(11)(q14q24),hsr(11)(q23),+mar[17]/46,XX[3]\n"
                    "FISH: KMT2A amplification, 8-12 copies; break-apart pattern intact (no rearrangement).")


@demo("kmt2a-demo-no-leukemia", "No leukemia (iron-deficiency anemia)",
      "45-year-old woman seen for iron-deficiency anemia: no leukemia, so the service stays silent.",
      {"riskGroups": [], "noCards": True})
def no_leukemia(c: Chart) -> None:
    patient(c, "Castillo", ["Rosa", "Elena"], "female", "1981-05-17", "MRN00790216")
    encounter(c, "2026-11-20T09:30:00Z", "Primary care visit", "AMB")
    diagnosis(c, "dx", ("87522002", "Iron deficiency anemia"), ("D50.9", "Iron deficiency anemia, unspecified"),
              "2026-11-20", "Iron deficiency anemia")
    cbc(c, "cbc", "2026-11-20T10:05:00Z", 6.4, 9.7, 412)
    lab(c, "ferritin", "2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "2026-11-20T10:05:00Z", 6, "ng/mL", "ng/mL")
    medication(c, "iron", "MedicationRequest", ("310325", "ferrous sulfate 325 MG Oral Tablet"),
               "Ferrous sulfate 325 mg tablet", "2026-11-20", "active", "1 tablet by mouth every other day")


def main() -> None:
    index = []
    for entry in PATIENTS:
        chart = Chart(entry["id"])
        entry["build"](chart)
        (HERE / entry["file"]).write_text(json.dumps(chart.bundle(), indent=2, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
        index.append({k: v for k, v in entry.items() if k != "build"})
    (HERE / "patients.json").write_text(json.dumps({"patients": index}, indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    print(f"wrote {len(index)} demo patients to {HERE}")


if __name__ == "__main__":
    main()
