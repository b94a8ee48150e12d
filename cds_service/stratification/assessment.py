"""The assessment: what the rules concluded about one Case, and its public JSON (contract `org.kmt2a-cds.assessment`).

The dataclasses carry more than the JSON (rule ids, the results a decision rested on, what would change it) so
that cards can explain themselves; `to_json()` emits exactly the contract fields and omits every unknown value,
because CDS Hooks forbids null and empty values anywhere in a response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fhir_mappings.case import Source
from cds_service.hooks.protocol import without_empty


@dataclass(frozen=True)
class PatientFacts:
    age_days: int | None = None
    age_at_diagnosis_days: int | None = None
    age_group: str = "unknown"  # infant | child | adult | unknown
    weight_kg: float | None = None
    bsa_m2: float | None = None


@dataclass(frozen=True)
class DiseaseFacts:
    lineage: str = "unknown"
    setting: str = "unknown"  # newly-diagnosed | relapsed-refractory | unknown
    therapy_related: bool | None = None
    has_leukemia: bool = False  # a leukemia Condition or any KMT2A finding is on the chart
    diagnosis_date: date | None = None  # cards only: ages at diagnosis rest on it
    chart_status: str = "unknown"  # cards only: the chart's own status ("in-remission" maps to newly-diagnosed)


@dataclass(frozen=True)
class Kmt2aFacts:
    status: str = "unknown"
    partner: str | None = None
    fusion: str | None = None
    copy_number: float | None = None
    copy_number_high: float | None = None  # upper end of a reported range (cards only; the contract has one number)
    evidence: tuple[Source, ...] = ()
    results: tuple[str, ...] = ()  # cards only: each result by content and date ("FISH KMT2A::AFF1 on 3 Sep 2026")


@dataclass(frozen=True)
class RiskGroup:
    scheme: str
    group: str
    basis: tuple[str, ...]
    rule: str = ""  # "interfant-06 v1"
    sources: tuple[str, ...] = ()  # knowledge source keys
    would_change: str | None = None  # what result would change the group
    history: bool = False  # a diagnosis-time classification shown at relapse: history, not the current state
    tag: str = ""  # the verification tag of the scheme's rule (V, P, U, SRC)
    evidence: str = ""  # its evidence level (guideline, prospective-trial, ...)
    rule_id: str = ""  # the rule that set the group ("interfant-06"): its metadata without parsing `rule`


@dataclass(frozen=True)
class Consideration:
    code: str
    strength: str  # consider | avoid | info
    citations: tuple[str, ...]
    text: str = ""
    note: str | None = None  # patient-specific addition (e.g. the dose summary)
    rule: str = ""
    tag: str = ""  # the claim's own verification tag (never the tag of a source it cites)
    evidence: str = ""  # its evidence level: label, guideline, prospective-trial, retrospective-cohort, ...


@dataclass(frozen=True)
class Caution:
    code: str
    text: str
    safety: bool = True  # False: an editorial caution (sources disagree), shown beside the decision it concerns
    rule: str = ""
    citations: tuple[str, ...] = ()
    tag: str = ""
    evidence: str = ""
    note: str | None = None  # cards only: the patient-specific part of `text` (which exposure, which results)


@dataclass(frozen=True)
class MissingItem:
    code: str
    label: str
    blocks: tuple[str, ...] = ()  # the decisions that cannot be made without it (scheme ids, "menin-inhibitor-dose")
    order: dict | None = None  # {"text", "coding"}: the test to order, when one can be ordered
    rule: str = ""
    note: str | None = None  # why it is missing for this patient, when that is not obvious
    window_passed: bool = False  # a time-bound input (day-8 response, WBC at diagnosis) whose time has passed
    citations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    knowledge_version: str
    patient: PatientFacts = field(default_factory=PatientFacts)
    disease: DiseaseFacts = field(default_factory=DiseaseFacts)
    kmt2a: Kmt2aFacts = field(default_factory=Kmt2aFacts)
    risk_groups: tuple[RiskGroup, ...] = ()
    considerations: tuple[Consideration, ...] = ()
    cautions: tuple[Caution, ...] = ()
    missing: tuple[MissingItem, ...] = ()
    disagreements: tuple[str, ...] = ()  # texts of source disagreements that touched this patient
    rules_applied: tuple[str, ...] = ()  # "interfant-06 v1", in the order they ran
    patient_reference: str | None = None  # "Patient/x", for drafted orders; never logged
    order_checks: tuple[dict, ...] = ()  # contract order-check objects, when the input held draft orders

    @property
    def missing_data(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.missing)

    def consideration(self, code: str) -> Consideration | None:
        return next((c for c in self.considerations if c.code == code), None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "knowledgeVersion": self.knowledge_version,
            "patient": without_empty(
                {
                    "ageDays": self.patient.age_days,
                    "ageAtDiagnosisDays": self.patient.age_at_diagnosis_days,
                    "ageGroup": self.patient.age_group,
                    "weightKg": _number(self.patient.weight_kg),
                    "bsaM2": _number(self.patient.bsa_m2),
                }
            ),
            "disease": without_empty(
                {
                    "lineage": self.disease.lineage,
                    "setting": self.disease.setting,
                    "therapyRelated": self.disease.therapy_related,
                }
            ),
            "kmt2a": without_empty(
                {
                    "status": self.kmt2a.status,
                    "partner": self.kmt2a.partner,
                    "fusion": self.kmt2a.fusion,
                    "copyNumber": _number(self.kmt2a.copy_number),
                    "evidence": list(dict.fromkeys(s.reference for s in self.kmt2a.evidence)),
                }
            ),
            "riskGroups": [
                without_empty({"scheme": g.scheme, "group": g.group, "basis": list(g.basis), "history": g.history or None})
                for g in self.risk_groups
            ],
            "considerations": [
                without_empty({"code": c.code, "strength": c.strength, "citations": list(c.citations), "tag": c.tag,
                          "evidence": c.evidence})
                for c in self.considerations
            ],
            "cautions": [without_empty({"code": c.code, "text": c.text, "citations": list(c.citations), "tag": c.tag,
                                   "evidence": c.evidence}) for c in self.cautions],
            "missingData": list(self.missing_data),
            "orderChecks": list(self.order_checks),
        }
        return without_empty(out)


def _number(value: float | None) -> float | int | None:
    """Whole numbers print as integers (8 copies, not 8.0); others keep two decimals at most."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(float(value), 2)
