"""Validation verdicts are reused only for identical content, and a reused verdict never shares mutable state."""

from __future__ import annotations

import copy

from fhir_mappings import validation
from fhir_mappings.validation import validated


def observation(value) -> dict:
    return {"resourceType": "Observation", "id": "wbc-cache-1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "6690-2"}]},
            "subject": {"reference": "Patient/p1"}, "valueQuantity": {"value": value, "unit": "10*3/uL"}}


def test_an_identical_resource_gets_the_same_verdict_from_the_cache():
    # a decimal written as a string: valid FHIR JSON for fhir.resources, doubtful for the fast check, so it takes
    # the slow path once and the cache after
    size = len(validation._verdicts)
    first = validated(observation("4.2"))
    assert len(validation._verdicts) == size + 1
    again = validated(observation("4.2"))
    assert again == first and first[0] is not None and first[1] == []
    assert len(validation._verdicts) == size + 1  # served from the cache, nothing added


def test_a_clean_resource_is_accepted_by_the_fast_check_without_a_cache_entry():
    size = len(validation._verdicts)
    readable, problems = validated(observation(4.25))
    assert readable is not None and problems == []
    assert len(validation._verdicts) == size


def test_changed_content_is_validated_again():
    assert validated(observation(4.2))[0] is not None
    bad = observation("four point two")
    readable, problems = validated(bad)
    assert readable is None and "failed FHIR R4 validation" in problems[0].message
    assert validated(copy.deepcopy(bad)) == (None, problems)


def test_a_repaired_resource_from_the_cache_is_a_fresh_copy():
    quirk = observation(4.2)
    quirk["category"] = {"coding": [{"code": "laboratory"}]}  # one object where FHIR has an array
    quirk["code"]["coding"] = {"system": "http://loinc.org", "code": "6690-2"}
    first, problems = validated(quirk)
    assert first is not None and isinstance(first["code"]["coding"], list) and problems
    first["code"]["coding"].clear()  # a reader that mutates what it got must not change the next answer
    second, _ = validated(copy.deepcopy(quirk))
    assert second["code"]["coding"] == [{"system": "http://loinc.org", "code": "6690-2"}]
