"""Feedback over HTTP: durable, idempotent, linked to the card we issued; it survives a restart."""

from __future__ import annotations

import copy
import logging

import pytest
import requests

from cds_service import knowledge
from cds_service.cards import toolkit as cardkit
from cds_service.hooks.handlers import HANDLERS
from cds_service.web.store import Store
from tests.support import sandbox

PV = "/cds-services/kmt2a-patient-view"


def card_with_suggestion(call):
    suggestion = cardkit.suggestion("Order MRD by flow cytometry")
    return [cardkit.card("Consider MRD assessment.", "info", {"label": "test"}, suggestions=[suggestion],
                         override_reasons=[cardkit.override_reason("not-relevant", "Not relevant")])]


@pytest.fixture
def service(live_service):
    return live_service(handlers={**HANDLERS, "kmt2a-patient-view": card_with_suggestion})


def issue_card(base: str) -> tuple[dict, str]:
    body = copy.deepcopy(sandbox.raw("patient-view")["body"])
    response = requests.post(base + PV, json=body)
    assert response.status_code == 200
    return response.json()["cards"][0], body["hookInstance"]


def rows(base) -> list:
    return Store(base.config.database_url).feedback_rows()


def test_feedback_is_stored_linked_to_the_issued_card(service):
    card, hook_instance = issue_card(service)
    accepted = {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-11-21T04:27:04.855Z",
                "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}]}
    response = requests.post(service + PV + "/feedback", json={"feedback": [accepted]})
    assert response.status_code == 200 and response.json() == {}
    [row] = [r for r in rows(service) if r.card_uuid == card["uuid"]]
    assert (row.hook_instance, row.knowledge_version, row.service_id) == (hook_instance, knowledge.version(), "kmt2a-patient-view")
    assert row.known_card and row.outcome == "accepted"
    assert row.accepted_suggestions == [card["suggestions"][0]["uuid"]]


def test_duplicate_feedback_stores_one_row(service):
    card, _ = issue_card(service)
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-21T04:27:03.060Z",
            "overrideReason": {"reason": {"code": "not-relevant", "system": cardkit.OVERRIDE_REASON_SYSTEM}}}
    for _ in range(3):
        assert requests.post(service + PV + "/feedback", json={"feedback": [item, item]}).status_code == 200
    assert len([r for r in rows(service) if r.card_uuid == card["uuid"]]) == 1
    later = {**item, "outcomeTimestamp": "2026-11-21T05:00:00Z"}  # a new decision on the same card is kept
    requests.post(service + PV + "/feedback", json={"feedback": [later]})
    assert len([r for r in rows(service) if r.card_uuid == card["uuid"]]) == 2


def test_feedback_survives_a_restart(service):
    card, hook_instance = issue_card(service)
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-21T06:00:00Z"}
    assert requests.post(service + PV + "/feedback", json={"feedback": [item]}).status_code == 200
    service.restart()  # a new app instance: nothing in memory survives, only the SQLite file
    assert requests.get(service + "/healthz").json()["status"] == "ok"
    assert [r.hook_instance for r in rows(service) if r.card_uuid == card["uuid"]] == [hook_instance]
    # The issued-card record survived too: feedback after the restart is still linked to it.
    after = {**item, "outcomeTimestamp": "2026-11-21T06:01:00Z"}
    assert requests.post(service + PV + "/feedback", json={"feedback": [after]}).status_code == 200
    linked = [r for r in rows(service) if r.card_uuid == card["uuid"]]
    assert len(linked) == 2 and all(r.known_card and r.hook_instance == hook_instance for r in linked)


def test_feedback_for_an_unknown_card_is_accepted_but_flagged(service, caplog):
    item = {"card": "never-issued", "outcome": "overridden", "outcomeTimestamp": "2026-11-21T06:00:00Z"}
    with caplog.at_level(logging.WARNING, logger="kmt2a_cds.app"):
        assert requests.post(service + PV + "/feedback", json={"feedback": [item]}).status_code == 200
    [row] = [r for r in rows(service) if r.card_uuid == "never-issued"]
    assert not row.known_card and row.hook_instance is None
    assert "did not issue" in caplog.text


@pytest.mark.parametrize("body", [
    {},
    {"feedback": []},
    {"feedback": [{"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-21T06:00:00Z"}]},
    {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "yesterday"}]},
    {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-21T06:00:00Z",
                   "overrideReason": {"reason": {"code": "x", "system": "y"}}}]},
    {"feedback": [{"outcome": "overridden", "outcomeTimestamp": "2026-11-21T06:00:00Z"}]},
    {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-21T06:00:00Z"}]},
    {"feedback": [{"card": "c" * 65, "outcome": "overridden", "outcomeTimestamp": "2026-11-21T06:00:00Z"}]},
    {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-21T06:00:00." + "1" * 40 + "Z"}]},
    {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-21T06:00:00Z",
                   "overrideReason": {}}]},
], ids=["empty", "no-items", "bad-outcome", "bad-timestamp", "accepted-with-override", "no-card",
        "accepted-without-suggestions (cds-fb-2)", "override-reason-without-reason-or-comment (cds-fb-3)",
        "card-id-longer-than-ours", "timestamp-longer-than-the-column"])
def test_invalid_feedback_is_400(service, body):
    response = requests.post(service + PV + "/feedback", json=body)
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


def test_feedback_to_an_unknown_service_is_404(service):
    item = {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-21T06:00:00Z"}
    assert requests.post(service + "/cds-services/nope/feedback", json={"feedback": [item]}).status_code == 404
