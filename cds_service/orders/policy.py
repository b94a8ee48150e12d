"""The indicator policy of the order cards: one table in knowledge/card_policy.json ("order_checks").

    level(findings) -> "critical" | "warning" | "info"

A check returns finding codes (data); this is the only place that turns them into an indicator.
"""

from __future__ import annotations

from typing import Iterable

from cds_service import knowledge

RANK = {"info": 0, "warning": 1, "critical": 2}


def table() -> dict:
    return knowledge.load("card_policy.json")["order_checks"]


def level_of(finding: str) -> str:
    return table()["levels"].get(finding, table()["unknown_finding_level"])


def level(findings: Iterable[str]) -> str:
    """The most severe level among the findings ("info" when there are none)."""
    return max((level_of(f) for f in findings), key=RANK.__getitem__, default="info")
