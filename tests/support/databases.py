"""Empty databases for store tests: a SQLite file, and a fresh PostgreSQL database when KMT2A_TEST_DATABASE_URL
names a server (.ci/run starts one and runs tests/store, tests/service and tests/operations again with it).

    @pytest.mark.parametrize("dialect", DIALECTS)
    def test_x(dialect, tmp_path):
        with empty_database(dialect, tmp_path) as url: ...
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cds_service.web.store import engine_url


def postgres_server() -> str | None:
    url = os.environ.get("KMT2A_TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


DIALECTS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    postgres_server() is None, reason="no PostgreSQL server (KMT2A_TEST_DATABASE_URL); .ci/run provides one"))]


@contextmanager
def empty_database(dialect: str, directory: Path) -> Iterator[str]:
    if dialect == "sqlite":
        yield f"sqlite:///{directory / f'{uuid.uuid4().hex[:8]}.db'}"
        return
    server = make_url(engine_url(postgres_server()))
    name = f"kmt2a_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
