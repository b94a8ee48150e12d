"""The assertion corpus (statements.json) and how our reader's answer is read off it, shared by
tests/mappings/test_context.py and bench/context_eval.py (which also runs medspaCy's ConText on it)."""

from __future__ import annotations

import json
from pathlib import Path

from fhir_mappings.case import Kmt2aStatus
from fhir_mappings.fusion_text import read

ROWS = json.loads((Path(__file__).parent / "statements.json").read_text(encoding="utf-8"))["rows"]


def our_label(text: str, gene: str) -> tuple[str | None, tuple[str, ...]]:
    """(present / absent / uncertain / None, qualifiers) for `gene` as fhir_mappings reads `text`."""
    events, others = read(text, "molecular")
    if gene == "KMT2A":
        if not events:
            return None, ()
        e = events[0]
        if e.uncertain:
            return "uncertain", e.qualifiers
        return ("absent" if e.status == Kmt2aStatus.NOT_DETECTED else "present"), e.qualifiers
    for g, _kind, present, _detail, qualifiers in others:
        if g == gene:
            return ("present" if present else "absent"), qualifiers
    return "uncertain", ()  # a hedged finding of another gene is left out: neither present nor absent
