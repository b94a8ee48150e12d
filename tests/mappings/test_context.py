"""The assertion reader on the statement corpus (tests/mappings/corpus/statements.json): every negation and hedge
form the issue lists, coordinated lists, qualifiers. bench/context_eval.py runs medspaCy on the same rows."""

import pytest

from fhir_mappings import context
from tests.mappings.corpus import ROWS, our_label


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['gene']}: {r['text']}" for r in ROWS])
def test_statement_corpus(row):
    label, qualifiers = our_label(row["text"], row["gene"])
    assert label == row["expected"]
    assert set(row.get("qualifiers", ())) <= set(qualifiers)


def test_every_listed_negation_and_hedge_form_is_in_the_corpus():
    texts = " ".join(r["text"].lower() for r in ROWS)
    for form in ("no ", "negative for", "not identified", "absent", "possible", "cannot be excluded",
                 "suspicious for", "equivocal", "subclone", "mosaic", "history of", "no npm1, flt3 or idh1"):
        assert form in texts, form


@pytest.mark.parametrize("text,negated,uncertain", [
    ("Not detected", True, False), ("NEGATIVE", True, False), ("wild type", True, False),
    ("Detected", False, False), ("Equivocal", False, True), ("cannot be excluded", False, True),
    ("CD19-negative", False, False),
])
def test_short_result_texts(text, negated, uncertain):
    assert (context.negated(text), context.uncertain(text)) == (negated, uncertain)
