"""The store's schema history (Alembic). The service applies it at start (`CDS_DB_AUTO_MIGRATE`, on by default in
development) or `kmt2a-cds db upgrade` does it explicitly; both call `upgrade(engine)`.

A database made before migrations existed (tables created by the service, no `alembic_version`) is adopted: it is
stamped with the first revision, which is exactly that schema, and brought up from there. On PostgreSQL an advisory
lock makes hosts that start together migrate one after the other, a lock file does it for SQLite.

New revision: change the models in `cds_service/web/store.py` (or `cds_service/smart/sessions.py`), then
`alembic -c cds_service/migrations/alembic.ini revision --autogenerate -m "..."` against a database at head, and
read what it wrote (tests/store/test_migrations.py fails while the models and the head differ).
"""

from __future__ import annotations

import fcntl
import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger("kmt2a_cds.migrations")
HERE = Path(__file__).resolve().parent
BASELINE = "0001"  # the schema the service created before it had migrations
ADVISORY_LOCK = 0x6B6D7432  # "kmt2": one migration at a time per PostgreSQL database


class SchemaError(Exception):
    """The database schema is not the one this version needs; the message says what to do."""


def target_metadata() -> list:
    """Every table the service keeps in its database: the store's and the case summary app's sessions."""
    from cds_service.smart.sessions import _Base as SmartSessionBase
    from cds_service.web.store import Base

    return [Base.metadata, SmartSessionBase.metadata]


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(connection: Connection) -> str | None:
    """The database's revision; BASELINE for a pre-migrations database, None for an empty one."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None and inspect(connection).has_table("issued_card"):
        return BASELINE
    return revision


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Apply pending migrations; returns (revision before, revision after). One process at a time: PostgreSQL
    takes an advisory lock, SQLite a lock file beside the database (gunicorn workers started without --preload
    each build the app, and would otherwise race to stamp and create)."""
    with engine.connect() as connection:
        found = current(connection)
    if revision == "head" and found == head():
        return found, found  # the common case (a worker respawned): no lock, no alembic run
    with _sqlite_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        before = current(connection)
        config = alembic_config(connection)
        if before == BASELINE and MigrationContext.configure(connection).get_current_revision() is None:
            command.stamp(config, BASELINE)
        command.upgrade(config, revision)
        after = MigrationContext.configure(connection).get_current_revision()
    if after != before:
        log.info("database schema upgraded: %s -> %s", before or "empty", after, extra={"event": "migrate"})
    return before, after


@contextmanager
def _sqlite_lock(engine: Engine) -> Iterator[None]:
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migration-lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def require_current(engine: Engine) -> None:
    with engine.connect() as connection:
        found, wanted = current(connection), head()
    if found != wanted:
        raise SchemaError(
            f"the database schema is at revision {found or 'none (empty database)'} and this version needs {wanted}: "
            "run `kmt2a-cds db upgrade`, or set CDS_DB_AUTO_MIGRATE=1 to apply it at start")
