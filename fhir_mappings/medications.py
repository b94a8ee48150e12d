"""MedicationRequest/Statement/Administration -> `MedicationUse` by ingredient, with drug classes.

The medication is a CodeableConcept or a reference (contained, same Bundle, or unresolvable). RxNorm codes,
products included, are normalised to ingredients through terminology/ingredients.csv and rxnorm_products.csv;
without a known code the words (generic or brand name) are matched against the same table.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from fhir_mappings import terminology as term
from fhir_mappings.access import codings, concept_text, dicts, get, parse_date, reference_of
from fhir_mappings.case import MedicationUse, Source
from fhir_mappings.resources import Pool

KINDS = {"MedicationRequest": "request", "MedicationStatement": "statement", "MedicationAdministration": "administration"}
ACTIVE_REQUEST = {"active", "on-hold"}
ACTIVE_STATEMENT = {"active", "intended", "on-hold"}


def medication_of(resource: dict, pool: Pool | None) -> tuple[dict | None, dict | None]:
    """(medication CodeableConcept, resolved Medication resource) of an order/statement/administration."""
    concept = resource.get("medicationCodeableConcept")
    if isinstance(concept, dict):
        return concept, None
    ref = resource.get("medicationReference")
    medication = pool.resolve(ref, resource) if pool is not None and ref else None
    if medication is None and isinstance(ref, dict) and isinstance(ref.get("display"), str):
        return {"text": ref["display"]}, None
    if isinstance(medication, dict):
        return (medication.get("code") if isinstance(medication.get("code"), dict) else None), medication
    return None, None


def _ingredient_concepts(medication: dict | None, pool: Pool | None) -> list[dict]:
    out = []
    for item in dicts((medication or {}).get("ingredient")):
        if isinstance(item.get("itemCodeableConcept"), dict):
            out.append(item["itemCodeableConcept"])
        elif pool is not None and item.get("itemReference"):
            inner = pool.resolve(item["itemReference"], medication)
            if isinstance(inner, dict) and isinstance(inner.get("code"), dict):
                out.append(inner["code"])
    return out


def ingredients(concept: dict | None, medication: dict | None = None, pool: Pool | None = None) -> tuple[str, ...]:
    """Ingredient names (lower case) for a medication; RxNorm first, then words."""
    concepts = [c for c in [concept, *_ingredient_concepts(medication, pool)] if isinstance(c, dict)]
    found: list[str] = []
    table = term.rxnorm_to_ingredients()
    for c in concepts:
        for system, code, _ in codings(c):
            if system == "rxnorm" and code in table:
                found.extend(i for i in table[code] if i not in found)
    if found:
        return tuple(found)
    for c in concepts:
        found.extend(i for i in ingredients_named(concept_text(c)) if i not in found)
    return tuple(found)


@lru_cache(maxsize=4096)  # drug names repeat across orders and patients; the name pattern is one long alternation
def ingredients_named(words: str) -> tuple[str, ...]:
    """The ingredients whose generic or brand names `words` mention, in order of mention."""
    found: list[str] = []
    for m in term.ingredient_name_pattern().finditer(words):
        name = term.ingredient_for_name(m.group(0))
        if name and name not in found:
            found.append(name)
    return tuple(found)


def ingredient_rxcui(ingredient: str) -> str | None:
    row = term.ingredients().get(ingredient)
    return (row["rxcui"] or None) if row else None


def _period(resource: dict) -> tuple[date | None, date | None]:
    kind = resource.get("resourceType")
    if kind == "MedicationRequest":
        bounds = [get(d, "timing", "repeat", "boundsPeriod") for d in dicts(resource.get("dosageInstruction"))]
        bounds = [b for b in bounds if isinstance(b, dict)]
        validity = get(resource, "dispenseRequest", "validityPeriod") or {}
        start = (parse_date(bounds[0].get("start")) if bounds else None) or parse_date(
            validity.get("start") if isinstance(validity, dict) else None) or parse_date(resource.get("authoredOn"))
        end = (parse_date(bounds[0].get("end")) if bounds else None) or parse_date(
            validity.get("end") if isinstance(validity, dict) else None)
        return start, end
    period = resource.get("effectivePeriod") if isinstance(resource.get("effectivePeriod"), dict) else {}
    single = parse_date(resource.get("effectiveDateTime"))
    start = parse_date(period.get("start")) or single or parse_date(resource.get("dateAsserted"))
    end = parse_date(period.get("end")) or (single if kind == "MedicationAdministration" else None)
    return start, end


def _active(resource: dict, start: date | None, end: date | None, today: date) -> bool:
    status = resource.get("status")
    kind = resource.get("resourceType")
    within = (start is None or start <= today) and (end is None or end >= today)
    if kind == "MedicationRequest":
        return status in ACTIVE_REQUEST and within
    if kind == "MedicationStatement":
        return status in ACTIVE_STATEMENT and within
    if status == "in-progress":
        return within
    return status == "completed" and start is not None and end is not None and start <= today <= end


def is_draft(resource: dict) -> bool:
    return resource.get("resourceType") == "MedicationRequest" and resource.get("status") == "draft"


def relevant(resource: dict, pool: Pool) -> bool:
    """Cheap pre-filter on raw JSON: a medication whose ingredient belongs to a class the rules use
    (antiemetics and antibiotics without such a class are not validated or mapped)."""
    if resource.get("resourceType") not in KINDS or is_draft(resource):
        return False
    concept, medication = medication_of(resource, pool)
    return any(term.classes_of(i) for i in ingredients(concept, medication, pool))


def map_medication(resource: dict, pool: Pool, today: date) -> list[MedicationUse]:
    concept, medication = medication_of(resource, pool)
    start, end = _period(resource)
    active = _active(resource, start, end, today)
    source = Source(reference_of(resource), start)
    return [
        MedicationUse(ingredient=i, source=source, classes=term.classes_of(i), rxnorm=ingredient_rxcui(i),
                      active=active, start=start, end=end, kind=KINDS[resource["resourceType"]])
        for i in ingredients(concept, medication, pool)
    ]


def therapy_related(uses: tuple[MedicationUse, ...], diagnosis: date | None) -> tuple[Source, ...]:
    """Topoisomerase II inhibitor exposures that began well before the leukemia diagnosis (not its own induction,
    even when the diagnosis was charted a few days after induction began; params.json says how long)."""
    if diagnosis is None:
        return ()
    latest_start = diagnosis - timedelta(days=term.param("prior_exposure_min_days_before_diagnosis"))
    return tuple(u.source for u in uses
                 if "topoisomerase-ii-inhibitor" in u.classes and u.start is not None and u.start <= latest_start)
