"""Case objects built directly (no FHIR), to unit-test the rules while keeping each input explicit."""

from __future__ import annotations

from datetime import date, timedelta

from fhir_mappings.case import (
    Case, Diagnosis, DiseaseStatus, GeneticFinding, Karyotype, Kmt2aFinding, Kmt2aStatus, Kmt2aSummary, Lineage,
    MarkerResult, Measurement, MedicationUse, MrdResult, MrdTimepoint, Source,
)

REF = date(2026, 11, 1)


def src(ref: str, when: date | None = None) -> Source:
    return Source(ref, when or REF)


def kmt2a(status: Kmt2aStatus, partner: str | None = None, *, method: str = "fish", candidates=(), ambiguity=None,
          copies: tuple[float, float] | None = None, conflicts=()) -> Kmt2aSummary:
    finding = Kmt2aFinding(status=status, source=src("Observation/kmt2a"), method=method, partner=partner,
                           fusion=f"KMT2A::{partner}" if partner else None, candidate_partners=tuple(candidates),
                           copy_number=copies[0] if copies else None, copy_number_high=copies[1] if copies else None,
                           ambiguity=ambiguity)
    return Kmt2aSummary(status=status, partner=partner, fusion=finding.fusion, findings=(finding,),
                        copy_number=finding.copy_number, copy_number_high=finding.copy_number_high,
                        conflicts=tuple(conflicts), ambiguities=(ambiguity,) if ambiguity else ())


def make_case(*, age_at_dx_days: int | None = 120, days_since_dx: int = 10, lineage: Lineage = Lineage.B_ALL,
              status: DiseaseStatus = DiseaseStatus.NEWLY_DIAGNOSED, summary: Kmt2aSummary | None = None,
              wbc: float | None = None, day8: float | None = None, mrd_eoi: float | None = None,
              mrd_later: float | None = None, weight: float | None = None, bsa: float | None = None,
              qtc: float | None = None, genetics=(), karyotype: Karyotype | None = None, medications=(),
              markers=(), therapy_related: bool | None = None, diagnosed: bool = True) -> Case:
    dx = REF - timedelta(days=days_since_dx)
    birth = dx - timedelta(days=age_at_dx_days) if age_at_dx_days is not None else None
    case = Case(reference_date=REF, patient_id="p1", birth_date=birth,
                age_days=(REF - birth).days if birth else None,
                diagnosis_date=dx, age_at_diagnosis_days=age_at_dx_days, lineage=lineage, disease_status=status,
                therapy_related=therapy_related)
    if diagnosed:
        case.diagnoses = (Diagnosis(lineage, lineage.value, src("Condition/dx", dx), onset=dx, status=status),)
    case.kmt2a = summary if summary is not None else Kmt2aSummary()
    if wbc is not None:
        case.wbc_at_diagnosis = Measurement(wbc, "10*9/L", src("Observation/wbc", dx))
    if day8 is not None:
        case.day8_blood_blasts = Measurement(day8, "10*9/L", src("Observation/d8", dx + timedelta(days=7)))
    results = []
    if mrd_eoi is not None:
        results.append(MrdResult(src("Observation/mrd-eoi", dx + timedelta(days=33)), value=mrd_eoi,
                                 timepoint=MrdTimepoint.END_OF_INDUCTION))
    if mrd_later is not None:
        results.append(MrdResult(src("Observation/mrd-eoc", dx + timedelta(days=90)), value=mrd_later,
                                 timepoint=MrdTimepoint.END_OF_CONSOLIDATION))
    case.mrd_results = tuple(results)
    case.mrd_end_of_induction = results[0] if mrd_eoi is not None else None
    if weight is not None:
        case.weight = Measurement(weight, "kg", src("Observation/wt"))
    if bsa is not None:
        case.bsa = Measurement(bsa, "m2", src("Observation/bsa"), method="measured")
    if qtc is not None:
        case.qtc = Measurement(qtc, "ms", src("Observation/qtc"), method="QTcF")
    case.genetic_findings = tuple(genetics)
    case.karyotype = karyotype
    case.medications = tuple(medications)
    case.markers = tuple(markers)
    return case


def years(n: float) -> int:
    return int(n * 365.25) + 30


def tp53(vaf: float | None = 0.41) -> GeneticFinding:
    return GeneticFinding("TP53", "variant", True, src("Observation/tp53"), "p.Arg175His", vaf=vaf)


def crlf2() -> GeneticFinding:
    return GeneticFinding("CRLF2", "rearrangement", True, src("Observation/crlf2"))


def medication(name: str, *classes: str, active: bool = True, start: date | None = None) -> MedicationUse:
    return MedicationUse(name, src(f"MedicationRequest/{name}"), frozenset(classes), active=active, start=start)


def marker(name: str, positive: bool = True) -> MarkerResult:
    return MarkerResult(name, src(f"Observation/{name}"), positive=positive)
