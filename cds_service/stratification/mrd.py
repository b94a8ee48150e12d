"""The step after induction, shared by the ALL rules: MRD negative -> continue, positive -> intensify per protocol."""

from __future__ import annotations

from fhir_mappings.case import DiseaseStatus, Kmt2aStatus
from cds_service.stratification import kb, text
from cds_service.stratification.facts import Facts, mrd_positive
from cds_service.stratification.findings import Findings

POST_INDUCTION = "post-induction-therapy"


def methods(f: Facts) -> str:
    """The MRD methods for this leukemia: a KMT2A breakpoint can be followed only when KMT2A is rearranged."""
    table = kb.consideration("mrd-assessment")["methods"]
    return table["rearranged" if f.kmt2a_status is Kmt2aStatus.REARRANGED else "other"]


def after_induction(f: Facts, out: Findings, population: str) -> None:
    """`population`: the rules.json population block whose sources back these considerations ("infant-all" ...)."""
    if f.past_first_line:
        return  # the first induction's MRD no longer steers therapy after relapse
    order = "rearranged" if f.kmt2a_status is Kmt2aStatus.REARRANGED else None
    limit = text.percent(kb.threshold("mrd_positive"))
    sources = kb.population("mrd-assessment", population)["sources"] if population in kb.consideration(
        "mrd-assessment").get("populations", {}) else ()
    eoi = f.mrd_eoi
    if eoi is None:
        out.consider("mrd-assessment", note=f"Methods: {methods(f)}.", population=population)
        since = f.days_since_diagnosis()
        due = f.case.disease_status is DiseaseStatus.IN_REMISSION or (
            since is not None and since >= kb.threshold("end_of_induction_day")
        )
        if due:
            out.missing("mrd-end-of-induction", blocks=(POST_INDUCTION,), order=order, sources=sources)
        return
    positive = mrd_positive(eoi)
    if positive is not None:
        out.rests_also_on(text.mrd(eoi))
    if positive is True:
        out.consider("intensified-consolidation", note=f"Based on {text.mrd(eoi)} (positive at or above {limit}).",
                     population=population, fill={"mrd": limit})
    elif positive is False:
        out.consider("continue-risk-adapted-chemotherapy", note=f"Based on {text.mrd(eoi)} (below {limit}).",
                     population=population)
    else:
        out.missing("mrd-end-of-induction", blocks=(POST_INDUCTION,), order=order, sources=sources)
