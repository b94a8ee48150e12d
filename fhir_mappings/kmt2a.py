"""All KMT2A findings -> one `Kmt2aSummary`, keeping conflicts visible.

Rules (in this order):
1. FISH and molecular results are "strong"; karyotype and free text are "weak". A karyotype that is merely normal at
   11q23 never argues against a rearrangement (cryptic insertions are invisible to banding).
2. Rearranged (any method) and a strong "not detected" of the same work-up cannot both be true: status UNKNOWN,
   both kept in `conflicts`. A negative taken weeks after the positive (terminology params.json
   kmt2a_conflict_window_days) is the response to treatment, not a conflict. Otherwise any rearranged finding makes
   the status REARRANGED.
3. Else amplification, else PTD: neither is ever a rearrangement. A strong negative for rearrangement next to an
   amplification or PTD is no conflict (the break-apart probe stays intact).
4. Else a strong "not detected" gives NOT_DETECTED; anything less (karyotype only, nothing) is UNKNOWN.
   A negative for one named fusion ("KMT2A::AFF1 not detected" by a targeted PCR or a dual-fusion probe) rules out
   that partner only, never KMT2A rearrangement as a whole; it conflicts only with a rearrangement to that partner.
5. Partner: from strong findings if they agree, else from weak ones; disagreement is recorded in `conflicts` and
   leaves the partner empty when it cannot be settled by rule 5's order.
6. Ambiguity codes propagate, except t11-19-partner-ambiguous once a strong finding names the partner and
   t11-17-may-be-apl once FISH/molecular confirms a KMT2A rearrangement.
"""

from __future__ import annotations

from fhir_mappings import terminology as term
from fhir_mappings.case import Kmt2aFinding, Kmt2aStatus, Kmt2aSummary

STRONG = {"fish", "molecular"}


def _label(f: Kmt2aFinding) -> str:
    return f"{f.method} {f.source.reference} {f.status.value}" + (f" ({f.partner})" if f.partner else "")


def _partner(rearranged: list[Kmt2aFinding], conflicts: list[str]) -> tuple[str | None, Kmt2aFinding | None]:
    strong = {f.partner: f for f in rearranged if f.method in STRONG and f.partner}
    weak = {f.partner: f for f in rearranged if f.method not in STRONG and f.partner}
    chosen = strong if strong else weak
    if len(chosen) > 1:
        conflicts.append("fusion partner disagrees: " + " vs ".join(_label(f) for f in chosen.values()))
        return None, None
    if not chosen:
        return None, None
    partner, finding = next(iter(chosen.items()))
    if strong and any(p != partner for p in weak):
        conflicts.append("fusion partner: " + " vs ".join(_label(f) for f in [finding, *weak.values()])
                         + f"; {finding.method} result kept")
    return partner, finding


def _ruled_out_partners(negative: Kmt2aFinding) -> tuple[str, ...]:
    """The partners a "not detected" result is specific to; empty for a whole-gene test (break-apart FISH)."""
    return tuple(p for p in (negative.partner, *negative.candidate_partners) if p)


def _same_work_up(negative: Kmt2aFinding, rearranged: list[Kmt2aFinding]) -> bool:
    """Whether a negative was tested near enough a positive to contradict it (undated: it may have been)."""
    window = term.param("kmt2a_conflict_window_days")
    when = negative.source.date
    return when is None or any(r.source.date is None or abs((when - r.source.date).days) <= window
                               for r in rearranged)


def _ambiguities(findings: tuple[Kmt2aFinding, ...], partner_from_strong: bool, confirmed: bool) -> tuple[str, ...]:
    codes = []
    for f in findings:
        code = f.ambiguity
        if not code or code in codes:
            continue
        if code == "t11-19-partner-ambiguous" and partner_from_strong:
            continue
        if code == "t11-17-may-be-apl" and confirmed:
            continue
        codes.append(code)
    return tuple(codes)


def _copies(amplified: list[Kmt2aFinding]) -> tuple[float | None, float | None]:
    with_numbers = sorted((f for f in amplified if f.copy_number is not None),
                          key=lambda f: (f.method in STRONG, f.source.date is not None), reverse=True)
    if not with_numbers:
        return None, None
    return with_numbers[0].copy_number, with_numbers[0].copy_number_high


def summarise(findings: list[Kmt2aFinding] | tuple[Kmt2aFinding, ...]) -> Kmt2aSummary:
    findings = tuple(findings)
    by = {s: [f for f in findings if f.status == s] for s in Kmt2aStatus}
    rearranged, amplified, ptd = by[Kmt2aStatus.REARRANGED], by[Kmt2aStatus.AMPLIFIED], by[Kmt2aStatus.PTD]
    strong_negative = [f for f in by[Kmt2aStatus.NOT_DETECTED] if f.method in STRONG]
    negative = [f for f in strong_negative if not _ruled_out_partners(f)]
    against = negative + [f for f in strong_negative
                          if any(r.partner in _ruled_out_partners(f) for r in rearranged if r.partner)]
    against = [f for f in against if _same_work_up(f, rearranged)]
    conflicts: list[str] = []
    partner, chosen = _partner(rearranged, conflicts) if rearranged else (None, None)
    if rearranged and against:
        conflicts.insert(0, "KMT2A rearrangement: " + " vs ".join(_label(f) for f in rearranged + against))
        status = Kmt2aStatus.UNKNOWN
    elif rearranged:
        status = Kmt2aStatus.REARRANGED
    elif amplified:
        status = Kmt2aStatus.AMPLIFIED
    elif ptd:
        status = Kmt2aStatus.PTD
    elif negative:
        status = Kmt2aStatus.NOT_DETECTED
    else:
        status = Kmt2aStatus.UNKNOWN
    copy_low, copy_high = _copies(amplified)
    confirmed = any(f.method in STRONG for f in rearranged) and not against
    partner_from_strong = bool(chosen and chosen.method in STRONG)
    if status != Kmt2aStatus.REARRANGED:
        partner, chosen = None, None
    fusion = (chosen.fusion if chosen and chosen.fusion else f"KMT2A::{partner}") if partner else None
    return Kmt2aSummary(
        status=status, partner=partner, fusion=fusion, copy_number=copy_low, copy_number_high=copy_high,
        findings=findings, conflicts=tuple(conflicts),
        ambiguities=_ambiguities(findings, partner_from_strong, confirmed),
    )
