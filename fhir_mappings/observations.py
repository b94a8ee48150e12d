"""Lab and vital-sign Observations -> readings in canonical units, and the picks the rules need
(latest, at diagnosis, day 8, end of induction)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date

from fhir_mappings import documents, units
from fhir_mappings import terminology as term
from fhir_mappings.access import codings, concept_text, dicts, effective_date, get, notes, reference_of, text_of
from fhir_mappings.case import Measurement, MarkerResult, MrdMethod, MrdResult, MrdTimepoint, Problem, Source

# kind -> (unit kind, canonical unit)
_UNIT_OF = {
    "wbc": ("count", "10*9/L"), "blasts-blood-absolute": ("count", "10*9/L"),
    "blasts-blood-percent": ("fraction", "1"), "blasts-marrow-percent": ("fraction", "1"),
    "weight": ("weight", "kg"), "height": ("height", "cm"), "bsa": ("area", "m2"), "qtc": ("interval", "ms"),
    "potassium": ("electrolyte", "mmol/L"), "magnesium": ("magnesium", "mmol/L"),
}


@dataclass(frozen=True)
class Reading:
    kind: str
    measurement: Measurement
    words: str  # code text and notes, for time points ("day 8")
    resource: dict | None = None  # the raw Observation, validated only if this reading is picked


def loinc_rows(resource: dict) -> list[dict]:
    """The loinc.csv rows (every meaning) of the LOINC codes an Observation carries, in coding order."""
    meanings = term.loinc_meanings()
    return [row for s, c, _ in codings(resource.get("code")) if s == "loinc" and c in meanings for row in meanings[c]]


def kind_of(resource: dict) -> str | None:
    """What a lab/vital Observation measures, from LOINC, else from its words. Cheap: runs before validation."""
    rows = loinc_rows(resource)
    if rows:
        return rows[0]["kind"]
    words = concept_text(resource.get("code"))
    if not words:
        return None
    with_specimen = f"{words} {text_of(get(resource, 'specimen', 'display'))}"
    if term.pattern("other_specimen").search(with_specimen):
        return None  # not blood or marrow
    if term.pattern("mrd").search(words):
        return "mrd"
    if term.pattern("marker").search(words):
        return "marker"
    if term.pattern("blasts").search(words):
        if term.pattern("marrow").search(with_specimen):
            return "blasts-marrow-percent"
        return "blasts-blood"
    for regex, kind in term.pattern_list("lab_words", "kind"):
        if regex.search(words):
            return kind
    return None


def _source(resource: dict) -> Source:
    return Source(reference_of(resource), effective_date(resource))


def _qtc_method(resource: dict, words: str) -> str:
    for row in loinc_rows(resource):
        if row["detail"] in ("QTcF", "QTcB"):
            return row["detail"]
    if term.pattern("fridericia").search(words):
        return "QTcF"
    if term.pattern("bazett").search(words):
        return "QTcB"
    return "QTc"


def read(resource: dict, kind: str, problems: list[Problem]) -> list[Reading]:
    """Readings from one Observation (an ECG panel may hold QTc in a component)."""
    words = " ".join([concept_text(resource.get("code")), notes(resource)])
    source = _source(resource)
    if kind == "blasts-blood":
        q = resource.get("valueQuantity") if isinstance(resource.get("valueQuantity"), dict) else {}
        is_percent = units.factor("fraction", units.quantity_unit(q)) is not None
        kind = "blasts-blood-percent" if is_percent else "blasts-blood-absolute"
    if kind not in _UNIT_OF:
        return []
    unit_kind, canonical = _UNIT_OF[kind]
    quantities = [(resource.get("valueQuantity"), resource.get("code"))]
    if not isinstance(resource.get("valueQuantity"), dict):
        quantities = [(c.get("valueQuantity"), c.get("code")) for c in dicts(resource.get("component"))
                      if kind_of({"code": c.get("code")}) == kind]
    out = []
    for quantity, code in quantities:
        value, comparator = units.read_quantity(unit_kind, quantity)
        if value is None:
            if isinstance(quantity, dict):
                problems.append(Problem(f"{kind} value not readable (no number, or no known unit); not used",
                                        source.reference))
            continue
        low, high = term.param("plausible_ranges")[kind]
        if not low <= value <= high:
            problems.append(Problem(f"{kind} value outside the plausible range {low}-{high} {canonical}; not used",
                                    source.reference))
            continue
        method = _qtc_method({"code": code}, words) if kind == "qtc" else None
        method = "measured" if kind == "bsa" else method
        out.append(Reading(kind, Measurement(value, canonical, source, comparator, method), words, resource))
    return out


# --- picks -----------------------------------------------------------------------------------------

def _when(m: Measurement) -> date:
    return m.source.date or date.min


def latest(readings: list[Reading], kind: str) -> Measurement | None:
    ms = [r.measurement for r in readings if r.kind == kind]
    return max(ms, key=_when) if ms else None


def at_diagnosis(readings: list[Reading], kind: str, diagnosis: date | None) -> Measurement | None:
    """The first value within the at-diagnosis window around the diagnosis date (params.json says why)."""
    if diagnosis is None:
        return None
    first_day, last_day = term.param("wbc_at_diagnosis_window_days")
    ms = [r.measurement for r in readings if r.kind == kind and r.measurement.source.date
          and first_day <= (r.measurement.source.date - diagnosis).days <= last_day]
    return min(ms, key=_when) if ms else None


def qtc(readings: list[Reading]) -> Measurement | None:
    """The most recent ECG; on that date QTcF is preferred over an unspecified QTc, then Bazett."""
    ms = [r.measurement for r in readings if r.kind == "qtc"]
    if not ms:
        return None
    rank = {"QTcF": 2, "QTc": 1, "QTcB": 0}
    return max(ms, key=lambda m: (_when(m), rank.get(m.method or "", 0)))


def day8_blasts(readings: list[Reading], diagnosis: date | None) -> Measurement | None:
    """Absolute blood blasts on day 8 of prednisone (day 1 = diagnosis date unless the result says "day 8"),
    else blasts % x WBC from the same day (method "derived")."""
    low, high = term.param("day8_window_days")

    def on_day8(r: Reading) -> bool:
        if term.pattern("day8").search(r.words):
            return True
        d = r.measurement.source.date
        return bool(diagnosis and d and low <= (d - diagnosis).days <= high)

    absolute = [r.measurement for r in readings if r.kind == "blasts-blood-absolute" and on_day8(r)]
    if absolute:
        return min(absolute, key=_when)
    for pct in sorted((r for r in readings if r.kind == "blasts-blood-percent" and on_day8(r)),
                      key=lambda r: _when(r.measurement)):
        wbc = [r.measurement for r in readings if r.kind == "wbc" and r.measurement.source.date == pct.measurement.source.date]
        if wbc and pct.measurement.source.date:
            return Measurement(pct.measurement.value * wbc[0].value, "10*9/L", pct.measurement.source,
                               method="derived", derived_from=(pct.measurement.source, wbc[0].source))
    return None


def bsa(readings: list[Reading], weight: Measurement | None, height: Measurement | None) -> Measurement | None:
    """Measured BSA unless a newer weight exists; else Mosteller sqrt(height cm x weight kg / 3600)."""
    measured = latest(readings, "bsa")
    if measured and (weight is None or height is None or _when(measured) >= _when(weight)):
        return measured
    if weight is None or height is None or weight.value <= 0 or height.value <= 0:
        return measured
    value = math.sqrt(weight.value * height.value / 3600.0)
    return Measurement(round(value, 3), "m2", weight.source, method="mosteller", derived_from=(weight.source, height.source))


# --- MRD ---------------------------------------------------------------------------------------------

_NUMBER_UNIT = re.compile(
    r"(<=|>=|<|>|≤|≥)?\s*(\d+(?:[.,]\d+)?(?:[eE][-+]?\d+)?)\s*(?:(%)|(?:x|\*|×)\s*10\s*(?:\^|\*\*|E)?\s*(-\s*\d+))?")


def _fraction_from_text(text: str) -> tuple[float | None, str | None]:
    """The first number with a unit ("Day 29: 0.02 %" -> 2e-4: the day is not the result), skipping the assay's
    sensitivity or limit ("sensitivity 0.001 %") and the share of cells analysed."""
    text = text or ""
    matches = [m for m in _NUMBER_UNIT.finditer(text) if not _NOT_A_LEVEL.search(text[max(0, m.start() - 30):m.start()])]
    m = next((m for m in matches if m.group(3) or m.group(4)), None)
    if m is None:  # bare numbers: percent or fraction? do not guess -- except "1.2E-03", which is never a percent
        m = next((m for m in matches if re.search(r"[eE]-\d", m.group(2))), None)
        if m is None:
            return None, None
        return float(m.group(2)), {"≤": "<=", "≥": ">="}.get(m.group(1), m.group(1))
    comparator = {"≤": "<=", "≥": ">="}.get(m.group(1), m.group(1))
    number = float(m.group(2).replace(",", "."))
    if m.group(3):
        return number / 100.0, comparator
    return number * 10 ** int(m.group(4).replace(" ", "")), comparator


def _coded_positive(resource: dict) -> bool | None:
    for concept in [resource.get("valueCodeableConcept"), *dicts(resource.get("interpretation"))]:
        for system, code, _ in codings(concept):
            meaning = term.coded_values().get((system, code.upper()))
            if meaning == "present":
                return True
            if meaning == "absent":
                return False
        words = concept_text(concept)
        if words:
            if term.pattern("result_negative").search(words):
                return False
            if term.pattern("result_positive").search(words):
                return True
    return None


def _written_positive(text: str) -> bool | None:
    if term.pattern("result_negative").search(text):
        return False
    if term.pattern("result_positive").search(text):
        return True
    return None


def _mrd_timepoint(words: str, when: date | None, diagnosis: date | None) -> MrdTimepoint:
    for regex, timepoint in term.pattern_list("mrd_timepoint", "timepoint"):
        if regex.search(words):
            return MrdTimepoint(timepoint)
    if when and diagnosis:
        low, high = term.param("eoi_window_days")
        return MrdTimepoint.END_OF_INDUCTION if low <= (when - diagnosis).days <= high else MrdTimepoint.OTHER
    return MrdTimepoint.UNKNOWN


def _mrd_method(resource: dict, words: str) -> MrdMethod:
    for row in loinc_rows(resource):
        if row["kind"] == "mrd" and row["detail"]:
            return MrdMethod(row["detail"])
    for regex, method in term.pattern_list("mrd_method", "method"):
        if regex.search(words):
            return MrdMethod(method)
    return MrdMethod.UNKNOWN


def _sensitivity(resource: dict, words: str) -> float | None:
    m = re.search(r"sensitivity[^0-9<]*(\d+(?:\.\d+)?\s*%|(?:1\s*(?:x|in)\s*)?10\s*\^?\s*-\s*\d+|1\s*in\s*[\d,]+)", words, re.I)
    if not m:
        return None
    text = m.group(1).replace(" ", "")
    if text.endswith("%"):
        return float(text[:-1]) / 100.0
    if "in" in text and "10" not in text:
        return 1.0 / float(text.split("in")[1].replace(",", ""))
    exponent = re.search(r"-(\d+)", text)
    return 10.0 ** -int(exponent.group(1)) if exponent else None


_NOT_A_LEVEL = re.compile(r"sensitiv|limit|\bLO[DQ]\b|events|cells (analy[sz]ed|acquired|counted)|input",
                          re.IGNORECASE)  # components of an MRD panel that are not the MRD level


def _mrd_value(resource: dict) -> tuple[float | None, str | None]:
    """The MRD level as a fraction: a Quantity in a fraction unit; a fusion-transcript/control ratio (its LOINC
    property is a ratio, so a unitless number is one); written out ("0.02 %", "1.2 x 10^-3"); or in a component."""
    ratio_code = any(r["kind"] == "kmt2a-fusion-transcript" for r in loinc_rows(resource))
    levels = [c for c in dicts(resource.get("component")) if not _NOT_A_LEVEL.search(concept_text(c.get("code")))]
    for holder in [resource, *levels]:
        q = holder.get("valueQuantity")
        value, comparator = units.read_quantity("fraction", q)
        if value is None and ratio_code and isinstance(q, dict) and units.quantity_unit(q) is None:
            value = units.number(q.get("value"))
        if value is None and isinstance(holder.get("valueString"), str):
            value, comparator = _fraction_from_text(holder["valueString"])
        if value is not None:
            return value, comparator
    return None, None


def mrd(resource: dict, diagnosis: date | None) -> MrdResult:
    """An MRD result as the lab reported it: `positive` is the lab's own interpretation (coded or written) only.
    Whether a value is positive is decided once, by the rules, against the knowledge threshold
    (cds_service.stratification.facts.mrd_positive)."""
    if resource.get("resourceType") == "DiagnosticReport":  # an MRD report: its conclusion or attached text
        resource = {**resource, "valueString": documents.report_text(resource).text}
    words = " ".join([concept_text(resource.get("code")), notes(resource), concept_text(resource.get("method")),
                      " ".join(concept_text(i) for i in dicts(resource.get("interpretation"))),
                      text_of(get(resource, "specimen", "display"))])
    source = _source(resource)
    value, comparator = _mrd_value(resource)
    sensitivity = _sensitivity(resource, words + " " + text_of(resource.get("valueString")))
    method = _mrd_method(resource, words)
    positive = _coded_positive(resource)
    if positive is None and value is None and isinstance(resource.get("valueString"), str):
        positive = _written_positive(resource["valueString"])  # "POSITIVE, not quantifiable", "not detected"
    return MrdResult(
        source=source, value=value, comparator=comparator, positive=positive,
        timepoint=_mrd_timepoint(words, source.date, diagnosis), method=method, sensitivity=sensitivity,
    )


def end_of_induction(results: list[MrdResult]) -> MrdResult | None:
    eoi = [r for r in results if r.timepoint == MrdTimepoint.END_OF_INDUCTION]
    return max(eoi, key=lambda r: r.source.date or date.min) if eoi else None


# --- immunophenotype markers ----------------------------------------------------------------------

def markers(resource: dict) -> list[MarkerResult]:
    source = _source(resource)
    found = []
    names = {f"CD{m.group(1)}" for m in term.pattern("marker").finditer(concept_text(resource.get("code")))}
    for row in loinc_rows(resource):
        if row["kind"] == "marker":
            names.add(row["detail"])
    for name in sorted(names):
        fraction, _ = units.read_quantity("fraction", resource.get("valueQuantity"))
        found.append(MarkerResult(name, source, _coded_positive(resource), fraction))
    return found
