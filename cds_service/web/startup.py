"""Start-up: refuse a bad configuration with one readable line, and say in one line what was started.

`checked_issuers(config)` loads the trusted issuers and applies the production rules (at least one issuer, every
`jku` on https); `Config.check_database_driver` and the store's schema check complete the refusals. When the app
is built from the environment (gunicorn, `make serve`), a refusal is one CRITICAL log line and exit status 3
(gunicorn's "failed to boot"): no traceback for an operator to read through.
"""

from __future__ import annotations

import ipaddress
import logging
from importlib import metadata
from json import JSONDecodeError
from urllib.parse import urlsplit

from cds_service.web.config import Config, ConfigError
from cds_service.web.security import TrustedIssuers

log = logging.getLogger("kmt2a_cds.startup")
EXIT_BAD_CONFIG = 3  # gunicorn's WORKER_BOOT_ERROR: the master stops instead of restarting workers


def service_version() -> str:
    try:
        return metadata.version("kmt2a-cds")
    except metadata.PackageNotFoundError:
        return "unknown"


def checked_issuers(config: Config) -> TrustedIssuers:
    path = config.trusted_issuers_file()
    try:
        issuers = TrustedIssuers.load(path)
    except OSError as error:
        raise ConfigError(f"CDS_TRUSTED_ISSUERS: cannot read {path} ({error.strerror or type(error).__name__})") from None
    except JSONDecodeError as error:
        raise ConfigError(f"CDS_TRUSTED_ISSUERS: {path} is not JSON ({error.msg} at line {error.lineno})") from None
    except (AttributeError, KeyError, TypeError) as error:
        raise ConfigError(f"CDS_TRUSTED_ISSUERS: {path} is not a trusted-issuers file: expected "
                          '{"issuers": [{"iss": ..., "jwks": {...} or "jku": [...]}]} '
                          f"({type(error).__name__}: {str(error)[:80]})") from None
    if config.production:
        if not issuers.issuers:
            raise ConfigError("production profile with no trusted issuer: set CDS_TRUSTED_ISSUERS to a file "
                              "naming the EHRs allowed to call (nothing could be served)")
        for issuer in issuers.issuers.values():
            for url in issuer.jku:
                if not _https_or_loopback(url):
                    raise ConfigError(f"CDS_TRUSTED_ISSUERS: issuer {issuer.iss!r} has a jku that is not https "
                                      f"({url[:100]}): the production profile fetches keys over https only")
    return issuers


def _https_or_loopback(url: str) -> bool:
    """https, or plain http to this machine's loopback (a key server beside us never crosses a network)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    try:
        return parts.hostname == "localhost" or ipaddress.ip_address(parts.hostname or "").is_loopback
    except ValueError:
        return False


def summary(config: Config, issuers: TrustedIssuers, knowledge_version: str) -> None:
    origins = ", ".join(config.cors_origins) or ("any (development)" if not config.production else "none")
    fields = {"profile": config.profile, "trusted_issuers": len(issuers.issuers),
              "database": config.database_dialect(), "cors_origins": origins,
              "knowledge_version": knowledge_version, "version": service_version()}
    log.info("kmt2a-cds %s started: profile %s, %d trusted issuer(s), database %s, CORS origins %s, "
             "knowledge version %s", fields["version"], config.profile, fields["trusted_issuers"],
             fields["database"], origins, knowledge_version, extra={"event": "start", **fields})
