"""Test keys and JWTs: an EHR-like issuer with ES384 and RS384 keys, and a minter for any header/claims.

    issuer = TestIssuer()                        # fresh keys (EC P-384 + RSA 2048), cached per process
    path = issuer.write_trusted_issuers(tmp_path / "trusted.json")
    token = issuer.mint(aud="http://127.0.0.1:1234/cds-services/kmt2a-patient-view")
    token = issuer.mint(aud=..., alg="RS384", claims={"exp": 0}, header={"kid": "nope"})

`claims`/`header` override or add fields; a value of `DROP` removes the field (for "missing jti").
"""

from __future__ import annotations

import json
import time
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

TEST_ISS = "https://ehr.test.example/fhir"
DROP = object()


@lru_cache(maxsize=None)
def _keys(name: str):
    """(private EC P-384, private RSA 2048) for a named issuer; generated once per test process."""
    return ec.generate_private_key(ec.SECP384R1()), rsa.generate_private_key(public_exponent=65537, key_size=2048)


class TestIssuer:
    __test__ = False  # not a pytest test class

    def __init__(self, iss: str = TEST_ISS, name: str = "default"):
        self.iss = iss
        self.ec_key, self.rsa_key = _keys(name)
        self.ec_kid, self.rsa_kid = f"{name}-ec-384", f"{name}-rsa-384"

    def public_jwk(self, kty: str = "EC") -> dict:
        if kty == "EC":
            jwk = json.loads(ECAlgorithm.to_jwk(self.ec_key.public_key()))
            jwk.update(kid=self.ec_kid, use="sig", alg="ES384")
        else:
            jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa_key.public_key()))
            jwk.update(kid=self.rsa_kid, use="sig", alg="RS384")
        return jwk

    def jwks(self) -> dict:
        return {"keys": [self.public_jwk("EC"), self.public_jwk("RSA")]}

    def issuer_entry(self, jku: list[str] | None = None) -> dict:
        """This issuer in the trusted-issuers format: inline JWKS, or only an allowlisted jku."""
        return {"iss": self.iss, "jku": jku} if jku else {"iss": self.iss, "jwks": self.jwks()}

    def write_trusted_issuers(self, path: Path, extra: list[dict] = ()) -> Path:
        path.write_text(json.dumps({"issuers": [self.issuer_entry(), *extra]}), encoding="utf-8")
        return path

    def mint(self, aud: str, alg: str = "ES384", claims: dict | None = None, header: dict | None = None,
             key: Any = None) -> str:
        now = int(time.time())
        body = {"iss": self.iss, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
        head = {"typ": "JWT", "kid": self.ec_kid if alg.startswith("ES") else self.rsa_kid}
        body.update(claims or {})
        head.update(header or {})
        body = {k: v for k, v in body.items() if v is not DROP}
        head = {k: v for k, v in head.items() if v is not DROP}
        signing_key = key if key is not None else (self.ec_key if alg.startswith("ES") else self.rsa_key)
        return jwt.encode(body, signing_key, algorithm=alg, headers=head)


def unsigned_token(claims: dict, header: dict | None = None) -> str:
    """An `alg: none` token (PyJWT refuses to make one with a key)."""
    return jwt.encode(claims, None, algorithm="none", headers=header or {})


def tamper(token: str, **claims) -> str:
    """The token with its payload replaced (claims updated) but the original signature kept."""
    head, payload, signature = token.split(".")
    decoded = jwt.decode(token, options={"verify_signature": False})
    decoded.update(claims)
    new_payload = jwt.utils.base64url_encode(json.dumps(decoded).encode()).decode()
    return f"{head}.{new_payload}.{signature}"


def hmac_with_public_key(issuer: TestIssuer, aud: str) -> str:
    """The classic key-confusion attack: HS256 keyed with the issuer's PUBLIC key (PEM bytes).
    Built by hand because PyJWT refuses to HMAC with an asymmetric key."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    pem = issuer.ec_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.ec_kid}
    claims = {"iss": issuer.iss, "aud": aud, "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    enc = lambda obj: jwt.utils.base64url_encode(json.dumps(obj).encode()).decode()  # noqa: E731
    signing_input = f"{enc(header)}.{enc(claims)}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{jwt.utils.base64url_encode(signature).decode()}"
