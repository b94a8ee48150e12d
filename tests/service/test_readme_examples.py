"""The README's examples run as written: the files it names exist and the request it posts gets the assessment."""

from __future__ import annotations

import json
import re
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
NAMED_FIXTURES = sorted(set(re.findall(r"tests/fixtures/[\w./-]+\.json", README)))


def test_readme_names_fixtures_that_exist():
    assert NAMED_FIXTURES, "the README should show runnable examples"
    assert [name for name in NAMED_FIXTURES if not (ROOT / name).is_file()] == []


def test_readme_curl_example_gets_the_assessment_card(live_service):
    base = live_service()
    (request_file,) = [name for name in NAMED_FIXTURES if "/requests/" in name]
    body = json.loads((ROOT / request_file).read_text(encoding="utf-8"))
    assert body["hook"] == "patient-view"
    response = requests.post(f"{base}/cds-services/kmt2a-patient-view", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assessments = [c["extension"]["org.kmt2a-cds.assessment"] for c in response.json()["cards"] if "extension" in c]
    assert len(assessments) == 1 and assessments[0]["kmt2a"]["status"] == "rearranged"
