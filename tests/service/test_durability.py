"""Feedback is durable before we answer: every item acknowledged with 200 is in the store, even when workers are
killed with SIGKILL mid-stream (gunicorn, two workers, the SQLite store in WAL mode with full sync)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from cds_service.web.store import Store

FEEDBACK = "/cds-services/kmt2a-patient-view/feedback"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


@pytest.fixture
def gunicorn(tmp_path):
    port = _free_port()
    env = {**os.environ, "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "CDS_PROFILE": "development"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
         "cds_service.web.app:create_app()"], env=env, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    ready_until = time.monotonic() + 60
    while time.monotonic() < ready_until:
        try:
            if requests.get(base + "/healthz", timeout=5).status_code == 200 and len(_workers(process.pid)) == 2:
                break
        except requests.RequestException:
            pass  # not listening yet, or busy starting
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("gunicorn did not become ready")
    yield base, process, env["CDS_DATABASE_URL"]
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def test_acknowledged_feedback_survives_sigkill_of_workers(gunicorn):
    base, master, database_url = gunicorn
    acknowledged, kills = [], 0
    for n in range(300):
        if n in (60, 140, 220):
            victims = _workers(master.pid)
            if victims:
                os.kill(victims[0], signal.SIGKILL)
                kills += 1
        card = str(uuid.uuid4())
        item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-29T10:00:00Z"}
        try:
            response = requests.post(base + FEEDBACK, json={"feedback": [item]}, timeout=30)
        except requests.RequestException:
            continue  # not acknowledged: the client would send it again
        if response.status_code == 200:
            acknowledged.append(card)
    assert kills == 3 and len(acknowledged) > 200
    stored = {row.card_uuid for row in Store(database_url).feedback_rows()}
    assert set(acknowledged) <= stored
