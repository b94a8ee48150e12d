"""Building blocks for CDS Hooks cards: one place that knows the card's shape.

Every builder drops keys whose value is None or empty, because CDS Hooks forbids null and empty
values in a response. Cards and suggestions always get a uuid so that feedback can name them.
"""

from __future__ import annotations

import re
import uuid
from typing import Iterable

from cds_service import knowledge
from cds_service.hooks.protocol import without_empty

OVERRIDE_REASON_SYSTEM = "https://kmt2a-cds.org/CodeSystem/override-reason"
CARD_TOPIC_SYSTEM = "https://kmt2a-cds.org/CodeSystem/card-topic"
SERVICE_LABEL = "kmt2a-cds"


def source_for(key: str, topic: str | None = None) -> dict:
    """The card `source` for a knowledge source key ("S9"), with an optional topic code."""
    entry = knowledge.source(key)
    topic_coding = without_empty({"system": CARD_TOPIC_SYSTEM, "code": topic, "display": topic}) if topic else None
    return without_empty({"label": f"{SERVICE_LABEL}: {entry['label']}"[:200], "url": entry.get("url"), "topic": topic_coding})


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
    return without_empty({"type": kind, "description": description, "resource": resource, "resourceId": resource_id})


def suggestion(label: str, actions: Iterable[dict] = (), is_recommended: bool | None = None) -> dict:
    return without_empty(
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
    return without_empty(
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


def budget() -> dict:
    """What one card and one response may show (words, cards, label length): card_policy.json "budget"."""
    return knowledge.load("card_policy.json")["budget"]


def words(markdown: str) -> int:
    """Words as the reader sees them: link targets, emphasis marks and list bullets are not words."""
    visible = re.sub(r"\]\([^)]*\)", "]", markdown).replace("**", "")
    return len(re.sub(r"(?m)^- ", "", visible).split())


def within_budget(lines: Iterable[str]) -> list[str]:
    """`lines` (most important first) cut to the card's word budget: the first always stays, a later line is
    left out when it does not fit (the structured result keeps everything)."""
    kept, limit = [], budget()["words_per_card"]
    for line in lines:
        if not kept or words("\n\n".join(kept + [line])) <= limit:
            kept.append(line)
    return kept
