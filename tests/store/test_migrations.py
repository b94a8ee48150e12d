"""Schema migrations: up from an empty database and from the schema the service created before migrations
existed, on SQLite and PostgreSQL; the models and the migration head must never differ."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, Integer, LargeBinary, MetaData, String, Table, inspect,
                        select)

from cds_service import cli, migrations
from cds_service.migrations import SchemaError
from cds_service.web.store import Feedback, IssuedCard, Store, make_engine
from tests.support.databases import DIALECTS, empty_database

# The tables as the service created them (metadata.create_all) before it had migrations, frozen here.
LEGACY = MetaData()
Table("issued_card", LEGACY, Column("uuid", String(64), primary_key=True),
      Column("hook_instance", String(128), nullable=False, index=True), Column("service_id", String(64), nullable=False),
      Column("knowledge_version", String(32), nullable=False), Column("issued_at", DateTime(timezone=True), nullable=False))
Table("feedback", LEGACY, Column("id", Integer, primary_key=True, autoincrement=True),
      Column("dedup_key", String(64), nullable=False, unique=True),
      Column("card_uuid", String(64), nullable=False, index=True), Column("service_id", String(64), nullable=False),
      Column("hook_instance", String(128)), Column("knowledge_version", String(32)),
      Column("known_card", Boolean, nullable=False), Column("outcome", String(16), nullable=False),
      Column("outcome_timestamp", String(40), nullable=False), Column("accepted_suggestions", JSON, nullable=False),
      Column("override_reason", JSON), Column("received_at", DateTime(timezone=True), nullable=False))
Table("seen_jti", LEGACY, Column("issuer", String(255), primary_key=True), Column("jti", String(255), primary_key=True),
      Column("expires_at", Float, nullable=False, index=True))
Table("audit_event", LEGACY, Column("id", Integer, primary_key=True, autoincrement=True),
      Column("at", DateTime(timezone=True), nullable=False), Column("kind", String(16), nullable=False),
      Column("service_id", String(64)), Column("hook_instance", String(128)), Column("issuer", String(255)),
      Column("outcome", String(32), nullable=False), Column("status", Integer, nullable=False),
      Column("duration_ms", Float, nullable=False), Column("card_uuids", JSON, nullable=False))
Table("smart_session", LEGACY, Column("id_hash", String(64), primary_key=True),  # made by the case summary app
      Column("expires_at", Float, nullable=False, index=True), Column("sealed", LargeBinary, nullable=False))
Table("order_check_cache", LEGACY, Column("key", String(64), primary_key=True),  # made by the service since issue 13
      Column("value", LargeBinary, nullable=False), Column("created_at", Float, nullable=False, index=True),
      Column("hits", Integer, nullable=False))
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)


def differences(url: str) -> list:
    """What alembic's autogenerate would still change: empty when the database matches the models."""
    with make_engine(url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, migrations.target_metadata())


@pytest.mark.parametrize("dialect", DIALECTS)
def test_upgrade_from_empty_matches_the_models(dialect, tmp_path):
    with empty_database(dialect, tmp_path) as url:
        assert cli.main(["db", "upgrade", "--database-url", url]) == 0
        assert differences(url) == []  # the head and the models agree: a model change needs a migration
        with make_engine(url).connect() as connection:
            assert migrations.current(connection) == migrations.head()
        assert cli.main(["db", "current", "--database-url", url]) == 0


@pytest.mark.parametrize("dialect", DIALECTS)
def test_upgrade_adopts_the_schema_made_before_migrations_and_keeps_its_rows(dialect, tmp_path):
    with empty_database(dialect, tmp_path) as url:
        engine = make_engine(url)
        LEGACY.create_all(engine)
        with engine.begin() as connection:
            connection.execute(LEGACY.tables["issued_card"].insert().values(
                uuid="card-1", hook_instance="hi-1", service_id="kmt2a-patient-view", knowledge_version="2026.11.1",
                issued_at=NOW))
            connection.execute(LEGACY.tables["feedback"].insert().values(
                dedup_key="k1", card_uuid="card-1", service_id="kmt2a-patient-view", hook_instance="hi-1",
                knowledge_version="2026.11.1", known_card=True, outcome="accepted", outcome_timestamp="2026-11-20T08:01Z",
                accepted_suggestions=[], received_at=NOW))
        engine.dispose()
        with pytest.raises(SchemaError, match="kmt2a-cds db upgrade"):  # production: no silent migration
            Store(url, migrate=False)
        assert cli.main(["db", "current", "--database-url", url]) == 1
        store = Store(url)  # development default: migrate at start
        assert differences(url) == []
        with store.sessions() as session:
            card = session.get(IssuedCard, "card-1")
            assert (card.hook_instance, card.kind, card.rule_ids) == ("hi-1", None, None)
            assert [f.outcome for f in session.scalars(select(Feedback))] == ["accepted"]
        assert "card_kind" in {c["name"] for c in inspect(store.engine).get_columns("feedback")}
        Store(url, migrate=False)  # now current: accepted


@pytest.mark.parametrize("dialect", DIALECTS)
def test_downgrade_to_the_baseline_and_up_again(dialect, tmp_path):
    with empty_database(dialect, tmp_path) as url:
        engine = make_engine(url)
        migrations.upgrade(engine)
        from alembic import command

        with engine.begin() as connection:
            command.downgrade(migrations.alembic_config(connection), migrations.BASELINE)
        with engine.connect() as connection:
            assert migrations.current(connection) == migrations.BASELINE
        assert migrations.upgrade(engine) == (migrations.BASELINE, migrations.head())
        assert differences(url) == []


def test_a_model_change_without_its_migration_is_noticed(tmp_path):
    # The check above can fail: a table or column the migrations lack shows up as a difference.
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    migrations.upgrade(make_engine(url))
    changed = MetaData()
    for metadata in migrations.target_metadata():
        for table in metadata.sorted_tables:
            table.to_metadata(changed)
    changed.tables["issued_card"].append_column(Column("added_without_migration", String(10)))
    Table("not_migrated", changed, Column("id", Integer, primary_key=True))
    with make_engine(url).connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), changed)
    assert {op[0] for op in drift} == {"add_table", "add_column"}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_processes_starting_together_migrate_once(dialect, tmp_path):
    # gunicorn without --preload: every worker builds the app and migrates at the same moment.
    import subprocess
    import sys

    with empty_database(dialect, tmp_path) as url:
        code = f"from cds_service.web.store import Store; Store({url!r})"
        starts = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(4)]
        for process in starts:
            assert process.wait(timeout=120) == 0, process.stderr.read()
        assert differences(url) == []
        with make_engine(url).connect() as connection:
            assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all() == [
                migrations.head()]
