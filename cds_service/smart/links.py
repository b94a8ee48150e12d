"""The link a patient-view card carries to open the case summary (a SMART link: the EHR launches the app)."""

from __future__ import annotations

from flask import current_app, has_request_context, request

LABEL = "Open the KMT2A case summary (timeline and all sources)"


def case_summary_link() -> dict | None:
    """`{"type": "smart", ...}` for the app's launch URL; None outside a request to this service (e.g. the CLI),
    where no absolute URL can be formed."""
    if not has_request_context() or "kmt2a_smart" not in current_app.extensions:
        return None
    base = current_app.extensions["kmt2a_smart"].public_base_url or request.host_url.rstrip("/")
    return {"label": LABEL, "url": f"{base}/app/launch", "type": "smart", "appContext": "case-summary"}
