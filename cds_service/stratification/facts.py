"""Facts the rules read, derived once from the Case: ages, setting, the effective KMT2A status.

Ages for risk schemes are ages at diagnosis; drug eligibility uses the current age (contract). An age is an
interval when the diagnosis date is unknown, so a rule decides only when the whole interval falls on one side.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_mappings.case import (
    Case,
    DiseaseStatus,
    Kmt2aFinding,
    Kmt2aStatus,
    Lineage,
    Measurement,
    MrdResult,
)
from cds_service.stratification import kb
from fhir_mappings.patient import DAYS_PER_YEAR, age_years
from cds_service.stratification.text import kmt2a_results

UNCONFIRMED_AMBIGUITIES = frozenset({"t11-17-may-be-apl"})  # a karyotype alone cannot call these KMT2A-r


@dataclass(frozen=True)
class AgeRange:
    """Age at diagnosis in days, as [low, high]; None bounds are unknown."""

    low: int | None
    high: int | None

    @property
    def exact(self) -> int | None:
        return self.low if self.low is not None and self.low == self.high else None

    def below(self, days: float) -> bool | None:
        """True/False when the whole range is below/at-or-above `days`; None when it straddles or is unknown."""
        if self.high is not None and self.high < days:
            return True
        if self.low is not None and self.low >= days:
            return False
        return None


@dataclass(frozen=True)
class Facts:
    case: Case
    dx_age: AgeRange
    dx_age_years: int | None
    age_years: int | None  # current age, for drug eligibility
    kmt2a_status: Kmt2aStatus  # effective: conflicts and unconfirmed karyotypes count as unknown
    kmt2a_unconfirmed: bool  # a rearrangement suggested only by an ambiguous karyotype
    partner: str | None
    candidate_partners: tuple[str, ...]

    # --- derived views -------------------------------------------------------------------------
    @property
    def lineage(self) -> Lineage:
        return self.case.lineage

    @property
    def lineage_at_diagnosis(self) -> Lineage:
        """The lineage the risk schemes classify: the one at initial diagnosis. After a lineage switch (B-ALL back
        as AML) that is the first lineage; an AML scheme never classifies an ALL that switched."""
        return self.case.original_lineage if self.case.lineage_switch else self.case.lineage

    @property
    def has_leukemia(self) -> bool:
        return bool(self.case.diagnoses) or bool(self.case.kmt2a.findings)

    @property
    def relapsed_or_refractory(self) -> bool:
        return self.case.disease_status in (DiseaseStatus.RELAPSED, DiseaseStatus.REFRACTORY)

    @property
    def past_first_line(self) -> bool:
        """First-line steps (end-of-induction MRD, HSCT in first remission, a trial that enrols at diagnosis) are
        past: after a relapse, and after a lineage switch (itself a relapse) even when the chart now says remission."""
        return self.relapsed_or_refractory or self.case.lineage_switch

    @property
    def kmt2a_status_due(self) -> bool:
        """Whether an unknown KMT2A status decides anything now: not for a leukemia in remission long after its
        diagnosis (its first-remission decisions are made; a relapse is tested then)."""
        since = self.days_since_diagnosis()
        return not (self.case.disease_status is DiseaseStatus.IN_REMISSION and since is not None
                    and since > kb.threshold("kmt2a_status_due_in_remission_days"))

    @property
    def setting(self) -> str:
        if self.relapsed_or_refractory:
            return "relapsed-refractory"
        if self.case.disease_status in (DiseaseStatus.NEWLY_DIAGNOSED, DiseaseStatus.IN_REMISSION):
            return "newly-diagnosed"
        return "unknown"

    @property
    def kmt2a_confirmed(self) -> bool:
        """A rearrangement proven by FISH or a molecular test (not only suggested by a karyotype)."""
        return self.rearranged and any(map(_confirmed, self.case.kmt2a.findings))

    @property
    def rearranged(self) -> bool:
        return self.kmt2a_status is Kmt2aStatus.REARRANGED

    def is_infant_at_dx(self) -> bool | None:
        return self.dx_age.below(kb.threshold("infant_max_days"))

    def is_adult_at_dx(self) -> bool | None:
        if self.dx_age_years is not None:
            return self.dx_age_years >= kb.threshold("adult_min_years")
        below = self.dx_age.below(kb.threshold("adult_min_years") * DAYS_PER_YEAR)
        return None if below is None else not below

    @property
    def age_group(self) -> str:
        """From the age at diagnosis when known, else from the current age (contract)."""
        days = self.dx_age.exact if self.dx_age.exact is not None else self.case.age_days
        years = self.dx_age_years if self.dx_age.exact is not None else self.age_years
        if days is None:
            return "unknown"
        if days < kb.threshold("infant_max_days"):
            return "infant"
        if years is None:
            years = age_years(None, None, days)
        return "adult" if years >= kb.threshold("adult_min_years") else "child"

    @property
    def wbc_at_diagnosis(self) -> Measurement | None:
        return self.case.wbc_at_diagnosis

    @property
    def day8_blasts(self) -> Measurement | None:
        return self.case.day8_blood_blasts

    @property
    def mrd_eoi(self) -> MrdResult | None:
        return self.case.mrd_end_of_induction

    def days_since_diagnosis(self) -> int | None:
        dx = self.case.diagnosis_date
        return (self.case.reference_date - dx).days if dx else None

    def window_passed(self, code: str) -> bool:
        """Has the time window of a time-bound input (rules.json missing_data `window`) passed? After a relapse it
        has; with an unknown diagnosis date it cannot be told, and the input is still asked for."""
        window = kb.missing_data(code).get("window")
        if window is None:
            return False
        if self.past_first_line:
            return True
        since = self.days_since_diagnosis()
        return since is not None and since > kb.param(window["param"])[1]

    def evidence_text(self) -> str:
        """'karyotype and FISH on 3 Sep 2026' for a basis line: results by method and date, never by FHIR id."""
        return kmt2a_results(self.case.kmt2a.findings, self.case.kmt2a.status) or "no KMT2A result"


def at_or_above(value: float, comparator: str | None, limit: float) -> bool | None:
    """Whether a reported value is at or above a limit; None when its comparator cannot tell
    ("<0.05 %" against a lower threshold, or ">250" against a higher one)."""
    if comparator in ("<", "<="):
        return False if value <= limit else None
    if comparator in (">", ">="):
        return True if value >= limit else None
    return value >= limit


def mrd_positive(result: MrdResult) -> bool | None:
    """Positive at or above the knowledge threshold (the only MRD comparison in the service, made by the ALL rules;
    the AML rules only name their flow threshold); the lab's coded interpretation counts when the value cannot tell
    (a "<" value above the threshold) or is absent."""
    if result.value is not None:
        decided = at_or_above(result.value, result.comparator, kb.threshold("mrd_positive"))
        if decided is not None:
            return decided
    return result.positive


def _dx_age(case: Case) -> tuple[AgeRange, int | None]:
    if case.age_at_diagnosis_days is not None:
        years = age_years(case.birth_date, case.diagnosis_date, case.age_at_diagnosis_days)
        return AgeRange(case.age_at_diagnosis_days, case.age_at_diagnosis_days), years
    # Diagnosis date unknown: the age at diagnosis is at most the current age.
    return AgeRange(0 if case.age_days is not None else None, case.age_days), None


def _confirmed(finding: Kmt2aFinding) -> bool:
    return finding.method in ("fish", "molecular") and finding.status is Kmt2aStatus.REARRANGED


def _effective_status(case: Case) -> tuple[Kmt2aStatus, bool]:
    summary = case.kmt2a
    if summary.conflicts:
        return Kmt2aStatus.UNKNOWN, False
    ambiguous = UNCONFIRMED_AMBIGUITIES.intersection(summary.ambiguities) or any(
        f.ambiguity in UNCONFIRMED_AMBIGUITIES for f in summary.findings
    )
    if summary.status is Kmt2aStatus.REARRANGED and ambiguous and not any(map(_confirmed, summary.findings)):
        return Kmt2aStatus.UNKNOWN, True
    if summary.status is Kmt2aStatus.NOT_DETECTED and summary.findings and all(
        f.method == "karyotype" for f in summary.findings
    ):
        return Kmt2aStatus.UNKNOWN, False  # a normal karyotype misses cryptic KMT2A insertions: not germline yet
    return summary.status, False


def facts_from_case(case: Case) -> Facts:
    dx_age, dx_years = _dx_age(case)
    status, unconfirmed = _effective_status(case)
    candidates = tuple(dict.fromkeys(p for f in case.kmt2a.findings for p in f.candidate_partners))
    return Facts(
        case=case,
        dx_age=dx_age,
        dx_age_years=dx_years,
        age_years=age_years(case.birth_date, case.reference_date),
        kmt2a_status=status,
        kmt2a_unconfirmed=unconfirmed,
        partner=case.kmt2a.partner if status is Kmt2aStatus.REARRANGED else None,
        candidate_partners=candidates if status is Kmt2aStatus.REARRANGED or unconfirmed else (),
    )
