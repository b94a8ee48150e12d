"""`kmt2a-cds assess` on an order-select request prints the contract's orderChecks (run as a real process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cds_service import knowledge

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "orders" / "epic-order-select-revumenib-child.json"


def assess(path: Path | str, stdin: str | None = None) -> dict:
    done = subprocess.run([sys.executable, "-m", "cds_service", "assess", str(path), "--today", "2026-11-21"],
                          cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_assess_prints_order_checks_for_draft_orders():
    out = assess(FIXTURE)
    (check,) = out["orderChecks"]
    per_m2 = next(r["value"] for r in knowledge.load("menin_inhibitors.json")["revumenib"]["dosing"]["rows"]
                  if r["band"] == "weight-under-40kg" and r["strong_cyp3a4_inhibitor"])
    assert check["medication"] == "revumenib"
    assert check["expectedDose"]["basis"].startswith(f"{per_m2:g} mg/m2 x ")
    assert check["expectedDose"]["basis"] == f"{per_m2:g} mg/m2 x {out['patient']['bsaM2']:g} m2"
    assert check["expectedDose"]["value"] == pytest.approx(per_m2 * out["patient"]["bsaM2"], abs=0.05)


def test_assess_without_draft_orders_has_no_order_checks():
    request = json.loads(FIXTURE.read_text())
    request["context"]["draftOrders"]["entry"] = []
    assert "orderChecks" not in assess("-", json.dumps(request))
