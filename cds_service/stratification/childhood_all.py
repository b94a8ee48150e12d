"""Childhood (non-infant, < 18 years) ALL with a KMT2A rearrangement: high-risk genetics."""

from __future__ import annotations

from cds_service.stratification import kb, mrd, text
from cds_service.stratification.facts import Facts, rearranged_for
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import rule

SCHEME = "pediatric-all-kmt2a"


@rule("pediatric-all-kmt2a")
def pediatric_all(f: Facts, out: Findings) -> None:
    if not f.lineage.is_lymphoblastic or f.is_infant_at_dx() is not False or f.is_adult_at_dx() is not False:
        return
    if not rearranged_for(SCHEME, f, out):
        return
    basis = [f"age at diagnosis {text.age(f.dx_age.exact)}" if f.dx_age.exact is not None else "age 1-17 years at diagnosis",
             f"KMT2A rearranged: {f.evidence_text()}"]
    if f.partner:
        basis.append(f"fusion partner {f.partner}")
    out.group(SCHEME, "high", basis, would_change="Only a KMT2A result revised to germline; the partner and MRD refine therapy, not the group.")
    if f.partner in kb.partners("all_highest_relapse_risk"):
        out.caution("t4-11-highest-relapse-risk")
    elif f.partner is None:
        out.missing("fusion-partner")  # refines (t(4;11) is the worst subgroup); does not block the group
    mrd.after_induction(f, out)
    if not f.relapsed_or_refractory:
        note, sources = kb.hsct_note("childhood-all")
        out.consider("hsct-cr1", note=note, sources=sources)
        out.consider("clinical-trial", note="Childhood KMT2A-r ALL: enrol in a clinical trial when one is available (seed overview).")
