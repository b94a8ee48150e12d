"""The three services' handlers, and which answers which service: the table `HANDLERS`.

A handler is `def handle(call: HookCall) -> list[dict]`: the Case from the call, then the rules or the order checks,
then the cards. Handlers see a validated call with its prefetch resolved; they never see HTTP, tokens or the FHIR
server. A new hook: its entry in hooks.json, its context schema (schemas/context-<hook>.json), a handler here.
"""

from __future__ import annotations

from typing import Callable

from cds_service.cards import order_cards
from cds_service.cards.assessment_cards import cards_for
from cds_service.hooks.call import HookCall, case_of
from cds_service.orders.per_call import order_checks_for, selected_orders
from cds_service.stratification import assess
from fhir_mappings import draft_orders


def patient_view(call: HookCall) -> list[dict]:
    """kmt2a-patient-view: the assessment card (and at most two more); for a patient on a menin inhibitor, the
    on-treatment monitoring card right after it."""
    case = case_of(call)
    cards = cards_for(assess(case), unavailable=call.unavailable)
    return cards[:1] + order_cards.monitoring_cards(case) + cards[1:]


def order_select(call: HookCall) -> list[dict]:
    """kmt2a-order-select: checks on the selected draft orders (info / warning)."""
    return _order_cards(call)


def order_sign(call: HookCall) -> list[dict]:
    """kmt2a-order-sign: the same checks on all draft orders, critical where an order is unsafe."""
    return _order_cards(call)


def _order_cards(call: HookCall) -> list[dict]:
    selected = selected_orders(call)
    if not draft_orders.any_medication_named(call.context.get("draftOrders"), selected):
        return []  # the sandbox fires order-select before a drug is chosen: answer at once, no Case built
    return order_cards.render(order_checks_for(call), call.hook, selected)


HANDLERS: dict[str, Callable[[HookCall], list[dict]]] = {
    "kmt2a-patient-view": patient_view,
    "kmt2a-order-select": order_select,
    "kmt2a-order-sign": order_sign,
}
