"""The knowledge a governance committee signs off: every claim sourced, quoted where verified, tagged with its own
tag and an evidence level; primary citations with stable links on every displayed claim; every threshold in one home;
a content-derived version; a generated fact table that is current."""

from __future__ import annotations

import io
import json
import math
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

from cds_service import knowledge
from cds_service.cards.assessment_cards import cards_for
from cds_service.knowledge import build
from cds_service.stratification import kb
from tests.clinical.vignettes import NAMES
from tests.clinical.test_vignettes import assessment

ROOT = Path(__file__).resolve().parents[2]
RULES = knowledge.load("rules.json")
SOURCES = knowledge.load("sources.json")["sources"]
PARAMS = json.loads((ROOT / "fhir_mappings" / "terminology" / "params.json").read_text("utf-8"))
TAGS = set(RULES["tags"])
LEVELS = set(RULES["evidence_levels"])
CLAIM_SECTIONS = ("rules", "thresholds", "partners", "schemes", "considerations", "cautions", "disagreements",
                  "missing_data")
NOT_EVIDENCE = {"SRC", "POLICY"}  # the seed overview and the service's own rules are not primary literature
STABLE = re.compile(r"^https://(doi\.org/10\.|pubmed\.ncbi\.nlm\.nih\.gov/\d+/$|pmc\.ncbi\.nlm\.nih\.gov/articles/PMC\d+/$|"
                    r"dailymed\.nlm\.nih\.gov/dailymed/drugInfo\.cfm\?setid=[0-9a-f-]{36}$|clinicaltrials\.gov/study/NCT\d+$|"
                    r"ashpublications\.org/|www\.drugs\.com/monograph/|www\.pfizermedicalinformation\.com/|hl7\.org/|"
                    r"build\.fhir\.org/ig/HL7/|github\.com/|loinc\.org)")


def claims():
    """(name, entry) for every claim in rules.json, population blocks included, and every mapper parameter."""
    for section in CLAIM_SECTIONS:
        for key, entry in RULES[section].items():
            yield f"{section}.{key}", entry
            for population, block in entry.get("populations", {}).items():
                yield f"{section}.{key}/{population}", block
    for section in ("adverse_independent_of_kmt2a", "lineage_switch", "interfant21"):
        yield section, RULES[section]
    for key, entry in PARAMS.items():
        if not key.startswith("_"):
            yield f"params.{key}", {**entry, "sources": [] if entry["source"] == "none" else [entry["source"]]}


@pytest.mark.parametrize("name,entry", list(claims()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_claim_is_sourced_tagged_and_quoted_when_verified(name, entry):
    assert entry["tag"] in TAGS and entry["evidence"] in LEVELS, name
    assert set(entry["sources"]) <= set(SOURCES), name
    for quote in entry.get("support", ()):
        assert quote["source"] in entry["sources"] and quote["section"] and len(quote["quote"]) > 20, name
    if entry["tag"] in ("V", "P") and not set(entry["sources"]) <= {"POLICY"}:
        assert entry.get("support"), f"{name} is tagged {entry['tag']} without the quote it was verified against"
    if entry["tag"] == "SRC":
        assert "SRC" in entry["sources"] or not entry["sources"], name
    if entry["tag"] == "POLICY":  # the service's own rule: it cites only POLICY, or rests on its populations
        assert entry["evidence"] == "service-rule" and (not entry["sources"] or "POLICY" in entry["sources"]), name
    if not entry["sources"] and entry["tag"] in ("V", "P", "POLICY") and not name.startswith("params."):
        # Only a neutral prompt backed by its populations, or an item whose rule adds the population's source.
        assert "default" in entry.get("populations", {}) or "sources" in entry.get("_about", ""), name
    if "SRC" in entry["sources"] and entry["sources"] == ["SRC"]:
        assert entry["tag"] == "SRC", f"{name} cites only the expert overview but claims {entry['tag']}"


def test_sources_have_stable_links_and_no_tag_of_their_own():
    for key, entry in SOURCES.items():
        assert "tag" not in entry, key  # a card shows the claim's tag, never the source's
        if "url" in entry:
            assert STABLE.match(entry["url"]), (key, entry["url"])
            assert "?term=" not in entry["url"] and "search" not in entry["url"], (key, entry["url"])


def test_every_source_key_in_the_knowledge_is_known():
    used = {k for _, entry in claims() for k in entry["sources"]}
    used |= {q["source"] for _, entry in claims() for q in entry.get("support", ())}
    assert used <= set(SOURCES)


def _primary(keys) -> list[str]:
    return [k for k in keys if k not in NOT_EVIDENCE and SOURCES[k].get("url")]


def _displayed(a):
    return [("consideration", c.code, c.tag, c.evidence, c.citations) for c in a.considerations] + \
           [("caution", c.code, c.tag, c.evidence, c.citations) for c in a.cautions]


TAG_WORDS = {tag: word for tag, word in RULES["tags"].items() if tag not in ("V", "POLICY")}


def _tag_words_in(text: str) -> set[str]:
    return {tag for tag, word in TAG_WORDS.items() if word in text}


@pytest.mark.parametrize("name", NAMES)
def test_every_displayed_claim_cites_a_primary_source_and_shows_its_own_tag(name):
    a = assessment(name)
    details = "\n".join(card.get("detail", "") for card in cards_for(a))
    shown = 0
    for kind, code, tag, evidence, citations in _displayed(a):
        entry = kb.consideration(code) if kind == "consideration" else kb.caution(code)
        assert tag == kb.weakest([entry["tag"], tag]), (code, tag)  # never stronger than the claim itself
        if tag == "SRC":
            assert "SRC" in citations, code  # the card then says: expert overview, not independently verified
        elif set(citations) <= {"POLICY"}:
            assert evidence == "service-rule", code
        else:
            assert _primary(citations), f"{code} shows no primary citation with a stable link: {citations}"
        # where the card shows the claim with its evidence phrase, the phrase carries the claim's own tag in words
        start = entry["label"] if kind == "consideration" else entry["text"][:60]
        line = next((ln for ln in details.splitlines() if start in ln and " — " in ln), None)
        if line is None:
            continue
        phrase = line.split(" — ", 1)[1]
        expected = {tag} if tag in TAG_WORDS else set()
        assert _tag_words_in(phrase) == expected, (code, tag, phrase)
        shown += 1
    assert shown or not a.considerations, "no displayed claim was checked"


def test_the_tag_words_check_can_fail():
    assert _tag_words_in("[Interfant-06](https://x) (trial), unverified: verify before use") == {"U"}
    assert _tag_words_in("[ELN 2022](https://x) (guideline)") == set()


def test_an_unverified_caution_citing_a_verified_paper_shows_its_own_tag():
    """The review's example: the t(11;17) caution cites the APL guideline, but the band-level claim is only P."""
    a = assessment("adult-aml-t11-17-may-be-apl")
    caution = next(c for c in a.cautions if c.code == "t11-17-may-be-apl")
    assert caution.tag == kb.caution("t11-17-may-be-apl")["tag"] == "P"
    detail = next(c["detail"] for c in cards_for(a) if "ZBTB16::RARA" in c.get("detail", ""))
    assert "(guideline), partly verified" in detail


def test_the_extension_carries_each_claims_tag_and_evidence_level():
    a = assessment("adult-aml-afdn")
    out = a.to_json()
    assert out["considerations"]
    for c in out["considerations"] + out.get("cautions", []):
        assert c["tag"] in TAGS and c["evidence"] in LEVELS, c


# --- one home for every threshold ----------------------------------------------------------------

DAYS_PER_MONTH = 30.44


def _spellings(name: str, entry: dict) -> list[re.Pattern]:
    """How a threshold would be restated in code: 300, 365, '6 months', '0.01 %', 1e-4, '18 years' ..."""
    value, unit = entry["value"], entry.get("unit")
    out = []
    if unit == "fraction":
        percent = f"{value * 100:g}"
        out += [rf"(?<![\d.]){re.escape(percent)}\s*%", rf"(?<![\d.]){re.escape(repr(value))}(?![\d])",
                rf"1e-{round(-math.log10(value))}(?![\d])"]
    elif isinstance(value, (int, float)) and value >= 20:
        out.append(rf"(?<![\d.]){int(value)}(?![\d.])")
    if unit == "d":
        months = round(value / DAYS_PER_MONTH)
        if months and abs(months * DAYS_PER_MONTH - value) < 3:
            out.append(rf"\b{months}[- ]months?\b")
    if unit == "a":
        out.append(rf"\b{int(value)}\s*(years?|y)\b")
    return [re.compile(p) for p in out]


def _code_text(path: Path) -> str:
    """The strings and numbers of a Python file (comments excluded: a comment may explain a number's origin)."""
    kinds = {tokenize.STRING, tokenize.NUMBER, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text("utf-8")).readline)
    return "\n".join(t.string for t in tokens if t.type in kinds)


RULE_CODE = sorted((ROOT / "cds_service" / "stratification").glob("*.py")) + [ROOT / "cds_service" / "cards" / "assessment_cards.py"]


@pytest.mark.parametrize("name", sorted(RULES["thresholds"]))
def test_no_knowledge_threshold_is_restated_as_a_literal_in_code(name):
    patterns = _spellings(name, RULES["thresholds"][name])
    for path in RULE_CODE:
        if path.name == "menin_inhibitors.py":
            continue  # its thresholds live in menin_inhibitors.json (issue 9)
        text = _code_text(path)
        for pattern in patterns:
            assert not pattern.search(text), f"{path.name} restates threshold {name} as {pattern.pattern!r}"


def test_the_literal_check_can_fail():
    assert any(p.search('"younger than 6 months"') for p in _spellings("x", RULES["thresholds"]["interfant06_young_age_days"]))
    assert any(p.search('f"MRD >= 0.01 %"') for p in _spellings("x", RULES["thresholds"]["mrd_positive"]))
    assert any(p.search("300") for p in _spellings("x", RULES["thresholds"]["interfant06_wbc_high"]))


# The order checks' label facts (doses, tablet strengths, limits) live in the drug tables; the words of the order
# cards are written in code, so a number with its unit in one of their sentences is a restatement.
DRUG_TABLES = ("menin_inhibitors.json", "gemtuzumab_ozogamicin.json", "order_checks.json")
UNIT_BY_SUFFIX = {"_mg": "mg", "_ms": "ms", "_10e9_l": r"x\s?10\^9/L", "_mmol_l": "mmol/L", "_kg": "kg",
                  "_days": "days?", "_years": "years?"}


def _drug_facts(node, key: str = ""):
    """(number, unit pattern) for every number of a drug table whose key (or "unit") names its unit."""
    unit = next((u for suffix, u in UNIT_BY_SUFFIX.items() if key.endswith(suffix)), None)
    if isinstance(node, dict):
        if isinstance(node.get("value"), (int, float)) and not isinstance(node["value"], bool):
            if node.get("unit") or unit:
                yield node["value"], re.escape(node["unit"]) if node.get("unit") else unit
        for k, v in node.items():
            yield from _drug_facts(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _drug_facts(v, key)
    elif isinstance(node, (int, float)) and not isinstance(node, bool) and unit:
        yield node, unit


def _restated_drug_facts(text: str) -> list[str]:
    facts = {fact for name in DRUG_TABLES for fact in _drug_facts(knowledge.load(name))}
    return [p for v, u in facts if re.search(p := rf"(?<![\d.]){v:g}\s*{u}\b", text)]


def _sentences(path: Path) -> str:
    """The string literals of a module that are sentences (codes such as "weight-40kg-or-more" have no space)."""
    kinds = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text("utf-8")).readline)
    return "\n".join(t.string for t in tokens if t.type in kinds and " " in t.string
                     and not t.string.startswith(('"""', "'''")))  # docstrings may explain a number's origin


@pytest.mark.parametrize("path", sorted((ROOT / "cds_service" / "orders").glob("*.py")) +
                         sorted((ROOT / "cds_service" / "cards").glob("*.py")), ids=lambda p: p.name)
def test_no_drug_table_number_is_restated_in_card_wording(path):
    assert not _restated_drug_facts(_sentences(path)), f"{path.name} restates a drug-table number"


def test_the_drug_fact_check_can_fail():
    assert _restated_drug_facts("cannot be made from whole 25, 110 and 160 mg tablets")
    assert _restated_drug_facts("cytoreduce first, WBC 30 x10^9/L or more")
    assert not _restated_drug_facts("cytoreduce first, WBC {wbc_limit} x10^9/L or more")


def test_the_mapper_has_no_mrd_threshold_of_its_own():
    assert not [k for k in PARAMS if "mrd" in k]
    assert "_at_or_above" not in (ROOT / "fhir_mappings" / "observations.py").read_text("utf-8")


def test_no_unused_knowledge_keys():
    """Every threshold, partner list and section is read by some code."""
    code = "\n".join(p.read_text("utf-8") for p in (ROOT / "cds_service").rglob("*.py"))
    for section in ("thresholds", "partners"):
        for key in RULES[section]:
            assert f'"{key}"' in code or f"'{key}'" in code, f"{section}.{key} is read by no code"


# --- the version and the generated table ---------------------------------------------------------

def test_readme_table_is_current():
    assert (build.HERE / "README.md").read_text("utf-8") == build.readme(), \
        "cds_service/knowledge/README.md is stale: run python -m cds_service.knowledge.build"


def test_readme_lists_every_fact_with_quote_tag_and_evidence():
    text = build.readme()
    for name, entry in claims():
        if "/" in name:
            continue
        row = next((ln for ln in text.splitlines() if ln.startswith(f"| {name.split('/')[0]} |")), None)
        assert row and f"| {entry['tag']} | {entry['evidence']} |" in row, name


def test_version_is_derived_from_content(monkeypatch):
    before = knowledge.version()
    date, digest = before.split(".")
    assert len(digest) == 12 and digest == knowledge.content_hash()[:12]
    files = knowledge._content_files()
    changed = [(n, d + b" ") if n == "knowledge/rules.json" else (n, d) for n, d in files]
    monkeypatch.setattr(knowledge, "_content_files", lambda: changed)
    knowledge.content_hash.cache_clear()
    try:
        after = knowledge.version()
        assert after.split(".")[1] != digest
        assert after.startswith(knowledge.UNRELEASED)  # the recorded date belongs to other content
    finally:
        monkeypatch.undo()
        knowledge.content_hash.cache_clear()
    assert knowledge.version() == before


def test_version_covers_terminology_tables():
    names = {n for n, _ in knowledge._content_files()}
    assert {"terminology/params.json", "terminology/genes.csv", "knowledge/rules.json"} <= names
    assert "knowledge/manifest.json" not in names


def test_cli_reports_the_knowledge_version():
    out = subprocess.run([sys.executable, "-m", "cds_service", "version"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and out.stdout.strip() == knowledge.version()


def test_assessment_records_the_version():
    assert assessment("adult-aml-afdn").to_json()["knowledgeVersion"] == knowledge.version()


def test_a_code_name_stronger_than_its_source_is_explained_in_the_fact_table():
    """The CDS committee reads the fact table: the t(4;11) caution's contract code says 'highest relapse risk', which
    its source (S30: lower 5-year EFS than the KMT2A-r cohort, t(9;11) T-ALL lowest) does not show."""
    readme = (ROOT / "cds_service" / "knowledge" / "README.md").read_text("utf-8")
    row = next(ln for ln in readme.splitlines() if ln.startswith("| cautions.t4-11-highest-relapse-risk |"))
    assert "code name:" in row and "not the highest relapse risk" in row
    assert "partners.all_highest_relapse_risk" not in readme
    assert kb.partners("child_all_lower_efs_than_kmt2a_cohort") == {"AFF1"}
