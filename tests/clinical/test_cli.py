"""The installed `kmt2a-cds assess` command, run as a subprocess like a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clinical.vignettes import FIXTURES, REFERENCE_DATE, check, load

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".venv" / "bin" / "kmt2a-cds"
TODAY = REFERENCE_DATE.isoformat()


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "cds_service"]
    return subprocess.run([*command, *args], input=stdin, capture_output=True, text=True, timeout=60, cwd=ROOT)


def hook_request(bundle: dict, patient_id: str) -> dict:
    """A patient-view request with the vignette's resources as prefetch (one searchset per type)."""
    by_type: dict[str, list] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry)
    prefetch = {f"{t.lower()}s": {"resourceType": "Bundle", "type": "searchset", "entry": e}
                for t, e in by_type.items() if t != "Patient"}
    prefetch["patient"] = by_type["Patient"][0]["resource"]
    return {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
            "context": {"patientId": patient_id, "userId": "Practitioner/example"}, "prefetch": prefetch}


def test_assess_file_prints_the_contract_assessment():
    result = run("assess", str(FIXTURES / "case-report-patient-1.json"), "--today", TODAY)
    assert result.returncode == 0, result.stderr
    check("case-report-patient-1", json.loads(result.stdout))


def test_assess_stdin():
    result = run("assess", "-", "--today", TODAY, stdin=json.dumps(load("ped-aml-mllt10")))
    assert result.returncode == 0, result.stderr
    check("ped-aml-mllt10", json.loads(result.stdout))


def test_assess_cds_hooks_request():
    request = hook_request(load("infant-high-wbc"), "inf-hr-wbc")
    result = run("assess", "-", "--today", TODAY, stdin=json.dumps(request))
    assert result.returncode == 0, result.stderr
    check("infant-high-wbc", json.loads(result.stdout))


def test_today_changes_the_ages():
    earlier = json.loads(run("assess", str(FIXTURES / "infant-high-wbc.json"), "--today", "2026-10-01").stdout)
    later = json.loads(run("assess", str(FIXTURES / "infant-high-wbc.json"), "--today", TODAY).stdout)
    assert later["patient"]["ageDays"] - earlier["patient"]["ageDays"] == 31
    assert earlier["patient"]["ageAtDiagnosisDays"] == later["patient"]["ageAtDiagnosisDays"] == 120


@pytest.mark.parametrize("garbage", ["not json at all", "[1, 2, 3]", '{"hello": "world"}', ""])
def test_unreadable_input_exits_2_with_one_line(garbage):
    result = run("assess", "-", "--today", TODAY, stdin=garbage)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "error" in result.stderr


def test_missing_file_exits_2():
    result = run("assess", str(FIXTURES / "no-such-file.json"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_bad_date_is_a_usage_error():
    result = run("assess", str(FIXTURES / "no-leukemia.json"), "--today", "21/11/2026")
    assert result.returncode == 2 and "date" in result.stderr


def test_python_module_entry_point_matches_script():
    via_module = subprocess.run([sys.executable, "-m", "cds_service", "assess", str(FIXTURES / "adult-aml-mllt3.json"),
                                 "--today", TODAY], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert via_module.returncode == 0, via_module.stderr
    check("adult-aml-mllt3", json.loads(via_module.stdout))


def test_draft_orders_add_order_checks():
    bundle = load("relapsed-adult-all-posaconazole")
    bundle["entry"].append({"resource": {
        "resourceType": "MedicationRequest", "id": "draft-revu", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                  "code": "2698331", "display": "revumenib 160 MG Oral Tablet"}]},
        "subject": {"reference": "Patient/rr-adult-all"}, "authoredOn": TODAY,
        "dosageInstruction": [{"timing": {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}},
                               "doseAndRate": [{"doseQuantity": {"value": 270, "unit": "mg",
                                                                 "system": "http://unitsofmeasure.org", "code": "mg"}}]}]}})
    result = run("assess", "-", "--today", TODAY, stdin=json.dumps(bundle))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    check("relapsed-adult-all-posaconazole", out)
    [order_check] = out["orderChecks"]
    assert order_check["order"] == "MedicationRequest/draft-revu"
    assert order_check["verdict"] == "dose-too-high"  # 270 mg with posaconazole: the table says 160 mg


def test_no_order_checks_without_draft_orders():
    out = json.loads(run("assess", str(FIXTURES / "relapsed-adult-all-posaconazole.json"), "--today", TODAY).stdout)
    assert "orderChecks" not in out
