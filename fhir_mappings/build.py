"""Entry points that assemble a Case. (Owned by the fhir_mappings work; signatures are fixed.)

Order of work: collect the resources (flatten, drop withdrawn/superseded/other patients), pick the ones each
family mapper can use (cheap checks on raw JSON), validate only those, map each one inside a guard so that one
broken resource becomes a `Problem` and never an exception, then derive the facts that need several resources
(diagnosis date, WBC at diagnosis, MRD at end of induction, KMT2A summary, therapy-related).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable

from fhir_mappings import (conditions, documents, draft_orders, genomics, kmt2a, medications, observations, patient,
                           routing, transplants)
from fhir_mappings.access import concept_label, effective_date, reference_of
from fhir_mappings.case import Case, DraftMedicationOrder, Kmt2aStatus, Lineage, Problem, Source, UnreadableDocument
from fhir_mappings.resources import Pool, collect, flatten
from fhir_mappings.terminology import rows
from fhir_mappings.validation import validated


@dataclass
class _Work:
    """What the family mappers produce, before the cross-resource facts are derived."""

    pool: Pool
    reference_date: date
    problems: list[Problem] = field(default_factory=list)
    diagnoses: list = field(default_factory=list)
    statuses: list = field(default_factory=list)
    kmt2a: list = field(default_factory=list)
    genetic: list = field(default_factory=list)
    karyotypes: list = field(default_factory=list)
    readings: list = field(default_factory=list)
    mrd_resources: list = field(default_factory=list)
    markers: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)  # UnreadableDocument
    checked: dict = field(default_factory=dict)  # id(raw resource) -> readable dict or None

    def readable(self, resource: dict, *, draft: bool = False) -> dict | None:
        """The validated (possibly repaired) resource, or None; validated at most once per call."""
        key = id(resource)
        if key not in self.checked:
            readable, problems = validated(resource, draft=draft)
            self.problems.extend(problems)
            self.checked[key] = readable
        return self.checked[key]


def _guard(work: _Work, resource: dict, fn: Callable[[dict], Any], *, draft: bool = False, validate: bool = True) -> Any:
    """Validate `resource` (unless the caller validates what it picks later), then map it with `fn`;
    any failure becomes a Problem (never an exception)."""
    try:
        readable = work.readable(resource, draft=draft) if validate else resource
        if readable is None:
            return None
        return fn(readable)
    except Exception as exc:  # a mapper bug or an input nobody foresaw: report, skip, go on
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        ref = f"{rtype}/{resource.get('id')}" if rtype and isinstance(resource.get("id"), str) else rtype
        work.problems.append(Problem(f"{rtype or 'resource'} could not be read ({type(exc).__name__})", ref))
        return None


def _map_conditions(work: _Work) -> None:
    for resource in work.pool.of_type("Condition"):
        if conditions.is_leukemia_condition(resource):
            diagnosis = _guard(work, resource, conditions.map_condition)
            if diagnosis:
                work.diagnoses.append(diagnosis)


def _route_observations(work: _Work) -> None:
    """One pass over Observations and DiagnosticReports: each goes to every mapper that needs it (one result may
    feed several), or nowhere."""
    for resource in work.pool.of_type("Observation", "DiagnosticReport"):
        for family, kind in _guard(work, resource, lambda r: routing.routes(r, work.pool.resolve), validate=False) or ():
            if family == "disease-status":
                status = _guard(work, resource, conditions.status_observation)
                if status:
                    work.statuses.append(status)
            elif family == "genetic":
                _map_genetic(work, resource)
            elif family == "fusion-transcript":
                work.kmt2a.extend(_guard(work, resource, lambda r: genomics.fusion_transcript(r, kind)) or [])
            elif family == "unreadable":
                _unreadable(work, resource, documents.report_text(resource, work.pool.resolve).unreadable)
            elif family == "lab" and kind != "immunophenotype-panel":
                _map_lab(work, resource, kind)


def _unreadable(work: _Work, resource: dict, reasons) -> None:
    source = Source(reference_of(resource), effective_date(resource))
    title = concept_label(resource.get("code")) or "a report"
    for reason in reasons:
        work.unreadable.append(UnreadableDocument(source, title, reason))
        work.problems.append(Problem(f"{reason} could not be read; not used", source.reference))


def _map_genetic(work: _Work, resource: dict) -> None:
    result = _guard(work, resource, lambda r: genomics.map_resource(r, work.pool.resolve))
    if result:
        work.kmt2a.extend(result.kmt2a)
        work.genetic.extend(result.findings)
        if result.karyotype:
            work.karyotypes.append(result.karyotype)
        _unreadable(work, resource, result.unreadable)


def _map_lab(work: _Work, resource: dict, kind: str) -> None:
    if kind == "mrd":
        readable = _guard(work, resource, lambda r: r)
        if readable:
            work.mrd_resources.append(readable)
    elif kind == "marker":
        work.markers.extend(_guard(work, resource, observations.markers) or [])
    else:
        # read raw; only the readings a pick uses get validated (see _pick)
        work.readings.extend(
            _guard(work, resource, lambda r: observations.read(r, kind, work.problems), validate=False) or [])


def _pick(work: _Work, fn: Callable[[list], Any]) -> Any:
    """Run a pick over the readings; if the picked value rests on a resource that fails validation, drop that
    resource's readings and pick again."""
    while True:
        try:
            picked = fn(work.readings)
        except Exception as exc:
            work.problems.append(Problem(f"a lab value could not be picked ({type(exc).__name__})"))
            return None
        if picked is None:
            return None
        sources = {picked.source, *picked.derived_from}
        used = [r.resource for r in work.readings if r.resource is not None and r.measurement.source in sources]
        bad = {id(resource) for resource in used if work.readable(resource) is None}
        if not bad:
            return picked
        work.readings = [r for r in work.readings if id(r.resource) not in bad]


def _pick_labs(case: Case, work: _Work) -> None:
    case.weight = _pick(work, lambda rs: observations.latest(rs, "weight"))
    case.height = _pick(work, lambda rs: observations.latest(rs, "height"))
    case.bsa = _pick(work, lambda rs: observations.bsa(rs, case.weight, case.height))
    case.wbc_latest = _pick(work, lambda rs: observations.latest(rs, "wbc"))
    case.wbc_at_diagnosis = _pick(work, lambda rs: observations.at_diagnosis(rs, "wbc", case.diagnosis_date))
    case.blood_blasts = _pick(work, lambda rs: observations.latest(rs, "blasts-blood-percent"))
    case.marrow_blasts = _pick(work, lambda rs: observations.latest(rs, "blasts-marrow-percent"))
    case.day8_blood_blasts = _pick(work, lambda rs: observations.day8_blasts(rs, case.diagnosis_date))
    case.qtc = _pick(work, observations.qtc)
    case.qtc_readings = tuple(sorted((r.measurement for r in work.readings if r.kind == "qtc"),
                                     key=lambda m: m.source.date or date.min))
    case.potassium = _pick(work, lambda rs: observations.latest(rs, "potassium"))
    case.magnesium = _pick(work, lambda rs: observations.latest(rs, "magnesium"))
    results = []
    for resource in work.mrd_resources:
        result = _guard(work, resource, lambda r: observations.mrd(r, case.diagnosis_date))
        if result:
            results.append(result)
    case.mrd_results = tuple(sorted(results, key=lambda r: r.source.date or date.min))
    case.mrd_end_of_induction = observations.end_of_induction(results)
    case.markers = tuple(work.markers)


def _map_medications(case: Case, work: _Work) -> None:
    uses = []
    for resource in work.pool.of_type(*medications.KINDS):
        if medications.relevant(resource, work.pool):
            uses.extend(_guard(work, resource, lambda r: medications.map_medication(r, work.pool, case.reference_date))
                        or [])
    case.medications = tuple(uses)


def _map_drafts(case: Case, work: _Work, bundle: dict | None, selections: list[str]) -> None:
    """Orders from context.draftOrders, plus draft MedicationRequests that came with the other resources."""
    drafts_pool = flatten([bundle]) if isinstance(bundle, dict) else Pool()
    work.problems.extend(drafts_pool.problems)
    raws = [r for r in drafts_pool.resources if r.get("resourceType") == "MedicationRequest"]
    sent = {reference_of(r) for r in raws}
    raws += [r for r in work.pool.of_type("MedicationRequest") if medications.is_draft(r) and reference_of(r) not in sent]
    orders = []
    for raw in raws:
        pools = [drafts_pool, work.pool]
        order = _guard(work, raw, lambda r: draft_orders.map_order(r, raw, pools, selections), draft=True)
        if order is None and work.readable(raw, draft=True) is None:
            # An order that fails validation is still somebody's prescription: keep its drug, never its dose,
            # so the checks can say "could not be read" instead of saying nothing.
            order = _guard(work, raw, lambda r: draft_orders.map_unreadable(r, pools, selections), validate=False)
        if order:
            orders.append(order)
    case.draft_orders = tuple(orders)


def _map_current_orders(case: Case, work: _Work) -> None:
    """The active menin-inhibitor orders with their dose (only those: a long medication list stays cheap)."""
    wanted = {m.source.reference for m in case.medications
              if m.active and m.kind == "request" and "menin-inhibitor" in m.classes}
    raws = [r for r in work.pool.of_type("MedicationRequest") if reference_of(r) in wanted]

    def as_order(raw: dict) -> DraftMedicationOrder | None:
        # the medication list read only the drug; the dose part is validated here, as for a draft (its problems
        # were reported when the medication list was read)
        readable, _ = validated(raw, draft=True)
        return draft_orders.map_order(readable, raw, [work.pool], []) if readable is not None else None

    found = (_guard(work, raw, as_order, validate=False) for raw in raws)
    case.current_orders = tuple(o for o in found if o is not None)


def _transplants(case: Case, work: _Work) -> None:
    found = (_guard(work, r, transplants.transplant_of) for r in work.pool.of_type("Procedure", "Condition")
             if transplants.mentions_transplant(r))
    case.transplants = tuple(s for s in found if s is not None)


def _therapy_related(case: Case) -> None:
    coded = tuple(d.source for d in case.diagnoses if d.therapy_related)
    exposures = medications.therapy_related(case.medications, case.diagnosis_date)
    if coded or exposures:
        case.therapy_related, case.therapy_related_evidence = True, coded + exposures


def _kmt2a_from_diagnoses(work: _Work) -> None:
    """A diagnosis written as "KMT2A-r B-ALL" is (weak, method "text") evidence too."""
    for d in work.diagnoses:
        work.kmt2a.extend(genomics.from_text(d.text, d.source, "text").kmt2a)


def _patient_resource(work: _Work, patient_id: str | None) -> dict | None:
    patients = work.pool.of_type("Patient")
    for p in patients:
        if patient_id is None or p.get("id") == patient_id:
            return _guard(work, p, lambda r: r)
    return None


def _assemble(work: _Work, patient_id: str | None, drafts: dict | None = None, selections: list[str] = ()) -> Case:
    case = Case(reference_date=work.reference_date, patient_id=patient_id)
    sex, birth, problems = patient.demographics(_patient_resource(work, patient_id))
    work.problems.extend(problems)
    case.sex, case.birth_date = sex, birth
    case.age_days = patient.age_days(birth, work.reference_date)
    _map_conditions(work)
    try:
        routing.with_parent_words(work.pool)
    except Exception as exc:  # an input nobody foresaw: results keep their own names
        work.problems.append(Problem(f"result names could not be completed from their reports ({type(exc).__name__})"))
    _route_observations(work)
    case.diagnoses = tuple(work.diagnoses)
    case.lineage = conditions.case_lineage(case.diagnoses)
    case.original_lineage = conditions.original_lineage(case.diagnoses)
    _kmt2a_from_diagnoses(work)
    case.kmt2a = kmt2a.summarise(work.kmt2a)
    _map_medications(case, work)
    switch = conditions.lineage_switch(
        case.diagnoses, case.kmt2a.status == Kmt2aStatus.REARRANGED,
        tuple(m.start for m in case.medications if "cd19-directed" in m.classes and m.start))
    if switch:
        case.lineage_switch, case.lineage_switch_evidence = True, (switch.before.source, switch.after.source)
    case.disease_status, case.disease_status_evidence = conditions.disease_status(
        case.diagnoses, work.statuses, case.lineage, switch)
    case.genetic_findings = tuple(work.genetic)
    case.karyotype = max(work.karyotypes, key=lambda k: k.source.date or date.min) if work.karyotypes else None
    case.diagnosis_date = _diagnosis_date(case, work)
    _pick_labs(case, work)
    _therapy_related(case)
    _map_drafts(case, work, drafts, list(selections))
    _map_current_orders(case, work)
    _transplants(case, work)
    case.age_at_diagnosis_days = patient.age_days(birth, case.diagnosis_date)
    case.problems = tuple(work.pool.problems + work.problems)
    case.unreadable_documents = tuple(work.unreadable)
    return case


def _diagnosis_date(case: Case, work: _Work) -> date | None:
    """Earliest onset of the current leukemia (its lineage: a prior ALL does not date a later therapy-related
    AML; after a lineage switch the first diagnosis dates the one disease history), else its recorded date, else
    the earliest diagnostic Observation (genetics, karyotype, marrow blasts, immunophenotype) -- only when a
    leukemia diagnosis exists."""
    current = conditions.current_diagnoses(case.diagnoses, case.lineage, case.lineage_switch)
    onsets = [d.onset for d in current if d.onset]
    if onsets:
        return min(onsets)
    recorded = [d.recorded for d in current if d.recorded]
    if recorded:
        return min(recorded)
    if not case.diagnoses:
        return None
    dates = [f.source.date for f in work.kmt2a] + [f.source.date for f in work.genetic]
    dates += [k.source.date for k in work.karyotypes] + [m.source.date for m in work.markers]
    dates += [r.measurement.source.date for r in work.readings if r.kind == "blasts-marrow-percent"]
    dates = [d for d in dates if d]
    return min(dates) if dates else None


def case_from_resources(
    resources: Iterable[dict],
    *,
    reference_date: date,
    patient_id: str | None = None,
    draft_orders: dict | None = None,
    selections: Iterable[str] = (),
) -> Case:
    """Build a Case from resource dicts (Bundles inside are flattened). `draft_orders` is a Bundle of
    unsigned orders; `selections` the references the user selected (empty: all draft orders)."""
    try:
        items = list(resources) if resources is not None else []
    except Exception:
        items = []
    pool = collect(items, patient_id if isinstance(patient_id, str) else None)
    if patient_id is None:
        patient_id = _only_patient_id(pool)
    work = _Work(pool=pool, reference_date=reference_date)
    try:
        chosen = [s for s in selections if isinstance(s, str)] if selections else []
    except TypeError:
        chosen = []
    return _assemble(work, patient_id, draft_orders if isinstance(draft_orders, dict) else None, chosen)


def warm_up() -> None:
    """Load the terminology tables and the FHIR models once (e.g. before gunicorn forks its workers), so the
    first request does not pay for them."""
    case_from_hook_request({"context": {"patientId": "warm-up"},
                            "prefetch": {"p": {"resourceType": "Patient", "id": "warm-up", "birthDate": "2000-01-01"}}},
                           reference_date=date(2000, 1, 2))
    for name in ("Observation", "Condition", "MedicationRequest", "MedicationStatement", "MedicationAdministration",
                 "Medication", "DiagnosticReport"):
        validated({"resourceType": name})
    for table in ("genes.csv", "iscn_partners.csv", "loinc.csv", "diagnoses.csv", "ingredients.csv", "units.csv"):
        rows(table)


def _only_patient_id(pool: Pool) -> str | None:
    ids = {p.get("id") for p in pool.of_type("Patient") if isinstance(p.get("id"), str)}
    return ids.pop() if len(ids) == 1 else None


def case_from_bundle(bundle: dict, *, reference_date: date) -> Case:
    """A Bundle of any type (or none); draft MedicationRequests in it become draft orders."""
    return case_from_resources([bundle] if isinstance(bundle, dict) else [], reference_date=reference_date)


def case_from_hook_request(request: dict, *, reference_date: date, prefetch: dict | None = None) -> Case:
    """A CDS Hooks request: `prefetch` (defaults to request["prefetch"]; values may be a resource, a
    Bundle, None or an OperationOutcome) plus context.patientId, context.draftOrders and context.selections."""
    request = request if isinstance(request, dict) else {}
    if prefetch is None:
        prefetch = request.get("prefetch")
    items = [v for v in prefetch.values() if v is not None] if isinstance(prefetch, dict) else []
    context = request.get("context") if isinstance(request.get("context"), dict) else {}
    patient_id = context.get("patientId") if isinstance(context.get("patientId"), str) else None
    drafts = context.get("draftOrders") if isinstance(context.get("draftOrders"), dict) else None
    selections = [s for s in context.get("selections") or [] if isinstance(s, str)] if isinstance(
        context.get("selections"), list) else []
    return case_from_resources(
        items, reference_date=reference_date, patient_id=patient_id, draft_orders=drafts, selections=selections
    )
