"""Typed access to the rule knowledge in `cds_service/knowledge/rules.json` (thresholds, partner lists, texts)."""

from __future__ import annotations

from cds_service import knowledge

RULES_FILE = "rules.json"


def _rules() -> dict:
    return knowledge.load(RULES_FILE)


def threshold(name: str) -> float:
    return float(_rules()["thresholds"][name]["value"])


def partners(name: str) -> frozenset[str]:
    return frozenset(_rules()["partners"][name]["genes"])


def partner_note(name: str) -> str:
    """The sourced remark on a partner list, e.g. the EFS of MLLT10 fusions."""
    return _rules()["partners"][name]["note"]


def hsct_note(population: str, **fill: str) -> tuple[str, tuple[str, ...]]:
    """(note, extra sources) a rule adds to the hsct-cr1 consideration for its population."""
    entry = _rules()["hsct_notes"][population]
    return entry["text"].format(**fill), tuple(entry["sources"])


def section(name: str) -> dict:
    """A whole section of rules.json, e.g. "lineage_switch" or "adverse_independent_of_kmt2a"."""
    return _rules()[name]


def rule_meta(rule_id: str) -> dict:
    return _rules()["rules"][rule_id]


def consideration(code: str) -> dict:
    return _rules()["considerations"][code]


def caution(code: str) -> dict:
    return _rules()["cautions"][code]


def disagreement(key: str) -> dict:
    return _rules()["disagreements"][key]


def missing_data(code: str) -> dict:
    return _rules()["missing_data"][code]


def tag(key: str) -> str:
    """The verification tag of a source key, as printed on cards: "[V]"."""
    return f"[{knowledge.source(key)['tag']}]"


def cite(keys) -> str:
    """'Pieters et al. Interfant-06, J Clin Oncol 2019 [V]; ...' for a card's detail."""
    return "; ".join(f"{knowledge.source(k)['label']} {tag(k)}" for k in dict.fromkeys(keys))
