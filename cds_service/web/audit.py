"""The audit trail: one JSON line per call on the `kmt2a_cds.audit` logger (and a row in the store), in the one
JSON log format of the service (`json_formatter`): timestamp, level, logger, message "cds-call", then the fields.

A record holds what an auditor needs to follow a call (hookInstance, service id, issuer, jti, outcome,
status, duration, card uuids) and nothing that identifies a patient or could be replayed: no tokens, no
patient ids, no request bodies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("kmt2a_cds.audit")


@dataclass
class AuditRecord:
    kind: str  # "hook", "feedback" or "discovery"
    service_id: str | None = None
    hook_instance: str | None = None
    issuer: str | None = None  # None: served unauthenticated (development profile only)
    jti: str | None = None
    outcome: str = "error"  # ok | partial | unauthenticated-ok | refused | error ...
    status: int = 500
    duration_ms: float = 0.0
    card_uuids: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)  # prefetch keys we could not get

    def fields(self) -> dict:
        # vars, not dataclasses.asdict: its deep copy of the lists cost 10 us a call, and the line is written now
        return {"event": "cds-call", **{k: v for k, v in vars(self).items() if v not in (None, [])}}


def emit(record: AuditRecord) -> None:
    log.info("cds-call", extra=record.fields())


def json_formatter() -> logging.Formatter:
    """The service's one log format: a JSON object per line; extra fields given to a log call are merged in."""
    return JsonFormatter("{levelname}{name}{message}", style="{", timestamp=True,
                         rename_fields={"levelname": "level", "name": "logger"})
