"""What the store keeps about each issued card, so feedback can be read per kind of card and knowledge version.

`card_facts(cards)` reads the cards of one call (as they leave, valid CDS Hooks cards) and names, per card:
- kind: the rule or check family that produced it (the card's topic: "risk-stratification",
  "treatment-considerations", "safety-caution", "missing-data", or the order check's kind);
- rule ids: the knowledge entries behind it (risk schemes, consideration or caution codes, missing-data items,
  an order check's verdict and reasons), taken from the assessment and order-check extensions of the contract;
- the indicator, and the suggestions offered (uuid and label).
Nothing here identifies a patient: codes and labels from our own knowledge only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

ASSESSMENT = "org.kmt2a-cds.assessment"
ORDER_CHECK = "org.kmt2a-cds.order-check"

# card topic -> (the assessment section that lists its rules, the member naming each entry)
ASSESSMENT_SECTIONS = {
    "risk-stratification": ("riskGroups", "scheme"),
    "treatment-considerations": ("considerations", "code"),
    "safety-caution": ("cautions", "code"),
    "missing-data": ("missingData", None),
}
MAX_RULE_IDS = 40
MAX_ID_LENGTH = 120


@dataclass(frozen=True)
class CardFacts:
    uuid: str
    kind: str
    indicator: str
    rule_ids: tuple[str, ...]
    suggestions: tuple[dict, ...]  # {"uuid", "label"}


def card_facts(cards: Iterable[dict]) -> list[CardFacts]:
    cards = list(cards)
    assessment = next((c["extension"][ASSESSMENT] for c in cards if ASSESSMENT in (c.get("extension") or {})), {})
    return [_facts(card, assessment) for card in cards]


def _facts(card: dict, assessment: dict) -> CardFacts:
    topic = ((card.get("source") or {}).get("topic") or {}).get("code")
    extension = card.get("extension") or {}
    if ORDER_CHECK in extension:
        check = extension[ORDER_CHECK]
        kind = f"order-check:{topic or 'unknown'}"
        rules = [check.get("verdict"), *(check.get("reasons") or ())]
    elif topic in ASSESSMENT_SECTIONS:
        kind = topic
        section, member = ASSESSMENT_SECTIONS[topic]
        entries = assessment.get(section) or []
        rules = [entry if member is None else entry.get(member) for entry in entries]
        if topic == "risk-stratification":
            rules = [f"{g.get('scheme')}:{g.get('group')}" for g in entries]
    else:
        kind, rules = topic or "other", []
    rule_ids = tuple(dict.fromkeys(str(r)[:MAX_ID_LENGTH] for r in rules if isinstance(r, str) and r))[:MAX_RULE_IDS]
    suggestions = tuple({"uuid": s.get("uuid"), "label": str(s.get("label", ""))[:200]}
                        for s in card.get("suggestions") or [])
    return CardFacts(card["uuid"], kind[:64], card.get("indicator", "info"), rule_ids, suggestions)
