"""Retention: audit rows and issued cards past their age and JWT ids past expiry are purged, by the service
periodically and by `kmt2a-cds db purge`; feedback is kept."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import func, select

from cds_service import cli
from cds_service.web.store import AuditEvent, Feedback, IssuedCard, SeenJti, Store
from tests.support.databases import DIALECTS, empty_database

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def fill(store: Store, ages_days: list[int], now: datetime = NOW) -> None:
    """One audit row and one issued card per age, JWT ids expired an hour ago and valid for an hour, and
    feedback on the oldest card."""
    with store.sessions.begin() as session:
        for age in ages_days:
            at = now - timedelta(days=age)
            session.add(AuditEvent(at=at, kind="hook", outcome="ok", status=200, duration_ms=1.0, card_uuids=[]))
            session.add(IssuedCard(uuid=f"card-{age}", hook_instance=f"hi-{age}", service_id="kmt2a-patient-view",
                                   knowledge_version="v1", issued_at=at, kind="risk-stratification"))
    store.remember_jti("iss", "expired", now.timestamp() - 3600)
    store.remember_jti("iss", "valid", now.timestamp() + 3600)
    store.record_feedback("kmt2a-patient-view", [{"card": f"card-{max(ages_days)}", "outcome": "overridden",
                                                  "outcomeTimestamp": "2025-01-01T00:00:00Z"}])


def count(store: Store, table) -> int:
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(table))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_purge_deletes_what_is_past_retention_and_keeps_feedback(dialect, tmp_path):
    with empty_database(dialect, tmp_path) as url:
        store = Store(url)
        fill(store, [1, 45, 100, 500])
        purged = store.purge(audit_days=30, issued_card_days=90, now=NOW)
        assert (purged.audit_events, purged.issued_cards, purged.seen_jti) == (3, 2, 1)
        with store.sessions() as session:
            assert sorted(session.scalars(select(IssuedCard.uuid))) == ["card-1", "card-45"]
            assert list(session.scalars(select(SeenJti.jti))) == ["valid"]
            (kept,) = session.scalars(select(Feedback))
            assert (kept.card_uuid, kept.card_kind) == ("card-500", "risk-stratification")
        assert count(store, AuditEvent) == 1
        assert store.remember_jti("iss", "valid", NOW.timestamp() + 3600) is False  # still refused as a replay
        store.engine.dispose()


def test_zero_days_keeps_rows_for_good(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'keep.db'}")
    fill(store, [1, 5000])
    purged = store.purge(audit_days=0, issued_card_days=0, now=NOW)
    assert (purged.audit_events, purged.issued_cards) == (0, 0)
    assert count(store, AuditEvent) == 2 and count(store, IssuedCard) == 2


def test_the_service_purges_periodically(live_service, tmp_path):
    base = live_service(database_url=f"sqlite:///{tmp_path / 'periodic.db'}",
                        audit_retention_days=30, issued_card_retention_days=30, purge_interval_s=0.2)
    store = Store(base.config.database_url)
    fill(store, [365])
    assert count(store, AuditEvent) == 1
    assert requests.get(base + "/cds-services", timeout=10).status_code == 200  # the worker's first request
    deadline = time.monotonic() + 20
    while count(store, AuditEvent) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert count(store, AuditEvent) == 0 and count(store, IssuedCard) == 0


def test_db_purge_command_uses_the_retention_settings(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    fill(Store(url), [2, 20, 200], now=datetime.now(timezone.utc))
    monkeypatch.setenv("CDS_DATABASE_URL", url)
    monkeypatch.setenv("CDS_RETENTION_AUDIT_DAYS", "10")
    monkeypatch.setenv("CDS_RETENTION_CARDS_DAYS", "0")
    assert cli.main(["db", "purge"]) == 0
    assert "purged 2 audit rows, 0 issued cards, 1 seen JWT ids" in capsys.readouterr().out
