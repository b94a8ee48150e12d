"""A store outage must not lose the answer: cards still go out (counted unrecorded in /metrics), feedback is
refused 503 so that the EHR sends it again, and the readiness probe fails while the liveness probe does not."""

from __future__ import annotations

import json
import shutil

import requests

from tests.support.prometheus import metric

PV = "/cds-services/kmt2a-patient-view"
PV_FIXTURE = "tests/fixtures/requests/patient-view-relapsed-child-aml.json"


def break_store(base, directory) -> None:
    """The database goes away: its directory is removed and the pooled connections are dropped."""
    shutil.rmtree(directory)
    store = base.app.extensions["kmt2a_cds"].store
    for engine in (store.engine, store.bookkeeping.kw["bind"]):
        engine.dispose()



def test_store_outage_answers_200_with_cards_and_counts_them_unrecorded(live_service, tmp_path):
    directory = tmp_path / "store"
    directory.mkdir()
    base = live_service(database_url=f"sqlite:///{directory / 'kmt2a-cds.db'}")
    body = json.loads(open(PV_FIXTURE).read())
    unrecorded_before = metric(base, "kmt2a_cds_cards_unrecorded_total")
    errors_before = metric(base, "kmt2a_cds_store_errors_total", operation="record_call")
    break_store(base, directory)
    response = requests.post(base + PV, json=body, timeout=20)
    assert response.status_code == 200
    cards = response.json()["cards"]
    assert cards and cards[0]["extension"]["org.kmt2a-cds.assessment"]
    assert metric(base, "kmt2a_cds_cards_unrecorded_total") - unrecorded_before == len(cards)
    assert metric(base, "kmt2a_cds_store_errors_total", operation="record_call") - errors_before == 1
    # feedback cannot be stored: not acknowledged, so the EHR retries
    item = {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-21T09:00:00Z",
            "overrideReason": {"userComment": "not now"}}
    refused = requests.post(base + PV + "/feedback", json={"feedback": [item]}, timeout=10)
    assert refused.status_code == 503 and refused.json()["resourceType"] == "OperationOutcome"
    assert refused.headers["Retry-After"]
    assert requests.get(base + "/readyz", timeout=10).status_code == 503
    assert requests.get(base + "/healthz", timeout=10).status_code == 200


def test_store_outage_with_a_trusted_token_still_answers_and_refuses_a_replay(live_service, tmp_path, test_issuer):
    directory = tmp_path / "store"
    directory.mkdir()
    base = live_service(profile="production", database_url=f"sqlite:///{directory / 'kmt2a-cds.db'}")
    body = json.loads(open(PV_FIXTURE).read())
    break_store(base, directory)
    token = test_issuer.mint(aud=base + PV)
    first = requests.post(base + PV, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=20)
    assert first.status_code == 200 and first.json()["cards"]
    replay = requests.post(base + PV, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=20)
    assert replay.status_code == 401  # the JWT id is remembered by the process while the store is away
