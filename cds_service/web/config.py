"""Service configuration: one frozen dataclass, built from the environment by `Config.from_env()`.

Values are handed to the app factory explicitly (`create_app(Config(...))`); nothing reads the
environment after start-up, so tests can run several differently configured services side by side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Mapping

from cds_service.smart.config import SmartConfig

PROFILES = ("development", "production")
# The repository's hooks.json, seen from the package: `cds_service/hooks.json` is a symlink to it in the
# source tree, and the wheel carries its content, so a non-editable install finds it too.
HOOKS_FILE = Path(__file__).resolve().parents[1] / "hooks" / "hooks.json"


def development_trusted_issuers() -> Path:
    """The development default: the public CDS Hooks Sandbox issuer with its published key.
    The sandbox's private key is public too, so this is never a production default."""
    return Path(__file__).resolve().parent / "data" / "trusted-issuers.development.json"


@dataclass(frozen=True)
class Config:
    profile: str = "development"
    # None: the profile default (development: the sandbox issuer; production: no issuer at all).
    trusted_issuers: Path | None = None
    public_base_url: str | None = None  # e.g. https://cds.example.org (no trailing slash needed)
    database_url: str = "sqlite:///kmt2a-cds.db"
    # Empty: development allows any origin, production none.
    cors_origins: tuple[str, ...] = ()
    port: int = 8080
    hooks_file: Path = HOOKS_FILE
    max_body_bytes: int = 5 * 1024 * 1024
    prefetch_deadline_s: float = 2.0
    fhir_connect_timeout_s: float = 1.0
    fhir_read_timeout_s: float = 2.0
    prefetch_page_cap: int = 10  # Bundle pages followed per prefetch key
    prefetch_workers: int = 6
    jwt_leeway_s: int = 60
    jwks_cache_ttl_s: int = 3600
    jwks_min_refresh_s: float = 10.0  # an unknown kid refreshes a jku at most this often
    reference_date: date | None = None  # None: today in UTC, per call
    smart: SmartConfig = field(default_factory=SmartConfig)  # the case summary app (cds_service/smart)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"CDS_PROFILE must be one of {PROFILES}, not {self.profile!r}")
        if self.production and not self.public_base_url:
            # The JWT aud is checked against the URL called; taken from the Host header, the caller would choose
            # it (a trusted issuer's token minted for another host would pass).
            raise ValueError("CDS_PUBLIC_BASE_URL is required in production: the JWT audience is checked against "
                             "it, never against request headers")

    @property
    def production(self) -> bool:
        return self.profile == "production"

    def trusted_issuers_file(self) -> Path | None:
        if self.trusted_issuers is not None:
            return self.trusted_issuers
        return None if self.production else development_trusted_issuers()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        env = os.environ if env is None else env
        origins = tuple(o.strip().rstrip("/") for o in env.get("CDS_CORS_ORIGINS", "").split(",") if o.strip())
        issuers = env.get("CDS_TRUSTED_ISSUERS")
        return cls(
            profile=env.get("CDS_PROFILE", "development").strip() or "development",
            trusted_issuers=Path(issuers) if issuers else None,
            public_base_url=(env.get("CDS_PUBLIC_BASE_URL") or "").rstrip("/") or None,
            database_url=env.get("CDS_DATABASE_URL") or cls.database_url,
            cors_origins=origins,
            port=int(env.get("PORT", "8080")),
            max_body_bytes=int(env.get("CDS_MAX_BODY_BYTES", cls.max_body_bytes)),
            prefetch_deadline_s=float(env.get("CDS_PREFETCH_DEADLINE_S", cls.prefetch_deadline_s)),
            smart=SmartConfig.from_env(env),
        )
