"""Menin-inhibitor eligibility and the expected revumenib dose, read from one knowledge table.

Used by the order checks (is this order indicated, is the dose right) and by the patient-view
rules (the `menin-inhibitor` consideration and its dosing summary). Pure functions of the Case:

    eligibility(case, drug="revumenib") -> Eligibility
    expected_dose(case, extra_inhibitors=()) -> ExpectedDose   (value None when it cannot be computed)
    dispensable_dose(mg) -> float                              (nearest amount of whole tablets)

Every number comes from knowledge/menin_inhibitors.json (label numbers tagged [U]: callers show
`VERIFY_TEXT`). Missing facts are named with the contract's missing-data codes, never guessed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Iterable

from cds_service import knowledge
from fhir_mappings import patient
from fhir_mappings.case import Case, DiseaseStatus, Kmt2aStatus, Lineage, Measurement
from cds_service.stratification.text import day, number  # a number as cards write it: 95, 0.9, 163.5

RELAPSED_REFRACTORY = {DiseaseStatus.RELAPSED, DiseaseStatus.REFRACTORY}
KMT2A_NOT_REARRANGED_REASON = {
    Kmt2aStatus.AMPLIFIED: "kmt2a-amplified-not-rearrangement",
    Kmt2aStatus.PTD: "kmt2a-ptd-not-rearrangement",
    Kmt2aStatus.NOT_DETECTED: "kmt2a-not-detected",
    Kmt2aStatus.UNKNOWN: "kmt2a-status-unknown",
}


def table(drug: str = "revumenib") -> dict:
    """The knowledge entry of a menin inhibitor ("revumenib", "ziftomenib")."""
    return knowledge.load("menin_inhibitors.json")[drug]


def dosing() -> dict:
    return table("revumenib")["dosing"]


VERIFY_TEXT: str = dosing()["verify_text"]
# Below this an ordered and an expected amount are the same dose (BSA rounding, float noise), not a difference.
ROUNDING_MG = 0.5


@dataclass(frozen=True)
class Eligibility:
    verdict: str  # "eligible" | "off-label-age" | "not-indicated" | "cannot-check"
    reasons: tuple[str, ...] = ()  # codes, e.g. "kmt2a-rearranged", "kmt2a-ptd-not-rearrangement"
    missing_data: tuple[str, ...] = ()  # contract missing-data codes
    indication: str | None = None  # the matched indication code, e.g. "kmt2a-translocation"
    sources: tuple[str, ...] = ()  # knowledge source keys behind the verdict


@dataclass(frozen=True)
class ExpectedDose:
    """The label dose for this patient, per dose, in mg (mg/m2 rows already multiplied by the BSA)."""

    value: float | None  # None: cannot be computed, see missing_data
    unit: str = "mg"
    frequency: str | None = None
    doses_per_day: float | None = None
    basis: str | None = None  # "95 mg/m2 x 1.1 m2", or for flat doses "weight 62 kg >= 40 kg"
    why: str | None = None  # the row's choice in words: "weight 25 kg < 40 kg, strong CYP3A4 inhibitor (posaconazole)"
    reasons: tuple[str, ...] = ()  # "weight-under-40kg", "strong-cyp3a4-inhibitor:posaconazole"
    missing_data: tuple[str, ...] = ()
    per_m2: float | None = None  # the table's mg/m2 value for patients under 40 kg
    tablets_mg: float | None = None  # value rounded to whole tablets (what a corrected order uses)
    source: str | None = None
    tag: str | None = None
    rests_on: tuple[Measurement, ...] = ()  # the weight (and, for mg/m2 rows, the BSA) the dose was computed from


# --- eligibility -----------------------------------------------------------------------------------


def age_years(case: Case) -> int | None:
    """Completed years on the reference date (birth date first, else the age in days)."""
    return patient.age_years(case.birth_date, case.reference_date, case.age_days)


def current_uses(case: Case, drug: str = "revumenib") -> tuple:
    """The patient's uses of `drug` that make them on treatment: an active order or statement, or an
    administration within the knowledge table's window (not the draft orders of this call)."""
    drafts = {o.reference for o in case.draft_orders}
    ingredient = table(drug)["ingredient"]
    window = table("revumenib")["on_treatment"]["administration_window_days"]["value"]

    def recent(m) -> bool:
        when = m.end or m.start
        return m.kind == "administration" and when is not None and 0 <= (case.reference_date - when).days <= window

    return tuple(m for m in case.medications if m.ingredient == ingredient and m.source.reference not in drafts
                 and (m.active or recent(m)))


def on_treatment(case: Case, drug: str = "revumenib") -> bool:
    """The patient already takes `drug` (an active order, statement or recent administration, not a draft)."""
    return bool(current_uses(case, drug))


def treatment_start(case: Case, drug: str = "revumenib") -> date | None:
    """The earliest start date among the uses that make the patient on treatment (None: not stated)."""
    starts = [m.start for m in current_uses(case, drug) if m.start is not None]
    return min(starts) if starts else None


def _npm1_mutated(case: Case) -> bool | None:
    findings = case.finding("NPM1")
    if any(f.present and f.kind == "variant" for f in findings):
        return True
    return False if findings else None


def _match_indication(case: Case, indication: dict) -> tuple[bool, list[str], list[str]]:
    """(matches, reasons, missing) for the genetic and lineage part of one indication."""
    if "kmt2a_status" in indication:
        status = case.kmt2a.status
        if status.value == indication["kmt2a_status"]:
            return True, ["kmt2a-rearranged"], []
        reasons = [KMT2A_NOT_REARRANGED_REASON.get(status, f"kmt2a-{status.value}")]
        if case.kmt2a.conflicts:
            reasons.append("kmt2a-results-conflict")
        reasons += list(case.kmt2a.ambiguities)  # e.g. "t11-17-may-be-apl": why the status stays unknown
        return False, reasons, ["kmt2a-status"] if status is Kmt2aStatus.UNKNOWN else []
    npm1 = _npm1_mutated(case)
    if npm1 is False:
        return False, ["npm1-not-mutated"], []
    if npm1 is None:
        # Untested is not "not mutated": for AML (or an unrecorded lineage) name the NPM1 result as missing.
        may_be_aml = case.lineage in (Lineage.AML, Lineage.UNKNOWN)
        return False, ["npm1-status-unknown"], ["npm1"] if may_be_aml else []
    lineages = indication["lineages"]
    if lineages == "any" or case.lineage.value in lineages:
        return True, ["npm1-mutated-aml"], []
    if case.lineage is Lineage.UNKNOWN:
        return False, ["npm1-mutated-lineage-unknown"], ["lineage"]
    return False, [f"npm1-mutated-but-{case.lineage.value}"], []


def _setting(case: Case, continuing: bool) -> tuple[str, list[str], list[str]]:
    """("ok"|"not-indicated"|"cannot-check", reasons, missing) for the relapsed/refractory setting."""
    status = case.disease_status
    if status in RELAPSED_REFRACTORY:
        return "ok", [status.value], []
    if continuing:
        return "ok", ["continuation-of-current-therapy"], []
    if status is DiseaseStatus.UNKNOWN:
        return "cannot-check", [], ["disease-status"]
    # First-line use or maintenance in remission is outside the label (relapsed/refractory only).
    return "not-indicated", [f"not-relapsed-refractory:{status.value}"], []


def eligibility(case: Case, drug: str = "revumenib") -> Eligibility:
    """Does the label indication of `drug` fit this patient? Uses the current age (contract)."""
    entry = table(drug)
    reasons: list[str] = []
    missing: list[str] = []
    matched = None
    for indication in entry["indications"]:
        ok, why, lacking = _match_indication(case, indication)
        if ok:
            matched, reasons, missing = indication, why, []
            break
        reasons += why
        missing += lacking
    if matched is None:
        # NPM1-mutated disease of unknown lineage may still be AML: ask, do not judge.
        verdict = "cannot-check" if "lineage" in missing else "not-indicated"
        return Eligibility(verdict, tuple(dict.fromkeys(reasons)), tuple(dict.fromkeys(missing)), None,
                           tuple(i["source"] for i in entry["indications"]))

    setting, why, lacking = _setting(case, on_treatment(case, drug))
    reasons += why
    missing += lacking
    minimum = matched.get("minimum_age_years") or entry.get("minimum_age_years", {}).get("value")
    years = age_years(case)
    age_ok = True
    if years is None:
        missing.append("age")
    elif minimum is not None and years < minimum:
        age_ok = False
        reasons.append(f"age-under-{minimum}-year{'s' if minimum > 1 else ''}")

    if setting == "not-indicated":
        verdict = "not-indicated"
    elif not age_ok:
        verdict = "off-label-age"
    elif missing:
        verdict = "cannot-check"
    else:
        verdict = "eligible"
    return Eligibility(verdict, tuple(reasons), tuple(missing), matched["code"], (matched["source"],))


# --- dose ------------------------------------------------------------------------------------------


def strong_cyp3a4_inhibitors(case: Case, extra_inhibitors: Iterable[str] = ()) -> tuple[str, ...]:
    """Ingredient names of strong CYP3A4 inhibitors among active medications, plus `extra_inhibitors`
    (e.g. the other draft orders), sorted and without repeats."""
    klass = dosing()["inhibitor_class"]
    names = {m.ingredient for m in case.active_medications_in(klass)}
    names.update(extra_inhibitors)
    return tuple(sorted(names))


def _row(band: str, inhibitor: bool) -> dict:
    for row in dosing()["rows"]:
        if row["band"] == band and row["strong_cyp3a4_inhibitor"] == inhibitor:
            return row
    raise LookupError(f"no revumenib dosing row for {band}, inhibitor={inhibitor}")


def dosing_bsa(case: Case) -> float | None:
    """The BSA to 0.01 m2, as dosed in clinic, so every "mg/m2 x m2" shown multiplies out."""
    return round(case.bsa.value, 2) if case.bsa is not None else None


def expected_dose(case: Case, extra_inhibitors: Iterable[str] = ()) -> ExpectedDose:
    """The revumenib dose the label table gives for this patient's weight, BSA and inhibitors."""
    table_ = dosing()
    inhibitors = strong_cyp3a4_inhibitors(case, extra_inhibitors)
    inhibitor_reasons = tuple(f"strong-cyp3a4-inhibitor:{name}" for name in inhibitors)
    if case.weight is None:
        return ExpectedDose(None, reasons=inhibitor_reasons, missing_data=("weight",))
    threshold = table_["weight_threshold_kg"]
    band = "weight-40kg-or-more" if case.weight.value >= threshold else "weight-under-40kg"
    row = _row(band, bool(inhibitors))
    common = dict(frequency=row["frequency"], doses_per_day=row["doses_per_day"],
                  reasons=(band,) + inhibitor_reasons, source=row["source"], tag=row["tag"])
    dated = f" on {day(case.weight.source.date)}" if case.weight.source.date else " (undated)"
    why = f"weight {number(case.weight.value)} kg{dated} {'>=' if band == 'weight-40kg-or-more' else '<'} {threshold} kg"
    if inhibitors:
        why += f", strong CYP3A4 inhibitor ({', '.join(inhibitors)})"
    common["why"] = why
    if row["unit"] == "mg":
        return ExpectedDose(float(row["value"]), basis=why, tablets_mg=dispensable_dose(row["value"]),
                            rests_on=(case.weight,), **common)
    if case.bsa is None:
        return ExpectedDose(None, per_m2=float(row["value"]), missing_data=("height",), rests_on=(case.weight,), **common)
    common["rests_on"] = (case.weight, case.bsa)
    bsa = dosing_bsa(case)
    value = row["value"] * bsa
    return ExpectedDose(round(value, 1), basis=f"{number(row['value'])} mg/m2 x {number(bsa)} m2",
                        per_m2=float(row["value"]), tablets_mg=dispensable_dose(value), **common)


@lru_cache(maxsize=1)
def _tablet_combinations() -> dict[float, tuple[int, ...]]:
    """Amount -> the fewest whole tablets (strengths, largest first) that make it."""
    strengths = sorted(dosing()["tablet_strengths_mg"]["values"], reverse=True)
    most = dosing()["max_tablets_per_dose"]
    best: dict[float, tuple[int, ...]] = {}
    for n in range(1, most + 1):
        for combo in itertools.combinations_with_replacement(strengths, n):
            best.setdefault(float(sum(combo)), combo)
    return best


def _tablet_amounts() -> tuple[float, ...]:
    return tuple(sorted(_tablet_combinations()))


def tablets_for(mg: float) -> str | None:
    """How a whole-tablet amount is made: "1 x 160 mg + 1 x 110 mg"; None if it is not one."""
    combo = _tablet_combinations().get(float(mg))
    if combo is None:
        return None
    counts = {strength: combo.count(strength) for strength in dict.fromkeys(combo)}
    return " + ".join(f"{count} x {strength:g} mg" for strength, count in counts.items())


def dispensable_dose(mg: float) -> float:
    """The amount of whole tablets nearest to `mg` (ties go to the lower amount)."""
    return float(min(_tablet_amounts(), key=lambda amount: (abs(amount - mg), amount)))


def is_tablet_rounding(ordered_mg: float, expected_mg: float) -> bool:
    """The ordered amount is the expected one, or a whole-tablet amount right below or above it: rounding,
    not a different dose (only such an order may be said to match the label dose)."""
    amounts = _tablet_amounts()
    below = max((a for a in amounts if a <= expected_mg), default=expected_mg)
    above = min((a for a in amounts if a >= expected_mg), default=expected_mg)
    return abs(ordered_mg - expected_mg) <= ROUNDING_MG or any(abs(ordered_mg - a) < 1e-6 for a in (below, above))


def tolerance_text() -> str:
    """The local tolerance in words: "within 10 % (local policy, verify)"."""
    tol = dosing()["tolerance"]
    return f"within {tol['fraction'] * 100:g} % (local policy, verify)"


def is_dispensable(mg: float) -> bool:
    """Whole tablets (at most the table's number a dose) make exactly this amount."""
    return any(abs(mg - amount) < 1e-6 for amount in _tablet_amounts())


def nearest_dispensable(mg: float) -> tuple[float, ...]:
    """The whole-tablet amounts right below and right above `mg` (one when `mg` is outside the range)."""
    amounts = _tablet_amounts()
    below = [a for a in amounts if a < mg]
    above = [a for a in amounts if a > mg]
    return tuple(x for x in ((max(below) if below else None), (min(above) if above else None)) if x is not None)


def stale_measurements(expected: ExpectedDose, on: date) -> tuple[Measurement, ...]:
    """The weight or BSA behind a BSA-based dose that is older than the table allows (or undated): the dose may
    no longer fit the child. A flat dose only needs the weight band and is not judged here."""
    if expected.per_m2 is None:
        return ()
    limit = dosing()["weight_max_age_days"]["value"]
    by_source = {m.source: m for m in expected.rests_on}  # a Mosteller BSA carries the weight's source
    return tuple(m for m in by_source.values() if m.source.date is None or (on - m.source.date).days > limit)


def within_tolerance(ordered_mg: float, expected_mg: float, in_mg: bool = True) -> bool:
    """Ordered vs expected per dose: within the table's fraction, or (amounts in mg) the whole-tablet amount the
    rounding rule gives for the expected dose. No absolute floor: a dose no tablets make is never "the dose"."""
    tol = dosing()["tolerance"]
    if in_mg and abs(ordered_mg - dispensable_dose(expected_mg)) < 1e-6:
        return True
    return abs(ordered_mg - expected_mg) <= tol["fraction"] * expected_mg + 1e-9
