"""Every request the CDS Hooks Sandbox was seen sending, replayed over HTTP against our service ids.

The captured JWTs expired long ago and name another host as `aud`, so the replays go without the
Authorization header (development profile serves them unauthenticated); test_security.py proves that a
freshly signed sandbox-style token verifies and that the captured tokens verify with a frozen clock.
"""

from __future__ import annotations

import pytest
import requests

from cds_service.hooks import protocol
from tests.support import sandbox

DROPPED_HEADERS = {"authorization", "host", "content-length", "connection", "accept-encoding"}


def replay(base: str, name: str, body_patch: dict | None = None) -> requests.Response:
    request = sandbox.captured(name)
    headers = {k: v for k, v in request["headers"].items() if k.lower() not in DROPPED_HEADERS}
    body = request.get("body")
    if body_patch:
        body = {**body, "prefetch": {**body.get("prefetch", {}), **body_patch}}
    return requests.request(request["method"], base + request["path"], headers=headers, json=body, timeout=10)


def captured_patient() -> dict:
    return sandbox.raw("patient-view")["body"]["prefetch"]["patient"]


@pytest.fixture(scope="module")
def base(service_dir, test_issuer):
    from tests.support.live import LiveService, test_config

    live = LiveService(test_config(service_dir, test_issuer))
    yield live
    live.stop()


@pytest.mark.parametrize("name", ["patient-view", "order-select-1", "order-select-2", "order-select-3",
                                  "order-select-4"])
def test_captured_hook_calls_get_a_valid_200(base, name):
    response = replay(base, name)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert protocol.validate_response(response.json()) == []
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"


def test_empty_draft_order_gets_no_cards(base):
    # order-select-1: the Rx View just opened, the draft MedicationRequest names no medication yet.
    assert replay(base, "order-select-1").json() == {"cards": []}


@pytest.mark.parametrize("name", ["order-select-2", "order-select-3", "order-select-4"])
def test_non_oncology_order_gets_no_cards(base, name):
    # The sandbox's demo orders are lisinopril (or still drug-less): nothing for a KMT2A service to judge.
    assert replay(base, name).json() == {"cards": []}


def test_captured_order_sign_is_answered_without_prefetch(base):
    # The demo service declared no prefetch, so the capture carries none and no fhirAuthorization:
    # order checks require no key, so the call is answered (lisinopril: nothing to judge), not refused.
    response = replay(base, "order-sign")
    assert response.status_code == 200, response.text
    assert protocol.validate_response(response.json()) == []
    assert response.json() == {"cards": []}


def test_captured_discovery(base):
    response = replay(base, "discovery-get")
    assert response.status_code == 200
    assert protocol.schema_problems("discovery.json", response.json()) == []
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"


@pytest.mark.parametrize("name", ["preflight-options-for-get", "preflight-options-for-post"])
def test_captured_preflights(base, name):
    response = replay(base, name)
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert sandbox.raw(name)["headers"]["Access-Control-Request-Method"] in response.headers[
        "Access-Control-Allow-Methods"]


@pytest.mark.parametrize("name", ["feedback-accepted", "feedback-overridden"])
def test_captured_feedback(base, name):
    response = replay(base, name)
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"


def test_every_capture_is_replayed():
    files = {p.stem for p in sandbox.SANDBOX_DIR.glob("*.json")}
    not_requests = {"jwt-decoded", "fhir-calls-by-sandbox", "sandbox-public-jwks"}
    assert files - not_requests == set(sandbox.REQUESTS)
