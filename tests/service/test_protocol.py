"""The response checks other areas rely on: `protocol.validate_response` and the response schema."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cds_service.cards import toolkit as cardkit
from cds_service.hooks import protocol


def good_card(**extra) -> dict:
    return cardkit.card("Consider MRD assessment.", "info", {"label": "kmt2a-cds"}, **extra)


def test_a_good_response_has_no_problems():
    suggestion = cardkit.suggestion("Correct the dose", [cardkit.action(
        "update", "Set 160 mg", {"resourceType": "MedicationRequest", "id": "mr-1"})])
    card = good_card(suggestions=[suggestion], override_reasons=[cardkit.override_reason("x", "Not relevant")],
                     links=[{"label": "Source", "url": "https://example.org", "type": "absolute"}],
                     extension={"org.kmt2a-cds.order-check": {"verdict": "ok"}})
    assert protocol.validate_response({"cards": [card]}) == []
    assert protocol.validate_response({"cards": []}) == []


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: c.update(summary="x" * 140), "too long"),
    (lambda c: c.update(indicator="hard-stop"), "is not one of"),
    (lambda c: c.pop("uuid"), "without uuid"),
    (lambda c: c.pop("source"), "'source' is a required property"),
    (lambda c: c.update(detail=""), "empty value"),
    (lambda c: c.update(extension={"org.kmt2a-cds.assessment": {"missingData": []}}), "empty value"),
    (lambda c: c.update(extension={"org.kmt2a-cds.assessment": {"partner": None}}), "empty value"),
    (lambda c: c.update(suggestions=[{"label": "x", "uuid": "u"}]), "selectionBehavior"),
    (lambda c: c.update(suggestions=[{"label": "x"}], selectionBehavior="any"), "suggestion 0 without uuid"),
    (lambda c: c.update(selectionBehavior="any"), "selectionBehavior without suggestions"),
    (lambda c: c.update(overrideReasons=[{"system": "s", "code": "c"}]), "'display' is a required property"),
    (lambda c: c.update(suggestions=[{"label": "x", "uuid": "u", "actions": [{"type": "delete", "description": "d",
                        "resource": {"resourceType": "MedicationRequest"}}]}], selectionBehavior="any"),
     "delete action"),
    (lambda c: c.update(suggestions=[{"label": "x", "uuid": "u", "actions": [{"type": "create", "description": "d"}]}],
                        selectionBehavior="any"), "create action without resource"),
    (lambda c: c.update(links=[{"label": "l", "url": "https://x", "type": "absolute", "appContext": "a"}]),
     "appContext"),
    (lambda c: c.update(links=[{"label": "l", "url": "/relative", "type": "absolute"}]), "does not match"),
])
def test_invariants(mutate, expected):
    card = good_card()
    mutate(card)
    problems = protocol.validate_response({"cards": [card]})
    assert any(expected in p for p in problems), problems
    kept, dropped = protocol.keep_valid_cards([card, good_card()])
    assert len(kept) == 1 and dropped[0][0] == 0


def test_duplicate_uuids_are_a_problem():
    card = good_card()
    assert "card uuids are not unique" in protocol.validate_response({"cards": [card, dict(card)]})
    kept, _ = protocol.keep_valid_cards([card, dict(card)])
    assert kept == [card]


def test_the_schema_file_is_loadable_by_anyone():
    schema = json.loads(protocol.schema_path("response.json").read_text())
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["$defs"]["card"]["properties"]["summary"]["maxLength"] == 139


@settings(max_examples=200, deadline=None)
@given(summary=st.text(min_size=1, max_size=200), detail=st.text(max_size=50))
def test_summary_length_rule_matches_the_spec(summary, detail):
    card = cardkit.card(summary, "warning", {"label": "kmt2a-cds"}, detail=detail or None)
    problems = protocol.card_problems(card)
    assert (len(summary) < 140) == (not problems), problems


# --- the quick (jsonschema-rs) check never accepts what the Python validator refuses --------------------------

def request_with(fhir_server: str) -> dict:
    return {"hook": "patient-view", "hookInstance": "i-1", "fhirServer": fhir_server,
            "context": {"patientId": "p-1", "userId": "Practitioner/u-1"}}


def test_the_quick_check_reads_space_in_patterns_as_python_does():
    # Every character Python or ECMA-262 calls white space (and its neighbours) inside a URL the schema limits to
    # non-space characters: both validators give one answer for each.
    for code in [*range(0x3001), 0xFEFF]:
        for name, instance in (("request.json", request_with(f"https://a{chr(code)}b")),
                               ("response.json", {"cards": [good_card(links=[
                                   {"label": "Source", "url": f"https://a{chr(code)}b", "type": "absolute"}])]})):
            expected = protocol.validator(name).is_valid(instance)
            assert protocol.quick_validator(name).is_valid(instance) == expected, (name, hex(code))


@pytest.mark.parametrize("name, instance", [
    ("request.json", request_with("https://ehr.example\n")),  # Python's "$" matches before a last newline
    ("feedback.json", {"feedback": [{"card": "c-1", "outcome": "overridden",  # Python's "\d": any digit
                                     "outcomeTimestamp": "\u0662\u0660\u0662\u0666-11-29T10:00:00Z"}]}),
])
def test_where_the_quick_check_is_stricter_python_has_the_last_word(name, instance):
    assert not protocol.quick_validator(name).is_valid(instance)
    assert protocol.schema_problems(name, instance) == [] and protocol.validator(name).is_valid(instance)


def test_python_space_is_every_character_re_reads_as_space():
    import re
    import sys
    assert protocol.PYTHON_SPACE == "".join(c for c in map(chr, range(sys.maxunicode + 1)) if re.match(r"\s", c))


@pytest.mark.parametrize("pattern, expected", [
    (r"^[^/\s]+$", "^[^/" + protocol.PYTHON_SPACE + "]+$"),
    (r"a\sb\S", "a[" + protocol.PYTHON_SPACE + "]b[^" + protocol.PYTHON_SPACE + "]"),
    (r"\\s\[\s]", r"\\s\[[" + protocol.PYTHON_SPACE + "]]"),  # an escaped backslash, an escaped bracket
    (r"^\d{4}$", r"^\d{4}$"),
])
def test_patterns_are_spelled_out_for_the_quick_check(pattern, expected):
    assert protocol._as_python_reads(pattern) == expected


def test_a_negated_space_inside_a_class_is_refused_at_load():
    with pytest.raises(ValueError):
        protocol._as_python_reads(r"[\S/]")


@pytest.mark.parametrize("extra, expected", [
    ({"detail": 'Write "null", [] or {} in words only.'}, []),  # the words an empty value writes, inside text
    ({"detail": 'Write "null" in words.', "extension": {"org.kmt2a-cds.assessment": {"partner": None}}},
     ["empty value at /extension/org.kmt2a-cds.assessment/partner"]),
    ({"extension": {"org.kmt2a-cds.assessment": {"blasts": float("nan")}}},  # written as null
     ["empty value at /extension/org.kmt2a-cds.assessment/blasts"]),
])
def test_empty_values_are_found_whatever_the_text_holds(extra, expected):
    assert protocol.card_problems(good_card(**extra)) == expected
