"""What the case summary page shows, built with the hooks' own code.

The patient's chart is read from the EHR's FHIR server with the patient-view service's prefetch templates (from
hooks.json, through `cds_service.hooks.prefetch`; its Procedures bring the transplant dates). The Case comes
from `cds_service.hooks.call.case_of` and the assessment from `cds_service.stratification.assess`, exactly as for a
patient-view call; this module only arranges their content for the page. Nothing here is stored.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date

from cds_service import knowledge
from cds_service.cards import assessment_cards  # a module, not a name: it imports cds_service.smart
from cds_service.hooks import prefetch
from cds_service.hooks.call import HookCall, case_of
from cds_service.hooks.registry import Registry
from cds_service.smart import chart, timeline
from cds_service.stratification import assess, kb, text
from cds_service.stratification.assessment import Assessment
from fhir_mappings.case import Case

HOOK = "patient-view"
TAG_WORDS = kb.section("tags")  # the claim tags in words, as rules.json defines them
STRENGTH_WORDS = {"consider": "Consider", "avoid": "Avoid", "info": "For information"}
SETTING_WORDS = {"newly-diagnosed": "newly diagnosed", "relapsed-refractory": "relapsed or refractory",
                 "unknown": "disease status not recorded"}
KMT2A_WORDS = {"rearranged": "KMT2A rearranged", "amplified": "KMT2A amplified (not a rearrangement)",
               "ptd": "KMT2A partial tandem duplication (not a rearrangement)",
               "not-detected": "no KMT2A alteration detected", "unknown": "KMT2A status unknown"}
# "(Observation/obs-7 of 2026-03-02)" -> "(2026-03-02)": the page quotes results by content and date, not by id.
_REFERENCE = re.compile(r"\b(?:Observation|DiagnosticReport|Condition|Patient|Procedure|Medication\w*|Specimen|"
                        r"ServiceRequest)/[A-Za-z0-9\-.]{1,64}(?: of (\d{4}-\d{2}-\d{2}))?")


class ChartUnavailable(Exception):
    """The patient record itself could not be read: there is nothing to summarise."""


@dataclass(frozen=True)
class Source:
    label: str
    url: str | None


@dataclass(frozen=True)
class Claim:
    """A consideration, caution or missing item as the page shows it."""

    code: str
    title: str
    text: str
    tag: str | None = None
    tag_words: str | None = None
    evidence_level: str | None = None
    strength: str | None = None
    sources: tuple[Source, ...] = ()
    extra: tuple[str, ...] = ()  # further lines (patient-specific note, what it blocks, what to order)


@dataclass(frozen=True)
class RiskLine:
    scheme: str
    group: str
    title: str  # "Interfant-06 high risk"
    basis: tuple[str, ...]
    would_change: str | None
    tag: str | None
    tag_words: str | None
    sources: tuple[Source, ...]


@dataclass
class Summary:
    assessment: Assessment
    case: Case
    timeline: timeline.Timeline
    unavailable: tuple[str, ...] = ()
    header: dict = field(default_factory=dict)
    risk_groups: list[RiskLine] = field(default_factory=list)
    considerations: list[Claim] = field(default_factory=list)
    cautions: list[Claim] = field(default_factory=list)
    missing: list[Claim] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    chart_svg: str = ""
    chart_text: str = ""
    table: list[tuple[str, str, str, str]] = field(default_factory=list)  # (date, what, result, panel or "event")


def read_chart(registry: Registry, fhir_server: str, access_token: str, patient_id: str,
               settings: prefetch.FetchSettings, reference_date: date) -> Summary:
    """Read the patient's chart with the launch's token and build the page's content."""
    templates = _patient_view(registry).prefetch
    request = {"context": {"patientId": patient_id}, "fhirServer": fhir_server,
               "fhirAuthorization": {"access_token": access_token, "token_type": "Bearer", "patient": patient_id}}
    fetched = prefetch.resolve(templates, request, settings)
    if fetched.data.get("patient") is None:
        raise ChartUnavailable("The patient record could not be read from the EHR.")
    call = HookCall(service_id="case-summary", hook=HOOK, hook_instance=str(uuid.uuid4()),
                    context={"patientId": patient_id}, prefetch=fetched.data, reference_date=reference_date,
                    unavailable=tuple(sorted(fetched.unavailable)))
    case = case_of(call)
    return summarise(case, assess(case), [v for v in fetched.data.values() if v], call.unavailable)


def summarise(case: Case, assessment: Assessment, resources: list[dict], unavailable: tuple[str, ...] = ()) -> Summary:
    summary = Summary(assessment, case, timeline.build(case, resources), unavailable)
    summary.header = _header(case, assessment)
    summary.risk_groups = [_risk_line(g) for g in assessment.risk_groups]
    summary.considerations = [_consideration(c) for c in assessment.considerations]
    summary.cautions = [_caution(c) for c in assessment.cautions]
    summary.missing = [_missing(m) for m in assessment.missing]
    summary.disagreements = [without_ids(d) for d in assessment.disagreements]
    summary.problems = list(dict.fromkeys(p.message for p in case.problems))
    summary.chart_text = _chart_description(summary.timeline)
    summary.chart_svg = chart.render(summary.timeline, summary.chart_text)
    summary.table = sorted([(e.when.isoformat(), "Event", e.label, "event") for e in summary.timeline.events] +
                           [(p.when.isoformat(), p.series, p.display, p.panel) for p in summary.timeline.points],
                           key=lambda row: (row[0], row[3] != "event"))
    return summary


def with_deadline(settings: prefetch.FetchSettings, deadline_s: float) -> prefetch.FetchSettings:
    return replace(settings, deadline_s=deadline_s, read_timeout_s=max(settings.read_timeout_s, deadline_s / 2))


def unavailable_words(keys: tuple[str, ...]) -> list[str]:
    names = assessment_cards.policy()["unavailable"]["names"]
    return [names.get(k, k) for k in keys]


def without_ids(line: str) -> str:
    return _REFERENCE.sub(lambda m: m.group(1) or "chart entry", line)


# --- sections --------------------------------------------------------------------------------------


def _patient_view(registry: Registry):
    service = next((s for s in registry.services.values() if s.hook == HOOK), None)
    if service is None:
        raise ChartUnavailable("No patient-view service is configured, so the chart queries are unknown.")
    return service


def _header(case: Case, a: Assessment) -> dict:
    k = a.kmt2a
    findings = [f"{text.method(f.method)}{': ' + f.text if f.text else ''}"
                f"{' on ' + f.source.date.isoformat() if f.source.date else ' (undated)'}"
                for f in case.kmt2a.findings]
    return {
        "age": text.age(a.patient.age_days) if a.patient.age_days is not None else "unknown",
        "age_at_diagnosis": text.age(a.patient.age_at_diagnosis_days) if a.patient.age_at_diagnosis_days is not None
        else None,
        "age_group": a.patient.age_group,
        "sex": case.sex,
        "lineage": a.disease.lineage,
        "setting": SETTING_WORDS.get(a.disease.setting, a.disease.setting),
        "therapy_related": a.disease.therapy_related,
        "diagnosis_date": a.disease.diagnosis_date.isoformat() if a.disease.diagnosis_date else None,
        "kmt2a_status": a.kmt2a.status,
        "kmt2a": KMT2A_WORDS.get(k.status, k.status),
        "partner": k.partner,
        "fusion": k.fusion,
        "copies": (f"{k.copy_number:g}" + (f"-{k.copy_number_high:g}" if k.copy_number_high and
                                            k.copy_number_high != k.copy_number else "")) if k.copy_number else None,
        "kmt2a_results": findings,
        "conflicts": [without_ids(c) for c in case.kmt2a.conflicts],
        "weight": f"{a.patient.weight_kg:g} kg" if a.patient.weight_kg is not None else None,
        "bsa": f"{a.patient.bsa_m2:g} m2" if a.patient.bsa_m2 is not None else None,
        "knowledge_version": a.knowledge_version,
    }


def _sources(keys) -> tuple[Source, ...]:
    out = []
    for key in dict.fromkeys(keys):
        try:
            entry = knowledge.source(key)
        except KeyError:
            continue
        out.append(Source(entry["label"], entry.get("url")))
    return tuple(out)


def _tag(item, entry: dict) -> tuple[str | None, str | None]:
    """The claim's own verification tag (issue 10 may carry it on the assessment; else the knowledge row's)."""
    tag = getattr(item, "tag", None) or entry.get("tag")
    return tag, TAG_WORDS.get(tag) if tag else None


def _evidence_level(item, entry: dict) -> str | None:
    """The claim's own (population) evidence level first, in the knowledge's words ("FDA label", not "label")."""
    level = getattr(item, "evidence", None) or entry.get("evidence")
    return kb.section("evidence_levels").get(level) if isinstance(level, str) and level else None


def _risk_line(g) -> RiskLine:
    scheme = kb.section("schemes").get(g.scheme, {})
    meta = kb.section("rules").get(g.rule_id, {}) if g.rule_id else {}
    tag, words = _tag(None, meta or scheme)
    title = f"{scheme.get('label', g.scheme)} {scheme.get('groups', {}).get(g.group, g.group)}"
    return RiskLine(g.scheme, g.group, title, tuple(without_ids(b) for b in g.basis),
                    without_ids(g.would_change) if g.would_change else None, tag, words,
                    _sources(g.sources or scheme.get("sources", ())))


def _consideration(c) -> Claim:
    entry = kb.consideration(c.code)
    tag, words = _tag(c, entry)
    return Claim(c.code, entry.get("label", c.code), c.text or entry.get("text", ""), tag, words,
                 _evidence_level(c, entry), STRENGTH_WORDS.get(c.strength, c.strength),
                 _sources(c.citations), tuple(x for x in (without_ids(c.note) if c.note else None,) if x))


def _caution(c) -> Claim:
    entry = kb.caution(c.code)
    tag, words = _tag(c, entry)
    return Claim(c.code, entry.get("label", c.code), without_ids(c.text or entry.get("text", "")), tag, words,
                 _evidence_level(c, entry), None, _sources(entry.get("sources", ())))


def _missing(m) -> Claim:
    entry = kb.missing_data(m.code)
    blocks = list(dict.fromkeys(assessment_cards.block_label(b) for b in m.blocks))
    extra = [without_ids(m.note)] if m.note else []
    if blocks:
        extra.append("Needed for: " + ", ".join(blocks) + ".")
    extra.append(f"To order: {m.order['text']}." if m.order else "Record it in the chart.")
    tag, words = _tag(m, entry)
    return Claim(m.code, m.label, "", tag, words, None, None, _sources(entry.get("sources", ())), tuple(extra))


def _chart_description(t: timeline.Timeline) -> str:
    parts = []
    for panel, words in (("wbc", "WBC"), ("blasts", "blast"), ("mrd", "MRD"), ("qtc", "QTc")):
        points = t.panel(panel)
        if points:
            last = points[-1]
            parts.append(f"{len(points)} {words} result{'s' if len(points) != 1 else ''} from "
                         f"{points[0].when.isoformat()} to {last.when.isoformat()}, the latest "
                         f"{last.series} {last.display}")
        else:
            parts.append(f"no dated {words} results")
    events = "; ".join(f"{e.label} {e.when.isoformat()}" for e in t.events) or "no events recorded"
    return f"{'; '.join(parts)}. Events: {events}. The table below lists every value."
