"""The terminology and partner tables in `terminology/`, read once.

Every row carries `source` (a key of clinical-knowledge.md section 6, or "none" for a house convention) and `tag`
(V/P/U/SRC). The code asks questions ("which gene is 'AF4'?"); the answers live in the data files.
"""

from __future__ import annotations

import csv
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Pattern

_PACKAGE = "fhir_mappings"


def _text(name: str) -> str:
    return resources.files(_PACKAGE).joinpath("terminology", name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def rows(name: str) -> tuple[dict, ...]:
    """All rows of a CSV table, as dicts."""
    return tuple(csv.DictReader(_text(name).splitlines()))


@lru_cache(maxsize=None)
def document(name: str) -> dict:
    return json.loads(_text(name))


def param(name: str):
    return document("params.json")[name]["value"]


# --- genes -----------------------------------------------------------------------------------------

def _gene_key(name: str) -> str:
    return re.sub(r"[\s_]", "", name).upper()


@lru_cache(maxsize=None)
def _genes() -> tuple[dict[str, str], dict[str, str]]:
    by_alias, by_id = {}, {}
    for row in rows("genes.csv"):
        by_alias[_gene_key(row["alias"])] = row["symbol"]
        if row["hgnc_id"]:
            by_id[row["hgnc_id"].upper()] = row["symbol"]
    return by_alias, by_id


def gene_symbol(name: str | None) -> str | None:
    """Current HGNC symbol for a symbol, an old alias or an HGNC id; exact match only (never by prefix:
    "MLL2" is KMT2D, not KMT2A). Unknown names are returned upper-cased as written when they look like a
    gene symbol, else None."""
    if not name or not isinstance(name, str):
        return None
    by_alias, by_id = _genes()
    key = _gene_key(name)
    if key.startswith("HGNC:"):
        return by_id.get(key)
    if key in by_alias:
        return by_alias[key]
    return key if re.fullmatch(r"[A-Z][A-Z0-9-]{1,14}", key) else None


def known_gene(name: str | None) -> str | None:
    """Like gene_symbol, but only names in our table (for free text, where any word could look like a symbol)."""
    if not name or not isinstance(name, str):
        return None
    by_alias, by_id = _genes()
    key = _gene_key(name)
    return by_id.get(key) if key.startswith("HGNC:") else by_alias.get(key)


@lru_cache(maxsize=None)
def gene_alias_pattern() -> Pattern[str]:
    """A regex matching any gene name or alias of the table as a whole token (longest first)."""
    names = sorted({r["alias"] for r in rows("genes.csv")}, key=len, reverse=True)
    body = "|".join(re.escape(n) for n in names)
    return re.compile(rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])", re.IGNORECASE)


# --- ISCN partners ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _iscn() -> dict[tuple[str, str], dict]:
    return {(r["partner_chromosome"].upper(), r["partner_band"].lower()): r for r in rows("iscn_partners.csv")}


def iscn_partner(chromosome: str, band: str) -> dict | None:
    """The partner-table row for a breakpoint, trying the band as written, then shorter (q21.3 -> q21)."""
    table = _iscn()
    band = band.lower().strip()
    while band:
        row = table.get((chromosome.upper(), band))
        if row:
            return row
        if "." not in band:
            return None
        band = band[:-1].rstrip(".")
    return None


@lru_cache(maxsize=None)
def kmt2a_partner_genes() -> frozenset[str]:
    """The genes the ISCN partner table names as KMT2A fusion partners (a dual-fusion FISH probe's other gene)."""
    return frozenset(g for r in rows("iscn_partners.csv") if r["kmt2a_status"] == "rearranged"
                     for g in (r["partner"], *r["candidates"].split(";")) if g)


# --- LOINC, SO, coded values -----------------------------------------------------------------------

@lru_cache(maxsize=None)
def loinc_meanings() -> dict[str, tuple[dict, ...]]:
    """Every meaning of each LOINC code: one result may feed several readers (72313-0 is an MRD measurement and
    evidence of KMT2A::AFF1)."""
    out: dict[str, tuple[dict, ...]] = {}
    for r in rows("loinc.csv"):
        out[r["code"]] = out.get(r["code"], ()) + (r,)
    return out


@lru_cache(maxsize=None)
def genomic_components() -> dict[str, str]:
    return {r["code"]: r["component"] for r in rows("genomics_components.csv")}


@lru_cache(maxsize=None)
def sequence_ontology() -> dict[str, str]:
    return {r["code"].upper(): r["change"] for r in rows("sequence_ontology.csv")}


@lru_cache(maxsize=None)
def _system_aliases() -> dict[str, str]:
    return {r["uri"]: r["key"] for r in rows("code_systems.csv")}


def system_uri(key: str) -> str:
    """The canonical URI of a code system key ("rxnorm"): the first row for it in code_systems.csv."""
    return next(r["uri"] for r in rows("code_systems.csv") if r["key"] == key)


def system_key(system: str | None) -> str:
    """A short key for a code system URI, tolerant of the drift labs send (trailing slashes, /geneId, OIDs)."""
    if not system or not isinstance(system, str):
        return ""
    aliases = _system_aliases()
    if system in aliases:
        return aliases[system]
    return _drifted_system_key(system)


@lru_cache(maxsize=1024)  # a record's local systems are few and come back on every result: look each up once
def _drifted_system_key(system: str) -> str:
    s = system.strip()
    aliases = _system_aliases()
    if s in aliases:
        return aliases[s]
    low = s.lower().rstrip("/")
    for uri, key in aliases.items():
        if low == uri.lower().rstrip("/"):
            return key
    if "icd-o" in low or "2.16.840.1.113883.6.43" in low:
        return "icdo3"
    if "icd-10" in low or "icd10" in low:
        return "icd10cm"
    if "genenames" in low:
        return "hgnc"
    if "sequenceontology" in low:
        return "so"
    if "rxnorm" in low:
        return "rxnorm"
    if "loinc" in low:
        return "loinc"
    if "snomed" in low:
        return "snomed"
    return low


@lru_cache(maxsize=None)
def lab_methods() -> dict[tuple[str, str], str]:
    """Observation.method codes -> "fish" / "karyotype" / "molecular"."""
    return {(r["system"], r["code"].upper()): r["method"] for r in rows("lab_methods.csv")}


@lru_cache(maxsize=None)
def coded_values() -> dict[tuple[str, str], str]:
    return {(r["system"], r["code"].upper()): r["meaning"] for r in rows("coded_values.csv")}


@lru_cache(maxsize=None)
def disease_status_codes() -> dict[tuple[str, str], str]:
    return {(r["system"], r["code"]): r["status"] for r in rows("disease_status.csv")}


@lru_cache(maxsize=None)
def diagnosis_codes() -> tuple[dict, ...]:
    return rows("diagnoses.csv")


# --- text patterns ---------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def pattern(name: str) -> Pattern[str]:
    return re.compile(document("text_patterns.json")[name]["pattern"], re.IGNORECASE)


@lru_cache(maxsize=None)
def section_pattern(name: str) -> Pattern[str]:
    """One of the report-section patterns (text_patterns.json "report_sections"); headings match per line."""
    return re.compile(document("text_patterns.json")["report_sections"][name], re.IGNORECASE | re.MULTILINE)


@lru_cache(maxsize=None)
def pattern_list(name: str, label: str) -> tuple[tuple[Pattern[str], str], ...]:
    return tuple((re.compile(r["pattern"], re.IGNORECASE), r[label]) for r in document("text_patterns.json")[name])


# --- medications -----------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def ingredients() -> dict[str, dict]:
    return {r["ingredient"]: r for r in rows("ingredients.csv")}


@lru_cache(maxsize=None)
def rxnorm_to_ingredients() -> dict[str, tuple[str, ...]]:
    table = {r["rxcui"]: (r["ingredient"],) for r in rows("ingredients.csv") if r["rxcui"]}
    for r in rows("rxnorm_products.csv"):
        table[r["rxcui"]] = tuple(i for i in r["ingredients"].split(";") if i)
    return table


@lru_cache(maxsize=None)
def ingredient_name_pattern() -> Pattern[str]:
    names = {n.strip(): r["ingredient"] for r in rows("ingredients.csv") for n in r["names"].split(";") if n.strip()}
    body = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9])(?:{body})(?![A-Za-z0-9])", re.IGNORECASE)


@lru_cache(maxsize=None)
def _ingredient_by_name() -> dict[str, str]:
    return {n.strip().lower(): r["ingredient"] for r in rows("ingredients.csv") for n in r["names"].split(";") if n.strip()}


def ingredient_for_name(name: str) -> str | None:
    return _ingredient_by_name().get(name.strip().lower())


@lru_cache(maxsize=None)
def drug_classes() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for r in rows("drug_classes.csv"):
        table.setdefault(r["ingredient"], set()).add(r["class"])
    return {k: frozenset(v) for k, v in table.items()}


def classes_of(ingredient: str) -> frozenset[str]:
    return drug_classes().get(ingredient, frozenset())


@lru_cache(maxsize=None)
def timing_codes() -> dict[str, tuple[str, float]]:
    return {r["code"].upper(): (r["frequency"], float(r["doses_per_day"])) for r in rows("timing_codes.csv")}


@lru_cache(maxsize=None)
def unit_factors() -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {}
    for r in rows("units.csv"):
        table.setdefault(r["kind"], {})[r["unit"]] = float(r["factor"])
    return table
