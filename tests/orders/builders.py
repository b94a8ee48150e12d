"""Small builders for Cases and draft orders, so each test states only what it is about."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from fhir_mappings.case import (
    Case,
    DiseaseStatus,
    Dose,
    DraftMedicationOrder,
    GeneticFinding,
    Kmt2aStatus,
    Kmt2aSummary,
    Lineage,
    Measurement,
    MarkerResult,
    MedicationUse,
    Source,
)

TODAY = date(2026, 11, 21)
LAB = Source("Observation/lab-1", date(2026, 11, 20))
CD33_POSITIVE = MarkerResult("CD33", Source("Observation/flow-1", date(2026, 11, 2)), positive=True, fraction=0.92)

CLASSES = {
    "revumenib": {"menin-inhibitor", "qt-prolonging"},
    "ziftomenib": {"menin-inhibitor"},
    "gemtuzumab ozogamicin": {"gemtuzumab-ozogamicin", "cd33-directed"},
    "posaconazole": {"strong-cyp3a4-inhibitor", "qt-prolonging"},
    "itraconazole": {"strong-cyp3a4-inhibitor"},
    "voriconazole": {"strong-cyp3a4-inhibitor", "qt-prolonging"},
    "fluconazole": {"moderate-cyp3a4-inhibitor"},
    "rifampin": {"strong-cyp3a4-inducer"},
    "ondansetron": {"qt-prolonging"},
    "lisinopril": set(),
}


def measurement(value: float, unit: str, method: str | None = None) -> Measurement:
    return Measurement(value, unit, LAB, method=method)


def medication_request(order_id: str, dose: float | None = None, unit: str = "mg", text: str = "revumenib",
                       **extra) -> dict:
    resource = {"resourceType": "MedicationRequest", "id": order_id, "status": "draft", "intent": "order",
                "subject": {"reference": "Patient/p1"}, "medicationCodeableConcept": {"text": text}}
    if dose is not None:
        resource["dosageInstruction"] = [{"timing": {"code": {"text": "BID"}},
                                          "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit,
                                                                            "system": "http://unitsofmeasure.org",
                                                                            "code": unit}}]}]
    resource.update(extra)
    return resource


def draft(ingredient: str | None, dose: float | None = None, unit: str = "mg", frequency: str | None = "q12h",
          per_day: float | None = 2, order_id: str | None = None, resource: dict | None = None) -> DraftMedicationOrder:
    order_id = order_id or f"draft-{(ingredient or 'empty').replace(' ', '-')}"
    return DraftMedicationOrder(
        reference=f"MedicationRequest/{order_id}",
        resource=resource or medication_request(order_id, dose, unit, ingredient or ""),
        ingredient=ingredient,
        classes=frozenset(CLASSES.get(ingredient or "", set())),
        text=ingredient,
        dose=Dose(dose, unit, frequency, per_day) if dose is not None else None,
    )


def active(ingredient: str) -> MedicationUse:
    return MedicationUse(ingredient, Source(f"MedicationRequest/active-{ingredient}"),
                         frozenset(CLASSES.get(ingredient, set())), active=True)


def case(*, orders=(), meds=(), weight: float | None = 70, bsa: float | None = 1.8, age_years: int | None = 40,
         kmt2a: Kmt2aStatus = Kmt2aStatus.REARRANGED, status: DiseaseStatus = DiseaseStatus.RELAPSED,
         lineage: Lineage = Lineage.AML, qtcf: float | None = 420, qtc_method: str = "QTcF",
         potassium: float | None = 4.0, magnesium: float | None = 0.9, wbc: float | None = 5,
         npm1: bool | None = None, age_days: int | None = None) -> Case:
    birth = date(TODAY.year - age_years, 1, 1) if age_years is not None else None
    if age_days is not None:
        birth = date.fromordinal(TODAY.toordinal() - age_days)
    findings = ()
    if npm1 is not None:
        findings = (GeneticFinding("NPM1", "variant", npm1, LAB, "p.Trp288fs" if npm1 else None),)
    return Case(
        reference_date=TODAY, patient_id="p1", birth_date=birth,
        age_days=(TODAY - birth).days if birth else None,
        weight=measurement(weight, "kg") if weight is not None else None,
        bsa=measurement(bsa, "m2", "mosteller") if bsa is not None else None,
        lineage=lineage, disease_status=status, kmt2a=Kmt2aSummary(status=kmt2a),
        genetic_findings=findings,
        qtc=measurement(qtcf, "ms", qtc_method) if qtcf is not None else None,
        potassium=measurement(potassium, "mmol/L") if potassium is not None else None,
        magnesium=measurement(magnesium, "mmol/L") if magnesium is not None else None,
        wbc_latest=measurement(wbc, "10*9/L") if wbc is not None else None,
        medications=tuple(active(m) for m in meds), draft_orders=tuple(orders),
    )


def with_orders(base: Case, *orders: DraftMedicationOrder) -> Case:
    return replace(base, draft_orders=tuple(orders))
