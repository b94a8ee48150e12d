"""A seeded synthetic cohort, written as a FHIR Bulk Data `$export` folder, for the cohort tests and the benchmark.

    write_export(folder, patients=10_000, seed=7)     # Patient.ndjson, Condition.ndjson, Observation.ndjson, ...
    patient_resources(index, seed)                    # the resources of one patient (to assess it alone)

Patients vary in what matters to the rules: age (infant, child, adult), lineage (B-ALL, AML, none), KMT2A result
(fusion with one of several partners in the spellings labs use, break-apart FISH without a partner, amplification,
negative, untested), presenting WBC, relapse, weight, a menin inhibitor and an azole with a shared Medication.
Generation streams patient by patient, so writing 10,000 patients needs no more memory than writing ten.
Observations are spread over two files, as `$export` splits large types, so resources of one patient are scattered.
"""

from __future__ import annotations

import json
import random
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

LOINC, SNOMED, ICD10 = "http://loinc.org", "http://snomed.info/sct", "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM, UCUM = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://unitsofmeasure.org"
OBS_CAT = "http://terminology.hl7.org/CodeSystem/observation-category"
TODAY = date(2026, 11, 29)
FUSION_TEXTS = [("AFF1", "t(4;11)(q21;q23)", "KMT2A::AFF1 fusion detected"), ("MLLT3", "t(9;11)(p21.3;q23.3)",
                "MLL-AF9 fusion positive"), ("MLLT1", "t(11;19)(q23;p13.3)", "KMT2A-MLLT1 (ENL) fusion transcript"),
                ("AFDN", "t(6;11)(q27;q23)", "MLL-AF6 (KMT2A::AFDN) fusion"),
                ("MLLT10", "t(10;11)(p12;q23)", "KMT2A/MLLT10 fusion detected")]
SHARED = [{"resourceType": "Medication", "id": "med-revumenib",
           "code": {"coding": [{"system": RXNORM, "code": "2698331", "display": "revumenib 110 MG Oral Tablet"}]}},
          {"resourceType": "Medication", "id": "med-posaconazole",
           "code": {"coding": [{"system": RXNORM, "code": "282446", "display": "posaconazole"}]}}]


def _obs(rid: str, pid: str, code: str, display: str, when: date, category: str = "laboratory", **value) -> dict:
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "category": [{"coding": [{"system": OBS_CAT, "code": category}]}],
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
            "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": when.isoformat(), **value}


def patient_resources(index: int, seed: int = 7) -> list[dict]:
    """The chart of synthetic patient `index`: the same for the same (index, seed)."""
    rng = random.Random(f"{seed}:{index}")
    pid = f"syn-{index:06d}"
    dx = TODAY - timedelta(days=rng.randint(10, 400))
    age_band = rng.choices(["infant", "child", "adult"], [2, 3, 5])[0]
    age_days = {"infant": rng.randint(20, 360), "child": rng.randint(400, 6400), "adult": rng.randint(6600, 30000)}[age_band]
    birth = dx - timedelta(days=age_days)
    out = [{"resourceType": "Patient", "id": pid, "gender": rng.choice(["female", "male"]),
            "birthDate": birth.isoformat(), "name": [{"family": f"Synthetic{index}", "given": ["Test"]}]}]
    kind = rng.choices(["B-ALL", "AML", "none"], [4, 5, 1])[0]
    if kind == "none":
        out.append(_obs(f"{pid}-wbc", pid, "6690-2", "Leukocytes", dx, valueQuantity={
            "value": round(rng.uniform(4, 11), 1), "unit": "10*3/uL", "system": UCUM, "code": "10*3/uL"}))
        return out
    relapsed = rng.random() < 0.25
    codes = {"B-ALL": ("277571004", "B-cell acute lymphoblastic leukemia", "C91.0"),
             "AML": ("91861009", "Acute myeloid leukemia", "C92.0")}[kind]
    out.append({"resourceType": "Condition", "id": f"{pid}-dx", "subject": {"reference": f"Patient/{pid}"},
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                               "code": "relapse" if relapsed else "active"}]},
                "code": {"coding": [{"system": SNOMED, "code": codes[0], "display": codes[1]},
                                    {"system": ICD10, "code": codes[2] + ("2" if relapsed else "0")}]},
                "onsetDateTime": dx.isoformat(), "recordedDate": dx.isoformat()})
    out.append(_obs(f"{pid}-wbc", pid, "6690-2", "Leukocytes", dx, valueQuantity={
        "value": round(rng.choice([rng.uniform(2, 90), rng.uniform(100, 600)]), 1), "unit": "10*3/uL",
        "system": UCUM, "code": "10*3/uL"}))
    out.append(_obs(f"{pid}-wt", pid, "29463-7", "Body weight", TODAY - timedelta(days=rng.randint(1, 30)),
                    "vital-signs", valueQuantity={"value": round(age_days / 365 * 3 + 4 if age_band != "adult"
                                                                 else rng.uniform(45, 110), 1),
                                                  "unit": "kg", "system": UCUM, "code": "kg"}))
    finding = rng.choices(["fusion", "break-apart", "amplified", "negative", "untested"], [6, 1, 1, 2, 1])[0]
    when = dx + timedelta(days=rng.randint(1, 9))
    if finding == "fusion":
        partner, iscn, text = rng.choice(FUSION_TEXTS)
        out.append(_obs(f"{pid}-kt", pid, "33893-9", "Karyotype", when,
                        valueString=f"46,{'XX' if out[0]['gender'] == 'female' else 'XY'},{iscn}[20]"))
        out.append({"resourceType": "DiagnosticReport", "id": f"{pid}-rep", "status": "final",
                    "code": {"coding": [{"system": LOINC, "code": "51969-4", "display": "Genetic analysis report"}]},
                    "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": when.isoformat(),
                    "conclusion": f"{text}; {iscn}."})
    elif finding == "break-apart":
        out.append(_obs(f"{pid}-fish", pid, "102103-9", "AML FISH panel", when,
                        valueString="KMT2A (MLL) break-apart probe: split signal in 78% of nuclei; partner unknown."))
    elif finding == "amplified":
        out.append(_obs(f"{pid}-fish", pid, "102103-9", "AML FISH panel", when,
                        valueString="KMT2A amplification, 6-9 copies per nucleus; no KMT2A rearrangement."))
    elif finding == "negative":
        out.append(_obs(f"{pid}-fish", pid, "102103-9", "AML FISH panel", when,
                        valueString="KMT2A (MLL) break-apart FISH: normal signal pattern; no KMT2A rearrangement."))
    if relapsed and rng.random() < 0.5:
        out.append({"resourceType": "MedicationRequest", "id": f"{pid}-rx1", "status": "active", "intent": "order",
                    "subject": {"reference": f"Patient/{pid}"}, "authoredOn": (TODAY - timedelta(days=5)).isoformat(),
                    "medicationReference": {"reference": "Medication/med-posaconazole"}})
    return out


def write_export(folder: Path, patients: int, seed: int = 7) -> dict[str, int]:
    """Write `patients` synthetic patients as a Bulk Data export into `folder`. Returns lines per file."""
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    with ExitStack() as stack:
        handles: dict[str, object] = {}

        def write(name: str, resource: dict) -> None:
            if name not in handles:
                handles[name] = stack.enter_context(open(folder / name, "w", encoding="utf-8"))
            handles[name].write(json.dumps(resource, separators=(",", ":")) + "\n")
            counts[name] = counts.get(name, 0) + 1

        for resource in SHARED:
            write("Medication.ndjson", resource)
        for index in range(patients):
            for resource in patient_resources(index, seed):
                rtype = resource["resourceType"]
                name = f"{rtype}.2.ndjson" if rtype == "Observation" and index % 2 else f"{rtype}.ndjson"
                write(name, resource)
    return counts
