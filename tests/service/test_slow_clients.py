"""Slow clients do not take the service down (issue 17, item 1).

The real serving model: gunicorn with the project's gunicorn.conf.py (2 workers), on an ephemeral loopback port.
Sixteen connections drip their requests one byte at a time (half the headers, half a declared body) and stay open
while an ordinary call is made: it must be answered. With sync workers, two such clients were enough to block
every other call until they finished. No timing assertion: only that the call is answered at all while the slow
clients still hold their connections (the client's timeout bounds the wait so that a regression fails, not hangs).
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from bench.slow_clients import drip
from tests.support.gunicorn import served

SLOW_CONNECTIONS = 16


@pytest.fixture
def gunicorn_service(tmp_path):
    with served(tmp_path, workers=2) as (port, _database_url):
        yield port


def test_calls_are_answered_while_sixteen_slow_clients_hold_connections(gunicorn_service):
    port = gunicorn_service
    stop = threading.Event()
    slow = [threading.Thread(target=drip, args=(port, "headers" if i % 2 else "body", stop), daemon=True)
            for i in range(SLOW_CONNECTIONS)]
    for thread in slow:
        thread.start()
    try:
        time.sleep(1.5)  # every slow client connected and dripping
        still_dripping = sum(thread.is_alive() for thread in slow)
        answers = [requests.get(f"http://127.0.0.1:{port}/cds-services", timeout=20) for _ in range(4)]
        assert [a.status_code for a in answers] == [200] * 4
        assert all(a.json()["services"] for a in answers)
        assert still_dripping == SLOW_CONNECTIONS  # the calls were made while every slow client held on
    finally:
        stop.set()
        for thread in slow:
            thread.join(timeout=5)
