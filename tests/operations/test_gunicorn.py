"""The production command for real: gunicorn with cds_service/web/gunicorn_conf.py and two workers.

/metrics adds up both workers' counts (prometheus-client multiprocess mode), and every line the service and
gunicorn write is one JSON object with timestamp, level and logger, holding no token and no patient id."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from cds_service.web.config import development_trusted_issuers
from tests.support.databases import postgres_server
from tests.support.prometheus import metric

PV = "/cds-services/kmt2a-patient-view"
PV_FIXTURE = "tests/fixtures/requests/patient-view-relapsed-child-aml.json"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CALLS = 12


class Gunicorn:
    """`make serve`'s command in a subprocess on an ephemeral loopback port; its output lines are collected."""

    def __init__(self, directory: Path, env: dict[str, str]):
        self.metrics_dir = directory / "prometheus"
        env = {**os.environ, "HOST": "127.0.0.1", "PORT": "0", "WORKERS": "2",
               "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
               "CDS_DATABASE_URL": postgres_server() or f"sqlite:///{directory / 'kmt2a-cds.db'}", **env}
        self.process = subprocess.Popen(
            [GUNICORN, "-c", "python:cds_service.web.gunicorn_conf", "cds_service.web.app:create_app()"],
            env=env, cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._readers = [threading.Thread(target=self._collect, args=(stream,), daemon=True)
                         for stream in (self.process.stdout, self.process.stderr)]
        for reader in self._readers:
            reader.start()
        deadline = time.monotonic() + 60
        while not (port := self._port()):
            assert self.process.poll() is None and time.monotonic() < deadline, "\n".join(self.lines)
            time.sleep(0.1)
        self.base = f"http://127.0.0.1:{port}"

    def _collect(self, stream) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def _port(self) -> str | None:
        found = [re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", line) for line in list(self.lines)]
        return next((m.group(1) for m in found if m), None)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        for reader in self._readers:
            reader.join(timeout=5)


@pytest.fixture
def served(tmp_path, test_issuer):
    trusted = tmp_path / "trusted-issuers.json"
    test_issuer.write_trusted_issuers(trusted, extra=json.loads(development_trusted_issuers().read_text())["issuers"])
    server = Gunicorn(tmp_path, {"CDS_TRUSTED_ISSUERS": str(trusted), "CDS_PROFILE": "development"})
    yield server
    if server.process.poll() is None:
        server.stop()


def test_metrics_add_up_both_workers_and_every_log_line_is_json(served, test_issuer):
    body = json.loads(open(PV_FIXTURE).read())
    tokens: list[str] = []

    def call(token: str) -> int:
        return requests.post(served.base + PV, json=body, headers={"Authorization": f"Bearer {token}"},
                             timeout=30).status_code

    def workers_that_served() -> set[str]:
        return {p.name.split("_")[-1] for p in served.metrics_dir.glob("histogram_*.db")}

    # Rounds of concurrent calls until both workers have answered some (whatever the serving model).
    with ThreadPoolExecutor(6) as pool:
        while len(workers_that_served()) < 2 and len(tokens) < 20 * CALLS:
            batch = [test_issuer.mint(aud=served.base + PV) for _ in range(CALLS)]
            assert list(pool.map(call, batch)) == [200] * CALLS
            tokens += batch
    assert len(workers_that_served()) == 2
    assert call(tokens[0]) == 401  # a replay
    assert requests.post(served.base + PV, json=body, timeout=30).status_code == 200  # unauthenticated (development)

    # Whichever worker answers the scrape, it reports both workers' counts.
    for _ in range(6):
        answered = sum(metric(served.base, "kmt2a_cds_calls_total", kind="hook", outcome=outcome)
                       for outcome in ("ok", "partial"))  # partial: a prefetch key the fixture does not carry
        assert answered == len(tokens)
        assert metric(served.base, "kmt2a_cds_jwt_refusals_total", reason="replay") == 1
        assert metric(served.base, "kmt2a_cds_call_duration_seconds_count", hook="patient-view") == len(tokens) + 1
        assert metric(served.base, "kmt2a_cds_cards_total", kind="risk-stratification") == len(tokens) + 1
    health = requests.get(served.base + "/healthz", timeout=10).json()
    assert health["status"] == "ok" and health["knowledgeVersion"] and health["version"]
    assert requests.get(served.base + "/readyz", timeout=10).status_code == 200

    served.stop()
    records = [json.loads(line) for line in served.lines]  # every line, gunicorn's own included, is JSON
    assert all({"timestamp", "level", "logger", "message"} <= record.keys() for record in records)
    loggers = {record["logger"] for record in records}
    assert {"kmt2a_cds.startup", "kmt2a_cds.audit", "gunicorn.error", "gunicorn.access"} <= loggers
    (start,) = [r for r in records if r.get("event") == "start"]
    assert (start["profile"], start["trusted_issuers"], start["knowledge_version"]) == (
        "development", 2, health["knowledgeVersion"])
    audit = [r for r in records if r["logger"] == "kmt2a_cds.audit"]
    assert len(audit) == len(tokens) + 2 and all(r["message"] == "cds-call" for r in audit)
    assert not any("unauthenticated call served" in r["message"] for r in records)  # no line per call
    text = "\n".join(served.lines)
    for secret in (body["context"]["patientId"], tokens[0], tokens[0].split(".")[2]):
        assert secret not in text
