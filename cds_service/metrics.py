"""Prometheus metrics, served at GET /metrics.

Under gunicorn each worker is its own process: prometheus-client's multiprocess mode adds their counts up. It is
on when PROMETHEUS_MULTIPROC_DIR names a writable directory before this module is imported; the gunicorn
settings (`cds_service/web/gunicorn_conf.py`, used by `make serve`) make a fresh one and clean up after dead
workers. Without it (tests on werkzeug, the CLI) the counts are this process's own.

Labels hold our own names only (service ids, hooks, prefetch keys, card kinds, outcome words): never a patient,
a token or anything the caller chose freely.
"""

from __future__ import annotations

import os
import re

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import REGISTRY, multiprocess

CALLS = Counter("kmt2a_cds_calls", "CDS Hooks calls answered, by kind (hook, feedback, discovery), service and outcome",
                ["kind", "service", "outcome"])
CALL_SECONDS = Histogram("kmt2a_cds_call_duration_seconds", "Time to answer a hook call, by hook", ["hook"],
                         buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0))
PREFETCH_FETCHES = Counter("kmt2a_cds_prefetch_fetches", "Prefetch keys fetched from the FHIR server, by key", ["key"])
PREFETCH_FAILURES = Counter("kmt2a_cds_prefetch_failures",
                            "Prefetch keys neither sent nor fetched (or only partly), by key", ["key"])
CARDS = Counter("kmt2a_cds_cards", "Cards returned, by kind and indicator", ["kind", "indicator"])
CARDS_UNRECORDED = Counter("kmt2a_cds_cards_unrecorded", "Cards returned that the store could not record")
JWT_REFUSALS = Counter("kmt2a_cds_jwt_refusals", "Calls refused 401, by reason class", ["reason"])
FEEDBACK = Counter("kmt2a_cds_feedback_items", "Feedback items stored, by outcome (accepted, overridden)",
                   ["outcome"])
STORE_ERRORS = Counter("kmt2a_cds_store_errors", "Store operations that failed, by operation", ["operation"])

# AuthError message (our own wording in cds_service.web.security) -> reason class
JWT_REASONS = (
    ("missing", re.compile(r"no bearer token")),
    ("malformed", re.compile(r"malformed|not a number|not a date|kid missing|jti is not|jti holds|MissingRequiredClaim|"
                             r"DecodeError|IssuedAt")),
    ("algorithm", re.compile(r"algorithm|alg differs|needs curve")),
    ("key", re.compile(r"jku|kid|key")),
    ("issuer", re.compile(r"issuer")),
    ("audience", re.compile(r"\baud\b|audience", re.I)),
    ("expired", re.compile(r"expired|in the future|not yet valid|Expired|ImmatureSignature")),
    ("replay", re.compile(r"replay")),
    ("signature", re.compile(r"[Ss]ignature")),
)


# What the caller sent is quoted in the message (issuer, aud, alg as repr): classified on our words only, so that an
# untrusted issuer "https://keycloak.example" counts as "issuer", not "key".
QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def jwt_reason(message: str) -> str:
    ours = QUOTED.sub("", message)
    return next((reason for reason, pattern in JWT_REASONS if pattern.search(ours)), "other")


def multiprocess_dir() -> str | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")
    return path if path and os.path.isdir(path) else None


def exposition() -> tuple[bytes, str]:
    """The metrics page: every worker's counts added up in multiprocess mode, this process's otherwise."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
