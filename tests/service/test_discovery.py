"""Discovery from hooks.json, and the start-up checks of the registry."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import requests

from cds_service.hooks import protocol
from cds_service.hooks import registry as services
from cds_service.web.config import HOOKS_FILE, Config
from cds_service.hooks.handlers import HANDLERS

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACT = {"kmt2a-patient-view": "patient-view", "kmt2a-order-select": "order-select",
            "kmt2a-order-sign": "order-sign"}


def test_discovery_lists_the_three_contract_services(live_service):
    base = live_service()
    response = requests.get(base + "/cds-services", headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    document = response.json()
    assert protocol.schema_problems("discovery.json", document) == []
    assert protocol.empty_values(document) == []
    assert {s["id"]: s["hook"] for s in document["services"]} == CONTRACT
    for service in document["services"]:
        assert service["title"] and service["description"] and service["usageRequirements"]
        assert service["version"] == "2.0.1"
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert all(services.template_problems(t, service["hook"]) == [] for t in service["prefetch"].values())
    patient_view = next(s for s in document["services"] if s["id"] == "kmt2a-patient-view")
    assert patient_view["extension"][services.REQUIRED_PREFETCH] == ["patient"]
    assert requests.get(base + "/cds-services/").json() == document  # a trailing slash is the same


def test_the_package_serves_the_repository_hooks_file_installed_or_not():
    # One file, two ways to reach it: the symlink in the source tree, its content in the wheel (package data).
    assert Config().hooks_file == HOOKS_FILE and HOOKS_FILE.is_symlink()
    assert HOOKS_FILE.resolve() == (REPO_ROOT / "hooks.json").resolve()
    package_data = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "hooks/hooks.json" in package_data["cds_service"]


def test_discovery_is_the_hooks_file():
    hooks = json.loads((REPO_ROOT / "hooks.json").read_text())
    registry = services.load(REPO_ROOT / "hooks.json", HANDLERS)
    assert [s["id"] for s in registry.discovery()["services"]] == [s["id"] for s in hooks["services"]]
    assert all(s["prefetch"] == h["prefetch"] for s, h in zip(registry.discovery()["services"], hooks["services"]))


@pytest.mark.parametrize("template, problem", [
    ("Patient/{{context.patientId}}", None),
    ("{{context.userId}}", None),
    ("Observation?patient={{context.patientId}}&code=http://loinc.org|69548-6,http://loinc.org|29770-5", None),
    ("Practitioner/{{userPractitionerId}}", None),
    ("Condition?patient={{context.patientId}}&_include=Condition:subject", "outside the 2.0 prefetch subset"),
    ("Observation?subject.name=x", "outside the 2.0 prefetch subset"),
    ("Observation?code:text=leukemia", "outside the 2.0 prefetch subset"),
    ("MedicationRequest/{{context.draftOrders.MedicationRequest.id}}", "not a 2.0 prefetch token"),
    ("Observation?date=ge{{today() - 90 days}}", "not a 2.0 prefetch token"),
    ("Patient/{{context.patientId}", "unbalanced"),
    ("http://ehr.example/Patient/1", "not a relative read"),
])
def test_template_lint(template, problem):
    problems = services.template_problems(template, "patient-view")
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems


def test_registry_refuses_a_service_without_handler(tmp_path):
    hooks = json.loads((REPO_ROOT / "hooks.json").read_text())
    path = tmp_path / "hooks.json"
    path.write_text(json.dumps(hooks))
    with pytest.raises(services.RegistryError, match="no handler"):
        services.load(path, {k: v for k, v in HANDLERS.items() if k != "kmt2a-order-sign"})
    hooks["services"][0]["prefetch"]["bad"] = "Condition?_revinclude=x"
    path.write_text(json.dumps(hooks))
    with pytest.raises(services.RegistryError, match="prefetch bad"):
        services.load(path, HANDLERS)


def test_an_empty_registry_serves_an_empty_list(live_service, tmp_path):
    path = tmp_path / "hooks.json"
    path.write_text('{"services": []}')
    base = live_service(hooks_file=path)
    assert requests.get(base + "/cds-services").json() == {"services": []}
