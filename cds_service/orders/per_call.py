"""The order checks of one hook call: which orders were selected, and their checks from the shared cache
(order-sign reuses order-select's work); and the contract's order-check objects for the CLI."""

from __future__ import annotations

from typing import Iterable

from cds_service import knowledge
from cds_service.hooks.call import HookCall, case_of
from cds_service.orders.cache import SharedCache, content_key, dataclass_tuple_codec
from cds_service.orders.checks import evaluate
from cds_service.orders.model import OrderCheck
from fhir_mappings import draft_orders
from fhir_mappings.case import Case

# order-sign follows order-select within minutes; 5 minutes bounds how long an unchanged chart is trusted.
# Kept in the store once the app registered it (cache.py), so order-sign finds order-select's work on any worker.
order_cache: SharedCache[tuple[OrderCheck, ...]] = SharedCache(dataclass_tuple_codec(OrderCheck), ttl_seconds=300.0,
                                                               max_entries=256)

# Prefetch keys (hooks.json) that hold the medication list: when one could not be had, "no strong
# CYP3A4 inhibitor" is not known (an inpatient azole may be on the MAR only).
MEDICATION_PREFETCH = ("medicationRequests", "medicationStatements", "medicationAdministrations")
# Where a prescribed drug such as revumenib is listed: the MAR adds what was given on the ward, so without it
# "no inhibitor given" is unknown, but "not on revumenib" is still known from the orders and the list.
PRESCRIPTION_PREFETCH = ("medicationRequests", "medicationStatements")


def selected_orders(call: HookCall) -> set[str] | None:
    """The references the user selected at order-select; None (all) at order-sign or without selections."""
    selections = call.context.get("selections") if call.hook == "order-select" else None
    if not isinstance(selections, list) or not selections:
        return None
    return {draft_orders.relative_reference(s) for s in selections if isinstance(s, str)}


def unread_data(unavailable: Iterable[str]) -> frozenset[str]:
    """The data the unavailable prefetch keys may hold, as missing-data codes: the patient-view's table
    (card_policy.json "may_hold": "procedures" -> "transplant-history"), and "medications" when the medication
    list could not be had ("prescriptions" too when the orders or the list itself could not be, not only the MAR).
    A check that needs one of them names it instead of reading its absence as "none"."""
    unavailable = set(unavailable)
    holds = knowledge.load("card_policy.json")["patient_view"]["unavailable"]["may_hold"]
    codes = {code for key in unavailable for code in holds.get(key, ())}
    if unavailable & set(MEDICATION_PREFETCH):
        codes.add("medications")
    if unavailable & set(PRESCRIPTION_PREFETCH):
        codes.add("prescriptions")
    return frozenset(codes)


def order_checks_for(call: HookCall) -> tuple[OrderCheck, ...]:
    """The checks of every draft order of this call, from the cache when nothing changed."""
    key = content_key(call.context.get("patientId"), call.context.get("draftOrders"), call.prefetch,
                      sorted(call.unavailable), call.reference_date.isoformat())
    return order_cache.get_or_compute(key, lambda: evaluate(case_of(call), unread_data(call.unavailable)))


def order_checks(case: Case) -> list[dict]:
    """The contract's order-check objects for every judged draft order (the CLI's `orderChecks`)."""
    return [check.extension() for check in evaluate(case)]
