"""Infant ALL (infant at diagnosis): Interfant-06 risk groups, MRD, transplant timing, Interfant-21 context."""

from __future__ import annotations

from datetime import timedelta

from fhir_mappings.case import Kmt2aStatus, Lineage, Measurement, MrdTimepoint
from cds_service.stratification import kb, mrd, text
from cds_service.stratification.facts import Facts, at_or_above, mrd_positive
from cds_service.stratification.findings import Findings
from cds_service.stratification.rule import kmt2a_status_missing, rule

SCHEME = "interfant-06"
POPULATION = "infant-all"  # the population block of the considerations this module adds (rules.json)


def applies(f: Facts) -> bool:
    return f.lineage_at_diagnosis.is_lymphoblastic and f.is_infant_at_dx() is True


def _age_line(f: Facts) -> str:
    if f.dx_age.exact is not None:
        return f"age at diagnosis {text.age(f.dx_age.exact)}"
    infant = int(kb.threshold("infant_max_days"))
    return f"under {infant} days old at diagnosis (diagnosis date unknown)"


def _young() -> str:
    return text.months(kb.threshold("interfant06_young_age_days"))


def _wbc_limit() -> str:
    return text.count(kb.threshold("interfant06_wbc_high"))


def _reaches(result: Measurement | None, threshold: str) -> bool | None:
    """Whether a result meets a threshold as the knowledge applies it (">=" or ">", see kb.comparator)."""
    if result is None:
        return None
    limit = kb.threshold(threshold)
    hit = at_or_above(result.value, result.comparator, limit)
    if hit and kb.comparator(threshold) == ">" and result.value == limit and result.comparator != ">":
        return False  # exactly at a strict limit does not reach it
    return hit


def _wbc_high(f: Facts) -> bool | None:
    return _reaches(f.wbc_at_diagnosis, "interfant06_wbc_high")


def _wbc_at_cut_off(f: Facts) -> bool:
    """A diagnostic WBC of exactly the high-risk count: the one value where the Interfant-06 texts disagree."""
    wbc = f.wbc_at_diagnosis
    return wbc is not None and wbc.comparator is None and wbc.value == kb.threshold("interfant06_wbc_high")


def _poor_prednisone_response(f: Facts) -> bool | None:
    return _reaches(f.day8_blasts, "prednisone_poor_response_blasts")


def _rearranged_group(f: Facts, out: Findings, basis: list[str]) -> None:
    young = f.dx_age.below(kb.threshold("interfant06_young_age_days"))
    if young is None:
        out.missing("age", blocks=(SCHEME,))
        return
    wbc_high, ppr = _wbc_high(f), _poor_prednisone_response(f)
    if wbc_high is not False or ppr is not False:
        # the sources' age wording decides high against medium only for an infant with a high-risk feature (or one
        # not recorded); without one it is medium either way, and the line would hide one that changes the plan
        out.disagree("interfant06-age-wording")
    if young is False:
        out.group(SCHEME, "medium", basis + [f"{_young()} or older at diagnosis: medium risk whatever the WBC and prednisone response"],
                  would_change="Nothing at diagnosis; MRD steers the next steps.")
        return
    if _wbc_at_cut_off(f) and ppr is not True:
        out.disagree("interfant06-wbc-cut-off")  # the group at exactly this count depends on the text followed
    wbc = f.wbc_at_diagnosis
    blasts = f.day8_blasts
    wbc_line = text.measurement("WBC at diagnosis", wbc, "x10^9/L") if wbc else None
    ppr_line = text.measurement("day-8 blood blasts", blasts, "x10^9/L") if blasts else None
    basis = basis + [f"younger than {_young()} at diagnosis"]
    if wbc_high or ppr:
        reasons = [line for line, hit in ((wbc_line, wbc_high), (ppr_line, ppr)) if hit]
        if ppr:
            reasons[-1] += " = poor prednisone response"
        out.group(SCHEME, "high", basis + reasons,
                  would_change=f"A corrected diagnostic WBC below {_wbc_limit()} together with a good prednisone response.")
        return
    if wbc_high is False and ppr is False:
        out.group(SCHEME, "medium", basis + [wbc_line, f"{ppr_line} = good prednisone response"],
                  would_change=f"A diagnostic WBC of {_wbc_limit()} or more, or a poor prednisone response, would make it high risk.")
        return
    # Medium vs high cannot be told apart: name what is missing, give no group.
    if wbc_high is None:
        out.missing("wbc-at-diagnosis", blocks=(SCHEME,))
    if ppr is None:
        out.missing("prednisone-response", blocks=(SCHEME,))


@rule("interfant-06")
def interfant_06(f: Facts, out: Findings) -> None:
    if not applies(f):
        return
    if not f.past_first_line:
        out.consider("interfant-protocol")
    basis = [_age_line(f)]
    if f.lineage is Lineage.T_ALL:
        # Interfant-21 excludes T-ALL and Interfant-06's eligibility for it is unverified: say so, do not hide it.
        out.caution("infant-t-all-protocol")
        basis.append("T-ALL: Interfant-06 eligibility unconfirmed (see caution)")
    status = f.kmt2a_status
    if status is Kmt2aStatus.NOT_DETECTED:
        out.group(SCHEME, "low", basis + [f"KMT2A germline: {f.evidence_text()}"],
                  would_change="A KMT2A rearrangement on repeat testing (cryptic insertions need FISH or RNA) would make it medium or high risk.")
    elif status is Kmt2aStatus.REARRANGED:
        _rearranged_group(f, out, basis + [f"KMT2A rearranged: {f.evidence_text()}"])
    elif status is Kmt2aStatus.UNKNOWN:
        kmt2a_status_missing(SCHEME, f, out)
    # Amplification and PTD are neither germline nor a rearrangement: Interfant-06 does not say; no group.


@rule("infant-mrd")
def infant_mrd(f: Facts, out: Findings) -> None:
    if applies(f) and f.kmt2a_status in (Kmt2aStatus.REARRANGED, Kmt2aStatus.NOT_DETECTED):
        mrd.after_induction(f, out, population=POPULATION)
        if _group(out) == "high" and out.has_consideration("continue-risk-adapted-chemotherapy"):
            # "Continue chemotherapy" beside a transplant card would read as a contradiction for high risk.
            out.consider("continue-risk-adapted-chemotherapy",
                         note="For Interfant-06 high risk the risk-adapted path still includes HSCT in first remission.")


def _group(out: Findings) -> str | None:
    """The Interfant-06 group decided earlier in this run, if any."""
    return next((g.group for g in out.risk_groups if g.scheme == SCHEME), None)


def _overview_hsct_reasons(f: Facts) -> list[str]:
    """The seed overview's transplant criteria (they differ from Interfant-06's high-risk group)."""
    reasons = []
    if f.dx_age.below(kb.threshold("overview_hsct_any_wbc_age_days")) is True:
        reasons.append(f"younger than {text.months(kb.threshold('overview_hsct_any_wbc_age_days'))} at diagnosis (any WBC)")
    if f.dx_age.below(kb.threshold("interfant06_young_age_days")) is True and _wbc_high(f):
        reasons.append(f"younger than {_young()} with WBC at or above {_wbc_limit()}")
    persistent = _persistent_mrd(f)
    if persistent:
        reasons.append(f"persistent MRD positivity ({'; '.join(map(text.mrd, persistent))})")
    return reasons


def _persistent_mrd(f: Facts) -> list:
    """Positive MRD on two or more sample dates (two assays of one sample are one time point, not persistence)."""
    by_date = {}
    for result in f.case.mrd_results:
        if result.source.date is not None and mrd_positive(result):
            by_date.setdefault(result.source.date, result)
    return [by_date[d] for d in sorted(by_date)] if len(by_date) >= 2 else []


def _interfant06_hsct_reasons(f: Facts, out: Findings) -> list[str]:
    reasons = []
    group = _group(out)
    if group == "high":
        reasons.append("high risk (HSCT in first remission was allocated to all high-risk patients)")
    late = [r for r in f.case.mrd_results if r.timepoint is MrdTimepoint.END_OF_CONSOLIDATION and mrd_positive(r)]
    if group == "medium" and late:
        limit = text.percent(kb.threshold("mrd_positive"))
        reasons.append(f"medium risk with MRD at or above {limit} before late consolidation ({text.mrd(late[-1])})")
    return reasons


def _timing_note(f: Facts) -> str:
    """When the infant reaches the transplant age (the age rule itself is in the consideration's text)."""
    birth, minimum = f.case.birth_date, kb.threshold("hsct_min_age_days")
    if birth and f.case.age_days is not None and f.case.age_days < minimum:
        ready = birth + timedelta(days=int(minimum))
        return f" The infant reaches {text.months(minimum)} on {text.day(ready)}."
    return ""


@rule("infant-hsct")
def infant_hsct(f: Facts, out: Findings) -> None:
    if not (applies(f) and f.rearranged) or f.past_first_line:
        return
    by_protocol = _interfant06_hsct_reasons(f, out)
    by_overview = _overview_hsct_reasons(f)
    if not (by_protocol or by_overview):
        return
    used = "; ".join(
        [f"Interfant-06: {r}" for r in by_protocol] + [f"expert overview: {r}" for r in by_overview]
    )
    out.consider("hsct-infant-timing", note=f"Criteria met: {used}.{_timing_note(f)}")
    if bool(by_protocol) != bool(by_overview):
        out.disagree("infant-hsct-criteria")


@rule("interfant-21")
def interfant_21(f: Facts, out: Findings) -> None:
    """Interfant-21 enrols at diagnosis: once induction is over the trial is named for information, not offered."""
    trial = kb.section("interfant21")
    if f.is_infant_at_dx() is not True or f.lineage.value not in trial["lineages"] or not f.rearranged:
        return
    if f.past_first_line:
        return
    since, window = f.days_since_diagnosis(), kb.threshold("end_of_induction_day")
    if since is not None and since > window:
        passed = trial["window_passed_text"].format(days=int(window))
        out.consider("clinical-trial", note=f"{trial['text']} {passed}", strength="info", population=POPULATION)
        return
    out.consider("clinical-trial", note=trial["text"], population=POPULATION)
