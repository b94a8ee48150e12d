"""Which handler answers which service: one small table, `HANDLERS`.

A handler is `def handle(call: HookCall) -> list[dict]` (cards built with `cds_service.cards.toolkit`).
Handlers see a validated call with its prefetch resolved; they never see HTTP, tokens or the FHIR server.
"""

from __future__ import annotations

from typing import Callable

from cds_service.hooks.call import HookCall
from cds_service.orders import order_select, order_sign
from cds_service.cards.patient_view import patient_view

HANDLERS: dict[str, Callable[[HookCall], list[dict]]] = {
    "kmt2a-patient-view": patient_view,
    "kmt2a-order-select": order_select,
    "kmt2a-order-sign": order_sign,
}
