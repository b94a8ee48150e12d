"""What a service handler receives: one validated CDS Hooks call with its prefetch resolved.

A handler is `def handle(call: HookCall) -> list[dict]` returning cards (see `cds_service.cards.toolkit`).
Handlers never see HTTP, tokens or the FHIR server: the service layer resolved the prefetch already.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from fhir_mappings import Case, case_from_resources


@dataclass(frozen=True)
class HookCall:
    service_id: str
    hook: str
    hook_instance: str
    context: dict
    prefetch: dict  # key -> resource (often a Bundle) or None ("no data"); keys that were unavailable are absent
    reference_date: date
    # Prefetch keys neither sent nor fetchable (timeouts, errors). Also a paged Bundle whose other pages could
    # not be read: its first pages ARE in `prefetch`, and it is named here because it is incomplete.
    unavailable: tuple[str, ...] = field(default=())


def case_of(call: HookCall) -> Case:
    """The patient's Case from what the call carries: its resolved prefetch and its context (draft orders)."""
    context = call.context
    selections = context.get("selections")
    return case_from_resources(
        [resource for resource in call.prefetch.values() if resource is not None],
        reference_date=call.reference_date,
        patient_id=context.get("patientId") if isinstance(context.get("patientId"), str) else None,
        draft_orders=context.get("draftOrders") if isinstance(context.get("draftOrders"), dict) else None,
        selections=[s for s in selections if isinstance(s, str)] if isinstance(selections, list) else [],
    )
