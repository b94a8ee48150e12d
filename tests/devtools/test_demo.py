"""`make demo`'s servers, started as `make demo` starts them, answer patient-view for every demo patient through the
FHIR server (no prefetch sent, so the service's fetch path runs) with the expected risk group."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from cds_service.devtools.demo import DEMO_DIR, demo_patients, patient_view_request

ROOT = Path(__file__).resolve().parents[2]
PATIENTS = demo_patients(DEMO_DIR)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`make demo` (the launcher itself where make is missing) on free ports.
    Yields (service base URL, FHIR base URL, what it printed until ready)."""
    workdir = tmp_path_factory.mktemp("demo")
    env = os.environ | {"CDS_DATABASE_URL": f"sqlite:///{workdir / 'demo.db'}", "PYTHONUNBUFFERED": "1"}
    command = ["make", "demo", "DEMO_PORT=0", "DEMO_FHIR_PORT=0"] if shutil.which("make") else \
        [sys.executable, "-m", "cds_service.devtools.demo", "--port", "0", "--fhir-port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    seen: list[str] = []
    try:
        while not any(line.startswith("Ready.") for line in seen):
            try:
                seen.append(lines.get(timeout=120))
            except queue.Empty:
                pytest.fail("make demo did not get ready:\n" + "".join(seen))
        urls = {line.split(":", 1)[0]: line.split(": ", 1)[1].strip() for line in seen
                if line.startswith(("CDS service:", "FHIR server:"))}
        yield urls["CDS service"].removesuffix("/cds-services"), urls["FHIR server"], "".join(seen)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def test_demo_lists_every_patient_and_what_to_try(demo):
    service, fhir, output = demo
    assert all(p["id"] in output for p in PATIENTS)
    assert f"{service}/cds-services" in output and fhir in output
    assert "kmt2a-cds cards demo/" in output and "curl -s -X POST" in output
    assert all(f"demo_cards {p['id']}" in output for p in PATIENTS)


def test_the_printed_curl_commands_work_as_printed(demo):
    _, _, output = demo
    (function,) = [line.strip() for line in output.splitlines() if line.strip().startswith("demo_cards() {")]
    result = subprocess.run(["bash", "-c", f"{function}\ndemo_cards kmt2a-demo-child-aml"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    summaries = [card["summary"] for card in json.loads(result.stdout)["cards"]]
    assert any("KMT2A::AFDN" in summary for summary in summaries)


def test_fhir_server_is_r4(demo):
    _, fhir, _ = demo
    capability = requests.get(f"{fhir}/metadata", timeout=10).json()
    assert capability["resourceType"] == "CapabilityStatement" and capability["fhirVersion"] == "4.0.1"


@pytest.mark.parametrize("patient", PATIENTS, ids=[p["id"] for p in PATIENTS])
def test_patient_view_through_the_fhir_server(demo, patient):
    service, fhir, _ = demo
    body = patient_view_request(patient["id"], fhir)
    assert "prefetch" not in body
    response = requests.post(f"{service}/cds-services/kmt2a-patient-view", json=body, timeout=60)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    expect = patient["expect"]
    if expect.get("noCards"):
        assert cards == []
        return
    (assessment,) = [c["extension"]["org.kmt2a-cds.assessment"] for c in cards
                     if "org.kmt2a-cds.assessment" in c.get("extension", {})]
    assert sorted([g["scheme"], g["group"]] for g in assessment.get("riskGroups", [])) == sorted(expect["riskGroups"])
    assert [assessment["kmt2a"]["status"], assessment["kmt2a"].get("partner")] == expect["kmt2a"]
    if "setting" in expect:
        assert assessment["disease"]["setting"] == expect["setting"]
    # The data came from the FHIR server: nothing the prefetch asks for was unavailable.
    assert "missingData" not in assessment or "kmt2a-status" not in assessment["missingData"]


def test_demo_bundles_are_transactions_with_stable_ids():
    for patient in PATIENTS:
        bundle = json.loads((DEMO_DIR / patient["file"]).read_text(encoding="utf-8"))
        assert bundle["type"] == "transaction"
        assert {e["request"]["method"] for e in bundle["entry"]} == {"PUT"}
        assert f"Patient/{patient['id']}" in {e["request"]["url"] for e in bundle["entry"]}


@pytest.mark.parametrize("patient", PATIENTS, ids=[p["id"] for p in PATIENTS])
def test_demo_bundles_are_valid_fhir(patient):
    """An EHR's export validates: every demo Bundle passes the FHIR models (R4B, as our mapper validates)."""
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate(json.loads((DEMO_DIR / patient["file"]).read_text(encoding="utf-8")))
