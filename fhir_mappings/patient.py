"""Patient demographics: sex, birth date, age in days on the reference date and at diagnosis."""

from __future__ import annotations

from datetime import date

from fhir_mappings.access import parse_date
from fhir_mappings.case import Problem

_SEX = {"male": "male", "female": "female", "other": "other", "unknown": None}


def demographics(patient: dict | None) -> tuple[str | None, date | None, list[Problem]]:
    """(sex, birth date, problems). A partial birthDate ("1961") gives no date: age must not be guessed."""
    if not patient:
        return None, None, [Problem("no Patient resource: age and sex unknown")]
    problems = []
    raw = patient.get("birthDate")
    birth = parse_date(raw)
    if raw and birth is None:
        problems.append(Problem("Patient.birthDate is partial or malformed: age not computed", "Patient"))
    gender = patient.get("gender")
    return (_SEX.get(gender) if isinstance(gender, str) else None), birth, problems


def age_days(birth: date | None, on: date | None) -> int | None:
    if birth is None or on is None or on < birth:
        return None
    return (on - birth).days


DAYS_PER_YEAR = 365.25


def age_years(birth: date | None, on: date | None, days: int | None = None) -> int | None:
    """Completed years on `on` (birthdays counted from the birth date); without a birth date, from an age in
    `days`. The one way every rule, check and card counts an age in years."""
    if birth is not None and on is not None:
        return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return int(days // DAYS_PER_YEAR) if days is not None else None
