"""The result of checking one draft order: data only, rendered into cards per hook later.

An `OrderCheck` is immutable so that order-sign can reuse the order-select result from the cache and
render it again with the stricter indicators.
"""

from __future__ import annotations

from dataclasses import dataclass

from cds_service.orders import policy
from cds_service.orders.wording import shorten
from cds_service.hooks.protocol import without_empty

# The contract's verdicts, plus "do-not-start" (added): a pre-start rule forbids the first dose (QTcF above
# the limit), so a structured reader never sees "ok" on an order the card tells the prescriber not to start.
VERDICTS = ("ok", "dose-too-high", "dose-too-low", "not-indicated", "interaction", "cannot-check", "do-not-start",
            "hold", "dose-not-dispensable")
# Added verdicts: "hold": on treatment, QTcF above the interrupt limit (do not give the next dose);
# "dose-not-dispensable": whole tablets or capsules cannot make the ordered dose (never "ok").

# Which verdict names the order when several apply: the most consequential first.
VERDICT_PRIORITY = ("not-indicated", "do-not-start", "hold", "dose-too-high", "dose-too-low", "dose-not-dispensable", "interaction", "cannot-check", "ok")


def worst(verdicts) -> str:
    present = set(verdicts) or {"ok"}
    return next(v for v in VERDICT_PRIORITY if v in present)


@dataclass(frozen=True)
class OrderCheck:
    order: str  # "MedicationRequest/abc"
    medication: str  # ingredient, hyphenated: "revumenib", "gemtuzumab-ozogamicin"
    verdict: str  # one of VERDICTS
    kind: str  # "menin-inhibitor" | "interaction" | "supporting-evidence"
    summary: str  # card summary, <= 140 characters
    lines: tuple[str, ...] = ()  # card detail, one finding per line (markdown)
    ordered_dose: dict | None = None  # {"value", "unit", "frequency"}
    expected_dose: dict | None = None  # {"value", "unit", "frequency", "basis"}
    reasons: tuple[str, ...] = ()
    missing_data: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # knowledge source keys, the first one is the card source
    unsafe: bool = False  # critical at order-sign (wrong dose, not indicated, QTcF above the limit at start)
    problem: bool = False  # anything the prescriber should act on (warning at order-select)
    corrected: dict | None = None  # corrected MedicationRequest for an update action
    correction_label: str | None = None
    correction_text: str | None = None
    override_group: str = "dose"  # key into order_checks.json override_reasons
    hooks: tuple[str, ...] = ("order-select", "order-sign")  # where a card is shown
    covered_by: str | None = None  # another order whose card already says this (no second card then)
    findings: tuple[str, ...] = ()  # codes into card_policy.json "order_checks": they decide the indicator

    def __post_init__(self) -> None:
        object.__setattr__(self, "summary", shorten(self.summary))  # the spec: summary under 140 characters

    @property
    def level(self) -> str:
        """critical / warning / info, from the policy table; a check without findings falls back on its flags."""
        if self.findings:
            return policy.level(self.findings)
        return "critical" if self.unsafe else "warning" if self.problem else "info"

    def extension(self) -> dict:
        """The contract's `org.kmt2a-cds.order-check` object: unknown values omitted, never null or empty."""
        out = {"order": self.order, "medication": self.medication, "verdict": self.verdict}
        if self.ordered_dose:
            out["orderedDose"] = without_empty(self.ordered_dose)
        if self.expected_dose:
            out["expectedDose"] = without_empty(self.expected_dose)
        if self.reasons:
            out["reasons"] = list(dict.fromkeys(self.reasons))
        if self.missing_data:
            out["missingData"] = list(dict.fromkeys(self.missing_data))
        return out
