"""A body over the cap is answered 413 naming the cap and the fix, and the client can read that answer.

Most HTTP clients send the whole body before reading; the issue saw broken pipes instead of the 413. Served by
gunicorn with the project's settings, which closes gracefully after refusing, so the answer is read, three times.
"""

from __future__ import annotations

import json

import requests

from tests.support.gunicorn import served

CAP = 5 * 1024 * 1024  # the default cap


def test_an_oversized_body_is_read_and_answered_413_with_the_cap_and_the_fix(tmp_path):
    body = json.dumps({"hookInstance": "x", "hook": "patient-view", "padding": " " * (CAP + CAP // 5)}).encode()
    with served(tmp_path, workers=1) as (port, _database_url):
        for _ in range(3):
            response = requests.post(f"http://127.0.0.1:{port}/cds-services/kmt2a-patient-view", data=body,
                                     headers={"Content-Type": "application/json"}, timeout=60)
            outcome = response.json()
            assert response.status_code == 413 and outcome["resourceType"] == "OperationOutcome"
            text = outcome["issue"][0]["diagnostics"]
            assert str(CAP) in text and "CDS_MAX_BODY_BYTES" in text and "discovery" in text
