"""Hostile or odd requests at the door: each gets a clear 4xx with an OperationOutcome, or is served; never a 500.

Classes (issue 17): nesting beyond the documented depth, Content-Encoding, paths with '//', item caps,
NUL characters in what we store, placeholder dates at the calendar's edges, and statement parameters in logs.
"""

from __future__ import annotations

import copy
import gzip
import json
import uuid
from pathlib import Path

import orjson
import pytest
import requests
import sqlalchemy

from cds_service.hooks import limits, protocol
from cds_service.web.store import IssuedCard, Store
from fhir_mappings.access import parse_date
from tests.support import sandbox

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PV = "/cds-services/kmt2a-patient-view"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def base(service_dir, test_issuer):
    from tests.support.live import LiveService, test_config

    live = LiveService(test_config(service_dir, test_issuer))
    yield live
    live.stop()


def patient_view() -> dict:
    return copy.deepcopy(sandbox.raw("patient-view")["body"])


def assert_outcome(response: requests.Response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return body["issue"][0]["diagnostics"]


def with_nesting(document: dict, depth: int) -> bytes:
    """`document` as JSON with `extension.deep` nested `depth` levels (built as bytes: serialisers refuse it)."""
    document = {**document, "extension": {"deep": "DEEP"}}
    return orjson.dumps(document).replace(b'"DEEP"', b"[" * (depth - 2) + b"]" * (depth - 2))


@pytest.mark.parametrize("depth", [limits.MAX_JSON_DEPTH + 1, 300, 1000])
def test_nesting_past_the_documented_depth_is_400(base, depth):
    diagnostics = assert_outcome(requests.post(base + PV, data=with_nesting(patient_view(), depth), headers=JSON), 400)
    assert f"deeper than {limits.MAX_JSON_DEPTH}" in diagnostics


def test_nesting_within_the_depth_is_served(base):
    data = with_nesting(patient_view(), limits.MAX_JSON_DEPTH)
    assert requests.post(base + PV, data=data, headers=JSON).status_code == 200


def test_deep_feedback_is_400(base):
    item = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-29T10:00:00Z"}
    assert_outcome(requests.post(base + PV + "/feedback", data=with_nesting({"feedback": [item]}, 400), headers=JSON),
                   400)


def test_a_gzipped_request_is_decoded(base):
    data = gzip.compress(orjson.dumps(patient_view()))
    response = requests.post(base + PV, data=data, headers={**JSON, "Content-Encoding": "gzip"})
    assert response.status_code == 200 and protocol.validate_response(response.json()) == []


def test_a_plain_body_labelled_gzip_is_415(base):
    response = requests.post(base + PV, data=orjson.dumps(patient_view()), headers={**JSON, "Content-Encoding": "gzip"})
    assert "Content-Encoding" in assert_outcome(response, 415)


def test_an_unknown_encoding_is_415(base):
    response = requests.post(base + PV, data=b"{}", headers={**JSON, "Content-Encoding": "br"})
    assert "not supported" in assert_outcome(response, 415)


def test_a_gzip_bomb_is_413_without_inflating_it(base):
    bomb = gzip.compress(b" " * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB of spaces in ~64 KiB
    response = requests.post(base + PV, data=bomb, headers={**JSON, "Content-Encoding": "gzip"})
    assert "decompressed" in assert_outcome(response, 413)


@pytest.mark.parametrize("path", ["//cds-services", "/cds-services//kmt2a-patient-view", "//healthz"])
def test_double_slashes_get_json_not_an_html_redirect(base, path):
    response = requests.post(base + path, json=patient_view(), allow_redirects=False)
    assert response.status_code in (404, 405)
    assert response.headers["Content-Type"].startswith("application/fhir+json")


def order_select_with(n_orders: int) -> dict:
    body = copy.deepcopy(sandbox.raw("order-select-3")["body"])
    template = body["context"]["draftOrders"]["entry"][0]
    entries = []
    for n in range(n_orders):
        entry = copy.deepcopy(template)
        entry["resource"]["id"] = f"draft-{n}"
        entries.append(entry)
    body["context"]["draftOrders"]["entry"] = entries
    body["context"]["selections"] = [f"{template['resource']['resourceType']}/draft-0"]
    return body


def test_more_draft_orders_than_the_cap_is_400_naming_the_cap(base):
    diagnostics = assert_outcome(requests.post(base + "/cds-services/kmt2a-order-select", json=order_select_with(201)),
                                 400)
    assert "more than 200 items" in diagnostics


def test_draft_orders_up_to_the_cap_are_served(base):
    response = requests.post(base + "/cds-services/kmt2a-order-select", json=order_select_with(200))
    assert response.status_code == 200 and protocol.validate_response(response.json()) == []


def test_more_feedback_items_than_the_cap_is_400(base):
    item = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-11-29T10:00:00Z"}
    diagnostics = assert_outcome(requests.post(base + PV + "/feedback", json={"feedback": [item] * 101}), 400)
    assert "more than 100 items" in diagnostics


def test_nul_characters_in_stored_ids_are_stored_safely(base):
    body = patient_view()
    body["hookInstance"] = "hook\x00instance"
    assert requests.post(base + PV, json=body).status_code == 200
    card = "card\x00" + str(uuid.uuid4())[:20]
    item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-29T10:00:00Z"}
    assert requests.post(base + PV + "/feedback", json={"feedback": [item]}).status_code == 200
    assert requests.post(base + "/cds-services/no\x00such/feedback", json={"feedback": [item]}).status_code == 404
    store = Store(base.config.database_url)
    assert any(row.card_uuid == card.replace("\x00", "\ufffd") for row in store.feedback_rows())


def test_a_failing_statement_logs_no_parameter_values(tmp_path, caplog):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    row = {"uuid": "card-secret-uuid-77", "hook_instance": "h", "service_id": "s", "knowledge_version": "k",
           "issued_at": None}
    with pytest.raises(sqlalchemy.exc.IntegrityError) as error, store.sessions.begin() as session:
        session.add(IssuedCard(**row))  # issued_at NOT NULL: the insert fails
    assert "card-secret-uuid-77" not in str(error.value)


@pytest.mark.parametrize("text", ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00"])
def test_placeholder_dates_read_as_not_given(text):
    assert parse_date(text) is None


def test_placeholder_dates_everywhere_in_a_chart_are_served(base):
    body = json.loads((FIXTURES / "requests" / "patient-view-relapsed-child-aml.json").read_text(encoding="utf-8"))
    edges = iter(["0001-01-01", "9999-12-31"] * 10_000)

    def blur(value):
        if isinstance(value, dict):
            return {k: (next(edges) if k in ("onsetDateTime", "start", "end", "effectiveDateTime", "authoredOn",
                                              "birthDate", "recordedDate", "issued") else blur(v))
                    for k, v in value.items()}
        if isinstance(value, list):
            return [blur(v) for v in value]
        return value

    response = requests.post(base + PV, json=blur(body))
    assert response.status_code == 200, response.text
    assert protocol.validate_response(response.json()) == []
