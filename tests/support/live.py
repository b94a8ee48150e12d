"""Run the real app on a loopback port in a background thread (werkzeug's threaded server).

    live = LiveService(test_config(tmp_dir, issuer, profile="production"))
    requests.get(live + "/cds-services")   # a LiveService IS its base URL (a str)
    live.restart()                         # a new app instance on the same port and the same database
    live.stop()

Set KMT2A_TEST_DATABASE_URL to run them against another store (PostgreSQL) by hand.
Most tests use the `live_service(**config_overrides)` fixture from tests/conftest.py instead, which
builds the config with `test_config` and stops every service it started.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import threading
from pathlib import Path
from typing import Callable, Mapping

from werkzeug.serving import make_server

from cds_service.web.app import create_app
from cds_service.web.config import Config, development_trusted_issuers
from tests.support.tokens import TestIssuer

logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no per-request access lines in test output


LOOPBACK_BASE_URL = "http://127.0.0.1:{port}"  # LiveService fills in the port it binds


def test_config(directory: Path, issuer: TestIssuer, **overrides) -> Config:
    """A development config on a SQLite file in `directory`, trusting `issuer` (inline JWKS) and the
    public sandbox issuer (its key shipped in the package)."""
    trusted = directory / "trusted-issuers.json"
    if not trusted.exists():
        sandbox = json.loads(development_trusted_issuers().read_text())["issuers"]
        issuer.write_trusted_issuers(trusted, extra=sandbox)
    # KMT2A_TEST_DATABASE_URL (e.g. postgresql://postgres@127.0.0.1/kmt2a_test) runs the live services on a
    # real PostgreSQL, by hand; CI has no server and uses a SQLite file per test module.
    database_url = os.environ.get("KMT2A_TEST_DATABASE_URL") or f"sqlite:///{directory / 'kmt2a-cds.db'}"
    defaults = {"database_url": database_url, "trusted_issuers": trusted, "auto_migrate": True}
    if overrides.get("profile") == "production":
        # Production checks the JWT aud against its configured base URL: the loopback URL LiveService binds.
        defaults["public_base_url"] = LOOPBACK_BASE_URL
    return Config(**(defaults | overrides))


test_config.__test__ = False  # not a pytest test


class LiveService(str):
    """The base URL of a running service ("http://127.0.0.1:<port>"), with control methods."""

    def __new__(cls, config: Config, handlers: Mapping[str, Callable] | None = None, port: int = 0):
        listener = socket.create_server(("127.0.0.1", port))
        port = listener.getsockname()[1]
        if config.public_base_url and "{port}" in config.public_base_url:
            config = dataclasses.replace(config, public_base_url=config.public_base_url.format(port=port))
        server = make_server("127.0.0.1", port, create_app(config, handlers), threaded=True, fd=listener.fileno())
        listener.close()  # the server holds its own duplicate of the socket: a restart must find the port free
        live = super().__new__(cls, f"http://127.0.0.1:{server.port}")
        live.config, live.handlers, live.port = config, handlers, server.port
        live._run(server)
        return live

    @property
    def url(self) -> str:
        return str(self)

    @property
    def app(self):
        return self._server.app

    def _run(self, server) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.app.extensions["kmt2a_cds"].store.engine.dispose()  # PostgreSQL counts its clients
            self._server = None

    def restart(self, **config_overrides) -> "LiveService":
        """Stop, then serve a NEW app instance (same port, same database unless overridden)."""
        self.stop()
        self.config = dataclasses.replace(self.config, **config_overrides)
        self._run(make_server("127.0.0.1", self.port, create_app(self.config, self.handlers), threaded=True))
        return self
