"""Childhood (neither infant nor adult at diagnosis) ALL with a KMT2A rearrangement: high-risk genetics."""

from __future__ import annotations

from cds_service.stratification import kb, mrd, text
from cds_service.stratification.facts import Facts, mrd_positive
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import rearranged_for, rule

SCHEME = "pediatric-all-kmt2a"
POPULATION = "child-all"


@rule("pediatric-all-kmt2a")
def pediatric_all(f: Facts, out: Findings) -> None:
    if not f.lineage_at_diagnosis.is_lymphoblastic or f.is_infant_at_dx() is not False or f.is_adult_at_dx() is not False:
        return
    if not rearranged_for(SCHEME, f, out):
        return
    age = (f"age at diagnosis {text.age(f.dx_age.exact)}" if f.dx_age.exact is not None
           else f"age 1 to {int(kb.threshold('adult_min_years')) - 1} years at diagnosis")
    basis = [age, f"KMT2A rearranged: {f.evidence_text()}"]
    if f.partner:
        basis.append(f"fusion partner {f.partner}")
    out.group(SCHEME, "high", basis, would_change="Only a KMT2A result revised to germline; the partner and MRD refine therapy, not the group.")
    if f.partner in kb.partners("child_all_lower_efs_than_kmt2a_cohort"):
        out.caution("t4-11-highest-relapse-risk")
    elif f.partner is None:
        out.missing("fusion-partner")  # refines (t(4;11) did worse); does not block the group
    mrd.after_induction(f, out, population=POPULATION)
    if not f.past_first_line:
        # Transplant in first remission did not improve EFS in the international childhood KMT2A-r ALL cohort (S30);
        # it is discussed for a poor MRD response, not for the rearrangement alone
        if f.mrd_eoi is not None and mrd_positive(f.mrd_eoi):
            out.consider("hsct-cr1", population=POPULATION)
        out.consider("clinical-trial", population=POPULATION)
