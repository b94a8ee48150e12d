"""SMART App Launch 2.x, the app's side: discovery, PKCE (S256), the authorization redirect and the code exchange.

No Flask here. Nothing in this module logs a token, a code, a state or a patient id; errors name only what went
wrong ("the token endpoint answered 400"), never what was sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests


MAX_ANSWER_BYTES = 256 * 1024  # a SMART configuration or token answer is a few kB; a server may be hostile


class LaunchError(Exception):
    """The launch cannot go on; the message is shown to the user as it is (no secrets in it)."""


@dataclass(frozen=True)
class Endpoints:
    authorize: str
    token: str


@dataclass(frozen=True)
class Token:
    access_token: str
    patient: str
    expires_in: float | None
    need_patient_banner: bool

    def __repr__(self) -> str:
        return f"Token(expires_in={self.expires_in})"


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, code_challenge) as RFC 7636 S256: 43 characters of 256 random bits, and its SHA-256."""
    verifier = secrets.token_urlsafe(32)
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def discover(iss: str, timeout_s: float, production: bool) -> Endpoints:
    """The authorization and token endpoints from `{iss}/.well-known/smart-configuration`."""
    document = _json_answer("GET", f"{iss.rstrip('/')}/.well-known/smart-configuration", timeout_s,
                            "The EHR's SMART configuration could not be read")
    authorize, token = document.get("authorization_endpoint"), document.get("token_endpoint")
    if not all(isinstance(url, str) and _usable(url, production) for url in (authorize, token)):
        raise LaunchError("The EHR's SMART configuration names no usable authorization and token endpoints.")
    # SMART 2.0: servers SHALL list S256 and apps SHALL NOT use "plain"; a server that does not list it may
    # ignore the challenge, and the code would then be usable without our verifier.
    if "S256" not in (document.get("code_challenge_methods_supported") or []):
        raise LaunchError("The EHR does not support PKCE with S256, which this app requires.")
    return Endpoints(authorize, token)


def scope_for(scope: str, launch: str | None) -> str:
    """The scopes of an EHR launch as configured; a standalone launch asks for `launch/patient` instead of
    `launch`, so that the EHR has the user pick the patient."""
    if launch:
        return scope
    return " ".join("launch/patient" if s == "launch" else s for s in scope.split())


def authorize_url(endpoints: Endpoints, *, client_id: str, redirect_url: str, scope: str, state: str,
                  challenge: str, iss: str, launch: str | None) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_url, "scope": scope,
              "state": state, "aud": iss, "code_challenge": challenge, "code_challenge_method": "S256"}
    if launch:
        params["launch"] = launch
    separator = "&" if urlsplit(endpoints.authorize).query else "?"
    return endpoints.authorize + separator + urlencode(params)


def exchange_code(token_endpoint: str, *, code: str, redirect_url: str, client_id: str, code_verifier: str,
                  timeout_s: float) -> Token:
    """The access token for `code` (a public client: the PKCE verifier proves we started this launch)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_url, "client_id": client_id,
            "code_verifier": code_verifier}
    body = _json_answer("POST", token_endpoint, timeout_s, "The EHR did not issue an access token", data=form)
    token, patient = body.get("access_token"), body.get("patient")
    if not isinstance(token, str) or not token or str(body.get("token_type", "")).lower() != "bearer":
        raise LaunchError("The EHR's token answer holds no bearer access token.")
    if not isinstance(patient, str) or not patient:
        raise LaunchError("The EHR launched the app without a patient in context.")
    expires_in = body.get("expires_in")
    return Token(token, patient, float(expires_in) if isinstance(expires_in, (int, float)) else None,
                 body.get("need_patient_banner") is not False)


def _json_answer(method: str, url: str, timeout_s: float, failure: str, **send) -> dict:
    """The JSON object a 200 answer holds, read up to MAX_ANSWER_BYTES; else LaunchError("<failure> (...)")."""
    try:
        with requests.request(method, url, headers={"Accept": "application/json"}, timeout=timeout_s,
                              allow_redirects=False, stream=True, **send) as response:
            if response.status_code != 200:
                raise LaunchError(f"{failure} (answer {response.status_code}).")
            raw = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
    except requests.RequestException:
        raise LaunchError(f"{failure} (not reachable).") from None
    try:
        document = json.loads(raw) if len(raw) <= MAX_ANSWER_BYTES else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise LaunchError(f"{failure} (not a JSON object).")
    return document


def _usable(url: str, production: bool) -> bool:
    parts = urlsplit(url)
    return bool(parts.netloc) and (parts.scheme == "https" or (parts.scheme == "http" and not production))
