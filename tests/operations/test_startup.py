"""Start-up: one summary line, and a bad configuration refused with one readable line (exit 3, no traceback),
as an operator sees it when the app is built from the environment (gunicorn, `make serve`)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from cds_service import knowledge
from cds_service.web.app import create_app
from cds_service.web.config import Config, ConfigError

BUILD_FROM_ENVIRONMENT = "from cds_service.web.app import create_app; create_app()"
WITHOUT_PSYCOPG = "import sys; sys.modules['psycopg'] = None; " + BUILD_FROM_ENVIRONMENT


def refusal(tmp_path, env: dict[str, str], code: str = BUILD_FROM_ENVIRONMENT) -> str:
    """Build the app from `env` in a fresh interpreter; returns the one line it printed."""
    env = {"CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'kmt2a-cds.db'}", "CDS_PUBLIC_BASE_URL": "https://cds.example.org",
           "PATH": "/usr/bin:/bin", **env}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    record = json.loads(line)
    assert record["level"] == "CRITICAL" and record["message"].startswith("refusing to start: ")
    return record["message"]


def write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_summary_line(live_service, caplog):
    with caplog.at_level(logging.INFO, logger="kmt2a_cds"):
        base = live_service(cors_origins=("https://ehr.example.org",))
    dialect = base.config.database_url.split(":")[0]  # sqlite, or postgresql in .ci/run's second pass
    (record,) = [r for r in caplog.records if r.name == "kmt2a_cds.startup"]
    assert (record.profile, record.trusted_issuers, record.database) == ("development", 2, dialect)
    assert record.cors_origins == "https://ehr.example.org" and record.knowledge_version == knowledge.version()
    assert f"2 trusted issuer(s), database {dialect}, CORS origins https://ehr.example.org" in record.getMessage()


@pytest.mark.parametrize("content, expected", [
    ("{not json", "is not JSON"),
    ('{"issuers": [{"jwks": {"keys": []}}]}', "is not a trusted-issuers file"),
    ('["https://ehr.example.org"]', "is not a trusted-issuers file"),
])
def test_malformed_trusted_issuers_file(tmp_path, content, expected):
    message = refusal(tmp_path, {"CDS_TRUSTED_ISSUERS": write(tmp_path / "trusted.json", content)})
    assert "CDS_TRUSTED_ISSUERS" in message and expected in message


def test_missing_trusted_issuers_file(tmp_path):
    assert "cannot read" in refusal(tmp_path, {"CDS_TRUSTED_ISSUERS": str(tmp_path / "absent.json")})


def test_production_without_a_trusted_issuer(tmp_path):
    assert "production profile with no trusted issuer" in refusal(tmp_path, {"CDS_PROFILE": "production"})
    empty = write(tmp_path / "empty.json", '{"issuers": []}')
    assert "no trusted issuer" in refusal(tmp_path, {"CDS_PROFILE": "production", "CDS_TRUSTED_ISSUERS": empty})


def test_production_without_its_public_base_url(tmp_path, test_issuer):
    trusted = str(test_issuer.write_trusted_issuers(tmp_path / "trusted.json"))
    message = refusal(tmp_path, {"CDS_PROFILE": "production", "CDS_TRUSTED_ISSUERS": trusted, "CDS_PUBLIC_BASE_URL": ""})
    assert "CDS_PUBLIC_BASE_URL is required" in message


def test_plain_http_jku_in_production(tmp_path):
    trusted = write(tmp_path / "trusted.json", json.dumps(
        {"issuers": [{"iss": "https://ehr.example.org", "jku": ["http://ehr.example.org/jwks.json"]}]}))
    message = refusal(tmp_path, {"CDS_PROFILE": "production", "CDS_TRUSTED_ISSUERS": trusted})
    assert "not https" in message and "http://ehr.example.org/jwks.json" in message


def test_postgresql_url_without_its_driver(tmp_path):
    message = refusal(tmp_path, {"CDS_DATABASE_URL": "postgresql://cds@db.example.org/kmt2a"}, WITHOUT_PSYCOPG)
    assert "driver is not installed" in message and "kmt2a-cds[postgresql]" in message


def test_production_schema_behind_without_auto_migrate(tmp_path, test_issuer):
    trusted = str(test_issuer.write_trusted_issuers(tmp_path / "trusted.json"))
    message = refusal(tmp_path, {"CDS_PROFILE": "production", "CDS_TRUSTED_ISSUERS": trusted})
    assert "kmt2a-cds db upgrade" in message


@pytest.mark.parametrize("name, value", [("PORT", "eighty"), ("CDS_RETENTION_AUDIT_DAYS", "-1"),
                                         ("CDS_DB_AUTO_MIGRATE", "maybe"), ("CDS_PROFILE", "prod"),
                                         ("CDS_SMART_SESSION_MINUTES", "half an hour")])
def test_malformed_settings_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({name: value})


def test_an_explicit_config_raises_instead_of_exiting(tmp_path):
    with pytest.raises(ConfigError, match="no trusted issuer"):
        create_app(Config(profile="production", public_base_url="https://cds.example.org",
                          database_url=f"sqlite:///{tmp_path / 'x.db'}"))


def test_unreachable_database(tmp_path):
    message = refusal(tmp_path, {"CDS_DATABASE_URL": "postgresql://cds:secret-pw@127.0.0.1:1/kmt2a"})
    assert "the database cannot be reached" in message and "secret-pw" not in message
