"""EHR JWT checks over HTTP: what is accepted, and that every refusal is the same bare 401."""

from __future__ import annotations

import copy
import json
import logging

import jwt
import pytest
import requests

from cds_service.hooks import protocol

from cds_service.web.config import development_trusted_issuers
from cds_service.web.security import AuthError, Issuer, JwksCache, TokenVerifier, TrustedIssuers
from tests.support import sandbox
from tests.support.fhir_server import JsonServer
from tests.support.tokens import DROP, TestIssuer, hmac_with_public_key, tamper, unsigned_token

PV = "/cds-services/kmt2a-patient-view"
SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"


def request_body() -> dict:
    body = copy.deepcopy(sandbox.raw("patient-view")["body"])
    body["fhirServer"] = "https://ehr.test.example/fhir"  # production refuses http
    return body


def post(base: str, token: str | None, path: str = PV) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.post(base + path, json=request_body(), headers=headers, timeout=10)


@pytest.fixture(scope="module")
def prod(service_dir, test_issuer):
    from tests.support.live import LiveService, test_config

    live = LiveService(test_config(service_dir, test_issuer, profile="production"))
    yield live
    live.stop()


@pytest.mark.parametrize("alg", ["ES384", "RS384"])
def test_valid_tokens_are_accepted(prod, test_issuer, alg):
    response = post(prod, test_issuer.mint(aud=prod + PV, alg=alg))
    assert response.status_code == 200, response.text
    assert protocol.validate_response(response.json()) == []  # the sandbox patient has no leukemia: may be no cards


def refused_cases(base: str, issuer: TestIssuer, rogue: TestIssuer, jku_url: str) -> dict[str, str | None]:
    aud = base + PV
    valid = issuer.mint(aud=aud)
    return {
        "no token": None,
        "not bearer": "",  # replaced below by a Basic header
        "garbage": "not.a.jwt",
        "alg none": unsigned_token({"iss": issuer.iss, "aud": aud, "iat": 1, "exp": 2**31, "jti": "n"},
                                   {"kid": issuer.ec_kid}),
        "HS256 with the public key": hmac_with_public_key(issuer, aud),
        "expired": issuer.mint(aud=aud, claims={"iat": 1_700_000_000, "exp": 1_700_000_300}),
        "future iat": issuer.mint(aud=aud, claims={"iat": 2**31 - 1000, "exp": 2**31}),
        "not yet valid": issuer.mint(aud=aud, claims={"nbf": 2**31 - 1000}),
        "wrong aud": issuer.mint(aud="https://other.example/cds-services/kmt2a-patient-view"),
        "aud of another service": issuer.mint(aud=base + "/cds-services/kmt2a-order-sign"),
        "unknown kid": issuer.mint(aud=aud, header={"kid": "no-such-kid"}),
        "untrusted iss": rogue.mint(aud=aud),
        "rogue key, trusted iss": rogue.mint(aud=aud, claims={"iss": issuer.iss}, header={"kid": issuer.ec_kid}),
        "tampered payload": tamper(valid, aud=aud, sub="someone-else"),
        "RS256 with a key pinned to RS384": issuer.mint(aud=aud, alg="RS256"),
        "missing kid": issuer.mint(aud=aud, header={"kid": DROP}),
        "missing jti": issuer.mint(aud=aud, claims={"jti": DROP}),
        "jti longer than the store keeps": issuer.mint(aud=aud, claims={"jti": "j" * 256}),
        "missing exp": issuer.mint(aud=aud, claims={"exp": DROP}),
        "exp NaN": issuer.mint(aud=aud, claims={"exp": float("nan")}),
        "exp 10**400": issuer.mint(aud=aud, claims={"exp": 10**400}),
        "exp Infinity": issuer.mint(aud=aud, claims={"exp": float("inf")}),
        "iat NaN": issuer.mint(aud=aud, claims={"iat": float("nan")}),
        "nbf -Infinity": issuer.mint(aud=aud, claims={"nbf": float("-inf")}),
        "jti with a NUL": issuer.mint(aud=aud, claims={"jti": "abc\x00def"}),
        "alg as a list": _with_header(valid, alg=["ES384"]),
        "alg as an object": _with_header(valid, alg={"ES384": True}),
        "non-allowlisted jku": rogue.mint(aud=aud, claims={"iss": issuer.iss},
                                          header={"jku": jku_url, "kid": rogue.ec_kid}),
    }


def _with_header(token: str, **fields) -> str:
    """The token with header fields replaced (signature kept): shapes PyJWT would never mint."""
    head, payload, signature = token.split(".")
    header = json.loads(jwt.utils.base64url_decode(head)) | fields
    return f"{jwt.utils.base64url_encode(json.dumps(header).encode()).decode()}.{payload}.{signature}"


def test_every_refusal_is_the_same_bare_401(prod, test_issuer, caplog):
    rogue = TestIssuer(iss="https://rogue.example", name="rogue")
    with JsonServer(rogue.jwks()) as attacker_jwks:
        cases = refused_cases(prod, test_issuer, rogue, attacker_jwks.url + "/jwks.json")
        bodies = {}
        with caplog.at_level(logging.WARNING, logger="kmt2a_cds.security"):
            for name, token in cases.items():
                headers = {"Authorization": "Basic dXNlcjpwYXNz"} if name == "not bearer" else None
                response = (requests.post(prod + PV, json=request_body(), headers=headers) if headers
                            else post(prod, token))
                assert response.status_code == 401, name
                assert response.headers["WWW-Authenticate"] == "Bearer", name
                bodies[name] = response.content
        assert attacker_jwks.requests == []  # the non-allowlisted jku was never fetched
    assert len(set(bodies.values())) == 1, bodies
    assert json.loads(next(iter(bodies.values())))["resourceType"] == "OperationOutcome"
    # The reasons are in our log (not in the answer), and no token is.
    assert "replay" not in caplog.text and "jku is not allowlisted" in caplog.text
    assert "token expired" in caplog.text and "iat is in the future" in caplog.text
    assert f"'https://other.example/cds-services/kmt2a-patient-view' is not the URL called, '{prod + PV}'" in caplog.text
    for token in cases.values():
        if token and len(token) > 20:
            assert token not in caplog.text
            signature = token.split(".")[2]
            assert not signature or signature not in caplog.text


@pytest.mark.parametrize("path", [PV, PV + "/feedback"])
def test_an_unauthenticated_body_is_not_read(prod, path):
    # Production answers 401 before parsing: no 400/413/415 tells an unknown caller how we read input.
    for data, content_type in ((b'{"not json', "application/json"), (b"<xml/>", "text/xml")):
        response = requests.post(prod + path, data=data, headers={"Content-Type": content_type})
        assert response.status_code == 401, (data, response.text)


def test_replayed_jti_is_refused_across_app_instances(live_service, test_issuer, caplog):
    base = live_service(profile="production")
    token = test_issuer.mint(aud=base + PV)
    assert post(base, token).status_code == 200
    first_refusal = post(base, token)
    assert first_refusal.status_code == 401
    base.restart()  # a new app instance on the same store: the jti is remembered there, not in memory
    with caplog.at_level(logging.WARNING, logger="kmt2a_cds.security"):
        second = post(base, token)
    assert second.status_code == 401 and second.content == first_refusal.content
    assert "replay" in caplog.text


def test_development_serves_no_token_but_refuses_a_bad_one(live_service, test_issuer):
    base = live_service()
    assert post(base, None).status_code == 200
    assert post(base, test_issuer.mint(aud="https://wrong.example/x")).status_code == 401
    assert post(base, test_issuer.mint(aud=base + PV)).status_code == 200


def test_public_base_url_sets_the_audience(live_service, test_issuer):
    base = live_service(profile="production", public_base_url="https://cds.example.org/kmt2a")
    public = "https://cds.example.org/kmt2a" + PV
    assert post(base, test_issuer.mint(aud=public)).status_code == 200
    assert post(base, test_issuer.mint(aud=base + PV)).status_code == 401


def test_discovery_and_feedback_check_their_own_audience(prod, test_issuer):
    ok = requests.get(prod + "/cds-services", headers={"Authorization": f"Bearer {test_issuer.mint(aud=prod + '/cds-services')}"})
    assert ok.status_code == 200
    for_service = test_issuer.mint(aud=prod + PV)
    assert requests.get(prod + "/cds-services", headers={"Authorization": f"Bearer {for_service}"}).status_code == 401
    assert requests.get(prod + "/cds-services").status_code == 401
    feedback = {"feedback": [{"card": "c-1", "outcome": "overridden", "outcomeTimestamp": "2026-11-21T04:27:03Z"}]}
    path = PV + "/feedback"
    token = test_issuer.mint(aud=prod + path)
    assert requests.post(prod + path, json=feedback, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert requests.post(prod + path, json=feedback).status_code == 401


def jku_service(live_service, trusted_file, issuer: TestIssuer, jku: str, **overrides) -> str:
    """A production service that trusts `issuer` through the allowlisted `jku` only (no inline keys)."""
    trusted_file.write_text(json.dumps({"issuers": [issuer.issuer_entry(jku=[jku])]}))
    return live_service(profile="production", trusted_issuers=trusted_file, **overrides)


def test_allowlisted_jku_is_fetched_once_and_cached(live_service, service_dir, test_issuer):
    with JsonServer(test_issuer.jwks()) as jwks_server:
        jku = jwks_server.url + "/.well-known/jwks.json"
        base = jku_service(live_service, service_dir / "trusted-jku.json", test_issuer, jku, jwks_min_refresh_s=0)
        for alg in ("ES384", "RS384", "ES384"):
            assert post(base, test_issuer.mint(aud=base + PV, alg=alg, header={"jku": jku})).status_code == 200
        assert len(jwks_server.requests) == 1
        # A token without jku uses the issuer's allowlisted URL; an unknown kid forces one refresh.
        assert post(base, test_issuer.mint(aud=base + PV)).status_code == 200
        assert post(base, test_issuer.mint(aud=base + PV, header={"kid": "rotated-key"})).status_code == 401
        assert len(jwks_server.requests) == 2
        assert all(r.authorization is None for r in jwks_server.requests)


def test_sandbox_style_token_with_our_test_key_is_accepted(live_service, service_dir, test_issuer):
    # The sandbox's exact header shape (ES384, kid, jku of sandbox.cds-hooks.org), signed with our key.
    look_alike = TestIssuer(iss=SANDBOX_ISS, name="sandbox-like")
    trusted = service_dir / "trusted-sandbox-like.json"
    trusted.write_text(json.dumps({"issuers": [{"iss": SANDBOX_ISS, "jwks": look_alike.jwks(), "jku": [SANDBOX_JKU]}]}))
    base = live_service(profile="production", trusted_issuers=trusted)
    token = look_alike.mint(aud=base + PV, header={"jku": SANDBOX_JKU})
    assert jwt.get_unverified_header(token)["alg"] == "ES384"
    assert post(base, token).status_code == 200  # the key is inline: nothing was fetched from the internet


class _NoFetch(JwksCache):
    def __init__(self):
        super().__init__(ttl_s=60, min_refresh_s=0, fetch=self._refuse)

    @staticmethod
    def _refuse(url):
        raise AssertionError(f"no network fetch expected, got {url}")


@pytest.mark.parametrize("name", ["discovery-get", "patient-view", "order-select-1", "order-sign", "feedback-accepted"])
def test_captured_sandbox_tokens_verify_against_the_shipped_key_with_a_frozen_clock(name):
    request = sandbox.raw(name)
    token = request["headers"]["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    seen: list[str] = []
    verifier = TokenVerifier(TrustedIssuers.load(development_trusted_issuers()), _NoFetch(),
                             lambda iss, jti, exp: (seen.append(jti), True)[1])
    verified = verifier.verify(token, claims["aud"], now=claims["iat"] + 5)
    assert verified.issuer == SANDBOX_ISS and seen == [claims["jti"]]
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(token, claims["aud"])  # the real clock: long expired
    with pytest.raises(AuthError):
        verifier.verify(token, "http://127.0.0.1:8091/cds-services/elsewhere", now=claims["iat"] + 5)


def test_a_token_without_kid_is_refused_even_if_the_issuer_has_one_key(test_issuer):
    single_key = TrustedIssuers({test_issuer.iss: Issuer(test_issuer.iss, keys=(test_issuer.public_jwk("EC"),))})
    verifier = TokenVerifier(single_key, _NoFetch(), lambda iss, jti, exp: True)
    aud = "https://cds.example.org/cds-services/kmt2a-patient-view"
    assert verifier.verify(test_issuer.mint(aud=aud), aud).issuer == test_issuer.iss
    with pytest.raises(AuthError, match="kid missing"):
        verifier.verify(test_issuer.mint(aud=aud, header={"kid": DROP}), aud)


def test_shipped_sandbox_key_is_the_published_one():
    shipped = json.loads(development_trusted_issuers().read_text())["issuers"][0]["jwks"]
    assert shipped == sandbox.sandbox_jwks()
    from cds_service.web.config import Config

    assert Config(profile="production", public_base_url="https://cds.example.org").trusted_issuers_file() is None  # production trusts nobody by default


def test_concurrent_replays_let_exactly_one_through(prod, test_issuer):
    from concurrent.futures import ThreadPoolExecutor

    token = test_issuer.mint(aud=prod + PV)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: post(prod, token).status_code, range(8)))
    assert sorted(statuses) == [200] + [401] * 7


def test_jwks_cache_ttl_and_unknown_kid_refresh():
    fetched = []

    def fetch(url):
        fetched.append(url)
        return {"keys": [{"kid": f"k{len(fetched)}"}]}

    cache = JwksCache(ttl_s=3600, min_refresh_s=3600, fetch=fetch)
    assert cache.keys("https://a/jwks", "k1")[0]["kid"] == "k1"
    cache.keys("https://a/jwks", "k1")
    cache.keys("https://a/jwks", "unknown")  # refresh is rate-limited: still one fetch
    assert len(fetched) == 1
    eager = JwksCache(ttl_s=3600, min_refresh_s=0, fetch=fetch)
    eager.keys("https://b/jwks", None)
    assert eager.keys("https://b/jwks", "k3")[0]["kid"] == "k3"  # unknown kid -> refetched
    expired = JwksCache(ttl_s=0, min_refresh_s=0, fetch=fetch)
    expired.keys("https://c/jwks", None)
    expired.keys("https://c/jwks", None)
    assert fetched[-2:] == ["https://c/jwks", "https://c/jwks"]  # TTL passed -> refetched


def test_a_failing_jku_is_not_fetched_on_every_request():
    attempts = []

    def down(url):
        attempts.append(url)
        raise AuthError("jku could not be fetched (ConnectionError)")

    cache = JwksCache(ttl_s=3600, min_refresh_s=3600, fetch=down)
    with pytest.raises(AuthError):
        cache.keys("https://a/jwks", "k1")
    for _ in range(4):
        assert cache.keys("https://a/jwks", "k1") == ()  # no key: the token is refused without a new fetch
    assert attempts == ["https://a/jwks"]


def test_a_failed_refresh_keeps_the_cached_keys():
    answers = [{"keys": [{"kid": "k1"}]}, AuthError("down")]

    def flaky(url):
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    cache = JwksCache(ttl_s=0, min_refresh_s=0, fetch=flaky)
    assert cache.keys("https://a/jwks", "k1") == ({"kid": "k1"},)
    assert cache.keys("https://a/jwks", "k1") == ({"kid": "k1"},)  # TTL passed, refresh failed: old keys
    assert answers == []


@pytest.mark.parametrize("document", [
    lambda issuer: {"keys": "not-a-list"},
    lambda issuer: {**issuer.jwks(), "padding": "x" * (300 * 1024)},  # the right keys, but over the size limit
], ids=["keys-not-a-list", "oversized"])
def test_a_bad_jwks_answer_is_a_401_not_a_500(live_service, service_dir, test_issuer, document):
    with JsonServer(document(test_issuer)) as jwks_server:
        jku = jwks_server.url + "/jwks.json"
        base = jku_service(live_service, service_dir / "trusted-bad-jku.json", test_issuer, jku, jwks_min_refresh_s=60)
        for _ in range(3):
            assert post(base, test_issuer.mint(aud=base + PV, header={"jku": jku})).status_code == 401
        assert len(jwks_server.requests) == 1  # the failure is remembered for jwks_min_refresh_s


def test_made_up_kids_do_not_make_us_refetch(live_service, service_dir, test_issuer):
    with JsonServer(test_issuer.jwks()) as jwks_server:
        jku = jwks_server.url + "/jwks.json"
        base = jku_service(live_service, service_dir / "trusted-kid-flood.json", test_issuer, jku, jwks_min_refresh_s=60)
        assert post(base, test_issuer.mint(aud=base + PV)).status_code == 200
        for n in range(5):
            assert post(base, test_issuer.mint(aud=base + PV, header={"kid": f"made-up-{n}"})).status_code == 401
        assert len(jwks_server.requests) == 1
