"""Our ConText-style reader (fhir_mappings/context.py + terminology/context_rules.json) against medspaCy's ConText
on the assertion corpus tests/mappings/corpus/statements.json: accuracy and CPU time per statement.

    python bench/context_eval.py [--misses]       (medspaCy is not a project dependency: pip install medspacy first)

medspaCy gets the same targets (every gene alias of terminology/genes.csv, and fusions written gene-sep-gene) and
its default ConText rules; a target is absent when negated, uncertain when uncertain, else present.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fhir_mappings import terminology as term  # noqa: E402
from tests.mappings.corpus import ROWS, our_label  # noqa: E402


def _cpu_ms(fn) -> float:
    start = time.process_time_ns()
    fn()
    return (time.process_time_ns() - start) / 1e6


def _score(label, show_misses: bool = False) -> tuple[int, int, list[float]]:
    right, qualified, times = 0, 0, []
    for row in ROWS:
        times.append(_cpu_ms(lambda: label(row["text"], row["gene"])))
        got, qualifiers = label(row["text"], row["gene"])
        right += got == row["expected"]
        if show_misses and got != row["expected"]:
            print(f"  miss: {row['gene']} in {row['text']!r}: {got}, expected {row['expected']}")
        qualified += got == row["expected"] and set(row.get("qualifiers", ())) <= set(qualifiers)
    return right, qualified, times


def medspacy_label():
    import medspacy
    from medspacy.ner import TargetRule

    try:  # PyRuSH logs every sentence at DEBUG through loguru: that would be timed, not ConText
        from loguru import logger
        logger.remove()
    except ImportError:
        pass

    nlp = medspacy.load()
    aliases = sorted({r["alias"] for r in term.rows("genes.csv")}, key=len, reverse=True)
    gene = "|".join(re.escape(a) for a in aliases)
    rules = [TargetRule("fusion", "GENE", pattern=rf"(?i)\b(?:{gene})\s*(?:::|-|/)\s*(?:{gene})\b"),
             TargetRule("gene", "GENE", pattern=rf"(?i)\b(?:{gene})\b")]
    nlp.get_pipe("medspacy_target_matcher").add(rules)

    def label(text: str, want: str):
        doc = nlp(text)
        for ent in doc.ents:
            genes = {term.known_gene(m.group(0)) for m in term.gene_alias_pattern().finditer(ent.text)}
            if want in genes:
                if ent._.is_negated:
                    return "absent", ()
                if ent._.is_uncertain:
                    return "uncertain", ()
                return "present", ("historical",) if ent._.is_historical else ()
        return None, ()
    return label


def main() -> int:
    for _ in range(3):
        our_label(ROWS[0]["text"], ROWS[0]["gene"])  # warm the caches
    misses = "--misses" in sys.argv
    results = {"fhir_mappings ConText rules": _score(our_label, misses)}
    try:
        label = medspacy_label()
        label(ROWS[0]["text"], ROWS[0]["gene"])
        results["medspaCy ConText"] = _score(label, misses)
    except ImportError:
        print("medspaCy is not installed: pip install medspacy")
    n = len(ROWS)
    print(f"{'reader':32} {'right':>9} {'+qualifiers':>12} {'median ms':>10} {'p95 ms':>8}")
    for name, (right, qualified, times) in results.items():
        p95 = sorted(times)[int(0.95 * (len(times) - 1))]
        print(f"{name:32} {right:>4}/{n:<4} {qualified:>7}/{n:<4} {statistics.median(times):>10.3f} {p95:>8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
