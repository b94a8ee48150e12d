"""Leukemia Conditions -> `Diagnosis` (lineage, 11q23 mention, therapy-related, status), and the patient's
disease status from Conditions and mCODE CancerDiseaseStatus Observations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from fhir_mappings import terminology as term
from fhir_mappings.access import (codings, concept_label, concept_text, dicts, effective_date, get, parse_date,
                                  reference_of)
from fhir_mappings.case import Diagnosis, DiseaseStatus, Lineage, Source

# Most specific lineage wins when code and text both speak (text "B-ALL" refines code "ALL").
_SPECIFICITY = {Lineage.UNKNOWN: 0, Lineage.ALL: 1, Lineage.AML: 1, Lineage.B_ALL: 2, Lineage.T_ALL: 2, Lineage.MPAL: 3}


def _icd10(code: str) -> str:
    code = code.strip().upper()
    return code if "." in code or len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _icdo3(code: str) -> str:
    """ICD-O-3 morphology as written in the wild ("M9807/3", "98073", "9807-3") -> "9807/3"."""
    m = re.fullmatch(r"M?-?(\d{4})\s*[/-]?\s*(\d)", code.strip().upper())
    return f"{m.group(1)}/{m.group(2)}" if m else code.strip()


_HISTOLOGY_URL = re.compile(r"histology|morphology", re.IGNORECASE)


def histology(condition: dict) -> list[dict]:
    """The mCODE / US Core cancer-condition histology-morphology-behavior extension values (ICD-O-3 or SNOMED)."""
    return [e["valueCodeableConcept"] for e in dicts(condition.get("extension"))
            if isinstance(e.get("url"), str) and _HISTOLOGY_URL.search(e["url"])
            and isinstance(e.get("valueCodeableConcept"), dict)]


def code_rows(concept) -> list[tuple[dict, str]]:
    """(diagnosis-table row, code as sent) for each coding that names an acute leukemia."""
    found = []
    for system, code, _ in codings(concept):
        norm = _icd10(code) if system == "icd10cm" else _icdo3(code) if system == "icdo3" else code.strip()
        for row in term.diagnosis_codes():
            if row["system"] != system:
                continue
            if (row["match"] == "exact" and norm == row["code"]) or (
                row["match"] == "prefix" and norm.upper().startswith(row["code"].upper())
            ):
                found.append((row, norm))
    return found


def _concepts(condition: dict) -> list:
    """Condition.code and the histology extension: an mCODE primary cancer condition may name the leukemia only
    in its ICD-O-3 morphology."""
    code = condition.get("code")
    return [code, *histology(condition)] if isinstance(code, dict) else histology(condition) or [code]


def is_leukemia_condition(condition: dict) -> bool:
    """Cheap pre-filter on raw JSON, before validation."""
    concept = _concepts(condition)
    if code_rows(concept):
        return True
    text = concept_text(concept)
    return bool(text and term.pattern("leukemia").search(text) and _text_lineage(text) is not None)


def _text_lineage(text: str) -> Lineage | None:
    for regex, lineage in term.pattern_list("lineage", "lineage"):
        if regex.search(text):
            return Lineage(lineage)
    return None


def _status_from_icd(norm: str) -> str | None:
    m = re.match(r"^C9[1-5]\.[0-9A-Z]([0-2])$", norm)
    return term.disease_status_codes().get(("icd10cm-5th", m.group(1))) if m else None


def _status(condition: dict, rows: list[tuple[dict, str]], text: str) -> DiseaseStatus:
    found: set[str] = set()
    for system, code, _ in codings(condition.get("clinicalStatus")):
        status = term.disease_status_codes().get((system, code))
        if status:
            found.add(status)
    for row, norm in rows:
        if row["system"] == "icd10cm":
            status = _status_from_icd(norm)
            if status:
                found.add(status)
    if term.pattern("refractory").search(text):
        return DiseaseStatus.REFRACTORY
    if "relapsed" in found or term.pattern("relapse").search(text):
        return DiseaseStatus.RELAPSED
    if "in-remission" in found or term.pattern("remission").search(text):
        return DiseaseStatus.IN_REMISSION
    if "resolved" in found:
        return DiseaseStatus.UNKNOWN
    return DiseaseStatus.NEWLY_DIAGNOSED if "active" in found else DiseaseStatus.UNKNOWN


def onset_date(condition: dict) -> date | None:
    return (
        parse_date(condition.get("onsetDateTime"))
        or parse_date(get(condition, "onsetPeriod", "start"))
        or parse_date(condition.get("onsetString"))
    )


def map_condition(condition: dict) -> Diagnosis | None:
    concept = _concepts(condition)
    rows = code_rows(concept)
    text = concept_text(concept)
    lineage = Lineage.UNKNOWN
    for row, _ in rows:
        candidate = Lineage(row["lineage"])
        if _SPECIFICITY[candidate] > _SPECIFICITY[lineage]:
            lineage = candidate
    from_text = _text_lineage(text) if text else None
    if from_text and (_SPECIFICITY[from_text] > _SPECIFICITY[lineage]) and _compatible(lineage, from_text):
        lineage = from_text
    if not rows and from_text is None:
        return None
    onset, recorded = onset_date(condition), parse_date(condition.get("recordedDate"))
    return Diagnosis(
        lineage=lineage,
        text=_label(condition, rows),
        source=Source(reference_of(condition), onset or recorded),
        onset=onset,
        recorded=recorded,
        status=_status(condition, rows, text),
        codes=tuple(f"{row['system']}|{norm}" for row, norm in rows),
        mentions_11q23=any(row["mentions_11q23"] == "true" for row, _ in rows),
        therapy_related=any(row["therapy_related"] == "true" for row, _ in rows)
        or bool(text and term.pattern("therapy_related").search(text)),
    )


def _label(condition: dict, rows: list[tuple[dict, str]]) -> str:
    """The name for cards: Condition.code's, unless only the histology extension names the leukemia."""
    code = condition.get("code")
    if code_rows(code) or _text_lineage(concept_text(code)):
        return concept_label(code)
    named = [concept_label(c) for c in histology(condition) if concept_label(c)]
    return named[0] if named else concept_label(code) or (rows[0][0]["display"] if rows else "leukemia")


def _compatible(coded: Lineage, written: Lineage) -> bool:
    """Text may refine a code (ALL -> B-ALL, anything -> MPAL), never contradict it (AML -> B-ALL)."""
    if coded in (Lineage.UNKNOWN,) or written == Lineage.MPAL:
        return True
    return coded == Lineage.ALL and written.is_lymphoblastic


def case_lineage(diagnoses: tuple[Diagnosis, ...]) -> Lineage:
    """The lineage of the most recent leukemia diagnosis (a lineage switch makes the later one current)."""
    if not diagnoses:
        return Lineage.UNKNOWN
    dated = sorted(diagnoses, key=lambda d: (d.onset or d.recorded or date.min, _SPECIFICITY[d.lineage]))
    return dated[-1].lineage


# --- lineage across time --------------------------------------------------------------------------

def _family(lineage: Lineage) -> str | None:
    if lineage.is_lymphoblastic:
        return "lymphoid"
    return "myeloid" if lineage == Lineage.AML else None


def _when(d: Diagnosis) -> date:
    return d.onset or d.recorded or date.min


def original_lineage(diagnoses: tuple[Diagnosis, ...]) -> Lineage:
    """The lineage of the first leukemia diagnosis (the most specific one of that date)."""
    known = [d for d in diagnoses if d.lineage != Lineage.UNKNOWN]
    if not known:
        return Lineage.UNKNOWN
    first = min(_when(d) for d in known)
    return max((d for d in known if _when(d) == first), key=lambda d: _SPECIFICITY[d.lineage]).lineage


@dataclass(frozen=True)
class LineageSwitch:
    before: Diagnosis
    after: Diagnosis


def lineage_switch(diagnoses: tuple[Diagnosis, ...], rearranged: bool,
                   cd19_therapy_starts: tuple[date, ...] = ()) -> LineageSwitch | None:
    """A leukemia that comes back in the other lineage (B-ALL relapsing as AML after CD19-directed therapy, or the
    reverse) is one disease history, not a new leukemia. Told apart from a second, therapy-related leukemia: the
    later diagnosis is not therapy-related, and it is written as a relapse or lineage switch, or the KMT2A
    rearrangement is the same disease's, or CD19-directed therapy came between the two."""
    dated = sorted((d for d in diagnoses if _family(d.lineage)), key=_when)
    if len(dated) < 2:
        return None
    after = dated[-1]
    before = next((d for d in dated if _family(d.lineage) != _family(after.lineage) and _when(d) < _when(after)), None)
    if before is None or after.therapy_related:
        return None
    written = after.status == DiseaseStatus.RELAPSED or bool(term.pattern("lineage_switch").search(after.text))
    cd19_between = any(_when(before) <= start <= _when(after) for start in cd19_therapy_starts)
    return LineageSwitch(before, after) if written or rearranged or cd19_between else None


# --- disease status -------------------------------------------------------------------------------

def status_observation(observation: dict) -> tuple[str | None, Source]:
    """An mCODE CancerDiseaseStatus value -> "relapsed" / "in-remission" / "improved" / ..."""
    source = Source(reference_of(observation), effective_date(observation))
    for system, code, _ in codings(observation.get("valueCodeableConcept")):
        status = term.disease_status_codes().get((system, code))
        if status:
            return status, source
    return None, source


def current_diagnoses(diagnoses: tuple[Diagnosis, ...], lineage: Lineage, one_history: bool = False
                      ) -> tuple[Diagnosis, ...]:
    """The diagnoses of the current leukemia: a prior ALL "in remission" says nothing about a new AML -- unless the
    AML is that ALL come back in another lineage (`one_history`)."""
    if one_history:
        return diagnoses
    same = tuple(d for d in diagnoses if d.lineage == lineage or
                 (lineage.is_lymphoblastic and d.lineage.is_lymphoblastic) or d.lineage == Lineage.UNKNOWN)
    return same or diagnoses


def disease_status(
    diagnoses: tuple[Diagnosis, ...], statuses: list[tuple[str | None, Source]], lineage: Lineage = Lineage.UNKNOWN,
    switch: LineageSwitch | None = None,
) -> tuple[DiseaseStatus, tuple[Source, ...]]:
    """Refractory > relapsed > in remission > newly diagnosed, over the diagnoses of the current lineage:
    any such Condition saying relapse/refractory, or the LATEST mCODE status saying worsened, makes it relapsed.
    A lineage switch is a relapse unless the record says more (refractory, or back in remission)."""
    status, evidence = _disease_status(current_diagnoses(diagnoses, lineage), statuses)  # the earlier lineage's
    # "in remission" is history: the current lineage's diagnoses say where the disease is now
    if switch and status in (DiseaseStatus.NEWLY_DIAGNOSED, DiseaseStatus.UNKNOWN):
        return DiseaseStatus.RELAPSED, (switch.after.source,)
    return status, evidence


def _disease_status(
    diagnoses: tuple[Diagnosis, ...], statuses: list[tuple[str | None, Source]]
) -> tuple[DiseaseStatus, tuple[Source, ...]]:
    latest = max((s for s in statuses if s[0]), key=lambda s: s[1].date or date.min, default=None)
    refractory = [d.source for d in diagnoses if d.status == DiseaseStatus.REFRACTORY]
    if refractory:
        return DiseaseStatus.REFRACTORY, tuple(refractory)
    relapsed = [d.source for d in diagnoses if d.status == DiseaseStatus.RELAPSED]
    if latest and latest[0] == "relapsed":
        relapsed.append(latest[1])
    if relapsed:
        return DiseaseStatus.RELAPSED, tuple(relapsed)
    remission = [d.source for d in diagnoses if d.status == DiseaseStatus.IN_REMISSION]
    if latest and latest[0] == "in-remission":
        remission.append(latest[1])
    if remission:
        return DiseaseStatus.IN_REMISSION, tuple(remission)
    active = [d.source for d in diagnoses if d.status == DiseaseStatus.NEWLY_DIAGNOSED]
    if active:
        return DiseaseStatus.NEWLY_DIAGNOSED, tuple(active)
    return DiseaseStatus.UNKNOWN, ()
