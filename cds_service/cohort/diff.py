"""What a knowledge update changes for a cohort: the patients whose risk groups or considerations differ.

A CDS committee runs this before signing off new knowledge: `kmt2a-cds diff --knowledge OLD NEW COHORT` assesses
the cohort with both knowledge folders side by side, `--against FILE` compares with rows written earlier.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPARED = ("riskGroups", "considerations")


@dataclass(frozen=True)
class Change:
    patient: str
    risk_before: tuple[str, ...]
    risk_after: tuple[str, ...]
    considerations_added: tuple[str, ...]
    considerations_removed: tuple[str, ...]
    note: str = ""  # a patient present on one side only, or an assessment error

    def to_json(self) -> dict:
        out = {"patient": self.patient, "riskGroupsBefore": list(self.risk_before),
               "riskGroupsAfter": list(self.risk_after), "considerationsAdded": list(self.considerations_added),
               "considerationsRemoved": list(self.considerations_removed)}
        return out | ({"note": self.note} if self.note else {})

    def describe(self) -> str:
        parts = []
        if self.risk_before != self.risk_after:
            parts.append(f"risk {_list(self.risk_before)} -> {_list(self.risk_after)}")
        if self.considerations_added or self.considerations_removed:
            changes = [f"+{c}" for c in self.considerations_added] + [f"-{c}" for c in self.considerations_removed]
            parts.append("considerations " + " ".join(changes))
        if self.note:
            parts.append(self.note)
        return f"{self.patient}: " + "; ".join(parts)


def _list(items: tuple[str, ...]) -> str:
    return ", ".join(items) if items else "(none)"


def compare(patient: str, before: dict | None, after: dict | None) -> Change | None:
    """The change between two rows of one patient (None: nothing that the committee reviews changed)."""
    if before is None or after is None:
        note = "only in the new assessment" if before is None else "missing from the new assessment"
        before, after = before or {}, after or {}
    else:
        note = ""
    for side, label in ((before, "before"), (after, "after")):
        if side.get("error"):
            note = f"{label}: {side['error']}"
    risk_before, risk_after = tuple(sorted(before.get("riskGroups", []))), tuple(sorted(after.get("riskGroups", [])))
    old, new = set(before.get("considerations", [])), set(after.get("considerations", []))
    if risk_before == risk_after and old == new and not note:
        return None
    return Change(patient, risk_before, risk_after, tuple(sorted(new - old)), tuple(sorted(old - new)), note)
