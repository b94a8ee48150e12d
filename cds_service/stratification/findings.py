"""The accumulator the rules write into; it de-duplicates by code and fills texts and citations from rules.json."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterable, Iterator

from cds_service.stratification.assessment import Caution, Consideration, MissingItem, RiskGroup
from cds_service.stratification import kb

if TYPE_CHECKING:
    from cds_service.stratification.rule import Rule


class Findings:
    def __init__(self) -> None:
        self.risk_groups: list[RiskGroup] = []
        self._considerations: dict[str, Consideration] = {}
        self._cautions: dict[str, Caution] = {}
        self._missing: dict[str, MissingItem] = {}
        self.disagreements: list[str] = []
        self.rules_applied: list[str] = []
        self._rule: "Rule | None" = None

    @contextmanager
    def running(self, rule: "Rule") -> Iterator[None]:
        self._rule = rule
        try:
            yield
        finally:
            self._rule = None

    @property
    def _label(self) -> str:
        return self._rule.label if self._rule else ""

    def _mark_applied(self) -> None:
        if self._label and self._label not in self.rules_applied:
            self.rules_applied.append(self._label)

    def group(self, scheme: str, group: str, basis: Iterable[str], would_change: str | None = None) -> None:
        self._mark_applied()
        sources = self._rule.sources if self._rule else ()
        self.risk_groups.append(RiskGroup(scheme, group, tuple(basis), self._label, sources, would_change))

    def has_group(self, scheme: str) -> bool:
        return any(g.scheme == scheme for g in self.risk_groups)

    def consider(self, code: str, note: str | None = None, strength: str | None = None,
                 sources: Iterable[str] = ()) -> None:
        """Add a consideration; `sources` adds the citations specific to this patient's reason (e.g. S11)."""
        self._mark_applied()
        entry = kb.consideration(code)
        citations = tuple(dict.fromkeys((*entry["sources"], *sources)))
        old = self._considerations.get(code)
        if old:
            notes = [n for n in (old.note, note) if n and n not in (old.note or "")]
            merged = tuple(dict.fromkeys((*old.citations, *citations)))
            self._considerations[code] = Consideration(
                code, old.strength, merged, old.text, " ".join(notes) or None, old.rule
            )
            return
        self._considerations[code] = Consideration(
            code=code,
            strength=strength or entry["strength"],
            citations=citations,
            text=entry["text"],
            note=note,
            rule=self._label,
        )

    def caution(self, code: str, note: str | None = None) -> None:
        self._mark_applied()
        entry = kb.caution(code)
        text = f"{entry['text']} {note}" if note else entry["text"]
        old = self._cautions.get(code)
        if old:
            if note and note not in old.text:
                self._cautions[code] = Caution(code, f"{old.text} {note}", old.safety, old.rule)
            return
        self._cautions[code] = Caution(code, text, bool(entry.get("safety", True)), self._label)

    def disagree(self, key: str) -> None:
        """Record that this patient's decision rests on sources that disagree (caution `source-disagreement`)."""
        text = kb.disagreement(key)["text"]
        if text not in self.disagreements:
            self.disagreements.append(text)
        self.caution("source-disagreement", text)

    def missing(self, code: str, blocks: Iterable[str] = (), note: str | None = None) -> None:
        self._mark_applied()
        entry = kb.missing_data(code)
        old = self._missing.get(code)
        merged = tuple(dict.fromkeys((*(old.blocks if old else ()), *blocks)))
        notes = " ".join(n for n in dict.fromkeys((old.note if old else None, note)) if n) or None
        self._missing[code] = MissingItem(code, entry["label"], merged, entry.get("order"),
                                          old.rule if old else self._label, notes)

    @property
    def considerations(self) -> tuple[Consideration, ...]:
        return tuple(self._considerations.values())

    @property
    def cautions(self) -> tuple[Caution, ...]:
        return tuple(self._cautions.values())

    @property
    def missing_items(self) -> tuple[MissingItem, ...]:
        return tuple(self._missing.values())

    def has_consideration(self, code: str) -> bool:
        return code in self._considerations
