"""Adult ALL (adult at diagnosis) with a KMT2A rearrangement or amplification: high risk. Only a rearrangement gets
the adult-ALL transplant and trial advice; amplification is high risk on its case reports alone."""

from __future__ import annotations

from fhir_mappings.case import Kmt2aStatus
from cds_service.stratification import kb, mrd, text
from cds_service.stratification.facts import Facts
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import kmt2a_status_missing, rule

SCHEME = "adult-all"
POPULATION = "adult-all"


@rule("adult-all")
def adult_all(f: Facts, out: Findings) -> None:
    if not f.lineage_at_diagnosis.is_lymphoblastic or f.is_adult_at_dx() is not True:
        return
    status = f.kmt2a_status
    if status is Kmt2aStatus.UNKNOWN:
        kmt2a_status_missing(SCHEME, f, out)
        return
    if status not in (Kmt2aStatus.REARRANGED, Kmt2aStatus.AMPLIFIED):
        return
    age = f"age at diagnosis {text.age(f.dx_age.exact)}" if f.dx_age.exact is not None else "adult at diagnosis"
    what = "KMT2A rearranged" if status is Kmt2aStatus.REARRANGED else "KMT2A amplified (not a rearrangement)"
    basis = [age, f"{what}: {f.evidence_text()}"]
    if f.partner:
        basis.append(f"fusion partner {f.partner}")
    # The amplified patient's group rests on the amplification reports, not on the KMT2A-r adult ALL trials.
    sources = kb.scheme("kmt2a-amplified")["sources"] if status is Kmt2aStatus.AMPLIFIED else ()
    out.group(SCHEME, "high", basis, would_change="Only a KMT2A result revised to germline.", sources=sources)
    mrd.after_induction(f, out, population=POPULATION)
    if status is Kmt2aStatus.AMPLIFIED:
        # The adult-ALL transplant advice rests on rearrangement data (ELN 2024): amplification gets only what its
        # case reports support (the kmt2a-amplified rule: TP53 and Ph-like testing, consider a clinical trial).
        return
    if not f.past_first_line:
        out.consider("hsct-cr1", population=POPULATION)
        out.consider("clinical-trial", population=POPULATION)
