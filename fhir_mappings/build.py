"""Entry points that assemble a Case. (Owned by the fhir_mappings work; signatures are fixed.)"""

from __future__ import annotations

from datetime import date
from typing import Iterable

from fhir_mappings.case import Case


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
    raise NotImplementedError


def case_from_bundle(bundle: dict, *, reference_date: date) -> Case:
    """A Bundle of any type (or none); draft MedicationRequests in it become draft orders."""
    raise NotImplementedError


def case_from_hook_request(request: dict, *, reference_date: date, prefetch: dict | None = None) -> Case:
    """A CDS Hooks request: `prefetch` (defaults to request["prefetch"]; values may be a resource, a
    Bundle, None or an OperationOutcome) plus context.patientId, context.draftOrders and context.selections."""
    raise NotImplementedError
