"""A rule: a named, versioned, cited function from facts to findings. Its metadata lives in rules.json."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cds_service.stratification import kb
from cds_service.stratification.facts import Facts
from cds_service.stratification.findings import Findings
from fhir_mappings.case import Kmt2aStatus


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    title: str
    inputs: tuple[str, ...]
    sources: tuple[str, ...]
    tag: str
    evidence: str
    evaluate: Callable[[Facts, Findings], None]

    @property
    def label(self) -> str:
        return f"{self.id} v{self.version}"

    def __call__(self, facts: Facts, out: Findings) -> None:
        with out.running(self):
            self.evaluate(facts, out)


def rule(rule_id: str) -> Callable[[Callable[[Facts, Findings], None]], Rule]:
    """Decorator: bind a function to its rule metadata (version, inputs, sources) from rules.json."""

    def wrap(fn: Callable[[Facts, Findings], None]) -> Rule:
        meta = kb.rule_meta(rule_id)
        return Rule(
            id=rule_id,
            version=str(meta["version"]),
            title=meta["title"],
            inputs=tuple(meta["inputs"]),
            sources=tuple(meta["sources"]),
            tag=meta["tag"],
            evidence=meta["evidence"],
            evaluate=fn,
        )

    return wrap


def kmt2a_status_missing(scheme: str, f: Facts, out: Findings) -> None:
    """An unknown KMT2A status, named missing for `scheme` when it decides something now (conflicting results, or
    not long in remission: Facts.kmt2a_status_due); every scheme asks on the same terms."""
    if f.kmt2a_status_due or f.case.kmt2a.conflicts:
        out.missing("kmt2a-status", blocks=(scheme,), sources=kb.scheme(scheme)["sources"])


def rearranged_for(scheme: str, f: Facts, out: Findings) -> bool:
    """Whether a rearrangement-only scheme applies; an unknown KMT2A status is named missing for it, never guessed."""
    if f.kmt2a_status is Kmt2aStatus.UNKNOWN:
        kmt2a_status_missing(scheme, f, out)
        return False
    return f.rearranged
