"""Every error class over HTTP: its status and a FHIR OperationOutcome body, never a stack trace."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.cards import toolkit as cardkit
from cds_service.hooks import protocol
from cds_service.hooks.handlers import HANDLERS
from tests.support import sandbox

PV = "/cds-services/kmt2a-patient-view"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Requests that reach deep into the handlers (a relapsed KMT2A AML chart, revumenib draft orders).
RICH_REQUESTS = {"kmt2a-patient-view": FIXTURES / "requests" / "patient-view-relapsed-child-aml.json",
                 "kmt2a-order-select": FIXTURES / "orders" / "epic-order-select-revumenib-child.json",
                 "kmt2a-order-sign": FIXTURES / "orders" / "sandbox-order-sign-revumenib-adult.json"}


def patient_view_request() -> dict:
    return copy.deepcopy(sandbox.raw("patient-view")["body"])


def assert_outcome(response: requests.Response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].split(";")[0] in ("application/fhir+json", "application/json")
    body = response.json()
    assert protocol.schema_problems("operation-outcome.json", body) == []
    assert "Traceback" not in response.text
    if code:
        assert body["issue"][0]["code"] == code
    return body


@pytest.fixture(scope="module")
def base(service_dir, test_issuer):
    from tests.support.live import LiveService, test_config

    live = LiveService(test_config(service_dir, test_issuer, max_body_bytes=4096))
    yield live
    live.stop()


def test_malformed_json_is_400(base):
    response = requests.post(base + PV, data=b'{"hook": "patient-view",', headers={"Content-Type": "application/json"})
    assert_outcome(response, 400, "invalid")


def test_json_that_is_not_an_object_is_400(base):
    assert_outcome(requests.post(base + PV, json=["patient-view"]), 400, "invalid")


@pytest.mark.parametrize("mutate", [
    lambda r: r.pop("context"),
    lambda r: r.pop("hookInstance"),
    lambda r: r["context"].pop("patientId"),
    lambda r: r["context"].update(userId="COREPRACTITIONER1"),  # not a relative reference
    lambda r: r.update(prefetch=["not", "an", "object"]),
    lambda r: r.update(fhirServer="not a url"),
    lambda r: r.update(hookInstance="h" * 129),  # longer than the store's column: PostgreSQL would refuse it
], ids=["no-context", "no-hookInstance", "no-patientId", "bad-userId", "prefetch-list", "bad-fhirServer",
        "hookInstance-too-long"])
def test_bad_envelope_is_400(base, mutate):
    request = patient_view_request()
    mutate(request)
    assert_outcome(requests.post(base + PV, json=request), 400, "invalid")


def test_400_diagnostics_name_the_rule_not_the_value(base):
    request = patient_view_request()
    request["fhirServer"] = "Bearer secret-access-token-42"  # not a URL
    request["context"]["patientId"] = "pat 77/secret"
    body = assert_outcome(requests.post(base + PV, json=request), 400, "invalid")
    diagnostics = body["issue"][0]["diagnostics"]
    assert "fhirServer: does not match" in diagnostics and "context/patientId: does not match" in diagnostics
    assert "secret" not in diagnostics and "pat 77" not in diagnostics


@pytest.mark.parametrize("authorization", [
    {"access_token": "abc", "token_type": "Bearer", "expires_in": 30, "scope": "patient/*.read", "subject": "x"},
    "Bearer secret-access-token-42", {"token_type": "Bearer"}, {"access_token": 7}, [],
], ids=["without-fhirServer", "a-string", "no-access-token", "token-not-a-string", "a-list"])
def test_an_unusable_fhir_authorization_never_fails_the_call(base, authorization):
    # fhirAuthorization is optional: a shape we cannot use means "nothing fetched", not a refused call.
    request = patient_view_request()
    request.pop("fhirServer", None)
    request["fhirAuthorization"] = authorization
    response = requests.post(base + PV, json=request)
    assert response.status_code == 200, response.text
    assert protocol.validate_response(response.json()) == []


def test_selection_outside_draft_orders_is_400(base):
    request = copy.deepcopy(sandbox.raw("order-select-3")["body"])
    request["context"]["selections"] = ["MedicationRequest/not-in-the-bundle"]
    assert_outcome(requests.post(base + "/cds-services/kmt2a-order-select", json=request), 400, "invalid")


@pytest.mark.parametrize("full_url", [["MedicationRequest/request-123"], {"url": "x"}, 7])
def test_entry_full_url_of_the_wrong_type_is_not_a_500(base, full_url):
    request = copy.deepcopy(sandbox.raw("order-select-3")["body"])
    request["context"]["draftOrders"]["entry"][0]["fullUrl"] = full_url
    assert requests.post(base + "/cds-services/kmt2a-order-select", json=request).status_code == 200


def test_unknown_context_fields_are_ignored(base):
    request = patient_view_request()
    request["context"]["selections"] = ["MedicationRequest/x"]  # meaningless for patient-view
    request["extension"] = {"com.example.unknown": 1}
    request["somethingNew"] = {"from": "a later spec version"}
    assert requests.post(base + PV, json=request).status_code == 200


def test_unknown_service_is_404(base):
    assert_outcome(requests.post(base + "/cds-services/no-such-service", json=patient_view_request()), 404,
                   "not-found")
    assert_outcome(requests.get(base + "/nothing-here"), 404, "not-found")


def test_wrong_method_is_405(base):
    response = requests.get(base + PV)
    assert_outcome(response, 405)
    assert "POST" in response.headers["Allow"]
    assert_outcome(requests.post(base + "/cds-services", json={}), 405)


def test_body_over_the_limit_is_413(base):
    request = patient_view_request()
    request["extension"] = {"org.example.padding": "x" * 5000}
    assert_outcome(requests.post(base + PV, json=request), 413, "too-long")


def test_default_limit_is_5_mb(live_service):
    base = live_service()
    request = patient_view_request()
    request["extension"] = {"org.example.padding": "x" * (5 * 1024 * 1024)}
    assert_outcome(requests.post(base + PV, json=request), 413, "too-long")
    request["extension"] = {"org.example.padding": "x" * (4 * 1024 * 1024)}
    assert requests.post(base + PV, json=request).status_code == 200


def test_chunked_body_over_the_limit_is_413(base):
    chunks = (b'{"pad": "' + b"x" * 1000 + b'"' for _ in range(10))
    response = requests.post(base + PV, data=chunks, headers={"Content-Type": "application/json"})
    assert_outcome(response, 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(base, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = requests.post(base + PV, data=json.dumps(patient_view_request()).encode(), headers=headers)
    assert_outcome(response, 415, "not-supported")


def test_fhir_json_content_type_is_accepted(base):
    response = requests.post(base + PV, data=json.dumps(patient_view_request()).encode(),
                             headers={"Content-Type": "application/fhir+json; charset=utf-8"})
    assert response.status_code == 200


def test_required_prefetch_missing_is_412_naming_the_key(base):
    request = patient_view_request()
    del request["prefetch"]["patient"]
    body = assert_outcome(requests.post(base + PV, json=request), 412, "processing")
    assert "patient" in body["issue"][0]["diagnostics"]
    assert body["issue"][0]["expression"] == ["prefetch.patient"]


@pytest.mark.parametrize("value", [None, {"resourceType": "OperationOutcome", "issue": [
    {"severity": "error", "code": "not-found"}]}], ids=["null", "operation-outcome"])
def test_required_prefetch_null_or_outcome_is_412(base, value):
    request = patient_view_request()
    request["prefetch"]["patient"] = value
    assert_outcome(requests.post(base + PV, json=request), 412, "processing")


def test_production_refuses_http_fhir_server(live_service, test_issuer):
    base = live_service(profile="production")
    request = patient_view_request()  # fhirServer is http://127.0.0.1:8090/fhir
    token = test_issuer.mint(aud=base + PV)
    response = requests.post(base + PV, json=request, headers={"Authorization": f"Bearer {token}"})
    assert_outcome(response, 400, "security")


def boom(call):
    raise RuntimeError(f"secret detail about {call.context['patientId']}")


def test_handler_exception_is_500_without_details(live_service, caplog):
    base = live_service(handlers={**HANDLERS, "kmt2a-patient-view": boom})
    with caplog.at_level(logging.INFO):
        response = requests.post(base + PV, json=patient_view_request())
    body = assert_outcome(response, 500, "exception")
    assert "secret" not in response.text and "pat-1" not in response.text
    assert body["issue"][0]["diagnostics"] == "Internal error."
    assert any("internal error RuntimeError" in r.getMessage() for r in caplog.records)
    assert "secret detail about pat-1" not in caplog.text and "pat-1" not in caplog.text


def test_invalid_cards_are_dropped_and_logged(live_service, caplog):
    good = lambda call: cardkit.card("A valid card.", "info", {"label": "test"})  # noqa: E731
    def mixed(call):
        too_long = cardkit.card("x" * 140, "info", {"label": "test"})
        no_uuid = {k: v for k, v in good(call).items() if k != "uuid"}
        bad_indicator = {**good(call), "indicator": "hard-stop"}
        null_inside = {**good(call), "extension": {"org.example": None}}
        no_selection = {**good(call), "suggestions": [cardkit.suggestion("Do it")]}
        # What JSON cannot carry: orjson would write Infinity as null, and refuses integers beyond 64 bits.
        infinite = {**good(call), "extension": {"org.example": {"bsaM2": float("inf")}}}
        huge = {**good(call), "extension": {"org.example": {"ageDays": 10**30}}}
        return [too_long, no_uuid, bad_indicator, null_inside, no_selection, infinite, huge, good(call)]
    base = live_service(handlers={**HANDLERS, "kmt2a-patient-view": mixed})
    with caplog.at_level(logging.ERROR, logger="kmt2a_cds.app"):
        response = requests.post(base + PV, json=patient_view_request())
    assert response.status_code == 200
    cards = response.json()["cards"]
    assert [c["summary"] for c in cards] == ["A valid card."]
    assert protocol.validate_response(response.json()) == []
    assert len([r for r in caplog.records if "dropped" in r.getMessage()]) == 7


def test_a_dropped_card_is_logged_without_its_values(live_service, caplog):
    leaky = lambda call: [cardkit.card("A card.", "info", {"label": "test"}, links=[  # noqa: E731
        {"label": "Chart", "url": "Patient/pat-secret-9", "type": "absolute"}])]  # not an absolute URL
    base = live_service(handlers={**HANDLERS, "kmt2a-patient-view": leaky})
    with caplog.at_level(logging.INFO):
        assert requests.post(base + PV, json=patient_view_request()).json() == {"cards": []}
    assert "links/0/url: does not match" in caplog.text and "pat-secret-9" not in caplog.text


def test_handler_returning_a_non_list_is_500(live_service):
    base = live_service(handlers={**HANDLERS, "kmt2a-patient-view": lambda call: {"cards": []}})
    assert_outcome(requests.post(base + PV, json=patient_view_request()), 500, "exception")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["hook", "hookInstance", "context", "prefetch", "fhirServer", "fhirAuthorization",
                              "extension", "userId", "patientId", "encounterId"]), value=json_values)
def test_no_input_makes_a_500(base, field, value):
    request = patient_view_request()
    if field in ("userId", "patientId", "encounterId"):
        request["context"][field] = value
    else:
        request[field] = value
    response = requests.post(base + PV, json=request)
    assert response.status_code in (200, 400, 412), response.text
    if response.status_code == 200:
        assert protocol.validate_response(response.json()) == []
    else:
        assert response.json()["resourceType"] == "OperationOutcome"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(["selections", "draftOrders", "entry", "resource", "fullUrl", "prefetch-key",
                               "context-extra"]),
       value=json_values)
def test_no_order_input_makes_a_500(base, target, value):
    request = copy.deepcopy(sandbox.raw("order-select-3")["body"])
    context = request["context"]
    if target in ("selections", "draftOrders"):
        context[target] = value
    elif target == "entry":
        context["draftOrders"]["entry"] = value
    elif target == "resource":
        context["draftOrders"]["entry"][0]["resource"] = value
    elif target == "fullUrl":
        context["draftOrders"]["entry"][0]["fullUrl"] = value
    elif target == "prefetch-key":
        request["prefetch"]["patient"] = value
    else:
        context["somethingElse"] = value
    response = requests.post(base + "/cds-services/kmt2a-order-select", json=request)
    assert response.status_code in (200, 400, 412), response.text
    if response.status_code == 200:
        assert protocol.validate_response(response.json()) == []


def _paths(value, path=()):
    """Every path below `value` (dict keys and list indexes)."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield path + (key,)
        yield from _paths(item, path + (key,))


RICH_PATHS = [(service_id, path) for service_id, file in RICH_REQUESTS.items()
              for path in _paths(json.loads(file.read_text(encoding="utf-8")))
              if path[0] in ("context", "prefetch")]
def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


odd_values = json_values | st.sampled_from([
    1e308, -1e308, 10**20, -(10**20), "1e999", "2026-13-45", "-1",
    # placeholder dates at the calendar's edges, NUL characters, nesting past the documented depth
    "0001-01-01", "9999-12-31", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "a\x00b",
    nested(70), nested(300), {"start": "0001-01-01", "end": "9999-12-31"},
])


@pytest.fixture(scope="module")
def full_size_base(service_dir, test_issuer):
    from tests.support.live import LiveService, test_config

    live = LiveService(test_config(service_dir, test_issuer))  # the default body limit: rich requests fit
    yield live
    live.stop()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.sampled_from(RICH_PATHS), value=odd_values)
def test_no_value_anywhere_in_a_rich_request_makes_a_500(full_size_base, target, value):
    base = full_size_base
    service_id, path = target
    request = json.loads(RICH_REQUESTS[service_id].read_text(encoding="utf-8"))
    parent = request
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    response = requests.post(f"{base}/cds-services/{service_id}", json=request)
    assert response.status_code in (200, 400, 412), (path, response.text)
    if response.status_code != 200:
        assert response.json()["resourceType"] == "OperationOutcome"
    if response.status_code == 200:
        assert protocol.validate_response(response.json()) == []
