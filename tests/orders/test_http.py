"""Order checks over real HTTP on loopback: the app with the order handlers, replayed sandbox traffic,
Epic-style and sandbox-style requests, the order-select -> order-sign cache, and the empty-order latency."""

from __future__ import annotations

import json

import pytest
import requests
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_service import knowledge
from cds_service.hooks import protocol
from cds_service.hooks.handlers import HANDLERS
from cds_service.hooks.handlers import order_select, order_sign
from cds_service.orders import order_cache
from tests.orders.test_requests import TODAY, add_active, adult, epic, set_dose, the_order
from tests.support import sandbox
from cds_service.web.config import HOOKS_FILE
from tests.support.live import LiveService, test_config

ROWS = knowledge.load("menin_inhibitors.json")["revumenib"]["dosing"]["rows"]
PREFETCH_KEYS = tuple(next(s for s in json.loads(HOOKS_FILE.read_text())["services"]
                          if s["id"] == "kmt2a-order-sign")["prefetch"])  # every key the order services declare


@pytest.fixture(scope="module")
def base(service_dir, test_issuer):
    # the app as shipped (handlers from cds_service.hooks.handlers), on the fixtures' date: the weight's age, the
    # patient's age and the ECG's date are judged against it, so the answers do not drift with the calendar
    live = LiveService(test_config(service_dir, test_issuer, reference_date=TODAY))
    yield live
    live.stop()


def complete(body: dict) -> dict:
    """Every prefetch key present (empty searchsets), so the service never reaches for the fhirServer."""
    for key in PREFETCH_KEYS:
        body["prefetch"].setdefault(key, {"resourceType": "Bundle", "type": "searchset", "entry": []})
    return body


def post(base: str, hook: str, body: dict) -> dict:
    body = {**body, "hook": hook}
    if hook == "order-sign":
        body["context"] = {k: v for k, v in body["context"].items() if k != "selections"}
    response = requests.post(f"{base}/cds-services/kmt2a-{hook}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert protocol.validate_response(answer) == []
    return answer


def check(card: dict) -> dict:
    return card["extension"]["org.kmt2a-cds.order-check"]


def test_the_shipped_app_routes_the_order_services_here():
    assert HANDLERS["kmt2a-order-select"] is order_select and HANDLERS["kmt2a-order-sign"] is order_sign


@pytest.mark.parametrize("name", ["order-select-1", "order-select-2", "order-select-3", "order-select-4", "order-sign"])
def test_captured_sandbox_orders_get_no_cards(base, name):
    request = sandbox.captured(name)
    response = requests.post(base + request["path"], json=request["body"],
                             headers={"Origin": request["headers"]["Origin"]}, timeout=10)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_an_empty_order_gets_no_card(base):
    # Its speed is measured by `make bench` (the sandbox's empty order-select), never by a timed test.
    body = sandbox.raw("order-select-1")["body"]
    response = requests.post(f"{base}/cds-services/kmt2a-order-select", json=body, timeout=10)
    assert response.status_code == 200 and response.json() == {"cards": []}


def test_epic_child_over_http(base):
    answer = post(base, "order-select", complete(epic()))
    (card,) = answer["cards"]
    assert check(card)["medication"] == "revumenib"
    assert "strong-cyp3a4-inhibitor:posaconazole" in check(card)["reasons"]


def test_wrong_dose_over_http_is_critical_at_sign_with_a_valid_r4_update(base):
    full = next(r["value"] for r in ROWS if r["band"] == "weight-under-40kg" and not r["strong_cyp3a4_inhibitor"])
    answer = post(base, "order-sign", complete(set_dose(epic(), full)))
    (card,) = answer["cards"]
    assert card["indicator"] == "critical" and check(card)["verdict"] == "dose-too-high"
    MedicationRequest.model_validate(card["suggestions"][0]["actions"][0]["resource"])
    assert {r["code"] for r in card["overrideReasons"]} >= {"risk-benefit-ratio"}


def test_sandbox_style_adult_over_http(base):
    body = complete(add_active(adult(), "posaconazole 100 MG Delayed Release Oral Tablet", "282446"))
    (card,) = post(base, "order-sign", body)["cards"]
    resource = card["suggestions"][0]["actions"][0]["resource"]
    MedicationRequest.model_validate(resource)
    assert resource["id"] == "request-123"


def test_order_sign_is_answered_from_the_order_select_work(base):
    body = complete(adult())
    the_order(body)["id"] = "request-cache-http"  # content of its own: not cached by an earlier test
    body["context"]["selections"] = ["MedicationRequest/request-cache-http"]
    before = order_cache.stats()
    select = post(base, "order-select", body)
    sign = post(base, "order-sign", body)
    after = order_cache.stats()
    assert after["evaluations"] - before["evaluations"] == 1
    assert after["hits"] - before["hits"] == 1
    assert [check(c)["verdict"] for c in select["cards"]] == ["ok"]
    assert sign["cards"] == []  # fine orders are not repeated at signature
