"""Retention: a background purge in every serving process, every `purge_interval_s` (CDS_PURGE_INTERVAL_S).

It deletes audit rows and issued cards older than their retention (CDS_RETENTION_AUDIT_DAYS,
CDS_RETENTION_CARDS_DAYS; 0 keeps them) and seen JWT ids whose token has expired. The thread starts on the
first request a process serves (gunicorn forks after the app is built, and threads do not survive a fork); the
deletes are idempotent, so workers and hosts purging the same store at once is harmless.
`kmt2a-cds db purge` runs the same purge once, for a cron job.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from cds_service import metrics
from cds_service.web.config import Config
from cds_service.web.store import Purged, Store

log = logging.getLogger("kmt2a_cds.retention")


def purge_once(store: Store, config: Config) -> Purged:
    purged = store.purge(config.audit_retention_days, config.issued_card_retention_days)
    if purged.audit_events or purged.issued_cards or purged.seen_jti:
        log.info("retention purge: %d audit rows, %d issued cards, %d seen JWT ids", purged.audit_events,
                 purged.issued_cards, purged.seen_jti, extra={"event": "purge"})
    return purged


class PeriodicPurge:
    def __init__(self, store: Store, config: Config):
        self.store, self.config = store, config
        self._pid: int | None = None
        self._lock = threading.Lock()

    def ensure_running(self) -> None:
        """Start this process's purge thread if it has none (cheap: one comparison after the first call)."""
        if self._pid == os.getpid() or self.config.purge_interval_s <= 0:
            return
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._loop, name="retention-purge", daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                purge_once(self.store, self.config)
            except Exception as error:  # noqa: BLE001 - an unreachable store is retried next round
                log.error("retention purge failed (%s); retried in %g s", type(error).__name__,
                          self.config.purge_interval_s)
                metrics.STORE_ERRORS.labels("purge").inc()
            time.sleep(self.config.purge_interval_s)
