"""Which mapper an Observation or DiagnosticReport goes to, decided cheaply on raw JSON before any validation.

A known LOINC code decides at once (all its meanings); otherwise a quick look at the words of `code` (a token set,
no large regex) discards the everyday labs (haemoglobin, creatinine...) before the detailed text checks run, and a
result whose name says nothing is routed by its value.
"""

from __future__ import annotations

import re
from functools import lru_cache

from fhir_mappings import documents, genomics, observations
from fhir_mappings import terminology as term
from fhir_mappings.access import concept_label, concept_text, dicts, notes, text_of
from fhir_mappings.resources import Pool

GENETIC_KINDS = {"genomic-variant", "karyotype", "fish-panel"}
Route = tuple[str, "str | None"]
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


@lru_cache(maxsize=4096)  # the same lab names come back on every day of the record
def _worth_a_look(words: str) -> bool:
    low = words.lower()
    if any(stem in low for stem in _STEMS):
        return True
    tokens = set(_TOKENS.findall(words)) | set(re.findall(r"[A-Za-z0-9]+", words))  # "MLL-AF4" and "MLL", "AF4"
    return not _trigger_tokens().isdisjoint(t.upper() for t in tokens)


def _says_nothing(observation: dict) -> bool:
    """No LOINC meaning and a name that is no clue ("Result", "Interpretation", "Comment", none)."""
    if observations.loinc_rows(observation):
        return False
    own = concept_text(observation.get("code"))
    return not own or not _worth_a_look(own)


def _named(observation: dict, words: str) -> dict:
    code = observation.get("code") if isinstance(observation.get("code"), dict) else {}
    own = concept_label(code)
    return {**observation, "code": {**code, "text": f"{words}: {own}" if own else words}}


def with_parent_words(pool: Pool) -> None:
    """A result reached by reference whose own name says nothing is read with the name of what points to it: the
    report or panel that lists it (DiagnosticReport.result, Observation.hasMember: "KMT2A FISH" + "Result:
    rearranged"), or the result it was derived from (Observation.derivedFrom)."""
    for parent in pool.of_type("DiagnosticReport", "Observation"):
        if "result" not in parent and "hasMember" not in parent and "derivedFrom" not in parent:
            continue  # most results point to nothing
        members = dicts(parent.get("result")) + dicts(parent.get("hasMember"))
        sources = dicts(parent.get("derivedFrom")) if parent.get("resourceType") == "Observation" else []
        if not members and not sources:
            continue
        words = concept_text(parent.get("code"))
        for ref in members:
            child = pool.resolve(ref, parent)
            if words and isinstance(child, dict) and child is not parent and child.get(
                    "resourceType") == "Observation" and _says_nothing(child):
                pool.replace(child, _named(child, words))
        if sources and _says_nothing(parent):
            origin = [pool.resolve(ref, parent) for ref in sources]
            origin_words = " ".join(concept_text(o.get("code")) for o in origin if isinstance(o, dict))
            if origin_words.strip():
                pool.replace(parent, _named(parent, origin_words))


def _value_words(resource: dict) -> str:
    """The words of an Observation's result: valueString, the value concept, components and notes."""
    if not any(k in resource for k in ("valueString", "valueCodeableConcept", "note", "component")):
        return ""  # a number: nothing to route by
    parts = [text_of(resource.get("valueString")), concept_text(resource.get("valueCodeableConcept")), notes(resource)]
    for component in dicts(resource.get("component")):  # "KMT2A-MLLT3 (MLL-AF9)": "Detected"
        parts += [concept_text(component.get("code")), text_of(component.get("valueString")),
                  concept_text(component.get("valueCodeableConcept"))]
    return " ".join(p for p in parts if p)


def _by_loinc(rows: list[dict]) -> list[Route]:
    routes: list[Route] = []
    for row in rows:
        kind = row["kind"]
        if kind == "disease-status":
            route_ = ("disease-status", None)
        elif kind in GENETIC_KINDS:
            route_ = ("genetic", None)
        elif kind == "kmt2a-fusion-transcript":
            route_ = ("fusion-transcript", row["detail"])
        else:
            route_ = ("lab", kind)
        if route_ not in routes:
            routes.append(route_)
    return routes


def _report(resource: dict, resolve: documents.Resolve | None) -> list[Route]:
    if term.pattern("mrd").search(concept_text(resource.get("code"))):
        report = documents.report_text(resource, resolve)
        if not report.text and report.unreadable:
            return [("unreadable", None)]  # a scanned MRD report: named, never read as "no MRD"
        return [("lab", "mrd")]  # an MRD report (even one named after the KMT2A breakpoint) is an MRD result
    if genomics.is_genetic(resource, resolve):
        return [("genetic", None)]
    if resource.get("presentedForm") and documents.worth_reading(resource):
        if documents.report_text(resource, resolve).unreadable:
            return [("unreadable", None)]
    return []


def route(resource: dict, resolve: documents.Resolve | None = None) -> tuple[str | None, str | None]:
    """The first mapper that needs the resource, as in `routes`, or (None, None)."""
    found = routes(resource, resolve)
    return found[0] if found else (None, None)


def routes(resource: dict, resolve: documents.Resolve | None = None) -> list[Route]:
    """Every mapper that needs the resource, as (family, detail) pairs: ("disease-status", None), ("genetic", None),
    ("lab", lab kind), ("fusion-transcript", partner), ("unreadable", None); empty when none does.

    A code may carry several meanings (loinc.csv: the t(4;11) fusion-transcript ratio is both an MRD measurement and
    evidence of KMT2A::AFF1). A local code is routed by its words, MRD first (an MRD assay named after the KMT2A
    breakpoint is an MRD result, not a KMT2A status), then by its value ("Leukemia fusion panel: KMT2A::MLLT3")."""
    if resource.get("resourceType") == "DiagnosticReport":
        return _report(resource, resolve)
    if resource.get("resourceType") != "Observation":
        return []
    rows = observations.loinc_rows(resource)
    if rows:
        return _by_loinc(rows)
    words = concept_text(resource.get("code"))
    if words and _worth_a_look(words):
        if term.pattern("mrd").search(words):
            return [("lab", "mrd")]
        if genomics.is_genetic(resource):
            return [("genetic", None)]
        kind = observations.kind_of(resource)
        if kind:
            return [("lab", kind)]
    return [("genetic", None)] if genomics.names_genetics(_value_words(resource)) else []
