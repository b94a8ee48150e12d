"""Haematopoietic stem cell transplants on record (a Procedure, or a Condition stating transplant status)
-> `Source`s. Gemtuzumab ozogamicin carries a higher VOD risk after (and before) a transplant; the SMART
timeline draws them.

Codes are in terminology/transplant_codes.csv; the words EHRs write when the code is local ("allo-HSCT",
"BMT", "stem cell transplant") and the work-up around a transplant that is not one (evaluation, harvest,
donor search) are the `transplant` and `transplant_workup` patterns of terminology/text_patterns.json.
"""

from __future__ import annotations

from functools import lru_cache

from fhir_mappings import terminology as term
from fhir_mappings.access import codings, concept_text, effective_date, parse_date, reference_of
from fhir_mappings.case import Source

DONE = {"completed", "in-progress"}
NOT_CONDITIONS = {"refuted", "entered-in-error"}


@lru_cache(maxsize=1)
def _codes() -> frozenset[tuple[str, str]]:
    return frozenset((r["system"], r["code"]) for r in term.rows("transplant_codes.csv"))


def _says_transplant(concept: object) -> bool:
    if any((system, code) in _codes() for system, code, _ in codings(concept)):
        return True
    words = concept_text(concept)
    return bool(term.pattern("transplant").search(words)) and not term.pattern("transplant_workup").search(words)


def mentions_transplant(resource: dict) -> bool:
    """Cheap check on raw JSON, before validation: a Procedure or Condition whose code says transplant."""
    return resource.get("resourceType") in ("Procedure", "Condition") and _says_transplant(resource.get("code"))


def transplant_of(resource: dict) -> Source | None:
    """The transplant a Procedure or Condition records, or None."""
    kind = resource.get("resourceType")
    if kind == "Procedure" and resource.get("status") in DONE and _says_transplant(resource.get("code")):
        when = parse_date(resource.get("performedDateTime")) or parse_date(
            (resource.get("performedPeriod") or {}).get("start") if isinstance(resource.get("performedPeriod"), dict) else None)
        return Source(reference_of(resource), when)
    if kind == "Condition" and _says_transplant(resource.get("code")):
        status = {code for _, code, _ in codings(resource.get("verificationStatus"))}
        if status & NOT_CONDITIONS:
            return None
        return Source(reference_of(resource), effective_date(resource) or parse_date(resource.get("onsetDateTime")))
    return None
