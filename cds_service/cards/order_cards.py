"""OrderChecks -> CDS cards for one hook.

The indicator is the policy table's (knowledge/card_policy.json, "order_checks"): `critical` for what must not
be signed as written, `warning` for an action due before or soon after signing, `info` otherwise. order-select
shows every judged order; order-sign shows only orders with something to act on (no nagging).
"""

from __future__ import annotations

import copy
from typing import Iterable

from cds_service import knowledge
from cds_service.cards.toolkit import action, card, links_for, override_reason, source_for, suggestion, within_budget
from cds_service.orders import on_treatment, policy
from cds_service.orders.model import OrderCheck
from cds_service.orders.wording import monitoring_lines, monitoring_summary
from fhir_mappings.case import Case

EXTENSION = "org.kmt2a-cds.order-check"
MONITORING_EXTENSION = "org.kmt2a-cds.on-treatment"


def indicator(check: OrderCheck, hook: str) -> str | None:
    """The policy table's level (knowledge/card_policy.json); at order-sign an order with nothing to act on
    gets no card."""
    level = check.level
    return None if hook == "order-sign" and level == "info" else level


def _shown(checks: Iterable[OrderCheck], hook: str, selected: set[str] | None) -> list[OrderCheck]:
    picked = [c for c in checks if hook in c.hooks and (selected is None or c.order in selected)]
    on_cards = {c.order for c in picked}
    # An interacting co-order is already explained on the revumenib order's card.
    return [c for c in picked if not (c.covered_by and c.covered_by in on_cards)]


def render(checks: Iterable[OrderCheck], hook: str, selected: set[str] | None = None) -> list[dict]:
    """Cards for the checks of the selected orders (None: all orders), with this hook's indicators."""
    cards = []
    for check in _shown(checks, hook, selected):
        level = indicator(check, hook)
        if level is not None:
            cards.append(card_for(check, level))
    return cards


def card_for(check: OrderCheck, level: str) -> dict:
    suggestions = []
    if check.corrected is not None:
        # a copy: the check may be cached and served again, whatever happens to this response
        update = action("update", check.correction_text, resource=copy.deepcopy(check.corrected))
        suggestions.append(suggestion(check.correction_label, [update], is_recommended=True))
    reasons = knowledge.load("order_checks.json")["override_reasons"].get(check.override_group, [])
    offered = [_reason(r) for r in reasons]
    return card(
        check.summary,
        level,
        source_for(check.sources[0], topic=check.kind),
        detail="\n\n".join(within_budget(check.lines)),
        suggestions=suggestions,
        override_reasons=offered if level != "info" else [],
        links=links_for(check.sources),
        extension={EXTENSION: check.extension()},
    )


# --- patient-view: a patient already on revumenib -------------------------------------------------


def monitoring_cards(case: Case) -> list[dict]:
    """The on-treatment monitoring card for patient-view: what is due for a patient on revumenib (QTcF above
    the interrupt limit: critical; an overdue ECG, low or missing electrolytes: warning). No card when nothing
    is due. Data from orders.on_treatment, words from orders.wording, indicator from the policy table."""
    found = on_treatment.monitoring(case)
    if found is None or not found.findings:
        return []
    level = policy.level(found.findings)
    summary = monitoring_summary(found)
    if level == "info" or summary is None:
        return []
    group = "qtc" if {"qtcf-above-interrupt-limit", "qtc-above-limit-not-fridericia"} & set(found.findings) else "monitoring"
    reasons = knowledge.load("order_checks.json")["override_reasons"][group]
    return [card(
        summary,
        level,
        source_for(found.sources[0], topic="on-treatment-monitoring"),
        detail="\n\n".join(within_budget(monitoring_lines(found))),
        override_reasons=[_reason(r) for r in reasons],
        links=links_for(found.sources),
        extension={MONITORING_EXTENSION: {"drug": found.drug, "findings": list(found.findings)}},
    )]


def _reason(entry: dict) -> dict:
    """An override reason: the CDS Hooks 3.0 non-adherence coding when one fits, else the service's own."""
    return override_reason(**entry["hl7"]) if entry.get("hl7") else override_reason(entry["code"], entry["display"])
