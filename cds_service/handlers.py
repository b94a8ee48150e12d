"""Which handler answers which service: one small table, `HANDLERS`.

A handler is `def handle(call: HookCall) -> list[dict]` (cards built with `cds_service.cardkit`).
The handlers below are PLACEHOLDERS that keep the service registrable until the clinical handlers
land: one informational card per call, naming the data that could not be had. Point the table at the
real handlers when they exist; nothing else needs to change.
"""

from __future__ import annotations

from typing import Callable

from cds_service import cardkit
from cds_service.hook_call import HookCall

PLACEHOLDER_SUMMARY = "KMT2A decision support is connected; its clinical checks are not active yet."


def placeholder_card(call: HookCall) -> dict:
    detail = "This service answers with a placeholder until its clinical rules are enabled."
    if call.unavailable:
        detail += "\n\nData not available for this call: " + ", ".join(sorted(call.unavailable)) + "."
    return cardkit.card(PLACEHOLDER_SUMMARY, "info", {"label": cardkit.SERVICE_LABEL}, detail=detail)


def patient_view(call: HookCall) -> list[dict]:
    return [placeholder_card(call)]


def judged_orders(call: HookCall) -> list[dict]:
    """The draft orders a check looks at: the selected ones (order-select) or all of them (order-sign)."""
    entries = (call.context.get("draftOrders") or {}).get("entry") or []
    resources = [e["resource"] for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    if call.hook != "order-select":
        return resources
    selected = set(call.context.get("selections") or [])
    return [r for r in resources if any(s.endswith(f"{r.get('resourceType')}/{r.get('id')}") for s in selected)]


def order_check(call: HookCall) -> list[dict]:
    """No card while no judged MedicationRequest names a medication (the sandbox fires on an empty order)."""
    if not any(
        order.get("resourceType") == "MedicationRequest"
        and (order.get("medicationCodeableConcept") or order.get("medicationReference"))
        for order in judged_orders(call)
    ):
        return []
    return [placeholder_card(call)]


HANDLERS: dict[str, Callable[[HookCall], list[dict]]] = {
    "kmt2a-patient-view": patient_view,
    "kmt2a-order-select": order_check,
    "kmt2a-order-sign": order_check,
}
