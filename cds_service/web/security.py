"""EHR authentication: the CDS Hooks JWT in `Authorization: Bearer`, checked as the best practices ask.

Trust comes from a trusted-issuers file (`CDS_TRUSTED_ISSUERS`):
    {"issuers": [{"iss": "...", "jwks": {"keys": [...]}} or {"iss": "...", "jku": ["https://...", ...]}]}
Keys are taken from the inline JWKS or from an allowlisted `jku` (fetched with requests, cached per
process with a TTL, refreshed on an unknown `kid`); a `jku` outside the allowlist is never fetched.
Algorithms are pinned per key type (EC: ES256/ES384, RSA: RS256/RS384); `none` and HMAC never pass.
`aud` must be the URL called; exp/iat/nbf get a leeway; `jti` is required and recorded in the store so
a replay is refused by every worker and host. Every failure raises `AuthError`: the caller answers a bare
401 that is identical for every cause, and only our log says why. Tokens are never logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import jwt
import requests
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

log = logging.getLogger("kmt2a_cds.security")

ALGORITHMS = {"EC": {"ES256": "P-256", "ES384": "P-384"}, "RSA": {"RS256": None, "RS384": None}}
ALLOWED_ALGS = {alg for algs in ALGORITHMS.values() for alg in algs}
JTI_MAX_LENGTH = 255  # the store's seen_jti column
JWKS_MAX_BYTES = 256 * 1024  # a JWKS holds a few keys: a few KB
JWKS_FETCH_LIMIT_S = 5.0  # the whole fetch, however slowly the body drips in


class AuthError(Exception):
    """Why a token was refused: for our log only, never for the caller."""


@dataclass(frozen=True)
class Issuer:
    iss: str
    keys: tuple[dict, ...] = ()  # inline JWKS keys
    jku: tuple[str, ...] = ()  # allowlisted JWKS URLs


@dataclass
class TrustedIssuers:
    issuers: dict[str, Issuer] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> "TrustedIssuers":
        if path is None:
            return cls()
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        issuers = {}
        for entry in document.get("issuers", []):
            jku = entry.get("jku") or ()
            issuers[entry["iss"]] = Issuer(
                iss=entry["iss"],
                keys=tuple((entry.get("jwks") or {}).get("keys", ())),
                jku=(jku,) if isinstance(jku, str) else tuple(jku),
            )
        return cls(issuers)


class JwksCache:
    """JWKS documents fetched from allowlisted URLs, per process, with a TTL.

    A fetch is tried at most once per `min_refresh_s` per URL, whatever the reason (first use, TTL passed,
    unknown `kid`) and whether it worked or not: tokens naming made-up kids, or a jku that is down, cannot
    make us fetch on every request. When a refresh fails, the keys we had stay in use."""

    def __init__(self, ttl_s: float, min_refresh_s: float, fetch: Callable[[str], dict] | None = None):
        self.ttl_s, self.min_refresh_s = ttl_s, min_refresh_s
        self._fetch = fetch or _fetch_jwks
        self._entries: dict[str, tuple[float, tuple[dict, ...]]] = {}  # url -> (fetched at, keys)
        self._last_try: dict[str, float] = {}
        self._lock = threading.Lock()

    def keys(self, url: str, kid: str | None) -> tuple[dict, ...]:
        with self._lock:
            now = time.monotonic()  # may be small after boot: compare with stored values only
            fetched_at, keys = self._entries.get(url, (None, ()))
            unknown_kid = kid is not None and not any(k.get("kid") == kid for k in keys)
            wanted = fetched_at is None or now - fetched_at > self.ttl_s or unknown_kid
            last_try = self._last_try.get(url)
            if not wanted or (last_try is not None and now - last_try < self.min_refresh_s):
                return keys
            self._last_try[url] = now
            try:
                keys = _keys_of(self._fetch(url))
            except AuthError as error:
                if not keys:
                    raise
                log.warning("JWKS refresh failed, keeping the cached keys: %s", error)
                return keys
            self._entries[url] = (now, keys)
            return keys


def _keys_of(document: dict) -> tuple[dict, ...]:
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise AuthError("jku did not return a JWKS (no keys list)")
    return tuple(k for k in keys if isinstance(k, dict))


def _fetch_jwks(url: str) -> dict:
    """GET a JWKS: connect/read timeouts, an overall time limit and a size limit (a JWKS is a few KB)."""
    give_up_at = time.monotonic() + JWKS_FETCH_LIMIT_S
    try:
        with requests.get(url, timeout=(2, 3), headers={"Accept": "application/json"}, allow_redirects=False,
                          stream=True) as response:
            response.raise_for_status()
            if int(response.headers.get("Content-Length") or 0) > JWKS_MAX_BYTES:
                raise AuthError("jku answer too large")
            read = getattr(response.raw, "read1", response.raw.read)  # read1: returns what has arrived
            body = bytearray()
            while chunk := read(16384, decode_content=True):
                body += chunk
                if len(body) > JWKS_MAX_BYTES:
                    raise AuthError("jku answer too large")
                if time.monotonic() > give_up_at:
                    raise AuthError("jku answered too slowly")
        document = json.loads(body)
    except (requests.RequestException, ValueError) as error:
        raise AuthError(f"jku could not be fetched ({type(error).__name__})") from error
    if not isinstance(document, dict):
        raise AuthError("jku did not return a JWKS")
    return document


@dataclass(frozen=True)
class Verified:
    issuer: str
    jti: str
    subject: str | None


MAX_NUMERIC_DATE = 253402300799  # 9999-12-31T23:59:59Z, the largest date Python and SQL represent


class TokenVerifier:
    def __init__(self, trusted: TrustedIssuers, jwks_cache: JwksCache, remember_jti: Callable[[str, str, float], bool],
                 leeway_s: int = 60):
        self.trusted, self.jwks_cache, self.remember_jti, self.leeway_s = trusted, jwks_cache, remember_jti, leeway_s

    def verify(self, token: str, audience: str, now: float | None = None) -> Verified:
        """Check everything about `token` for a call of `audience`; raise AuthError otherwise.

        `now` (seconds since the epoch) pins the clock, for replaying captured tokens in tests."""
        now = time.time() if now is None else now
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as error:
            raise AuthError(f"malformed token ({type(error).__name__})") from error
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGS:  # a list or object here must not raise
            raise AuthError(f"algorithm {str(alg)[:40]!r} is not accepted")
        issuer = self.trusted.issuers.get(claims.get("iss")) if isinstance(claims.get("iss"), str) else None
        if issuer is None:
            raise AuthError(f"issuer {str(claims.get('iss'))[:100]!r} is not trusted")
        key = self._key(issuer, header, alg)
        try:
            verified = jwt.decode(
                token, key=key, algorithms=[alg], audience=audience, issuer=issuer.iss,
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False,
                         "require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.InvalidAudienceError as error:
            # The usual site misconfiguration (a proxy without CDS_PUBLIC_BASE_URL): name both URLs.
            raise AuthError(f"aud {str(claims.get('aud'))[:200]!r} is not the URL called, {audience!r}") from error
        except jwt.PyJWTError as error:
            raise AuthError(f"{type(error).__name__}: {error}") from error
        self._check_times(verified, now)
        if not isinstance(verified["jti"], str) or not 0 < len(verified["jti"]) <= JTI_MAX_LENGTH:
            raise AuthError(f"jti is not a string of 1 to {JTI_MAX_LENGTH} characters")
        if "\x00" in verified["jti"]:
            raise AuthError("jti holds a NUL character")
        if not self.remember_jti(issuer.iss, verified["jti"], float(verified["exp"]) + self.leeway_s):
            raise AuthError("jti was already used (replay)")
        return Verified(issuer.iss, verified["jti"], verified.get("sub"))

    def _check_times(self, claims: Mapping, now: float) -> None:
        for name in ("exp", "iat", "nbf"):
            value = claims.get(name, 0)
            # JSON lets through NaN, Infinity and 10**400: each would compare wrongly or overflow later.
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not numeric or not 0 <= value <= MAX_NUMERIC_DATE:
                raise AuthError(f"{name} is not a date between 1970 and 9999 in seconds")
        if claims["exp"] < now - self.leeway_s:
            raise AuthError("token expired")
        if claims["iat"] > now + self.leeway_s:
            raise AuthError("iat is in the future")
        if "nbf" in claims and claims["nbf"] > now + self.leeway_s:
            raise AuthError("token not yet valid (nbf)")

    def _key(self, issuer: Issuer, header: Mapping, alg: str):
        kid, jku = header.get("kid"), header.get("jku")
        if not kid:
            raise AuthError("kid missing (CDS Hooks requires it in the JWT header)")
        if jku is not None and jku not in issuer.jku:
            # Checked before any key lookup: a jku outside the allowlist is never fetched.
            raise AuthError("jku is not allowlisted for this issuer")
        candidates = list(issuer.keys)
        if not _matching(candidates, kid):
            for url in ([jku] if jku else issuer.jku):
                candidates += self.jwks_cache.keys(url, kid)
        matching = _matching(candidates, kid)
        if len(matching) != 1:
            raise AuthError("no single key matches the token's kid")
        return _public_key(matching[0], alg)


def _matching(keys: list[dict], kid: str) -> list[dict]:
    return [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig" and k.get("kid") == kid]


def _public_key(jwk: dict, alg: str):
    kty = jwk.get("kty")
    if alg not in ALGORITHMS.get(kty, {}):
        raise AuthError(f"algorithm {alg} does not fit a {kty} key")
    if jwk.get("alg") and jwk["alg"] != alg:
        raise AuthError("token alg differs from the key's alg")
    if kty == "EC" and jwk.get("crv") != ALGORITHMS["EC"][alg]:
        raise AuthError(f"{alg} needs curve {ALGORITHMS['EC'][alg]}")
    if any(name in jwk for name in ("d", "p", "q")):
        raise AuthError("a private key is configured as trusted")
    try:
        return (ECAlgorithm if kty == "EC" else RSAAlgorithm).from_jwk(jwk)
    except (jwt.PyJWTError, ValueError, KeyError) as error:
        raise AuthError(f"unusable key ({type(error).__name__})") from error


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; "" for any other non-empty header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
