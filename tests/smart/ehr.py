"""A test double of an EHR for SMART App Launch: its authorization server and its FHIR server on one loopback port.

    with EhrDouble(resources, patient="p1") as ehr:
        ehr.base                 # the FHIR base URL (the app's `iss`)
        ehr.launch_url(app)      # what the EHR opens: <app>/app/launch?iss=...&launch=...
        ehr.authorizations       # what each /authorize request asked for
        ehr.exchanges            # each token request and whether its PKCE verifier matched
        ehr.tamper_state = True  # the next redirect carries a state the app never sent

The FHIR part is tests.support.fhir_server.FhirTestServer (searches, reads, paging); this double adds
`.well-known/smart-configuration`, `/auth/authorize` (approves at once, as an EHR does for an in-context launch)
and `/auth/token`, and answers FHIR requests only with a token it issued. PKCE is checked here with hashlib,
independently of the app's code.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support.fhir_server import FhirTestServer, Recorded, _Handler


@dataclass
class Exchange:
    form: dict
    pkce_ok: bool
    status: int


@dataclass
class Grant:
    params: dict
    code: str
    used: bool = False


class _EhrHandler(_Handler):
    content_type = "application/json"  # its SMART configuration and token answers, and its FHIR answers

    def do_GET(self) -> None:  # noqa: N802
        ehr: EhrDouble = self.server.owner  # type: ignore[attr-defined]
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        ehr.requests.append(Recorded("GET", split.path, query, self.headers.get("Authorization")))
        if split.path == "/fhir/.well-known/smart-configuration":
            return self._json(200, ehr.smart_configuration())
        if split.path == "/auth/authorize":
            return self._authorize(ehr, {k: v[0] for k, v in query.items()})
        if split.path.startswith("/fhir/"):
            if self.headers.get("Authorization") not in {f"Bearer {t}" for t in ehr.tokens}:
                return self._json(401, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login"}]})
            return self._json(*ehr.answer(split.path, query))
        return self._json(404, {})

    def do_POST(self) -> None:  # noqa: N802
        ehr: EhrDouble = self.server.owner  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        ehr.requests.append(Recorded("POST", urlsplit(self.path).path, {}, self.headers.get("Authorization")))
        if urlsplit(self.path).path != "/auth/token":
            return self._json(404, {})
        status, body = ehr.token(form)
        self._json(status, body)

    def _authorize(self, ehr: "EhrDouble", params: dict) -> None:
        ehr.authorizations.append(params)
        problems = ehr.authorize_problems(params)
        if problems:
            return self._json(400, {"error": "invalid_request", "problems": problems})
        code = secrets.token_urlsafe(16)
        ehr.grants[code] = Grant(params, code)
        state = "not-the-state-the-app-sent" if ehr.tamper_state else params["state"]
        answer = {"error": "access_denied", "state": state} if ehr.deny else {"code": code, "state": state}
        self.send_response(302)
        self.send_header("Location", f"{params['redirect_uri']}?{urlencode(answer)}")
        self.send_header("Content-Length", "0")
        self.end_headers()


class EhrDouble(FhirTestServer):
    handler = _EhrHandler

    def __init__(self, resources, patient: str, client_id: str = "kmt2a-case-summary", redirect_uri: str | None = None):
        super().__init__(resources)
        self.patient = patient
        self.client_id = client_id
        self.redirect_uri = redirect_uri  # None: accept any (set once the app's port is known)
        self.launch_token = secrets.token_urlsafe(12)
        self.authorizations: list[dict] = []
        self.exchanges: list[Exchange] = []
        self.grants: dict[str, Grant] = {}
        self.tokens: list[str] = []
        self.tamper_state = False
        self.deny = False
        self.methods = ["S256"]

    def launch_url(self, app: str) -> str:
        return f"{app}/app/launch?{urlencode({'iss': self.base, 'launch': self.launch_token})}"

    def smart_configuration(self) -> dict:
        return {"authorization_endpoint": f"{self.url}/auth/authorize", "token_endpoint": f"{self.url}/auth/token",
                "code_challenge_methods_supported": self.methods,
                "capabilities": ["launch-ehr", "client-public", "context-ehr-patient", "permission-v2"]}

    def authorize_problems(self, p: dict) -> list[str]:
        problems = []
        if p.get("response_type") != "code":
            problems.append("response_type")
        if p.get("client_id") != self.client_id:
            problems.append("client_id")
        if self.redirect_uri and p.get("redirect_uri") != self.redirect_uri:
            problems.append("redirect_uri")
        standalone = "launch" not in p and "launch/patient" in p.get("scope", "").split()
        if p.get("launch") != self.launch_token and not standalone:
            problems.append("launch")
        if p.get("aud") != self.base:
            problems.append("aud")
        if p.get("code_challenge_method") != "S256" or len(p.get("code_challenge", "")) != 43:
            problems.append("code_challenge")
        if len(p.get("state", "")) < 16:
            problems.append("state")
        return problems

    def token(self, form: dict) -> tuple[int, dict]:
        grant = self.grants.get(form.get("code", ""))
        pkce_ok = bool(grant) and base64.urlsafe_b64encode(
            hashlib.sha256(form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode() == grant.params[
            "code_challenge"]
        ok = (grant is not None and not grant.used and pkce_ok and form.get("grant_type") == "authorization_code"
              and form.get("redirect_uri") == grant.params["redirect_uri"] and form.get("client_id") == self.client_id)
        status = 200 if ok else 400
        self.exchanges.append(Exchange(form, pkce_ok, status))
        if not ok:
            return 400, {"error": "invalid_grant"}
        grant.used = True
        token = "tok-" + secrets.token_urlsafe(24)
        self.tokens.append(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600, "patient": self.patient,
                     "scope": grant.params["scope"], "need_patient_banner": True}


def main() -> None:
    """Try the app by hand: `make run` in one shell, then `.venv/bin/python -m tests.smart.ehr` and open the URL."""
    import argparse
    import time as _time

    from tests.smart import demo_patient

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--app", default="http://127.0.0.1:8080", help="base URL of the running service")
    args = parser.parse_args()
    with EhrDouble(demo_patient.resources(), patient=demo_patient.PATIENT) as ehr:
        print(f"EHR double (authorization + FHIR server) at {ehr.base}; open this in a browser:\n"
              f"  {ehr.launch_url(args.app)}\n(development profile: any FHIR server may launch; Ctrl-C to stop)")
        while True:
            _time.sleep(3600)


if __name__ == "__main__":
    main()
