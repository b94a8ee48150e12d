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
