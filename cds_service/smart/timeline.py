"""The patient's disease over time, for the chart: WBC, blasts and MRD results, and the events that frame them.

Every value is read by `fhir_mappings` exactly as the hooks read it (the same routing, readers, units and
plausibility ranges; a resource that fails R4 validation is left out here as it is there), from the same
resources the Case was built from. Transplants are the Case's (`fhir_mappings.transplants`), found among the
Procedures of the hook's prefetch (the `procedures` key of hooks.json).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterable

from fhir_mappings import conditions, observations, routing
from fhir_mappings.case import Case, DiseaseStatus, Measurement
from fhir_mappings.resources import collect
from fhir_mappings.validation import validated

# What each chart panel shows, in the order drawn; kind -> (panel, series label).
SERIES = {
    "wbc": ("wbc", "WBC"),
    "blasts-blood-percent": ("blasts", "Blasts, blood"),
    "blasts-marrow-percent": ("blasts", "Blasts, bone marrow"),
    "qtc": ("qtc", "QTc"),
}
RELAPSE_STATUSES = {DiseaseStatus.RELAPSED, DiseaseStatus.REFRACTORY}


@dataclass(frozen=True)
class Point:
    panel: str  # "wbc" | "blasts" | "mrd" | "qtc"
    series: str  # "WBC", "Blasts, bone marrow", "MRD (flow)" ...
    when: date
    value: float | None  # canonical unit (fractions for blasts and MRD); None: no number (coded MRD result)
    display: str  # "12.5 x10^9/L", "<0.01 %", "negative (no value)"
    below_detection: bool = False  # "<" results: drawn open, at the reported limit


@dataclass(frozen=True)
class Event:
    kind: str  # "diagnosis" | "relapse" | "hsct" | "menin-inhibitor"
    when: date
    label: str  # "Diagnosis", "Relapse", "HSCT", "Revumenib start"


@dataclass(frozen=True)
class Timeline:
    points: tuple[Point, ...]
    events: tuple[Event, ...]
    undated: int = 0  # results without a date: not on the chart, counted in the text

    def panel(self, name: str) -> tuple[Point, ...]:
        return tuple(p for p in self.points if p.panel == name)


def build(case: Case, resources_: Iterable[dict]) -> Timeline:
    """The timeline of `case` from the resources it was built from (Bundles allowed, as in the prefetch)."""
    pool = collect(list(resources_), case.patient_id)
    points, undated = _lab_points(pool.resources)
    mrd_points = [_mrd_point(r) for r in case.mrd_results if r.source.date]
    undated += sum(1 for r in case.mrd_results if not r.source.date)
    events = _events(case, pool.resources)
    ordered = sorted([*points, *(p for p in mrd_points if p)], key=lambda p: (p.when, p.panel, p.series))
    return Timeline(tuple(ordered), tuple(sorted(set(events), key=lambda e: (e.when, e.kind))), undated)


def _lab_points(items: list[dict]) -> tuple[list[Point], int]:
    points, undated, ignored = [], 0, []
    for resource in items:
        family, kind = routing.route(resource)
        if family != "lab" or kind not in (*SERIES, "blasts-blood"):
            continue
        if validated(resource)[0] is None:
            continue
        for reading in observations.read(resource, kind, ignored):
            if reading.kind not in SERIES:
                continue
            m = reading.measurement
            if m.source.date is None:
                undated += 1
                continue
            panel, series = SERIES[reading.kind]
            if reading.kind == "qtc" and m.method:
                series = m.method
            points.append(Point(panel, series, m.source.date, m.value, _display(reading.kind, m),
                                m.comparator in ("<", "<=")))
    return points, undated


def _display(kind: str, m: Measurement) -> str:
    comparator = m.comparator or ""
    if kind == "wbc":
        return f"{comparator}{_number(m.value)} x10^9/L"
    if kind == "qtc":
        return f"{comparator}{_number(m.value)} ms"
    return f"{comparator}{_number(m.value * 100)} %"


def _mrd_point(result) -> Point | None:
    method = {"flow": "flow", "pcr": "PCR", "ngs": "NGS"}.get(result.method.value)
    series = f"MRD ({method})" if method else "MRD"
    if result.value is not None:
        display = f"{result.comparator or ''}{_number(result.value * 100)} %"
        below = result.comparator in ("<", "<=")
    else:
        display = {True: "positive (no value)", False: "negative (no value)"}.get(result.positive, "not readable")
        below = False
    if result.positive is not None and result.value is not None:
        display += ", positive" if result.positive else ", negative"
    return Point("mrd", series, result.source.date, result.value, display, below)


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.4g}"


def _events(case: Case, items: list[dict]) -> list[Event]:
    events = []
    if case.diagnosis_date:
        events.append(Event("diagnosis", case.diagnosis_date, "Diagnosis"))
    for d in case.diagnoses:
        when = d.onset if d.status in RELAPSE_STATUSES and d.onset and d.onset != case.diagnosis_date else d.recorded
        if d.status in RELAPSE_STATUSES and when and when != case.diagnosis_date:
            events.append(Event("relapse", when, "Relapse" if d.status == DiseaseStatus.RELAPSED else "Refractory"))
    for resource in items:
        if routing.route(resource)[0] == "disease-status" and validated(resource)[0] is not None:
            status, source = conditions.status_observation(resource)
            if status in ("relapsed", "refractory") and source.date:
                events.append(Event("relapse", source.date, "Relapse" if status == "relapsed" else "Refractory"))
    events += [Event("hsct", t.date, "HSCT") for t in case.transplants if t.date]
    starts: dict[str, date] = {}
    for use in case.exposures_to("menin-inhibitor"):
        if use.start and (use.ingredient not in starts or use.start < starts[use.ingredient]):
            starts[use.ingredient] = use.start
    events += [Event("menin-inhibitor", when, f"{name.capitalize()} start") for name, when in starts.items()]
    return events

