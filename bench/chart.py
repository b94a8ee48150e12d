"""A seeded generator of patient records, and the CDS client's side of prefetch: what an EHR would send for the
templates our discovery declares.

`chart(size, seed)` builds one patient's whole record (every resource the EHR holds). `prefetch_for(templates,
chart, patient_id, today)` answers each prefetch template the way a FHIR server answers the search: resource type,
`patient`, `category`, `code` (system|code, comma = OR), `date` with the eq/ge/gt/le/lt prefixes, and the 2.0 / 3.0
tokens (`{{context.patientId}}`, `{{today() - N days}}`). So the benchmark measures what EHRs send for OUR
templates, not a hand-made prefetch: narrowing a template shrinks the request exactly as it would in production.

Sizes: small (~5 KB: patient, diagnosis, fusion, one weight), typical (~150 KB: karyotype, FISH, a fusion variant,
CBC and MRD series, QTc, weight/height, 5 Conditions, 20 MedicationRequests, the Procedures of four courses: marrow
aspirates, lumbar punctures, a central line, echocardiograms, transfusions), long (typical + two years of daily
CBCs: ~3,650 Observations, and the transfusions and procedures of two years, an allogeneic transplant among them).
"""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from urllib.parse import parse_qsl

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
TODAY = date(2026, 11, 21)  # the reference date of every bench call (the service is given the same one)
SIZES = ("small", "typical", "long")
# The templates before issue 13 (every laboratory and vital-sign result), as an EHR answering a broad search
# sends: the ~150 KB "typical" request of the issue, and ~5 MB for the long history.
BROAD_TEMPLATES = {"labs": "Observation?patient={{context.patientId}}&category=laboratory",
                   "vitals": "Observation?patient={{context.patientId}}&category=vital-signs"}

# (LOINC, display, unit, typical value)
CBC = [("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL", 4.8),
       ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 9.1),
       ("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL", 84),
       ("751-8", "Neutrophils [#/volume] in Blood by Automated count", "10*3/uL", 1.9),
       ("26446-5", "Blasts/100 leukocytes in Blood", "%", 2)]
CHEMISTRY = [("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.6),
             ("1742-6", "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 31),
             ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "mmol/L", 3.9),
             ("19123-9", "Magnesium [Mass/volume] in Serum or Plasma", "mg/dL", 1.9),
             ("14804-9", "Lactate dehydrogenase [Enzymatic activity/volume] in Serum or Plasma", "U/L", 390)]
VITALS = [("29463-7", "Body weight", "kg", 31.5), ("8302-2", "Body height", "cm", 138),
          ("8867-4", "Heart rate", "/min", 96), ("8310-5", "Body temperature", "Cel", 37.2),
          ("9279-1", "Respiratory rate", "/min", 20)]
MEDICATIONS = [("282446", "posaconazole 100 MG Delayed Release Oral Tablet"), ("26225", "ondansetron 8 MG Oral Tablet"),
               ("10831", "sulfamethoxazole / trimethoprim"), ("4179", "etoposide"), ("3041", "cytarabine"),
               ("5650", "idarubicin"), ("6851", "methotrexate"), ("198211", "acyclovir 400 MG Oral Tablet"),
               ("8640", "prednisone"), ("5521", "hydroxyurea"), ("161", "acetaminophen"), ("2670", "allopurinol"),
               ("7052", "morphine"), ("6387", "lidocaine"), ("4603", "furosemide"), ("8183", "piperacillin"),
               ("11124", "vancomycin"), ("1998", "cefepime"), ("7646", "omeprazole"), ("4493", "fluconazole")]


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self.rng, self.n = rng, 0

    def next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}-{self.n}-{self.rng.getrandbits(32):08x}"


def _narrative(text: str) -> dict:
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{text}</p><p>Central '
            "Laboratory, University Hospital; verified.</p></div>"}


def _observation(ids: _Ids, patient: str, code: str, display: str, when: date, category: str, **value) -> dict:
    return {
        "resourceType": "Observation", "id": ids.next("obs"),
        "meta": {"versionId": "1", "lastUpdated": f"{when.isoformat()}T12:00:00Z"},
        "text": _narrative(display),
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.1234.5", "value": ids.next("LAB")}],
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": category, "display": category.title()}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": f"{when.isoformat()}T07:30:00+01:00", "issued": f"{when.isoformat()}T10:02:11+01:00",
        "performer": [{"reference": "Organization/lab-1"}],
        **value,
    }


def _quantity(ids, rng, patient, code, display, unit, value, when, category="laboratory") -> dict:
    v = round(value * rng.uniform(0.8, 1.2), 2)
    return _observation(ids, patient, code, display, when, category,
                        valueQuantity={"value": v, "unit": unit, "system": UCUM, "code": unit},
                        referenceRange=[{"low": {"value": round(value * 0.5, 2), "unit": unit, "system": UCUM, "code": unit},
                                         "high": {"value": round(value * 1.5, 2), "unit": unit, "system": UCUM,
                                                  "code": unit}}])


def gene_studied(hgnc_id: str, symbol: str) -> dict:
    """A Genomics Reporting gene-studied component."""
    return {"code": {"coding": [{"system": LOINC, "code": "48018-6"}]},
            "valueCodeableConcept": {"coding": [{"system": "http://www.genenames.org", "code": hgnc_id, "display": symbol}]}}


def kmt2a_mllt3_variant(oid: str, patient: str, when: str, category: list[dict]) -> dict:
    """A Genomics Reporting Variant reporting KMT2A::MLLT3 present (genes, change type gene_fusion, variation code)."""
    return {"resourceType": "Observation", "id": oid, "status": "final", "category": category,
            "meta": {"profile": ["http://hl7.org/fhir/uv/genomics-reporting/StructureDefinition/variant"]},
            "code": {"coding": [{"system": LOINC, "code": "69548-6", "display": "Genetic variant assessment"}]},
            "subject": {"reference": f"Patient/{patient}"}, "effectiveDateTime": when,
            "valueCodeableConcept": {"coding": [{"system": LOINC, "code": "LA9633-4", "display": "Present"}]},
            "component": [gene_studied("HGNC:7132", "KMT2A"), gene_studied("HGNC:7136", "MLLT3"),
                          {"code": {"coding": [{"system": LOINC, "code": "48019-4"}]},
                           "valueCodeableConcept": {"coding": [{"system": "http://www.sequenceontology.org",
                                                                "code": "SO:0001565", "display": "gene_fusion"}]}},
                          {"code": {"coding": [{"system": LOINC, "code": "81252-9"}]},
                           "valueCodeableConcept": {"text": "KMT2A::MLLT3"}}]}


def _genetics(ids: _Ids, patient: str, dx: date) -> list[dict]:
    laboratory = {"coding": [{"system": CATEGORY, "code": "laboratory"}]}
    fusion = kmt2a_mllt3_variant(ids.next("gen"), patient, (dx + timedelta(days=1)).isoformat(), [laboratory])
    karyotype = _observation(ids, patient, "33893-9", "Karyotype [Identifier] in Bone marrow Nominal",
                             dx + timedelta(days=2), "laboratory",
                             valueString="47,XY,+8,t(9;11)(p21.3;q23.3)[18]/46,XY[2]")
    fish = _observation(ids, patient, "102103-9", "AML FISH panel", dx + timedelta(days=1), "laboratory",
                        valueString="nuc ish(KMT2Ax2)(5'KMT2A sep 3'KMT2Ax1)[164/200]")
    report = {"resourceType": "DiagnosticReport", "id": ids.next("rep"), "status": "final",
              "code": {"coding": [{"system": LOINC, "code": "51969-4", "display": "Genetic analysis report"}]},
              "subject": {"reference": f"Patient/{patient}"}, "effectiveDateTime": (dx + timedelta(days=3)).isoformat(),
              "issued": f"{(dx + timedelta(days=4)).isoformat()}T09:00:00Z",
              "result": [{"reference": f"Observation/{fusion['id']}"}],
              "conclusion": "KMT2A::MLLT3 fusion detected by RNA sequencing."}
    return [fusion, karyotype, fish, report]


def _condition(ids: _Ids, patient: str, text: str, onset: date, snomed: str | None = None) -> dict:
    code = {"text": text}
    if snomed:
        code["coding"] = [{"system": SNOMED, "code": snomed}]
    return {"resourceType": "Condition", "id": ids.next("dx"), "text": _narrative(text),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                           "code": "active"}]},
            "code": code, "subject": {"reference": f"Patient/{patient}"}, "onsetDateTime": onset.isoformat()}


def _medication_request(ids: _Ids, patient: str, rxcui: str, display: str, status: str, authored: date) -> dict:
    return {"resourceType": "MedicationRequest", "id": ids.next("med"), "status": status, "intent": "order",
            "meta": {"lastUpdated": f"{authored.isoformat()}T09:00:00Z"}, "text": _narrative(display),
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.1234.7", "value": ids.next("RX")}],
            "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxcui, "display": display}],
                                          "text": display},
            "subject": {"reference": f"Patient/{patient}"}, "authoredOn": authored.isoformat(),
            "requester": {"reference": "Practitioner/onc-1", "display": "Oncology attending"},
            "dosageInstruction": [{"text": "as directed",
                                   "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                                   "route": {"coding": [{"system": SNOMED, "code": "26643006", "display": "Oral route"}]},
                                   "doseAndRate": [{"doseQuantity": {"value": 100, "unit": "mg", "system": UCUM,
                                                                     "code": "mg"}}]}]}


# (SNOMED, display) of the procedures an AML course brings; transfusions are the many
COURSE_PROCEDURES = [("396487001", "Sampling of bone marrow by aspiration"), ("277762005", "Lumbar puncture"),
                     ("40701008", "Echocardiography")]
TRANSFUSIONS = [("180208003", "Intravenous blood transfusion of packed cells"),
                ("12719002", "Platelet transfusion")]


def _procedure(ids: _Ids, patient: str, snomed: str, display: str, when: date) -> dict:
    return {"resourceType": "Procedure", "id": ids.next("proc"), "status": "completed", "text": _narrative(display),
            "meta": {"lastUpdated": f"{when.isoformat()}T16:00:00Z"},
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.1234.9", "value": ids.next("PROC")}],
            "category": {"coding": [{"system": SNOMED, "code": "387713003", "display": "Surgical procedure"}]},
            "code": {"coding": [{"system": SNOMED, "code": snomed, "display": display}], "text": display},
            "subject": {"reference": f"Patient/{patient}"}, "performedDateTime": f"{when.isoformat()}T10:30:00+01:00",
            "performer": [{"actor": {"reference": "Practitioner/onc-1", "display": "Oncology attending"}}],
            "location": {"display": "Pediatric oncology day unit"}}


def _procedures(ids: _Ids, rng: random.Random, patient: str, dx: date, size: str) -> list[dict]:
    """Four courses' procedures (typical: ~40), or two years of them with an allogeneic HSCT (long: ~200)."""
    courses = [dx + timedelta(days=35 * k) for k in range(4)]
    out = [_procedure(ids, patient, "233527006", "Insertion of central venous catheter", dx + timedelta(days=1))]
    for start in courses:
        out += [_procedure(ids, patient, code, display, start + timedelta(days=rng.randint(0, 3)))
                for code, display in COURSE_PROCEDURES]
        out += [_procedure(ids, patient, *TRANSFUSIONS[n % 2], start + timedelta(days=10 + n)) for n in range(6)]
    if size == "long":
        hsct = dx + timedelta(days=200)
        out.append(_procedure(ids, patient, "234336002", "Allogeneic haematopoietic stem cell transplant", hsct))
        out += [_procedure(ids, patient, *TRANSFUSIONS[n % 2], hsct + timedelta(days=rng.randint(-10, 400)))
                for n in range(150)]
    return out


def chart(size: str, seed: int = 13, patient: str = "bench-1") -> list[dict]:
    """Every resource the EHR holds for one child with KMT2A::MLLT3 AML, diagnosed ~2 years before TODAY."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {SIZES}")
    rng, ids = random.Random(f"{seed}-{size}"), _Ids(random.Random(seed))
    dx = TODAY - timedelta(days=730)
    out = [{"resourceType": "Patient", "id": patient, "gender": "male", "birthDate": "2015-03-09",
            "text": _narrative("Patient summary"),
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.3.1234.1", "value": "MRN-0001"}]},
           _condition(ids, patient, "Acute myeloid leukemia with KMT2A::MLLT3", dx, "1157157006")]
    genetics = _genetics(ids, patient, dx)
    if size == "small":
        return out + genetics[:1] + [_quantity(ids, rng, patient, "29463-7", "Body weight", "kg", 31.5, TODAY - timedelta(days=3),
                                               "vital-signs")]
    out += [_condition(ids, patient, text, dx + timedelta(days=rng.randint(10, 600)))
            for text in ("Febrile neutropenia", "Oral mucositis", "Tumor lysis syndrome", "Central line in place")]
    out += genetics
    # CBC at diagnosis, then weekly for the last ~3 months; chemistry every other draw; MRD after each course.
    draws = [dx] + [TODAY - timedelta(days=7 * k) for k in range(8, 0, -1)]
    for n, when in enumerate(draws):
        for code, display, unit, value in CBC + (CHEMISTRY if n % 2 == 0 else []):
            value = 48.2 if code == "6690-2" and when == dx else value
            out.append(_quantity(ids, rng, patient, code, display, unit, value, when))
    for k, when in enumerate((dx + timedelta(days=30), dx + timedelta(days=90), dx + timedelta(days=180))):
        out.append(_quantity(ids, rng, patient, "67128-9", "MRD by flow cytometry, bone marrow", "%", 0.4 / (k + 1), when))
    for when in (TODAY - timedelta(days=40), TODAY - timedelta(days=5)):
        out.append(_quantity(ids, rng, patient, "76634-5", "QTc interval by Fridericia formula", "ms", 438, when, "procedure"))
        for code, display, unit, value in VITALS:
            out.append(_quantity(ids, rng, patient, code, display, unit, value, when, "vital-signs"))
    for i, (rxcui, display) in enumerate(MEDICATIONS):
        status = "active" if i % 3 == 0 else "completed"
        out.append(_medication_request(ids, patient, rxcui, display, status, dx + timedelta(days=rng.randint(0, 700))))
    out += _procedures(ids, rng, patient, dx, size)
    if size == "long":  # two years of daily blood counts: ~3,650 Observations, ~6 MB
        for day in range(730):
            when = dx + timedelta(days=day)
            for code, display, unit, value in CBC:
                out.append(_quantity(ids, rng, patient, code, display, unit, value, when))
    return out


# --- the EHR's side: answer a prefetch template --------------------------------------------------

_TODAY_TOKEN = re.compile(r"\{\{\s*today\(\)\s*(?:([+-])\s*(\d+)\s*days?)?\s*\}\}")


def _fill(template: str, patient: str, today: date) -> str:
    def shifted(m: re.Match) -> str:
        days = int(m.group(2) or 0) * (-1 if m.group(1) == "-" else 1)
        return (today + timedelta(days=days)).isoformat()
    return _TODAY_TOKEN.sub(shifted, template.replace("{{context.patientId}}", patient))


def _codings(concept) -> list[tuple[str, str]]:
    concepts = concept if isinstance(concept, list) else [concept]
    return [(c.get("system", ""), c.get("code", "")) for cc in concepts if isinstance(cc, dict)
            for c in cc.get("coding", [])]


def _token_match(concept, wanted: str) -> bool:
    have = _codings(concept)
    for alternative in wanted.split(","):
        system, _, code = alternative.rpartition("|")
        if any(c == code and (not system or s == system) for s, c in have):
            return True
    return False


def _when(resource: dict) -> str | None:
    for name in ("effectiveDateTime", "onsetDateTime", "performedDateTime", "authoredOn", "issued", "recordedDate"):
        if isinstance(resource.get(name), str):
            return resource[name][:10]
    return None


def _date_match(resource: dict, wanted: str) -> bool:
    prefix, value = (wanted[:2], wanted[2:]) if wanted[:2] in ("eq", "ge", "gt", "le", "lt") else ("eq", wanted)
    when = _when(resource)
    if when is None:
        return False
    value = value[:10]
    return {"eq": when == value, "ge": when >= value, "gt": when > value, "le": when <= value, "lt": when < value}[prefix]


def search(template: str, resources: list[dict], patient: str, today: date = TODAY):
    """What a FHIR server answers to the filled template: the resource (a read) or a searchset Bundle."""
    path, _, query = _fill(template, patient, today).partition("?")
    rtype, _, rid = path.partition("/")
    if rid:
        return next((r for r in resources if r["resourceType"] == rtype and r["id"] == rid), None)
    found = [r for r in resources if r["resourceType"] == rtype]
    for name, value in parse_qsl(query):
        if name in ("patient", "subject"):
            found = [r for r in found if r.get("subject", {}).get("reference", "").endswith(f"/{value.split('/')[-1]}")]
        elif name in ("category", "code"):
            found = [r for r in found if _token_match(r.get(name), value)]
        elif name == "date":
            found = [r for r in found if _date_match(r, value)]
        # _count, _sort and other result parameters do not change WHICH resources match
    # A fresh Bundle id per search, as servers do: nothing may be keyed on it.
    return {"resourceType": "Bundle", "id": f"search-{random.getrandbits(64):016x}", "type": "searchset",
            "total": len(found),
            "entry": [{"fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}", "resource": r,
                       "search": {"mode": "match"}} for r in found]}


def prefetch_for(templates: dict[str, str], resources: list[dict], patient: str = "bench-1",
                 today: date = TODAY) -> dict:
    return {key: search(template, resources, patient, today) for key, template in templates.items()}
