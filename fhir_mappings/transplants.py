"""Haematopoietic stem cell transplants on record (a Procedure, or a Condition stating transplant status)
-> `Source`s. Gemtuzumab ozogamicin carries a higher VOD risk after (and before) a transplant.

Codes: ICD-10-CM Z94.81 (bone marrow transplant status) and Z94.84 (stem cells transplant status); SNOMED CT
234336002 (haemopoietic stem cell transplant, unverified). Words cover what EHRs write when the code is local
("allo-HSCT", "BMT", "stem cell transplant"); the work-up around a transplant (evaluation, harvest, donor
search) is not one.
"""

from __future__ import annotations

import re

from fhir_mappings.access import codings, concept_text, effective_date, parse_date, reference_of
from fhir_mappings.case import Source

CODES = {("icd10cm", "Z94.81"), ("icd10cm", "Z94.84"), ("snomed", "234336002")}  # SNOMED code unverified [U]
# Not a transplant: the work-up around one (the same exclusions as the SMART timeline's table).
NOT_A_TRANSPLANT = re.compile(r"\b(?:evaluation|assessment|work[- ]?up|consult\w*|planning|harvest\w*|collection|"
                              r"apheresis|mobili[sz]ation|donor search)\b", re.IGNORECASE)
WORDS = re.compile(r"\b(?:stem[- ]cell transplant\w*|(?:allo|auto)[- ]?(?:HSCT|HCT|SCT)|HSCT|HCT|BMT|"
                   r"(?:bone )?marrow transplant\w*|haema?topoietic (?:stem )?cell transplant\w*|"
                   r"hematopoietic (?:stem )?cell transplant\w*)\b", re.IGNORECASE)
DONE = {"completed", "in-progress"}
NOT_CONDITIONS = {"refuted", "entered-in-error"}


def _says_transplant(concept: object) -> bool:
    if any((system, code) in CODES for system, code, _ in codings(concept)):
        return True
    words = concept_text(concept)
    return bool(WORDS.search(words)) and not NOT_A_TRANSPLANT.search(words)


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
