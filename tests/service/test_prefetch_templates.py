"""The prefetch templates ask for what the rules read, and nothing the rules read is left out.

The EHR answers a template literally: a lab whose LOINC code is in terminology/loinc.csv but not in a template
would never reach the mappers. These tests keep hooks.json and the table in step, and show on a generated chart
(bench/chart.py answers templates as a FHIR server does) that the narrow templates give the same cards as asking
for every laboratory and vital-sign result, with a fraction of the bytes.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from urllib.parse import parse_qsl

from bench import chart
from cds_service import knowledge
from cds_service.hooks import pipeline, registry
from cds_service.hooks.handlers import HANDLERS

ROOT = Path(__file__).resolve().parents[2]
LOINC = "http://loinc.org"
BROAD = chart.BROAD_TEMPLATES  # what the templates asked for before: megabytes on a long record


def _services() -> dict[str, dict]:
    return {s["id"]: s for s in json.loads((ROOT / "hooks.json").read_text())["services"]}


def _asked_codes(templates: dict[str, str]) -> set[str]:
    codes = set()
    for template in templates.values():
        for name, value in parse_qsl(template.partition("?")[2]):
            if name == "code":
                codes |= {alt.split("|")[1] for alt in value.split(",") if alt.startswith(LOINC + "|")}
    return codes


def test_every_loinc_code_the_mappers_know_is_asked_for_by_every_service():
    table = ROOT / "fhir_mappings" / "terminology" / "loinc.csv"
    known = {row["code"] for row in csv.DictReader(table.open())}
    services = _services()
    reports = _asked_codes({k: t for k, t in services["kmt2a-patient-view"]["prefetch"].items()
                            if t.startswith("DiagnosticReport?")})
    for service_id, service in services.items():
        asked = _asked_codes(service["prefetch"])
        # the order services read no genetic report documents (their checks read the genomic Observations)
        expected = known if service["hook"] == "patient-view" else known - reports
        assert expected - asked == set(), f"{service_id} does not ask for {sorted(expected - asked)}"


def test_no_observation_template_asks_for_a_whole_category():
    for service in _services().values():
        for key, template in service["prefetch"].items():
            params = dict(parse_qsl(template.partition("?")[2]))
            if template.startswith("Observation?"):
                assert "code" in params, f"{key} asks for every Observation of a category: {template}"


def _cards(templates: dict[str, str], resources: list[dict]) -> list[tuple]:
    knowledge.load_all()
    service = registry.load(ROOT / "hooks.json", HANDLERS).get("kmt2a-patient-view")
    body = {"hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea", "hook": "patient-view",
            "context": {"patientId": "bench-1", "userId": "Practitioner/1"},
            "prefetch": chart.prefetch_for(templates, resources)}
    answer = pipeline.answer(service, body, pipeline.Settings(reference_date=chart.TODAY))
    return sorted((c["indicator"], c["summary"], c.get("detail", "")) for c in answer.cards)


def test_narrow_templates_give_the_same_cards_as_asking_for_everything():
    declared = _services()["kmt2a-patient-view"]["prefetch"]
    resources = chart.chart("long")
    narrow = chart.prefetch_for(declared, resources)
    broad = chart.prefetch_for(declared | BROAD, resources)
    size = lambda prefetch: len(json.dumps(prefetch))  # noqa: E731
    assert size(narrow) < size(broad) / 2
    cards = _cards(declared, resources)
    assert cards, "the generated chart (KMT2A::MLLT3 AML) should give cards"
    assert cards == _cards(declared | BROAD, resources)
