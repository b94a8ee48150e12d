"""Answer a CDS Hooks call without HTTP: the CDS Hooks response a service would send for a request or a Bundle.

    cds_response(request_or_bundle, today=date(2026, 11, 29))            # {"cards": [...]}

A CDS Hooks request is answered by the service of its hook. A Bundle (a chart export, a demo patient) becomes the
request an EHR would send with full prefetch: every prefetch template of the service is evaluated against the
Bundle's resources, exactly as a FHIR server would answer it, so its cards are those the EHR would get. For the
order hooks, the Bundle's draft MedicationRequests become `context.draftOrders`. The call itself runs through
`hooks.pipeline.answer`, as over HTTP (cards failing our schema are dropped and logged there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cds_service.hooks import pipeline, prefetch, registry
from cds_service.hooks.protocol import ProtocolError

HOOK_INSTANCE = "00000000-0000-4000-8000-000000000000"
USER = "Practitioner/kmt2a-cds-cli"


class OfflineError(ValueError):
    """The input cannot be answered (one line, for the command line)."""


@dataclass(frozen=True)
class Answer:
    service_id: str
    request: dict
    response: dict


def _registry() -> registry.Registry:
    from cds_service.hooks.handlers import HANDLERS
    from cds_service.web.config import HOOKS_FILE

    return registry.load(HOOKS_FILE, HANDLERS)


def request_from_bundle(bundle: dict, service: registry.Service, patient_id: str | None = None) -> dict:
    """The request an EHR holding `bundle` would send to `service`, prefetch filled from the Bundle."""
    from cds_service.devtools.fhir_store import FhirError, FhirStore

    store = FhirStore()
    try:
        store.load_bundle({"resourceType": "Bundle", "type": "collection",
                           "entry": [{"resource": e["resource"]} for e in bundle.get("entry") or []
                                     if isinstance(e, dict) and isinstance(e.get("resource"), dict)]})
    except FhirError as error:
        raise OfflineError(f"the Bundle cannot be read: {error.text}") from None
    patients = [p["id"] for p in store.all("Patient")]
    if patient_id is None:
        if len(patients) != 1:
            raise OfflineError(f"the Bundle holds {len(patients)} patients; name one with --patient ID")
        patient_id = patients[0]
    elif patient_id not in patients:
        raise OfflineError(f"no Patient with id {patient_id} in the Bundle")
    context: dict = {"patientId": patient_id, "userId": USER}
    if service.hook in ("order-select", "order-sign"):
        drafts = [r for r in store.all("MedicationRequest") if r.get("status") == "draft"]
        if not drafts:
            raise OfflineError(f"{service.hook} needs draft MedicationRequests (status 'draft') in the Bundle")
        context["draftOrders"] = {"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": r} for r in drafts]}
        if service.hook == "order-select":
            context["selections"] = [f"MedicationRequest/{r['id']}" for r in drafts]
    prefetched = {}
    for key, template in service.prefetch.items():
        relative = prefetch.render(template, context)
        if relative is not None:
            prefetched[key] = store.fetch(relative)
    return {"hookInstance": HOOK_INSTANCE, "hook": service.hook, "context": context, "prefetch": prefetched}


def cds_response(data: dict, today: date, hook: str | None = None, patient_id: str | None = None) -> Answer:
    """The CDS Hooks response for a request (its own hook) or a Bundle (`hook`, default patient-view)."""
    services = _registry()
    is_bundle = data.get("resourceType") == "Bundle"
    wanted = hook or (data.get("hook") if not is_bundle else None) or "patient-view"
    matching = [s for s in services.services.values() if s.hook == wanted]
    if not matching:
        raise OfflineError(f"no service answers the {wanted} hook")
    service = matching[0]
    request = request_from_bundle(data, service, patient_id) if is_bundle else data
    try:
        answered = pipeline.answer(service, request, pipeline.Settings(reference_date=today))
    except ProtocolError as error:
        raise OfflineError(f"not a valid {service.hook} request: {error.diagnostics}") from None
    return Answer(service.id, request, {"cards": answered.cards})
