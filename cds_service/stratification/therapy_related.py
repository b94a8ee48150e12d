"""Therapy-related KMT2A-rearranged leukemia after topoisomerase II inhibitors."""

from __future__ import annotations

from fhir_mappings.case import MedicationUse
from cds_service.stratification import kb, text
from cds_service.stratification.facts import Facts
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import rule


def prior_topoisomerase_ii(f: Facts) -> tuple[MedicationUse, ...]:
    """Exposures that started before the diagnosis; undated ones cannot be placed and do not count here
    (the mapper's `Case.therapy_related` may still say so from the diagnosis itself)."""
    dx = f.case.diagnosis_date
    exposures = f.case.exposures_to(kb.section("topoisomerase_ii_class"))
    return tuple(m for m in exposures if dx is not None and m.start is not None and m.start < dx)


def therapy_related(f: Facts) -> bool | None:
    if f.case.therapy_related is not None:
        return f.case.therapy_related or bool(prior_topoisomerase_ii(f))
    return True if prior_topoisomerase_ii(f) else None


@rule("therapy-related")
def therapy_related_rule(f: Facts, out: Findings) -> None:
    if not f.rearranged or not therapy_related(f):
        return
    out.caution("therapy-related", note=_why(f))
    if not f.past_first_line:
        out.consider("hsct-cr1", population="therapy-related")


def _why(f: Facts) -> str | None:
    """Why this leukemia is read as therapy-related, in the clinic's words (shown on the card): which prior drug and
    since when, or that the diagnosis itself is recorded as therapy-related; never a record id."""
    exposures = prior_topoisomerase_ii(f)
    named = {m.source.reference for m in exposures}  # the mapper's evidence is often the same exposure
    drugs = list(dict.fromkeys(f"{m.ingredient} from {text.day(m.start)}" for m in exposures))
    coded = any(s.reference.startswith("Condition/") and s.reference not in named
                for s in f.case.therapy_related_evidence)
    parts = ([f"after {', '.join(drugs)}"] if drugs else []) + (["recorded as therapy-related"] if coded else [])
    return "; ".join(parts) or None
