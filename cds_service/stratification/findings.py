"""The accumulator the rules write into; it de-duplicates by code and fills texts, citations, tags and evidence levels
from rules.json. A claim's tag is its own (the weakest of its parts), never the tag of a source it cites."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from typing import Callable, Iterable, Iterator, Protocol

from cds_service.stratification.assessment import Caution, Consideration, MissingItem, RiskGroup
from cds_service.stratification import kb


class RunningRule(Protocol):
    """What the findings need of the rule that is running (a `rule.Rule`): its name and citation."""

    id: str
    label: str
    sources: tuple[str, ...]
    tag: str
    evidence: str

WindowCheck = Callable[[str], bool]  # missing-data code -> has its time window passed?


class Findings:
    def __init__(self, window_passed: WindowCheck | None = None, relapsed: bool = False) -> None:
        self.risk_groups: list[RiskGroup] = []
        self._considerations: dict[str, Consideration] = {}
        self._cautions: dict[str, Caution] = {}
        self._missing: dict[str, MissingItem] = {}
        self.disagreements: list[str] = []
        self.rules_applied: list[str] = []
        self._rule: RunningRule | None = None
        self._window_passed = window_passed or (lambda code: False)
        self._relapsed = relapsed

    @contextmanager
    def running(self, rule: RunningRule) -> Iterator[None]:
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

    def group(self, scheme: str, group: str, basis: Iterable[str], would_change: str | None = None,
              sources: Iterable[str] = ()) -> None:
        """A risk group. A scheme that classifies at initial diagnosis is shown as history after a relapse.
        `sources` replaces the rule's sources where the patient's population needs its own (an amplified adult ALL
        cites the amplification reports, not the KMT2A-r adult ALL trial)."""
        self._mark_applied()
        rule = self._rule
        entry = kb.scheme(scheme)
        history = self._relapsed and entry.get("moment") == "diagnosis"
        basis = list(basis)
        if history:
            basis.append(f"{entry['label']} classifies at initial diagnosis: after the relapse this group is history, "
                         "not the current risk")
        cited = tuple(sources) or (rule.sources if rule else ())
        self.risk_groups.append(RiskGroup(scheme, group, tuple(basis), self._label, cited, would_change, history,
                                          rule.tag if rule else entry["tag"], rule.evidence if rule else entry["evidence"],
                                          rule.id if rule else ""))

    def rests_also_on(self, result: str) -> None:
        """A result the next step after the latest risk group rests on (the end-of-induction MRD): quoted with that
        group's basis, so the card names the result behind 'MRD-positive: intensify' by content and date."""
        if self.risk_groups and result not in self.risk_groups[-1].basis:
            self.risk_groups[-1] = replace(self.risk_groups[-1], basis=(*self.risk_groups[-1].basis, result))

    def consider(self, code: str, note: str | None = None, strength: str | None = None,
                 population: str | None = None, fill: dict | None = None) -> None:
        """Add a consideration. `population` picks the consideration's population block in rules.json (its sources,
        tag, evidence level and note: an infant trial never backs a child's claim); `note` adds patient-specific text."""
        self._mark_applied()
        entry = kb.consideration(code)
        blocks = entry.get("populations", {})
        # A neutral prompt ("discuss HSCT") rests entirely on its population's support; "default" when none applies.
        block = blocks.get(population) if population in blocks else blocks.get("default")
        sources = tuple(dict.fromkeys((*entry["sources"], *(block["sources"] if block else ()))))
        tag = kb.weakest([entry["tag"], block["tag"] if block else ""])
        evidence = block["evidence"] if block else entry["evidence"]
        notes = [n.format(**(fill or {})) for n in ((block or {}).get("note"), note) if n]
        note = " ".join(notes) or None
        old = self._considerations.get(code)
        if old:
            merged_notes = [n for n in (old.note, note) if n and n not in (old.note or "")]
            self._considerations[code] = Consideration(
                code, old.strength, tuple(dict.fromkeys((*old.citations, *sources))), old.text,
                " ".join(merged_notes) or None, old.rule, kb.weakest([old.tag, tag]), old.evidence or evidence,
            )
            return
        self._considerations[code] = Consideration(
            code=code, strength=strength or entry["strength"], citations=sources, text=entry["text"], note=note,
            rule=self._label, tag=tag, evidence=evidence,
        )

    def caution(self, code: str, note: str | None = None, tag: str | None = None,
                sources: Iterable[str] = ()) -> None:
        """A caution; `tag` and `sources` come with a note that carries its own claim (a disagreement's text)."""
        self._mark_applied()
        entry = kb.caution(code)
        sentence = f"{note[:1].upper()}{note[1:]}{'' if note.endswith('.') else '.'}" if note else ""
        text = f"{entry['text']} {sentence}" if note else entry["text"]
        cited = tuple(dict.fromkeys((*entry["sources"], *sources)))
        claim_tag = kb.weakest([entry["tag"], tag or ""])
        old = self._cautions.get(code)
        if old:
            if note and note not in old.text:
                self._cautions[code] = Caution(code, f"{old.text} {note}", old.safety, old.rule,
                                               tuple(dict.fromkeys((*old.citations, *cited))),
                                               kb.weakest([old.tag, claim_tag]), old.evidence,
                                               " ".join(n for n in (old.note, note) if n))
            return
        self._cautions[code] = Caution(code, text, bool(entry.get("safety", True)), self._label, cited, claim_tag,
                                       entry["evidence"], note)

    def disagree(self, key: str) -> None:
        """Record that this patient's decision rests on sources that disagree (caution `source-disagreement`)."""
        entry = kb.disagreement(key)
        if entry["text"] not in self.disagreements:
            self.disagreements.append(entry["text"])
        self.caution("source-disagreement", entry["text"], tag=entry["tag"], sources=entry["sources"])

    def missing(self, code: str, blocks: Iterable[str] = (), note: str | None = None, order: str | None = None,
                sources: Iterable[str] = ()) -> None:
        """Name missing data. `order` picks a variant of the test to order (rules.json `orders`), e.g. the FISH with
        RARA probes for a t(11;17). A time-bound input whose window has passed is not ordered: its note says so."""
        self._mark_applied()
        entry = kb.missing_data(code)
        old = self._missing.get(code)
        merged = tuple(dict.fromkeys((*(old.blocks if old else ()), *blocks)))
        passed = "window" in entry and self._window_passed(code)
        if passed:
            note = " ".join(n for n in (entry["window"]["passed"], note) if n)
        notes = " ".join(n for n in dict.fromkeys((old.note if old else None, note)) if n) or None
        wanted = entry.get("orders", {}).get(order) if order else None
        test = None if passed else (wanted or (old.order if old else None) or entry.get("order"))
        # the caller's sources are the specific ones (the scheme this item blocks): they lead, so a child's missing
        # KMT2A status cites the childhood ALL trials, not the adult AML classification
        cited = tuple(dict.fromkeys((*sources, *(old.citations if old else ()), *entry["sources"])))
        self._missing[code] = MissingItem(code, entry["label"], merged, test, old.rule if old else self._label, notes,
                                          passed, cited)

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

    def withdraw(self, code: str) -> None:
        """Take back a consideration an earlier rule added (advice the record shows has been acted on)."""
        if self._considerations.pop(code, None) is not None:
            self._mark_applied()
