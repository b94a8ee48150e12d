"""The audit trail, the store and the health check: what is recorded, and that no secret is logged."""

from __future__ import annotations

import copy
import json
import logging
import uuid

import requests
from sqlalchemy import select, text

from cds_service.cards import toolkit as cardkit
from cds_service.hooks import protocol
from cds_service import knowledge
from cds_service.web import audit, security, startup
from cds_service.hooks.handlers import HANDLERS
from cds_service.web.store import AuditEvent, Feedback, IssuedCard, SeenJti, Store, engine_url
from tests.support import sandbox
from tests.support.fhir_server import FhirTestServer

PV = "/cds-services/kmt2a-patient-view"
ACCESS_TOKEN = "ehr-fhir-token-d41d8cd98f"


def test_one_audit_line_per_call_without_tokens_or_patient_ids(live_service, test_issuer, caplog):
    one_card = lambda call: [cardkit.card("A card.", "info", {"label": "test"})]  # noqa: E731
    base = live_service(profile="production", handlers={**HANDLERS, "kmt2a-patient-view": one_card})
    patient = sandbox.raw("patient-view")["body"]["prefetch"]["patient"]
    with FhirTestServer([patient]) as fhir:
        body = copy.deepcopy(sandbox.raw("patient-view")["body"])
        body["fhirServer"] = fhir.base.replace("http://", "https://")  # production wants https ...
        body["fhirAuthorization"] = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 30,
                                     "scope": "patient/*.read", "subject": "kmt2a-cds", "patient": "pat-1"}
        jwt_token = test_issuer.mint(aud=base + PV)
        with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="kmt2a_cds"):
            response = requests.post(base + PV, json=body, headers={"Authorization": f"Bearer {jwt_token}"})
    assert response.status_code == 200  # ... the https fetch fails (plain server): keys named unavailable
    lines = [json.loads(audit.json_formatter().format(r)) for r in caplog.records if r.name == "kmt2a_cds.audit"]
    assert len(lines) == 1
    line = lines[0]
    assert line["hook_instance"] == body["hookInstance"] and line["service_id"] == "kmt2a-patient-view"
    assert line["issuer"] == test_issuer.iss and line["jti"]
    assert line["status"] == 200 and line["outcome"] in ("ok", "partial") and line["duration_ms"] > 0
    assert line["card_uuids"] == [c["uuid"] for c in response.json()["cards"]] and line["card_uuids"]
    for secret in (ACCESS_TOKEN, jwt_token, jwt_token.split(".")[2], "pat-1", "Testperson"):
        assert secret not in caplog.text, secret


def test_audit_rows_are_stored(live_service):
    base = live_service()
    body = copy.deepcopy(sandbox.raw("patient-view")["body"])
    body["hookInstance"] = f"audit-row-test-{uuid.uuid4()}"  # unique: the store may outlive the test run
    requests.post(base + PV, json=body)
    requests.post(base + PV, data=b"{", headers={"Content-Type": "application/json"})
    store = Store(base.config.database_url)
    with store.sessions() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    mine = [e for e in events if e.hook_instance == body["hookInstance"]]
    assert len(mine) == 1 and mine[0].status == 200 and mine[0].outcome.startswith("unauthenticated")
    assert events[-1].status == 400 and events[-1].outcome == "refused"


def test_sqlite_store_runs_in_wal_mode(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'kmt2a-cds.db'}")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_replay_cache_is_shared_through_the_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    worker_a, worker_b = Store(url), Store(url)  # two processes/hosts would each have their own Store
    assert worker_a.remember_jti("iss", "jti-1", 2e9) is True
    assert worker_b.remember_jti("iss", "jti-1", 2e9) is False
    assert worker_b.remember_jti("other-iss", "jti-1", 2e9) is True
    worker_a.remember_jti("iss", "old", 1.0)
    worker_a.purge_expired_jti(now=100.0)
    assert worker_b.remember_jti("iss", "old", 2e9) is True  # purged after expiry


def test_healthz(live_service):
    base = live_service()
    response = requests.get(base + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": startup.service_version(),
                               "knowledgeVersion": knowledge.version()}
    assert response.json()["version"] != "unknown"


def test_store_columns_hold_everything_the_schemas_let_in():
    # SQLite ignores VARCHAR lengths, PostgreSQL refuses longer values (a 500): the limits must agree.
    request = protocol.validator("request.json").schema["properties"]
    feedback = protocol.validator("feedback.json").schema["properties"]["feedback"]["items"]["properties"]
    length = lambda column: column.property.columns[0].type.length  # noqa: E731
    hook_instance = request["hookInstance"]["maxLength"]
    assert hook_instance <= min(length(IssuedCard.hook_instance), length(Feedback.hook_instance),
                                length(AuditEvent.hook_instance))
    assert feedback["card"]["maxLength"] <= length(Feedback.card_uuid)
    longest = {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-11-21T06:00:00.123456789+01:00"}
    assert protocol.schema_problems("feedback.json", {"feedback": [longest]}) == []
    one_digit_more = {**longest, "outcomeTimestamp": longest["outcomeTimestamp"].replace("9+", "90+")}
    assert protocol.schema_problems("feedback.json", {"feedback": [one_digit_more]}) != []
    assert len(longest["outcomeTimestamp"]) <= length(Feedback.outcome_timestamp)
    assert security.JTI_MAX_LENGTH <= length(SeenJti.jti)


def test_a_plain_postgresql_url_uses_the_driver_of_the_postgresql_extra():
    assert engine_url("postgresql://cds@db.example/kmt2a") == "postgresql+psycopg://cds@db.example/kmt2a"
    assert engine_url("postgresql+psycopg2://cds@db/kmt2a") == "postgresql+psycopg2://cds@db/kmt2a"  # explicit
    assert engine_url("sqlite:///kmt2a-cds.db") == "sqlite:///kmt2a-cds.db"
