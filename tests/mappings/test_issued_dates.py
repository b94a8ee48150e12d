"""Labs send Observation.issued as a plain date or a dateTime without seconds; R4 wants an instant. Such a result is
read (its day kept), never dropped whole: a FISH result was lost this way, and with it a risk group."""

from __future__ import annotations

from datetime import date

import pytest

from fhir_mappings import case_from_resources
from fhir_mappings.case import Kmt2aStatus

PATIENT = {"resourceType": "Patient", "id": "p", "birthDate": "2010-01-01"}


@pytest.mark.parametrize("issued", ["2025-03-08", "2025-03-08T10:15", "2025-03-08T10:15:00"])
def test_a_fish_result_with_a_day_as_issued_is_read_with_that_day(issued):
    fish = {"resourceType": "Observation", "id": "fish-1", "status": "final", "subject": {"reference": "Patient/p"},
            "issued": issued, "code": {"text": "MLL (KMT2A) break-apart FISH"},
            "valueString": "KMT2A::AFF1 fusion detected"}
    case = case_from_resources([PATIENT, fish], reference_date=date(2026, 1, 1), patient_id="p")
    assert case.kmt2a.status is Kmt2aStatus.REARRANGED and case.kmt2a.partner == "AFF1"
    assert {s.date for s in case.kmt2a.evidence} == {date(2025, 3, 8)}


def test_an_issued_that_is_no_date_still_skips_the_result_with_a_problem():
    fish = {"resourceType": "Observation", "id": "fish-2", "status": "final", "subject": {"reference": "Patient/p"},
            "issued": "last Tuesday", "code": {"text": "MLL (KMT2A) break-apart FISH"},
            "valueString": "KMT2A::AFF1 fusion detected"}
    case = case_from_resources([PATIENT, fish], reference_date=date(2026, 1, 1), patient_id="p")
    assert case.kmt2a.status is not Kmt2aStatus.REARRANGED
    assert any("issued" in p.message for p in case.problems)
