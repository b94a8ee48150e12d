"""Safe readers for raw FHIR JSON: never raise, tolerate single objects where arrays belong."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Iterator

from fhir_mappings.terminology import system_key


def as_list(value: Any) -> list:
    """A FHIR array as a list; a single object (a sandbox quirk) becomes a one-item list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def dicts(value: Any) -> list[dict]:
    # The hottest reader (every concept, coding and entry goes through it): the common shapes first.
    if type(value) is list:
        return [v for v in value if isinstance(v, dict)]
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def codings(concept: Any) -> list[tuple[str, str, str]]:
    """(system key, code, display) for each coding of a CodeableConcept (or a bare Coding)."""
    out = []
    for c in dicts(concept):
        for coding in dicts(c.get("coding")) if "coding" in c else [c]:
            code = coding.get("code")
            if type(code) is not str:
                if not isinstance(code, (str, int)):
                    continue
                code = str(code)
            code = code.strip()
            if code:
                out.append((system_key(coding.get("system")), code, text_of(coding.get("display"))))
    return out


def concept_text(concept: Any) -> str:
    """Everything human-readable in a CodeableConcept: text and displays."""
    parts = []
    for c in dicts(concept):
        parts.append(text_of(c.get("text")))
        for coding in dicts(c.get("coding")):
            parts.append(text_of(coding.get("display")))
        if "coding" not in c:
            parts.append(text_of(c.get("display")))
    return " ".join(p for p in parts if p)


def concept_label(concept: Any) -> str:
    """One label for a CodeableConcept: its text, else its first display."""
    if isinstance(concept, dict) and isinstance(concept.get("text"), str) and concept["text"].strip():
        return concept["text"].strip()
    return next((d for _, _, d in codings(concept) if d), "")


_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
# Systems write 0001-01-01 and 9999-12-31 as "unknown" and "no end". Read as dates, they overflow date
# arithmetic (a diagnosis minus 30 days, a birth plus 6 months) and mean nothing clinically: outside these
# years a date is taken as not given, so every later computation stays within the calendar.
PLAUSIBLE_YEARS = range(1850, 2200)


def parse_date(value: Any) -> date | None:
    """The calendar date of a FHIR date/dateTime/instant; partial dates ("2025", "2025-03") and placeholder
    years (0001, 9999) give None."""
    if not isinstance(value, str):
        return None
    m = _DATE.match(value.strip())
    if not m or int(m.group(1)) not in PLAUSIBLE_YEARS:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def effective_date(resource: dict) -> date | None:
    """The clinically relevant date of an Observation/Procedure/MedicationStatement."""
    for key in ("effectiveDateTime", "effectiveInstant", "occurrenceDateTime", "performedDateTime"):
        d = parse_date(resource.get(key))
        if d:
            return d
    for key in ("effectivePeriod", "performedPeriod", "occurrencePeriod"):
        d = parse_date(get(resource, key, "start")) or parse_date(get(resource, key, "end"))
        if d:
            return d
    return parse_date(resource.get("issued"))


def reference_of(resource: dict) -> str:
    rtype = resource.get("resourceType")
    rid = resource.get("id")
    if isinstance(rtype, str) and isinstance(rid, str) and rid:
        return f"{rtype}/{rid}"
    return f"{rtype if isinstance(rtype, str) else 'Resource'}/(no id)"


def relative_reference(reference: str) -> str:
    """"Type/id" of a literal reference written relative, absolute ("https://ehr/fhir/Observation/x") or versioned
    ("Observation/x/_history/2"); a bare id comes back as it is."""
    return "/".join([p for p in reference.split("/_history/")[0].split("/") if p][-2:])


def notes(resource: dict) -> str:
    return " ".join(text_of(n.get("text")) for n in dicts(resource.get("note")))


def walk_strings(value: Any, depth: int = 0) -> Iterator[str]:
    if depth > 8:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from walk_strings(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            yield from walk_strings(v, depth + 1)
