"""Fixtures shared by every test area (helpers live in tests/support, see its docstring)."""

from __future__ import annotations

import pytest

from tests.support.live import LiveService, test_config
from tests.support.tokens import TestIssuer


@pytest.fixture(scope="module")
def service_dir(tmp_path_factory):
    """One directory (SQLite file, trusted-issuers file) per test module."""
    return tmp_path_factory.mktemp("service")


@pytest.fixture(scope="session")
def test_issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture
def live_service(service_dir, test_issuer):
    """Factory: `live_service(handlers=None, **config_overrides)` starts the real app on loopback and
    returns a LiveService (a str: its base URL). All are stopped after the test."""
    started: list[LiveService] = []

    def start(handlers=None, **overrides) -> LiveService:
        live = LiveService(test_config(service_dir, test_issuer, **overrides), handlers)
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()
