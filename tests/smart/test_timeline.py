"""The timeline's events and values, read as the hooks read them, from charts written in other ways than the demo."""

from __future__ import annotations

from datetime import date

from cds_service.smart import timeline
from fhir_mappings import case_from_resources
from tests.fixtures.vignettes import fhir as F
from tests.smart import demo_patient

P = "tl-1"
DX = date(2025, 3, 1)


def _case_and_timeline(extra: list[dict]):
    resources = [F.patient(P, date(2010, 1, 1), "male"), F.condition(f"{P}-dx", P, "AML", DX), *extra]
    case = case_from_resources(resources, reference_date=date(2026, 1, 1), patient_id=P)
    return case, timeline.build(case, resources)


def _procedure(rid: str, text: str, when: str, status: str = "completed", coding=None) -> dict:
    code = {"text": text, **({"coding": coding} if coding else {})}
    return {"resourceType": "Procedure", "id": rid, "status": status, "code": code,
            "subject": {"reference": f"Patient/{P}"}, "performedPeriod": {"start": when}}


def test_relapse_from_a_disease_status_observation_and_transplants_by_words_or_code():
    status = F._lab(f"{P}-st", P, {"coding": [{"system": F.LOINC, "code": "97509-4"}]}, "2025-11-02",
                    valueCodeableConcept={"coding": [{"system": F.SNOMED, "code": "271299001"}]})
    _, t = _case_and_timeline([
        status,
        _procedure(f"{P}-bmt", "Allo-BMT, sibling donor", "2025-08-10"),
        _procedure(f"{P}-sct", "Transplant", "2026-02-01", coding=[{"system": F.SNOMED, "code": "234336002"}]),
        _procedure(f"{P}-plan", "Allogeneic stem cell transplant", "2026-03-01", status="not-done"),
        _procedure(f"{P}-port", "Central venous port insertion", "2025-03-02"),
        _procedure(f"{P}-eval", "Bone marrow transplant evaluation", "2025-06-01"),
        _procedure(f"{P}-harvest", "Stem cell harvest (donor)", "2025-07-01"),
    ])
    assert [(e.kind, e.when.isoformat(), e.label) for e in t.events] == [
        ("diagnosis", "2025-03-01", "Diagnosis"), ("hsct", "2025-08-10", "HSCT"),
        ("relapse", "2025-11-02", "Relapse"), ("hsct", "2026-02-01", "HSCT")]


def test_the_timeline_draws_the_transplants_the_case_holds():
    """One reading of what a transplant is, for the order checks and the chart: cord blood in British spelling, a
    transplant-status Condition dated by its onset, and a refuted one left out."""
    status = {"resourceType": "Condition", "id": f"{P}-z94", "subject": {"reference": f"Patient/{P}"},
              "code": {"coding": [{"system": F.ICD10, "code": "Z94.84"}], "text": "Stem cells transplant status"},
              "onsetDateTime": "2025-09-20"}
    refuted = dict(status, id=f"{P}-z94-refuted", onsetDateTime="2025-10-01", verificationStatus={"coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}]})
    case, t = _case_and_timeline([_procedure(f"{P}-cb", "Umbilical cord blood transplant", "2025-08-10"), status,
                                  refuted])
    assert [(e.kind, e.when.isoformat()) for e in t.events if e.kind == "hsct"] == [
        ("hsct", "2025-08-10"), ("hsct", "2025-09-20")]
    assert {s.reference for s in case.transplants} == {f"Procedure/{P}-cb", f"Condition/{P}-z94"}


def test_values_in_other_units_are_converted_and_implausible_or_undated_ones_left_out():
    wbc_per_l = F._lab(f"{P}-w1", P, {"coding": [{"system": F.LOINC, "code": "6690-2"}]}, "2025-03-01",
                       valueQuantity={"value": 12000, "unit": "/uL", "system": "http://unitsofmeasure.org", "code": "/uL"})
    implausible = F.wbc(f"{P}-w2", P, "2025-03-05", 1e308)
    undated = F.wbc(f"{P}-w3", P, "2025-03-06", 5)
    del undated["effectiveDateTime"]
    _, t = _case_and_timeline([wbc_per_l, implausible, undated])
    assert [(p.when.isoformat(), p.value, p.display) for p in t.panel("wbc")] == [("2025-03-01", 12.0, "12 x10^9/L")]
    assert t.undated == 1


def test_the_demo_chart_has_every_planned_value():
    case = case_from_resources(demo_patient.resources(), reference_date=demo_patient.REFERENCE_DATE,
                               patient_id=demo_patient.PATIENT)
    t = timeline.build(case, demo_patient.resources())
    assert [p.value for p in t.panel("wbc")] == [v for _, v in demo_patient.WBC]
    assert [round(p.value * 100, 6) for p in t.panel("mrd")] == [v for _, v, _ in demo_patient.MRD]
    assert [p.below_detection for p in t.panel("mrd")] == [c == "<" for _, _, c in demo_patient.MRD]
