"""The service's only state: issued cards, feedback on them, seen JWT ids and the audit trail.

SQLAlchemy 2: a SQLite file by default (WAL, busy timeout, full sync: feedback is committed before we
answer), PostgreSQL through `CDS_DATABASE_URL` when several hosts share it. The schema is managed by Alembic
(`cds_service/migrations`): `Store(url)` applies pending migrations, `Store(url, migrate=False)` refuses a schema
that is behind (`kmt2a-cds db upgrade` brings it up). Nothing here holds tokens or patient identifiers.
Retention (`purge`) deletes audit rows and issued cards past their age and seen `jti` values past expiry.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    String,
    create_engine,
    delete,
    event,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger("kmt2a_cds.store")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SafeString(TypeDecorator):
    """A string column that stores a NUL character as U+FFFD, on every database alike: PostgreSQL refuses NUL
    in text, SQLite keeps it, and a caller's id (a hookInstance, a card uuid, a path segment) may carry one."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


class Base(DeclarativeBase):
    pass


class IssuedCard(Base):
    __tablename__ = "issued_card"
    uuid: Mapped[str] = mapped_column(SafeString(64), primary_key=True)
    hook_instance: Mapped[str] = mapped_column(SafeString(128), index=True)
    service_id: Mapped[str] = mapped_column(SafeString(64))
    knowledge_version: Mapped[str] = mapped_column(SafeString(32))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # What the card was (cds_service.cards.facts), so feedback can be read per kind and knowledge version.
    kind: Mapped[str | None] = mapped_column(String(64))
    indicator: Mapped[str | None] = mapped_column(String(16))
    rule_ids: Mapped[list | None] = mapped_column(JSON)
    suggestions: Mapped[list | None] = mapped_column(JSON)  # [{"uuid", "label"}] offered on the card


class Feedback(Base):
    """One feedback item. `dedup_key` makes a re-sent item a no-op (hash of card uuid, outcome,
    outcomeTimestamp and the accepted suggestion ids). `known_card` is False when we never issued the
    card (accepted, but flagged for review)."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(SafeString(64), unique=True)
    card_uuid: Mapped[str] = mapped_column(SafeString(64), index=True)
    service_id: Mapped[str] = mapped_column(SafeString(64))
    hook_instance: Mapped[str | None] = mapped_column(SafeString(128))
    knowledge_version: Mapped[str | None] = mapped_column(SafeString(32))
    card_kind: Mapped[str | None] = mapped_column(String(64))  # copied: the report outlives the issued-card rows
    known_card: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(SafeString(16))
    outcome_timestamp: Mapped[str] = mapped_column(SafeString(40))
    accepted_suggestions: Mapped[list] = mapped_column(JSON, default=list)
    override_reason: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SeenJti(Base):
    """JWT ids already used, kept until the token expires: replay is refused by every worker and host."""

    __tablename__ = "seen_jti"
    issuer: Mapped[str] = mapped_column(SafeString(255), primary_key=True)
    jti: Mapped[str] = mapped_column(SafeString(255), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)


class AuditEvent(Base):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(SafeString(16))
    service_id: Mapped[str | None] = mapped_column(SafeString(64))
    hook_instance: Mapped[str | None] = mapped_column(SafeString(128))
    issuer: Mapped[str | None] = mapped_column(SafeString(255))
    outcome: Mapped[str] = mapped_column(SafeString(32))
    status: Mapped[int] = mapped_column(Integer)
    duration_ms: Mapped[float] = mapped_column(Float)
    card_uuids: Mapped[list] = mapped_column(JSON, default=list)


class CachedResult(Base):
    """A computed result shared by every worker and host, keyed on a digest of what it was computed from
    (today: the order checks, so that order-sign reuses order-select's work wherever it lands). No patient
    identifier: the key is a SHA-256 digest and the value holds the checks' own texts."""

    __tablename__ = "order_check_cache"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[float] = mapped_column(Float, index=True)  # time.time()
    hits: Mapped[int] = mapped_column(Integer, default=0)


@dataclass(frozen=True)
class FeedbackResult:
    stored: int
    duplicates: int
    unknown_cards: int


@dataclass(frozen=True)
class Purged:
    audit_events: int
    issued_cards: int
    seen_jti: int


class Store:
    def __init__(self, database_url: str, migrate: bool = True):
        self.engine = make_engine(database_url)
        try:
            _prepare_schema(self.engine, migrate)
        except (OperationalError, ProgrammingError, IntegrityError):
            # Workers (or hosts) starting together race to make the schema (PostgreSQL serializes the migration
            # with an advisory lock, SQLite does not): the loser finds it made.
            _prepare_schema(self.engine, migrate)
        # gunicorn --preload forks after this: leave no pooled connection for the children to share.
        self.engine.dispose()
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # While the store is unreachable, JWT ids are remembered here (this process only), so a replay is still
        # refused by the worker that saw the token; expired entries are dropped on the next store outage.
        self._outage_jti: dict[tuple[str, str], float] = {}
        self._outage_lock = threading.Lock()
        # Bookkeeping (issued cards, audit rows, the shared cache) is committed without waiting for the disk:
        # it survives a crash of the process, not a power cut, and costs no fsync on the path of an answer.
        # Feedback and replay protection stay on the fully durable engine.
        self.bookkeeping_engine = make_engine(database_url, durable=False)
        self.bookkeeping = sessionmaker(self.bookkeeping_engine, expire_on_commit=False)
        # A call's bookkeeping goes through SQLAlchemy Core, its statements built once: the ORM's unit of work
        # (identity map, flush, a RETURNING of the audit row's id) cost ~3/4 of its time and nothing reads it.
        self._add_issued = (_dialect_insert(self.engine.dialect.name)(IssuedCard.__table__)
                            .on_conflict_do_nothing(index_elements=["uuid"]))
        self._add_audit = AuditEvent.__table__.insert()

    def connect(self) -> None:
        """Open a connection of each pool now (a forked worker cannot inherit them), so a worker's first call
        does not pay for connecting and setting up SQLite (gunicorn.conf.py calls this after the fork)."""
        self.ping()
        with self.bookkeeping() as session:
            session.execute(text("SELECT 1"))

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def record_feedback(self, service_id: str, items: Iterable[dict]) -> FeedbackResult:
        """Store feedback items linked to the issued cards; committed before returning."""
        stored = duplicates = unknown = 0
        with self.sessions.begin() as session:
            for item in items:
                issued = session.get(IssuedCard, item["card"])
                unknown += issued is None
                row = _feedback_row(service_id, item, issued)
                if self._insert_once(session, Feedback, row, ["dedup_key"]):
                    stored += 1
                else:
                    duplicates += 1
        return FeedbackResult(stored, duplicates, unknown)

    def _insert_once(self, session: Session, table: type[Base], values: dict, keys: list[str]) -> bool:
        """INSERT that is a no-op on a duplicate key (atomic across workers); True if a row was added."""
        insert = _dialect_insert(self.engine.dialect.name)
        statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=keys)
        if self.engine.dialect.name == "postgresql":
            # psycopg 3 reports rowcount -1 here (every jti looked replayed): a returned key means "added".
            returning = statement.returning(*(getattr(table, key) for key in keys))
            return session.execute(returning).first() is not None
        return session.execute(statement).rowcount == 1

    def remember_jti(self, issuer: str, jti: str, expires_at: float) -> bool:
        """Record a JWT id; False if it was seen before (a replay). When the store is unreachable the id is
        remembered in this process instead (and the outage logged): the call is still served."""
        try:
            with self.sessions.begin() as session:
                values = {"issuer": issuer, "jti": jti, "expires_at": expires_at}
                return self._insert_once(session, SeenJti, values, ["issuer", "jti"])
        except SQLAlchemyError as error:
            log.error("store unavailable (%s): JWT id remembered by this process only", type(error).__name__)
            _count_store_error("remember_jti")
            with self._outage_lock:
                now = time.time()
                self._outage_jti = {k: exp for k, exp in self._outage_jti.items() if exp >= now}
                if (issuer, jti) in self._outage_jti:
                    return False
                self._outage_jti[(issuer, jti)] = expires_at
                return True

    def purge_expired_jti(self, now: float) -> int:
        with self.sessions.begin() as session:
            return session.execute(delete(SeenJti).where(SeenJti.expires_at < now)).rowcount or 0

    def purge(self, audit_days: int | None, issued_card_days: int | None, now: datetime | None = None) -> Purged:
        """Delete audit rows and issued cards older than their retention (None or 0: kept), and JWT ids past
        their expiry. Feedback rows are kept: they carry the card's kind and knowledge version themselves."""
        now = now or utcnow()
        counts = {"audit_events": 0, "issued_cards": 0}
        with self.sessions.begin() as session:
            for name, table, column, days in (("audit_events", AuditEvent, AuditEvent.at, audit_days),
                                              ("issued_cards", IssuedCard, IssuedCard.issued_at, issued_card_days)):
                if days:
                    result = session.execute(delete(table).where(column < now - timedelta(days=days)))
                    counts[name] = result.rowcount or 0
        return Purged(seen_jti=self.purge_expired_jti(now.timestamp()), **counts)

    def record_call(self, audit: dict | None, issued: tuple[Iterable[dict], str, str, str] | None = None) -> None:
        """A call's bookkeeping in ONE transaction, once its answer is computed: the cards issued
        (cards, hookInstance, service id, knowledge version) and its audit row."""
        rows = _issued_rows(*issued) if issued is not None else []
        with self.bookkeeping_engine.begin() as connection:
            if rows:  # one executemany; a uuid issued before is a no-op
                connection.execute(self._add_issued, rows)
            if audit is not None:
                connection.execute(self._add_audit, {"at": utcnow(), **audit})

    def cached(self, key: str, newer_than: float) -> bytes | None:
        """The value stored under `key` since `newer_than` (time.time()), counting the hit; else None."""
        with self.bookkeeping.begin() as session:
            row = session.get(CachedResult, key)
            if row is None or row.created_at < newer_than:
                return None
            session.execute(update(CachedResult).where(CachedResult.key == key)
                            .values(hits=CachedResult.hits + 1))
            return row.value

    def cache(self, key: str, value: bytes, now: float, expire_before: float) -> None:
        """Store `value` under `key` (a concurrent writer of the same key wins harmlessly: same content),
        and drop the entries older than `expire_before`."""
        with self.bookkeeping.begin() as session:
            session.execute(delete(CachedResult).where(CachedResult.created_at < expire_before))
            self._insert_once(session, CachedResult, {"key": key, "value": value, "created_at": now, "hits": 0},
                              ["key"])

    def feedback_rows(self) -> list[Feedback]:
        with self.sessions() as session:
            return list(session.scalars(select(Feedback).order_by(Feedback.id)))


def _issued_rows(cards: Iterable[dict], hook_instance: str, service_id: str, knowledge_version: str) -> list[dict]:
    """One issued_card row per card, with what the card was (cds_service.cards.facts)."""
    from cds_service.cards.facts import card_facts

    now = utcnow()
    return [{"uuid": f.uuid, "hook_instance": hook_instance, "service_id": service_id,
             "knowledge_version": knowledge_version, "issued_at": now, "kind": f.kind, "indicator": f.indicator,
             "rule_ids": list(f.rule_ids), "suggestions": list(f.suggestions)} for f in card_facts(cards)]


def _prepare_schema(engine: Engine, migrate: bool) -> None:
    from cds_service import migrations  # alembic loads only with the store

    if migrate:
        migrations.upgrade(engine)
    else:
        migrations.require_current(engine)


def _count_store_error(operation: str) -> None:
    from cds_service import metrics

    metrics.STORE_ERRORS.labels(operation).inc()


def _dialect_insert(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _feedback_row(service_id: str, item: dict, issued: IssuedCard | None) -> dict:
    accepted = sorted(s["id"] for s in item.get("acceptedSuggestions") or [])
    key = "\x1f".join([item["card"], item["outcome"], item["outcomeTimestamp"], *accepted])
    return dict(
        dedup_key=hashlib.sha256(key.encode()).hexdigest(),
        card_uuid=item["card"],
        service_id=service_id,
        hook_instance=issued.hook_instance if issued else None,
        knowledge_version=issued.knowledge_version if issued else None,
        card_kind=issued.kind if issued else None,
        known_card=issued is not None and issued.service_id == service_id,
        outcome=item["outcome"],
        outcome_timestamp=item["outcomeTimestamp"],
        accepted_suggestions=accepted,
        override_reason=item.get("overrideReason"),
        received_at=utcnow(),
    )


def unreachable_reason(error: SQLAlchemyError) -> str:
    """Why the database could not be used, in one line: the driver's first line says which (host, credentials)."""
    lines = str(getattr(error, "orig", error)).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:300]}" if lines else type(error).__name__


def engine_url(database_url: str) -> str:
    """A plain postgresql:// URL uses psycopg (3), the driver of the 'postgresql' extra: SQLAlchemy 2.0 and
    2.1 would pick different drivers for it (psycopg2, psycopg)."""
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return database_url


def make_engine(database_url: str, durable: bool = True) -> Engine:
    """durable=False: commits do not wait for the disk (SQLite synchronous=NORMAL in WAL mode, PostgreSQL
    synchronous_commit=off): safe against a crash of the process, not of the machine."""
    if not database_url.startswith("sqlite"):
        options = {} if durable else {"connect_args": {"options": "-c synchronous_commit=off"}}
        return create_engine(engine_url(database_url), pool_pre_ping=True, hide_parameters=True, **options)
    # hide_parameters: an error log must not print the values of a statement (ids, feedback comments).
    engine = create_engine(database_url, connect_args={"timeout": 10}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer; several workers share it
        # durable: a committed feedback row survives a crash, even of the machine
        cursor.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    return engine
