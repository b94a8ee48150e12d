"""order-sign is served from order-select's work on any worker: the cache is in the store, keyed on content.

Two real gunicorn workers (separate processes, nothing shared but the store); every call on a new connection,
and every call's prefetch searched again, so its Bundles carry fresh ids as a FHIR server's do.
"""

from __future__ import annotations

import json
import sqlite3

import requests

from bench.run import order_body
from cds_service.orders.cache import content_key
from tests.support.gunicorn import served

PAIRS = 6


def post(port: int, hook: str, body: bytes) -> dict:
    response = requests.post(f"http://127.0.0.1:{port}/cds-services/kmt2a-{hook}", data=body,
                             headers={"Content-Type": "application/json", "Connection": "close"}, timeout=60)
    assert response.status_code == 200, response.text[:300]
    return response.json()


def test_every_order_sign_after_its_order_select_is_a_hit_on_two_workers(tmp_path):
    with served(tmp_path, workers=2) as (port, database_url):
        for pair in range(PAIRS):
            selected = post(port, "order-select", order_body("order-select", pair))
            assert selected["cards"], "a revumenib order gets a card"
            post(port, "order-sign", order_body("order-sign", pair))
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
            rows = db.execute("SELECT hits FROM order_check_cache").fetchall()
    assert len(rows) == PAIRS  # one entry per order (content), none per Bundle id
    assert sum(hits for (hits,) in rows) == PAIRS


def test_the_key_ignores_what_a_server_regenerates_and_nothing_else():
    one = json.loads(order_body("order-sign", 1))
    again = json.loads(order_body("order-sign", 1))
    assert one["prefetch"]["labs"]["id"] != again["prefetch"]["labs"]["id"]  # a fresh search
    key = lambda body: content_key(body["context"]["patientId"], body["context"]["draftOrders"],  # noqa: E731
                                   body["prefetch"])
    assert key(one) == key(again)
    again["prefetch"]["labs"]["entry"][0]["resource"]["valueQuantity"]["value"] += 1  # a changed result
    assert key(one) != key(again)
    dose = json.loads(order_body("order-sign", 2))  # another dose of the same drug
    assert key(dose) != key(one)
