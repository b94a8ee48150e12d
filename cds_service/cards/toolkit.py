"""Building blocks for CDS Hooks cards: one place that knows the card's shape.

Every builder drops keys whose value is None or empty, because CDS Hooks forbids null and empty
values in a response. Cards and suggestions always get a uuid so that feedback can name them.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable

from cds_service import knowledge

OVERRIDE_REASON_SYSTEM = "https://kmt2a-cds.org/CodeSystem/override-reason"
CARD_TOPIC_SYSTEM = "https://kmt2a-cds.org/CodeSystem/card-topic"
SERVICE_LABEL = "kmt2a-cds"


def _compact(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None and v != "" and v != [] and v != {}}


def source_for(key: str, topic: str | None = None) -> dict:
    """The card `source` for a knowledge source key ("S9"), with an optional topic code."""
    entry = knowledge.source(key)
    topic_coding = _compact({"system": CARD_TOPIC_SYSTEM, "code": topic, "display": topic}) if topic else None
    return _compact({"label": f"{SERVICE_LABEL}: {entry['label']}"[:200], "url": entry.get("url"), "topic": topic_coding})


def links_for(keys: Iterable[str]) -> list[dict]:
    """Reference links (type absolute) for the knowledge sources that have an address."""
    out, seen = [], set()
    for key in keys:
        entry = knowledge.source(key)
        if key in seen or not entry.get("url"):
            continue
        seen.add(key)
        out.append({"label": entry["label"][:120], "url": entry["url"], "type": "absolute"})
    return out


def override_reason(code: str, display: str, system: str = OVERRIDE_REASON_SYSTEM) -> dict:
    return {"system": system, "code": code, "display": display}


def action(kind: str, description: str, resource: dict | None = None, resource_id: str | None = None) -> dict:
    """A suggestion action: kind is "create", "update" or "delete" (delete names resource_id only)."""
    return _compact({"type": kind, "description": description, "resource": resource, "resourceId": resource_id})


def suggestion(label: str, actions: Iterable[dict] = (), is_recommended: bool | None = None) -> dict:
    return _compact(
        {"label": label, "uuid": str(uuid.uuid4()), "isRecommended": is_recommended, "actions": list(actions)}
    )


def card(
    summary: str,
    indicator: str,
    source: dict,
    *,
    detail: str | None = None,
    suggestions: Iterable[dict] = (),
    selection_behavior: str = "at-most-one",
    override_reasons: Iterable[dict] = (),
    links: Iterable[dict] = (),
    extension: dict | None = None,
) -> dict:
    """A CDS card. `selectionBehavior` is emitted only when there are suggestions, as the spec requires."""
    suggestions = list(suggestions)
    return _compact(
        {
            "uuid": str(uuid.uuid4()),
            "summary": summary,
            "indicator": indicator,
            "detail": detail,
            "source": source,
            "suggestions": suggestions,
            "selectionBehavior": selection_behavior if suggestions else None,
            "overrideReasons": list(override_reasons),
            "links": list(links),
            "extension": extension,
        }
    )
