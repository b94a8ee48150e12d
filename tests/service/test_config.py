"""Configuration from the environment (the contract's variables) and the health check's failure path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from cds_service.web.config import Config, ConfigError, development_trusted_issuers


def test_defaults_match_the_contract():
    config = Config.from_env({})
    assert (config.profile, config.port, config.public_base_url, config.cors_origins) == ("development", 8080, None, ())
    assert config.database_url.startswith("sqlite:///") and config.max_body_bytes == 5 * 1024 * 1024
    assert config.prefetch_deadline_s == 2.0 and config.reference_date is None
    assert config.trusted_issuers_file() == development_trusted_issuers()


def test_environment_is_read():
    config = Config.from_env({
        "PORT": "9000", "CDS_PROFILE": "production", "CDS_TRUSTED_ISSUERS": "/etc/kmt2a/trusted.json",
        "CDS_PUBLIC_BASE_URL": "https://cds.example.org/", "CDS_DATABASE_URL": "postgresql://db/kmt2a",
        "CDS_CORS_ORIGINS": "https://sandbox.cds-hooks.org/, https://ehr.example.org",
    })
    assert config.port == 9000 and config.production
    assert config.trusted_issuers_file() == Path("/etc/kmt2a/trusted.json")
    assert config.public_base_url == "https://cds.example.org"
    assert config.database_url == "postgresql://db/kmt2a"
    assert config.cors_origins == ("https://sandbox.cds-hooks.org", "https://ehr.example.org")


def test_unknown_profile_is_refused():
    with pytest.raises(ConfigError, match="CDS_PROFILE"):
        Config.from_env({"CDS_PROFILE": "prod"})


def test_readiness_probe_reports_a_broken_store(live_service, tmp_path):
    directory = tmp_path / "db"
    directory.mkdir()
    base = live_service(database_url=f"sqlite:///{directory / 'kmt2a-cds.db'}")
    shutil.rmtree(directory)  # the store can no longer be opened
    response = requests.get(base + "/readyz")
    assert response.status_code == 503
    assert requests.get(base + "/healthz").status_code == 200  # alive: restarting would not bring the store back
    assert response.json()["resourceType"] == "OperationOutcome"
