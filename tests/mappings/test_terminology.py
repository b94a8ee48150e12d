"""The knowledge tables: every row carries a source key and a verification tag, and the lookups read them."""

import re
from pathlib import Path

import pytest

from cds_service import knowledge
from fhir_mappings import terminology as term

SOURCES = set(knowledge.load("sources.json")["sources"]) | {"none"}  # one registry of source keys
TAGS = {"V", "P", "U", "SRC"}
# every table in the folder, so a new one cannot skip the source/tag check
TABLES = sorted(p.name for p in (Path(term.__file__).parent / "terminology").glob("*.csv"))


@pytest.mark.parametrize("table", TABLES)
def test_every_row_has_source_and_tag(table):
    rows = term.rows(table)
    assert rows
    for row in rows:
        assert row["source"] in SOURCES and row["tag"] in TAGS, row


@pytest.mark.parametrize("table", TABLES)
def test_a_row_sourced_to_the_seed_overview_alone_is_not_tagged_verified(table):
    # [V] means seen in a cited primary source; SRC is the unchecked seed overview (clinical-knowledge.md tags)
    assert [r for r in term.rows(table) if r["source"] == "SRC" and r["tag"] == "V"] == []


def test_json_documents_have_source_and_tag():
    for name in ("text_patterns.json", "params.json"):
        for key, entry in term.document(name).items():
            if key.startswith("_"):
                continue
            for item in entry if isinstance(entry, list) else [entry]:
                assert item["source"] in SOURCES and item["tag"] in TAGS, (name, key)
                # [V] means seen in the cited source: a word list is that only with the quote beside it
                assert item["tag"] != "V" or item.get("support"), (name, key, "tagged V without its quote")
                if "pattern" in item:
                    re.compile(item["pattern"])


@pytest.mark.parametrize("alias,symbol", [("MLL", "KMT2A"), ("HRX", "KMT2A"), ("ALL-1", "KMT2A"), ("AF4", "AFF1"),
                                          ("MLLT2", "AFF1"), ("AF9", "MLLT3"), ("ENL", "MLLT1"), ("AF10", "MLLT10"),
                                          ("AF6", "AFDN"), ("MLLT4", "AFDN"), ("AF1q", "MLLT11"), ("AF17", "MLLT6"),
                                          ("SEPT6", "SEPTIN6"), ("SEPT9", "SEPTIN9"), ("AFX", "FOXO4"),
                                          ("MLLT7", "FOXO4"), ("HGNC:7132", "KMT2A"), ("MLL2", "KMT2D"),
                                          ("HGNC:7133", "KMT2D")])
def test_gene_aliases(alias, symbol):
    assert term.gene_symbol(alias) == symbol


@pytest.mark.parametrize("name", ["MLL2", "MLL3", "MLL4", "KMT2D", "KMT2B", "KMT2C", "MLLT3", "MLL-something"])
def test_nothing_else_is_kmt2a(name):
    assert term.gene_symbol(name) != "KMT2A"


@pytest.mark.parametrize("system,key", [("http://www.sequenceontology.org/", "so"), ("http://www.sequenceontology.org", "so"),
                                        ("http://www.genenames.org/geneId", "hgnc"), ("urn:oid:2.16.840.1.113883.6.299", "iscn"),
                                        ("http://hl7.org/fhir/sid/icd-10-cm", "icd10cm"), ("urn:oid:2.16.840.1.113883.6.43.1", "icdo3")])
def test_system_uri_drift(system, key):
    assert term.system_key(system) == key


def test_revuforj_products_and_mylotarg_normalise_to_ingredients():
    table = term.rxnorm_to_ingredients()
    for rxcui in ("2698331", "2698337", "2698339", "2698341", "2698343", "2698345"):
        assert table[rxcui] == ("revumenib",)
    assert table["261585"] == table["1294583"] == ("gemtuzumab ozogamicin",)


def test_drug_classes():
    assert "strong-cyp3a4-inhibitor" in term.classes_of("posaconazole")
    assert term.classes_of("fluconazole") == frozenset({"moderate-cyp3a4-inhibitor"})
    assert "cd19-directed" not in term.classes_of("inotuzumab ozogamicin")
    topo = {r["ingredient"] for r in term.rows("drug_classes.csv") if r["class"] == "topoisomerase-ii-inhibitor"}
    # the pack's list (4.8) and teniposide, the other epipodophyllotoxin (Pui et al., N Engl J Med 1991;325:1682)
    assert topo == {"etoposide", "teniposide", "doxorubicin", "daunorubicin", "idarubicin", "mitoxantrone", "epirubicin"}


def test_the_wrong_codes_public_repos_carry_are_not_in_our_tables():
    """clinical-knowledge.md 4.10 traps 8 and 11: not marrow blasts, not AML, not KMT2A."""
    loinc = term.loinc_meanings()
    assert [row["kind"] for row in loinc["26464-8"]] == ["wbc"] and "77147-7" not in loinc
    dx = {(r["system"], r["code"]): r for r in term.diagnosis_codes()}
    assert dx[("snomed", "91857003")]["lineage"] == "ALL"
    assert dx[("icd10cm", "C92.A")]["mentions_11q23"] == "false"
    assert dx[("icd10cm", "C92.6")]["mentions_11q23"] == "true"


@pytest.mark.parametrize("system,key", [("urn:oid:2.16.840.1.113883.6.1", "loinc"), ("urn:oid:2.16.840.1.113883.6.96", "snomed"),
                                        ("urn:oid:2.16.840.1.113883.6.90", "icd10cm"), ("urn:oid:2.16.840.1.113883.6.88", "rxnorm"),
                                        ("http://www.genenames.org/geneId/", "hgnc"), ("HTTP://LOINC.ORG", "loinc")])
def test_code_system_oids_and_spelling_drift_from_the_table(system, key):
    assert term.system_key(system) == key
