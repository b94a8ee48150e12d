"""The Case: the single internal model the rules read.

Every fact carries its provenance (`Source`: which resource, of which date) so a card can say
"based on Observation/x of 2025-03-02". A fact that could not be read is `None` (or an empty tuple),
never a guess; why it could not be read is in `Case.problems`.

Canonical units (the mappers convert to these; the rules never see other units):
  counts in blood      10*9/L  (WBC, absolute blasts)
  percentages          as a fraction 0..1 (blasts %, MRD, marker positivity)
  weight kg, height cm, BSA m2, QTc ms, potassium and magnesium mmol/L

This module is the contract between `fhir_mappings` and the rules: add fields, never rename them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import Enum


class Lineage(str, Enum):
    B_ALL = "B-ALL"
    T_ALL = "T-ALL"
    ALL = "ALL"  # lymphoblastic, B/T not stated
    AML = "AML"
    MPAL = "MPAL"
    UNKNOWN = "unknown"

    @property
    def is_lymphoblastic(self) -> bool:
        return self in (Lineage.B_ALL, Lineage.T_ALL, Lineage.ALL)


class DiseaseStatus(str, Enum):
    NEWLY_DIAGNOSED = "newly-diagnosed"
    IN_REMISSION = "in-remission"
    RELAPSED = "relapsed"
    REFRACTORY = "refractory"
    UNKNOWN = "unknown"


class Kmt2aStatus(str, Enum):
    REARRANGED = "rearranged"  # a fusion / translocation / insertion: KMT2A-r
    AMPLIFIED = "amplified"  # extra copies, no fusion: NOT a rearrangement
    PTD = "ptd"  # partial tandem duplication: NOT a rearrangement
    NOT_DETECTED = "not-detected"  # tested, germline KMT2A
    UNKNOWN = "unknown"  # not tested, or results conflict


class MrdTimepoint(str, Enum):
    END_OF_INDUCTION = "end-of-induction"
    END_OF_CONSOLIDATION = "end-of-consolidation"
    OTHER = "other"
    UNKNOWN = "unknown"


class MrdMethod(str, Enum):
    FLOW = "flow"
    PCR = "pcr"  # qPCR of the KMT2A breakpoint or IG/TCR
    NGS = "ngs"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Source:
    """Where a fact came from: a relative reference and the clinically relevant date."""

    reference: str  # "Observation/obs-7"
    date: date | None = None

    def __str__(self) -> str:
        return f"{self.reference} of {self.date.isoformat()}" if self.date else self.reference


@dataclass(frozen=True)
class Measurement:
    """A numeric result in the canonical unit of its kind (see module docstring)."""

    value: float
    unit: str
    source: Source
    comparator: str | None = None  # "<", "<=", ">", ">=" as reported
    method: str | None = None  # e.g. "QTcF", "QTcB", "measured", "mosteller"
    derived_from: tuple[Source, ...] = ()  # the inputs of a computed value (Mosteller BSA, day-8 blasts)


@dataclass(frozen=True)
class Diagnosis:
    """One leukemia Condition."""

    lineage: Lineage
    text: str  # display or text, for cards
    source: Source
    onset: date | None = None
    recorded: date | None = None
    status: DiseaseStatus = DiseaseStatus.UNKNOWN
    codes: tuple[str, ...] = ()  # "system|code"
    mentions_11q23: bool = False  # e.g. ICD-10-CM C92.6x / SNOMED 1157157006
    therapy_related: bool = False  # coded or written as therapy-related / post cytotoxic therapy


@dataclass(frozen=True)
class Kmt2aFinding:
    """One result about KMT2A (a karyotype, a FISH, a fusion or variant report)."""

    status: Kmt2aStatus
    source: Source
    method: str = "unknown"  # "karyotype", "fish", "molecular", "text"
    partner: str | None = None  # current HGNC symbol of the gene fused to KMT2A
    fusion: str | None = None  # "KMT2A::AFF1" (5' then 3')
    candidate_partners: tuple[str, ...] = ()  # when the breakpoint allows several
    copy_number: float | None = None  # amplification: copies (low end of a range)
    copy_number_high: float | None = None  # amplification: high end of a range
    ambiguity: str | None = None  # a caution code, e.g. "t11-19-partner-ambiguous", "t11-17-may-be-apl"
    text: str | None = None  # the string as the lab printed it (ISCN, fusion text)
    uncertain: bool = False  # the lab hedged ("possible", "cannot be excluded", "equivocal"): status UNKNOWN
    qualifiers: tuple[str, ...] = ()  # kept as written: "historical", "subclone", "mosaic", "8/20 metaphases"


@dataclass(frozen=True)
class Kmt2aSummary:
    """All KMT2A findings resolved into one status; conflicts are kept, not hidden."""

    status: Kmt2aStatus = Kmt2aStatus.UNKNOWN
    partner: str | None = None
    fusion: str | None = None
    copy_number: float | None = None
    copy_number_high: float | None = None
    findings: tuple[Kmt2aFinding, ...] = ()
    conflicts: tuple[str, ...] = ()  # human-readable: "FISH Observation/a rearranged vs karyotype Observation/b normal"
    ambiguities: tuple[str, ...] = ()  # caution codes from the findings

    @property
    def evidence(self) -> tuple[Source, ...]:
        return tuple(f.source for f in self.findings)


@dataclass(frozen=True)
class Karyotype:
    iscn: str
    source: Source
    abnormality_count: int = 0
    complex: bool = False  # >= 3 unrelated abnormalities
    aberrations: tuple[str, ...] = ()  # each abnormality as written: "+8", "t(9;11)(p21.3;q23.3)", "-7"
    clones: int = 1


@dataclass(frozen=True)
class GeneticFinding:
    """A non-KMT2A finding the rules use: TP53 variant, CRLF2 rearrangement, NPM1 mutation ..."""

    gene: str  # current HGNC symbol
    kind: str  # "variant", "rearrangement", "deletion", "amplification"
    present: bool
    source: Source
    detail: str | None = None  # p.HGVS or text, e.g. "p.Arg175His"
    qualifiers: tuple[str, ...] = ()  # "historical", "subclone", "mosaic"
    vaf: float | None = None  # variant allele fraction (0.41 == 41 %), from Genomics Reporting component 81258-6


@dataclass(frozen=True)
class MrdResult:
    source: Source
    value: float | None = None  # fraction (1e-4 == 0.01 %)
    comparator: str | None = None
    positive: bool | None = None  # the lab's coded interpretation; the rules judge the value (facts.mrd_positive)
    timepoint: MrdTimepoint = MrdTimepoint.UNKNOWN
    method: MrdMethod = MrdMethod.UNKNOWN
    sensitivity: float | None = None  # fraction


@dataclass(frozen=True)
class MarkerResult:
    """An immunophenotype marker on the blasts (lineage-switch watch)."""

    marker: str  # "CD15", "CD65", "CD19", "CD33", "CD14"
    source: Source
    positive: bool | None = None
    fraction: float | None = None


@dataclass(frozen=True)
class MedicationUse:
    """A medication the patient takes or took, normalised to its ingredient."""

    ingredient: str  # lower-case ingredient name, e.g. "posaconazole"
    source: Source
    classes: frozenset[str] = frozenset()  # e.g. "strong-cyp3a4-inhibitor", "topoisomerase-ii-inhibitor"
    rxnorm: str | None = None  # ingredient RxCUI when known
    active: bool = False  # currently taken / ordered
    start: date | None = None
    end: date | None = None
    kind: str = "request"  # "request", "statement", "administration"


@dataclass(frozen=True)
class Dose:
    """One administration as ordered, typed. An order in tablets or capsules of a product whose strength is known
    is carried in mg (`value` = units x strength, `units`/`unit_form`/`strength_mg` say how it is made up); without
    a known strength `unit` is the form ("tablet", "capsule") and `value` the count."""

    value: float
    unit: str  # "mg", "mg/m2", "mg/kg"; or "tablet" / "capsule" when the strength is unknown
    frequency: str | None = None  # "q12h", "daily", ...
    doses_per_day: float | None = None
    units: float | None = None  # tablets or capsules per dose, when ordered as such
    unit_form: str | None = None  # "tablet" | "capsule"
    strength_mg: float | None = None  # the strength of one tablet or capsule of the ordered product
    route: str | None = None  # as written: "oral", "intravenous"
    count: int | None = None  # administrations ordered (timing.repeat.count), when stated
    text: str | None = None  # dosageInstruction.text as sent


@dataclass(frozen=True)
class DraftMedicationOrder:
    """An unsigned MedicationRequest from `context.draftOrders`."""

    reference: str  # "MedicationRequest/abc"
    resource: dict  # the raw JSON, the base of a corrected copy in an update action
    ingredient: str | None = None  # None while the order is still empty
    classes: frozenset[str] = frozenset()
    rxnorm: str | None = None
    text: str | None = None
    dose: Dose | None = None
    selected: bool = True  # in `context.selections` (order-sign: all orders)
    unreadable: str | None = None  # why the order failed R4 validation: its drug was read, its dose not trusted
    product_strength_mg: float | None = None  # strength of the ordered product ("Revuforj 160 MG Oral Tablet")


@dataclass(frozen=True)
class UnreadableDocument:
    """A report that was sent but could not be read (a scanned PDF without text, an image, a link only): named on
    the card so a person reads it, never guessed at."""

    source: Source
    title: str  # the report's name as sent, e.g. "Bone marrow cytogenetics"
    reason: str  # e.g. "a PDF without a text layer (a scan?)"


@dataclass(frozen=True)
class Problem:
    """A resource we skipped or read leniently, and why. Never contains patient identifiers."""

    message: str
    reference: str | None = None


@dataclass
class Case:
    reference_date: date
    patient_id: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    age_days: int | None = None
    diagnosis_date: date | None = None
    age_at_diagnosis_days: int | None = None

    weight: Measurement | None = None  # kg, latest
    height: Measurement | None = None  # cm, latest
    bsa: Measurement | None = None  # m2, measured or Mosteller (method says which)

    diagnoses: tuple[Diagnosis, ...] = ()
    lineage: Lineage = Lineage.UNKNOWN  # current: the lineage of the latest leukemia diagnosis
    original_lineage: Lineage = Lineage.UNKNOWN  # at first diagnosis; differs from `lineage` after a switch
    lineage_switch: bool = False  # the leukemia came back in the other lineage: one disease history, relapsed
    lineage_switch_evidence: tuple[Source, ...] = ()  # the diagnosis before and the diagnosis after the switch
    disease_status: DiseaseStatus = DiseaseStatus.UNKNOWN
    disease_status_evidence: tuple[Source, ...] = ()
    therapy_related: bool | None = None  # None: cannot tell
    therapy_related_evidence: tuple[Source, ...] = ()

    kmt2a: Kmt2aSummary = field(default_factory=Kmt2aSummary)
    karyotype: Karyotype | None = None
    genetic_findings: tuple[GeneticFinding, ...] = ()

    wbc_at_diagnosis: Measurement | None = None  # 10*9/L
    wbc_latest: Measurement | None = None
    blood_blasts: Measurement | None = None  # fraction, latest
    marrow_blasts: Measurement | None = None  # fraction, latest
    day8_blood_blasts: Measurement | None = None  # 10*9/L, prednisone response
    mrd_results: tuple[MrdResult, ...] = ()
    mrd_end_of_induction: MrdResult | None = None

    qtc: Measurement | None = None  # ms, latest; method "QTcF" preferred over "QTcB"
    qtc_readings: tuple[Measurement, ...] = ()  # every QTc on record, oldest first (ECG schedule, rise from baseline)
    potassium: Measurement | None = None
    magnesium: Measurement | None = None

    medications: tuple[MedicationUse, ...] = ()
    markers: tuple[MarkerResult, ...] = ()
    draft_orders: tuple[DraftMedicationOrder, ...] = ()
    # signed, active menin-inhibitor MedicationRequests read like drafts (with their dose): a patient already on the
    # drug whose dose no longer fits (a strong CYP3A4 inhibitor started since) is found at patient-view too
    current_orders: tuple[DraftMedicationOrder, ...] = ()
    transplants: tuple[Source, ...] = ()  # haematopoietic stem cell transplants on record (Procedure or Condition)
    problems: tuple[Problem, ...] = ()
    unreadable_documents: tuple[UnreadableDocument, ...] = ()  # reports we could not read (named on the card)

    def finding(self, gene: str) -> tuple[GeneticFinding, ...]:
        return tuple(f for f in self.genetic_findings if f.gene == gene)

    def active_medications_in(self, drug_class: str) -> tuple[MedicationUse, ...]:
        return tuple(m for m in self.medications if m.active and drug_class in m.classes)

    def exposures_to(self, drug_class: str) -> tuple[MedicationUse, ...]:
        return tuple(m for m in self.medications if drug_class in m.classes)
