"""The Flask app: discovery, service calls, feedback and a health check.

`create_app(config=None, handlers=None)` builds one app from a `Config` (default: the environment) and
the handler table (default: `cds_service.hooks.handlers.HANDLERS`; tests may pass their own). gunicorn serves
`'cds_service.web.app:create_app()'` with `--preload`.

A service call goes: CORS -> JWT (401, one body for every cause; before we read what an unknown caller
sent) -> body size (413) -> content type (415) -> JSON (400) -> service id (404) / method (405) ->
envelope and context schema, hook match (400)
-> prefetch (412 when a required key cannot be had) -> handler -> card validation (invalid cards are
dropped and logged) -> issued cards recorded -> audit line -> 200. Every non-2xx answer is a FHIR
OperationOutcome; an unexpected error is logged and answered 500 without details.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

import fhir_mappings
from cds_service import knowledge, metrics, smart
from cds_service.cards.facts import card_facts
from cds_service.hooks import limits, pipeline, prefetch, protocol, registry
from cds_service.hooks.handlers import HANDLERS
from cds_service.hooks.protocol import ProtocolError
from cds_service.migrations import SchemaError
from cds_service.orders import order_cache
from cds_service.web import audit, cors, retention, startup, warmup
from cds_service.web.config import Config, ConfigError
from cds_service.web.security import AuthError, JwksCache, TokenVerifier, bearer_token
from cds_service.web.store import Store, unreachable_reason

log = logging.getLogger("kmt2a_cds.app")
security_log = logging.getLogger("kmt2a_cds.security")
bp = Blueprint("cds", __name__)

FHIR_JSON = "application/fhir+json"
ISSUE_CODES = {400: "invalid", 401: "login", 404: "not-found", 405: "not-supported", 412: "processing",
               413: "too-long", 415: "not-supported"}
GC_GEN0_THRESHOLD = 20_000  # container allocations between young collections (CPython's default: 700)


@dataclass
class Runtime:
    config: Config
    registry: registry.Registry
    store: Store
    verifier: TokenVerifier
    settings: pipeline.Settings  # what every call is answered with: profile, fetching, reference date
    purge: retention.PeriodicPurge


def create_app(config: Config | None = None, handlers: Mapping[str, Callable] | None = None) -> Flask:
    """Raises ConfigError / SchemaError for a configuration we refuse; built from the environment (config None,
    as gunicorn does), a refusal is one log line and exit status 3 instead."""
    if config is None:
        try:
            return create_app(Config.from_env(), handlers)
        except (ConfigError, SchemaError) as error:
            _refuse_start(str(error))
        except SQLAlchemyError as error:  # unreachable, wrong credentials: the driver's first line says which
            _refuse_start(f"the database cannot be reached ({unreachable_reason(error)})")
    _configure_logging()
    config.check_database_driver()
    issuers = startup.checked_issuers(config)
    # Tables, models and knowledge load here, before gunicorn --preload forks: ~0.3 s the first call would pay.
    fhir_mappings.warm_up()
    knowledge.load_all()
    store = Store(config.database_url, migrate=config.migrate_at_start)
    runtime = Runtime(
        config=config,
        registry=registry.load(config.hooks_file, HANDLERS if handlers is None else handlers),
        store=store,
        verifier=TokenVerifier(
            issuers,
            JwksCache(config.jwks_cache_ttl_s, config.jwks_min_refresh_s),
            store.remember_jti,
            config.jwt_leeway_s,
        ),
        settings=pipeline.Settings(
            production=config.production,
            fetch=prefetch.FetchSettings(
                deadline_s=config.prefetch_deadline_s,
                connect_timeout_s=config.fhir_connect_timeout_s,
                read_timeout_s=config.fhir_read_timeout_s,
                page_cap=config.prefetch_page_cap,
                workers=config.prefetch_workers,
            ),
            reference_date=config.reference_date,
        ),
        purge=retention.PeriodicPurge(store, config),
    )
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions["kmt2a_cds"] = runtime
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False  # '//cds-services' gets our JSON 404, not werkzeug's HTML 308
    app.register_blueprint(bp)
    smart.init_app(app, config, store)  # the case summary app at /app/
    app.before_request(_start)
    app.after_request(_finish)
    app.register_error_handler(ProtocolError, _protocol_error)
    app.register_error_handler(SQLAlchemyError, _store_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _internal_error)
    if handlers is None:  # our own handlers only (a test's handlers may count their calls)
        warmup.answer_every_service(runtime.registry, runtime.settings)  # before the shared cache: nothing stored
    order_cache.use_store(store)  # order-sign finds order-select's checks on any worker or host
    _settle_heap()
    startup.summary(config, issuers, knowledge.version())
    return app


def _refuse_start(reason: str) -> None:
    _configure_logging()
    log.critical("refusing to start: %s", reason, extra={"event": "refused-start"})
    raise SystemExit(startup.EXIT_BAD_CONFIG) from None


def _settle_heap() -> None:
    """Everything loaded so far (tables, knowledge, FHIR models and their validators) lives as long as the
    process: freeze it, so that a full collection walks only what requests allocate (the validator trees made
    full collections 90-220 ms pauses, the p99), and so that gunicorn's forked workers share those pages. A
    larger first generation runs the young collections less often: a request's garbage is freed by reference
    counting anyway. See bench/README.md for the measured effect. With this heap, pausing the collector while
    a body is parsed no longer pays: a 5.3 MB body parsed in 26 ms with it running, 31 ms paused (the paused
    objects are then walked in one young collection)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


def _configure_logging() -> None:
    """Our loggers write INFO to stderr as JSON lines (timestamp, level, logger, message and the event's fields)
    unless the host configured logging (gunicorn_conf.py gives gunicorn's own lines the same format)."""
    logger = logging.getLogger("kmt2a_cds")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(audit.json_formatter())
        logger.addHandler(handler)
    # urllib3 logs every URL it fetches at DEBUG, and prefetch URLs hold patient ids: not even a host that
    # logs everything gets those, unless it asked for urllib3 by name.
    urllib3_log = logging.getLogger("urllib3")
    if urllib3_log.level == logging.NOTSET:
        urllib3_log.setLevel(logging.WARNING)


def runtime() -> Runtime:
    return current_app.extensions["kmt2a_cds"]


def json_response(obj: Any, status: int = 200, mimetype: str = "application/json") -> Response:
    return Response(orjson.dumps(obj), status=status, mimetype=mimetype)


# --- routes ---------------------------------------------------------------------------------------


@bp.get("/cds-services")
def discovery() -> Response:
    _authenticate()
    g.audit.outcome = "ok"
    return json_response(runtime().registry.discovery())


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    _authenticate()
    body = _read_json()
    service = _service(service_id)
    if isinstance(body, dict) and isinstance(body.get("hookInstance"), str):
        g.audit.hook_instance = body["hookInstance"][:64]
    result = pipeline.answer(service, body, runtime().settings)
    g.issued = (result.cards, result.call.hook_instance, service.id, knowledge.version())  # stored in _finish
    for facts in card_facts(result.cards):
        metrics.CARDS.labels(facts.kind, facts.indicator).inc()
    g.audit.card_uuids = [card["uuid"] for card in result.cards]
    g.audit.unavailable = list(result.call.unavailable)
    g.audit.outcome = "partial" if result.call.unavailable else "ok"
    return json_response({"cards": result.cards})


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    """Store feedback on our cards. Answers 200 with `{}` once every item is committed; a repeated
    item is a no-op; feedback on a card we did not issue is kept but flagged (known_card = False)."""
    _authenticate()
    body = _read_json()
    service = _service(service_id)
    protocol.check_feedback(body)
    result = runtime().store.record_feedback(service.id, body["feedback"])  # a store error: 503, nothing acknowledged
    for item in body["feedback"]:
        metrics.FEEDBACK.labels(item["outcome"]).inc()
    if result.unknown_cards:
        log.warning("feedback for %d card(s) this service did not issue", result.unknown_cards)
    g.audit.card_uuids = [item["card"] for item in body["feedback"]]
    g.audit.outcome = "ok" if not result.duplicates else "ok-duplicates"
    return json_response({})


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers. The store is the readiness probe's business (a database outage must not
    make an orchestrator restart every replica)."""
    return json_response({"status": "ok", "version": startup.service_version(),
                          "knowledgeVersion": knowledge.version()})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: 503 while the store is unreachable, so a load balancer sends calls elsewhere."""
    try:
        runtime().store.ping()
    except Exception as error:  # noqa: BLE001 - any store failure means "not ready"
        log.error("readiness: store unavailable (%s)", type(error).__name__)
        metrics.STORE_ERRORS.labels("ping").inc()
        return json_response(protocol.operation_outcome("transient", "Store unavailable."), 503, FHIR_JSON)
    return json_response({"status": "ready"})


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    page, content_type = metrics.exposition()
    return Response(page, content_type=content_type)


# --- steps ----------------------------------------------------------------------------------------


def _read_json() -> Any:
    limit = runtime().config.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ProtocolError(413, "too-long", _too_long(limit))
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise ProtocolError(415, "not-supported", "Send the request as application/json.")
    try:
        data = limits.read_capped((_body(limit),), request.headers.get("Content-Encoding"), limit)
    except limits.TooLarge:
        raise ProtocolError(413, "too-long", _too_long(limit)) from None
    except limits.BadEncoding as error:
        raise ProtocolError(415, "not-supported", f"{error}.") from None
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise ProtocolError(400, "invalid", "The request body is not valid JSON.") from None
    try:
        limits.check_json_depth(data)  # on the text: a quarter of the cost of walking the parsed tree
    except limits.TooDeep:
        raise ProtocolError(400, "invalid", f"The request JSON is nested deeper than {limits.MAX_JSON_DEPTH} "
                                            "levels; FHIR resources need far fewer.") from None
    return body


def _body(limit: int) -> bytes:
    """The raw body; a chunked body (no Content-Length) is read up to the limit, then refused."""
    if request.content_length is not None:
        return request.get_data(cache=False)
    data = request.environ["wsgi.input"].read(limit + 1)
    if len(data) > limit:
        raise ProtocolError(413, "too-long", _too_long(limit))
    return data


def _too_long(limit: int) -> str:
    """The 413 text: the cap, and what the caller can do about it."""
    return (f"The request body exceeds the service's limit of {limit} bytes ({limit / 1048576:g} MiB, "
            "decompressed). Send the prefetch our discovery declares (it asks for the results the rules read, by "
            "LOINC code, not every result of the record), or raise the limit with CDS_MAX_BODY_BYTES.")


def _authenticate() -> None:
    """Verify the EHR's JWT. Development serves a call without one (logged as unauthenticated)."""
    rt = runtime()
    token = bearer_token(request.headers.get("Authorization"))
    if token is None and not rt.config.production:
        security_log.debug("unauthenticated call served (development profile)")
        return
    audience = (rt.config.public_base_url + request.path) if rt.config.public_base_url else request.base_url
    try:
        if not token:
            raise AuthError("no bearer token")
        verified = rt.verifier.verify(token, audience)
    except AuthError as error:
        security_log.warning("JWT refused: %s", error)
        metrics.JWT_REFUSALS.labels(metrics.jwt_reason(str(error))).inc()
        raise ProtocolError(401, "login", "Authentication failed.") from None
    g.audit.issuer, g.audit.jti = verified.issuer, verified.jti


def _service(service_id: str) -> registry.Service:
    g.audit.service_id = service_id[:64]
    service = runtime().registry.get(service_id)
    if service is None:
        raise ProtocolError(404, "not-found", "No CDS service with this id; see GET /cds-services.")
    return service


# --- request bookkeeping, errors ------------------------------------------------------------------


def _start() -> None:
    g.started = time.perf_counter()
    runtime().purge.ensure_running()
    path = request.path.rstrip("/")
    if request.method == "OPTIONS" or not path.startswith("/cds-services"):
        return
    kind = "discovery" if path == "/cds-services" else "feedback" if path.endswith("/feedback") else "hook"
    g.audit = audit.AuditRecord(kind=kind)


def _finish(response: Response) -> Response:
    rt = runtime()
    cors.add_headers(request, response, rt.config.cors_origins, rt.config.production)
    record: audit.AuditRecord | None = g.pop("audit", None)
    if record is None:
        return response
    record.status = response.status_code
    if response.status_code >= 400:
        record.outcome = "refused" if response.status_code < 500 else "error"
    elif record.issuer is None:
        record.outcome = f"unauthenticated-{record.outcome}"
    record.duration_ms = round((time.perf_counter() - g.started) * 1000, 2)
    audit.emit(record)
    known = record.service_id if record.service_id and rt.registry.get(record.service_id) else "unknown"
    metrics.CALLS.labels(record.kind, known, record.outcome).inc()
    if record.kind == "hook" and record.status == 200:
        metrics.CALL_SECONDS.labels(_hook_of(record.service_id)).observe(record.duration_ms / 1000)
        for key in record.unavailable:
            metrics.PREFETCH_FAILURES.labels(key).inc()
    if record.kind != "discovery":
        # One transaction per call, once the answer is computed: the cards issued and the audit row.
        audit_row = dict(kind=record.kind, service_id=record.service_id, hook_instance=record.hook_instance,
                         issuer=record.issuer, outcome=record.outcome, status=record.status,
                         duration_ms=record.duration_ms, card_uuids=record.card_uuids)
        issued = g.pop("issued", None) if response.status_code == 200 else None
        try:
            rt.store.record_call(audit_row, issued)
        except Exception as error:  # noqa: BLE001 - the audit line is written; a store hiccup must not fail the call
            # The answer is already computed: the cards go out, counted as not recorded (feedback on them is
            # kept later, flagged as on an unknown card).
            log.error("store unavailable (%s): audit row and %d issued card(s) not recorded", type(error).__name__,
                      len(issued[0]) if issued else 0)
            metrics.STORE_ERRORS.labels("record_call").inc()
            if issued:
                metrics.CARDS_UNRECORDED.inc(len(issued[0]))
    return response


def _hook_of(service_id: str | None) -> str:
    service = runtime().registry.get(service_id) if service_id else None
    return service.hook if service else "unknown"


def _protocol_error(error: ProtocolError) -> Response:
    response = json_response(error.outcome(), error.status, FHIR_JSON)
    if error.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    diagnostics = {404: "Not found; the CDS services are listed at GET /cds-services.",
                   405: "Method not allowed on this endpoint.",
                   413: _too_long(runtime().config.max_body_bytes)}.get(status, error.name)
    response = json_response(protocol.operation_outcome(ISSUE_CODES.get(status, "processing"), diagnostics),
                             status, FHIR_JSON)
    if allow := error.get_response().headers.get("Allow"):
        response.headers["Allow"] = allow
    return response


def _store_error(error: SQLAlchemyError) -> Response:
    """The store is unreachable where an answer depends on it (feedback is acknowledged only once stored):
    503, so that the EHR sends it again."""
    log.error("store unavailable (%s) in %s %s", type(error).__name__, request.method, request.path[:120])
    metrics.STORE_ERRORS.labels("request").inc()
    response = json_response(protocol.operation_outcome("transient", "Store unavailable; send it again later."),
                             503, FHIR_JSON)
    response.headers["Retry-After"] = "30"
    return response


def _internal_error(error: Exception) -> Response:
    # The exception message may quote request data: log its type and where it happened, not its text.
    frames = "".join(traceback.format_list(traceback.extract_tb(error.__traceback__)))
    log.error("internal error %s in %s %s\n%s", type(error).__name__, request.method, request.path[:120], frames)
    return json_response(protocol.operation_outcome("exception", "Internal error."), 500, FHIR_JSON)
