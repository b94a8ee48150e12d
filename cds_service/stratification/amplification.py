"""KMT2A amplification: high risk, not a rearrangement, never a menin-inhibitor indication."""

from __future__ import annotations

from fhir_mappings.case import Kmt2aStatus, Lineage
from cds_service.stratification import text
from cds_service.stratification.facts import Facts
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import rule

SCHEME = "kmt2a-amplified"


def _copies(f: Facts) -> str:
    low, high = f.case.kmt2a.copy_number, f.case.kmt2a.copy_number_high
    if low is None:
        return "copy number not reported"
    return f"{text.number(low)}-{text.number(high)} copies" if high and high != low else f"{text.number(low)} copies"


def _known(f: Facts, gene: str) -> str | None:
    hits = [g for g in f.case.finding(gene) if g.present]
    return "; ".join(map(text.finding, hits)) or None


@rule("kmt2a-amplified")
def kmt2a_amplified(f: Facts, out: Findings) -> None:
    if f.kmt2a_status is not Kmt2aStatus.AMPLIFIED:
        return
    # the results that show the amplification, not every KMT2A result (a karyotype without 11q23 is not one)
    shown = text.kmt2a_results(tuple(x for x in f.case.kmt2a.findings if x.status is Kmt2aStatus.AMPLIFIED))
    out.group(SCHEME, "high", [f"KMT2A amplification, {_copies(f)}: {shown or f.evidence_text()}"],
              would_change="A fusion found on FISH/RNA would make it a rearrangement (different rules).")
    out.caution("amplification-not-rearrangement")
    tp53 = _known(f, "TP53")  # already found: the question is whether it is germline, not whether to test
    if tp53:
        out.consider("tp53-germline-testing", note=f"Found: {tp53}.")
    else:
        out.consider("tp53-testing")
    if f.lineage in (Lineage.B_ALL, Lineage.ALL):  # Ph-like is a B-ALL entity; T-ALL has no Ph-like work-up
        crlf2 = _known(f, "CRLF2")
        out.consider("ph-like-testing", note=f"Already found: {crlf2} (Ph-like B-ALL); complete the Ph-like work-up." if crlf2 else None)
    out.consider("clinical-trial", population="amplified")
