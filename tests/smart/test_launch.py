"""The SMART EHR launch end to end over loopback: the real app, a test double of the EHR (authorization server and
FHIR server), and the checks the issue asks for: PKCE and state, the allowlist, the token kept server-side."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from urllib.parse import parse_qs, urlsplit

import requests

from cds_service.hooks.registry import load
from cds_service.hooks.handlers import HANDLERS
from cds_service.web.config import HOOKS_FILE
from tests.smart import demo_patient
from tests.smart.conftest import launch


def _everything_sent(responses) -> str:
    """Every URL, header and body the browser saw."""
    parts = []
    for r in responses:
        parts += [r.url, r.text, *(f"{k}: {v}" for k, v in r.headers.items())]
    return "\n".join(parts)


def test_full_launch_uses_pkce_s256_and_state_and_reads_the_chart_with_the_token(ehr, app_for, caplog):
    caplog.set_level(logging.DEBUG)
    app = app_for(ehr)
    responses = launch(app, ehr)
    page = responses[-1]
    assert [r.status_code for r in responses] == [302, 302, 303, 200]
    assert "Interfant-06 high risk" in page.text

    asked = ehr.authorizations[0]
    assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
    assert asked["aud"] == ehr.base and asked["launch"] == ehr.launch_token and len(asked["state"]) >= 32
    assert asked["redirect_uri"] == f"{app}/app/callback"
    assert set(asked["scope"].split()) >= {"launch", "patient/Patient.rs", "patient/Observation.rs"}
    assert [(e.status, e.pkce_ok) for e in ehr.exchanges] == [(200, True)]

    token = ehr.tokens[0]
    fhir_reads = [r for r in ehr.requests if r.path.startswith("/fhir/") and "well-known" not in r.path]
    assert fhir_reads and all(r.authorization == f"Bearer {token}" for r in fhir_reads)
    # the token and the launch's secrets are nowhere the browser or the logs can see
    seen = _everything_sent(responses) + "\n".join(record.getMessage() for record in caplog.records)
    assert token not in seen
    assert ehr.exchanges[0].form["code_verifier"] not in seen
    assert demo_patient.PATIENT not in page.text  # the page shows the chart, not the EHR's ids


def test_the_chart_is_read_with_the_patient_view_prefetch_queries(ehr, app_for):
    app = app_for(ehr)
    launch(app, ehr)
    templates = load(HOOKS_FILE, HANDLERS).get("kmt2a-patient-view").prefetch
    expected = {t.replace("{{context.patientId}}", demo_patient.PATIENT) for t in templates.values()}
    assert f"Procedure?patient={demo_patient.PATIENT}" in expected  # the transplant dates, from the hooks' own key
    asked = set()
    for r in ehr.requests:
        if r.path.startswith("/fhir/") and "well-known" not in r.path:
            query = "&".join(f"{k}={v[0]}" for k, v in r.query.items())
            asked.add(r.path.removeprefix("/fhir/") + (f"?{query}" if query else ""))
    assert asked == expected


def test_a_wrong_state_is_refused_and_no_code_is_exchanged(ehr, app_for):
    app = app_for(ehr)
    ehr.tamper_state = True
    responses = launch(app, ehr)
    assert responses[-1].status_code == 400
    assert "does not belong to this launch" in responses[-1].text
    assert ehr.exchanges == [] and ehr.tokens == []


def test_a_callback_without_this_browsers_launch_is_refused(ehr, app_for):
    app = app_for(ehr)
    first = launch(app, ehr)
    callback = first[2].url  # the EHR's redirect to our callback: code and state
    # another browser (no cookie) replays it, and the same browser replays it: both refused
    assert requests.get(callback, allow_redirects=False, timeout=30).status_code == 400
    replay = requests.Session()
    replay.cookies.update(first[0].cookies)
    assert replay.get(callback, allow_redirects=False, timeout=30).status_code == 400
    assert len(ehr.exchanges) == 1


def test_a_fhir_server_off_the_allowlist_is_refused_before_it_is_contacted(ehr, app_for):
    app = app_for(ehr, fhir_servers=("https://ehr.example.org/fhir",))
    responses = launch(app, ehr)
    assert responses[-1].status_code == 403 and "not on the list of servers this app trusts" in responses[-1].text
    assert ehr.requests == []


def test_an_iss_that_is_not_a_url_is_refused_not_an_error(ehr, app_for):
    app = app_for(ehr, fhir_servers=())  # development, empty allowlist: any well-formed server may launch
    for iss in ("http://[not-a-host/fhir", "not a url"):
        response = requests.get(f"{app}/app/launch", params={"iss": iss, "launch": "x"}, timeout=30)
        assert response.status_code == 403 and "not on the list of servers this app trusts" in response.text
    assert ehr.requests == []


def test_production_refuses_every_launch_while_the_allowlist_is_empty_and_any_plain_http_server(ehr, app_for):
    app = app_for(ehr, profile="production", fhir_servers=())
    assert launch(app, ehr)[-1].status_code == 403
    app = app_for(ehr, profile="production")  # allowlisted, but http: a token must not travel in clear text
    assert launch(app, ehr)[-1].status_code == 403
    assert ehr.requests == []


def test_an_ehr_without_s256_is_refused(ehr, app_for):
    ehr.methods = ["plain"]
    app = app_for(ehr)
    responses = launch(app, ehr)
    assert responses[-1].status_code == 502 and "S256" in responses[-1].text
    assert ehr.authorizations == []


def test_an_authorization_the_user_denied_shows_why_and_starts_no_session(ehr, app_for):
    ehr.deny = True
    app = app_for(ehr)
    browser = requests.Session()
    responses = launch(app, ehr, browser)
    assert responses[-1].status_code == 403 and "access_denied" in responses[-1].text
    assert browser.get(f"{app}/app/summary", timeout=30).status_code == 401


def test_sessions_expire(ehr, app_for):
    app = app_for(ehr, session_s=1)
    browser = requests.Session()
    assert launch(app, ehr, browser)[-2].status_code == 303  # the session started (the page may come after 1 s)
    time.sleep(1.5)
    page = browser.get(f"{app}/app/summary", timeout=30)
    assert page.status_code == 401 and "session has ended" in page.text


def test_the_session_row_is_encrypted_and_gone_after_logout(ehr, app_for, service_dir):
    app = app_for(ehr)
    browser = requests.Session()
    launch(app, ehr, browser)
    database = sqlite3.connect(service_dir / "kmt2a-cds.db")
    rows = database.execute("SELECT id_hash, sealed FROM smart_session").fetchall()
    cookie = next(iter(browser.cookies.values()))
    assert rows and all(ehr.tokens[0].encode() not in sealed and demo_patient.PATIENT.encode() not in sealed
                        for _, sealed in rows)
    mine = hashlib.sha256(cookie.encode()).hexdigest()  # the row is keyed by the id's hash, never the id
    assert mine in {id_hash for id_hash, _ in rows} and all(cookie not in id_hash for id_hash, _ in rows)
    assert browser.post(f"{app}/app/logout", timeout=30).status_code == 200
    assert browser.get(f"{app}/app/summary", timeout=30).status_code == 401
    assert database.execute("SELECT count(*) FROM smart_session WHERE id_hash = ?", (mine,)).fetchone()[0] == 0


def test_pages_carry_a_strict_csp_no_script_and_no_caching(ehr, app_for):
    app = app_for(ehr)
    page = launch(app, ehr)[-1]
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'none'" in csp and "style-src 'self'" in csp
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert "<script" not in page.text and "style=" not in page.text
    assert 'href="/app/static/summary.css"' in page.text
    cookie = page.history[0].headers.get("Set-Cookie", "") if page.history else ""
    assert cookie == "" or "HttpOnly" in cookie


def test_a_fhir_server_failure_is_named_on_the_page(ehr, app_for):
    ehr.status_for["MedicationRequest"] = 500
    ehr.status_for["DiagnosticReport"] = 500  # the genomicReports and reports keys: named in words, not as keys
    app = app_for(ehr)
    page = launch(app, ehr)[-1]
    assert page.status_code == 200 and "Part of the chart could not be read" in page.text
    notice = page.text.split("Part of the chart could not be read", 1)[1].split("</p>", 1)[0]
    assert "medication orders" in notice and "genetic reports" in notice and "lab reports" in notice
    assert "genomicReports" not in notice and ", reports" not in notice and "(reports" not in notice


def test_the_launch_cookie_is_httponly_and_the_callback_query_never_reaches_the_page(ehr, app_for):
    app = app_for(ehr)
    responses = launch(app, ehr)
    assert "HttpOnly" in responses[0].headers["Set-Cookie"]
    code = parse_qs(urlsplit(responses[2].url).query)["code"][0]
    assert code not in responses[-1].text and code not in responses[2].headers.get("Location", "")


def test_a_standalone_launch_asks_the_ehr_for_a_patient(ehr, app_for):
    app = app_for(ehr)
    browser = requests.Session()
    first = browser.get(f"{app}/app/launch", params={"iss": ehr.base}, allow_redirects=False, timeout=30)
    second = browser.get(first.headers["Location"], allow_redirects=False, timeout=30)
    third = browser.get(second.headers["Location"], allow_redirects=False, timeout=30)
    page = browser.get(f"{app}{third.headers['Location']}", timeout=30)
    asked = ehr.authorizations[0]
    assert "launch" not in asked and "launch/patient" in asked["scope"].split()
    assert "launch" not in asked["scope"].split()
    assert page.status_code == 200 and "Interfant-06 high risk" in page.text


def test_a_new_launch_ends_the_previous_session_of_the_browser(ehr, app_for, service_dir):
    app = app_for(ehr)
    browser = requests.Session()
    launch(app, ehr, browser)
    first = hashlib.sha256(next(iter(browser.cookies.values())).encode()).hexdigest()
    launch(app, ehr, browser)
    database = sqlite3.connect(service_dir / "kmt2a-cds.db")
    assert database.execute("SELECT count(*) FROM smart_session WHERE id_hash = ?", (first,)).fetchone()[0] == 0
