"""Server-side sessions of the case summary app: the access token never leaves the server.

The browser holds only a random session id (an HttpOnly cookie). The database row is keyed by the id's SHA-256
(a database reader cannot use a row to hijack a session) and holds the session encrypted with AES-GCM under a key
made when the app starts: gunicorn --preload forks after that, so every worker shares the key, and a restart
ends every session. A row holds the FHIR server, the token and the patient id until the session ends (logout,
expiry or the token's own expiry); expired rows are deleted on every launch. No patient data is ever stored:
the page reads the chart afresh each time it is shown.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import asdict, dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Float, LargeBinary, String, delete
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


class _Base(DeclarativeBase):
    pass


class _SessionRow(_Base):
    __tablename__ = "smart_session"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


@dataclass
class AppSession:
    """One browser's app session: pending (launch -> callback) or authorized (token received)."""

    iss: str
    state: str | None = None  # pending: the state we sent, compared at the callback
    code_verifier: str | None = None  # pending: the PKCE verifier, sent with the code
    token_endpoint: str | None = None
    redirect_url: str | None = None
    access_token: str | None = None  # authorized
    patient: str | None = None  # authorized: the patient of the launch context
    need_patient_banner: bool = True

    @property
    def authorized(self) -> bool:
        return bool(self.access_token and self.patient)

    def __repr__(self) -> str:  # a session must never print its token or patient, even in a traceback
        return f"AppSession(iss={self.iss!r}, authorized={self.authorized})"


class SessionStore:
    def __init__(self, engine: Engine):
        """`engine`: the Store's, whose schema (migration 0003 made smart_session) is current by now."""
        self._sessions = sessionmaker(engine)
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))

    def create(self, session: AppSession, lifetime_s: float) -> str:
        """Store `session`; returns the new id for the cookie (random, 256 bits)."""
        session_id = secrets.token_urlsafe(32)
        self.save(session_id, session, lifetime_s)
        return session_id

    def save(self, session_id: str, session: AppSession, lifetime_s: float) -> None:
        key = _hash(session_id)
        nonce = os.urandom(12)
        sealed = nonce + self._aead.encrypt(nonce, json.dumps(asdict(session)).encode(), key.encode())
        with self._sessions.begin() as db:
            db.merge(_SessionRow(id_hash=key, expires_at=time.time() + lifetime_s, sealed=sealed))

    def load(self, session_id: str | None) -> AppSession | None:
        """The live session of this id, or None (unknown, expired, or sealed under another start's key)."""
        if not session_id or len(session_id) > 128:
            return None
        with self._sessions() as db:
            row = db.get(_SessionRow, _hash(session_id))
            if row is None or row.expires_at < time.time():
                return None
            sealed = row.sealed
        try:
            data = json.loads(self._aead.decrypt(sealed[:12], sealed[12:], _hash(session_id).encode()))
        except (InvalidTag, ValueError):
            return None
        return AppSession(**data)

    def end(self, session_id: str | None) -> None:
        if session_id:
            with self._sessions.begin() as db:
                db.execute(delete(_SessionRow).where(_SessionRow.id_hash == _hash(session_id)))

    def purge_expired(self) -> None:
        with self._sessions.begin() as db:
            db.execute(delete(_SessionRow).where(_SessionRow.expires_at < time.time()))


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
