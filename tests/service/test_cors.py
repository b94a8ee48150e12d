"""CORS for browser clients: preflight on every route family, ACAO on POST and error answers too."""

from __future__ import annotations

import pytest
import requests

SANDBOX_ORIGIN = "https://sandbox.cds-hooks.org"
ROUTES = ["/cds-services", "/cds-services/kmt2a-patient-view", "/cds-services/kmt2a-patient-view/feedback"]


def preflight(base: str, path: str, origin: str, method: str = "POST") -> requests.Response:
    return requests.options(base + path, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                                  "Access-Control-Request-Headers": "authorization,content-type"})


@pytest.mark.parametrize("path", ROUTES)
def test_preflight_in_development_echoes_any_origin(live_service, path):
    base = live_service()
    response = preflight(base, path, "http://localhost:3000", "GET" if path == "/cds-services" else "POST")
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert response.headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_production_allows_only_the_listed_origins(live_service):
    base = live_service(profile="production", cors_origins=(SANDBOX_ORIGIN,))
    for path in ROUTES:
        assert preflight(base, path, SANDBOX_ORIGIN).headers["Access-Control-Allow-Origin"] == SANDBOX_ORIGIN
        assert "Access-Control-Allow-Origin" not in preflight(base, path, "https://evil.example").headers
    # Error answers carry it too (the browser must be able to read the 401).
    refused = requests.post(base + ROUTES[1], json={}, headers={"Origin": SANDBOX_ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == SANDBOX_ORIGIN


def test_production_without_origins_allows_none(live_service):
    base = live_service(profile="production")
    assert "Access-Control-Allow-Origin" not in preflight(base, ROUTES[1], SANDBOX_ORIGIN).headers


def test_post_and_error_responses_carry_the_origin(live_service):
    base = live_service()
    ok = requests.get(base + "/cds-services", headers={"Origin": SANDBOX_ORIGIN})
    bad = requests.post(base + ROUTES[1], data=b"{", headers={"Origin": SANDBOX_ORIGIN, "Content-Type": "application/json"})
    missing = requests.post(base + "/cds-services/nope", json={}, headers={"Origin": SANDBOX_ORIGIN})
    for response in (ok, bad, missing):
        assert response.headers["Access-Control-Allow-Origin"] == SANDBOX_ORIGIN
        assert response.headers["Access-Control-Allow-Origin"] != "*"
    assert (ok.status_code, bad.status_code, missing.status_code) == (200, 400, 404)
