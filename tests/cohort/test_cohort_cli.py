"""`kmt2a-cds assess` over Bulk Data NDJSON and `kmt2a-cds diff`, run as a user runs them (subprocess)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from cds_service.cli import assessment_json
from cds_service.cohort.rows import read_rows, row_from_assessment
from cds_service.devtools.synthetic import SHARED, patient_resources, write_export

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".venv" / "bin" / "kmt2a-cds"
TODAY = "2026-11-29"
PATIENTS = 60


def run(*args: str) -> subprocess.CompletedProcess:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "cds_service"]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """A $export folder whose lines are shuffled within each file, so no patient's resources are adjacent."""
    folder = tmp_path_factory.mktemp("export")
    write_export(folder, PATIENTS)
    rng = random.Random(3)
    for file in folder.iterdir():
        lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
        rng.shuffle(lines)
        file.write_text("".join(lines), encoding="utf-8")
    return folder


def alone(index: int) -> dict:
    """The row of one patient assessed by itself (its own Bundle, as `kmt2a-cds assess FILE` does)."""
    resources = patient_resources(index) + SHARED
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    return row_from_assessment(f"syn-{index:06d}", assessment_json(bundle, date.fromisoformat(TODAY)))


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_cohort_rows_equal_each_patient_assessed_alone(export):
    result = run("assess", str(export), "--today", TODAY, "--workers", "2")
    assert result.returncode == 0, result.stderr
    rows = {row["patient"]: row for row in jsonl(result.stdout)}
    assert len(rows) == PATIENTS
    assert rows == {f"syn-{i:06d}": alone(i) for i in range(PATIENTS)}
    assert f"assessed {PATIENTS} patients" in result.stderr


def test_the_cohort_is_varied_enough_to_mean_something(export):
    rows = jsonl(run("assess", str(export), "--today", TODAY).stdout)
    assert {r["kmt2aStatus"] for r in rows} >= {"rearranged", "not-detected", "unknown"}
    assert len({g for r in rows for g in r["riskGroups"]}) >= 4
    # a relapsed patient on posaconazole is read through the shared Medication resource
    assert any(r["setting"] == "relapsed-refractory" for r in rows)


def test_malformed_lines_are_reported_with_their_number_and_skipped(export, tmp_path):
    broken = tmp_path / "export"
    shutil.copytree(export, broken)
    observations = (broken / "Observation.ndjson").read_text(encoding="utf-8").splitlines(keepends=True)
    observations[4:4] = ['{"resourceType": "Observation", "id": \n', '["not", "a", "resource"]\n']
    (broken / "Observation.ndjson").write_text("".join(observations), encoding="utf-8")
    result = run("assess", str(broken), "--today", TODAY)
    assert result.returncode == 0, result.stderr
    assert "Observation.ndjson:5: not JSON" in result.stderr
    assert "Observation.ndjson:6: not a FHIR resource" in result.stderr
    assert "malformed lines skipped: 2" in result.stderr
    assert {r["patient"]: r for r in jsonl(result.stdout)} == {r["patient"]: r for r in jsonl(
        run("assess", str(export), "--today", TODAY).stdout)}


def test_single_files_and_csv_output(export, tmp_path):
    out = tmp_path / "rows.csv"
    files = sorted(str(p) for p in export.iterdir())
    result = run("assess", *files, "--today", TODAY, "-o", str(out), "--progress")
    assert result.returncode == 0, result.stderr
    assert f"{PATIENTS}/{PATIENTS}" in result.stderr and "rows written to" in result.stderr  # the bar, the summary
    assert out.read_text(encoding="utf-8").startswith("patient,ageGroup,lineage,setting,kmt2aStatus")
    restored = read_rows(str(out))
    assert set(restored) == {f"syn-{i:06d}" for i in range(PATIENTS)}
    sample = alone(7)
    assert {k: restored[sample["patient"]].get(k, "") for k in sample} == sample


def test_a_single_json_bundle_still_prints_the_assessment(tmp_path):
    result = run("assess", str(ROOT / "demo" / "kmt2a-demo-infant.json"), "--today", TODAY)
    assert result.returncode == 0 and json.loads(result.stdout)["kmt2a"]["partner"] == "AFF1"


def test_diff_between_knowledge_folders_lists_the_patients_that_change(export, tmp_path):
    packaged = ROOT / "cds_service" / "knowledge"
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(packaged, old)
    shutil.copytree(packaged, new)
    rules = json.loads((new / "rules.json").read_text(encoding="utf-8"))

    def drop_afdn(value):  # AFDN leaves every partner list it is on: AFDN patients must change, nobody else
        if isinstance(value, dict):
            return {k: drop_afdn(v) for k, v in value.items()}
        if isinstance(value, list):
            return [drop_afdn(v) for v in value if v != "AFDN"]
        return value

    (new / "rules.json").write_text(json.dumps(drop_afdn(rules)), encoding="utf-8")
    rows = {r["patient"]: r for r in jsonl(run("assess", str(export), "--today", TODAY).stdout)}
    same = run("diff", str(export), "--knowledge", str(old), str(old), "--today", TODAY, "--json")
    assert same.returncode == 0 and same.stdout == "", same.stderr
    result = run("diff", str(export), "--knowledge", str(old), str(new), "--today", TODAY, "--json")
    assert result.returncode == 1, result.stderr
    changed = jsonl(result.stdout)
    assert changed and {rows[c["patient"]]["kmt2aPartner"] for c in changed} == {"AFDN"}
    assert all(c["riskGroupsBefore"] != c["riskGroupsAfter"] for c in changed)
    assert f"{PATIENTS} patients re-assessed; {len(changed)} changed" in result.stderr


def test_diff_against_earlier_rows(export, tmp_path):
    earlier = tmp_path / "earlier.jsonl"
    assert run("assess", str(export), "--today", TODAY, "-o", str(earlier)).returncode == 0
    rows = jsonl(earlier.read_text(encoding="utf-8"))
    assert run("diff", str(export), "--against", str(earlier), "--today", TODAY).returncode == 0
    rows[3]["riskGroups"] = ["made-up=group"]
    earlier.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run("diff", str(export), "--against", str(earlier), "--today", TODAY)
    assert result.returncode == 1
    assert result.stdout.startswith(f"{rows[3]['patient']}: risk made-up=group -> ")
    assert len(result.stdout.splitlines()) == 1


def test_gzipped_export_files_are_read(export, tmp_path):
    import gzip

    zipped = tmp_path / "gz"
    zipped.mkdir()
    for file in export.iterdir():
        (zipped / f"{file.name}.gz").write_bytes(gzip.compress(file.read_bytes()))
    result = run("assess", str(zipped), "--today", TODAY)
    assert result.returncode == 0, result.stderr
    assert {r["patient"]: r for r in jsonl(result.stdout)} == {f"syn-{i:06d}": alone(i) for i in range(PATIENTS)}


def test_ndjson_named_json_gets_a_hint(export, tmp_path):
    misnamed = tmp_path / "patients.json"
    misnamed.write_text((export / "Patient.ndjson").read_text(encoding="utf-8"), encoding="utf-8")
    result = run("assess", str(misnamed))
    assert result.returncode == 2 and "name it .ndjson" in result.stderr
