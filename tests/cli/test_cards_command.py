"""`kmt2a-cds cards`: the cards of a Bundle or a CDS Hooks request, as text and as the CDS Hooks response."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cds_service.hooks import protocol

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".venv" / "bin" / "kmt2a-cds"
DEMO = ROOT / "demo"
TODAY = "2026-11-29"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "cds_service"]
    return subprocess.run([*command, *args], input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_cards_of_a_demo_bundle_read_like_cards():
    result = run("cards", str(DEMO / "kmt2a-demo-child-aml.json"), "--today", TODAY)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert " INFO  Pediatric AML KMT2A-r high-risk partner: KMT2A::AFDN AML" in text  # indicator, then the summary
    assert "Source: " in text and "\x1b[" not in text  # no color codes when not a terminal
    assert "**" not in text and "`" not in text and "###" not in text  # markdown rendered, not shown


def test_json_is_the_cds_hooks_response_and_valid():
    result = run("cards", str(DEMO / "kmt2a-demo-infant.json"), "--today", TODAY, "--json")
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert protocol.schema_problems("response.json", response) == []
    (assessment,) = [c["extension"]["org.kmt2a-cds.assessment"] for c in response["cards"] if "extension" in c]
    assert [g["group"] for g in assessment["riskGroups"]] == ["high"]


def test_a_bundle_gives_the_cards_of_the_same_chart_sent_as_prefetch():
    """The Bundle path fills every prefetch key from the Bundle: the same cards as the request an EHR would send."""
    from cds_service.hooks.offline import _registry, request_from_bundle

    bundle = json.loads((DEMO / "kmt2a-demo-adult-relapse.json").read_text(encoding="utf-8"))
    service = _registry().get("kmt2a-patient-view")
    request = request_from_bundle(bundle, service)
    assert set(request["prefetch"]) == set(service.prefetch)
    assert request["prefetch"]["ecg"]["total"] == 1 and request["prefetch"]["medicationStatements"]["total"] == 1
    from_request = json.loads(run("cards", "-", "--today", TODAY, "--json", stdin=json.dumps(request)).stdout)
    from_bundle = json.loads(run("cards", str(DEMO / "kmt2a-demo-adult-relapse.json"), "--today", TODAY,
                                 "--json").stdout)
    summaries = [c["summary"] for c in from_bundle["cards"]]
    assert summaries == [c["summary"] for c in from_request["cards"]] and summaries


def test_no_leukemia_prints_that_there_is_nothing_to_act_on():
    result = run("cards", str(DEMO / "kmt2a-demo-no-leukemia.json"), "--today", TODAY)
    assert result.returncode == 0 and "No cards" in result.stdout


def test_order_sign_on_a_bundle_without_draft_orders_is_a_clear_error():
    result = run("cards", str(DEMO / "kmt2a-demo-infant.json"), "--hook", "order-sign")
    assert result.returncode == 2 and "draft MedicationRequests" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_bundle_with_two_patients_asks_which():
    bundles = [json.loads((DEMO / f"kmt2a-demo-{n}.json").read_text(encoding="utf-8")) for n in ("infant", "child-all")]
    both = {"resourceType": "Bundle", "type": "collection",
            "entry": [{"resource": e["resource"]} for b in bundles for e in b["entry"]]}
    result = run("cards", "-", "--today", TODAY, stdin=json.dumps(both))
    assert result.returncode == 2 and "--patient" in result.stderr
    chosen = run("cards", "-", "--today", TODAY, "--patient", "kmt2a-demo-child-all", stdin=json.dumps(both))
    assert chosen.returncode == 0 and "MLLT1" in chosen.stdout
