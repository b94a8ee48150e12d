"""On-treatment monitoring of a patient already on revumenib: Case -> `Monitoring` (data only, no words).

Used by the order checks (a continuation order) and by patient-view (the monitoring card). What it judges, all
from knowledge/menin_inhibitors.json "on_treatment" (label thresholds tagged U: the card says to verify):
- the latest QTcF against the interrupt limits (above 500 ms or a rise of more than 60 ms from the last ECG
  before the start; 481-500 ms), a non-Fridericia QTc above the limit asks for a QTcF;
- the ECG schedule (weekly for the first 4 weeks, then monthly) against the dates of the ECGs on record;
- potassium and magnesium: recent and not low;
- the dose of the active order against the label dose for today's weight and inhibitors (a strong CYP3A4
  inhibitor started after the revumenib order leaves it above the label dose).
Finding codes are keys of card_policy.json "order_checks" (the indicator is decided there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cds_service.orders import doses
from cds_service.stratification import menin_inhibitors as revumenib
from fhir_mappings.case import Case, Measurement

FRIDERICIA = "QTcF"


@dataclass(frozen=True)
class QtcAction:
    """The label's action for the latest QTcF (a row of the knowledge table), with the values that chose it."""

    rule: dict  # {"code", "text", "action", "resume", "tag", ...}
    reading: Measurement
    baseline: Measurement | None = None
    rise_ms: float | None = None


@dataclass(frozen=True)
class EcgSchedule:
    last: Measurement | None  # the latest ECG (any QTc method)
    interval_days: int  # 7 in the first 4 weeks, then a month
    phase: str  # "weekly" | "monthly" | "start-unknown" (read as weekly: the start is not recorded)
    due: date | None  # when the next ECG was due (None: no ECG since the start)
    overdue: bool


@dataclass(frozen=True)
class Electrolyte:
    name: str  # "potassium" | "magnesium"
    reading: Measurement | None
    state: str  # "ok" | "low" | "missing" | "old"
    limit: float


@dataclass(frozen=True)
class Monitoring:
    drug: str
    since: date | None  # treatment start, when stated
    findings: tuple[str, ...]
    latest_qtc: Measurement | None
    qtc_action: QtcAction | None
    ecg: EcgSchedule
    electrolytes: tuple[Electrolyte, ...]
    sources: tuple[str, ...]
    dose: CurrentDose | None = None  # an active order above the label dose for today


@dataclass(frozen=True)
class CurrentDose:
    """An active order's dose that is above the label dose for the patient today."""

    ordered: doses.OrderedDose
    expected: revumenib.ExpectedDose


def current_dose(case: Case, drug: str = "revumenib") -> CurrentDose | None:
    """The first active order of `drug` whose dose is above the label dose for today's weight and inhibitors;
    a dose below it is not flagged (a reduction after a QTc interruption is the label's own step)."""
    expected = revumenib.expected_dose(case)
    for order in case.current_orders:
        if order.ingredient != drug:
            continue
        ordered = doses.ordered_dose(case, order)
        if ordered is not None and doses.compare(ordered, expected)[0] == "dose-too-high":
            return CurrentDose(ordered, expected)
    return None


def rules() -> dict:
    return revumenib.table("revumenib")["on_treatment"]


def _baseline(case: Case, since: date | None) -> Measurement | None:
    """The last QTcF before the first dose (the reference for a rise); None when the start is not known."""
    if since is None:
        return None
    before = [m for m in case.qtc_readings if m.method == FRIDERICIA and m.source.date and m.source.date < since]
    return before[-1] if before else None


def qtc_action(case: Case, since: date | None) -> QtcAction | None:
    """The first knowledge row the latest QTcF meets (rows run from the most to the least severe)."""
    qtc = case.qtc
    if qtc is None or qtc.method != FRIDERICIA:
        return None
    baseline = _baseline(case, since)
    rise = qtc.value - baseline.value if baseline is not None else None
    for row in rules()["qtc_actions"]:
        above = qtc.value > row["qtcf_above_ms"]
        risen = "rise_above_ms" in row and rise is not None and rise > row["rise_above_ms"]
        if above or risen:
            return QtcAction(row, qtc, baseline, rise)
    return None


def ecg_schedule(case: Case, since: date | None) -> EcgSchedule:
    plan = rules()["ecg_schedule"]
    today = case.reference_date
    # no start date: the first weeks cannot be ruled out, so the weekly interval applies (and the card says why)
    weekly = since is None or (today - since).days <= plan["weekly_for_days"]
    interval = plan["weekly_interval_days"] if weekly else plan["monthly_interval_days"]
    phase = "start-unknown" if since is None else "weekly" if weekly else "monthly"
    dated = [m for m in case.qtc_readings if m.source.date is not None]
    if not dated and case.qtc is not None and case.qtc.source.date is not None:
        dated = [case.qtc]
    last = max(dated, key=lambda m: m.source.date) if dated else case.qtc
    if last is None or last.source.date is None:
        return EcgSchedule(last, interval, phase, None, True)
    due = date.fromordinal(last.source.date.toordinal() + interval)
    return EcgSchedule(last, interval, phase, due, today > due)


def electrolytes(case: Case) -> tuple[Electrolyte, ...]:
    limits = revumenib.table("revumenib")["pre_start"]
    max_age = rules()["electrolyte_max_age_days"]["value"]
    out = []
    for name, key in (("potassium", "potassium_min_mmol_l"), ("magnesium", "magnesium_min_mmol_l")):
        reading: Measurement | None = getattr(case, name)
        limit = limits[key]["value"]
        if reading is None:
            state = "missing"
        elif reading.source.date is None or (case.reference_date - reading.source.date).days > max_age:
            state = "old"
        elif reading.value < limit:
            state = "low"
        else:
            state = "ok"
        out.append(Electrolyte(name, reading, state, limit))
    return tuple(out)


def monitoring(case: Case, drug: str = "revumenib") -> Monitoring | None:
    """What is due for a patient on revumenib; None when the patient is not on it."""
    if drug != "revumenib" or not revumenib.on_treatment(case, drug):
        return None
    since = revumenib.treatment_start(case, drug)
    action = qtc_action(case, since)
    schedule = ecg_schedule(case, since)
    salts = electrolytes(case)
    limit = rules()["interrupt_limit_ms"]["value"]
    findings = []
    if action is not None:
        findings.append("qtcf-above-interrupt-limit")
    elif case.qtc is not None and case.qtc.method != FRIDERICIA and case.qtc.value > limit:
        findings.append("qtc-above-limit-not-fridericia")
    if schedule.overdue:
        findings.append("ecg-overdue")
    if any(e.state == "low" for e in salts):
        findings.append("electrolytes-low")
    if any(e.state in ("missing", "old") for e in salts):
        findings.append("electrolytes-missing")
    dose = current_dose(case, drug)
    if dose is not None:
        findings.insert(0, "current-dose-above-label")
    return Monitoring(drug, since, tuple(findings), case.qtc, action, schedule, salts,
                      tuple(dict.fromkeys([revumenib.table(drug)["source"]])), dose)
