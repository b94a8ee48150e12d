"""What /metrics counts, through real HTTP calls: JWT refusals by reason class, calls by service and outcome
(never a caller-chosen label), feedback by outcome, prefetch fetches and failures by key."""

from __future__ import annotations

import copy
import json

import pytest
import requests

from tests.support import sandbox
from tests.support.fhir_server import FhirTestServer
from tests.support.prometheus import metric
from tests.support.tokens import DROP, TestIssuer

PV = "/cds-services/kmt2a-patient-view"
PV_FIXTURE = "tests/fixtures/requests/patient-view-relapsed-child-aml.json"


@pytest.fixture
def production(live_service):
    return live_service(profile="production")


def bad_tokens(base: str, issuer: TestIssuer) -> dict[str, str | None]:
    good = issuer.mint(aud=base + PV)
    head, body, signature = good.split(".")
    return {
        "missing": None,
        "malformed": "not.a.jwt",
        "issuer": TestIssuer(iss="https://unknown-ehr.example.org", name="stranger").mint(aud=base + PV),
        # the caller's words are not ours: an issuer URL holding "key" is still an untrusted issuer
        "issuer-named-key": TestIssuer(iss="https://keycloak.example.org/realms/ehr", name="kc").mint(aud=base + PV),
        "audience": issuer.mint(aud="https://another-service.example.org" + PV),
        "expired": issuer.mint(aud=base + PV, claims={"exp": 1_000_000_000, "iat": 999_999_000}),
        "signature": f"{head}.{body}.{signature[::-1]}",
        "malformed-jti": issuer.mint(aud=base + PV, claims={"jti": DROP}),
    }


def test_jwt_refusals_are_counted_by_reason_class(production, test_issuer):
    body = json.loads(open(PV_FIXTURE).read())
    expected = {"missing": 1, "malformed": 2, "issuer": 2, "audience": 1, "expired": 1, "signature": 1}
    reasons = [*expected, "other"]  # the counters are per process: compare before and after
    before = {reason: metric(production, "kmt2a_cds_jwt_refusals_total", reason=reason) for reason in reasons}
    for token in bad_tokens(production, test_issuer).values():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        assert requests.post(production + PV, json=body, headers=headers, timeout=20).status_code == 401
    after = {reason: metric(production, "kmt2a_cds_jwt_refusals_total", reason=reason) for reason in reasons}
    assert {reason: after[reason] - before[reason] for reason in reasons} == {**expected, "other": 0}


def test_calls_and_feedback_by_outcome_with_our_own_labels_only(live_service):
    base = live_service()
    body = json.loads(open(PV_FIXTURE).read())
    cards = requests.post(base + PV, json=body, timeout=20).json()["cards"]
    assert requests.post(base + "/cds-services/made-up-by-the-caller", json=body, timeout=20).status_code == 404
    item = {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-11-21T09:00:00Z",
            "overrideReason": {"userComment": "seen"}}
    assert requests.post(base + PV + "/feedback", json={"feedback": [item]}, timeout=10).status_code == 200
    assert metric(base, "kmt2a_cds_calls_total", kind="hook", service="kmt2a-patient-view") >= 1
    assert metric(base, "kmt2a_cds_calls_total", kind="hook", service="unknown", outcome="refused") >= 1
    assert metric(base, "kmt2a_cds_feedback_items_total", outcome="overridden") >= 1
    assert "made-up-by-the-caller" not in requests.get(base + "/metrics", timeout=10).text


def test_prefetch_fetches_and_failures_by_key(live_service):
    base = live_service()
    request = copy.deepcopy(sandbox.raw("patient-view")["body"])
    patient = request["prefetch"]["patient"]
    request["prefetch"] = {"patient": patient}  # everything else must be fetched
    before = (metric(base, "kmt2a_cds_prefetch_fetches_total", key="labs"),
              metric(base, "kmt2a_cds_prefetch_failures_total", key="labs"))
    with FhirTestServer([patient]) as fhir:
        request["fhirServer"] = fhir.base
        request["fhirAuthorization"] = {"access_token": "t", "token_type": "Bearer", "expires_in": 30,
                                        "scope": "patient/*.read", "subject": "kmt2a-cds"}
        assert requests.post(base + PV, json=request, timeout=30).status_code == 200
    assert metric(base, "kmt2a_cds_prefetch_fetches_total", key="labs") - before[0] == 1
    # the same call without a FHIR server: labs cannot be had
    request.pop("fhirServer"), request.pop("fhirAuthorization")
    assert requests.post(base + PV, json=request, timeout=30).status_code == 200
    assert metric(base, "kmt2a_cds_prefetch_failures_total", key="labs") - before[1] == 1
