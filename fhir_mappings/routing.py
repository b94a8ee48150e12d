"""Which mapper an Observation or DiagnosticReport goes to, decided cheaply on raw JSON before any validation.

A known LOINC code decides at once; otherwise a quick look at the words of `code` (a token set, no large
regex) discards the everyday labs (haemoglobin, creatinine...) before the detailed text checks run.
"""

from __future__ import annotations

import re
from functools import lru_cache

from fhir_mappings import genomics, observations
from fhir_mappings import terminology as term
from fhir_mappings.access import concept_text

GENETIC_KINDS = {"genomic-variant", "karyotype", "fish-panel"}
_TOKENS = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
# Word stems that make an unknown-code Observation worth a closer look (house convention).
_STEMS = ("karyotyp", "cytogenet", "chromosom", "blast", "residual", "leuk", "fusion", "rearrang", "transloc",
          "in situ", "break", "fridericia", "bazett", "qtc", "weight", "height", "surface area", "potassium",
          "magnesium", "wbc", "white blood", "mrd", "fish", "flow", "immunophenotyp", "amplif", "tandem")


@lru_cache(maxsize=None)
def _trigger_tokens() -> frozenset[str]:
    aliases = {r["alias"].upper() for r in term.rows("genes.csv")}
    return frozenset(aliases | {"ISCN", "PTD", "CD15", "CD65", "CD19", "CD33", "CD14", "QTC", "QTCF", "QTCB", "BSA",
                                "WBC", "MRD", "FISH", "K", "MG"})


def _worth_a_look(words: str) -> bool:
    low = words.lower()
    if any(stem in low for stem in _STEMS):
        return True
    return not _trigger_tokens().isdisjoint(t.upper() for t in _TOKENS.findall(words))


def route(resource: dict) -> tuple[str | None, str | None]:
    """("disease-status" | "genetic" | "lab", lab kind) or (None, None) when no mapper needs the resource."""
    if resource.get("resourceType") == "DiagnosticReport":
        return ("genetic", None) if genomics.is_genetic(resource) else (None, None)
    if resource.get("resourceType") != "Observation":
        return None, None
    rows = observations.loinc_rows(resource)
    if rows:
        kind = rows[0]["kind"]
        if kind == "disease-status":
            return "disease-status", None
        if kind in GENETIC_KINDS:
            return "genetic", None
        return "lab", kind
    words = concept_text(resource.get("code"))
    if not words or not _worth_a_look(words):
        return None, None
    if genomics.is_genetic(resource):
        return "genetic", None
    kind = observations.kind_of(resource)
    return ("lab", kind) if kind else (None, None)
