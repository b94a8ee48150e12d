"""The step after induction, shared by the ALL rules: MRD negative -> continue, positive -> intensify."""

from __future__ import annotations

from fhir_mappings.case import DiseaseStatus
from cds_service.stratification import kb, text
from cds_service.stratification.facts import Facts, mrd_positive
from cds_service.stratification.findings import Findings

POST_INDUCTION = "post-induction-therapy"


def after_induction(f: Facts, out: Findings, sources: tuple[str, ...] = ()) -> None:
    """`sources`: the population-specific citations (S9 for infant ALL)."""
    if f.relapsed_or_refractory:
        return  # the first induction's MRD no longer steers therapy after relapse
    eoi = f.mrd_eoi
    if eoi is None:
        out.consider("mrd-assessment", sources=sources)
        since = f.days_since_diagnosis()
        due = f.case.disease_status is DiseaseStatus.IN_REMISSION or (
            since is not None and since >= kb.threshold("end_of_induction_day")
        )
        if due:
            out.missing("mrd-end-of-induction", blocks=(POST_INDUCTION,))
        return
    positive = mrd_positive(eoi)
    if positive is True:
        out.consider("intensified-consolidation", note=f"Based on {text.mrd(eoi)}.", sources=sources)
    elif positive is False:
        out.consider("continue-risk-adapted-chemotherapy", note=f"Based on {text.mrd(eoi)}.", sources=sources)
    else:
        out.missing("mrd-end-of-induction", blocks=(POST_INDUCTION,))
