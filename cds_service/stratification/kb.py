"""Typed access to the rule knowledge in `cds_service/knowledge/rules.json`: the one way the rules and the cards read
thresholds, partner lists, texts, tags and evidence levels (files are loaded by `cds_service.knowledge`)."""

from __future__ import annotations

from typing import Iterable

from cds_service import knowledge

RULES_FILE = "rules.json"
TAG_ORDER = ("V", "P", "U", "SRC")  # strongest first
SERVICE_RULE = "POLICY"  # the tag of the service's own rules: not a clinical claim, so neither strong nor weak


def _rules() -> dict:
    return knowledge.load(RULES_FILE)


def threshold(name: str) -> float:
    return float(_rules()["thresholds"][name]["value"])


def comparator(name: str) -> str:
    """How a threshold is applied: ">=" (at or above, the default) or ">" (strictly above), as its source words it."""
    return _rules()["thresholds"][name].get("comparator", ">=")


def partners(name: str) -> frozenset[str]:
    return frozenset(_rules()["partners"][name]["genes"])


def partner_note(name: str) -> str:
    """The sourced remark on a partner list, e.g. the EFS of MLLT10 fusions and its comparator."""
    return _rules()["partners"][name]["note"]


def section(name: str) -> dict:
    """A whole section of rules.json, e.g. "lineage_switch" or "adverse_independent_of_kmt2a"."""
    return _rules()[name]


def rule_meta(rule_id: str) -> dict:
    return _rules()["rules"][rule_id]


def consideration(code: str) -> dict:
    return _rules()["considerations"][code]


def considerations_flagged(flag: str, value: str) -> tuple[str, ...]:
    """The consideration codes whose entry sets `flag` to `value` (e.g. after_transplant: withdraw)."""
    return tuple(code for code, entry in _rules()["considerations"].items() if entry.get(flag) == value)


def population(code: str, name: str) -> dict:
    """The population-specific block of a consideration (its own sources, tag, evidence, note)."""
    return _rules()["considerations"][code]["populations"][name]


def caution(code: str) -> dict:
    return _rules()["cautions"][code]


def disagreement(key: str) -> dict:
    return _rules()["disagreements"][key]


def missing_data(code: str) -> dict:
    return _rules()["missing_data"][code]


def scheme(scheme_id: str) -> dict:
    return _rules()["schemes"][scheme_id]


def param(name: str):
    """A mapper parameter from fhir_mappings/terminology/params.json (time windows the rules also need)."""
    from fhir_mappings import terminology

    return terminology.param(name)


def weakest(tags: Iterable[str]) -> str:
    """The weakest of several verification tags: a claim is only as verified as its least verified part.
    A service rule's tag takes no part (a neutral prompt's population block decides); alone, it stays POLICY."""
    present = [t for t in tags if t]
    claims = [t for t in present if t != SERVICE_RULE]
    return max(claims, key=TAG_ORDER.index) if claims else SERVICE_RULE if present else "U"
