"""Configuration of the case summary app (SMART on FHIR): one frozen dataclass, read from the environment once.

    CDS_SMART_CLIENT_ID          the client id the EHR registered for the app (default "kmt2a-case-summary")
    CDS_SMART_FHIR_SERVERS       comma-separated FHIR base URLs allowed to launch the app (`iss`); production
                                 refuses every launch while it is empty; development allows any when it is empty
    CDS_SMART_REDIRECT_URL       the redirect URL registered with the EHR (default <CDS_PUBLIC_BASE_URL>/app/callback,
                                 else the URL the launch request arrived at)
    CDS_SMART_SCOPE              the scopes asked for (default: SMART v2 patient read/search scopes, below)
    CDS_SMART_SESSION_MINUTES    a session ends this long after the launch, or when the token expires (default 30)
    CDS_SMART_FRAME_ANCESTORS    origins allowed to show the app in a frame (CSP frame-ancestors; default 'self')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

# SMART App Launch 2.x scopes: the resources the patient-view prefetch reads (Procedure: transplant dates).
DEFAULT_SCOPE = " ".join([
    "launch", "patient/Patient.rs", "patient/Condition.rs", "patient/Observation.rs", "patient/DiagnosticReport.rs",
    "patient/MedicationRequest.rs", "patient/MedicationStatement.rs", "patient/MedicationAdministration.rs",
    "patient/Procedure.rs",
])


def normalise_server(url: str) -> str:
    """A FHIR base URL compared as EHRs vary it: scheme and host lower-cased, no trailing slash."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


@dataclass(frozen=True)
class SmartConfig:
    client_id: str = "kmt2a-case-summary"
    fhir_servers: tuple[str, ...] = ()  # normalised FHIR base URLs (see normalise_server)
    redirect_url: str | None = None
    scope: str = DEFAULT_SCOPE
    session_s: int = 30 * 60
    pending_s: int = 10 * 60  # from the launch to the callback: the user may have to log in at the EHR
    frame_ancestors: str = "'self'"
    fetch_deadline_s: float = 10.0  # a person waits for the page; a hook call waits 2 s
    http_timeout_s: float = 5.0  # discovery and token requests

    def allows(self, iss: str, production: bool) -> bool:
        """Whether a launch from FHIR server `iss` may go on (checked before we contact it)."""
        try:
            parts = urlsplit(iss or "")
        except ValueError:  # not a URL at all ("http://[x"): refused like any other unknown server
            return False
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.username or parts.password:
            return False
        if production and parts.scheme != "https":
            return False
        if not self.fhir_servers:
            return not production
        return normalise_server(iss) in self.fhir_servers

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "SmartConfig":
        # A bad number is a ConfigError (a one-line refusal to start); imported here, as web.config imports us.
        from cds_service.web.config import _number

        servers = tuple(normalise_server(s) for s in env.get("CDS_SMART_FHIR_SERVERS", "").split(",") if s.strip())
        return cls(
            client_id=env.get("CDS_SMART_CLIENT_ID") or cls.client_id,
            fhir_servers=servers,
            redirect_url=env.get("CDS_SMART_REDIRECT_URL") or None,
            scope=env.get("CDS_SMART_SCOPE") or DEFAULT_SCOPE,
            session_s=int(_number(env, "CDS_SMART_SESSION_MINUTES", float, cls.session_s / 60) * 60),
            frame_ancestors=env.get("CDS_SMART_FRAME_ANCESTORS") or cls.frame_ancestors,
        )
