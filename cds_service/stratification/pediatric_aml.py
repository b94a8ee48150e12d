"""Pediatric AML (not adult at diagnosis) with a KMT2A rearrangement: fusion-partner risk, GO, transplant."""

from __future__ import annotations

from fhir_mappings.case import Lineage
from cds_service.stratification import kb, text
from cds_service.stratification.facts import Facts
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import rearranged_for, rule

SCHEME = "pediatric-aml-kmt2a"
POPULATION = "pediatric-aml"


def _group(f: Facts) -> tuple[str, list[str]]:
    high = kb.partners("pediatric_aml_high_risk")
    if f.partner in high:
        notes = [f"{f.partner}: adverse partner (I-BFM)"]
        if f.partner in kb.partners("pediatric_aml_very_high_risk"):
            notes.append(f"very high risk: {kb.partner_note('pediatric_aml_very_high_risk')}")
        return "high-risk-partner", notes
    if f.partner:
        notes = [f"fusion partner {f.partner} is not on the high-risk list ({', '.join(sorted(high))})"]
        if f.partner in kb.partners("pediatric_aml_not_favourable"):
            notes.append(f"{f.partner}: do not treat as favourable ({kb.partner_note('pediatric_aml_not_favourable')})")
        return "standard-partner", notes
    candidates = f" (karyotype allows {' or '.join(f.candidate_partners)})" if f.candidate_partners else ""
    return "partner-unknown", [f"fusion partner not identified{candidates}"]


@rule("pediatric-aml-kmt2a")
def pediatric_aml(f: Facts, out: Findings) -> None:
    if f.lineage_at_diagnosis is not Lineage.AML or f.is_adult_at_dx() is not False:
        return
    if not rearranged_for(SCHEME, f, out):
        return
    group, notes = _group(f)
    age = (text.age(f.dx_age.exact) if f.dx_age.exact is not None
           else f"younger than {int(kb.threshold('adult_min_years'))} years")
    basis = [f"age at diagnosis {age}", f"KMT2A rearranged: {f.evidence_text()}", *notes]
    change = {
        "partner-unknown": "Identifying the fusion partner decides between high-risk and standard partner.",
        "standard-partner": "A different partner on confirmatory testing; MRD after induction adds risk.",
        "high-risk-partner": "A different partner on confirmatory testing.",
    }[group]
    out.group(SCHEME, group, basis, would_change=change)
    if group == "partner-unknown":
        out.missing("fusion-partner", blocks=(SCHEME,))
        out.consider("confirm-fusion-partner")
    if not f.past_first_line:
        out.consider("gemtuzumab-ozogamicin")
        limit = text.percent(kb.threshold("mrd_positive_aml_flow"))
        out.consider("mrd-assessment", note=f"Flow MRD is positive at or above {limit} in this population.",
                     population=POPULATION)
    if group == "high-risk-partner" and not f.past_first_line:  # CR1 is past after a relapse
        out.consider("hsct-cr1", population=POPULATION, fill={"partner": f.partner})
        out.caution("hsct-benefit-contested")
        out.disagree("pediatric-aml-hsct-cr1")
