"""The app's routes under /app/: launch -> (EHR authorization) -> callback -> summary; logout.

    GET  /app/launch?iss=&launch=   EHR launch: checks iss against the allowlist, discovers the EHR's endpoints,
                                    redirects to its authorization endpoint with PKCE (S256) and a fresh state;
                                    without `launch` it is a standalone launch (the EHR asks the user for the patient)
    GET  /app/callback?code=&state= checks the state against this browser's pending launch, exchanges the code
                                    (with the PKCE verifier) and starts the session; redirects to the summary
    GET  /app/summary               reads the chart with the session's token and shows the case summary
    POST /app/logout                ends the session

Every answer carries a strict Content-Security-Policy (no script at all, styles and images from this service only)
and `Cache-Control: no-store`; the page is never cached, and the token never leaves the server.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, url_for

from cds_service.smart import oauth, summary
from cds_service.smart.config import SmartConfig
from cds_service.smart.sessions import AppSession, SessionStore

log = logging.getLogger("kmt2a_cds.smart")
bp = Blueprint("smart", __name__, url_prefix="/app", template_folder="templates", static_folder="static",
               static_url_path="/static")
EXTENSION = "kmt2a_smart"


@dataclass
class SmartRuntime:
    config: SmartConfig
    sessions: SessionStore
    production: bool
    public_base_url: str | None

    @property
    def cookie_name(self) -> str:
        # __Host-: the browser keeps it to this host, path /, Secure; no other site or path can set it.
        return "__Host-kmt2a-app" if self.production else "kmt2a-app"

    def redirect_url(self) -> str:
        if self.config.redirect_url:
            return self.config.redirect_url
        base = self.public_base_url or request.host_url.rstrip("/")
        return f"{base}/app/callback"


def init_app(app: Flask, config, store) -> None:
    """Mount the app on `app`: `config` is the service's Config (its `smart` part), `store` its Store."""
    smart_config = getattr(config, "smart", None) or SmartConfig()
    app.extensions[EXTENSION] = SmartRuntime(smart_config, SessionStore(store.engine), config.production,
                                             config.public_base_url)
    app.register_blueprint(bp)


def _rt() -> SmartRuntime:
    return current_app.extensions[EXTENSION]


# --- routes ---------------------------------------------------------------------------------------


@bp.get("/")
def index() -> Response:
    if request.args.get("iss"):
        return launch()
    return _page("smart/message.html", 200, title="KMT2A case summary",
                 message="Open this app from the patient's chart in the EHR (a KMT2A card's link, or the app menu).")


@bp.get("/launch")
def launch() -> Response:
    rt = _rt()
    iss, launch_token = request.args.get("iss", ""), request.args.get("launch")
    if not rt.config.allows(iss, rt.production):
        log.warning("SMART launch refused: FHIR server %s is not on the allowlist", _host(iss))
        return _page("smart/message.html", 403, title="Launch refused",
                     message="This EHR's FHIR server is not on the list of servers this app trusts. "
                             "Ask the service's administrators to add it (CDS_SMART_FHIR_SERVERS).")
    try:
        endpoints = oauth.discover(iss, rt.config.http_timeout_s, rt.production)
    except oauth.LaunchError as error:
        log.warning("SMART launch from %s failed: %s", _host(iss), error)
        return _page("smart/message.html", 502, title="Launch failed", message=str(error))
    rt.sessions.purge_expired()
    rt.sessions.end(request.cookies.get(rt.cookie_name))  # a new launch ends this browser's previous session
    verifier, challenge = oauth.pkce_pair()
    state = secrets.token_urlsafe(32)
    pending = AppSession(iss=iss.rstrip("/"), state=state, code_verifier=verifier, token_endpoint=endpoints.token,
                         redirect_url=rt.redirect_url())
    session_id = rt.sessions.create(pending, rt.config.pending_s)
    target = oauth.authorize_url(endpoints, client_id=rt.config.client_id, redirect_url=pending.redirect_url,
                                 scope=oauth.scope_for(rt.config.scope, launch_token), state=state,
                                 challenge=challenge, iss=pending.iss, launch=launch_token)
    response = redirect(target, 302)
    _set_cookie(response, session_id, rt.config.pending_s)
    return response


@bp.get("/callback")
def callback() -> Response:
    rt = _rt()
    session_id = request.cookies.get(rt.cookie_name)
    pending = rt.sessions.load(session_id)
    state = request.args.get("state", "")
    if pending is None or not pending.state:
        log.warning("SMART callback refused: no pending launch in this browser")
        return _page("smart/message.html", 400, title="Launch expired",
                     message="This browser has no launch in progress (it expired, or cookies are blocked). "
                             "Open the app again from the patient's chart.")
    if not hmac.compare_digest(state.encode(), pending.state.encode()):
        log.warning("SMART callback refused: state does not match the pending launch")
        rt.sessions.end(session_id)
        return _page("smart/message.html", 400, title="Launch refused",
                     message="The authorization answer does not belong to this launch. Open the app again.")
    rt.sessions.end(session_id)  # one use: a replayed callback finds nothing
    if request.args.get("error"):
        code = re.sub(r"[^a-z_]", "", request.args["error"][:64]) or "unknown error"  # OAuth error codes only
        log.info("SMART authorization not granted (%s)", code)
        return _page("smart/message.html", 403, title="Access not granted",
                     message=f"The EHR did not grant access ({code}).")
    try:
        token = oauth.exchange_code(pending.token_endpoint, code=request.args.get("code", ""),
                                    redirect_url=pending.redirect_url, client_id=rt.config.client_id,
                                    code_verifier=pending.code_verifier, timeout_s=rt.config.http_timeout_s)
    except oauth.LaunchError as error:
        log.warning("SMART token exchange with %s failed: %s", _host(pending.iss), error)
        return _page("smart/message.html", 502, title="Launch failed", message=str(error))
    lifetime = min(rt.config.session_s, token.expires_in) if token.expires_in else rt.config.session_s
    session = AppSession(iss=pending.iss, access_token=token.access_token, patient=token.patient,
                         need_patient_banner=token.need_patient_banner)
    new_id = rt.sessions.create(session, lifetime)  # a new id: the pre-login id is never the session's
    response = redirect(url_for("smart.case_summary"), 303)
    _set_cookie(response, new_id, lifetime)
    return response


@bp.get("/summary")
def case_summary() -> Response:
    rt = _rt()
    session = rt.sessions.load(request.cookies.get(rt.cookie_name))
    if session is None or not session.authorized:
        return _page("smart/message.html", 401, title="Session ended",
                     message="Your session has ended. Open the app again from the patient's chart.")
    from cds_service.web.app import runtime  # the hooks' registry and fetch settings (app.py imports us)

    hooks = runtime()
    reference_date = hooks.settings.reference_date or datetime.now(timezone.utc).date()
    started = time.perf_counter()
    try:
        content = summary.read_chart(hooks.registry, session.iss, session.access_token, session.patient,
                                     summary.with_deadline(hooks.settings.fetch, rt.config.fetch_deadline_s),
                                     reference_date)
    except summary.ChartUnavailable as error:
        return _page("smart/message.html", 502, title="Chart not available", message=str(error))
    log.info("case summary shown in %.0f ms (%d chart queries unavailable)",
             (time.perf_counter() - started) * 1000, len(content.unavailable))
    return _page("smart/summary.html", 200, s=content, banner=session.need_patient_banner,
                 unavailable=summary.unavailable_words(content.unavailable), reference_date=reference_date)


@bp.post("/logout")
def logout() -> Response:
    rt = _rt()
    rt.sessions.end(request.cookies.get(rt.cookie_name))
    response = _page("smart/message.html", 200, title="Signed out",
                     message="The session has ended; nothing about the patient is kept by this app.")
    response.delete_cookie(rt.cookie_name, path="/", secure=rt.production, httponly=True,
                           samesite="None" if rt.production else "Lax")
    return response


@bp.errorhandler(Exception)
def _error(error: Exception) -> Response:
    if hasattr(error, "code") and isinstance(getattr(error, "code"), int) and error.code < 500:
        return _page("smart/message.html", error.code, title="Not available", message="This page does not exist.")
    # Log where, never the message: it could quote a token or chart data.
    frames = "".join(traceback.format_list(traceback.extract_tb(error.__traceback__)))
    log.error("case summary: internal error %s\n%s", type(error).__name__, frames)
    return _page("smart/message.html", 500, title="Something went wrong",
                 message="The case summary could not be shown. The service's operators have the details.")


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        f"base-uri 'none'; frame-ancestors {_rt().config.frame_ancestors}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"  # the callback URL holds the code and state
    if request.endpoint != "smart.static":
        response.headers["Cache-Control"] = "no-store"
    return response


# --- helpers --------------------------------------------------------------------------------------


def _page(template: str, status: int, **values) -> Response:
    return Response(render_template(template, **values), status=status, mimetype="text/html")


def _set_cookie(response: Response, session_id: str, max_age: float) -> None:
    rt = _rt()
    # SameSite=None in production: EHRs show apps in a frame, where a Lax cookie would not be sent back.
    response.set_cookie(rt.cookie_name, session_id, max_age=int(max_age), path="/", secure=rt.production,
                        httponly=True, samesite="None" if rt.production else "Lax")


def _host(url: str) -> str:
    """For logs: the server's host only (a FHIR base URL may carry a tenant path)."""
    try:
        return urlsplit(url or "").netloc[:100] or "(none)"
    except ValueError:
        return "(not a URL)"
